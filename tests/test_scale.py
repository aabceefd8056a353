"""Tests of training at scale on tiny real slices: streaming, the small-data recipe, several processes, resume.

The multi-process tests start ``python -m model.train --processes 2`` (Keras on JAX, two processes meeting on
127.0.0.1) as subprocesses, then load what they saved here, with the TensorFlow backend, as the app does.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from data_loader.quickdraw import load_strokes, open_bitmaps
from data_loader.raster import render_many
from data_loader.stream import DrawingStream, part_codes
from model.config import TrainConfig
from model.train import config_from_arguments, small_data_recipe, train
from ui.choices import config_from_choices

REPOSITORY = Path(__file__).resolve().parents[1]
FINE_TUNE = "Fine-tuning: feature extraction, then also retrain the top convolutional block"


def test_the_split_rule_puts_each_drawing_in_one_part_the_same_way_for_the_same_seed(data_root: Path) -> None:
    indices = np.arange(20_000)
    codes = part_codes("cat", indices, 7, 0.1, 0.1)
    assert set(np.unique(codes)) == {0, 1, 2}
    assert abs(np.mean(codes == 2) - 0.1) < 0.01 and abs(np.mean(codes == 1) - 0.1) < 0.01
    assert np.array_equal(codes, part_codes("cat", indices, 7, 0.1, 0.1)), "same seed, same parts"
    assert np.array_equal(codes[5000:6000], part_codes("cat", indices[5000:6000], 7, 0.1, 0.1)), "no context needed"
    assert np.mean(codes != part_codes("cat", indices, 8, 0.1, 0.1)) > 0.1, "another seed, other parts"
    assert np.mean(codes != part_codes("dog", indices, 7, 0.1, 0.1)) > 0.1, "each category has its own draw"

    stream = DrawingStream(["apple", "horse"], per_class=0, seed=3, root=data_root)
    again = DrawingStream(["apple", "horse"], per_class=0, seed=3, root=data_root)
    for label, name in enumerate(stream.class_names):
        parts = [set(stream.indices[part][label].tolist()) for part in ("train", "validation", "test")]
        assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2]), "no drawing in two parts"
        assert sum(map(len, parts)) == len(open_bitmaps(Path(stream.origins[name]))), "every drawing has a part"
        for part in ("train", "validation", "test"):
            assert np.array_equal(stream.indices[part][label], again.indices[part][label])


def test_a_streamed_epoch_is_balanced_deterministic_and_read_from_the_files(data_root: Path) -> None:
    stream = DrawingStream(["apple", "horse", "eye"], per_class=600, seed=1, root=data_root)
    blocks = list(stream.epoch_blocks(0, batch_size=32))
    labels = np.concatenate([labels for _, labels in blocks])
    assert len(labels) == stream.epoch_size(32) and len(labels) % 32 == 0
    assert np.ptp(np.bincount(labels)) <= 1, "every class gives the same number of drawings"
    again = list(stream.epoch_blocks(0, batch_size=32))
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(blocks, again, strict=True)), "deterministic"
    later = np.concatenate([images for images, _ in stream.epoch_blocks(1, batch_size=32)])
    assert not np.array_equal(later, np.concatenate([images for images, _ in blocks])), "a new order each epoch"
    bitmaps = open_bitmaps(Path(stream.origins["horse"]))
    train_rows = set(stream.indices["train"][1].tolist())
    horses = np.concatenate([images[labels == 1] for images, labels in blocks])
    assert all(any(np.array_equal(horse.reshape(-1), bitmaps[row]) for row in train_rows) for horse in horses[:5])

    strokes = DrawingStream(["star", "umbrella"], "strokes", root=data_root)
    drawings, _ = load_strokes(data_root, "star", 100)
    rows = np.arange(len(drawings))
    assert np.array_equal(strokes.files[0].read(rows), render_many(drawings, "quickdraw", simplified=True))


def test_a_streamed_training_learns_and_its_card_counts_the_streamed_parts(data_root: Path) -> None:
    config = TrainConfig(classes=["apple", "eye", "rainbow"], per_class=200, architecture="book", epochs=2,
                         batch_size=32, data_dir=str(data_root), streaming=True, precision="float32")
    result = train(config)
    stream = DrawingStream(config.classes, per_class=200, root=data_root)
    assert result.card.data["train_counts"] == stream.counts("train")
    assert result.card.data["training"]["streamed"] is True
    assert result.evaluation.top1 > 0.7 and len(result.evaluation.labels) == sum(stream.counts("test").values())
    assert "--stream" in result.card.command and len(result.card.history["loss"]) == 2


def test_page_and_command_line_choose_the_same_small_data_recipe(tmp_path: Path, data_root: Path) -> None:
    dataset = str(tmp_path / "mine.npz")
    page = config_from_choices("My own drawings", [], 0, "doodle", 5, 128, 2e-3, False, 0.5, 0.3, FINE_TUNE,
                               base="quickdraw18", dataset_file=dataset)
    cli, _ = config_from_arguments(["--source", "file", "--dataset", dataset, "--base", "quickdraw18"])
    for drawings in (10, 49):
        chosen = small_data_recipe(page, drawings)
        assert chosen == small_data_recipe(cli, drawings)
        assert (chosen.epochs, chosen.batch_size, chosen.learning_rate, chosen.augment) == (25, 16, 3e-3, True)
        assert chosen.test_fraction == 0 and chosen.patience >= chosen.epochs + chosen.fine_tune_epochs
    assert small_data_recipe(page, 50) == page and small_data_recipe(cli, 50) == cli
    assert small_data_recipe(TrainConfig(classes=["a", "b"], recipe="standard"), 10).epochs == 10

    # Inside train(): --per-class 12 is small data, and the card's command reproduces the recipe.
    result = train(TrainConfig(classes=["apple", "eye"], per_class=12, architecture="book", epochs=1,
                               data_dir=str(data_root), precision="float32"))
    assert len(result.card.history["loss"]) == 25 and result.card.data["training"]["recipe"] == "small-data"
    assert "--recipe small-data" in result.card.command and result.card.data["test_counts"] == {"apple": 0, "eye": 0}


def test_the_new_command_line_options_round_trip_through_the_card_command() -> None:
    config, _ = config_from_arguments(["--classes", "cat,dog", "--per-class", "all", "--processes", "4",
                                       "--checkpoint", "--recipe", "standard"])
    assert (config.per_class, config.streaming, config.processes, config.checkpoint) == (0, True, 4, True)
    assert "--per-class all" in config.command() and "--stream" in config.command()
    assert config_from_arguments(shlex.split(config.command())[3:])[0] == config
    joined, _ = config_from_arguments(["--classes", "cat,dog", "--coordinator", "10.0.0.1:1234", "--num-processes",
                                       "3", "--process-id", "2"])
    assert joined.processes == 3 and "--coordinator" not in joined.command(), "one run folder for every process"
    with pytest.raises(ValueError, match="0 for all of them, when streaming"):
        TrainConfig(classes=["cat", "dog"], per_class=0)


def _command(name: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "model.train", "--classes", "apple,eye,rainbow", "--per-class", "300", "--arch",
            "book", "--epochs", "3", "--batch-size", "32", "--dropout", "0", "--precision", "float32", "--name", name,
            *extra]


def _run(command: list[str], environment: dict) -> str:
    finished = subprocess.run(command, cwd=REPOSITORY, env=environment, capture_output=True, text=True, timeout=900,
                              check=False)
    assert finished.returncode == 0, finished.stderr[-3000:]
    return finished.stderr


def _digests(log: str) -> dict[str, str]:
    return dict(re.findall(r"process (\d) of 2: final weights sha256 (\w+)", log))


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory: pytest.TempPathFactory, data_root: Path):
    """One uninterrupted run in two processes (saved as "two"), with its registry, environment and log."""
    from model.registry import Registry

    folder = tmp_path_factory.mktemp("scale")
    environment = {**os.environ, "DOODLE_MODELS_DIR": str(folder / "models"), "DOODLE_RUNS_DIR": str(folder / "runs"),
                   "DOODLE_DATA_DIR": str(data_root), "TF_CPP_MIN_LOG_LEVEL": "2"}
    log = _run(_command("two", "--processes", "2", "--checkpoint"), environment)
    return Registry(folder / "models"), environment, log


@pytest.mark.slow
def test_two_processes_train_one_model_that_the_tensorflow_app_loads(two_process_run) -> None:
    registry, environment, log = two_process_run
    digests = _digests(log)
    assert set(digests) == {"0", "1"} and digests["0"] == digests["1"], "both processes end with the same weights"
    _run(_command("one", "--processes", "1"), environment)

    from data_loader import build_splits
    from model.predict import batch_probabilities
    from model.registry import load_model

    two, card = load_model(registry.get("two"))  # With the TensorFlow backend, as in the app.
    one, _ = load_model(registry.get("one"))
    assert card.data["training"]["processes"] == 2 and len(card.data["training"]["devices"]) == 2
    assert "JAX" in card.data["training"]["engine"] and card.device.startswith("2 processes")
    test = build_splits("quickdraw", card.class_names, 300, seed=0, root=environment["DOODLE_DATA_DIR"]).test
    probabilities = batch_probabilities(two, test.x)
    # The same network on the same drawings in TensorFlow gives the accuracy JAX measured after training:
    # float32 arithmetic differs in the last bits only, far from changing a guess.
    guesses = probabilities.argmax(axis=1)
    assert round(float(np.mean(guesses == test.y)), 4) == card.metrics["test_top1"]
    confusion = np.bincount(test.y * 3 + guesses, minlength=9).reshape(3, 3)
    assert confusion.tolist() == card.metrics["confusion"], "every test drawing gets the same guess as in JAX"
    # One process with the same global batches computes the same gradients, summed in another order: the
    # rounding differences (about 1e-7) grow over ~80 steps but stay far below changing a guess.
    reference = batch_probabilities(one, test.x)
    assert np.abs(probabilities - reference).max() < 0.05
    assert np.mean(probabilities.argmax(axis=1) == reference.argmax(axis=1)) >= 0.95


@pytest.mark.slow
def test_a_run_killed_mid_epoch_resumes_from_its_checkpoint_and_ends_like_an_uninterrupted_one(
        two_process_run) -> None:
    registry, environment, _ = two_process_run
    command = _command("resumed", "--processes", "2", "--checkpoint")
    launcher = subprocess.Popen(command, cwd=REPOSITORY, env=environment, stderr=subprocess.PIPE, text=True)
    started = next(line for line in launcher.stderr if line.startswith("started "))
    workers = [int(pid) for pid in re.findall(r"\d+", started.split("[")[1].split("]")[0])]
    runs = Path(environment["DOODLE_RUNS_DIR"])
    deadline = time.monotonic() + 600
    while not list(runs.glob("*/checkpoint.npz")) and time.monotonic() < deadline and launcher.poll() is None:
        time.sleep(0.05)
    assert list(runs.glob("*/checkpoint.npz")), "a checkpoint is written after the first epoch"
    time.sleep(0.5)  # Into the second epoch.
    os.kill(workers[1], signal.SIGKILL)
    launcher.stderr.read()
    assert launcher.wait(timeout=120) == 1, "the launcher reports the dead worker and stops the other"
    assert "resumed" not in registry.names()
    from model.checkpoints import RunCheckpoint

    os.environ["DOODLE_RUNS_DIR"] = environment["DOODLE_RUNS_DIR"]
    try:
        saved = RunCheckpoint(config_from_arguments(command[3:])[0]).load()
    finally:
        del os.environ["DOODLE_RUNS_DIR"]
    assert saved is not None and 1 <= saved["epoch"] < 3, "killed after a checkpoint, before the run finished"

    log = _run(command, environment)  # The same command again: it resumes.
    assert _digests(log)["0"] == _digests(log)["1"]
    assert not list(runs.glob("*/checkpoint.npz")), "a finished run removes its checkpoint"
    resumed, straight = registry.get("resumed").card, registry.get("two").card
    for field in ("class_names", "architecture", "data", "parameters", "device", "transfer", "recipe", "history",
                  "metrics"):
        assert getattr(resumed, field) == getattr(straight, field), field
    assert resumed.command.replace("--name resumed", "--name two") == straight.command
