"""Where Doodle Lab keeps its data: one root folder, named by DOODLE_DATA_DIR.

The layout under the root is the layout of Google's and LeCun's public downloads:
``quickdraw/numpy_bitmap/<name>.npy``, ``quickdraw/binary/<name>.bin``, ``quickdraw/raw/<name>.ndjson``
and ``mnist/t10k-images-idx3-ubyte.gz`` and friends.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_VARIABLE = "DOODLE_DATA_DIR"


def default_data_dir() -> Path:
    """Return the user's cache folder for Doodle Lab (``$XDG_CACHE_HOME/doodle-lab`` or ``~/.cache/doodle-lab``)."""
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "doodle-lab"


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Return the data root: ``override`` when given, else DOODLE_DATA_DIR, else the user cache folder."""
    if override:
        return Path(override).expanduser()
    from_environment = os.environ.get(DATA_DIR_VARIABLE)
    if from_environment:
        return Path(from_environment).expanduser()
    return default_data_dir()


def quickdraw_dir(root: Path, data_format: str) -> Path:
    """Return the folder holding one QuickDraw format (``numpy_bitmap``, ``binary`` or ``raw``)."""
    return root / "quickdraw" / data_format


def mnist_dir(root: Path) -> Path:
    """Return the folder holding the MNIST IDX files."""
    return root / "mnist"
