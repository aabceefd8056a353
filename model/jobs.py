"""Training in the background, one run at a time per server, so that a page can show progress and cancel it.

A ``TrainingSlot`` is shared by every session of a server (the app keeps one with ``st.cache_resource``).
``slot.start(config, owner)`` runs ``model.train.train`` in a thread and returns a ``TrainingJob`` whose
status, latest progress and result any page can read; ``job.cancel()`` stops it after the current batch.
A second ``start`` while a job runs raises ``TrainingBusy`` naming the owner.
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field

from model.config import TrainConfig


class TrainingBusy(RuntimeError):
    """Another training is running on this server."""


@dataclass
class TrainingJob:
    """One training run: its settings, who started it, and what it has done so far."""

    config: TrainConfig
    owner: str
    started: float = field(default_factory=time.time)
    status: str = "starting"  # starting, running, done, cancelled, failed
    progress: object | None = None
    result: object | None = None
    error: str | None = None
    finished: float | None = None

    def __post_init__(self) -> None:
        from model.train import TrainingControl

        self.control = TrainingControl(self._on_progress, batch_interval=5)

    def _on_progress(self, progress) -> None:
        self.status = "running"
        self.progress = progress

    @property
    def running(self) -> bool:
        return self.status in ("starting", "running")

    @property
    def elapsed(self) -> float:
        return (self.finished or time.time()) - self.started

    def cancel(self) -> None:
        """Ask the run to stop after the current batch; nothing is saved."""
        self.control.stop()

    def run(self) -> None:
        """Train (in the calling thread) and record the outcome; errors become a readable message."""
        from data_loader import DataError
        from model.registry import RegistryError
        from model.train import train

        try:
            self.result = train(self.config, self.control)
            self.status = "cancelled" if self.result.cancelled else "done"
        except (DataError, RegistryError, ValueError, OSError) as error:
            self.error, self.status = str(error), "failed"
        except Exception as error:  # A failed run must never take the server down; keep its story.
            self.error = f"training failed: {error.__class__.__name__}: {error}"
            self.status = "failed"
            traceback.print_exc()
        finally:
            self.finished = time.time()


class TrainingSlot:
    """The server's single training slot."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.job: TrainingJob | None = None

    def busy_with(self) -> TrainingJob | None:
        """The job that is running now, if any."""
        job = self.job
        return job if job is not None and job.running else None

    def start(self, config: TrainConfig, owner: str, background: bool = True) -> TrainingJob:
        """Start a training for ``owner``; raises ``TrainingBusy`` while another one runs."""
        with self._lock:
            current = self.busy_with()
            if current is not None:
                who = "you" if current.owner == owner else "another session"
                raise TrainingBusy(f"a training is already running (started by {who} "
                                   f"{time.time() - current.started:.0f} s ago); try again when it ends")
            job = TrainingJob(config, owner)
            self.job = job
        if background:
            threading.Thread(target=job.run, name=f"training-{owner}", daemon=True).start()
        else:
            job.run()
        return job
