"""Train a convnet on drawings: data, a tf.data pipeline, ``model.fit`` with progress, transfer learning.

``train(config, control)`` builds the data subset, builds or loads the network, fits it on a validation
split with early stopping, evaluates it on the test split and returns the model with its card. It saves
nothing: ``save_result`` puts a finished (not cancelled) result in the registry. Progress reaches the
caller through ``TrainingControl``, which can also be asked to stop.

Command line: ``python -m model.train --classes cat,dog --per-class 1000 --arch doodle --epochs 5 --name M``.
``--stream`` reads the QuickDraw files in place (``data_loader.stream``) for sets larger than memory,
``--checkpoint`` makes a killed run resume when the same command is run again (``model.checkpoints``), and
``--processes N`` (or ``--coordinator HOST:PORT --num-processes N --process-id I``) trains one model in
several processes with Keras' distribution API on JAX (``model.distributed``). A small data set (a few
drawings per class) gets the small-data recipe, for the Train page and the command line alike
(``small_data_recipe``).
"""

from __future__ import annotations

import argparse
import contextlib
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
from data_loader.stream import DrawingStream
from model import architectures, checkpoints, distributed
from model.card import ModelCard
from model.config import TrainConfig
from model.evaluate import Evaluation, chance_warning, evaluate
from model.registry import ModelEntry, Registry, load_model


@dataclass
class Progress:
    """Where a training run is: phase, epoch, batch, the latest metrics and the time left.

    ``history`` holds one value per finished epoch; ``batch_history`` holds points within epochs, as
    (epochs done as a fraction, e.g. 0.25 a quarter into the first epoch, training loss, training
    accuracy), so that a short run draws a curve rather than one dot per epoch. Keras reports the mean
    over the epoch's batches so far, so each point is that running mean.
    """

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
    batch_history: list[tuple[float, float, float]] = field(default_factory=list)


class TrainingControl:
    """Passed to ``train``: receives progress reports and carries a stop request from another thread."""

    def __init__(self, on_progress: Callable[[Progress], None] | None = None, batch_interval: int = 20) -> None:
        self.on_progress = on_progress
        self.batch_interval = max(1, batch_interval)
        self.batch_history: list[tuple[float, float, float]] = []  # Kept across phases (see Progress).
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


SMALL_DATA_LIMIT = 50  # A class with fewer drawings than this makes a data set small.
EVALUATION_PER_CLASS = 2000  # A streamed run is evaluated on at most this many held-out drawings per class.


def small_data_recipe(config: TrainConfig, smallest_class: int) -> TrainConfig:
    """The settings to train with, given how many drawings the smallest class has and the base model.

    With ``recipe`` "auto" and fewer than ``SMALL_DATA_LIMIT`` drawings in some class (a few drawings of
    one's own, or ``--per-class 10``), or with ``recipe`` "small-data", a few-shot recipe replaces the
    settings: 25 epochs of batches of 16 at learning rate 3e-3, with augmentation (no flips for digits), 20%
    of the drawings kept to watch validation and none for a test part, and no early stop. Starting from a
    base model with fine-tuning adds 5 fine-tuning epochs. Otherwise the config is returned as it is.
    The returned config says ``recipe="small-data"``, so that its command line reproduces the run.
    """
    if config.recipe == "standard" or (config.recipe == "auto" and smallest_class >= SMALL_DATA_LIMIT):
        return config
    fine_tune_epochs = 5 if config.transfer == "fine_tuning" else config.fine_tune_epochs
    return dataclasses.replace(config, epochs=25, batch_size=16, learning_rate=3e-3, augment=True,
                               validation_fraction=0.2, test_fraction=0.0, fine_tune_epochs=fine_tune_epochs,
                               patience=25 + fine_tune_epochs, recipe="small-data")


def _say_recipe(asked: TrainConfig, chosen: TrainConfig, smallest_class: int) -> None:
    """Warn when the small-data recipe replaced the settings asked for, so that nobody is surprised by it."""
    if asked.recipe == "auto" and chosen.recipe == "small-data":
        warnings.warn(f"the smallest class has {smallest_class} drawings (fewer than {SMALL_DATA_LIMIT}): training "
                      f"with the small-data recipe ({chosen.epochs} epochs, batch {chosen.batch_size}, learning rate "
                      f"{chosen.learning_rate:g}, augmentation, no early stop); --recipe standard keeps your settings",
                      stacklevel=3)


def prepare_data(config: TrainConfig) -> tuple[TrainConfig, DatasetSplits, DrawingStream | None]:
    """Load (or open, when streaming) the data, apply the small-data recipe, and split.

    Returns the config to train with, the splits, and the stream of a streamed run. A streamed run's splits
    hold no training drawings in memory: only its evaluated part, up to ``EVALUATION_PER_CLASS`` a class.
    """
    if config.streaming:
        stream = _open_stream(config)
        smallest = min(sum(stream.counts(part)[name] for part in ("train", "validation", "test"))
                       for name in stream.class_names)
        chosen = small_data_recipe(config, smallest)
        _say_recipe(config, chosen, smallest)
        if (chosen.validation_fraction, chosen.test_fraction) != (config.validation_fraction, config.test_fraction):
            stream = _open_stream(chosen)
        part = "test" if sum(stream.counts("test").values()) else "validation"
        held_out = stream.load(part, EVALUATION_PER_CLASS)
        empty = held_out.subset(np.zeros(0, np.int64))
        parts = (empty, held_out, empty) if part == "validation" else (empty, empty, held_out)
        return chosen, DatasetSplits(*parts), stream
    splits = load_data(config)
    # MNIST's test part is its official test set, not drawings of the subset asked for.
    parts = (splits.train, splits.validation) if config.source == "mnist" else (splits.train, splits.validation,
                                                                                 splits.test)
    totals = [sum(part.counts()[name] for part in parts) for name in splits.train.class_names]
    chosen = small_data_recipe(config, min(totals, default=0))
    _say_recipe(config, chosen, min(totals, default=0))
    if (chosen.validation_fraction, chosen.test_fraction) != (config.validation_fraction, config.test_fraction):
        splits = load_data(chosen)
    return chosen, splits, None


def _open_stream(config: TrainConfig) -> DrawingStream:
    return DrawingStream(config.classes, config.data_format, config.per_class, config.seed,
                         config.validation_fraction, config.test_fraction, config.data_dir)


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


def _distributed_policy(precision: str, topology: distributed.Topology) -> str:
    """The dtype policy of a distributed run: mixed float16 on GPUs, bfloat16 on CPUs that have it (as
    ``describe_device`` chooses for one process)."""
    gpus = any("cuda" in device.lower() or "gpu" in device.lower() for device in topology.devices)
    if precision == "float32" or (precision == "auto" and not gpus and not cpu_has_bfloat16()):
        return "float32"
    return "mixed_float16" if gpus else "mixed_bfloat16"


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
                  augment: keras.Sequential | None = None, drop_remainder: bool = False) -> tf.data.Dataset:
    """Batches of float32 (B, 28, 28, 1) in 0-1 from uint8 images: shuffled, scaled per batch, prefetched.

    ``drop_remainder`` keeps only full batches, which a run over several processes needs (every process
    takes the same number of equal shares of each batch).
    """
    dataset = tf.data.Dataset.from_tensor_slices((x[..., np.newaxis], y.astype(np.int32)))
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(x), seed=shuffle_seed, reshuffle_each_iteration=True)
    return _finish(dataset.batch(batch_size, drop_remainder=drop_remainder), augment)


def stream_pipeline(stream: DrawingStream, batch_size: int, first_epoch: int, epochs: int,
                    augment: keras.Sequential | None = None) -> tf.data.Dataset:
    """The training batches of epochs ``first_epoch`` to ``epochs - 1`` of a stream, one after the other.

    Each epoch's drawings come from ``stream.epoch_blocks`` (balanced, shuffled, deterministic from the seed
    and the epoch), so that a resumed run sees the same batches as an uninterrupted one; an epoch holds
    ``stream.epoch_size(batch_size) // batch_size`` full batches.
    """
    spec = (tf.TensorSpec((None, 28, 28), tf.uint8), tf.TensorSpec((None,), tf.int32))

    def blocks(epoch):
        yield from stream.epoch_blocks(int(epoch), batch_size)

    def one_epoch(epoch):
        return tf.data.Dataset.from_generator(blocks, args=(epoch,), output_signature=spec).unbatch()

    dataset = tf.data.Dataset.range(first_epoch, epochs).flat_map(one_epoch)
    dataset = dataset.map(lambda image, label: (image[..., tf.newaxis], label))
    return _finish(dataset.batch(batch_size, drop_remainder=True), augment)


def stream_part_pipeline(stream: DrawingStream, part: str, batch_size: int, drop_remainder: bool) -> tf.data.Dataset:
    """A held-out part of a stream, read from the files on every pass (validation after each epoch)."""
    spec = (tf.TensorSpec((None, 28, 28), tf.uint8), tf.TensorSpec((None,), tf.int32))
    dataset = tf.data.Dataset.from_generator(lambda: stream.part_blocks(part), output_signature=spec).unbatch()
    dataset = dataset.map(lambda image, label: (image[..., tf.newaxis], label))
    return _finish(dataset.batch(batch_size, drop_remainder=drop_remainder), None)


def _finish(dataset: tf.data.Dataset, augment: keras.Sequential | None) -> tf.data.Dataset:
    """Scale uint8 batches to float32 0-1, augment them (one layer after the other, which works on every Keras
    backend inside ``tf.data``), and prefetch."""
    dataset = dataset.map(lambda images, labels: (tf.cast(images, tf.float32) / 255.0, labels),
                          num_parallel_calls=tf.data.AUTOTUNE)
    if augment is not None:
        def transform(images, labels):
            for layer in augment.layers:
                images = layer(images, training=True)
            return images, labels

        dataset = dataset.map(transform, num_parallel_calls=tf.data.AUTOTUNE)
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


def compile_network(model: keras.Model, learning_rate: float, num_classes: int, total_steps: int = 0,
                    steps_per_execution: int = 8) -> None:
    """Adam with cross-entropy; with ``total_steps`` the learning rate follows a cosine decay down to 2%.

    Several steps run per compiled call (``steps_per_execution``), which saves Python overhead per batch
    (a streamed run takes one: its epochs are counted in steps, which must not run past an epoch's end).
    """
    metrics: list = ["accuracy"]
    if num_classes > 3:
        metrics.append(keras.metrics.SparseTopKCategoricalAccuracy(k=3, name="top3"))
    rate = keras.optimizers.schedules.CosineDecay(learning_rate, total_steps, alpha=0.02) if total_steps else \
        learning_rate
    model.compile(optimizer=keras.optimizers.Adam(rate), loss="sparse_categorical_crossentropy",
                  metrics=metrics, steps_per_execution=steps_per_execution)


class _ProgressCallback(keras.callbacks.Callback):
    """Relays Keras' batch and epoch events to a ``TrainingControl`` and honours its stop request."""

    POINTS_PER_EPOCH = 20  # Points of the within-epoch curve (Progress.batch_history), at most one a batch.

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
        logs = logs or {}
        points = self.control.batch_history
        position = self.epoch + min(batch + 1, self.batches) / max(1, self.batches)
        # Keras calls this once per execution of several steps (steps_per_execution), so go by position.
        if "loss" in logs and (not points or position - points[-1][0] >= 0.999 / self.POINTS_PER_EPOCH):
            points.append((position, float(logs["loss"]), float(logs.get("accuracy", float("nan")))))
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
                                     remaining, finished, list(self.control.batch_history)))


def train(config: TrainConfig, control: TrainingControl | None = None) -> TrainingResult:
    """Train a network as ``config`` says and evaluate it on the test split. Saves nothing.

    In a distributed run (``model.distributed``) every process calls this with the same config; the model
    returned is an ordinary single-device copy. With ``config.checkpoint`` the run resumes from its last
    checkpoint, if any.
    """
    control = control or TrainingControl()
    keras.utils.set_random_seed(config.seed)
    config, splits, stream = prepare_data(config)
    class_names = splits.train.class_names
    validation_count = sum(stream.counts("validation").values()) if stream else len(splits.validation)
    if validation_count == 0:
        counts = stream.counts("train") if stream else splits.train.counts()
        fewest = min(counts.values(), default=0)
        raise ValueError(f"too few drawings to train on: a class has only {fewest}, and each needs at least 3 "
                         "so that some can be kept aside to check the training; ask for more per class")
    topology = distributed.current()
    if topology is not None and config.batch_size % len(topology.devices):
        raise ValueError(f"the batch size {config.batch_size} must divide evenly among the {len(topology.devices)} "
                         "devices of the run: choose a multiple of that number")
    if topology is None:
        device, strategy, policy = describe_device(config.precision)
        scope = strategy.scope
    else:
        device, policy, scope = topology.describe(), _distributed_policy(config.precision, topology), \
            contextlib.nullcontext
    whole_batches = topology is not None  # Whole batches in every distributed run: 1 and N processes match.
    train_count = stream.epoch_size(config.batch_size) if stream else len(splits.train)
    batches = max(1, train_count // config.batch_size if (stream or whole_batches)
                  else int(np.ceil(train_count / config.batch_size)))
    with scope():
        # The policy is global in Keras: set it only while the new layers are made, so that models built
        # meanwhile in other threads (other sessions of the app) keep float32.
        keras.mixed_precision.set_global_policy(policy)
        try:
            model, base_architecture = build_network(config, len(class_names))
        finally:
            keras.mixed_precision.set_global_policy("float32")
        compile_network(model, config.learning_rate, len(class_names), config.epochs * batches,
                        1 if stream else 8)
    checkpoint = checkpoints.RunCheckpoint(config, writer=distributed.is_first_process()) if config.checkpoint \
        else None
    resumed = checkpoint.load() if checkpoint else None
    history: dict[str, list[float]] = {key: list(values) for key, values in (resumed or {}).get("history", {}).items()}
    earlier_seconds = float((resumed or {}).get("seconds", 0.0))
    started = time.perf_counter()
    allow_flips = splits.train.recipe == "quickdraw" and splits.train.source != "mnist"
    augment = augmentation(config.augment_strength, allow_flips) if config.augment else None
    phases = [("training", config.epochs, None)]
    if config.transfer == "fine_tuning" and config.fine_tune_epochs > 0:
        phases.append(("fine-tuning", config.fine_tune_epochs, architectures.top_conv_block(model)))
    total_epochs = sum(epochs for _, epochs, _ in phases)
    if stream or topology is not None:
        # Keras learns the length of a dataset of unknown size on its first pass, and warns while it does.
        warnings.filterwarnings("ignore", message="Your input ran out of data")
    if stream:
        validation_data = stream_part_pipeline(stream, "validation", config.batch_size, drop_remainder=whole_batches)
    else:
        train_data = make_pipeline(splits.train.x, splits.train.y, config.batch_size, config.seed, augment,
                                   drop_remainder=whole_batches)
        validation_data = make_pipeline(splits.validation.x, splits.validation.y, config.batch_size,
                                        drop_remainder=whole_batches)
        for _ in range(resumed["epoch"] if resumed else 0):
            iter(train_data)  # Each epoch's shuffle follows from the seed and how many passes came before.
    done_epochs = 0
    for index, (phase, epochs, unfreeze) in enumerate(phases):
        if unfreeze is not None:
            for name in unfreeze:
                layer = model.get_layer(name)
                layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)
            with scope():
                compile_network(model, config.learning_rate / 10, len(class_names), epochs * batches,
                                1 if stream else 8)
        first_epoch = done_epochs
        if resumed is not None and resumed["phase"] >= index:
            if resumed["phase"] > index or resumed["phase_done"]:
                done_epochs += epochs
                continue
            checkpoints.restore(model, resumed, with_optimizer=True)
            first_epoch = resumed["epoch"]
        elif resumed is not None and index > 0 and resumed["phase"] == index - 1:
            checkpoints.restore(model, resumed, with_optimizer=False)
        stopping = keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience,
                                                 restore_best_weights=True)
        callbacks = [_ProgressCallback(control, phase, total_epochs, batches, history, started), stopping]
        if checkpoint is not None:
            callbacks.append(checkpoints.CheckpointCallback(
                checkpoint, index, stopping, history, lambda: earlier_seconds + time.perf_counter() - started,
                resumed, lambda: control.stop_requested))
        if stream:
            train_data = stream_pipeline(stream, config.batch_size, first_epoch, done_epochs + epochs, augment)
        model.fit(train_data, validation_data=validation_data, epochs=done_epochs + epochs,
                  initial_epoch=first_epoch, callbacks=callbacks, verbose=0, shuffle=False,
                  steps_per_epoch=batches if stream else None)
        done_epochs += epochs
        if control.stop_requested:
            break
    if resumed is not None and resumed["phase"] == len(phases) - 1 and resumed["phase_done"]:
        checkpoints.restore(model, resumed, with_optimizer=False)
    seconds = earlier_seconds + time.perf_counter() - started
    cancelled = control.stop_requested
    if topology is not None:
        model = distributed.local_copy(model)
    _, held_out = held_out_part(splits)
    evaluation = None if cancelled else evaluate(model, held_out.x, held_out.y, class_names)
    card = _make_card(config, model, splits, evaluation, history, device, seconds, base_architecture, stream)
    if checkpoint is not None and not cancelled:
        checkpoint.finish()
    return TrainingResult(model, card, evaluation, splits, cancelled, history)


def save_result(result: TrainingResult, name: str, registry: Registry | None = None,
                activate: bool = False, saved_by: str = "", owner: str = "") -> ModelEntry:
    """Save a finished training under ``name`` (atomically) and optionally make it the active model.

    ``saved_by`` is the name a person typed when saving (shown on the Models page) and ``owner`` the id of
    the Streamlit session that saved it (who may rename or delete it without the teacher key).
    """
    if result.cancelled:
        raise ValueError("a cancelled training is not saved")
    saved_by = " ".join(str(saved_by).split())
    if len(saved_by) > 64 or not saved_by.isprintable():
        raise ValueError(f"the saver's name must be at most 64 printable characters, got {saved_by[:70]!r}")
    registry = registry or Registry()
    card = dataclasses.replace(result.card, name=name, command=_command_named(result.card.command, name),
                               saved_by=saved_by, owner=str(owner))
    entry = registry.save(result.model, card)
    result.card = card  # Only once it is saved: a refused name leaves the result as it was, ready for another.
    if activate:
        from model.registry import RegistryError

        try:
            registry.activate(entry.name)
        except (RegistryError, OSError) as error:
            raise RegistryError(f"the model was saved as {entry.name!r}, but it could not be made the default "
                                f"({error})") from error
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
               history: dict, device: str, seconds: float, base_architecture: str | None,
               stream: DrawingStream | None = None) -> ModelCard:
    counts = {part: stream.counts(part) for part in ("train", "validation", "test")} if stream else \
        {"train": splits.train.counts(), "validation": splits.validation.counts(), "test": splits.test.counts()}
    topology = distributed.current()
    engine = {"processes": 1, "devices": [device], "engine": f"TensorFlow {tf.__version__}"} if topology is None \
        else topology.as_dict()
    data = {
        "source": splits.train.source, "format": splits.train.data_format, "classes": splits.train.class_names,
        "train_counts": counts["train"], "validation_counts": counts["validation"],
        "test_counts": counts["test"], "origins": splits.train.origins, "seed": config.seed,
        "per_class": config.per_class, "validation_fraction": config.validation_fraction,
        "test_fraction": config.test_fraction,
        "training": {"recipe": config.recipe if config.recipe != "auto" else "standard", "streamed": bool(stream),
                     **engine},
    }
    if stream:
        data["evaluated_per_class_limit"] = EVALUATION_PER_CLASS
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
    parser.add_argument("--per-class", type=_per_class, default=1000,
                        help='drawings per class, or "all" (all of each category, streamed)')
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
    parser.add_argument("--recipe", choices=("auto", "standard", "small-data"), default="auto",
                        help="auto: the small-data recipe when a class has fewer than 50 drawings")
    parser.add_argument("--stream", action="store_true",
                        help="read the QuickDraw files in place instead of loading the drawings into memory")
    parser.add_argument("--checkpoint", action="store_true",
                        help="save the run after every epoch; the same command resumes it after a crash")
    parser.add_argument("--processes", type=int, help="train in N local processes (Keras on JAX)")
    parser.add_argument("--coordinator", help="HOST:PORT of process 0, to join a run over several machines")
    parser.add_argument("--num-processes", type=int, help="how many processes the run has in all")
    parser.add_argument("--process-id", type=int, help="this process's number, 0 to N-1")
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
        precision=arguments.precision, recipe=arguments.recipe,
        streaming=arguments.stream or arguments.per_class == 0, checkpoint=arguments.checkpoint,
        processes=arguments.processes or arguments.num_processes or 1,
    )
    return config, arguments.activate


def _per_class(text: str) -> int:
    """A drawings-per-class count from the command line: a whole number, or "all" (0)."""
    if text.strip().lower() == "all":
        return 0
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected a whole number or "all", got {text!r}') from None


def main(argv: list[str] | None = None) -> int:
    """Train from the command line, print test metrics, and save when ``--name`` is given."""
    from data_loader import DataError
    from model.registry import RegistryError

    warnings.showwarning = lambda message, *_, **__: print(f"warning: {message}", file=sys.stderr)
    try:
        config, activate = config_from_arguments(argv)
        if config.name is not None:  # Before training: a name that cannot be saved would waste the training.
            registry = Registry()
            registry.check_new_name(config.name)
            registry.check_writable()
        launched = distributed.dispatch(sys.argv[1:] if argv is None else list(argv))
        if launched is not None:
            return launched
        result = train(config, TrainingControl(_print_progress if distributed.is_first_process() else None))
        if distributed.current() is not None:
            topology = distributed.current()
            print(f"process {topology.process_id} of {topology.processes}: final weights sha256 "
                  f"{distributed.weights_digest(result.model)}", file=sys.stderr, flush=True)
        if not distributed.is_first_process():
            return 0
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
