"""A training worker: a process that takes queued jobs from a jobs folder and trains them, one at a time.

``python -m model.worker FOLDER [--name NAME] [--nice 10] [--parent PID] [--once]`` serves the queue in
FOLDER (see ``model.jobs``) until it is stopped, at a lower CPU priority (``os.nice``) than the web
server so that live guesses keep their speed. With ``--parent`` it exits when that process is gone, so
that no worker outlives the server that started it. ``model.pool.WorkerPool`` starts and watches them.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

import numpy as np

from model.jobs import RESULT_FOLDER, Job, JobQueue


def run_job(queue: JobQueue, job: Job) -> str:
    """Train one claimed job, publishing progress; record and return how it ended."""
    import keras

    from data_loader import DataError
    from model.registry import Registry, RegistryError
    from model.train import TrainingControl, train

    control = TrainingControl(lambda progress: queue.record_progress(job, progress), batch_interval=5)
    stopped = threading.Event()

    def watch_for_cancel() -> None:
        while not stopped.wait(0.3):
            if (job.folder / "cancel").exists():
                control.stop()
                return

    threading.Thread(target=watch_for_cancel, name="cancel-watch", daemon=True).start()
    state, error = "failed", ""
    try:
        result = train(queue.config_for_worker(job), control)
        if result.cancelled:
            state = "cancelled"
        else:
            save_result_files(job.folder, result, Registry)
            state = "done"
    except (DataError, RegistryError, ValueError, OSError) as problem:
        error = str(problem)
    except Exception as problem:  # A failed run must never stop the worker; keep its story.
        error = f"training failed: {problem.__class__.__name__}: {problem}"
        traceback.print_exc()
    finally:
        stopped.set()
        keras.backend.clear_session()
    queue.finish(job, state, error)
    return state


def save_result_files(folder: Path, result, registry_class) -> None:
    """Write the trained model (as a registry model folder) and its evaluation into the job's folder."""
    import dataclasses

    card = dataclasses.replace(result.card, name=RESULT_FOLDER)
    registry_class(folder, bundled=folder / "no-bundled-models").save(result.model, card)
    evaluation = result.evaluation
    path = folder / "evaluation.npz"
    temporary = folder / ".evaluation.npz.writing.npz"
    np.savez_compressed(temporary, labels=evaluation.labels, probabilities=evaluation.probabilities,
                        class_names=np.array(evaluation.class_names), images=result.evaluated_split.x,
                        evaluated_on=np.array(result.evaluated_on))
    os.replace(temporary, path)


def exit_with_parent(parent: int) -> None:
    """Exit as soon as the process ``parent`` is gone (checked every second, in a thread)."""
    def watch_parent() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)  # The server is gone: so is its worker (an unfinished job is marked failed later).

    if not any(thread.name == "parent-watch" for thread in threading.enumerate()):
        threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()


def serve(queue: JobQueue, name: str, poll: float = 0.5, once: bool = False, parent: int | None = None) -> int:
    """Take and train queued jobs until stopped (or, with ``once``, until the queue is empty)."""
    if parent is not None:
        exit_with_parent(parent)
    pruned = 0.0
    while True:
        if time.monotonic() - pruned > 600:
            queue.prune()
            pruned = time.monotonic()
        job = queue.claim_next(name)
        if job is None:
            if once:
                return 0
            time.sleep(poll)
            continue
        print(f"worker {name}: job {job.id} ({job.owner[:8]}) started", file=sys.stderr, flush=True)
        state = run_job(queue, job)
        print(f"worker {name}: job {job.id} {state}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.worker", description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="the jobs folder to serve")
    parser.add_argument("--name", default=f"worker-{os.getpid()}", help="this worker's name in the job claims")
    parser.add_argument("--nice", type=int, default=10, help="lower the CPU priority by this much (0 = as is)")
    parser.add_argument("--parent", type=int, help="exit when the process with this id is gone")
    parser.add_argument("--once", action="store_true", help="stop when no job waits")
    arguments = parser.parse_args(argv)
    if arguments.nice:
        os.nice(arguments.nice)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if arguments.parent is not None:
        exit_with_parent(arguments.parent)  # Before the slow TensorFlow import: no orphan even while it loads.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import model.train  # noqa: F401 - import TensorFlow now, so that the first job starts sooner

    try:
        return serve(JobQueue(arguments.folder), arguments.name, once=arguments.once, parent=arguments.parent)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
