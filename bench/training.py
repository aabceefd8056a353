"""Training benchmark: the project's pipeline against a plain ``model.fit`` on numpy arrays, same model and
batch size, in the same run; then the time the project's trainer takes to reach 90% validation accuracy on
the 18 QuickDraw categories.
"""

from __future__ import annotations

import time

import numpy as np

from bench.timing import machine

CATEGORIES = ["airplane", "apple", "banana", "bicycle", "bird", "book", "cat", "clock", "diamond", "dog", "eye", "fish",
              "flower", "horse", "house", "house plant", "rainbow", "train"]


def _throughput(architecture: str, x: np.ndarray, y: np.ndarray, batch_size: int, rounds: int) -> dict:
    """Samples per second of the project's pipeline and of a plain ``model.fit`` on float arrays.

    Both models are built and warmed up first; then the two fits alternate, one epoch each, ``rounds``
    times, so that a slower or faster spell of this shared machine hits both alike. The speedup is the
    median of the per-round ratios.
    """
    import keras

    from model import architectures
    from model.train import compile_network, describe_device, make_pipeline

    classes = int(y.max()) + 1
    _, _, policy = describe_device("auto")  # The trainer's choice: mixed bfloat16 on a CPU that has it.
    keras.mixed_precision.set_global_policy(policy)
    project = architectures.build(architecture, classes, 0.3)
    keras.mixed_precision.set_global_policy("float32")
    compile_network(project, 1e-3, classes)
    pipeline = make_pipeline(x, y, batch_size, shuffle_seed=0)
    plain = architectures.build(architecture, classes, 0.3)
    plain.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", keras.metrics.SparseTopKCategoricalAccuracy(k=3, name="top3")])
    x_float = x[..., np.newaxis].astype(np.float32) / 255.0
    fits = {
        "project": lambda: project.fit(pipeline, epochs=1, verbose=0, shuffle=False),
        "plain": lambda: plain.fit(x_float, y, batch_size=batch_size, epochs=1, verbose=0, shuffle=True),
    }
    for fit in fits.values():
        fit()
    rates: dict[str, list[float]] = {"project": [], "plain": []}
    for _ in range(rounds):
        for name, fit in fits.items():
            started = time.perf_counter()
            fit()
            rates[name].append(len(x) / (time.perf_counter() - started))
    ratios = [mine / theirs for mine, theirs in zip(rates["project"], rates["plain"], strict=True)]
    return {"project_precision": policy, "project_samples_per_second": round(float(np.median(rates["project"])), 1),
            "plain_fit_samples_per_second": round(float(np.median(rates["plain"])), 1),
            "speedup": round(float(np.median(ratios)), 2), "rounds": rounds}


def run(per_class: int = 500, batch_size: int = 128, target: float = 0.90, max_epochs: int = 20,
        rounds: int = 3, data_dir: str | None = None) -> dict:
    import keras

    from data_loader import build_splits
    from model.config import TrainConfig
    from model.train import TrainingControl, train

    splits = build_splits("quickdraw", CATEGORIES, per_class, root=data_dir)
    keras.utils.set_random_seed(0)
    throughput = {architecture: _throughput(architecture, splits.train.x, splits.train.y, batch_size, rounds)
                  for architecture in ("book", "doodle")}

    reached: dict[str, float] = {}

    def watch(progress) -> None:
        if progress.finished_epoch and progress.history.get("val_accuracy", [0])[-1] >= target and not reached:
            reached.update(seconds=progress.elapsed, epoch=progress.epoch)
            control.stop()

    control = TrainingControl(watch)
    config = TrainConfig(classes=list(CATEGORIES), per_class=5000, epochs=max_epochs, batch_size=batch_size,
                         patience=max_epochs, data_dir=data_dir)
    result = train(config, control)
    return {
        "samples": int(len(splits.train)), "batch_size": batch_size, "throughput": throughput,
        "seconds_to_target": round(reached["seconds"], 1) if reached else None,
        "epochs_to_target": reached.get("epoch"), "target_val_accuracy": target,
        "best_val_accuracy": round(max(result.history.get("val_accuracy", [0])), 4),
        "device": result.card.device, "machine": machine(),
    }


def table(figures: dict) -> list[tuple[str, str]]:
    rows = []
    for architecture, numbers in figures["throughput"].items():
        rows.append((f"{architecture}: project pipeline vs plain fit",
                     f"{numbers['project_samples_per_second']:.0f} vs {numbers['plain_fit_samples_per_second']:.0f} "
                     f"samples/s, speedup {numbers['speedup']}x (median of {numbers['rounds']} rounds)"))
    target = figures["seconds_to_target"]
    rows.append((f"time to {figures['target_val_accuracy']:.0%} val acc (doodle, 18 classes)",
                 f"{target:.0f} s ({figures['epochs_to_target']} epochs)" if target else
                 f"not reached (best {figures['best_val_accuracy']:.2%})"))
    return rows
