"""Several processes training one model: Keras' distribution API (``DataParallel``) on the JAX backend.

The engine is Keras 3's own (``keras.distribution.initialize`` starts JAX's distributed runtime, a
``DataParallel`` distribution replicates the model on every device of every process and splits each global
batch between them; JAX averages the gradients). TensorFlow's ``MultiWorkerMirroredStrategy`` does not
train Keras 3 models (keras-team/keras#20585) and Horovod is unmaintained, so the worker processes run
Keras on JAX, while the app keeps TensorFlow: the model code is plain Keras, and the ``.keras`` file a
JAX run saves loads and predicts the same in the TensorFlow app.

Command line (``python -m model.train``):
- ``--processes N`` starts N local worker processes that meet at a coordinator on 127.0.0.1 (a free port);
- ``--coordinator HOST:PORT --num-processes N --process-id I`` joins a run over several machines (start the
  same command on each, with its own process id; process 0's machine hosts the coordinator).
Every process builds the same ``tf.data`` pipeline and Keras gives each its own shard of every batch. Only
process 0 writes checkpoints, the model and its card. A local launch stops every worker when one dies.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

ENGINE = "keras.distribution DataParallel on JAX"


@dataclass(frozen=True)
class Topology:
    """Where this process stands in a distributed run."""

    processes: int
    process_id: int
    devices: list[str]
    engine: str

    @property
    def first(self) -> bool:
        return self.process_id == 0

    def describe(self) -> str:
        kinds = sorted(set(device.split(":")[0] for device in self.devices))
        return (f"{self.processes} process{'es' if self.processes > 1 else ''} x {len(self.devices) // self.processes} "
                f"{'/'.join(kinds)} device(s) each, {self.engine}")

    def as_dict(self) -> dict:
        return {"processes": self.processes, "devices": list(self.devices), "engine": self.engine}


_topology: Topology | None = None


def current() -> Topology | None:
    """The distributed run this process has joined, or None for an ordinary single-process training."""
    return _topology


def is_first_process() -> bool:
    """Whether this process writes files: the only process of an ordinary run, or process 0 of a distributed one."""
    return _topology is None or _topology.first


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _option(argv: list[str], name: str) -> str | None:
    """The value of ``--name value`` or ``--name=value`` in an argument list."""
    for index, argument in enumerate(argv):
        if argument == name and index + 1 < len(argv):
            return argv[index + 1]
        if argument.startswith(name + "="):
            return argument.split("=", 1)[1]
    return None


def _without(argv: list[str], names: tuple[str, ...]) -> list[str]:
    kept, skip = [], False
    for argument in argv:
        if skip:
            skip = False
        elif argument in names:
            skip = True
        elif not any(argument.startswith(name + "=") for name in names):
            kept.append(argument)
    return kept


def dispatch(argv: list[str]) -> int | None:
    """Route a ``python -m model.train`` command: launch local workers (returns their exit code), join a run as
    a worker (returns None and the caller trains), or do nothing for an ordinary run (returns None)."""
    coordinator = _option(argv, "--coordinator")
    processes = _option(argv, "--processes")
    if coordinator is None and processes is not None:
        return launch_local(_without(argv, ("--processes",)), int(processes))
    if coordinator is None:
        return None
    import keras

    if keras.backend.backend() != "jax":
        main_module = getattr(sys.modules.get("__main__"), "__spec__", None)
        if main_module is None or main_module.name != "model.train":
            raise ValueError("joining a distributed run needs the JAX backend: set KERAS_BACKEND=jax")
        # Keras picks its backend once, at import: start this command again with the JAX backend.
        os.execve(sys.executable, [sys.executable, "-m", "model.train", *argv], {**os.environ, "KERAS_BACKEND": "jax"})
    join(coordinator, int(_option(argv, "--num-processes") or 1), int(_option(argv, "--process-id") or 0))
    return None


def join(coordinator: str, num_processes: int, process_id: int) -> Topology:
    """Join (or, with one process, just use) a Keras distribution on JAX, data-parallel over every device."""
    global _topology
    import keras
    import tensorflow as tf

    if keras.backend.backend() != "jax":
        raise ValueError("a distributed run needs the JAX backend: set KERAS_BACKEND=jax (pip install -r "
                         "requirements-distributed.txt)")
    if not 0 <= process_id < num_processes:
        raise ValueError(f"--process-id must be between 0 and {num_processes - 1}, got {process_id}")
    tf.config.set_visible_devices([], "GPU")  # TensorFlow only feeds data here; the devices are JAX's.
    if num_processes > 1:
        keras.distribution.initialize(coordinator, num_processes, process_id)
    devices = keras.distribution.list_devices()
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    import jax

    _topology = Topology(num_processes, process_id, [str(device) for device in devices], f"{ENGINE} {jax.__version__}")
    return _topology


def local_copy(model):
    """The trained model as an ordinary single-device Keras model (same layers, same weights), with the
    distribution switched off, so that every process can evaluate it and the first one can save it."""
    import keras
    import numpy as np

    weights = [np.asarray(weight) for weight in model.get_weights()]
    trainable = [layer.trainable for layer in model.layers]
    keras.distribution.set_distribution(None)
    copy = keras.Model.from_config(model.get_config())
    copy.set_weights(weights)
    for layer, flag in zip(copy.layers, trainable, strict=True):
        layer.trainable = flag
    return copy


def weights_digest(model) -> str:
    """A SHA-256 of every weight of a model, to check that the processes of a run ended with the same model."""
    import hashlib

    import numpy as np

    digest = hashlib.sha256()
    for weight in model.get_weights():
        digest.update(np.ascontiguousarray(weight).tobytes())
    return digest.hexdigest()


def _gpus() -> int:
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return sum(1 for line in listing.stdout.splitlines() if line.startswith("GPU "))


def launch_local(argv: list[str], processes: int) -> int:
    """Start ``processes`` workers of this command on this machine and wait for them.

    Each worker gets the coordinator address, the process count and its id; with at least as many NVIDIA GPUs
    as workers (and no CUDA_VISIBLE_DEVICES set), each worker gets its own GPU. If a worker dies, the others
    are stopped; with ``--checkpoint`` the same command then resumes from the last epoch saved.
    """
    if processes < 1:
        print("error: --processes must be at least 1", file=sys.stderr)
        return 1
    address = f"127.0.0.1:{free_port()}"
    share_gpus = "CUDA_VISIBLE_DEVICES" not in os.environ and _gpus() >= processes > 1
    workers = []
    for index in range(processes):
        environment = {**os.environ, "KERAS_BACKEND": "jax"}
        if share_gpus:
            environment["CUDA_VISIBLE_DEVICES"] = str(index)
        command = [sys.executable, "-m", "model.train", *argv, "--coordinator", address,
                   "--num-processes", str(processes), "--process-id", str(index)]
        workers.append(subprocess.Popen(command, env=environment))
    print(f"started {processes} worker process(es) {[worker.pid for worker in workers]}, coordinator {address}",
          file=sys.stderr, flush=True)
    try:
        while True:
            codes = [worker.poll() for worker in workers]
            failed = [(index, code) for index, code in enumerate(codes) if code not in (None, 0)]
            if failed:
                index, code = failed[0]
                reason = f"signal {-code}" if code < 0 else f"exit code {code}"
                print(f"error: worker {index} ended with {reason}; stopping the others. With --checkpoint, the "
                      "same command resumes from the last finished epoch.", file=sys.stderr, flush=True)
                _stop(workers)
                return 1
            if all(code == 0 for code in codes):
                return 0
            time.sleep(0.2)
    except KeyboardInterrupt:
        _stop(workers)
        return 130


def _stop(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for worker in workers:
        try:
            worker.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
