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


# Hardening (issue 8): names, card types, damaged folders, checks before training, leftovers, messages.

def _edit_card(folder: Path, **changes) -> None:
    card = json.loads((folder / "card.json").read_text())
    card.update(changes)
    (folder / "card.json").write_text(json.dumps(card))


@pytest.mark.parametrize("name", ["active.json", "card.json", "model.keras", "bad\n", "tab\there", "x.npz",
                                  "cache.onnx", "weird.JSON", "exports"])
def test_reserved_names_and_control_characters_are_refused_with_the_rule(name: str) -> None:
    with pytest.raises(RegistryError, match=r"not a valid model name: use 1 to 64 .*active\.json"):
        check_name(name)


def test_a_model_named_active_json_cannot_break_activation(tiny_training, registry: Registry) -> None:
    with pytest.raises(RegistryError, match="not a valid model name"):
        save_result(tiny_training, "active.json", registry)
    save_result(tiny_training, "good1", registry, activate=True)
    assert registry.active_name() == "good1" and (registry.folder / "active.json").is_file()


def test_a_folder_left_in_the_pointers_place_is_reported_and_can_be_deleted(tiny_training, registry: Registry) -> None:
    folder = save_result(tiny_training, "model-a", registry).folder
    shutil.copytree(folder, registry.folder / "active.json")  # What an older version saved for `--name active.json`.
    assert "active.json" not in registry.names()
    assert [(item.name, "not a valid model name" in item.problem) for item in registry.damaged()] == [
        ("active.json", True)]
    with pytest.raises(RegistryError, match="active.json is not a file"):
        registry.check_writable()
    with pytest.raises(RegistryError, match="active.json is not a file"):
        registry.activate("model-a")
    registry.delete("active.json")
    registry.check_writable()
    registry.activate("model-a")
    assert registry.active_name() == "model-a" and registry.damaged() == []


@pytest.mark.parametrize(("changes", "field"), [
    ({"metrics": "oops"}, "metrics"), ({"data": [1]}, "data"), ({"class_names": "abc"}, "class_names"),
    ({"class_names": ["apple", "apple", "rainbow"]}, "class_names repeat 'apple'"),
    ({"class_names": ["apple", "", "rainbow"]}, "class_names"), ({"history": {"loss": "low"}}, "history"),
    ({"parameters": "many"}, "parameters"), ({"metrics": {"test_top1": "97%"}}, "metrics.test_top1"),
    ({"name": 5}, "name"), ({"saved_by": ["x"]}, "saved_by"), ({"data": {"per_class": "lots"}}, "data.per_class"),
])
def test_a_card_with_wrong_types_is_a_damaged_model(tiny_training, registry: Registry, changes: dict,
                                                    field: str) -> None:
    entry = save_result(tiny_training, "typed", registry, activate=True)
    _edit_card(entry.folder, **changes)
    assert "typed" not in registry.names(), "an invalid card is never used"
    assert registry.active_name() == "quickdraw18", "a pointer to it falls back to the default"
    [broken] = registry.damaged()
    assert broken.name == "typed" and "card.json is not a valid model card" in broken.problem
    assert field in broken.problem
    with pytest.raises(RegistryError, match=r"'typed' cannot be used: .*card\.json is not a valid model card"):
        load_model("typed", registry)
    registry.delete("typed")
    assert not (registry.folder / "typed").exists() and registry.damaged() == []


def test_a_malformed_card_json_names_the_file_not_a_missing_model(tiny_training, registry: Registry) -> None:
    entry = save_result(tiny_training, "malformed", registry)
    (entry.folder / "card.json").write_text('{"name": "malformed", "class_names": [')
    with pytest.raises(RegistryError) as raised:
        registry.get("malformed")
    assert "no model named" not in str(raised.value)
    assert f"{entry.folder / 'card.json'} is not a valid model card" in str(raised.value)


@pytest.mark.parametrize("damage", ["truncate", "flip", "config"])
def test_a_corrupted_model_file_is_damaged_naming_the_file(tiny_training, registry: Registry, damage: str) -> None:
    import zipfile

    entry = save_result(tiny_training, "corrupt", registry)
    data = bytearray(entry.model_path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":  # Flip bytes in the middle of the weights: the archive's directory is intact, not its sums.
        middle = len(data) // 2
        data[middle : middle + 64] = bytes(255 - value for value in data[middle : middle + 64])
    else:  # A sound archive whose model description is not JSON.
        with zipfile.ZipFile(entry.model_path) as original, zipfile.ZipFile(entry.folder / "new.zip", "w") as copy:
            for name in original.namelist():
                copy.writestr(name, b"{garbage" if name == "config.json" else original.read(name))
        data = bytearray((entry.folder / "new.zip").read_bytes())
        (entry.folder / "new.zip").unlink()
    entry.model_path.write_bytes(bytes(data))
    assert "corrupt" not in registry.names()
    [broken] = registry.damaged()
    assert str(entry.model_path) in broken.problem and "damaged or unreadable" in broken.problem
    with pytest.raises(RegistryError) as raised:
        load_model("corrupt", registry)
    assert "File not found" not in str(raised.value) and str(entry.model_path) in str(raised.value)


def test_new_names_are_checked_before_training(tiny_training, registry: Registry) -> None:
    save_result(tiny_training, "taken", registry)
    (registry.folder / "half").mkdir()  # A damaged folder: no card, no model file.
    (registry.folder / "exports" / "fruit-1a2b" / "onnx").mkdir(parents=True)  # model.export's cache: not a model.
    assert registry.check_new_name("fresh") == "fresh"
    with pytest.raises(RegistryError, match="already exists"):
        registry.check_new_name("taken")
    with pytest.raises(RegistryError, match=r"damaged model folder named 'half' .*card\.json is missing"):
        registry.check_new_name("half")
    with pytest.raises(RegistryError, match="damaged model folder"):
        save_result(tiny_training, "half", registry)
    for reserved in ("active.json", "exports"):
        with pytest.raises(RegistryError, match="not a valid model name"):
            registry.check_new_name(reserved)
    assert [item.name for item in registry.damaged()] == ["half"] and "exports" not in registry.names()
    registry.delete("half")
    assert registry.check_new_name("half") == "half"


def test_an_unwritable_registry_is_reported_before_training(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(RegistryError, match="cannot be written .*DOODLE_MODELS_DIR"):
        Registry(blocker / "models").check_writable()
    writable = Registry(tmp_path / "models")
    writable.check_writable()
    assert list(writable.folder.iterdir()) == [], "the check leaves nothing behind"


def test_opening_the_registry_cleans_old_leftovers_and_repairs_a_killed_rename(tiny_training,
                                                                              registry: Registry) -> None:
    from model.predict import Predictor

    entry = save_result(tiny_training, "before", registry)
    os.rename(entry.folder, registry.folder / "after")  # A rename killed before the card was rewritten...
    folder = registry.folder / "after"
    old_temporary, fresh_temporary = folder / ".card.json.k1ll3d", folder / ".card.json.n0w"
    old_temporary.write_text("{")  # ... and one killed while rewriting it.
    fresh_temporary.write_text("{")
    old_staging = registry.folder / ".other.x1.saving"
    old_staging.mkdir()
    ten_minutes_ago = time.time() - 600
    for path in (old_temporary, old_staging):
        os.utime(path, (ten_minutes_ago, ten_minutes_ago))
    assert registry.get("after").card.name == "after", "the folder's name counts even before the repair"
    Registry(registry.folder)  # Opening the registry tidies it.
    assert not old_temporary.exists() and not old_staging.exists()
    assert fresh_temporary.exists(), "a temporary of a rename that may still be running is left alone"
    assert json.loads((folder / "card.json").read_text())["name"] == "after"
    predictor = Predictor.load("after", registry)  # What the Inside page's filter patterns load by the card's name.
    assert predictor.card.name == "after"


def test_save_result_records_who_saved_the_model(tiny_training, registry: Registry) -> None:
    entry = save_result(tiny_training, "owned", registry, saved_by="  Ada   Lovelace ", owner="session-1")
    assert (entry.card.saved_by, entry.card.owner) == ("Ada Lovelace", "session-1")
    assert registry.get("owned").card.saved_by == "Ada Lovelace"
    with pytest.raises(ValueError, match="saver's name"):
        save_result(tiny_training, "owned-2", registry, saved_by="x\x00y")
    assert "owned-2" not in registry.names()


@pytest.mark.parametrize(("name", "problem"), [("active.json", "not a valid model name"),
                                               ("bad\n", "not a valid model name"),
                                               ("", "not a valid model name"),
                                               ("half", "damaged model folder")])
def test_the_training_command_refuses_a_bad_name_before_training(registry: Registry, data_root: Path,
                                                                 capsys: pytest.CaptureFixture, name: str,
                                                                 problem: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import warnings

    from model.train import main

    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # main() replaces it; put it back after.
    (registry.folder / "half").mkdir(parents=True)
    code = main(["--classes", "apple,eye,rainbow", "--per-class", "50", "--epochs", "1", "--arch", "book",
                 "--data-dir", str(data_root), "--name", name])
    output = capsys.readouterr()
    assert code == 1 and problem in output.err
    assert "epoch" not in output.err and "trained on" not in output.out, "refused before any training"
    assert sorted(path.name for path in registry.folder.iterdir()) == ["half"]


def test_the_training_command_refuses_an_unwritable_registry_before_training(data_root: Path, tmp_path: Path,
                                                                            capsys: pytest.CaptureFixture,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import warnings

    from model.train import main

    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("DOODLE_MODELS_DIR", str(tmp_path / "a-file" / "models"))
    code = main(["--classes", "apple,eye", "--per-class", "50", "--epochs", "1", "--arch", "book",
                 "--data-dir", str(data_root), "--name", "fine"])
    output = capsys.readouterr()
    assert code == 1 and "cannot be written" in output.err and "epoch" not in output.err


def test_a_save_whose_activation_fails_says_it_was_saved(tiny_training, registry: Registry) -> None:
    registry.folder.mkdir(parents=True)
    (registry.folder / "active.json").mkdir()  # Something in the pointer's place, as an older version could leave.
    with pytest.raises(RegistryError, match="saved as 'kept', but it could not be made the default"):
        save_result(tiny_training, "kept", registry, activate=True)
    assert "kept" in registry.names()
