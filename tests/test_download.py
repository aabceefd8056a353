"""Tests of the download path against a local HTTP server on 127.0.0.1 serving the real data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from data_loader import DataError, MissingDataError, build_subset, mnist


def files_under(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def test_missing_bitmap_is_downloaded_checked_and_put_in_place(data_server, data_root: Path, tmp_path: Path) -> None:
    dataset = build_subset("quickdraw", ["house plant", "train"], 25, root=tmp_path)
    assert dataset.counts() == {"house plant": 25, "train": 25}
    assert files_under(tmp_path) == ["quickdraw/numpy_bitmap/house plant.npy", "quickdraw/numpy_bitmap/train.npy"]
    downloaded = (tmp_path / "quickdraw/numpy_bitmap/house plant.npy").read_bytes()
    assert downloaded == (data_root / "quickdraw/numpy_bitmap/house plant.npy").read_bytes()
    assert "/quickdraw/numpy_bitmap/house%20plant.npy" in data_server.requests
    mask = os.umask(0)
    os.umask(mask)
    mode = (tmp_path / "quickdraw/numpy_bitmap/house plant.npy").stat().st_mode & 0o777
    assert mode == 0o666 & ~mask, "a shared data folder stays readable by everyone who uses it"
    # A second build reads the cached file and asks the server nothing.
    data_server.requests.clear()
    build_subset("quickdraw", ["house plant"], 5, root=tmp_path)
    assert data_server.requests == []


def test_missing_stroke_file_is_downloaded(data_server, tmp_path: Path) -> None:
    dataset = build_subset("quickdraw", ["anvil"], 4, data_format="strokes", root=tmp_path)
    assert len(dataset) == 4
    assert files_under(tmp_path) == ["quickdraw/binary/anvil.bin"]


def test_missing_mnist_test_set_is_downloaded(data_server, tmp_path: Path) -> None:
    images, labels, _ = mnist.load_test(tmp_path)
    assert images.shape == (10000, 28, 28) and len(labels) == 10000
    assert files_under(tmp_path) == ["mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz"]


@pytest.mark.parametrize(("mode", "message"), [
    ("404", "HTTP status 404"),
    ("cut", "could not be downloaded"),
    ("error-page", "not a valid QuickDraw bitmap file"),
])
def test_failed_download_leaves_nothing_behind(data_server, tmp_path: Path, mode: str, message: str) -> None:
    data_server.mode = mode
    with pytest.raises(DataError, match=message):
        build_subset("quickdraw", ["cat"], 5, root=tmp_path / "root")
    assert not (tmp_path / "root").exists(), "no empty folder, no partial or error-page file"


def test_cut_stroke_download_is_not_kept(data_server, tmp_path: Path) -> None:
    data_server.mode = "cut"
    with pytest.raises(MissingDataError):
        build_subset("quickdraw", ["cat"], 5, data_format="strokes", root=tmp_path)
    assert files_under(tmp_path) == []


def test_without_network_the_error_names_file_url_and_setting(tmp_path: Path) -> None:
    with pytest.raises(MissingDataError) as caught:
        build_subset("quickdraw", ["cat"], 5, root=tmp_path)
    text = str(caught.value)
    assert "cat.npy" in text and "http://127.0.0.1:9/quickdraw/numpy_bitmap/cat.npy" in text
    assert "DOODLE_DATA_DIR" in text


def test_offline_setting_fails_fast_without_asking_the_server(data_server, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOODLE_OFFLINE", "1")
    with pytest.raises(MissingDataError, match="downloads are off"):
        build_subset("quickdraw", ["cat"], 5, root=tmp_path)
    assert data_server.requests == []


def test_unwritable_data_root_is_a_clear_error(data_server, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    def refuse(*arguments, **keywords):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)  # As for a read-only folder (tests may run as root).
    with pytest.raises(DataError, match="cannot write to the data folder .*Permission denied.*DOODLE_DATA_DIR"):
        build_subset("quickdraw", ["cat"], 5, root=tmp_path / "root")
    assert not (tmp_path / "root").exists()


def test_data_root_that_is_a_file_is_a_clear_error(data_server, tmp_path: Path) -> None:
    blocker = tmp_path / "root"
    blocker.write_text("a file where the data folder should be")
    with pytest.raises(DataError, match="cannot write to the data folder"):
        build_subset("quickdraw", ["cat"], 5, root=blocker)
    assert blocker.read_text().startswith("a file")
