"""Turn stroke drawings into 28x28 greyscale images (0 = background, 255 = ink).

A drawing is a list of strokes and a stroke is ``[xs, ys]`` or ``[xs, ys, ts]``, exactly like the
``drawing`` field of Google's QuickDraw ndjson files; the times are ignored. Coordinates may be raw canvas
pixels of any range (y pointing down) or QuickDraw's simplified 0-255 integers.

Two recipes are provided. ``quickdraw`` repeats the steps by which Google made the ``numpy_bitmap`` files
(simplify the strokes, draw them 16 units wide with round caps in a padded 256 box, reduce to 28x28), so
that a sketch from a browser canvas looks like the training data. ``mnist`` draws the strokes the way the
MNIST digits were prepared: fitted into a 20x20 box and centred by centre of mass.

The renderer needs no graphics library: every output pixel is split into 2x2 sub-pixels and each
sub-pixel's coverage by the round-capped strokes is computed analytically with numpy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

RECIPES = ("quickdraw", "mnist")

SIDE = 28
_EPSILON = 2.0  # Ramer-Douglas-Peucker tolerance of Google's simplification, in 0-255 units
_BOX, _LINE, _PAD = 256.0, 16.0, 16.0  # Google's renderer: 256 box, line width 16, padding 16
_QD_SCALE = SIDE / (_BOX + 2 * _PAD + _LINE)  # output pixels per 256-box unit
_MNIST_BOX = 20.0 - 0.25  # MNIST digits fill a 20x20 box; the margin keeps faint anti-aliasing inside it
_MNIST_PEN = 2.4  # pen width in output pixels; matches the stroke thickness of real MNIST digits
_SUB = 2  # sub-pixels per output pixel along each axis
_CHUNK = 32  # strokes rasterized together; more would not fit the processor's cache
_BATCH = 64  # drawings that render_many processes together
_PLAIN = {int, float}  # the types of ordinary coordinates


def _read(drawing: Iterable) -> tuple[np.ndarray, list[int]]:
    """Check a drawing; return its points as a (2, n) float array and the sizes of its non-empty strokes."""
    if isinstance(drawing, dict):
        raise ValueError("a drawing must be a list of strokes; for an ndjson record pass record['drawing']")
    if isinstance(drawing, (str, bytes)) or not isinstance(drawing, Iterable):
        raise ValueError(f"a drawing must be a list of strokes [xs, ys], got {type(drawing).__name__}")
    arrays = []
    for i, stroke in enumerate(drawing):
        if isinstance(stroke, (str, bytes)) or not isinstance(stroke, Sequence | np.ndarray):
            raise ValueError(f"stroke {i} must be [xs, ys] or [xs, ys, ts], got {type(stroke).__name__}")
        if len(stroke) not in (2, 3):
            raise ValueError(
                f"stroke {i} must be [xs, ys] or [xs, ys, ts], got a sequence of {len(stroke)} items"
            )
        try:
            n_x, n_y = len(stroke[0]), len(stroke[1])
            coords = np.asarray(stroke[:2], dtype=float) if n_x == n_y else None
        except OverflowError:
            raise ValueError(f"stroke {i} has a coordinate too large to be a number") from None
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"stroke {i} must be [xs, ys] with xs and ys lists of numbers ({error}); "
                "a drawing is a list of such strokes"
            ) from None
        if coords is None:
            raise ValueError(f"stroke {i}: xs has {n_x} values but ys has {n_y}")
        if coords.ndim != 2:
            raise ValueError(f"stroke {i}: xs and ys must be flat sequences of numbers, got nested lists")
        odd = _not_a_number(stroke[0], stroke[1])
        if odd is not None:
            raise ValueError(f"stroke {i} has a coordinate that is not a number: {odd!r} "
                             "(coordinates must be numbers, not true/false or text)")
        if not np.isfinite(coords).all():
            raise ValueError(f"stroke {i} has a coordinate that is missing (None), NaN or infinite")
        if coords.shape[1]:
            arrays.append(coords)  # empty strokes are skipped
    if not arrays:
        raise ValueError("the drawing has no points (no strokes, or only empty strokes)")
    coords = np.concatenate(arrays, axis=1)
    with np.errstate(over="ignore"):
        spread = np.ptp(coords, axis=1)
    if not np.isfinite(spread).all():
        raise ValueError("the drawing's coordinates are too large to work with")
    return coords, [a.shape[1] for a in arrays]


def _not_a_number(*axes: Sequence) -> object | None:
    """The first boolean or text among a stroke's coordinates (which numpy would read as 1/0 or a number)."""
    for values in axes:
        if isinstance(values, np.ndarray):
            if values.dtype.kind in "iuf":
                continue
            values = values.tolist()
        if set(map(type, values)) <= _PLAIN:
            continue
        for value in values:
            if isinstance(value, bool | np.bool_ | str | bytes):
                return value
    return None


def _gather(drawings: Iterable, first: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read drawings; return all their points (n, 2), each point's stroke and each stroke's drawing.

    Strokes are numbered across all the drawings. Errors name the drawing, counted from ``first``, when given.
    """
    coords, counts, owner = [], [], []
    for i, drawing in enumerate(drawings):
        try:
            points, sizes = _read(drawing)
        except ValueError as error:
            if first is None:
                raise
            raise ValueError(f"drawing {first + i}: {error}") from None
        coords.append(points)
        counts += sizes
        owner += [i] * len(sizes)
    stroke = np.arange(len(counts)).repeat(counts)
    return np.concatenate(coords, axis=1).T, stroke, np.array(owner)


def _starts(ids: np.ndarray) -> np.ndarray:
    """Return where each run of equal numbers starts in a sorted array of stroke or drawing numbers."""
    return np.concatenate(([0], (ids[1:] != ids[:-1]).nonzero()[0] + 1))


def _simplify(points: np.ndarray, stroke: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply Google's simplification to the drawings numbered by ``group``; return kept points and strokes.

    Each drawing is moved to the origin and scaled so that its larger side spans 0-255. Each stroke is
    resampled every 1 unit of arc length, simplified with Ramer-Douglas-Peucker and rounded to integers.
    Between two original vertices the resampled points lie on a straight line, so only the first and last
    of them can ever be the farthest point in a Ramer-Douglas-Peucker step: only those are generated.
    """
    starts = _starts(group)
    points = points - np.minimum.reduceat(points, starts)[group]
    extent = np.maximum.reduceat(points, starts).max(1)
    points *= np.divide(255.0, extent, out=np.ones_like(extent), where=extent > 0)[group, None]
    x, y = points[:, 0], points[:, 1]
    first = _starts(stroke)
    last = np.append(first[1:], len(x)) - 1
    step = np.hypot(x[1:] - x[:-1], y[1:] - y[:-1])
    step[first[1:] - 1] = 1.0  # a unit gap between strokes keeps the arc length increasing
    arc = np.concatenate(([0.0], step.cumsum()))
    start, length = arc[first], arc[last] - arc[first]
    n_samples = np.ceil(length).astype(np.intp) + 1
    offsets = n_samples.cumsum() - n_samples
    t = np.arange(n_samples.sum()) - (offsets - start).repeat(n_samples)
    ends = np.zeros(len(t), bool)
    ends[offsets] = ends[offsets + n_samples - 1] = True
    t[offsets + n_samples - 1] = start + length
    segment = np.searchsorted(arc, t, "right")
    useful = ends.copy()
    useful[1:] |= segment[1:] != segment[:-1]
    useful[:-1] |= segment[1:] != segment[:-1]
    t, keep = t[useful], ends[useful]
    z = np.interp(t, arc, x + 1j * y)
    _rdp(z, keep)
    owner = np.arange(len(first)).repeat(n_samples)[useful][keep]
    return np.round(np.stack([z[keep].real, z[keep].imag], 1)), owner


def _rdp(z: np.ndarray, keep: np.ndarray) -> None:
    """Mark in ``keep`` the points (complex x + iy) that Ramer-Douglas-Peucker keeps, all ranges at once."""
    index, z, mark = np.arange(len(z)), z.copy(), keep.copy()  # the points still in play
    while not mark.all():
        kept = mark.nonzero()[0]
        rank = mark.cumsum() - 1  # the range each point lies in, numbered by its first kept point
        rank[-1] -= 1
        ends = z[kept]
        chord = ends[1:] - ends[:-1]
        q = z - ends[rank]
        far = np.abs((chord.conjugate()[rank] * q).imag)  # distance to the chord's line times its length
        limit = _EPSILON * np.abs(chord)
        closed = limit == 0
        if closed.any():  # a range that starts and ends at one point: use the distance to that point
            inside = closed[rank]
            far[inside] = np.abs(q[inside])
            limit[closed] = _EPSILON
        peak = np.maximum.reduceat(far, kept[:-1])
        split = peak > limit
        if not split.any():
            break
        best = (far == peak[rank]).nonzero()[0]
        mark[best[np.searchsorted(rank[best], split.nonzero()[0])]] = True  # the first farthest point
        alive = mark | split[rank]  # finished ranges are final: drop their points
        index, z, mark = index[alive], z[alive], mark[alive]
    keep[index[mark]] = True


def _rasterize(points: np.ndarray, stroke: np.ndarray, owner: np.ndarray, radius: float) -> np.ndarray:
    """Return the (drawings, 28, 28) ink coverage in [0, 1] of round-capped strokes in output pixels.

    ``owner`` gives each stroke's drawing. A pixel's centre is at (i + 0.5, j + 0.5). The strokes are
    painted one over another, as a vector renderer paints them: where two strokes cross, the ink adds up
    like two layers of paint.
    """
    same = (stroke[1:] == stroke[:-1]).nonzero()[0]
    dots = np.searchsorted(stroke, (np.bincount(stroke) == 1).nonzero()[0])  # one-point strokes
    a_index, b_index = np.concatenate((same, dots)), np.concatenate((same + 1, dots))
    segment_stroke = stroke[a_index]
    clear = np.ones((owner[-1] + 1, SIDE, SIDE))
    for low in range(0, len(owner), _CHUNK):
        part = (segment_stroke >= low) & (segment_stroke < low + _CHUNK)
        layers = _stroke_coverage(
            points[a_index[part]], points[b_index[part]], segment_stroke[part] - low, radius
        )
        drawing = owner[low : low + len(layers)]
        starts = _starts(drawing)
        clear[drawing[starts]] *= np.multiply.reduceat(1.0 - layers, starts)
    return 1.0 - clear


def _stroke_coverage(a: np.ndarray, b: np.ndarray, owner: np.ndarray, radius: float) -> np.ndarray:
    """Return each stroke's (28, 28) coverage by the capsules of radius ``radius`` around segments a-b.

    Every pixel is split into sub-pixels. A sub-pixel takes the largest coverage by any segment of its
    stroke, each computed as if the capsule's edge were a straight line through the nearest edge point:
    seen across an edge with unit normal (c, s), a unit square has a trapezoid profile, whose integral is a
    sum of four clipped squares.
    """
    n = SIDE * _SUB
    a, b, radius = a * _SUB, b * _SUB, radius * _SUB
    reach = radius + 0.7072  # the largest distance at which a sub-pixel can still be touched
    # cut segments into pieces at most 3 sub-pixels long (or n pieces, for lines far off the image), so
    # that each piece needs only a small window of sub-pixels
    ex, ey = b[:, 0] - a[:, 0], b[:, 1] - a[:, 1]
    pieces = np.ceil(np.clip(np.maximum(np.abs(ex), np.abs(ey)) / 3.0, 1.0, n)).astype(np.intp)
    seg = np.arange(len(a)).repeat(pieces)
    step = np.arange(len(seg)) - (pieces.cumsum() - pieces).repeat(pieces)
    ex, ey = ex[seg] / pieces[seg], ey[seg] / pieces[seg]
    ax, ay, owner = a[seg, 0] + step * ex, a[seg, 1] + step * ey, owner[seg]
    length2 = ex * ex + ey * ey
    inv_length2 = np.divide(1.0, length2, out=np.zeros_like(length2), where=length2 > 0)
    # the window of sub-pixels whose centres are within reach of each piece's bounding box
    x0 = np.maximum(np.ceil(np.minimum(ax, ax + ex) - reach - 0.5), 0)
    x1 = np.minimum(np.floor(np.maximum(ax, ax + ex) + reach - 0.5), n - 1)
    y0 = np.maximum(np.ceil(np.minimum(ay, ay + ey) - reach - 0.5), 0)
    y1 = np.minimum(np.floor(np.maximum(ay, ay + ey) + reach - 0.5), n - 1)
    width = np.maximum(x1 - x0 + 1, 0)
    cells = (width * np.maximum(y1 - y0 + 1, 0)).astype(np.intp)
    e = np.arange(len(ax)).repeat(cells)
    local = np.arange(len(e)) - (cells.cumsum() - cells).repeat(cells)
    row = np.floor((local + 0.5) / width[e])
    px, py = x0[e] + local - row * width[e], y0[e] + row
    qx, qy, ux, uy = px + 0.5 - ax[e], py + 0.5 - ay[e], ex[e], ey[e]
    t = np.minimum(np.maximum((qx * ux + qy * uy) * inv_length2[e], 0.0), 1.0)
    dx, dy = np.abs(qx - t * ux), np.abs(qy - t * uy)
    dist = np.sqrt(dx * dx + dy * dy)
    near = dist < reach
    dist, dx, dy = dist[near], dx[near], dy[near]
    key = owner[e[near]] * (n * n) + (py[near] * n + px[near]).astype(np.intp)
    inv = 1.0 / np.maximum(dist, 1e-9)
    c = np.maximum(np.maximum(dx, dy) * inv, 0.7)
    s = np.maximum(np.minimum(dx, dy) * inv, 0.01)
    u, half_a, half_b = dist - radius, 0.5 * (c - s), 0.5 * (c + s)
    ramps = [np.square(np.maximum(u + h, 0.0)) for h in (half_b, half_a, -half_a, -half_b)]
    cover = 1.0 - (ramps[0] - ramps[1] - ramps[2] + ramps[3]) / (2.0 * c * s)
    layers = np.zeros((owner.max() + 1) * n * n)
    np.maximum.at(layers, key, cover)
    sub = layers.reshape(-1, _SUB, SIDE, _SUB)
    pixel = sum(sub[:, i, :, j] for i in range(_SUB) for j in range(_SUB)) / _SUB**2
    return pixel.reshape(-1, SIDE, SIDE)


def _to_uint8(coverage: np.ndarray) -> np.ndarray:
    return np.round(np.clip(coverage, 0.0, 1.0) * 255.0).astype(np.uint8)


def _render(drawings: list, recipe: str, simplified: bool = False, first: int | None = None) -> np.ndarray:
    """Render drawings with a recipe into a (N, 28, 28) uint8 array; see render_quickdraw and render_mnist."""
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; choose one of {', '.join(RECIPES)}")
    points, stroke, owner = _gather(drawings, first)
    if recipe == "mnist" or not simplified:
        points, stroke = _simplify(points, stroke, owner[stroke])
    group = owner[stroke]
    top = np.maximum.reduceat(points, _starts(group))  # each drawing's max x, y
    if recipe == "quickdraw":
        offset = (_BOX - top) / 2 + _PAD + _LINE / 2
        return _to_uint8(
            _rasterize((points + offset[group]) * _QD_SCALE, stroke, owner, _LINE / 2 * _QD_SCALE)
        )
    scale = (_MNIST_BOX - _MNIST_PEN) / np.maximum(top.max(1), 1e-9)
    points = points * scale[group, None] + ((SIDE - top * scale[:, None]) / 2)[group]  # boxes in the middle
    image = _to_uint8(_rasterize(points, stroke, owner, _MNIST_PEN / 2)).astype(float)
    mass = np.maximum(image.sum((1, 2)), 1.0)
    centre = np.stack([image.sum(1), image.sum(2)], 1) @ np.arange(SIDE) / mass[:, None]  # x, y indices
    points = points + np.round(SIDE / 2 - centre)[group]
    return _to_uint8(_rasterize(points, stroke, owner, _MNIST_PEN / 2))


def normalize_strokes(drawing: Iterable) -> list[np.ndarray]:
    """Simplify raw strokes the way Google made QuickDraw's simplified drawings.

    The drawing is aligned to the top-left corner, scaled uniformly so that its larger side spans 0-255,
    resampled with 1-pixel spacing and simplified with Ramer-Douglas-Peucker (epsilon 2.0); coordinates are
    rounded to integers like Google's files. Returns one float array of shape (k, 2) of (x, y) points per
    non-empty stroke. A stroke of one point stays a single point, and a drawing whose points are all equal
    becomes one point per stroke at the origin.
    """
    points, stroke, _ = _gather([drawing])
    points, stroke = _simplify(points, stroke, np.zeros_like(stroke))
    return np.split(points, np.flatnonzero(np.diff(stroke)) + 1)


def render_quickdraw(drawing: Iterable, *, simplified: bool = False) -> np.ndarray:
    """Render a drawing as a (28, 28) uint8 image in the style of QuickDraw's numpy_bitmap files.

    Raw strokes are simplified first with normalize_strokes; pass simplified=True for strokes that are
    already simplified 0-255 coordinates (Google's simplified ndjson and binary files). The strokes are
    centred in a 256 box, drawn 16 units wide with round caps and joins, padded by 16 units on each side
    and reduced to 28x28 with anti-aliasing.
    """
    return _render([drawing], "quickdraw", simplified)[0]


def render_mnist(drawing: Iterable) -> np.ndarray:
    """Render a drawing as a (28, 28) uint8 image prepared the way MNIST digits were.

    The ink, pen width included, is fitted into a 20x20 box keeping its aspect ratio and drawn with
    anti-aliasing and a pen about 2.4 pixels wide, so that stroke centres saturate at 255. The image is
    then shifted by whole pixels so that its centre of mass, in row and column indices, is within half a
    pixel of (14, 14), as LeCun did.
    """
    return _render([drawing], "mnist")[0]


def render(drawing: Iterable, recipe: str = "quickdraw", *, simplified: bool = False) -> np.ndarray:
    """Render one drawing as a (28, 28) uint8 image with the named recipe, "quickdraw" or "mnist".

    The simplified flag is passed to the quickdraw recipe; the mnist recipe rescales any input itself.
    """
    return _render([drawing], recipe, simplified)[0]


def render_many(drawings: Iterable, recipe: str = "quickdraw", *, simplified: bool = False) -> np.ndarray:
    """Render several drawings with one recipe and return a (N, 28, 28) uint8 array.

    The drawings are processed in batches, which is faster than rendering them one by one. Errors say
    which drawing, counted from 0, is wrong.
    """
    if isinstance(drawings, (str, bytes, dict)) or not isinstance(drawings, Iterable):
        raise ValueError(f"drawings must be a list of drawings, got {type(drawings).__name__}")
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; choose one of {', '.join(RECIPES)}")
    drawings = list(drawings)
    batches = range(0, len(drawings), _BATCH)
    images = [_render(drawings[i : i + _BATCH], recipe, simplified, i) for i in batches]
    return np.concatenate(images) if images else np.zeros((0, SIDE, SIDE), np.uint8)
