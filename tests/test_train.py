"""Tests of the trainer on tiny real slices: it learns, reports progress, cancels, and transfers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model.config import TrainConfig
from model.train import Progress, TrainingControl, config_from_arguments, save_result, train


def test_a_short_training_learns_well_above_chance(tiny_training) -> None:
    result = tiny_training
    assert not result.cancelled
    assert result.evaluation.top1 > 0.8, "3 easy classes: far above the 33% of chance"
    assert result.card.class_names == ["apple", "eye", "rainbow"]
    assert result.card.recipe == "quickdraw" and result.card.architecture == "book"
    assert result.card.data["train_counts"] == {"apple": 120, "eye": 120, "rainbow": 120}
    assert set(result.card.metrics["per_class"]) == {"apple", "eye", "rainbow"}
    assert len(result.card.history["loss"]) == 3 and "val_accuracy" in result.card.history
    assert result.card.device.startswith(("CPU", "GPU"))
    assert result.card.command.startswith("python -m model.train --source quickdraw --classes apple,eye,rainbow")


def test_progress_reaches_the_callback_and_cancel_stops_without_saving(data_root: Path, registry) -> None:
    reports: list[Progress] = []

    def on_progress(progress: Progress) -> None:
        reports.append(progress)
        if progress.epoch == 1 and progress.batch >= 2:
            control.stop()

    control = TrainingControl(on_progress, batch_interval=1)
    config = TrainConfig(classes=["apple", "eye"], per_class=200, architecture="book", epochs=20,
                         batch_size=16, data_dir=str(data_root))
    result = train(config, control)
    assert result.cancelled and result.evaluation is None
    assert max(report.epoch for report in reports) == 1, "it stopped within the first epoch"
    assert reports[0].batches == int(np.ceil(320 / 16)) and reports[0].metrics
    with pytest.raises(ValueError, match="cancelled"):
        save_result(result, "should-not-exist", registry)
    assert registry.names() == [name for name in registry.names() if name != "should-not-exist"]
    assert not (registry.folder / "should-not-exist").exists()


def test_feature_extraction_freezes_the_base_and_fine_tuning_unfreezes_the_top_block(
        tiny_training, data_root: Path, registry) -> None:
    save_result(tiny_training, "base3", registry)
    config = TrainConfig(classes=["fish", "flower"], per_class=60, epochs=1, batch_size=32, base="base3",
                         transfer="feature_extraction", data_dir=str(data_root))
    extracted = train(config)
    trainable = {layer.name for layer in extracted.model.layers if layer.trainable and layer.weights}
    assert trainable == {"predictions"}, "only the new classifier learns"
    base_weights = registry.get("base3")
    assert extracted.card.base_model == "base3" and extracted.card.architecture == "book"
    assert extracted.card.class_names == ["fish", "flower"] and base_weights.card.num_classes == 3

    tuned = train(TrainConfig(classes=["fish", "flower"], per_class=60, epochs=1, fine_tune_epochs=1,
                              batch_size=32, base="base3", transfer="fine_tuning", data_dir=str(data_root)))
    trainable = {layer.name for layer in tuned.model.layers if layer.trainable and layer.weights}
    assert trainable == {"conv3", "predictions"}, "the top convolutional block is unfrozen"
    assert len(tuned.card.history["loss"]) == 2


def test_cli_arguments_build_the_same_config_as_the_dataclass() -> None:
    config, activate = config_from_arguments(
        ["--classes", "cat,house plant", "--per-class", "300", "--arch", "lecture", "--epochs", "4",
         "--augment", "--augment-strength", "0.7", "--name", "pets", "--activate"])
    assert config == TrainConfig(classes=["cat", "house plant"], per_class=300, architecture="lecture", epochs=4,
                                 augment=True, augment_strength=0.7, name="pets")
    assert activate
    again, _ = config_from_arguments(_split(config.command()))
    assert again == config


def _split(command: str) -> list[str]:
    import shlex

    return shlex.split(command)[3:]


@pytest.mark.parametrize(("settings", "message"), [
    ({"classes": ["cat"]}, "at least two classes"),
    ({"per_class": 0}, "at least 1"),
    ({"architecture": "vgg16"}, "architecture must be one of book, lecture, doodle"),
    ({"epochs": 0}, "epochs"),
    ({"learning_rate": 0}, "learning rate"),
    ({"dropout": 1.0}, "dropout"),
    ({"transfer": "fine_tuning"}, "needs a base model"),
    ({"source": "imagenet"}, "source must be one of"),
])
def test_bad_settings_are_refused_with_a_clear_message(settings: dict, message: str) -> None:
    arguments = {"classes": ["cat", "dog"], **settings}
    with pytest.raises(ValueError, match=message):
        TrainConfig(**arguments)


def test_too_few_drawings_to_keep_any_aside_is_a_clear_error(data_root: Path) -> None:
    config = TrainConfig(classes=["cat", "dog"], per_class=2, architecture="book", epochs=1, data_dir=str(data_root))
    with pytest.raises(ValueError, match="too few drawings"):
        train(config)


def test_training_cli_trains_saves_and_reports_test_metrics(data_root: Path, registry, capsys) -> None:
    from model.train import main as train_main

    code = train_main(["--source", "quickdraw", "--classes", "apple,rainbow", "--per-class", "60", "--arch", "book",
                       "--epochs", "2", "--precision", "float32", "--data-dir", str(data_root), "--name", "cli-made"])
    output = capsys.readouterr().out
    assert code == 0, output
    assert "test top-1" in output and "saved as 'cli-made'" in output
    card = registry.get("cli-made").card
    assert card.class_names == ["apple", "rainbow"] and card.data["test_counts"] == {"apple": 6, "rainbow": 6}
    assert card.command.endswith("--name cli-made") and "--per-class 60" in card.command
    assert train_main(["--source", "quickdraw", "--classes", "apple,rainbow", "--per-class", "60", "--arch", "book",
                       "--data-dir", str(data_root), "--name", "cli-made"]) == 1
    assert "already exists" in capsys.readouterr().err
