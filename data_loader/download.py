"""Download a data file safely: to a temporary file, checked, then renamed into place.

A download either produces the complete, verified file at its final path or leaves nothing behind:
no empty file, no error page saved under a data file's name, no half-written file after a cut connection.
"""

from __future__ import annotations

import http.client
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from data_loader.errors import DataError, MissingDataError
from data_loader.files import publish
from data_loader.settings import DATA_DIR_VARIABLE

OFFLINE_VARIABLE = "DOODLE_OFFLINE"
CHUNK_BYTES = 1 << 20
DEFAULT_TIMEOUT_SECONDS = 20.0


def download_file(
    url: str,
    destination: Path,
    validate: Callable[[Path], None],
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    progress: Callable[[int, int | None], None] | None = None,
) -> Path:
    """Fetch ``url`` into ``destination`` atomically and return the destination path.

    ``validate`` receives the temporary file once it is complete and raises ``DataError`` when its
    content does not parse. ``progress`` is called with (bytes so far, total bytes or None).
    Raises ``MissingDataError`` when the server cannot be reached or answers with an error status.
    """
    destination = Path(destination)
    if os.environ.get(OFFLINE_VARIABLE, "") not in ("", "0"):
        raise MissingDataError(
            f"{destination.name} is not in {destination.parent} and downloads are off ({OFFLINE_VARIABLE} is set); "
            f"its public URL is {url}; download it by hand or point {DATA_DIR_VARIABLE} at a folder that has it"
        )
    created = [folder for folder in (destination.parent, *destination.parent.parents) if not folder.exists()]
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary_name = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".part",
                                                  dir=destination.parent)
    except OSError as error:
        _remove_empty(created)
        raise DataError(
            f"cannot write to the data folder {destination.parent} ({error.strerror}); "
            f"point {DATA_DIR_VARIABLE} at a writable folder"
        ) from error
    temporary = Path(temporary_name)
    try:
        with os.fdopen(handle, "wb") as output:
            _stream(url, output, destination, timeout, progress)
        validate(temporary)
        publish(temporary, destination)
    except BaseException:
        temporary.unlink(missing_ok=True)
        _remove_empty(created)
        raise
    return destination


def _remove_empty(folders: list[Path]) -> None:
    """Remove the folders a failed download created, deepest first, as long as they are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def _stream(url, output, destination: Path, timeout: float, progress) -> None:
    """Copy the body of ``url`` into ``output``, checking the status and the announced length."""
    missing = f"{destination.name} is not in {destination.parent} and could not be downloaded from {url}"
    hint = f"; download it by hand or point {DATA_DIR_VARIABLE} at a folder that has it"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status = getattr(response, "status", 200)
            if status != 200:
                raise MissingDataError(f"{missing} (HTTP status {status}){hint}")
            announced = response.headers.get("Content-Length")
            total = int(announced) if announced and announced.isdigit() else None
            received = 0
            while chunk := response.read(CHUNK_BYTES):
                output.write(chunk)
                received += len(chunk)
                if progress is not None:
                    progress(received, total)
    except urllib.error.HTTPError as error:
        raise MissingDataError(f"{missing} (HTTP status {error.code}){hint}") from error
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
        reason = getattr(error, "reason", None) or error
        raise MissingDataError(f"{missing} ({reason}){hint}") from error
    if received == 0:
        raise MissingDataError(f"{missing} (the server sent an empty file){hint}")
    if total is not None and received != total:
        raise MissingDataError(f"{missing} (the connection was cut after {received:,} of {total:,} bytes){hint}")
