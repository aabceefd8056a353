"""Scale benchmark: peak memory of a streamed epoch on 1x and 10x the drawings (against the in-memory path on
the same files), samples per second in 1 and 2 processes (Keras on JAX), and the time to resume a killed run.

The memory figures come from one subprocess per case (its peak resident set size, ``ru_maxrss``), training
one epoch of ``book`` on synthetic category files in the real layout (real bitmaps repeated) in a temporary
data folder. The process figures time ``python -m model.train --processes N`` on real drawings; on a machine
with 2 cores, 2 processes cannot be faster: the figure shows the mechanism works and what it costs.
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.timing import machine

CATEGORIES = ["apple", "eye", "rainbow", "fish"]
REPOSITORY = Path(__file__).resolve().parents[1]


def _write_synthetic(root: Path, source: Path, per_class: int) -> None:
    """Category files of ``per_class`` drawings each, in the real layout, from the real drawings repeated."""
    from data_loader.quickdraw import open_bitmaps

    folder = root / "quickdraw" / "numpy_bitmap"
    folder.mkdir(parents=True, exist_ok=True)
    for name in CATEGORIES:
        real = open_bitmaps(source / "quickdraw" / "numpy_bitmap" / f"{name}.npy")
        output = np.lib.format.open_memmap(folder / f"{name}.npy", mode="w+", dtype=np.uint8, shape=(per_class, 784))
        for start in range(0, per_class, len(real)):
            stop = min(per_class, start + len(real))
            output[start:stop] = real[: stop - start]
        output.flush()
        del output


def _measure(data_dir: str, streaming: bool, per_class: int) -> dict:
    """Train one epoch in this process and return its figures with the peak RSS (run in a subprocess)."""
    from model.config import TrainConfig
    from model.train import train

    config = TrainConfig(classes=CATEGORIES, per_class=per_class, architecture="book", epochs=1, batch_size=256,
                         data_dir=data_dir, streaming=streaming, precision="float32", recipe="standard")
    started = time.perf_counter()
    result = train(config)
    seconds = time.perf_counter() - started
    drawings = sum(result.card.data["train_counts"].values())
    return {"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "train_drawings": drawings, "seconds": round(seconds, 1),
            "top1": round(result.evaluation.top1, 4)}


def _memory_case(data_dir: Path, streaming: bool, per_class: int) -> dict:
    command = [sys.executable, "-m", "bench.scale", "--measure", str(data_dir), str(int(streaming)), str(per_class)]
    finished = subprocess.run(command, cwd=REPOSITORY, capture_output=True, text=True, check=False,
                              env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    if finished.returncode != 0:
        raise RuntimeError(f"memory case failed: {finished.stderr[-2000:]}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def _train_command(processes: int, name: str, per_class: int, epochs: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "model.train", "--classes", ",".join(CATEGORIES), "--per-class", str(per_class),
            "--arch", "book", "--epochs", str(epochs), "--batch-size", "128", "--precision", "float32",
            "--recipe", "standard", "--processes", str(processes), "--name", name, *extra]


def _throughput(processes: int, environment: dict, per_class: int, epochs: int) -> dict:
    """Samples per second of a run in ``processes`` processes, from its card (training time, not start-up)."""
    name = f"scale-{processes}"
    started = time.perf_counter()
    finished = subprocess.run(_train_command(processes, name, per_class, epochs), cwd=REPOSITORY, env=environment,
                              capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if finished.returncode != 0:
        raise RuntimeError(f"{processes}-process run failed: {finished.stderr[-2000:]}")
    card = json.loads((Path(environment["DOODLE_MODELS_DIR"]) / name / "card.json").read_text())
    samples = sum(card["data"]["train_counts"].values()) * epochs
    return {"samples_per_second": round(samples / card["training_seconds"], 1),
            "training_seconds": card["training_seconds"], "wall_seconds": round(wall, 1),
            "test_top1": card["metrics"]["test_top1"], "device": card["device"]}


def _resume(environment: dict, per_class: int, epochs: int) -> dict:
    """Kill one of two workers after the first checkpoint, run the same command again, and time the restart."""
    command = _train_command(2, "scale-resumed", per_class, epochs, "--checkpoint")
    runs = Path(environment["DOODLE_RUNS_DIR"])
    started = time.perf_counter()
    launcher = subprocess.Popen(command, cwd=REPOSITORY, env=environment, stderr=subprocess.PIPE, text=True)
    started_line = next(line for line in launcher.stderr if line.startswith("started "))
    workers = [int(pid) for pid in re.findall(r"\d+", started_line.split("[")[1].split("]")[0])]
    while not list(runs.glob("*/checkpoint.npz")) and launcher.poll() is None:
        time.sleep(0.05)
    first_checkpoint = time.perf_counter() - started
    checkpoint = next(runs.glob("*/checkpoint.npz"))
    os.kill(workers[1], signal.SIGKILL)
    launcher.stderr.read()
    launcher.wait()
    written = checkpoint.stat().st_mtime_ns
    restarted = time.perf_counter()
    again = subprocess.Popen(command, cwd=REPOSITORY, env=environment, stderr=subprocess.DEVNULL)
    while (not checkpoint.exists() or checkpoint.stat().st_mtime_ns == written) and again.poll() is None:
        time.sleep(0.05)
    next_epoch = time.perf_counter() - restarted
    code = again.wait()
    return {"fresh_start_to_first_epoch_s": round(first_checkpoint, 1),
            "restart_to_next_epoch_s": round(next_epoch, 1), "finished": code == 0,
            "total_after_restart_s": round(time.perf_counter() - restarted, 1)}


def run(data_dir: str | None = None, per_class: int = 2500, processes_per_class: int = 1000, epochs: int = 2) -> dict:
    from data_loader import data_dir as resolve

    source = resolve(data_dir)
    memory = {}
    with tempfile.TemporaryDirectory(prefix="doodle-scale-") as temporary:
        for scale in (1, 10):
            root = Path(temporary) / f"x{scale}"
            _write_synthetic(root, source, per_class * scale)
            memory[f"{scale}x"] = {"streamed": _memory_case(root, True, 0),
                                   "in_memory": _memory_case(root, False, per_class * scale)}
        environment = {**os.environ, "DOODLE_MODELS_DIR": str(Path(temporary) / "models"),
                       "DOODLE_RUNS_DIR": str(Path(temporary) / "runs"), "DOODLE_DATA_DIR": str(source),
                       "TF_CPP_MIN_LOG_LEVEL": "2"}
        processes = {str(count): _throughput(count, environment, processes_per_class, epochs) for count in (1, 2)}
        resume = _resume(environment, processes_per_class, 3)
    streamed = memory["10x"]["streamed"]["peak_rss_mb"] / memory["1x"]["streamed"]["peak_rss_mb"]
    in_memory = memory["10x"]["in_memory"]["peak_rss_mb"] / memory["1x"]["in_memory"]["peak_rss_mb"]
    return {"memory": memory, "streamed_10x_over_1x": round(streamed, 3), "in_memory_10x_over_1x": round(in_memory, 3),
            "processes": processes,
            "two_over_one_process": round(processes["2"]["samples_per_second"] / processes["1"]["samples_per_second"],
                                          3),
            "resume": resume, "machine": machine()}


def table(figures: dict) -> list[tuple[str, str]]:
    rows = []
    for scale, cases in figures["memory"].items():
        for kind, numbers in cases.items():
            rows.append((f"peak RSS, one epoch, {scale} data ({kind})",
                         f"{numbers['peak_rss_mb']:.0f} MB ({numbers['train_drawings']:,} training drawings, "
                         f"{numbers['seconds']:.0f} s)"))
    rows.append(("10x over 1x peak RSS: streamed / in memory",
                 f"{figures['streamed_10x_over_1x']:.2f}x / {figures['in_memory_10x_over_1x']:.2f}x (target <= 1.2x)"))
    for count, numbers in figures["processes"].items():
        rows.append((f"{count} process(es), Keras on JAX", f"{numbers['samples_per_second']:.0f} samples/s "
                     f"(train {numbers['training_seconds']:.0f} s, wall {numbers['wall_seconds']:.0f} s)"))
    rows.append(("2 over 1 process", f"{figures['two_over_one_process']:.2f}x"))
    resume = figures["resume"]
    rows.append(("resume after kill -9: restart to next epoch",
                 f"{resume['restart_to_next_epoch_s']:.0f} s (a fresh start to its first epoch: "
                 f"{resume['fresh_start_to_first_epoch_s']:.0f} s)"))
    return rows


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--measure":
        print(json.dumps(_measure(sys.argv[2], sys.argv[3] == "1", int(sys.argv[4]))))
