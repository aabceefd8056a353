"""Process tests of the training queue: real worker processes training tiny real models from the data folder."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from model.config import TrainConfig
from model.jobs import JobError, JobQueue
from model.pool import WorkerPool, describe_exit, worker_count

pytestmark = pytest.mark.slow


def tiny(data_root: Path, epochs: int = 1, per_class: int = 60, **changes) -> TrainConfig:
    settings = dict(classes=["apple", "eye", "rainbow"], per_class=per_class, architecture="book", epochs=epochs,
                    batch_size=16, data_dir=str(data_root), precision="float32", patience=epochs)
    return TrainConfig(**{**settings, **changes})


def wait_for(queue: JobQueue, job_id: str, condition, timeout: float = 180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = queue.get(job_id)
        if condition(job):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {queue.get(job_id).state} after {timeout} s")


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    """One worker serving a fresh jobs folder for the whole module (a worker takes seconds to import TensorFlow)."""
    queue = JobQueue(tmp_path_factory.mktemp("jobs"))
    pool = WorkerPool(queue, workers=1).start()
    yield pool
    pool.stop()
    assert all(not _alive(pid) for pid in pool.pids), "no worker outlives its pool"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_two_queued_jobs_run_one_after_the_other(pool, data_root: Path) -> None:
    queue = pool.queue
    first = queue.submit(tiny(data_root), owner="ann")
    second = queue.submit(tiny(data_root, seed=3), owner="bob")
    assert queue.get(second.id).position in (0, 1) and queue.jobs(owner="bob")[0].id == second.id
    assert queue.jobs(owner="bob", purpose="overfitting") == []
    first = wait_for(queue, first.id, lambda job: not job.active)
    second = wait_for(queue, second.id, lambda job: not job.active)
    assert (first.state, second.state) == ("done", "done"), (first.error, second.error)
    assert second.started >= first.finished, "one worker trains one job at a time, in order"
    assert first.progress is not None and first.progress.epoch == 1
    assert (first.folder / "events.jsonl").read_text().count("\n") >= 1

    result = queue.result(first.id)
    assert result.card.class_names == ["apple", "eye", "rainbow"]
    assert result.evaluation.labels.shape == (len(result.evaluated_images),)
    assert result.model.predict(result.evaluated_images[:2, ..., None] / 255.0, verbose=0).shape == (2, 3)


def test_a_finished_job_saves_into_the_registry_and_is_removed_with_its_files(pool, data_root: Path,
                                                                              registry) -> None:
    from model.train import save_result

    queue = pool.queue
    job = wait_for(queue, queue.submit(tiny(data_root), owner="ann").id, lambda job: not job.active)
    entry = save_result(queue.result(job.id), "from-a-job", registry)
    assert entry.card.name == "from-a-job"
    assert registry.get("from-a-job").card.class_names == ["apple", "eye", "rainbow"]
    queue.remove(job.id)
    assert not job.folder.exists()
    with pytest.raises(JobError, match="no training job"):
        queue.get(job.id)


def test_cancelling_a_queued_and_a_running_job(pool, data_root: Path) -> None:
    queue = pool.queue
    running = queue.submit(tiny(data_root, epochs=60, per_class=150), owner="ann")
    waiting = queue.submit(tiny(data_root), owner="bob")
    wait_for(queue, running.id, lambda job: job.progress is not None)
    assert queue.cancel(waiting.id).state == "cancelled", "a queued job is cancelled at once"
    queue.cancel(running.id)
    running = wait_for(queue, running.id, lambda job: not job.active, timeout=60)
    assert running.state == "cancelled" and running.progress.epoch < 60
    assert not (running.folder / "result").exists() and queue.get(waiting.id).started is None
    with pytest.raises(JobError, match="cancelled"):
        queue.result(running.id)


def test_a_killed_worker_fails_its_job_and_the_next_job_runs(pool, data_root: Path) -> None:
    queue = pool.queue
    doomed = queue.submit(tiny(data_root, epochs=60, per_class=150), owner="ann")
    after = queue.submit(tiny(data_root), owner="bob")
    wait_for(queue, doomed.id, lambda job: job.progress is not None)
    (victim,) = pool.pids
    os.kill(victim, signal.SIGKILL)
    doomed = wait_for(queue, doomed.id, lambda job: not job.active, timeout=30)
    assert doomed.state == "failed" and "SIGKILL" in doomed.error
    after = wait_for(queue, after.id, lambda job: not job.active)
    assert after.state == "done", after.error
    assert pool.pids and pool.pids[0] != victim, "a new worker took the dead one's place"
    assert pool._thread.is_alive(), "the pool's thread in this process (the web server's) goes on watching"


def test_a_job_with_bad_data_fails_with_its_reason(pool, data_root: Path) -> None:
    queue = pool.queue
    job = queue.submit(tiny(data_root, classes=["apple", "no such category"]), owner="ann")
    job = wait_for(queue, job.id, lambda job: not job.active)
    assert job.state == "failed" and "no such category" in job.error


def test_queue_rules_without_workers(tmp_path: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    queue = JobQueue(tmp_path / "jobs")
    with pytest.raises(JobError, match="owner"):
        queue.submit(tiny(data_root), owner="")
    job = queue.submit(tiny(data_root), owner="ann")
    assert queue.claim_next("w1").id == job.id and queue.claim_next("w2") is None, "one claimant wins"
    assert queue.cancel(job.id).cancel_requested
    assert queue.fail_claimed_by("w1", describe_exit(-9)) == [job.id]
    assert "SIGKILL" in queue.get(job.id).error
    monkeypatch.setenv("DOODLE_TRAIN_WORKERS", "3")
    assert worker_count() == 3
    monkeypatch.setenv("DOODLE_TRAIN_WORKERS", "many")
    with pytest.raises(ValueError, match="whole number"):
        worker_count()


def test_jobs_submitted_within_one_millisecond_keep_their_order(tmp_path: Path, data_root: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    queue = JobQueue(tmp_path / "jobs")
    frozen = time.time_ns()
    monkeypatch.setattr(time, "time_ns", lambda: frozen)  # every submission in the same millisecond
    submitted = [queue.submit(tiny(data_root), owner=f"student-{number}").id for number in range(8)]
    monkeypatch.undo()
    assert [job.id for job in queue.jobs()] == submitted, "the queue is first come, first served"
    assert [queue.get(job_id).position for job_id in submitted] == list(range(8))
    assert queue.claim_next("w1").id == submitted[0]


def test_a_worker_exits_when_the_server_that_started_it_is_gone(tmp_path: Path) -> None:
    import subprocess
    import sys

    repository = Path(__file__).resolve().parents[1]
    server = ("import os, subprocess, sys\n"
              "worker = subprocess.Popen([sys.executable, '-m', 'model.worker', sys.argv[1],\n"
              "                           '--parent', str(os.getpid())])\n"
              "print(worker.pid, flush=True)\n")  # ... and the "server" ends at once, without stopping its worker.
    finished = subprocess.run([sys.executable, "-c", server, str(tmp_path / "jobs")], cwd=repository,
                              capture_output=True, text=True, timeout=60)
    worker = int(finished.stdout.strip())
    deadline = time.monotonic() + 30
    while _running(worker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _running(worker), "an orphaned worker exits by itself"


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
