"""Data for Doodle Lab: QuickDraw and MNIST subsets, splits, downloads and the stroke rasterizer.

This package never imports streamlit or TensorFlow: the app pages, the trainer and the command line
(``python -m data_loader``) all call it.
"""

from data_loader.dataset import (
    DatasetSplits,
    DrawingDataset,
    build_splits,
    build_subset,
    from_drawings,
    split,
)
from data_loader.errors import DataError, MissingDataError
from data_loader.settings import data_dir

__all__ = [
    "DataError",
    "DatasetSplits",
    "DrawingDataset",
    "MissingDataError",
    "build_splits",
    "build_subset",
    "data_dir",
    "from_drawings",
    "split",
]
