"""Publishing a finished temporary file under its final name, the last step of every atomic write here.

Files are written to a temporary name in the destination folder (``tempfile.mkstemp``, which makes them
readable by their owner only) and renamed into place once complete, so that a crash never leaves a
half-written file under the real name. ``publish`` first gives the file the permissions an ordinary new
file gets (0666 less the umask), so that a shared data folder stays readable by everyone who uses it.
"""

from __future__ import annotations

import os
from pathlib import Path


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # Read once, at import: setting it to read it is not safe while other threads write.


def umask() -> int:
    """The process's file-creation mask, as it was when this module was imported."""
    return _UMASK


def publish(temporary: str | os.PathLike[str], destination: str | os.PathLike[str]) -> Path:
    """Give a complete temporary file ordinary permissions and rename it to ``destination`` atomically."""
    os.chmod(temporary, 0o666 & ~umask())
    os.replace(temporary, destination)
    return Path(destination)
