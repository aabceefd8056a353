"""Browsing the data folder: pages of a category's bitmaps and its stroke drawings with their timing.

Bitmaps come from the memory-mapped ``numpy_bitmap`` files, so a page of 48 drawings reads only those
rows. Stroke drawings come from the raw ndjson files, whose strokes are ``[xs, ys, ts]`` in canvas
pixels and milliseconds (the real timing of the person drawing), then from the simplified binary files,
which keep no timing: their strokes get a steady pen speed instead, and say so (``timed`` is False).
Nothing here downloads: only what the data folder holds is browsed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from quickdraw import QuickDrawDataGroup

from data_loader.errors import DataError
from data_loader.quickdraw import open_bitmaps, read_ndjson, stored, validate_binary_file

PEN_SPEED = 0.5  # Canvas units per millisecond for drawings without timing (a brisk but ordinary hand).
STROKE_PAUSE = 150  # Milliseconds between the strokes of a drawing without timing.


@dataclass(frozen=True)
class StrokeDrawing:
    """One drawing as strokes ``[xs, ys, ts]`` (ts in milliseconds from the first point) and where it came from."""

    strokes: list[list[list[float]]]
    timed: bool
    source: str  # "raw" (real timing) or "binary" (simplified, steady pace)
    country: str = ""
    recognized: bool | None = None

    @property
    def duration(self) -> float:
        """Milliseconds from the first point to the last."""
        return float(self.strokes[-1][2][-1]) if self.strokes else 0.0


def categories(root: Path) -> dict[str, list[str]]:
    """The categories the data folder holds: {"bitmap": [...], "strokes": [...]} (raw or binary strokes)."""
    strokes = set(stored(root, "raw")) | set(stored(root, "strokes"))
    return {"bitmap": sorted(stored(root, "bitmap")), "strokes": sorted(strokes)}


def bitmap_count(root: Path, name: str) -> int:
    """How many bitmaps one category's file holds (read from its header only)."""
    return int(_bitmap_file(root, name).shape[0])


def bitmap_page(root: Path, name: str, page: int, per_page: int = 48) -> np.ndarray:
    """The drawings of one page (counted from 0) of a category's bitmaps, uint8 (n, 28, 28) in file order."""
    if per_page < 1:
        raise ValueError(f"a page holds at least one drawing, got {per_page}")
    array = _bitmap_file(root, name)
    pages = math.ceil(array.shape[0] / per_page)
    if not 0 <= page < pages:
        raise ValueError(f"{name!r} has {pages:,} pages of {per_page} drawings; page {page + 1} does not exist")
    return np.asarray(array[page * per_page:(page + 1) * per_page]).reshape(-1, 28, 28)


def _bitmap_file(root: Path, name: str) -> np.ndarray:
    path = stored(root, "bitmap").get(name)
    if path is None:
        raise DataError(f"the data folder has no bitmaps of {name!r}")
    return open_bitmaps(path)


def stroke_drawings(root: Path, name: str, limit: int = 100) -> list[StrokeDrawing]:
    """Up to ``limit`` stroke drawings of a category: the raw ones (real timing) first, then the simplified ones."""
    found: list[StrokeDrawing] = []
    raw = stored(root, "raw").get(name)
    if raw is not None:
        for record in read_ndjson(raw):
            if len(found) >= limit:
                break
            strokes = _timed_strokes(record["drawing"])
            if strokes:
                found.append(StrokeDrawing(strokes, True, "raw", str(record.get("countrycode", "")),
                                           record.get("recognized")))
    binary = stored(root, "strokes").get(name)
    if binary is not None and len(found) < limit:
        count = validate_binary_file(binary, max_drawings=limit - len(found))
        group = QuickDrawDataGroup(name, max_drawings=count, print_messages=False, cache_dir=str(binary.parent))
        for drawing in group.drawings:
            found.append(StrokeDrawing(paced(list(drawing.image_data)), False, "binary", drawing.countrycode,
                                       bool(drawing.recognized)))
    if not found:
        raise DataError(f"the data folder has no stroke drawings of {name!r}")
    return found


def _timed_strokes(drawing: list) -> list[list[list[float]]]:
    """Raw strokes with their times shifted to start at 0; strokes without matching times get a steady pace."""
    try:
        if all(len(stroke) == 3 and len(stroke[0]) == len(stroke[2]) for stroke in drawing):
            start = min(float(stroke[2][0]) for stroke in drawing if stroke[2])
            return [[[float(v) for v in stroke[0]], [float(v) for v in stroke[1]],
                     [float(t) - start for t in stroke[2]]] for stroke in drawing if stroke[0]]
        return paced([stroke[:2] for stroke in drawing])
    except (TypeError, ValueError, IndexError):
        return []


def paced(strokes: list) -> list[list[list[float]]]:
    """Give untimed strokes ``[xs, ys]`` times at a steady pen speed, with a short pause between strokes."""
    timed, now = [], 0.0
    for stroke in strokes:
        xs, ys = [float(v) for v in stroke[0]], [float(v) for v in stroke[1]]
        if not xs:
            continue
        times = [now]
        for index in range(1, len(xs)):
            now += math.hypot(xs[index] - xs[index - 1], ys[index] - ys[index - 1]) / PEN_SPEED
            times.append(now)
        timed.append([xs, ys, times])
        now += STROKE_PAUSE
    return timed


def fit_strokes(strokes: list, size: float, margin: float = 0.08) -> list[list[list[float]]]:
    """Scale and centre strokes ``[xs, ys, ts]`` into a ``size`` square (y down), keeping their proportions."""
    points = [(x, y) for stroke in strokes for x, y in zip(stroke[0], stroke[1], strict=False)]
    if not points:
        return []
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-9)
    scale = size * (1 - 2 * margin) / span
    left = (size - (max(xs) - min(xs)) * scale) / 2
    top = (size - (max(ys) - min(ys)) * scale) / 2
    return [[[round(left + (x - min(xs)) * scale, 1) for x in stroke[0]],
             [round(top + (y - min(ys)) * scale, 1) for y in stroke[1]], list(stroke[2])] for stroke in strokes]


def mosaic(images: np.ndarray, columns: int, gap: int = 2, scale: int = 3) -> np.ndarray:
    """Tile uint8 drawings (n, 28, 28) into one image, ``columns`` wide, ink dark on white, enlarged by ``scale``."""
    count = len(images)
    if count == 0:
        raise ValueError("no drawings to show")
    columns = max(1, min(columns, count))
    rows = math.ceil(count / columns)
    cell = 28 + gap
    sheet = np.full((rows * cell + gap, columns * cell + gap), 200, np.uint8)
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        sheet[gap + row * cell:gap + row * cell + 28, gap + column * cell:gap + column * cell + 28] = 255 - image
    return np.kron(sheet, np.ones((scale, scale), np.uint8))
