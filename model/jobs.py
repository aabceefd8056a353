"""Training jobs: a queue of training runs kept in a folder on disk and served by worker processes.

A job is a ``TrainConfig`` in, progress events out, and a trained model (with its evaluation) as the
result, all as files in the job's own folder, so that a worker on another machine sharing the folder
could serve the queue as well. The web server never trains: it submits, reads and cancels.

Public API (the Train page uses it; any page can, e.g. to submit two runs and compare them)::

    from model.jobs import JobQueue
    queue = JobQueue()                      # jobs in DOODLE_JOBS_DIR, default <registry folder>/.jobs
    job = queue.submit(config, owner, label="cat, dog", purpose="train")  # -> Job, a snapshot: "queued"
    job = queue.get(job.id)                 # a fresh snapshot: state, position, progress, elapsed, error
    queue.cancel(job.id)                    # queued: never starts; running: stops after the current batch
    result = queue.result(job.id)           # once job.state == "done": JobResult(model, card, evaluation, ...)
    queue.remove(job.id)                    # forget a finished job and its files (its drawings too)
    queue.jobs(owner=None, purpose=None)    # every job (or an owner's, for one purpose), oldest first

``owner`` is any token that names a person across reloads (the pages use ``ui.owner.owner_id()``);
``purpose`` tells which page's jobs they are ("train" for the Train page), so that another page's runs
for the same person (say, the overfitting lab's two) do not show up as their Train page job.

``model.train.save_result(queue.result(job.id), name, ...)`` puts a finished model in the registry.
Something must serve the queue: ``model.pool.WorkerPool(queue).start()`` runs worker processes
(``python -m model.worker FOLDER``) at a lower CPU priority and marks the job of a worker that dies as
failed; the app starts one pool per server (``ui.cache.job_queue``).

A job's folder, ``<jobs folder>/<id>/`` (ids sort by submission time):

- ``job.json``: id, owner, label, submitted (written once); ``config.json``: the ``TrainConfig``;
  ``dataset.npz``: drawings submitted with the job (a ``source="file"`` config then names that file);
- ``claim``: created exclusively (``O_EXCL``) by the worker that takes the job, or by a cancel that comes
  first, so that exactly one of them wins; ``cancel``: present once a cancel was asked for;
- ``status.json``: state (queued, running, done, cancelled, failed), worker, times, error; replaced
  atomically, like ``progress.json`` (the latest ``Progress``); ``events.jsonl``: every progress report;
- ``result/``: the trained model as a registry model folder (``model.keras``, ``card.json``) and
  ``evaluation.npz`` (labels, probabilities and the evaluated drawings), when done.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from data_loader.files import publish
from model.config import TrainConfig
from model.registry import models_dir

JOBS_DIR_VARIABLE = "DOODLE_JOBS_DIR"
STATES = ("queued", "running", "done", "cancelled", "failed")
FINISHED = ("done", "cancelled", "failed")
RESULT_FOLDER = "result"


class JobError(ValueError):
    """A job that does not exist, or a request that does not fit its state."""


def jobs_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The jobs folder: ``override``, else DOODLE_JOBS_DIR, else ``.jobs`` inside the model registry folder."""
    if override:
        return Path(override).expanduser()
    if os.environ.get(JOBS_DIR_VARIABLE):
        return Path(os.environ[JOBS_DIR_VARIABLE]).expanduser()
    return models_dir() / ".jobs"


@dataclass
class Job:
    """A snapshot of one job, read from its folder: ask the queue again for a fresh one."""

    id: str
    owner: str
    label: str
    purpose: str
    config: TrainConfig
    folder: Path
    submitted: float
    state: str = "queued"
    worker: str = ""
    started: float | None = None
    finished: float | None = None
    error: str = ""
    cancel_requested: bool = False
    position: int | None = None  # Among the queued jobs, 0 = next to run; None once it runs or ended.
    running_now: int = 0  # How many jobs of the queue are running at the time of the snapshot.
    progress: object | None = None  # The latest model.train.Progress, while and after it runs.

    @property
    def active(self) -> bool:
        """Queued or running."""
        return self.state in ("queued", "running")

    @property
    def elapsed(self) -> float:
        """Seconds since it started running (0 while it waits)."""
        return 0.0 if self.started is None else (self.finished or time.time()) - self.started

    @property
    def waited(self) -> float:
        """Seconds it waited (or has waited so far) in the queue."""
        return (self.started or self.finished or time.time()) - self.submitted


@dataclass
class JobResult:
    """A finished job's trained model, card, evaluation and the drawings it was evaluated on.

    It has what ``model.train.save_result`` needs (``model``, ``card``, ``cancelled``), like a
    ``TrainingResult`` read back from disk.
    """

    model: object
    card: object
    evaluation: object
    evaluated_on: str
    evaluated_images: np.ndarray
    history: dict[str, list[float]] = field(default_factory=dict)
    cancelled: bool = False


class JobQueue:
    """The training jobs of one folder: submit, follow, cancel, read results, remove."""

    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        self.folder = jobs_dir(folder)

    # --- what a page does -------------------------------------------------------------------------------
    def submit(self, config: TrainConfig, owner: str, label: str = "", dataset=None, purpose: str = "train") -> Job:
        """Queue a training of ``config`` for ``owner``; ``dataset`` (a DrawingDataset) travels with the job.

        ``label`` is what a page shows for it; ``purpose`` says which page submitted it.

        The job's folder appears complete or not at all. Returns its first snapshot.
        """
        if not isinstance(config, TrainConfig):
            raise JobError(f"a job needs a TrainConfig, got {type(config).__name__}")
        if not owner or not isinstance(owner, str):
            raise JobError("a job needs an owner (a session token)")
        config.validate()
        self.folder.mkdir(parents=True, exist_ok=True)
        job_id = _new_job_id()
        staging = Path(tempfile.mkdtemp(prefix=f".{job_id}.", suffix=".submitting", dir=self.folder))
        try:
            if dataset is not None:
                dataset.save(staging / "dataset.npz")
                config = dataclasses.replace(config, source="file", dataset_file="dataset.npz")
            _write_json(staging / "config.json", config.to_dict())
            _write_json(staging / "job.json", {"id": job_id, "owner": owner, "label": label, "purpose": purpose,
                                                "submitted": time.time()})
            _write_json(staging / "status.json", {"state": "queued"})
            os.chmod(staging, 0o755)
            os.rename(staging, self.folder / job_id)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return self.get(job_id)

    def get(self, job_id: str) -> Job:
        """A fresh snapshot of one job (with its place in the queue); JobError if there is no such job."""
        job = self._read(self._folder(job_id))
        if job is None:
            raise JobError(f"training job {job_id!r} cannot be read (it may be being removed)")
        states = self._states()
        waiting = [other for other, state in states if state == "queued"]
        job.running_now = sum(state == "running" for _, state in states)
        job.position = waiting.index(job.id) if job.id in waiting else None
        return job

    def jobs(self, owner: str | None = None, purpose: str | None = None) -> list[Job]:
        """Every job (or ``owner``'s, or those of one ``purpose``), oldest first, with queue positions and the
        latest progress."""
        found = []
        for folder in sorted(self.folder.iterdir()) if self.folder.is_dir() else []:
            if folder.name.startswith(".") or not folder.is_dir() or (owner is not None and _owner(folder) != owner):
                continue
            job = self._read(folder)
            if job is not None and (purpose is None or job.purpose == purpose):
                found.append(job)
        states = self._states() if owner is not None or purpose is not None else [(job.id, job.state) for job in found]
        waiting = [job_id for job_id, state in states if state == "queued"]
        for job in found:
            job.running_now = sum(state == "running" for _, state in states)
            job.position = waiting.index(job.id) if job.id in waiting else None
        return found

    def cancel(self, job_id: str) -> Job:
        """Cancel a job: a queued one never starts, a running one stops after its current batch."""
        folder = self._folder(job_id)
        if _claim(folder, {"worker": "cancelled before it started", "pid": None, "host": socket.gethostname()}):
            self._set_status(folder, "cancelled", finished=time.time())
        else:
            (folder / "cancel").touch()
        return self.get(job_id)

    def result(self, job_id: str) -> JobResult:
        """Load a finished job's model, card and evaluation (JobError unless it is done)."""
        from model.evaluate import Evaluation
        from model.registry import load_model

        job = self.get(job_id)
        if job.state != "done":
            raise JobError(f"job {job_id!r} has no result: it is {job.state}")
        model, card = load_model(job.folder / RESULT_FOLDER)
        with np.load(job.folder / "evaluation.npz", allow_pickle=False) as archive:
            evaluation = Evaluation([str(name) for name in archive["class_names"]], archive["labels"].astype(np.int64),
                                    archive["probabilities"])
            images, evaluated_on = archive["images"], str(archive["evaluated_on"])
        return JobResult(model, card, evaluation, evaluated_on, images, dict(card.history))

    def remove(self, job_id: str) -> None:
        """Delete a job and its files; a job still queued or running is cancelled first."""
        folder = self._folder(job_id)
        job = self.get(job_id)
        if job.active:
            self.cancel(job_id)
            if self.get(job_id).active:  # Running: its worker removes nothing; the folder goes once it stops.
                (folder / "remove").touch()
                return
        trash = Path(tempfile.mkdtemp(prefix=f".{job_id}.", suffix=".removing", dir=self.folder))
        os.rename(folder, trash / job_id)
        shutil.rmtree(trash, ignore_errors=True)

    # --- what workers and the pool do -------------------------------------------------------------------
    def claim_next(self, worker: str) -> Job | None:
        """Take the oldest queued job for ``worker`` (atomically: one claimant wins); None when none waits."""
        for job_id, state in self._states():
            if state != "queued":
                continue
            job = self._read(self.folder / job_id)
            if job is None:
                continue
            if _claim(job.folder, {"worker": worker, "pid": os.getpid(), "host": socket.gethostname()}):
                if job.cancel_requested:
                    self._set_status(job.folder, "cancelled", finished=time.time(), worker=worker)
                    continue
                self._set_status(job.folder, "running", worker=worker, started=time.time())
                return self.get(job.id)
        return None

    def record_progress(self, job: Job, progress) -> None:
        """Publish a worker's progress report: the latest one in full, and a line in the event log."""
        data = _plain(dataclasses.asdict(progress))
        _write_json(job.folder / "progress.json", data)
        event = {key: value for key, value in data.items() if key != "history"}
        with open(job.folder / "events.jsonl", "a", encoding="utf-8") as log:
            log.write(json.dumps({"time": time.time(), **event}) + "\n")

    def finish(self, job: Job, state: str, error: str = "") -> None:
        """Record how a job ended (done, cancelled or failed), unless it has already ended."""
        current = self._read(job.folder)
        if current is None or current.state in FINISHED:
            return
        self._set_status(job.folder, state, finished=time.time(), error=error, worker=current.worker,
                         started=current.started)
        if (job.folder / "remove").exists():
            self.remove(job.id)

    def fail_claimed_by(self, worker: str, reason: str) -> list[str]:
        """Mark every unfinished job that ``worker`` claimed as failed with ``reason``; return their ids."""
        failed = []
        for job in self.jobs():
            if job.state not in FINISHED and _claimant(job.folder).get("worker") == worker:
                self.finish(job, "failed", reason)
                failed.append(job.id)
        return failed

    def recover(self) -> list[str]:
        """Mark as failed the unfinished jobs claimed on this machine by a process that no longer exists."""
        failed = []
        for job in self.jobs():
            claimant = _claimant(job.folder)
            pid = claimant.get("pid")
            if job.state not in FINISHED and isinstance(pid, int) and claimant.get("host") == socket.gethostname() \
                    and not _alive(pid):
                self.finish(job, "failed", "the training process stopped unexpectedly (the server was restarted "
                                           "or the process was killed); start it again")
                failed.append(job.id)
        return failed

    def prune(self, older_than: float = 24 * 3600) -> list[str]:
        """Remove jobs that ended more than ``older_than`` seconds ago, and abandoned partial submissions."""
        removed, now = [], time.time()
        for job in self.jobs():
            if job.state in FINISHED and job.finished is not None and now - job.finished > older_than:
                self.remove(job.id)
                removed.append(job.id)
        for leftover in self.folder.glob(".*") if self.folder.is_dir() else []:
            if leftover.name.endswith((".submitting", ".removing")) and now - leftover.stat().st_mtime > 600:
                shutil.rmtree(leftover, ignore_errors=True)
        return removed

    def config_for_worker(self, job: Job) -> TrainConfig:
        """The job's config with a dataset that travelled with it resolved inside the job's folder."""
        config = job.config
        if config.source == "file" and config.dataset_file and not Path(config.dataset_file).is_absolute():
            config = dataclasses.replace(config, dataset_file=str(job.folder / config.dataset_file))
        return config

    # --- files --------------------------------------------------------------------------------------------
    def _folder(self, job_id: str) -> Path:
        folder = self.folder / str(job_id)
        if str(job_id).startswith(".") or "/" in str(job_id) or not (folder / "job.json").is_file():
            raise JobError(f"no training job {job_id!r} (it may have been removed)")
        return folder

    def _states(self) -> list[tuple[str, str]]:
        """Every job's id and state, oldest first, reading only what that takes."""
        states = []
        for folder in sorted(self.folder.iterdir()) if self.folder.is_dir() else []:
            if folder.name.startswith("."):
                continue
            try:
                state = json.loads((folder / "status.json").read_text(encoding="utf-8")).get("state", "queued")
            except (OSError, ValueError, AttributeError):
                continue
            if state == "queued" and (folder / "claim").exists():
                state = "running"
            states.append((folder.name, state))
        return states

    def _read(self, folder: Path) -> Job | None:
        """A job's snapshot, or None for a folder that is not (or no longer) a complete job."""
        from model.train import Progress

        try:
            meta = json.loads((folder / "job.json").read_text(encoding="utf-8"))
            config = TrainConfig(**json.loads((folder / "config.json").read_text(encoding="utf-8")))
            status = json.loads((folder / "status.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError):
            return None
        progress = None
        try:
            data = json.loads((folder / "progress.json").read_text(encoding="utf-8"))
            names = {item.name for item in dataclasses.fields(Progress)}
            progress = Progress(**{key: value for key, value in data.items() if key in names})
        except (OSError, ValueError, TypeError):
            pass
        state = status.get("state", "queued")
        if state == "queued" and (folder / "claim").exists():
            state = "running"  # Claimed a moment ago, or by a worker that died before it said so.
        return Job(id=meta["id"], owner=meta["owner"], label=meta.get("label", ""),
                   purpose=meta.get("purpose", "train"), config=config, folder=folder,
                   submitted=float(meta["submitted"]), state=state if state in STATES else "failed",
                   worker=status.get("worker", ""), started=status.get("started"), finished=status.get("finished"),
                   error=status.get("error", ""), cancel_requested=(folder / "cancel").exists(), progress=progress)

    def _set_status(self, folder: Path, state: str, **details) -> None:
        _write_json(folder / "status.json", {"state": state, **{key: value for key, value in details.items()
                                                                 if value is not None}})


_last_stamp = 0
_stamp_lock = threading.Lock()


def _new_job_id() -> str:
    """A fresh job id whose order is the order of submission.

    The id starts with the submission time in milliseconds; two submissions from this process within the
    same millisecond (two sessions of one server, or one page submitting two runs) get successive stamps,
    so that the queue, which runs jobs in id order, stays first come, first served. The random tail keeps
    ids from two processes sharing a jobs folder apart.
    """
    global _last_stamp
    with _stamp_lock:
        _last_stamp = max(time.time_ns() // 1_000_000, _last_stamp + 1)
        stamp = _last_stamp
    return f"{stamp:014d}-{secrets.token_hex(3)}"


def _write_json(path: Path, data: dict) -> None:
    """Write a JSON file atomically (a temporary file renamed into place)."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as output:
            json.dump(data, output)
        publish(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _plain(value):
    """Numbers from numpy and tuples turned into plain JSON values."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _claim(folder: Path, claimant: dict) -> bool:
    """Create the job's claim file exclusively; True for the one caller that created it."""
    try:
        handle = os.open(folder / "claim", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(handle, "w", encoding="utf-8") as output:
        json.dump(claimant, output)
    return True


def _owner(folder: Path) -> str | None:
    try:
        return json.loads((folder / "job.json").read_text(encoding="utf-8")).get("owner")
    except (OSError, ValueError, AttributeError):
        return None


def _claimant(folder: Path) -> dict:
    try:
        data = json.loads((folder / "claim").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
