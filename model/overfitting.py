"""The overfitting lab: one small network trained twice on a small subset, without and with augmentation plus dropout.

The chapter's central experiment. A convnet trained from scratch on a few hundred drawings learns its
training set by heart: training accuracy climbs to 100% while validation accuracy stalls and validation
loss turns back up. Random rotations, shifts and zooms (augmentation) and dropout fight it: the two
curves stay together.

``lab_configs(settings)`` gives the two ``TrainConfig`` of one lab, which go through the normal training
path: ``submit_lab`` queues them on the app's job queue (``model.jobs``, served by worker processes) and
``follow_labs`` turns finished pairs into saved results; the command line calls ``model.train.train``
directly. ``combine`` makes a ``LabResult`` (both runs' per-epoch curves) from two finished trainings, and
``save_lab`` writes it atomically as one JSON file per lab in the ``.labs/`` folder of the model registry,
so that a class can open a lab run earlier at once, without training anything. ``model/bundled/.labs/``
holds a result made by this module's command line (``--folder model/bundled/.labs``).

Command line: ``python -m model.overfitting --classes cat,dog,bird,fish,apple --per-class 100 [--save]``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import math
import os
import re
import secrets
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from data_loader.files import publish
from model.config import TrainConfig
from model.registry import BUNDLED_DIR, models_dir

LABS_FOLDER = ".labs"  # Dot-named: the registry lists every other folder as a model.
BUNDLED_LABS = BUNDLED_DIR / LABS_FOLDER
FORMAT = "doodle-lab overfitting lab 1"
RUNS = ("plain", "regularised")
RUN_TITLES = {"plain": "without augmentation or dropout", "regularised": "with augmentation and dropout"}
CURVES = ("loss", "accuracy", "val_loss", "val_accuracy")
DEFAULT_CLASSES = ("cat", "dog", "bird", "fish", "apple")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class LabError(ValueError):
    """A lab result file that cannot be read, or a result that cannot be made from the runs given."""


@dataclass
class LabSettings:
    """What the teacher chooses: the categories, the subset size, the augmentation strength and the dropout.

    The network, the epochs and the split are fixed so that the two runs take about two minutes on a
    busy 2-core CPU: the ``lecture`` convnet (its wide dense layer memorises a small set quickly),
    30 epochs of batch 32, a quarter of the drawings kept aside for validation and no early stopping,
    so that the whole curves show.
    """

    classes: list[str] = field(default_factory=lambda: list(DEFAULT_CLASSES))
    per_class: int = 100
    augment_strength: float = 0.6
    dropout: float = 0.5
    epochs: int = 30
    architecture: str = "lecture"
    seed: int = 0
    data_dir: str | None = None
    validation_fraction: float = 0.25

    def __post_init__(self) -> None:
        if isinstance(self.classes, str):
            self.classes = [name.strip() for name in self.classes.split(",") if name.strip()]
        self.classes = list(self.classes)
        if not 20 <= self.per_class <= 2000:
            raise ValueError(f"drawings per class must be between 20 and 2000 for the lab, got {self.per_class}")
        if not 0 < self.augment_strength <= 1:
            raise ValueError(f"augmentation strength must be above 0 and at most 1, got {self.augment_strength}")
        if not 0 < self.dropout < 1:
            raise ValueError(f"dropout must be above 0 and below 1 for the lab, got {self.dropout}")
        lab_configs(self)  # TrainConfig checks the rest (classes, epochs, architecture) with its own messages.

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def lab_configs(settings: LabSettings) -> tuple[TrainConfig, TrainConfig]:
    """The lab's two trainings: the same network and data, plain, then with augmentation and dropout."""
    common = {"classes": list(settings.classes), "per_class": settings.per_class, "architecture": settings.architecture,
              "epochs": settings.epochs, "batch_size": 32, "seed": settings.seed, "data_dir": settings.data_dir,
              "validation_fraction": settings.validation_fraction, "test_fraction": 0.0,
              "patience": settings.epochs, "precision": "float32"}
    plain = TrainConfig(**common, augment=False, dropout=0.0)
    regularised = TrainConfig(**common, augment=True, augment_strength=settings.augment_strength,
                              dropout=settings.dropout)
    return plain, regularised


def expected_seconds(class_count: int, per_class: int, epochs: int = 30) -> float:
    """A rough time for both runs on a busy 2-core CPU, measured here: 5 classes of 100 drawings took ~105 s."""
    return 20 + 0.17 * class_count * per_class * epochs / 30


@dataclass
class LabRunCurves:
    """One run of a lab: its per-epoch curves and how it was made."""

    history: dict[str, list[float]]
    command: str = ""
    seconds: float = 0.0
    device: str = ""
    train_counts: dict[str, int] = field(default_factory=dict)
    validation_counts: dict[str, int] = field(default_factory=dict)

    def final(self, metric: str) -> float:
        """The metric's value after the last epoch."""
        return self.history[metric][-1]

    def gap(self, last: int = 3) -> float:
        """Training minus validation accuracy, averaged over the last ``last`` epochs (one epoch is noisy)."""
        train, validation = self.history["accuracy"][-last:], self.history["val_accuracy"][-last:]
        return sum(train) / len(train) - sum(validation) / len(validation)

    def best_epoch(self) -> int:
        """The epoch (from 1) with the lowest validation loss: where overfitting starts."""
        losses = self.history["val_loss"]
        return losses.index(min(losses)) + 1


@dataclass
class LabResult:
    """Both runs of one lab, with the settings that made them."""

    id: str
    created: str
    settings: dict
    runs: dict[str, LabRunCurves]

    @property
    def title(self) -> str:
        """A line for the list of saved labs: when, which classes, how many drawings, the two accuracies."""
        settings = self.settings
        accuracies = " vs ".join(f"{self.runs[name].final('val_accuracy'):.0%}" for name in RUNS)
        return (f"{self.created[:16].replace('T', ' ')} · {', '.join(settings['classes'])} · "
                f"{settings['per_class']} per class · augmentation {settings['augment_strength']:g}, "
                f"dropout {settings['dropout']:g} · validation {accuracies}")

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "id": self.id, "created": self.created, "settings": self.settings,
                           "runs": {name: dataclasses.asdict(run) for name, run in self.runs.items()}}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> LabResult:
        """Read a result written by ``to_json``; raises ``LabError`` saying what is wrong."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise LabError(f"not JSON ({error.msg} at line {error.lineno})") from error
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise LabError(f"not an overfitting lab result (no \"format\": \"{FORMAT}\")")
        try:
            runs = {name: LabRunCurves(**data["runs"][name]) for name in RUNS}
            result = cls(str(data["id"]), str(data["created"]), dict(data["settings"]), runs)
            for name, run in runs.items():
                _check_history(name, run.history)
            for key in ("classes", "per_class", "augment_strength", "dropout"):
                data["settings"][key]  # noqa: B018 - a KeyError names the missing setting
        except (KeyError, TypeError, AttributeError) as error:
            raise LabError(f"an overfitting lab result with a missing or wrong part ({error!r})") from error
        return result


def _check_history(name: str, history: dict) -> None:
    lengths = set()
    for key in CURVES:
        values = history.get(key) if isinstance(history, dict) else None
        if not isinstance(values, list) or not values or not all(
                isinstance(value, (int, float)) and math.isfinite(value) for value in values):
            raise LabError(f"the {name} run has no usable {key!r} curve")
        lengths.add(len(values))
    if len(lengths) != 1:
        raise LabError(f"the {name} run's curves have different lengths")


def combine(settings: LabSettings, plain, regularised, created: str | None = None, key: str = "") -> LabResult:
    """Make a lab result from two finished trainings (``TrainingResult`` or anything with ``card``, ``cancelled``).

    Only the per-epoch histories and how the runs were made are kept: the models themselves are not
    needed to show the lesson.
    """
    runs = {}
    for name, result in zip(RUNS, (plain, regularised), strict=True):
        if getattr(result, "cancelled", False):
            raise LabError(f"the {name} run was cancelled: a lab needs both runs to finish")
        card = result.card
        history = {key: [float(value) for value in card.history.get(key, [])] for key in CURVES}
        _check_history(name, history)
        runs[name] = LabRunCurves(history, card.command, float(card.training_seconds), card.device,
                                  dict(card.data.get("train_counts", {})), dict(card.data.get("validation_counts", {})))
    created = created or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    return LabResult(lab_id(settings, created, key), created, settings.to_dict(), runs)


def lab_id(settings: LabSettings, created: str, key: str = "") -> str:
    """A lab's file name (without .json): when, which classes, how many drawings, and the queue's lab key."""
    stamp = re.sub(r"[^0-9]", "", created)[:14]
    slug = re.sub(r"[^a-z0-9]+", "-", "-".join(settings.classes).lower()).strip("-")[:40]
    return f"{stamp}-{slug}-{settings.per_class}" + (f"-{key}" if key else "")


def labs_dir(registry_folder: str | os.PathLike[str] | None = None) -> Path:
    """Where saved lab results live: ``.labs/`` inside the model registry folder (a dot-named folder, like every
    folder there that is not a model)."""
    return models_dir(registry_folder) / LABS_FOLDER


def save_lab(result: LabResult, folder: str | os.PathLike[str] | None = None) -> Path:
    """Write a lab result to ``<folder>/<id>.json`` atomically (a temporary file renamed into place)."""
    if not _ID.match(result.id) or ".." in result.id:
        raise LabError(f"{result.id!r} is not a safe lab name")
    folder = Path(folder) if folder else labs_dir()
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{result.id}.", suffix=".part", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as output:
            output.write(result.to_json())
            output.flush()
            os.fsync(output.fileno())
        return publish(temporary, folder / f"{result.id}.json")
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_lab(path: str | os.PathLike[str]) -> LabResult:
    """Read one saved lab result; raises ``LabError`` naming the file and what is wrong with it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise LabError(f"{path.name} cannot be read ({getattr(error, 'strerror', None) or error})") from error
    try:
        return LabResult.from_json(text)
    except LabError as error:
        raise LabError(f"{path.name} is {error}") from error


@dataclass(frozen=True)
class SavedLab:
    """One file of the labs folders: its result, or the reason it cannot be opened."""

    path: Path
    result: LabResult | None
    error: str = ""
    bundled: bool = False


def saved_labs(folder: str | os.PathLike[str] | None = None, bundled: Path = BUNDLED_LABS) -> list[SavedLab]:
    """Every saved lab, newest first, then the bundled ones; damaged files are listed with their error."""
    found = []
    for root, is_bundled in ((Path(folder) if folder else labs_dir(), False), (bundled, True)):
        paths = sorted(root.glob("*.json"), reverse=True) if root.is_dir() else []
        for path in paths:
            try:
                found.append(SavedLab(path, load_lab(path), bundled=is_bundled))
            except LabError as error:
                found.append(SavedLab(path, None, str(error), is_bundled))
    return found


LAB_PURPOSE = "overfitting-lab"
_LABEL = re.compile(r"^overfitting lab ([0-9a-f]{8}), run ([12]) of 2")


@dataclass
class LabJobs:
    """The two queued trainings of one lab (``model.jobs`` snapshots, plain first) and what became of them.

    ``state``: "queued", "running", "done" (the result is saved at ``path``), "failed" or "cancelled".
    """

    key: str
    jobs: list
    state: str
    path: Path | None = None
    error: str = ""

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running")


def submit_lab(queue, settings: LabSettings, owner: str) -> LabJobs:
    """Queue the lab's two trainings on a ``model.jobs.JobQueue`` for ``owner``; returns them, plain first."""
    key = secrets.token_hex(4)
    classes = ", ".join(settings.classes)
    jobs = [queue.submit(config, owner, label=f"overfitting lab {key}, run {number} of 2: {RUN_TITLES[name]} "
                                              f"({classes}, {settings.per_class} per class)", purpose=LAB_PURPOSE)
            for number, (name, config) in enumerate(zip(RUNS, lab_configs(settings), strict=True), start=1)]
    return LabJobs(key, jobs, "queued")


def settings_from_configs(plain: TrainConfig, regularised: TrainConfig) -> LabSettings:
    """The lab settings behind its two trainings (read back from the queue)."""
    return LabSettings(classes=list(plain.classes), per_class=plain.per_class,
                       augment_strength=regularised.augment_strength, dropout=regularised.dropout,
                       epochs=plain.epochs, architecture=plain.architecture, seed=plain.seed,
                       data_dir=plain.data_dir, validation_fraction=plain.validation_fraction)


def follow_labs(queue, owner: str | None = None, folder: str | os.PathLike[str] | None = None) -> list[LabJobs]:
    """Every lab in the queue (``owner``'s, or everyone's), oldest first; finished ones are saved and removed.

    A lab whose two trainings are done becomes a saved lab result (the same file whoever sees it first:
    its name comes from the lab), and its jobs leave the queue; a lab with a failed or cancelled run is
    reported once with the reason, its other run cancelled, and its jobs removed. Any page can call
    this: no one has to keep the lab page open while it trains.
    """
    pairs: dict[str, list] = {}
    for job in queue.jobs(owner=owner, purpose=LAB_PURPOSE):
        match = _LABEL.match(job.label)
        if match:
            pairs.setdefault(match.group(1), [None, None])[int(match.group(2)) - 1] = job
    return [_follow(queue, key, jobs, folder) for key, jobs in pairs.items() if None not in jobs]


def _follow(queue, key: str, jobs: list, folder) -> LabJobs:
    states = [job.state for job in jobs]
    if any(state in ("failed", "cancelled") for state in states):
        state = "failed" if "failed" in states else "cancelled"
        error = "; ".join(f"the {name} run {job.state}" + (f": {job.error}" if job.error else "")
                          for name, job in zip(RUNS, jobs, strict=True) if job.state in ("failed", "cancelled"))
        for job in jobs:
            _forget(queue, job.id)
        return LabJobs(key, jobs, state, error=error)
    if states != ["done", "done"]:
        return LabJobs(key, jobs, "running" if "running" in states or "done" in states else "queued")
    settings = settings_from_configs(jobs[0].config, jobs[1].config)
    created = dt.datetime.fromtimestamp(jobs[0].submitted, dt.timezone.utc).isoformat(timespec="seconds")
    path = (Path(folder) if folder else labs_dir()) / f"{lab_id(settings, created, key)}.json"
    try:
        if not path.is_file():  # Another viewer may have saved it a moment ago.
            result = combine(settings, queue.result(jobs[0].id), queue.result(jobs[1].id), created, key)
            path = save_lab(result, folder)
    except (LabError, ValueError, OSError) as error:  # A full disk, or the jobs removed by a viewer who saved it.
        if not path.is_file():
            return LabJobs(key, jobs, "failed", error=str(error))
    for job in jobs:
        _forget(queue, job.id)
    return LabJobs(key, jobs, "done", path)


def _forget(queue, job_id: str) -> None:
    """Remove a job from the queue (cancelled first if it still runs); one gone already is fine."""
    with contextlib.suppress(ValueError, OSError):  # JobError is a ValueError: another viewer removed it first.
        queue.remove(job_id)


def cancel_lab(queue, lab: LabJobs) -> None:
    """Cancel both trainings of a lab: a queued one never starts, a running one stops after its batch."""
    for job in lab.jobs:
        with contextlib.suppress(ValueError, OSError):  # One that ended meanwhile needs no cancelling.
            queue.cancel(job.id)


def run_lab(settings: LabSettings, control_factory=None) -> LabResult:
    """Train both runs here, one after the other, and combine them (the command line's path)."""
    from model.train import train

    results = []
    for config in lab_configs(settings):
        results.append(train(config, control_factory() if control_factory else None))
    return combine(settings, *results)


def main(argv: list[str] | None = None) -> int:
    """Run a lab from the command line, print both runs' final figures, and save the result with ``--save``."""
    from data_loader import DataError

    parser = argparse.ArgumentParser(prog="python -m model.overfitting", description=__doc__.splitlines()[0])
    parser.add_argument("--classes", default=",".join(DEFAULT_CLASSES))
    parser.add_argument("--per-class", type=int, default=100)
    parser.add_argument("--augment-strength", type=float, default=0.6)
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir")
    parser.add_argument("--save", action="store_true", help="save the result in the registry's .labs/ folder")
    parser.add_argument("--folder", help="save into this folder instead (e.g. model/bundled/.labs)")
    arguments = parser.parse_args(argv)
    try:
        settings = LabSettings(classes=arguments.classes, per_class=arguments.per_class,
                               augment_strength=arguments.augment_strength, dropout=arguments.dropout,
                               epochs=arguments.epochs, seed=arguments.seed, data_dir=arguments.data_dir)
        result = run_lab(settings)
        for name in RUNS:
            run = result.runs[name]
            print(f"{RUN_TITLES[name]:>32}: training accuracy {run.final('accuracy'):.1%}, validation "
                  f"{run.final('val_accuracy'):.1%} (gap {run.gap():+.1%}), lowest validation loss at epoch "
                  f"{run.best_epoch()}, {run.seconds:.0f} s")
        if arguments.save or arguments.folder:
            print(f"saved {save_lab(result, arguments.folder)}")
    except (DataError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
