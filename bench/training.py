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


def _samples_per_second(fit, samples: int) -> float:
    started = time.perf_counter()
    fit()
    return samples / (time.perf_counter() - started)


def run(per_class: int = 1000, batch_size: int = 128, target: float = 0.90, max_epochs: int = 20,
        data_dir: str | None = None) -> dict:
    import keras

    from data_loader import build_splits
    from model import architectures
    from model.config import TrainConfig
    from model.train import TrainingControl, compile_network, make_pipeline, train

    splits = build_splits("quickdraw", CATEGORIES, per_class, root=data_dir)
    x, y = splits.train.x, splits.train.y
    keras.utils.set_random_seed(0)

    project = architectures.build("doodle", len(CATEGORIES), 0.3)
    compile_network(project, 1e-3, len(CATEGORIES))
    pipeline = make_pipeline(x, y, batch_size, shuffle_seed=0)
    project.fit(pipeline.take(10), epochs=1, verbose=0)
    project_rate = _samples_per_second(lambda: project.fit(pipeline, epochs=1, verbose=0), len(x))

    plain = architectures.build("doodle", len(CATEGORIES), 0.3)
    plain.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", keras.metrics.SparseTopKCategoricalAccuracy(k=3, name="top3")])
    x_float = x[..., np.newaxis].astype(np.float32) / 255.0
    plain.fit(x_float[: batch_size * 10], y[: batch_size * 10], batch_size=batch_size, epochs=1, verbose=0)
    plain_rate = _samples_per_second(
        lambda: plain.fit(x_float, y, batch_size=batch_size, epochs=1, verbose=0, shuffle=True), len(x))

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
        "samples": int(len(x)), "batch_size": batch_size,
        "project_samples_per_second": round(project_rate, 1), "plain_fit_samples_per_second": round(plain_rate, 1),
        "speedup": round(project_rate / plain_rate, 2),
        "seconds_to_target": round(reached["seconds"], 1) if reached else None,
        "epochs_to_target": reached.get("epoch"), "target_val_accuracy": target,
        "best_val_accuracy": round(max(result.history.get("val_accuracy", [0])), 4),
        "device": result.card.device, "machine": machine(),
    }


def table(figures: dict) -> list[tuple[str, str]]:
    target = figures["seconds_to_target"]
    return [
        ("project pipeline", f"{figures['project_samples_per_second']:.0f} samples/s"),
        ("plain model.fit", f"{figures['plain_fit_samples_per_second']:.0f} samples/s"),
        ("speedup", f"{figures['speedup']}x"),
        (f"time to {figures['target_val_accuracy']:.0%} val acc",
         f"{target:.0f} s ({figures['epochs_to_target']} epochs)" if target else
         f"not reached (best {figures['best_val_accuracy']:.2%})"),
    ]
