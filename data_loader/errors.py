"""The errors the data loader raises, so that callers can show one readable line instead of a traceback."""

from __future__ import annotations


class DataError(ValueError):
    """A data file is missing, corrupted or cannot be written, or a request for data makes no sense."""


class MissingDataError(DataError):
    """A data file is not in the data root and could not be downloaded."""
