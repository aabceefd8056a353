"""Unit tests of turning the Train page's choices into a TrainConfig."""

from __future__ import annotations

import pytest

from model.config import TrainConfig
from model.train import small_data_recipe
from ui.choices import DATA_SOURCES, STARTS, config_from_choices

SCRATCH, EXTRACT, FINE_TUNE = list(STARTS)


def test_quickdraw_from_scratch() -> None:
    config = config_from_choices("QuickDraw doodles", ["cat", "house plant"], 500, "book", 4, 64, 1e-3, False, 0.5,
                                 0.2, SCRATCH)
    assert config == TrainConfig(classes=["cat", "house plant"], source="quickdraw", per_class=500,
                                 architecture="book", epochs=4, batch_size=64, learning_rate=1e-3, dropout=0.2,
                                 fine_tune_epochs=5)
    assert config.base is None and config.transfer == "scratch"


def test_mnist_with_augmentation_and_feature_extraction() -> None:
    config = config_from_choices("MNIST digits", ["3", "8"], 300, "doodle", 6, 128, 2e-3, True, 0.7, 0.3, EXTRACT,
                                 base="mnist")
    assert (config.source, config.classes, config.augment, config.augment_strength) == ("mnist", ["3", "8"], True, 0.7)
    assert (config.transfer, config.base) == ("feature_extraction", "mnist")
    assert config.command().startswith("python -m model.train --source mnist --classes 3,8 --per-class 300")


def test_own_drawings_fine_tuning_keeps_no_test_part_and_no_early_stop() -> None:
    config = config_from_choices("My own drawings", [], 0, "doodle", 20, 16, 3e-3, False, 0.5, 0.3, FINE_TUNE,
                                 base="quickdraw18", dataset_file="/tmp/drawings.npz")
    assert (config.source, config.dataset_file, config.transfer) == ("file", "/tmp/drawings.npz", "fine_tuning")
    chosen = small_data_recipe(config, 10)  # The trainer's choice for 10 drawings a class.
    assert chosen.test_fraction == 0 and chosen.validation_fraction == 0.2
    assert chosen.patience >= chosen.epochs + chosen.fine_tune_epochs
    assert "--dataset /tmp/drawings.npz" in config.command() and "--base quickdraw18" in config.command()


def test_scratch_ignores_a_leftover_base_choice() -> None:
    config = config_from_choices("QuickDraw doodles", ["cat", "dog"], 100, "doodle", 1, 32, 1e-3, False, 0.5, 0.3,
                                 SCRATCH, base="quickdraw18")
    assert config.base is None


@pytest.mark.parametrize(("arguments", "message"), [
    (("QuickDraw doodles", ["cat"], 100, "doodle", 1, 32, 1e-3, False, 0.5, 0.3, SCRATCH), "at least two classes"),
    (("My own drawings", [], 0, "doodle", 1, 32, 1e-3, False, 0.5, 0.3, FINE_TUNE, "quickdraw18"), "draw at least 10"),
    (("Photos", ["a", "b"], 1, "doodle", 1, 32, 1e-3, False, 0.5, 0.3, SCRATCH), "unknown data choice"),
    (("QuickDraw doodles", ["cat", "dog"], 100, "doodle", 1, 32, 1e-3, False, 0.5, 0.3, FINE_TUNE), "needs a base"),
    (("QuickDraw doodles", ["cat", "dog"], 100, "resnet50", 1, 32, 1e-3, False, 0.5, 0.3, SCRATCH), "architecture"),
])
def test_missing_or_bad_choices_say_what_is_wrong(arguments: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        config_from_choices(*arguments)


def test_every_data_label_maps_to_a_source() -> None:
    assert set(DATA_SOURCES.values()) == {"quickdraw", "mnist", "file"}
