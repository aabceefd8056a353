"""Tests for model.architectures: exact parameter counts, layer names, the registry and its errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from model import architectures
from model.architectures import ARCHITECTURES, REFERENCE, TRAINABLE, build


def book_parameters(classes: int) -> int:
    """Chollet's MNIST convnet counted by hand: three convolutions, a 576->64 dense layer, the classifier."""
    convolutions = (3 * 3 * 1 * 32 + 32) + (3 * 3 * 32 * 64 + 64) + (3 * 3 * 64 * 64 + 64)
    return convolutions + (3 * 3 * 64 * 64 + 64) + (64 * classes + classes)


def lecture_parameters(classes: int) -> int:
    """Two padded convolutions, a 7x7x64 = 3136 -> 128 dense layer, the classifier."""
    convolutions = (3 * 3 * 1 * 32 + 32) + (3 * 3 * 32 * 64 + 64)
    return convolutions + (3136 * 128 + 128) + (128 * classes + classes)


def doodle_parameters(classes: int) -> int:
    """Six bias-free convolutions, six batch norms with four numbers per channel, a 128-wide classifier."""
    widths = [(1, 32), (32, 32), (32, 64), (64, 64), (64, 128), (128, 128)]
    convolutions = sum(3 * 3 * inputs * filters for inputs, filters in widths)
    batch_norms = sum(4 * filters for _, filters in widths)
    return convolutions + batch_norms + 128 * classes + classes


def test_registry_lists_every_architecture_once():
    assert set(ARCHITECTURES) == set(TRAINABLE) | set(REFERENCE)
    assert not set(TRAINABLE) & set(REFERENCE)
    for name, architecture in ARCHITECTURES.items():
        assert architecture.name == name
        assert architecture.trainable_here == (name in TRAINABLE)
        assert architecture.description.endswith(".") and "\n" not in architecture.description
        if architecture.trainable_here:
            assert architecture.input_shape == (28, 28, 1)


def test_published_parameter_counts_for_ten_classes():
    assert build("book").count_params() == 93_322 == book_parameters(10)
    assert build("lecture").count_params() == 421_642 == lecture_parameters(10)
    assert build("lenet5").count_params() == 61_706


@pytest.mark.parametrize("classes", [2, 18, 345])
def test_parameter_counts_scale_with_the_number_of_classes(classes):
    assert build("book", classes).count_params() == book_parameters(classes)
    assert build("lecture", classes).count_params() == lecture_parameters(classes)
    assert build("doodle", classes).count_params() == doodle_parameters(classes)


def test_doodle_is_a_small_model():
    assert 100_000 <= build("doodle", 18).count_params() <= 400_000


@pytest.mark.parametrize("name", TRAINABLE)
def test_dropout_adds_a_layer_but_no_parameters(name):
    plain, dropped = build(name, 18), build(name, 18, dropout=0.4)
    assert plain.count_params() == dropped.count_params()
    assert "dropout" not in [layer.name for layer in plain.layers]
    assert dropped.get_layer("dropout").rate == pytest.approx(0.4)
    assert dropped.layers[-2].name == "dropout"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("book", ["conv1", "pool1", "conv2", "pool2", "conv3", "flatten", "dense1", "predictions"]),
        ("lecture", ["conv1", "pool1", "conv2", "pool2", "flatten", "dense1", "predictions"]),
        ("doodle", [f"block{b}_{kind}{i}" for b in (1, 2, 3) for kind in ("conv", "bn", "relu") for i in (1, 2)]
         + ["block1_pool", "block2_pool", "global_pool", "predictions"]),
        ("lenet5", ["c1_conv", "s2_pool", "c3_conv", "s4_pool", "c5_conv", "flatten", "f6_dense", "predictions"]),
    ],
)
def test_layers_have_meaningful_names(name, expected):
    names = [layer.name for layer in build(name).layers]
    assert set(expected) <= set(names)


@pytest.mark.parametrize("name", TRAINABLE)
def test_trainable_models_take_drawings_and_return_probabilities(name):
    model = build(name, 18, dropout=0.2)
    assert tuple(model.inputs[0].shape) == (None, 28, 28, 1)
    assert model.layers[-1].name == "predictions"
    drawings = np.random.default_rng(0).random((3, 28, 28, 1)).astype("float32")
    probabilities = keras.ops.convert_to_numpy(model(drawings, training=False))
    assert probabilities.shape == (3, 18)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_convolutional_base_and_top_block():
    book, lecture, doodle = build("book"), build("lecture"), build("doodle")
    assert architectures.convolutional_base_end(book) == "flatten"
    assert architectures.convolutional_base_end(lecture) == "flatten"
    assert architectures.convolutional_base_end(doodle) == "global_pool"
    assert architectures.top_conv_block(book) == ["conv3"]
    assert architectures.top_conv_block(lecture) == ["conv2"]
    assert architectures.top_conv_block(doodle) == ["block3_conv1", "block3_bn1", "block3_conv2", "block3_bn2"]
    assert architectures.top_conv_block(build("lenet5")) == ["c5_conv"]


def test_model_without_a_convolutional_base_is_refused():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    with pytest.raises(ValueError, match="Flatten or global pooling"):
        architectures.convolutional_base_end(model)


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="choose one of: book, lecture, doodle, lenet5, vgg16"):
        build("alexnet")


@pytest.mark.parametrize("classes", [1, 0, -3, 2.5, True])
def test_bad_class_counts_are_refused(classes):
    with pytest.raises(ValueError, match="num_classes"):
        build("book", classes)


def test_bad_dropout_is_refused():
    with pytest.raises(ValueError, match="dropout"):
        build("doodle", 10, dropout=1.0)
    with pytest.raises(ValueError, match="reference model"):
        build("lenet5", dropout=0.5)
