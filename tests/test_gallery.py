"""Browsing the data folder: bitmap pages, stroke drawings with their real timing, fitting and tiling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from data_loader import DataError
from data_loader.gallery import bitmap_count, bitmap_page, categories, fit_strokes, mosaic, paced, stroke_drawings
from data_loader.quickdraw import read_ndjson


def test_categories_lists_what_the_folder_holds(data_root: Path) -> None:
    found = categories(data_root)
    assert len(found["bitmap"]) == 18 and "house plant" in found["bitmap"]
    assert len(found["strokes"]) >= 344 and "zigzag" not in found["strokes"]


def test_bitmap_pages_are_the_file_rows_in_order(data_root: Path) -> None:
    rows = np.load(data_root / "quickdraw/numpy_bitmap/horse.npy", mmap_mode="r")
    count = bitmap_count(data_root, "horse")
    assert count == rows.shape[0] == 979
    second = bitmap_page(data_root, "horse", 1, per_page=48)
    assert second.shape == (48, 28, 28) and second.dtype == np.uint8
    np.testing.assert_array_equal(second.reshape(48, 784), rows[48:96])
    last = bitmap_page(data_root, "horse", 20, per_page=48)
    assert len(last) == 979 - 20 * 48
    with pytest.raises(ValueError, match="has 21 pages of 48 drawings; page 22 does not exist"):
        bitmap_page(data_root, "horse", 21, per_page=48)
    with pytest.raises(DataError, match="no bitmaps of 'zebra'"):
        bitmap_count(data_root, "zebra")


def test_raw_drawings_keep_their_real_timing_and_come_first(data_root: Path) -> None:
    drawings = stroke_drawings(data_root, "cat")
    raw = [drawing for drawing in drawings if drawing.source == "raw"]
    records = list(read_ndjson(data_root / "quickdraw/raw/cat.ndjson"))
    assert len(raw) == len(records) and drawings[:len(raw)] == raw and all(drawing.timed for drawing in raw)
    first, record = raw[0], records[0]["drawing"]
    start = record[0][2][0]
    assert first.strokes[0][2][:3] == [t - start for t in record[0][2][:3]]
    assert first.strokes[-1][0] == record[-1][0]
    times = [t for stroke in first.strokes for t in stroke[2]]
    assert times[0] == 0 and times == sorted(times) and first.duration == record[-1][2][-1] - start
    simplified = [drawing for drawing in drawings if drawing.source == "binary"]
    assert simplified and not any(drawing.timed for drawing in simplified)


def test_a_category_with_only_simplified_strokes_is_paced(data_root: Path) -> None:
    drawings = stroke_drawings(data_root, "zebra", limit=5)
    assert len(drawings) == 5 and {drawing.source for drawing in drawings} == {"binary"}
    times = [t for stroke in drawings[0].strokes for t in stroke[2]]
    assert times == sorted(times) and drawings[0].duration > 0


def test_paced_strokes_move_at_a_steady_speed_with_pauses() -> None:
    strokes = paced([[[0, 30, 30], [0, 0, 40]], [[0], [0]], [[], []]])
    assert strokes == [[[0.0, 30.0, 30.0], [0.0, 0.0, 40.0], [0.0, 60.0, 140.0]], [[0.0], [0.0], [290.0]]]


def test_fit_strokes_centres_a_drawing_in_the_square_keeping_its_shape() -> None:
    fitted = fit_strokes([[[100, 300], [50, 150], [0, 10]]], 280, margin=0.1)
    xs, ys, ts = fitted[0]
    assert (min(xs), max(xs)) == (28.0, 252.0)
    assert (min(ys), max(ys)) == (84.0, 196.0) and ts == [0, 10]
    assert fit_strokes([], 280) == []


def test_mosaic_tiles_drawings_as_dark_ink_on_white(data_root: Path) -> None:
    images = bitmap_page(data_root, "apple", 0, per_page=10)
    sheet = mosaic(images, columns=4, gap=2, scale=1)
    assert sheet.shape == (3 * 30 + 2, 4 * 30 + 2)
    np.testing.assert_array_equal(sheet[2:30, 32:60], 255 - images[1])
    assert mosaic(images[:1], columns=8, scale=3).shape == (32 * 3, 32 * 3)
