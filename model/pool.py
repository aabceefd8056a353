"""The worker processes that serve a jobs folder: started by the web server, watched, restarted, stopped.

``WorkerPool(queue).start()`` starts ``worker_count()`` processes (``python -m model.worker``): one on a
CPU-only machine, one per GPU where there are GPUs (each sees only its own), or ``DOODLE_TRAIN_WORKERS``.
A thread checks them twice a second: when a worker dies (a crash, ``kill -9``, out of memory), the job
it had claimed is marked failed with the reason and a new worker takes its place, so the next job runs.
``stop()`` (also run when the server's Python exits, and by ``stop_all``) ends them; a worker whose
server disappears without stopping it exits by itself (``--parent``).
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from model.jobs import JobQueue

WORKERS_VARIABLE = "DOODLE_TRAIN_WORKERS"
REPOSITORY = Path(__file__).resolve().parents[1]
_POOLS: list[WorkerPool] = []
_POOLS_LOCK = threading.Lock()


def visible_gpus() -> list[str]:
    """The GPUs this machine offers (as CUDA device ids), found without starting TensorFlow."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [item.strip() for item in visible.split(",") if item.strip() and item.strip() != "-1"]
    driver = Path("/proc/driver/nvidia/gpus")
    return [str(index) for index in range(len(list(driver.iterdir())))] if driver.is_dir() else []


def worker_count() -> int:
    """How many workers to start: DOODLE_TRAIN_WORKERS, else one per GPU, else one."""
    text = os.environ.get(WORKERS_VARIABLE, "").strip()
    if text:
        try:
            count = int(text)
        except ValueError:
            raise ValueError(f"{WORKERS_VARIABLE} must be a whole number of workers, got {text!r}") from None
        if not 0 <= count <= 64:
            raise ValueError(f"{WORKERS_VARIABLE} must be between 0 and 64, got {count}")
        return count
    return max(1, len(visible_gpus()))


def describe_exit(code: int) -> str:
    """A worker's exit status in words."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (killed: perhaps the machine ran out of memory, or someone stopped it)" if -code == 9 else ""
        return f"the training process was stopped by {name}{hint}"
    return f"the training process exited with status {code}"


class _Worker:
    def __init__(self, name: str, process: subprocess.Popen, log) -> None:
        self.name, self.process, self.log, self.started = name, process, log, time.monotonic()


class WorkerPool:
    """Worker processes serving one ``JobQueue``, supervised by a thread of the calling (web server) process."""

    def __init__(self, queue: JobQueue, workers: int | None = None, nice: int = 10, poll: float = 0.5) -> None:
        self.queue = queue
        self.size = worker_count() if workers is None else workers
        self.nice, self.poll = nice, poll
        self.gpus = visible_gpus()
        self._workers: list[_Worker | None] = [None] * self.size
        self._generation = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def pids(self) -> list[int]:
        """The process ids of the running workers."""
        return [worker.process.pid for worker in self._workers if worker is not None]

    def start(self) -> WorkerPool:
        """Mark jobs left running by dead processes as failed, start the workers and the watching thread."""
        self.queue.folder.mkdir(parents=True, exist_ok=True)
        self.queue.recover()
        with self._lock:
            for slot in range(self.size):
                self._workers[slot] = self._spawn(slot)
        self._thread = threading.Thread(target=self._watch, name="training-workers", daemon=True)
        self._thread.start()
        with _POOLS_LOCK:
            _POOLS.append(self)
        return self

    def stop(self, timeout: float = 10) -> None:
        """Stop the workers; a job one of them was training is marked failed."""
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        with self._lock:
            workers = [worker for worker in self._workers if worker is not None]
            self._workers = [None] * self.size
        for worker in workers:
            if worker.process.poll() is None:
                worker.process.terminate()
        deadline = time.monotonic() + timeout
        for worker in workers:
            try:
                worker.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
            worker.log.close()
            self.queue.fail_claimed_by(worker.name, "the server stopped while it trained; start it again")
        with _POOLS_LOCK:
            if self in _POOLS:
                _POOLS.remove(self)

    def _spawn(self, slot: int) -> _Worker:
        self._generation += 1
        name = f"{os.getpid()}-{slot}-{self._generation}"
        environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
        if self.gpus:
            environment["CUDA_VISIBLE_DEVICES"] = self.gpus[slot % len(self.gpus)]
        logs = self.queue.folder / ".logs"
        logs.mkdir(exist_ok=True)
        log = open(logs / f"worker-{slot}.log", "a", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        command = [sys.executable, "-m", "model.worker", str(self.queue.folder), "--name", name,
                   "--nice", str(self.nice), "--parent", str(os.getpid())]
        process = subprocess.Popen(command, cwd=REPOSITORY, env=environment, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT)
        return _Worker(name, process, log)

    def _watch(self) -> None:
        quick_deaths = [0] * self.size
        respawn_at = [0.0] * self.size
        while not self._stopping.wait(self.poll):
            with self._lock:
                if self._stopping.is_set():
                    return
                for slot in range(self.size):
                    worker = self._workers[slot]
                    if worker is None:
                        if time.monotonic() >= respawn_at[slot]:
                            self._workers[slot] = self._spawn(slot)
                        continue
                    code = worker.process.poll()
                    if code is None:
                        continue
                    self.queue.fail_claimed_by(worker.name, describe_exit(code))
                    worker.log.close()
                    self._workers[slot] = None
                    # A worker that dies at once again and again (say, a broken install) is restarted ever
                    # more slowly, up to once a minute, instead of in a tight loop.
                    quick = time.monotonic() - worker.started < 30
                    quick_deaths[slot] = quick_deaths[slot] + 1 if quick else 0
                    respawn_at[slot] = time.monotonic() + (min(60, 2 ** quick_deaths[slot]) if quick_deaths[slot] > 1
                                                           else 0)


def stop_all() -> None:
    """Stop every pool this process started (tests call it; so does the server's exit)."""
    with _POOLS_LOCK:
        pools = list(_POOLS)
    for pool in pools:
        pool.stop()


atexit.register(stop_all)
