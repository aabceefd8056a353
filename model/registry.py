"""The model registry: one folder of saved models, plus the bundled ones, with one active model.

Layout of the registry folder (``DOODLE_MODELS_DIR``, default ``~/.local/share/doodle-lab/models``):
``<name>/model.keras`` and ``<name>/card.json`` for each model, and ``active.json`` naming the active
one. The bundled models in ``model/bundled/`` appear as read-only entries. Every write goes to a
temporary name first and is renamed into place, so a crash at any moment leaves the old state or the
new one, never a half-written model; opening the registry removes such temporaries once they are a few
minutes old. A folder that cannot be used (no card, a card with wrong types, a damaged ``model.keras``)
is never listed as a model: ``damaged`` lists it with the reason, and ``delete`` removes it. Files and
folders the app keeps here that are not models start with '.' (or use a reserved name, see ``NAME_RULE``).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import re
import shutil
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from data_loader.files import publish, umask
from model.card import ModelCard

MODELS_DIR_VARIABLE = "DOODLE_MODELS_DIR"
BUNDLED_DIR = Path(__file__).resolve().parent / "bundled"
DEFAULT_MODEL = "quickdraw18"
MODEL_FILE = "model.keras"
CARD_FILE = "card.json"
ACTIVE_FILE = "active.json"
LEFTOVER_SECONDS = 300
# Folders the app keeps in the registry folder that are not models (model.export's cache); never listed.
INTERNAL_FOLDERS = frozenset({"exports"})
# Names the registry keeps for its own files: the pointer, the internal folders, and the kinds of file the app
# keeps beside the models. Other folders and files of its own that are not models start with '.', which no model
# name may.
RESERVED_NAMES = frozenset({ACTIVE_FILE, CARD_FILE, MODEL_FILE, *INTERNAL_FOLDERS})
RESERVED_ENDINGS = (".json", ".npz", ".onnx", ".keras", ".tmp", ".lock")
NAME_RULE = ("use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit (no spaces, paths or "
             f"control characters); {ACTIVE_FILE}, {', '.join(sorted(INTERNAL_FOLDERS))} and names ending in "
             f"{', '.join(RESERVED_ENDINGS)} are kept for "
             "the registry's own files")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_ARCHIVE_CHECKS: dict[tuple[str, int, int], str | None] = {}
_ARCHIVE_LOCK = threading.Lock()
_CARDS: dict[tuple[str, int, int, int], ModelCard | str] = {}  # A card (or why it is invalid) per file version.


class RegistryError(ValueError):
    """A model is missing, damaged or does not match its card, or a registry change is not allowed."""


@dataclass(frozen=True)
class ModelEntry:
    """One model of the registry: its name, files, card and whether it can be changed."""

    name: str
    folder: Path
    card: ModelCard
    bundled: bool

    @property
    def model_path(self) -> Path:
        return self.folder / MODEL_FILE


@dataclass(frozen=True)
class DamagedModel:
    """A model folder that cannot be used (no card, an invalid card, a damaged model file), and why."""

    name: str
    folder: Path
    problem: str
    bundled: bool


def models_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Return the registry folder: ``override``, else DOODLE_MODELS_DIR, else the user's data folder."""
    if override:
        return Path(override).expanduser()
    if os.environ.get(MODELS_DIR_VARIABLE):
        return Path(os.environ[MODELS_DIR_VARIABLE]).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "doodle-lab" / "models"


def check_name(name: str) -> str:
    """Return ``name`` if it is a safe model name (letters, digits, '.', '_', '-'; no paths), else raise."""
    if (not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name or name in RESERVED_NAMES
            or name.lower().endswith(RESERVED_ENDINGS)):
        raise RegistryError(f"{name!r} is not a valid model name: {NAME_RULE}")
    return name


class Registry:
    """The saved models of one registry folder, and the bundled models beside them.

    Opening a registry tidies it (see ``tidy``): leftovers of interrupted saves older than
    ``LEFTOVER_SECONDS`` are removed, and a card whose name differs from its folder's (a rename killed
    halfway) gets the folder's name.
    """

    def __init__(self, folder: str | os.PathLike[str] | None = None, bundled: Path = BUNDLED_DIR) -> None:
        self.folder = models_dir(folder)
        self.bundled_folder = bundled
        self.tidy()

    def entries(self) -> list[ModelEntry]:
        """List every usable model, bundled ones first; damaged folders are listed by ``damaged``."""
        return self._scan()[0]

    def damaged(self) -> list[DamagedModel]:
        """List the model folders that cannot be used, each with what is wrong (they can be deleted)."""
        return self._scan()[1]

    def listing(self) -> tuple[list[ModelEntry], list[DamagedModel]]:
        """The usable models and the damaged folders, read together in one pass over the folders."""
        return self._scan()

    def _scan(self) -> tuple[list[ModelEntry], list[DamagedModel]]:
        found: dict[str, ModelEntry] = {}
        damaged: dict[str, DamagedModel] = {}
        for root, bundled in ((self.bundled_folder, True), (self.folder, False)):
            for folder in sorted(root.iterdir()) if root.is_dir() else []:
                skipped = folder.name.startswith(".") or (folder.name in INTERNAL_FOLDERS and not bundled)
                if skipped or not folder.is_dir() or folder.name in found or folder.name in damaged:
                    continue
                card, problem = _read_folder(folder)
                if problem:
                    damaged[folder.name] = DamagedModel(folder.name, folder, problem, bundled)
                else:
                    found[folder.name] = ModelEntry(folder.name, folder, card, bundled)
        return list(found.values()), list(damaged.values())

    def names(self) -> list[str]:
        return [entry.name for entry in self.entries()]

    def get(self, name: str) -> ModelEntry:
        """Return the entry of one model, or raise saying what is wrong with it or which names exist."""
        entries, damaged = self._scan()
        for entry in entries:
            if entry.name == name:
                return entry
        for broken in damaged:
            if broken.name == name:
                raise RegistryError(f"model {name!r} cannot be used: {broken.problem}. Delete it on the Models "
                                    "page (or remove its folder) and save it again.")
        known = ", ".join(entry.name for entry in entries) or "none"
        raise RegistryError(f"no model named {name!r} in the registry (models: {known})")

    def check_new_name(self, name: str) -> str:
        """Return ``name`` if a new model can be saved under it, else raise saying why (before any training)."""
        check_name(name)
        entries, damaged = self._scan()
        if name in {entry.name for entry in entries}:
            raise RegistryError(f"a model named {name!r} already exists: choose another name or delete it first")
        for broken in damaged:
            if broken.name == name:
                raise RegistryError(f"a damaged model folder named {name!r} is in the registry ({broken.problem}): "
                                    "delete it on the Models page first, or choose another name")
        if os.path.lexists(self.folder / name):
            raise RegistryError(f"{self.folder / name} already exists and is not a model: choose another name")
        return name

    def check_writable(self) -> None:
        """Raise ``RegistryError`` saying what is wrong if a model cannot be saved and activated here."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, probe = tempfile.mkstemp(prefix=".write-check.", dir=self.folder)
            os.close(handle)
            os.unlink(probe)
        except OSError as error:
            raise RegistryError(f"the model registry folder {self.folder} cannot be written "
                                f"({error.strerror or error}): make it writable, or set {MODELS_DIR_VARIABLE} "
                                "to a folder that is") from error
        pointer = self.folder / ACTIVE_FILE
        if os.path.lexists(pointer) and not pointer.is_file():
            raise RegistryError(f"{pointer} is not a file, so no model can be made the default: remove it "
                                "(it may be a model saved under that name by an older version)")

    def save(self, model, card: ModelCard) -> ModelEntry:
        """Save a Keras model and its card under ``card.name``, atomically; the name must be new."""
        name = self.check_new_name(card.name)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.remove_leftovers()
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".saving", dir=self.folder))
        try:
            _inference_copy(model).save(staging / MODEL_FILE)
            (staging / CARD_FILE).write_text(card.to_json(), encoding="utf-8")
            _fsync_folder(staging)
            os.chmod(staging, 0o777 & ~umask())  # mkdtemp makes it owner-only; a model folder is ordinary.
            os.rename(staging, self.folder / name)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return self.get(name)

    def active_name(self) -> str:
        """Return the active model's name: the one ``active.json`` names if it still exists, else the default."""
        names = self.names()
        name = self._pointer()
        if name in names:
            return name
        return DEFAULT_MODEL if DEFAULT_MODEL in names else (names[0] if names else DEFAULT_MODEL)

    def pointer(self) -> str | None:
        """The name ``active.json`` holds, even if that model is gone or damaged (``active_name`` then falls back)."""
        return self._pointer()

    def _pointer(self) -> str | None:
        """The name ``active.json`` holds, or None when there is none (or it cannot be read)."""
        try:
            name = json.loads((self.folder / ACTIVE_FILE).read_text(encoding="utf-8"))["name"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return name if isinstance(name, str) else None

    def tidy(self) -> None:
        """Remove old leftovers and give cards their folder's name; never raises (a read-only folder stays)."""
        try:
            self.remove_leftovers()
            self.repair_names()
        except OSError:
            pass

    def remove_leftovers(self, older_than: float = LEFTOVER_SECONDS) -> list[Path]:
        """Remove what interrupted saves, renames and deletes left behind (hidden ``.saving``/``.deleting``
        folders and temporary files, in the registry folder and in model folders) once they are older than
        ``older_than`` seconds; return what was removed."""
        removed = []
        now = time.time()
        if not self.folder.is_dir():
            return removed
        for path in [*self.folder.glob(".*"), *self.folder.glob(f"*/.{CARD_FILE}.*")]:
            try:
                if now - path.lstat().st_mtime < older_than:
                    continue
                if path.is_dir() and path.name.endswith((".saving", ".deleting")):
                    shutil.rmtree(path, ignore_errors=True)
                elif path.is_file() and path.name.startswith((f".{ACTIVE_FILE}.", f".{CARD_FILE}.", ".write-check.")):
                    path.unlink(missing_ok=True)
                else:
                    continue
            except OSError:
                continue
            removed.append(path)
        return removed

    def repair_names(self) -> list[str]:
        """Write each saved model's folder name into its card where they differ (a rename killed between
        renaming the folder and rewriting the card); return the names repaired."""
        repaired = []
        for folder in sorted(self.folder.iterdir()) if self.folder.is_dir() else []:
            if folder.name.startswith(".") or folder.name in INTERNAL_FOLDERS or not (folder / CARD_FILE).is_file():
                continue
            try:
                card = read_card(folder / CARD_FILE)
            except (OSError, ValueError, TypeError):
                continue  # Listed as damaged, with the reason.
            if card.name != folder.name:
                card.name = folder.name
                self._write_atomically(CARD_FILE, card.to_json(), folder)
                repaired.append(folder.name)
        return repaired

    def activate(self, name: str) -> ModelEntry:
        """Make ``name`` the active model, switching the pointer atomically."""
        entry = self.get(name)
        if os.path.lexists(self.folder / ACTIVE_FILE) and not (self.folder / ACTIVE_FILE).is_file():
            self.check_writable()  # Raises, saying what is in the pointer's place.
        self._write_atomically(ACTIVE_FILE, json.dumps({"name": entry.name}))
        return entry

    def rename(self, old: str, new: str) -> ModelEntry:
        """Rename a saved model (not a bundled one); the active pointer follows it."""
        entry = self._changeable(old)
        self.check_new_name(new)
        was_active = self.active_name() == old
        # The folder's name is the model's name, so the rename itself is one atomic step; the pointer and the
        # name written in the card follow. A kill in between leaves a renamed model whose card still says the
        # old name (the registry reads names from folders, and ``tidy`` repairs the card) or, at worst, the
        # default model active.
        os.rename(entry.folder, self.folder / new)
        if was_active:
            self.activate(new)
        card = ModelCard.from_json((self.folder / new / CARD_FILE).read_text(encoding="utf-8"))
        card.name = new
        self._write_atomically(CARD_FILE, card.to_json(), self.folder / new)
        return self.get(new)

    def delete(self, name: str) -> None:
        """Delete a saved model, usable or damaged (not a bundled one); if it was active, the default becomes
        active."""
        entries, damaged = self._scan()
        folder = next((item.folder for item in [*entries, *damaged] if item.name == name and not item.bundled), None)
        if folder is None:
            self._changeable(name)  # Raises: bundled, or no such model.
            raise RegistryError(f"no model named {name!r} in the registry")
        if self._pointer() == name:  # A later model saved under the same name must not become active by chance.
            (self.folder / ACTIVE_FILE).unlink(missing_ok=True)
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
        trash = Path(tempfile.mkdtemp(prefix=f".{safe}.", suffix=".deleting", dir=self.folder))
        os.rename(folder, trash / "model")
        shutil.rmtree(trash, ignore_errors=True)

    def _changeable(self, name: str) -> ModelEntry:
        entry = self.get(name)
        if entry.bundled:
            raise RegistryError(f"{name!r} is a bundled model: it cannot be renamed or deleted")
        return entry

    def _write_atomically(self, file_name: str, text: str, folder: Path | None = None) -> None:
        folder = folder or self.folder
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{file_name}.", dir=folder)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as output:
                output.write(text)
                output.flush()
                os.fsync(output.fileno())
            publish(temporary, folder / file_name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _read_folder(folder: Path) -> tuple[ModelCard | None, str]:
    """A model folder's card (named after the folder), or None and what is wrong with the folder."""
    if folder.name != folder.name.strip() or not _NAME.fullmatch(folder.name) or folder.name in RESERVED_NAMES \
            or folder.name.lower().endswith(RESERVED_ENDINGS):
        return None, f"its folder name {folder.name!r} is not a valid model name ({NAME_RULE})"
    card_path, model_path = folder / CARD_FILE, folder / MODEL_FILE
    if not card_path.is_file():
        return None, f"{card_path} is missing"
    try:
        card = read_card(card_path)
    except (OSError, ValueError, TypeError) as error:
        return None, f"{card_path} is not a valid model card ({error})"
    if not model_path.is_file():
        return None, f"{model_path} is missing"
    problem = archive_problem(model_path)
    if problem:
        return None, problem
    if card.name != folder.name:  # A rename killed before the card was rewritten: the folder's name counts.
        card = dataclasses.replace(card, name=folder.name)
    return card, ""


def read_card(path: Path) -> ModelCard:
    """Read and check a card file, or raise ``ValueError`` saying what is wrong with it.

    Parsed cards are remembered per file version (cards are replaced, never edited in place, by the registry),
    so listing the registry on every page run does not parse and check every card again. Each call returns
    its own copy of the card.
    """
    status = path.stat()
    key = (str(path), status.st_ino, status.st_mtime_ns, status.st_size)
    with _ARCHIVE_LOCK:
        known = _CARDS.get(key)
    if known is None:
        try:
            known = ModelCard.from_json(path.read_text(encoding="utf-8"))
        except (ValueError, TypeError) as error:
            known = str(error)
        with _ARCHIVE_LOCK:
            _CARDS[key] = known
            while len(_CARDS) > 256:
                _CARDS.pop(next(iter(_CARDS)))
    if isinstance(known, str):
        raise ValueError(known)
    return copy.copy(known)


def archive_problem(path: Path) -> str | None:
    """What is wrong with a ``.keras`` file as an archive (truncated, corrupted, not a model), or None.

    The check reads the whole file once (its checksums) and is remembered per file version, so listing the
    registry stays cheap; Keras itself would call a truncated file "not found".
    """
    try:
        status = path.stat()
    except OSError as error:
        return f"{path} cannot be read ({error.strerror or error})"
    key = (str(path), status.st_mtime_ns, status.st_size)
    with _ARCHIVE_LOCK:
        if key in _ARCHIVE_CHECKS:
            return _ARCHIVE_CHECKS[key]
    problem = _check_archive(path)
    with _ARCHIVE_LOCK:  # Sessions list the registry from several threads.
        _ARCHIVE_CHECKS[key] = problem
        while len(_ARCHIVE_CHECKS) > 256:
            _ARCHIVE_CHECKS.pop(next(iter(_ARCHIVE_CHECKS)))
    return problem


def _check_archive(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            broken = archive.testzip()
            config = json.loads(archive.read("config.json")) if "config.json" in names and not broken else {}
    except (OSError, zipfile.BadZipFile, EOFError) as error:
        return f"{path} is damaged or unreadable: it is not a complete .keras archive ({error})"
    except ValueError as error:
        return f"{path} is damaged or unreadable: its config.json is not valid JSON ({error})"
    except Exception as error:  # zlib and other decompression errors for corrupted contents.
        return f"{path} is damaged or unreadable: its contents cannot be read ({error})"
    if broken:
        return f"{path} is damaged or unreadable: its part {broken!r} fails its checksum"
    if "config.json" not in names or not isinstance(config, dict) or "class_name" not in config:
        return f"{path} is damaged or unreadable: it is a zip archive without a Keras model's config.json"
    return None


def _inference_copy(model):
    """The model without its optimizer state and in float32: a third of the file size, and what predicting needs.

    A model trained with mixed precision is saved with float32 layers, so that it predicts the same way on
    any machine.
    """
    import keras

    if getattr(model, "optimizer", None) is None and not _mixed(model.get_config()):
        return model
    copy = keras.Model.from_config(_float32(model.get_config()))
    copy.set_weights(model.get_weights())
    for original, copied in zip(model.layers, copy.layers, strict=True):
        copied.trainable = original.trainable
    return copy


def _mixed(config) -> bool:
    return "mixed_" in json.dumps(config)


def _float32(config):
    """A copy of a model config in which every mixed-precision dtype policy is float32."""
    if isinstance(config, dict):
        if config.get("class_name") == "DTypePolicy" and "mixed" in str(config.get("config", {}).get("name")):
            return {**config, "config": {**config["config"], "name": "float32"}}
        return {key: _float32(value) for key, value in config.items()}
    if isinstance(config, list):
        return [_float32(value) for value in config]
    return config


def _fsync_folder(folder: Path) -> None:
    """Flush a folder's files to disk before the rename that publishes them."""
    for path in folder.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())


def load_model(entry_or_path: ModelEntry | str | os.PathLike[str], registry: Registry | None = None):
    """Load a model and its card, with Keras' safe mode on, refusing files that do not match their card.

    Accepts a registry entry, a model name, a model folder, or a ``.keras`` file with a card beside it.
    Returns ``(keras_model, card)``.
    """
    import keras

    entry = _resolve(entry_or_path, registry or Registry())
    card_path = entry.folder / CARD_FILE
    try:
        card = ModelCard.from_json(card_path.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError) as error:
        raise RegistryError(f"{card_path} (the card of model {entry.name!r}) is not a valid model card "
                            f"({error})") from error
    card = dataclasses.replace(card, name=entry.name) if card.name != entry.name else card
    problem = archive_problem(entry.model_path)
    if problem:
        raise RegistryError(f"model {entry.name!r} cannot be used: {problem}")
    try:
        model = keras.saving.load_model(entry.model_path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many kinds of errors for damaged files.
        raise RegistryError(f"the model file {entry.model_path} of {entry.name!r} is damaged or unreadable "
                            f"({error})") from error
    input_shape = tuple(model.inputs[0].shape[1:])
    output_count = model.outputs[0].shape[-1]
    if input_shape != (28, 28, 1):
        raise RegistryError(f"model {entry.name!r} takes {input_shape}, not the (28, 28, 1) drawings it should")
    if output_count != card.num_classes:
        raise RegistryError(
            f"model {entry.name!r} has {output_count} outputs but its card names {card.num_classes} classes"
        )
    return model, card


def _resolve(entry_or_path, registry: Registry) -> ModelEntry:
    if isinstance(entry_or_path, ModelEntry):
        return entry_or_path
    text = str(entry_or_path)
    path = Path(text).expanduser()
    if path.suffix == ".keras" and path.is_file():
        path = path.parent
    if path.is_dir() and (path / CARD_FILE).is_file() and (path / MODEL_FILE).is_file():
        try:
            card = ModelCard.from_json((path / CARD_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError) as error:
            raise RegistryError(f"{path / CARD_FILE} is not a valid model card ({error})") from error
        return ModelEntry(path.name, path, card, bundled=path.parent == registry.bundled_folder)
    return registry.get(text)
