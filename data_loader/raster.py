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
_MNIST_BOX = 20.0  # MNIST digits fill a 20x20 box
_MNIST_PEN = 2.4  # pen width in output pixels; matches the stroke thickness of real MNIST digits
_SUB = 2  # sub-pixels per output pixel along each axis
_CHUNK = 32  # strokes rasterized together (bounds memory for drawings with very many strokes)


def _read(drawing: Iterable) -> tuple[np.ndarray, np.ndarray]:
    """Check a drawing and return its points as a (n, 2) float array and the stroke number of each point."""
    if isinstance(drawing, dict):
        raise ValueError("a drawing must be a list of strokes; for an ndjson record pass record['drawing']")
    if isinstance(drawing, (str, bytes)) or not isinstance(drawing, Iterable):
        raise ValueError(f"a drawing must be a list of strokes [xs, ys], got {type(drawing).__name__}")
    arrays = []
    for i, stroke in enumerate(drawing):
        if isinstance(stroke, (str, bytes)) or not isinstance(stroke, Sequence | np.ndarray):
            raise ValueError(f"stroke {i} must be [xs, ys] or [xs, ys, ts], got {type(stroke).__name__}")
        if len(stroke) not in (2, 3):
            raise ValueError(f"stroke {i} must be [xs, ys] or [xs, ys, ts], got a sequence of {len(stroke)} items")
        try:
            n_x, n_y = len(stroke[0]), len(stroke[1])
            coords = np.asarray(stroke[:2], dtype=float) if n_x == n_y else None
        except (TypeError, ValueError) as error:
            raise ValueError(f"stroke {i}: xs and ys must be flat sequences of numbers ({error})") from None
        if coords is None:
            raise ValueError(f"stroke {i}: xs has {n_x} values but ys has {n_y}")
        if coords.ndim != 2:
            raise ValueError(f"stroke {i}: xs and ys must be flat sequences of numbers, got nested lists")
        if not np.isfinite(coords).all():
            raise ValueError(f"stroke {i} has a coordinate that is NaN or infinite")
        if coords.shape[1]:
            arrays.append(coords)  # empty strokes are skipped
    if not arrays:
        raise ValueError("the drawing has no points (no strokes, or only empty strokes)")
    counts = np.array([a.shape[1] for a in arrays])
    return np.concatenate(arrays, axis=1).T, np.repeat(np.arange(len(arrays)), counts)


def _simplify(points: np.ndarray, stroke: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply Google's simplification to points in any coordinates; return the kept points and their strokes.

    The drawing is moved to the origin and scaled so that its larger side spans 0-255. Each stroke is
    resampled every 1 unit of arc length, simplified with Ramer-Douglas-Peucker and rounded to integers.
    Between two original vertices the resampled points lie on a straight line, so only the first and last
    of them can ever be the farthest point in a Ramer-Douglas-Peucker step; the others are never made.
    """
    points = points - points.min(0)
    extent = points.max()
    if extent > 0:
        points *= 255.0 / extent
    x, y = points[:, 0], points[:, 1]
    first = np.flatnonzero(np.diff(stroke, prepend=-1))
    last = np.append(first[1:], len(x)) - 1
    step = np.hypot(np.diff(x), np.diff(y))
    step[first[1:] - 1] = 1.0  # a unit gap between strokes keeps the arc length increasing
    arc = np.concatenate(([0.0], np.cumsum(step)))
    start, length = arc[first], arc[last] - arc[first]
    n_samples = np.ceil(length).astype(np.intp) + 1
    offsets = np.cumsum(n_samples) - n_samples
    t = np.arange(n_samples.sum()) - np.repeat(offsets - start, n_samples)
    ends = np.zeros(len(t), bool)
    ends[offsets] = ends[offsets + n_samples - 1] = True
    t[offsets + n_samples - 1] = start + length
    segment = np.searchsorted(arc, t, "right")
    useful = ends.copy()
    useful[1:] |= segment[1:] != segment[:-1]
    useful[:-1] |= segment[1:] != segment[:-1]
    t, keep = t[useful], ends[useful]
    px, py = np.interp(t, arc, x), np.interp(t, arc, y)
    _rdp(px, py, keep)
    owner = np.repeat(np.arange(len(first)), n_samples)[useful][keep]
    return np.round(np.stack([px[keep], py[keep]], 1)), owner


def _rdp(x: np.ndarray, y: np.ndarray, keep: np.ndarray) -> None:
    """Mark in ``keep`` the points Ramer-Douglas-Peucker keeps, splitting every open range at once."""
    while not keep.all():
        kept = np.flatnonzero(keep)
        rank = np.cumsum(keep) - 1  # the range each point lies in, named by its first kept point
        rank[-1] -= 1
        chord_x, chord_y = np.diff(x[kept]), np.diff(y[kept])
        qx, qy = x - x[kept][rank], y - y[kept][rank]
        far = np.abs(chord_x[rank] * qy - chord_y[rank] * qx)  # distance to the chord times its length
        limit = _EPSILON * np.hypot(chord_x, chord_y)
        closed = limit == 0
        if closed.any():  # a range that starts and ends at one point: use the distance to that point
            inside = closed[rank]
            far[inside] = np.hypot(qx[inside], qy[inside])
            limit[closed] = _EPSILON
        peak = np.maximum.reduceat(far, kept[:-1])
        split = peak > limit
        if not split.any():
            return
        best = np.flatnonzero((far == peak[rank]) & split[rank])
        keep[best[np.diff(rank[best], prepend=-1) != 0]] = True  # the first farthest point of each range


def _rasterize(points: np.ndarray, stroke: np.ndarray, radius: float) -> np.ndarray:
    """Return the (28, 28) ink coverage in [0, 1] of round-capped strokes given in output-pixel units.

    A pixel's centre is at (i + 0.5, j + 0.5). Within a stroke the coverage of a sub-pixel is that of the
    nearest part of the stroke, computed exactly for a straight edge; strokes are composited one over
    another, as a vector renderer paints them.
    """
    n = SIDE * _SUB
    points = points * _SUB
    radius *= _SUB
    reach = radius + 0.7072  # half the diagonal of a sub-pixel
    same = np.flatnonzero(stroke[1:] == stroke[:-1])
    dots = np.flatnonzero(np.bincount(stroke) == 1)
    dot_index = np.searchsorted(stroke, dots)
    a_index = np.concatenate((same, dot_index))
    b_index = np.concatenate((same + 1, dot_index))
    owner_all = stroke[a_index]
    alpha = np.zeros(SIDE * SIDE)
    for low in range(0, stroke[-1] + 1, _CHUNK):
        chunk = (owner_all >= low) & (owner_all < low + _CHUNK)
        a, b, owner = points[a_index[chunk]], points[b_index[chunk]], owner_all[chunk] - low
        # cut long segments so that each piece only needs a small window of sub-pixels
        ex, ey = b[:, 0] - a[:, 0], b[:, 1] - a[:, 1]
        pieces = np.maximum(1, np.ceil(np.maximum(np.abs(ex), np.abs(ey)) / 3.0).astype(np.intp))
        seg = np.repeat(np.arange(len(a)), pieces)
        frac = np.arange(len(seg)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
        ex, ey = ex[seg] / pieces[seg], ey[seg] / pieces[seg]
        ax, ay, owner = a[seg, 0] + frac * ex, a[seg, 1] + frac * ey, owner[seg]
        x0 = np.maximum(np.ceil(np.minimum(ax, ax + ex) - reach - 0.5), 0).astype(np.intp)
        x1 = np.minimum(np.floor(np.maximum(ax, ax + ex) + reach - 0.5), n - 1).astype(np.intp)
        y0 = np.maximum(np.ceil(np.minimum(ay, ay + ey) - reach - 0.5), 0).astype(np.intp)
        y1 = np.minimum(np.floor(np.maximum(ay, ay + ey) + reach - 0.5), n - 1).astype(np.intp)
        width = np.maximum(x1 - x0 + 1, 0)
        cells = width * np.maximum(y1 - y0 + 1, 0)
        e = np.repeat(np.arange(len(ax)), cells)
        row, col = np.divmod(np.arange(len(e)) - np.repeat(np.cumsum(cells) - cells, cells), width[e])
        px, py = x0[e] + col, y0[e] + row
        qx, qy, ux, uy = px + 0.5 - ax[e], py + 0.5 - ay[e], ex[e], ey[e]
        length2 = ux * ux + uy * uy
        t = np.minimum(np.maximum((qx * ux + qy * uy) / np.where(length2 > 0, length2, 1.0), 0.0), 1.0)
        dx, dy = np.abs(qx - t * ux), np.abs(qy - t * uy)
        dist = np.sqrt(dx * dx + dy * dy)
        # A unit square seen across an edge with normal (c, s) has a trapezoid profile; its integral is a
        # sum of four clipped squares. The stroke covers the part of the sub-pixel beyond dist - radius.
        inv = 1.0 / np.maximum(dist, 1e-9)
        c = np.maximum(np.maximum(dx, dy) * inv, 0.7)
        s = np.maximum(np.minimum(dx, dy) * inv, 0.01)
        u, half_a, half_b = dist - radius, 0.5 * (c - s), 0.5 * (c + s)
        ramps = [np.square(np.maximum(u + h, 0.0)) for h in (half_b, half_a, -half_a, -half_b)]
        cover = 1.0 - (ramps[0] - ramps[1] - ramps[2] + ramps[3]) / (2.0 * c * s)
        layers = np.zeros((owner.max(initial=-1) + 1) * n * n)
        np.maximum.at(layers, owner[e] * (n * n) + py * n + px, cover)
        sub = layers.reshape(-1, _SUB, SIDE, _SUB)
        pixel = sum(sub[:, i, :, j] for i in range(_SUB) for j in range(_SUB)) / _SUB**2
        alpha = 1.0 - (1.0 - alpha) * np.prod(1.0 - pixel.reshape(-1, SIDE * SIDE), axis=0)
    return alpha.reshape(SIDE, SIDE)


def _to_uint8(coverage: np.ndarray) -> np.ndarray:
    return np.round(np.clip(coverage, 0.0, 1.0) * 255.0).astype(np.uint8)


def normalize_strokes(drawing: Iterable) -> list[np.ndarray]:
    """Simplify raw strokes the way Google made QuickDraw's simplified drawings.

    The drawing is aligned to the top-left corner, scaled uniformly so that its larger side spans 0-255,
    resampled with 1-pixel spacing and simplified with Ramer-Douglas-Peucker (epsilon 2.0); coordinates are
    rounded to integers like Google's files. Returns one float array of shape (k, 2) of (x, y) points per
    non-empty stroke. A stroke of one point stays a single point, and a drawing whose points are all equal
    becomes one point per stroke at the origin.
    """
    points, stroke = _simplify(*_read(drawing))
    return np.split(points, np.flatnonzero(np.diff(stroke)) + 1)


def render_quickdraw(drawing: Iterable, *, simplified: bool = False) -> np.ndarray:
    """Render a drawing as a (28, 28) uint8 image in the style of QuickDraw's numpy_bitmap files.

    Raw strokes are simplified first with normalize_strokes; pass simplified=True for strokes that are
    already simplified 0-255 coordinates (Google's simplified ndjson and binary files). The strokes are
    centred in a 256 box, drawn 16 units wide with round caps and joins, padded by 16 units on each side
    and reduced to 28x28 with anti-aliasing.
    """
    points, stroke = _read(drawing)
    if not simplified:
        points, stroke = _simplify(points, stroke)
    offset = (_BOX - points.max(0)) / 2 + _PAD + _LINE / 2
    return _to_uint8(_rasterize((points + offset) * _QD_SCALE, stroke, _LINE / 2 * _QD_SCALE))


def render_mnist(drawing: Iterable) -> np.ndarray:
    """Render a drawing as a (28, 28) uint8 image prepared the way MNIST digits were.

    The ink, pen width included, is fitted into a 20x20 box keeping its aspect ratio and drawn with
    anti-aliasing and a pen about 2.4 pixels wide, so that stroke centres saturate at 255. The image is
    then shifted by whole pixels so that its centre of mass, in row and column indices, is within half a
    pixel of (14, 14), as LeCun did.
    """
    points, stroke = _simplify(*_read(drawing))
    extent = points.max(0)
    scale = (_MNIST_BOX - _MNIST_PEN) / max(extent.max(), 1e-9)
    ink = extent * scale + _MNIST_PEN
    start = np.where(ink >= ink.max(), (SIDE - _MNIST_BOX) / 2, (SIDE - ink) / 2)
    image = _to_uint8(_rasterize(points * scale + start + _MNIST_PEN / 2, stroke, _MNIST_PEN / 2))
    mass = image.astype(float)
    total = mass.sum()
    if total == 0:
        return image
    index = np.arange(SIDE)
    centre = np.array([mass.sum(1) @ index, mass.sum(0) @ index]) / total
    dy, dx = np.round(SIDE / 2 - centre).astype(int)
    shifted = np.zeros_like(image)
    shifted[max(dy, 0) : SIDE + min(dy, 0), max(dx, 0) : SIDE + min(dx, 0)] = image[
        max(-dy, 0) : SIDE + min(-dy, 0), max(-dx, 0) : SIDE + min(-dx, 0)
    ]
    return shifted


def render(drawing: Iterable, recipe: str = "quickdraw", *, simplified: bool = False) -> np.ndarray:
    """Render one drawing as a (28, 28) uint8 image with the named recipe, "quickdraw" or "mnist".

    The simplified flag is passed to the quickdraw recipe; the mnist recipe rescales any input itself.
    """
    if recipe == "quickdraw":
        return render_quickdraw(drawing, simplified=simplified)
    if recipe == "mnist":
        return render_mnist(drawing)
    raise ValueError(f"unknown recipe {recipe!r}; choose one of {', '.join(RECIPES)}")


def render_many(drawings: Iterable, recipe: str = "quickdraw", *, simplified: bool = False) -> np.ndarray:
    """Render several drawings with one recipe and return a (N, 28, 28) uint8 array."""
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; choose one of {', '.join(RECIPES)}")
    images = [render(drawing, recipe, simplified=simplified) for drawing in drawings]
    return np.stack(images) if images else np.zeros((0, SIDE, SIDE), np.uint8)
