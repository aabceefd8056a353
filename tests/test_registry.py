"""Tests of the model registry: atomic saves, the active pointer, names, and refusing bad model files."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from model.registry import Registry, RegistryError, check_name, load_model
from model.train import save_result


def test_save_list_activate_rename_delete(tiny_training, registry: Registry) -> None:
    entry = save_result(tiny_training, "fruit", registry, activate=True)
    assert (entry.folder / "model.keras").is_file() and (entry.folder / "card.json").is_file()
    assert "fruit" in registry.names() and registry.active_name() == "fruit"
    card = json.loads((entry.folder / "card.json").read_text())
    assert card["class_names"] == ["apple", "eye", "rainbow"] and card["recipe"] == "quickdraw"
    assert card["input"]["range"].startswith("0 = background, 1 = ink")
    assert card["command"].endswith("--name fruit")
    renamed = registry.rename("fruit", "fruit-2")
    assert registry.active_name() == "fruit-2" and renamed.card.name == "fruit-2"
    model, loaded_card = load_model("fruit-2", registry)
    assert loaded_card.name == "fruit-2" and model.outputs[0].shape[-1] == 3
    registry.delete("fruit-2")
    assert "fruit-2" not in registry.names()
    assert registry.active_name() != "fruit-2", "the active pointer falls back when its model is deleted"


def test_bundled_models_are_listed_read_only(registry: Registry) -> None:
    bundled = [entry for entry in registry.entries() if entry.bundled]
    assert {entry.name for entry in bundled} >= {"quickdraw18", "mnist"}
    assert registry.active_name() == "quickdraw18", "the bundled QuickDraw model is the default"
    with pytest.raises(RegistryError, match="bundled"):
        registry.delete("quickdraw18")
    with pytest.raises(RegistryError, match="bundled"):
        registry.rename("mnist", "digits")


@pytest.mark.parametrize("name", ["../escape", "a/b", "", ".hidden", "x" * 65, "no spaces", "..", "a..b"])
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(RegistryError, match="not a valid model name"):
        check_name(name)


def test_a_name_cannot_be_saved_twice(tiny_training, registry: Registry) -> None:
    save_result(tiny_training, "once", registry)
    with pytest.raises(RegistryError, match="already exists"):
        save_result(tiny_training, "once", registry)


def test_a_kill_between_writing_and_renaming_leaves_the_old_state(tiny_training, registry: Registry,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    save_result(tiny_training, "good", registry, activate=True)
    real_rename = os.rename

    def killed(source, destination):
        raise KeyboardInterrupt("simulated kill just before the rename")

    monkeypatch.setattr(os, "rename", killed)
    with pytest.raises(KeyboardInterrupt):
        save_result(tiny_training, "half", registry, activate=True)
    monkeypatch.setattr(os, "rename", real_rename)
    assert "half" not in registry.names() and registry.active_name() == "good"
    assert sorted(path.name for path in registry.folder.iterdir()) == ["active.json", "good"]
    # A kill cannot run cleanup code: leave a staging folder behind as a real kill would, and check it is ignored.
    leftover = registry.folder / ".ghost.abc.saving"
    leftover.mkdir()
    (leftover / "model.keras").write_bytes(b"half a zip")
    assert "ghost" not in registry.names()
    model, card = load_model(registry.active_name(), registry)
    assert card.name == "good"


def test_a_kill_while_switching_the_active_model_keeps_the_old_pointer(tiny_training, registry: Registry,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    save_result(tiny_training, "first", registry, activate=True)
    save_result(tiny_training, "second", registry)

    def killed(source, destination):
        raise KeyboardInterrupt("simulated kill")

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        registry.activate("second")
    monkeypatch.undo()
    assert registry.active_name() == "first"
    assert not [path for path in registry.folder.iterdir() if path.name.startswith(".active")]


def test_a_damaged_model_file_is_refused_with_a_clear_message(tiny_training, registry: Registry) -> None:
    entry = save_result(tiny_training, "broken", registry)
    data = entry.model_path.read_bytes()
    entry.model_path.write_bytes(data[: len(data) // 3])
    with pytest.raises(RegistryError, match="damaged or unreadable"):
        load_model("broken", registry)


def test_a_card_that_disagrees_with_its_model_is_refused(tiny_training, registry: Registry) -> None:
    entry = save_result(tiny_training, "mismatch", registry)
    card = json.loads((entry.folder / "card.json").read_text())
    card["class_names"].append("banana")
    (entry.folder / "card.json").write_text(json.dumps(card))
    with pytest.raises(RegistryError, match="3 outputs but its card names 4 classes"):
        load_model("mismatch", registry)


def test_unknown_model_names_list_what_exists(registry: Registry) -> None:
    with pytest.raises(RegistryError, match="no model named 'nope'.*quickdraw18"):
        load_model("nope", registry)


def test_models_folder_defaults_outside_the_repository(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from model.registry import models_dir

    monkeypatch.delenv("DOODLE_MODELS_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert models_dir() == tmp_path / "doodle-lab" / "models"


def test_a_model_trained_in_mixed_precision_is_saved_in_float32(data_root: Path, registry: Registry) -> None:
    from model.config import TrainConfig
    from model.train import train

    result = train(TrainConfig(classes=["apple", "eye"], per_class=40, architecture="doodle", epochs=1,
                               batch_size=16, data_dir=str(data_root), precision="mixed"))
    assert result.model.get_layer("block1_conv1").dtype_policy.name == "mixed_bfloat16"
    assert "mixed bfloat16" in result.card.device
    save_result(result, "mixed", registry)
    model, _ = load_model("mixed", registry)
    assert {layer.dtype_policy.name for layer in model.layers} == {"float32"}


def test_deleting_the_active_model_clears_the_pointer_for_good(tiny_training, registry: Registry) -> None:
    save_result(tiny_training, "short-lived", registry, activate=True)
    registry.delete("short-lived")
    assert registry.active_name() == "quickdraw18"
    save_result(tiny_training, "short-lived", registry)  # The same name again must not become active by itself.
    assert registry.active_name() == "quickdraw18"
    assert not [path for path in registry.folder.iterdir() if path.name.endswith(".deleting")]


def test_a_kill_after_renaming_the_folder_keeps_the_model_usable(tiny_training, registry: Registry,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    save_result(tiny_training, "before", registry, activate=True)

    def killed(*arguments, **keywords):
        raise KeyboardInterrupt("simulated kill after the folder was renamed")

    monkeypatch.setattr(Registry, "activate", killed)
    with pytest.raises(KeyboardInterrupt):
        registry.rename("before", "after")
    monkeypatch.undo()
    assert registry.names()[-1] == "after" and "before" not in registry.names()
    assert registry.active_name() == "quickdraw18", "a dangling pointer falls back to the default"
    model, card = load_model("after", registry)
    assert model.outputs[0].shape[-1] == 3


def test_leftovers_of_interrupted_saves_are_removed_once_old(registry: Registry) -> None:
    registry.folder.mkdir(parents=True, exist_ok=True)
    old, fresh = registry.folder / ".old.x1.saving", registry.folder / ".fresh.x2.saving"
    for folder in (old, fresh):
        folder.mkdir()
        (folder / "model.keras").write_bytes(b"half a zip")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert registry.remove_leftovers() == [old]
    assert not old.exists() and fresh.exists(), "a save that may still be running is left alone"


def test_a_malformed_card_beside_a_model_file_is_a_clear_error(tiny_training, registry: Registry,
                                                                tmp_path) -> None:
    folder = save_result(tiny_training, "to-copy", registry).folder
    copy = tmp_path / "copied"
    shutil.copytree(folder, copy)
    card = json.loads((copy / "card.json").read_text())
    card["class_names"] = 5
    (copy / "card.json").write_text(json.dumps(card))
    with pytest.raises(RegistryError, match="card"):
        load_model(str(copy), registry)
