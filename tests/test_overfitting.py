"""The overfitting lab: its two configs, saving and loading lab results, and the gap on a small real run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from model.overfitting import (
    LabError,
    LabResult,
    LabRunCurves,
    LabSettings,
    combine,
    lab_configs,
    load_lab,
    run_lab,
    save_lab,
    saved_labs,
)


def curves(train: list[float], validation: list[float]) -> LabRunCurves:
    return LabRunCurves({"accuracy": train, "val_accuracy": validation, "loss": [1 - v for v in train],
                         "val_loss": [1 - v for v in validation]}, "python -m model.train ...", 12.0, "CPU")


def a_result(identifier: str = "20261201070000-cat-dog-100") -> LabResult:
    settings = LabSettings(classes=["cat", "dog"]).to_dict()
    runs = {"plain": curves([0.5, 0.9, 1.0], [0.5, 0.6, 0.6]), "regularised": curves([0.4, 0.6, 0.7], [0.5, 0.65, 0.7])}
    return LabResult(identifier, "2026-12-01T07:00:00+00:00", settings, runs)


def test_the_two_configs_differ_only_in_augmentation_and_dropout() -> None:
    plain, regularised = lab_configs(LabSettings(classes=["cat", "dog", "fish"], per_class=80, augment_strength=0.4,
                                                 dropout=0.3))
    assert (plain.augment, plain.dropout) == (False, 0.0)
    assert (regularised.augment, regularised.augment_strength, regularised.dropout) == (True, 0.4, 0.3)
    differing = ("augment", "augment_strength", "dropout")
    same = {key: value for key, value in plain.to_dict().items() if key not in differing}
    assert same == {key: value for key, value in regularised.to_dict().items() if key in same}
    assert plain.patience == plain.epochs, "no early stopping: the whole curves show"


@pytest.mark.parametrize(("change", "message"), [({"per_class": 5}, "between 20 and 2000"),
                                                  ({"dropout": 0.0}, "dropout"),
                                                  ({"augment_strength": 1.5}, "augmentation strength"),
                                                  ({"classes": ["cat"]}, "at least two classes")])
def test_settings_that_make_no_sense_are_refused_with_a_message(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LabSettings(**{"classes": ["cat", "dog"], **change})


def test_a_lab_result_saves_atomically_and_loads_back(tmp_path: Path) -> None:
    result = a_result()
    path = save_lab(result, tmp_path / "labs")
    assert path == tmp_path / "labs" / f"{result.id}.json"
    assert [item.name for item in path.parent.iterdir()] == [path.name], "no temporary file is left behind"
    loaded = load_lab(path)
    assert loaded == result
    assert loaded.runs["plain"].gap() > loaded.runs["regularised"].gap()
    assert "cat, dog" in loaded.title and "60% vs 70%" in loaded.title


def test_a_write_that_fails_leaves_no_file_and_the_old_result(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "labs"
    path = save_lab(a_result(), folder)
    before = path.read_text()
    changed = a_result()
    changed.runs["plain"].history["accuracy"][-1] = 0.123

    def disk_full(descriptor: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        save_lab(changed, folder)
    assert path.read_text() == before
    assert [item.name for item in folder.iterdir()] == [path.name]


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "is not JSON"),
    (json.dumps({"some": "thing"}), "not an overfitting lab result"),
    (json.dumps({**json.loads(a_result().to_json()), "runs": {"plain": {}}}), "missing or wrong part"),
])
def test_a_bad_file_gives_a_clear_message(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(content)
    with pytest.raises(LabError, match=message) as caught:
        load_lab(path)
    assert str(caught.value).startswith("broken.json ")


def test_a_result_with_a_broken_curve_is_refused(tmp_path: Path) -> None:
    data = json.loads(a_result().to_json())
    data["runs"]["regularised"]["history"]["val_loss"] = [0.5, "NaN", 0.2]
    path = tmp_path / "curve.json"
    path.write_text(json.dumps(data))
    with pytest.raises(LabError, match="regularised run has no usable 'val_loss' curve"):
        load_lab(path)


def test_saved_labs_lists_newest_first_and_damaged_files_with_their_error(tmp_path: Path) -> None:
    folder = tmp_path / "labs"
    save_lab(a_result("20261201070000-a-100"), folder)
    save_lab(a_result("20261201080000-b-100"), folder)
    (folder / "20261201090000-c.json").write_text("half a fi")
    labs = saved_labs(folder, bundled=tmp_path / "none")
    assert [lab.path.name for lab in labs] == ["20261201090000-c.json", "20261201080000-b-100.json",
                                               "20261201070000-a-100.json"]
    assert labs[0].result is None and "is not JSON" in labs[0].error
    assert all(lab.result is not None for lab in labs[1:])


def test_combine_refuses_a_cancelled_run(tiny_training) -> None:
    settings = LabSettings(classes=["apple", "eye", "rainbow"])

    class Cancelled:
        cancelled, card = True, tiny_training.card

    with pytest.raises(LabError, match="regularised run was cancelled"):
        combine(settings, tiny_training, Cancelled())
    result = combine(settings, tiny_training, tiny_training)
    assert result.runs["plain"].history["val_accuracy"] == tiny_training.history["val_accuracy"]


@pytest.mark.slow
def test_without_augmentation_and_dropout_the_gap_is_wider_on_real_data(data_root: Path) -> None:
    settings = LabSettings(classes=["cat", "dog", "bird"], per_class=80, epochs=15, data_dir=str(data_root), seed=0)
    result = run_lab(settings)
    plain, regularised = result.runs["plain"], result.runs["regularised"]
    assert len(plain.history["accuracy"]) == len(regularised.history["accuracy"]) == 15
    assert plain.final("accuracy") > 0.9, "the plain network learns its training drawings by heart"
    assert plain.gap() > 0.15, plain.history
    assert plain.gap() > regularised.gap() + 0.1, (plain.gap(), regularised.gap())
    assert plain.best_epoch() < 15, "the plain run's validation loss turns back up before the end"


def test_a_lab_goes_through_the_job_queue_and_a_cancelled_one_is_reported_and_cleared(tmp_path: Path) -> None:
    from model.jobs import JobQueue
    from model.overfitting import LAB_PURPOSE, cancel_lab, follow_labs, submit_lab

    queue = JobQueue(tmp_path / "jobs")
    settings = LabSettings(classes=["apple", "eye"], per_class=40, augment_strength=0.3, dropout=0.2)
    lab = submit_lab(queue, settings, owner="teacher")
    other = queue.submit(lab_configs(settings)[0], owner="teacher", label="apple, eye")  # A Train page job.
    assert [job.config for job in lab.jobs] == list(lab_configs(settings))
    [followed] = follow_labs(queue, owner="teacher", folder=tmp_path / "labs")
    assert followed.key == lab.key and followed.state == "queued" and followed.active
    assert follow_labs(queue, owner="someone else") == []
    cancel_lab(queue, followed)
    [ended] = follow_labs(queue, folder=tmp_path / "labs")
    assert ended.state == "cancelled" and ended.error == "the plain run cancelled; the regularised run cancelled"
    assert queue.jobs(purpose=LAB_PURPOSE) == [] and [job.id for job in queue.jobs()] == [other.id]
    assert follow_labs(queue) == [] and not (tmp_path / "labs").exists()


def test_saved_labs_live_beside_the_models_without_being_taken_for_one(registry) -> None:
    path = save_lab(a_result())
    assert path.parent == registry.folder / ".labs"
    assert registry.damaged() == [] and registry.names() == ["mnist", "quickdraw18"]
    labs = saved_labs()
    assert labs[0].path == path and not labs[0].bundled
    assert [lab.path.name for lab in labs if lab.bundled] == ["20261201065459-cat-dog-bird-fish-apple-100.json"]
    assert all(lab.result is not None for lab in labs), "the bundled lab opens"
