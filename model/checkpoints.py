"""Checkpoints of a training run, so that the same command resumes it after a crash or a killed process.

A run's folder is named by a hash of its command line (``TrainConfig.command()``: the same settings, the
same folder) under ``DOODLE_RUNS_DIR`` (default ``~/.cache/doodle-lab/runs``). After every epoch the first
process writes ``checkpoint.npz`` there, atomically: every model and optimizer variable, the early-stopping
state, the history so far, which phase and epoch the run reached and how long it has trained. Restarted
with the same command, the trainer loads it and carries on from the next epoch; a finished run removes
its folder. Several processes of one run must see the same folder (one machine, or a shared disk).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import keras
import numpy as np

from model.config import TrainConfig

RUNS_DIR_VARIABLE = "DOODLE_RUNS_DIR"
CHECKPOINT_FILE = "checkpoint.npz"


def runs_dir() -> Path:
    """Where run folders live: DOODLE_RUNS_DIR, else the user's cache folder."""
    if os.environ.get(RUNS_DIR_VARIABLE):
        return Path(os.environ[RUNS_DIR_VARIABLE]).expanduser()
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "doodle-lab" / "runs"


def run_folder(config: TrainConfig) -> Path:
    """The folder of the run that ``config`` describes: the same command line always gives the same folder."""
    command = config.command()
    return runs_dir() / hashlib.sha256(command.encode("utf-8")).hexdigest()[:16]


class RunCheckpoint:
    """The last checkpoint of one run: ``load`` it, ``save`` a new one (first process only), ``finish`` the run."""

    def __init__(self, config: TrainConfig, writer: bool = True) -> None:
        self.folder = run_folder(config)
        self.path = self.folder / CHECKPOINT_FILE
        self.command = config.command()
        self.writer = writer

    def load(self) -> dict | None:
        """The saved state (with "variables", "optimizer" and "best_weights" lists), or None to start afresh."""
        if not self.path.is_file():
            return None
        try:
            with np.load(self.path, allow_pickle=False) as archive:
                state = json.loads(str(archive["state"]))
                for key in ("variables", "optimizer", "best_weights"):
                    state[key] = [archive[f"{key}_{index}"] for index in range(state.pop(f"{key}_count"))]
        except (OSError, ValueError, KeyError) as error:
            raise ValueError(f"the checkpoint {self.path} cannot be read ({error}); delete the folder "
                             f"{self.folder} to start this run afresh") from error
        if state.get("command") != self.command:
            return None
        return state

    def save(self, model: keras.Model, state: dict, best_weights: list | None) -> None:
        """Write the model's variables, its optimizer's and the run state, atomically (first process only)."""
        if not self.writer:
            return
        arrays = {}
        groups = {"variables": [np.asarray(variable) for variable in model.variables],
                  "optimizer": [np.asarray(variable) for variable in model.optimizer.variables],
                  "best_weights": [np.asarray(weight) for weight in best_weights or []]}
        for key, values in groups.items():
            state[f"{key}_count"] = len(values)
            arrays.update({f"{key}_{index}": value for index, value in enumerate(values)})
        state["command"] = self.command
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".checkpoint.", suffix=".part", dir=self.folder)
        try:
            with os.fdopen(handle, "wb") as output:
                np.savez(output, state=np.array(json.dumps(state)), **arrays)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def finish(self) -> None:
        """Remove the run's folder once the run has finished (first process only)."""
        if self.writer:
            shutil.rmtree(self.folder, ignore_errors=True)


def restore(model: keras.Model, state: dict, with_optimizer: bool) -> None:
    """Put a checkpoint's variables back into a freshly built (and compiled) model of the same run."""
    variables = model.variables
    if len(variables) != len(state["variables"]):
        raise ValueError("the checkpoint does not fit this model: delete its run folder to start afresh")
    for variable, value in zip(variables, state["variables"], strict=True):
        variable.assign(value)
    if with_optimizer and state["optimizer"]:
        model.optimizer.build(model.trainable_variables)
        for variable, value in zip(model.optimizer.variables, state["optimizer"], strict=True):
            variable.assign(value)


class CheckpointCallback(keras.callbacks.Callback):
    """Writes a checkpoint after every epoch of one phase and when the phase ends; restores early stopping.

    It must come after the ``EarlyStopping`` callback in the list, so that its ``on_train_begin`` runs after
    the early stopping has reset itself, and its ``on_train_end`` after the best weights are restored.
    """

    def __init__(self, checkpoint: RunCheckpoint, phase: int, early_stopping: keras.callbacks.EarlyStopping,
                 history: dict, clock, resumed: dict | None, stop_requested) -> None:
        super().__init__()
        self.checkpoint, self.phase, self.early_stopping = checkpoint, phase, early_stopping
        self.history, self.clock, self.resumed, self.stop_requested = history, clock, resumed, stop_requested
        self.epoch = 0

    def on_train_begin(self, logs=None):
        state = self.resumed
        if state is not None and state["phase"] == self.phase and not state["phase_done"]:
            stopping = self.early_stopping
            stopping.wait, stopping.best, stopping.best_epoch = state["wait"], state["best"], state["best_epoch"]
            stopping.best_weights = state["best_weights"] or None

    def on_epoch_end(self, epoch, logs=None):
        self.epoch = epoch + 1
        self._save(phase_done=False)

    def on_train_end(self, logs=None):
        if not self.stop_requested():
            self._save(phase_done=True)

    def _save(self, phase_done: bool) -> None:
        stopping = self.early_stopping
        state = {"phase": self.phase, "phase_done": phase_done, "epoch": self.epoch, "seconds": self.clock(),
                 "history": self.history, "wait": stopping.wait,
                 "best": None if stopping.best is None else float(stopping.best), "best_epoch": stopping.best_epoch}
        self.checkpoint.save(self.model, state, stopping.best_weights)
