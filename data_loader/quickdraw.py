"""Google's "Quick, Draw!" dataset: category names, bitmap and stroke files, downloads and validation.

Two formats feed the subsets:
- ``bitmap``: Google's ``full/numpy_bitmap/<name>.npy`` files, uint8 (N, 784), memory-mapped so that
  taking a few drawings from a 100 MB file reads only those rows;
- ``strokes``: Google's ``full/binary/<name>.bin`` files (simplified strokes, 0-255), read through the
  ``quickdraw`` package and rendered by ``data_loader.raster``.
A missing file is downloaded from the dataset's public URL (``DOODLE_QUICKDRAW_URL`` overrides the base).
"""

from __future__ import annotations

import difflib
import json
import os
import struct
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from quickdraw import QuickDrawDataGroup
from quickdraw.names import QUICK_DRAWING_FILES, QUICK_DRAWING_NAMES

from data_loader.download import download_file
from data_loader.errors import DataError
from data_loader.raster import render, render_many
from data_loader.settings import quickdraw_dir

BASE_URL_VARIABLE = "DOODLE_QUICKDRAW_URL"
DEFAULT_BASE_URL = "https://storage.googleapis.com/quickdraw_dataset/full"
FORMATS = ("bitmap", "strokes")
CATEGORIES: tuple[str, ...] = tuple(QUICK_DRAWING_NAMES)
_FOLDERS = {"bitmap": "numpy_bitmap", "strokes": "binary", "raw": "raw"}
_SUFFIXES = {"bitmap": ".npy", "strokes": ".bin", "raw": ".ndjson"}
_RECORD_HEADER = struct.Struct("<Q2sbIH")


def check_category(name: str) -> str:
    """Return ``name`` if it is one of the 345 QuickDraw categories, else raise with the closest names."""
    if name in QUICK_DRAWING_FILES:
        return name
    lowered = name.strip().lower()
    for category in CATEGORIES:
        if category.lower() == lowered:
            return category
    close = difflib.get_close_matches(lowered, CATEGORIES, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise DataError(f"unknown QuickDraw category {name!r}{hint} (run 'python -m data_loader info' to list them)")


def file_path(root: Path, name: str, data_format: str) -> Path:
    """Return where the file of one category and format lives under the data root."""
    if data_format not in _FOLDERS:
        raise ValueError(f"unknown QuickDraw format {data_format!r}; choose one of {', '.join(FORMATS)}")
    return quickdraw_dir(root, _FOLDERS[data_format]) / f"{name}{_SUFFIXES[data_format]}"


def file_url(name: str, data_format: str) -> str:
    """Return the public URL of one category's file (the same URL the ``quickdraw`` package uses)."""
    base = os.environ.get(BASE_URL_VARIABLE, DEFAULT_BASE_URL).rstrip("/")
    return f"{base}/{_FOLDERS[data_format]}/{urllib.parse.quote(name + _SUFFIXES[data_format])}"


def ensure_file(root: Path, name: str, data_format: str) -> Path:
    """Return the path of a category's file, downloading and validating it first when it is missing."""
    name = check_category(name)
    path = file_path(root, name, data_format)
    if not path.is_file():
        validate = validate_bitmap_file if data_format == "bitmap" else validate_binary_file
        download_file(file_url(name, data_format), path, validate)
    return path


def validate_bitmap_file(path: Path) -> None:
    """Raise ``DataError`` unless ``path`` is a uint8 (N, 784) numpy file with at least one drawing."""
    open_bitmaps(path)


def open_bitmaps(path: Path) -> np.ndarray:
    """Memory-map a numpy_bitmap file and return it as uint8 (N, 784) without reading the rows."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise DataError(
            f"{path} is not a valid QuickDraw bitmap file ({error}); delete it to download again"
        ) from error
    if array.dtype != np.uint8 or array.ndim != 2 or array.shape[1] != 784 or array.shape[0] == 0:
        raise DataError(
            f"{path} holds {array.dtype} {array.shape}, not uint8 (N, 784) drawings; delete it to download again"
        )
    return array


def validate_binary_file(path: Path, max_drawings: int | None = None) -> int:
    """Parse a binary stroke file record by record and return how many drawings it holds.

    Raises ``DataError`` for an empty file, an error page, or a file cut off in the middle of a record,
    which the ``quickdraw`` package would otherwise read silently as a shorter file.
    """
    data = Path(path).read_bytes()
    if not data:
        raise DataError(f"{path} is empty; delete it to download again")
    offset, count = 0, 0
    try:
        while offset < len(data) and (max_drawings is None or count < max_drawings):
            _, country, _, _, strokes = _RECORD_HEADER.unpack_from(data, offset)
            offset += _RECORD_HEADER.size
            if strokes == 0 or not country.isascii():
                raise struct.error("implausible record")
            for _ in range(strokes):
                (points,) = struct.unpack_from("<H", data, offset)
                offset += 2 + 2 * points
            if offset > len(data):
                raise struct.error("record runs past the end of the file")
            count += 1
    except struct.error as error:
        raise DataError(
            f"{path} is not a valid QuickDraw binary file (drawing {count + 1} is damaged: {error}); "
            "delete it to download again"
        ) from error
    return count


def load_bitmaps(root: Path, name: str, count: int, rng: np.random.Generator) -> tuple[np.ndarray, Path]:
    """Return up to ``count`` randomly chosen bitmaps of one category as uint8 (n, 28, 28), and their file."""
    path = ensure_file(root, name, "bitmap")
    array = open_bitmaps(path)
    chosen = np.sort(rng.choice(array.shape[0], size=min(count, array.shape[0]), replace=False))
    return np.asarray(array[chosen]).reshape(-1, 28, 28), path


def load_strokes(root: Path, name: str, count: int) -> tuple[list[list[tuple]], Path]:
    """Return up to ``count`` simplified stroke drawings of one category (each a list of (xs, ys)), and their file."""
    path = ensure_file(root, name, "strokes")
    validate_binary_file(path, max_drawings=count)
    group = QuickDrawDataGroup(name, max_drawings=count, print_messages=False, cache_dir=str(path.parent))
    return [list(drawing.image_data) for drawing in group.drawings], path


def read_ndjson(path: Path) -> Iterator[dict]:
    """Yield the drawings of a raw or simplified ndjson file, in file order, with a clear error for bad lines."""
    with open(path, "rb") as lines:
        for number, line in _numbered_lines(lines, path):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataError(f"{path}, line {number}: not valid JSON ({error.msg})") from error
            if not isinstance(record, dict) or not isinstance(record.get("drawing"), list):
                raise DataError(f"{path}, line {number}: no 'drawing' list of strokes")
            yield record


def render_file_drawings(path: Path, drawings: list, recipe: str = "quickdraw", simplified: bool = False,
                         numbers: list[int] | None = None) -> np.ndarray:
    """Render drawings read from a file in batches, as (N, 28, 28) uint8; an error names the file and drawing.

    ``numbers`` are the drawings' places in the file, counted from 1 (by default 1, 2, 3...).
    """
    try:
        return render_many(drawings, recipe, simplified=simplified)
    except ValueError:
        for number, drawing in zip(numbers or range(1, len(drawings) + 1), drawings, strict=True):
            try:  # Find the first bad drawing, to name it by its place in the file.
                render(drawing, recipe, simplified=simplified)
            except ValueError as error:
                raise DataError(f"{path}, drawing {number}: {error}") from error
        raise


def _numbered_lines(lines, path: Path) -> Iterator[tuple[int, str]]:
    """A binary file's lines as text counted from 1, with a clear error naming the line that is not UTF-8."""
    for number, raw in enumerate(lines, start=1):
        try:
            yield number, raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise DataError(f"{path}, line {number}: not UTF-8 text ({error.reason})") from error


def is_simplified(drawing: list) -> bool:
    """Tell whether strokes are already in the simplified 0-255 form (no timing, integers, aligned to 0).

    A malformed drawing is not simplified: the rasterizer then says what is wrong with it.
    """
    try:
        if any(len(stroke) != 2 for stroke in drawing):
            return False
        values = [value for stroke in drawing for axis in stroke for value in axis]
        if not values or not all(float(value).is_integer() and 0 <= value <= 255 for value in values):
            return False
    except (TypeError, ValueError, OverflowError):
        return False
    xs = [x for stroke in drawing for x in stroke[0]]
    ys = [y for stroke in drawing for y in stroke[1]]
    return min(xs) == 0 and min(ys) == 0 and 255 in (max(xs), max(ys))


def stored(root: Path, data_format: str) -> dict[str, Path]:
    """The categories whose files of one format are in the data root, with their paths (files are not read)."""
    folder = quickdraw_dir(root, _FOLDERS[data_format])
    suffix = _SUFFIXES[data_format]
    return {path.name[: -len(suffix)]: path for path in sorted(folder.glob(f"*{suffix}"))} if folder.is_dir() else {}


def available(root: Path) -> dict[str, dict[str, int]]:
    """Return, per format, the categories in the data root and how many drawings each file holds."""
    return {data_format: {name: _count_drawings(path, data_format)
                          for name, path in stored(root, data_format).items()}
            for data_format in ("bitmap", "strokes", "raw")}


def _count_drawings(path: Path, data_format: str) -> int:
    """Count the drawings in one file; a damaged file counts as -1 so that ``info`` can flag it."""
    try:
        if data_format == "bitmap":
            return int(open_bitmaps(path).shape[0])
        if data_format == "strokes":
            return validate_binary_file(path)
        with open(path, encoding="utf-8") as lines:
            return sum(1 for line in lines if line.strip())
    except (DataError, OSError):
        return -1
