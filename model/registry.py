"""The model registry: one folder of saved models, plus the bundled ones, with one active model.

Layout of the registry folder (``DOODLE_MODELS_DIR``, default ``~/.local/share/doodle-lab/models``):
``<name>/model.keras`` and ``<name>/card.json`` for each model, and ``active.json`` naming the active
one. The bundled models in ``model/bundled/`` appear as read-only entries. Every write goes to a
temporary name first and is renamed into place, so a crash at any moment leaves the old state or the
new one, never a half-written model.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
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
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


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
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        raise RegistryError(
            f"{name!r} is not a valid model name: use 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


class Registry:
    """The saved models of one registry folder, and the bundled models beside them."""

    def __init__(self, folder: str | os.PathLike[str] | None = None, bundled: Path = BUNDLED_DIR) -> None:
        self.folder = models_dir(folder)
        self.bundled_folder = bundled

    def entries(self) -> list[ModelEntry]:
        """List every readable model, bundled ones first; damaged folders are skipped."""
        found: dict[str, ModelEntry] = {}
        for root, bundled in ((self.bundled_folder, True), (self.folder, False)):
            for folder in sorted(root.iterdir()) if root.is_dir() else []:
                if folder.name.startswith(".") or not (folder / CARD_FILE).is_file() or folder.name in found:
                    continue
                try:
                    card = ModelCard.from_json((folder / CARD_FILE).read_text(encoding="utf-8"))
                except (OSError, ValueError, TypeError, KeyError, AttributeError):
                    continue
                found[folder.name] = ModelEntry(folder.name, folder, card, bundled)
        return list(found.values())

    def names(self) -> list[str]:
        return [entry.name for entry in self.entries()]

    def get(self, name: str) -> ModelEntry:
        """Return the entry of one model, or raise with the names that exist."""
        for entry in self.entries():
            if entry.name == name:
                return entry
        known = ", ".join(self.names()) or "none"
        raise RegistryError(f"no model named {name!r} in the registry (models: {known})")

    def save(self, model, card: ModelCard) -> ModelEntry:
        """Save a Keras model and its card under ``card.name``, atomically; the name must be new."""
        name = check_name(card.name)
        if name in self.names():
            raise RegistryError(f"a model named {name!r} already exists: choose another name or delete it first")
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

    def _pointer(self) -> str | None:
        """The name ``active.json`` holds, or None when there is none (or it cannot be read)."""
        try:
            name = json.loads((self.folder / ACTIVE_FILE).read_text(encoding="utf-8"))["name"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return name if isinstance(name, str) else None

    def remove_leftovers(self, older_than: float = 3600) -> list[Path]:
        """Remove what interrupted saves and deletes left behind (hidden ``.saving``/``.deleting`` folders and
        temporary files) once they are older than ``older_than`` seconds; return what was removed."""
        removed = []
        now = time.time()
        for path in self.folder.glob(".*") if self.folder.is_dir() else []:
            if path.name == f".{ACTIVE_FILE}" or now - path.stat().st_mtime < older_than:
                continue
            if path.is_dir() and path.name.endswith((".saving", ".deleting")):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
            elif path.is_file() and path.name.startswith((f".{ACTIVE_FILE}.", f".{CARD_FILE}.")):
                path.unlink(missing_ok=True)
                removed.append(path)
        return removed

    def activate(self, name: str) -> ModelEntry:
        """Make ``name`` the active model, switching the pointer atomically."""
        entry = self.get(name)
        self._write_atomically(ACTIVE_FILE, json.dumps({"name": entry.name}))
        return entry

    def rename(self, old: str, new: str) -> ModelEntry:
        """Rename a saved model (not a bundled one); the active pointer follows it."""
        entry = self._changeable(old)
        check_name(new)
        if new in self.names():
            raise RegistryError(f"a model named {new!r} already exists")
        was_active = self.active_name() == old
        # The folder's name is the model's name, so the rename itself is one atomic step; the pointer and the
        # name written in the card follow. A kill in between leaves a renamed model whose card still says the
        # old name (the registry reads names from folders) or, at worst, the default model active.
        os.rename(entry.folder, self.folder / new)
        if was_active:
            self.activate(new)
        card = ModelCard.from_json((self.folder / new / CARD_FILE).read_text(encoding="utf-8"))
        card.name = new
        self._write_atomically(CARD_FILE, card.to_json(), self.folder / new)
        return self.get(new)

    def delete(self, name: str) -> None:
        """Delete a saved model (not a bundled one); if it was active, the default becomes active."""
        entry = self._changeable(name)
        if self._pointer() == name:  # A later model saved under the same name must not become active by chance.
            (self.folder / ACTIVE_FILE).unlink(missing_ok=True)
        trash = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".deleting", dir=self.folder))
        os.rename(entry.folder, trash / name)
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
    try:
        card = ModelCard.from_json((entry.folder / CARD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
        raise RegistryError(f"the card of model {entry.name!r} cannot be read ({error})") from error
    try:
        model = keras.saving.load_model(entry.model_path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many kinds of errors for damaged files.
        raise RegistryError(f"the model file of {entry.name!r} is damaged or unreadable ({error})") from error
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
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
            raise RegistryError(f"{path / CARD_FILE} is not a readable model card ({error})") from error
        return ModelEntry(path.name, path, card, bundled=path.parent == registry.bundled_folder)
    return registry.get(text)
