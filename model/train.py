"""Train a convnet on drawings: data, a tf.data pipeline, ``model.fit`` with progress, transfer learning.

``train(config, control)`` builds the data subset, builds or loads the network, fits it on a validation
split with early stopping, evaluates it on the test split and returns the model with its card. It saves
nothing: ``save_result`` puts a finished (not cancelled) result in the registry. Progress reaches the
caller through ``TrainingControl``, which can also be asked to stop.

Command line: ``python -m model.train --classes cat,dog --per-class 1000 --arch doodle --epochs 5 --name M``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import shlex
import sys
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from data_loader import DatasetSplits, DrawingDataset, build_splits, split
from model import architectures
from model.card import ModelCard
from model.config import TrainConfig
from model.evaluate import Evaluation, chance_warning, evaluate
from model.registry import ModelEntry, Registry, load_model


@dataclass
class Progress:
    """Where a training run is: phase, epoch, batch, the latest metrics and the time left."""

    phase: str
    epoch: int
    epochs: int
    batch: int
    batches: int
    metrics: dict[str, float]
    history: dict[str, list[float]]
    elapsed: float
    remaining: float | None
    finished_epoch: bool


class TrainingControl:
    """Passed to ``train``: receives progress reports and carries a stop request from another thread."""

    def __init__(self, on_progress: Callable[[Progress], None] | None = None, batch_interval: int = 20) -> None:
        self.on_progress = on_progress
        self.batch_interval = max(1, batch_interval)
        self._stop = threading.Event()

    def stop(self) -> None:
        """Ask the training to stop after the current batch; the result is then marked cancelled."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def report(self, progress: Progress) -> None:
        if self.on_progress is not None:
            self.on_progress(progress)


@dataclass
class TrainingResult:
    """A trained model with its card and test evaluation, or a cancelled run (``cancelled`` is True)."""

    model: keras.Model
    card: ModelCard
    evaluation: Evaluation | None
    splits: DatasetSplits
    cancelled: bool = False
    history: dict[str, list[float]] = field(default_factory=dict)

    @property
    def evaluated_on(self) -> str:
        """Which split the evaluation used: "test", or "validation" when the data kept no test part."""
        return held_out_part(self.splits)[0]

    @property
    def evaluated_split(self) -> DrawingDataset:
        """The drawings behind ``evaluation`` (its labels and predictions index them)."""
        return held_out_part(self.splits)[1]


def held_out_part(splits: DatasetSplits) -> tuple[str, DrawingDataset]:
    """The part a training is evaluated on: ("test", test drawings), or ("validation", ...) for tiny sets that
    keep no test part."""
    return ("test", splits.test) if len(splits.test) else ("validation", splits.validation)


def load_data(config: TrainConfig) -> DatasetSplits:
    """Build the train, validation and test splits the config asks for."""
    if config.source == "file":
        dataset = DrawingDataset.load(config.dataset_file)
        return split(dataset, config.validation_fraction, config.test_fraction, config.seed)
    return build_splits(config.source, config.classes, config.per_class, config.data_format, config.seed,
                        config.data_dir, config.validation_fraction, config.test_fraction)


def cpu_has_bfloat16() -> bool:
    """Whether the CPU computes bfloat16 natively (AVX-512 BF16 or AMX), where oneDNN runs it fast."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def describe_device(precision: str = "auto") -> tuple[str, tf.distribute.Strategy, str]:
    """Pick where to train: all GPUs TensorFlow sees (mirrored when several), else the CPU.

    Returns a description, the distribution strategy and the dtype policy for the new layers. With
    ``precision`` "auto", a GPU trains in mixed float16 and a CPU with native bfloat16 in mixed bfloat16
    (the weights stay float32 either way); "float32" turns mixed precision off, "mixed" forces it.
    """
    gpus = tf.config.list_physical_devices("GPU")
    mixed = precision == "mixed" or (precision == "auto" and (bool(gpus) or cpu_has_bfloat16()))
    if not gpus:
        policy = "mixed_bfloat16" if mixed else "float32"
        description = f"CPU ({os.cpu_count()} cores{', mixed bfloat16' if mixed else ''})"
        return description, tf.distribute.get_strategy(), policy
    names = [tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name) for gpu in gpus]
    policy = "mixed_float16" if mixed else "float32"
    if len(gpus) > 1:
        return f"{len(gpus)} GPUs, mirrored ({', '.join(names)})", tf.distribute.MirroredStrategy(), policy
    return f"GPU ({names[0]})", tf.distribute.get_strategy(), policy


def augmentation(strength: float, allow_flips: bool) -> keras.Sequential:
    """Small random rotations, shifts and zooms (and left-right flips for doodles, never for digits)."""
    steps = [
        keras.layers.RandomRotation(strength * 15 / 360, fill_mode="constant", name="rotate"),
        keras.layers.RandomTranslation(0.1 * strength, 0.1 * strength, fill_mode="constant", name="shift"),
        keras.layers.RandomZoom(0.15 * strength, fill_mode="constant", name="zoom"),
    ]
    if allow_flips:
        steps.insert(0, keras.layers.RandomFlip("horizontal", name="flip"))
    return keras.Sequential(steps, name="augmentation")


def make_pipeline(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle_seed: int | None = None,
                  augment: keras.Sequential | None = None) -> tf.data.Dataset:
    """Batches of float32 (B, 28, 28, 1) in 0-1 from uint8 images: shuffled, scaled per batch, prefetched."""
    dataset = tf.data.Dataset.from_tensor_slices((x[..., np.newaxis], y.astype(np.int32)))
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(x), seed=shuffle_seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size).map(lambda images, labels: (tf.cast(images, tf.float32) / 255.0, labels),
                                            num_parallel_calls=tf.data.AUTOTUNE)
    if augment is not None:
        dataset = dataset.map(lambda images, labels: (augment(images, training=True), labels),
                              num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def build_network(config: TrainConfig, num_classes: int) -> tuple[keras.Model, str | None]:
    """A new network, or the convolutional base of ``config.base`` (frozen) with a new classifier head."""
    if config.transfer == "scratch":
        return architectures.build(config.architecture, num_classes, config.dropout), None
    base, base_card = load_model(config.base)
    features = base.get_layer(architectures.convolutional_base_end(base)).output
    for layer in base.layers:
        layer.trainable = False
    head = keras.layers.Dropout(config.dropout, name="head_dropout")(features)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions", dtype="float32")(head)
    return keras.Model(base.inputs, outputs, name=f"{base.name}_transfer"), base_card.architecture


def compile_network(model: keras.Model, learning_rate: float, num_classes: int, total_steps: int = 0) -> None:
    """Adam with cross-entropy; with ``total_steps`` the learning rate follows a cosine decay down to 2%.

    Several steps run per compiled call (``steps_per_execution``), which saves Python overhead per batch.
    """
    metrics: list = ["accuracy"]
    if num_classes > 3:
        metrics.append(keras.metrics.SparseTopKCategoricalAccuracy(k=3, name="top3"))
    rate = keras.optimizers.schedules.CosineDecay(learning_rate, total_steps, alpha=0.02) if total_steps else \
        learning_rate
    model.compile(optimizer=keras.optimizers.Adam(rate), loss="sparse_categorical_crossentropy",
                  metrics=metrics, steps_per_execution=8)


class _ProgressCallback(keras.callbacks.Callback):
    """Relays Keras' batch and epoch events to a ``TrainingControl`` and honours its stop request."""

    def __init__(self, control: TrainingControl, phase: str, epochs: int, batches: int, history: dict,
                 started: float) -> None:
        super().__init__()
        self.control, self.phase, self.epochs, self.batches = control, phase, epochs, batches
        self.history, self.started, self.epoch = history, started, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.control.stop_requested:
            self.model.stop_training = True
        if (batch + 1) % self.control.batch_interval == 0:
            self._report(batch + 1, logs or {}, finished=False)

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        self._report(self.batches, logs or {}, finished=True)
        if self.control.stop_requested:
            self.model.stop_training = True

    def _report(self, batch: int, logs: dict, finished: bool) -> None:
        elapsed = time.perf_counter() - self.started
        done = self.epoch + min(batch, self.batches) / max(1, self.batches)
        remaining = elapsed / done * (self.epochs - done) if done > 0 else None
        metrics = {key: float(value) for key, value in logs.items()}
        batch = min(batch, self.batches)
        self.control.report(Progress(self.phase, self.epoch + 1, self.epochs, batch, self.batches, metrics,
                                     {key: list(values) for key, values in self.history.items()}, elapsed,
                                     remaining, finished))


def train(config: TrainConfig, control: TrainingControl | None = None) -> TrainingResult:
    """Train a network as ``config`` says and evaluate it on the test split. Saves nothing."""
    control = control or TrainingControl()
    keras.utils.set_random_seed(config.seed)
    splits = load_data(config)
    class_names = splits.train.class_names
    if len(splits.validation) == 0:
        fewest = min(splits.train.counts().values(), default=0)
        raise ValueError(f"too few drawings to train on: a class has only {fewest}, and each needs at least 3 "
                         "so that some can be kept aside to check the training; ask for more per class")
    device, strategy, policy = describe_device(config.precision)
    batches = int(np.ceil(len(splits.train) / config.batch_size))
    with strategy.scope():
        # The policy is global in Keras: set it only while the new layers are made, so that models built
        # meanwhile in other threads (other sessions of the app) keep float32.
        keras.mixed_precision.set_global_policy(policy)
        try:
            model, base_architecture = build_network(config, len(class_names))
        finally:
            keras.mixed_precision.set_global_policy("float32")
        compile_network(model, config.learning_rate, len(class_names), config.epochs * batches)
    started = time.perf_counter()
    allow_flips = splits.train.recipe == "quickdraw" and splits.train.source != "mnist"
    augment = augmentation(config.augment_strength, allow_flips) if config.augment else None
    train_data = make_pipeline(splits.train.x, splits.train.y, config.batch_size, config.seed, augment)
    validation_data = make_pipeline(splits.validation.x, splits.validation.y, config.batch_size)
    history: dict[str, list[float]] = {}
    phases = [("training", config.epochs, None)]
    if config.transfer == "fine_tuning" and config.fine_tune_epochs > 0:
        phases.append(("fine-tuning", config.fine_tune_epochs, architectures.top_conv_block(model)))
    total_epochs = sum(epochs for _, epochs, _ in phases)
    done_epochs = 0
    for phase, epochs, unfreeze in phases:
        if unfreeze is not None:
            for name in unfreeze:
                layer = model.get_layer(name)
                layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)
            with strategy.scope():
                compile_network(model, config.learning_rate / 10, len(class_names), epochs * batches)
        callbacks = [
            _ProgressCallback(control, phase, total_epochs, batches, history, started),
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience,
                                          restore_best_weights=True),
        ]
        model.fit(train_data, validation_data=validation_data, epochs=done_epochs + epochs,
                  initial_epoch=done_epochs, callbacks=callbacks, verbose=0, shuffle=False)
        done_epochs += epochs
        if control.stop_requested:
            break
    seconds = time.perf_counter() - started
    cancelled = control.stop_requested
    _, held_out = held_out_part(splits)
    evaluation = None if cancelled else evaluate(model, held_out.x, held_out.y, class_names)
    card = _make_card(config, model, splits, evaluation, history, device, seconds, base_architecture)
    return TrainingResult(model, card, evaluation, splits, cancelled, history)


def save_result(result: TrainingResult, name: str, registry: Registry | None = None,
                activate: bool = False) -> ModelEntry:
    """Save a finished training under ``name`` (atomically) and optionally make it the active model."""
    if result.cancelled:
        raise ValueError("a cancelled training is not saved")
    registry = registry or Registry()
    card = dataclasses.replace(result.card, name=name, command=_command_named(result.card.command, name))
    entry = registry.save(result.model, card)
    result.card = card  # Only once it is saved: a refused name leaves the result as it was, ready for another.
    if activate:
        registry.activate(entry.name)
    return entry


def _command_named(command: str, name: str) -> str:
    """The command line with ``--name name`` in place of any name it had."""
    if not command:
        return command
    parts = shlex.split(command)
    while "--name" in parts:
        index = parts.index("--name")
        del parts[index:index + 2]
    return shlex.join([*parts, "--name", name])


def _make_card(config: TrainConfig, model: keras.Model, splits: DatasetSplits, evaluation: Evaluation | None,
               history: dict, device: str, seconds: float, base_architecture: str | None) -> ModelCard:
    data = {
        "source": splits.train.source, "format": splits.train.data_format, "classes": splits.train.class_names,
        "train_counts": splits.train.counts(), "validation_counts": splits.validation.counts(),
        "test_counts": splits.test.counts(), "origins": splits.train.origins, "seed": config.seed,
        "per_class": config.per_class, "validation_fraction": config.validation_fraction,
        "test_fraction": config.test_fraction,
    }
    return ModelCard(
        name=config.name or "unsaved", class_names=list(splits.train.class_names), recipe=splits.train.recipe,
        architecture=base_architecture or config.architecture, data=data,
        metrics={**evaluation.as_dict(), "evaluated_on": held_out_part(splits)[0]}
        if evaluation else {}, history=history, device=device,
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), command=config.command(),
        parameters=int(model.count_params()), training_seconds=round(seconds, 2), base_model=config.base,
        transfer=config.transfer,
    )


def _print_progress(progress: Progress) -> None:
    """A one-line text progress bar on standard error."""
    width = 30
    filled = int(width * progress.batch / max(1, progress.batches))
    metrics = "  ".join(f"{key} {value:.4f}" for key, value in progress.metrics.items())
    remaining = f"  ~{progress.remaining:.0f}s left" if progress.remaining is not None else ""
    line = f"\r{progress.phase} epoch {progress.epoch}/{progress.epochs} [{'#' * filled}{'.' * (width - filled)}]"
    print(f"{line} {metrics}{remaining}\033[K", end="\n" if progress.finished_epoch else "", file=sys.stderr,
          flush=True)


def config_from_arguments(argv: list[str] | None = None) -> tuple[TrainConfig, bool]:
    """Parse the command line into a ``TrainConfig`` (and whether to activate the saved model)."""
    parser = argparse.ArgumentParser(prog="python -m model.train", description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=("quickdraw", "mnist", "file"), default="quickdraw")
    parser.add_argument("--classes", default="", help='comma-separated, e.g. "cat,house plant" or "0,1,2"')
    parser.add_argument("--dataset", help="a dataset .npz written by the data loader (with --source file)")
    parser.add_argument("--per-class", type=int, default=1000)
    parser.add_argument("--format", choices=("bitmap", "strokes"), default="bitmap")
    parser.add_argument("--arch", default="doodle", help="book, lecture or doodle")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--dropout", type=float, default=0.3)
    parser.add_argument("--augment", action="store_true", help="random rotations, shifts and zooms")
    parser.add_argument("--augment-strength", type=float, default=0.5)
    parser.add_argument("--base", help="a saved model to start from (name or path)")
    parser.add_argument("--transfer", choices=("feature_extraction", "fine_tuning"), default=None)
    parser.add_argument("--fine-tune-epochs", type=int, default=3)
    parser.add_argument("--validation-fraction", type=float, default=0.1)
    parser.add_argument("--test-fraction", type=float, default=0.1)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision", choices=("auto", "float32", "mixed"), default="auto",
                        help="mixed precision: auto uses it on GPUs and on CPUs with native bfloat16")
    parser.add_argument("--data-dir")
    parser.add_argument("--name", help="save the model in the registry under this name")
    parser.add_argument("--activate", action="store_true", help="make the saved model the active one")
    arguments = parser.parse_args(argv)
    transfer = arguments.transfer or ("fine_tuning" if arguments.base else "scratch")
    config = TrainConfig(
        classes=arguments.classes, source=arguments.source, per_class=arguments.per_class,
        data_format=arguments.format, dataset_file=arguments.dataset, architecture=arguments.arch,
        epochs=arguments.epochs, batch_size=arguments.batch_size, learning_rate=arguments.learning_rate,
        augment=arguments.augment, augment_strength=arguments.augment_strength, dropout=arguments.dropout,
        seed=arguments.seed, base=arguments.base, transfer=transfer, fine_tune_epochs=arguments.fine_tune_epochs,
        validation_fraction=arguments.validation_fraction, test_fraction=arguments.test_fraction,
        patience=arguments.patience, data_dir=arguments.data_dir, name=arguments.name,
        precision=arguments.precision,
    )
    return config, arguments.activate


def main(argv: list[str] | None = None) -> int:
    """Train from the command line, print test metrics, and save when ``--name`` is given."""
    from data_loader import DataError
    from model.registry import RegistryError, check_name

    warnings.showwarning = lambda message, *_, **__: print(f"warning: {message}", file=sys.stderr)
    try:
        config, activate = config_from_arguments(argv)
        if config.name:
            check_name(config.name)
            if config.name in Registry().names():
                raise RegistryError(f"a model named {config.name!r} already exists: choose another --name")
        result = train(config, TrainingControl(_print_progress))
        print(f"trained on {result.card.device} in {result.card.training_seconds:.0f} s; "
              f"{result.evaluated_on} top-1 {result.evaluation.top1:.2%}, top-3 {result.evaluation.top3:.2%} "
              f"on {len(result.evaluation.labels):,} drawings")
        if warning := chance_warning(result.evaluation):
            print(f"warning: {warning}")
        for name, accuracy in result.evaluation.per_class.items():
            print(f"  {name:>20}  {accuracy:.2%}")
        if config.name:
            entry = save_result(result, config.name, activate=activate)
            print(f"saved as {entry.name!r} in {entry.folder}" + (" and activated" if activate else ""))
    except (DataError, RegistryError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: nothing was saved", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
