"""Tests for model.introspection: parameter formulas, activations, filter and class patterns, Grad-CAM."""

from __future__ import annotations

import os
import re
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from model import introspection
from model.architectures import ARCHITECTURES, build

DATA_DIR = Path(os.environ.get("DOODLE_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data")
BITMAPS = DATA_DIR / "quickdraw" / "numpy_bitmap"
PUBLISHED_TOTALS = {
    "vgg16": 138_357_544,
    "vgg19": 143_667_240,
    "resnet50": 25_636_712,
    "inception_v3": 23_851_784,
    "mobilenet_v2": 3_538_984,
}


@pytest.fixture(scope="module")
def models() -> dict[str, keras.Model]:
    """Every registered architecture, built once for the whole module (the big ones take seconds).

    The seed fixes the random weights, so that the gradient-ascent tests see the same untrained filters each run.
    """
    keras.utils.set_random_seed(0)
    return {name: build(name) for name in ARCHITECTURES}


@pytest.fixture(scope="module")
def pasted_drawings():
    """Real drawings of three classes shrunk to 14x14 and pasted into a random quadrant of a blank canvas.

    Returns (training images, training labels, test images, test quadrant masks).
    """
    names = ["apple", "rainbow", "clock"]
    if not all((BITMAPS / f"{name}.npy").exists() for name in names):
        pytest.skip(f"QuickDraw bitmaps not found under {BITMAPS}")
    random = np.random.default_rng(0)

    def paste(drawings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        small = drawings.reshape(-1, 14, 2, 14, 2).mean(axis=(2, 4)) / 255.0
        canvases = np.zeros((len(drawings), 28, 28), np.float32)
        masks = np.zeros((len(drawings), 28, 28), bool)
        for canvas, mask, drawing, (row, column) in zip(
            canvases, masks, small, random.integers(0, 2, (len(drawings), 2)) * 14, strict=True
        ):
            canvas[row : row + 14, column : column + 14] = drawing
            mask[row : row + 14, column : column + 14] = True
        return canvases, masks

    bitmaps = [np.load(BITMAPS / f"{name}.npy", mmap_mode="r") for name in names]
    train, _ = paste(np.concatenate([np.asarray(b[:300], np.float32) for b in bitmaps]))
    test, test_masks = paste(np.concatenate([np.asarray(b[-20:], np.float32) for b in bitmaps]))
    return train, np.repeat(np.arange(3), 300), test, test_masks


@pytest.fixture(scope="module")
def trained_lecture(pasted_drawings) -> keras.Model:
    """The lecture convnet after two quick epochs on the pasted drawings (a few seconds)."""
    train, labels, _, _ = pasted_drawings
    keras.utils.set_random_seed(0)
    model = build("lecture", 3)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(train[..., None], labels, epochs=2, batch_size=32, verbose=0)
    return model


def stated_number(formula: str) -> int:
    """Read the count a formula ends with: "3×3×1×32 + 32 = 320" gives 320, "0" gives 0."""
    return 0 if formula == "0" else int(re.search(r"= ([\d,]+)", formula).group(1).replace(",", ""))


def test_every_formula_states_the_keras_count(models):
    for model in models.values():
        for entry, layer in zip(introspection.parameter_breakdown(model), model.layers, strict=True):
            assert entry.name == layer.name
            assert stated_number(entry.formula) == entry.parameters == layer.count_params(), entry
            assert entry.trainable_parameters + entry.non_trainable_parameters == entry.parameters
            arithmetic = entry.formula.split(" = ")[0]
            if re.fullmatch(r"[\d×+ ]+", arithmetic):  # the left side really adds up to the count
                assert eval(arithmetic.replace("×", "*")) == entry.parameters, entry


def test_formulas_read_like_the_lesson(models):
    lecture = {entry.name: entry for entry in introspection.parameter_breakdown(models["lecture"])}
    assert lecture["conv1"].formula == "3×3×1×32 + 32 = 320"
    assert lecture["dense1"].formula == "3136×128 + 128 = 401,536"
    assert lecture["pool1"].formula == "0"
    assert lecture["conv1"].output_shape == (28, 28, 32) and lecture["flatten"].output_shape == (3136,)
    doodle = {entry.name: entry for entry in introspection.parameter_breakdown(models["doodle"])}
    assert doodle["block2_bn1"].formula == "4×64 = 256 (γ, β trainable; moving mean and variance non-trainable)"
    assert (doodle["block2_bn1"].trainable_parameters, doodle["block2_bn1"].non_trainable_parameters) == (128, 128)
    assert doodle["block2_conv1"].formula == "3×3×32×64 = 18,432"
    mobilenet = {entry.name: entry for entry in introspection.parameter_breakdown(models["mobilenet_v2"])}
    assert mobilenet["expanded_conv_depthwise"].type == "DepthwiseConv2D"
    assert mobilenet["expanded_conv_depthwise"].formula == "3×3×32×1 = 288"


def test_separable_and_nested_layers():
    inputs = keras.Input((12, 12, 8))
    separable = keras.layers.SeparableConv2D(16, 3, name="separable")(inputs)
    inner = keras.Model(inputs, separable, name="inner")
    outer_inputs = keras.Input((12, 12, 8))
    outer = keras.Model(outer_inputs, keras.layers.Flatten()(inner(outer_inputs)))
    entries = {entry.name: entry for entry in introspection.parameter_breakdown(inner)}
    assert entries["separable"].formula == "3×3×8×1 + 1×1×8×16 + 16 = 216"
    nested = {entry.name: entry for entry in introspection.parameter_breakdown(outer)}["inner"]
    assert nested.formula == "sum of sublayers: 216 = 216"
    assert introspection.parameter_summary(outer)["convolutional"] == 216


def test_summary_totals_match_keras(models):
    for model in models.values():
        summary = introspection.parameter_summary(model)
        assert summary["total"] == model.count_params()
        assert summary["trainable"] + summary["non_trainable"] == summary["total"]
        assert summary["dense"] + summary["convolutional"] + summary["other"] == summary["total"]
        shares = summary["dense_share"] + summary["convolutional_share"] + summary["other_share"]
        assert shares == pytest.approx(1.0)


def test_keras_applications_have_their_published_sizes(models):
    for name, total in PUBLISHED_TOTALS.items():
        assert introspection.parameter_summary(models[name])["total"] == total, name


def test_vgg16_keeps_most_weights_in_its_dense_layers(models):
    summary = introspection.parameter_summary(models["vgg16"])
    assert summary["dense"] == 123_642_856
    assert summary["dense_share"] == pytest.approx(0.8936, abs=0.001)
    assert summary["convolutional"] == 14_714_688


def test_frozen_layers_count_as_non_trainable():
    model = build("book")
    model.get_layer("conv1").trainable = False
    summary = introspection.parameter_summary(model)
    assert (summary["trainable"], summary["non_trainable"]) == (93_322 - 320, 320)
    conv1 = introspection.parameter_breakdown(model)[1]
    assert (conv1.trainable_parameters, conv1.non_trainable_parameters) == (0, 320)
    assert (summary["frozen"], summary["moving_statistics"]) == (320, 0)
    doodle = introspection.parameter_summary(build("doodle"))
    assert doodle["non_trainable"] == 2 * (32 + 32 + 64 + 64 + 128 + 128)  # moving means and variances
    assert (doodle["moving_statistics"], doodle["frozen"]) == (doodle["non_trainable"], 0)


def test_parameter_notes_follow_the_model(models):
    book = " ".join(introspection.parameter_notes(models["book"]))
    assert "+ one bias per filter" in book and "Flatten after a large map is costly" in book
    assert "batch normalisation" not in book
    doodle = " ".join(introspection.parameter_notes(models["doodle"]))
    assert "6 of its 6 convolutions have no bias because a batch normalisation follows each one" in doodle
    assert "Global pooling keeps one number per map" in doodle and "Flatten" not in doodle
    assert "Its 896 non-trainable parameters are batch normalisation's 896 moving means and variances" in doodle


@pytest.mark.parametrize("name", ["book", "lecture", "doodle"])
def test_activations_match_one_model_per_layer(models, name):
    model = models[name]
    image = np.random.default_rng(1).random((28, 28)).astype(np.float32)
    maps = introspection.activations(model, image)
    mapped = [layer for layer in model.layers[1:] if len(layer.output.shape) == 4]  # every layer with maps
    assert [entry.name for entry in maps] == [layer.name for layer in mapped] == \
        introspection.feature_map_layers(model)
    for entry, layer in zip(maps, mapped, strict=True):
        assert entry.output_shape == tuple(layer.output.shape[1:]) == entry.array.shape
        assert entry.type == type(layer).__name__
        alone = keras.Model(model.inputs, layer.output)([image[None, :, :, None]], training=False)
        np.testing.assert_allclose(entry.array, np.asarray(alone)[0], rtol=1e-4, atol=1e-5)
    assert introspection.activation_model(model) is introspection.activation_model(model)


def test_each_layer_says_what_changed(models):
    book = {entry.name: entry.change for entry in introspection.activations(models["book"], np.zeros((28, 28)))}
    assert book["conv1"] == ("32 filters, each 3×3×1, slide over the input map: resolution shrinks (28×28 → 26×26); "
                             "channels grow from 1 to 32.")
    assert book["pool1"] == ("Keeps the largest value of each 2×2 window: resolution halves (26×26 → 13×13); "
                             "the 32 channels stay.")
    doodle = {entry.name: entry.change for entry in introspection.activations(models["doodle"], np.zeros((28, 28)))}
    assert doodle["block1_conv1"].endswith("same 28×28 resolution; channels grow from 1 to 32.")
    assert doodle["block1_bn1"].startswith("Shifts and scales every map")
    assert doodle["block1_relu1"].startswith("Sets every negative value to zero")
    assert doodle["block2_conv1"].endswith("channels grow from 32 to 64.")
    assert doodle["block2_pool"].endswith("resolution halves (14×14 → 7×7); the 64 channels stay.")


def test_uint8_images_are_divided_by_255(models):
    pixels = np.random.default_rng(2).integers(0, 256, (28, 28), dtype=np.uint8)
    as_bytes = introspection.activations(models["book"], pixels)
    as_floats = introspection.activations(models["book"], (pixels / 255.0)[..., None])
    for first, second in zip(as_bytes, as_floats, strict=True):
        np.testing.assert_allclose(first.array, second.array, rtol=1e-5, atol=1e-6)


def test_first_layer_filters(models):
    filters = introspection.first_layer_filters(models["book"])
    assert filters.shape == (3, 3, 1, 32)
    np.testing.assert_array_equal(filters, np.asarray(models["book"].get_layer("conv1").kernel))
    assert introspection.first_layer_filters(models["lenet5"]).shape == (5, 5, 1, 6)


@pytest.mark.parametrize(("name", "layer_name"), [("book", "conv2"), ("doodle", "block2_relu1")])
def test_filter_patterns_raise_their_filters_activations(models, name, layer_name):
    model = models[name]
    extractor = keras.Model(model.inputs, model.get_layer(layer_name).output)

    def activation(images: np.ndarray) -> np.ndarray:
        return np.asarray(extractor([images[..., None]], training=False)).mean(axis=(1, 2))

    start = np.random.default_rng(0).uniform(0.0, 0.2, (1, 28, 28)).astype(np.float32)
    chosen = [int(index) for index in np.argsort(activation(start)[0])[-3:]]  # alive on faint noise
    shown = introspection.filter_patterns(model, layer_name, chosen)
    assert shown.shape == (28, 28, 3) and np.isfinite(shown).all()
    assert shown.min() >= 0.0 and shown.max() <= 1.0
    raw = introspection.filter_patterns(model, layer_name, chosen, normalize=False)
    assert raw.min() >= 0.0 and raw.max() <= 1.0, "pixels stay in the range of ink"
    raised = activation(np.moveaxis(raw, -1, 0))
    for position, index in enumerate(chosen):
        assert raised[position, index] > activation(start)[0, index] + 1e-3, (index, raised[position, index])
    single = introspection.filter_pattern(model, layer_name, chosen[0])
    assert single.shape == (28, 28)


def test_class_pattern_is_a_drawing_the_model_likes(trained_lecture):
    blank = np.zeros((1, 28, 28, 1), np.float32)
    for class_index in range(3):
        pattern = introspection.class_pattern(trained_lecture, class_index)
        assert pattern.shape == (28, 28) and np.isfinite(pattern).all()
        assert pattern.min() >= 0.0 and pattern.max() <= 1.0
        probabilities = np.asarray(trained_lecture(pattern[None, :, :, None], training=False))[0]
        assert probabilities[class_index] > np.asarray(trained_lecture(blank))[0, class_index]


def test_grad_cam_is_the_class_activation_map_of_a_global_pooling_model(models):
    """With global average pooling, Grad-CAM equals CAM: the classifier weights applied to the last maps."""
    model = models["doodle"]
    image = np.random.default_rng(3).random((28, 28)).astype(np.float32)
    assert introspection.last_conv_layer_name(model) == "block3_relu2"
    maps = np.asarray(keras.Model(model.inputs, model.get_layer("block3_relu2").output)([image[None, ..., None]]))[0]
    top = int(np.argmax(np.asarray(model(image[None, ..., None]))[0]))
    for class_index in (None, (top + 1) % 10):
        weights = np.asarray(model.get_layer("predictions").kernel)[:, top if class_index is None else class_index]
        expected = np.maximum(maps @ weights, 0)[None, :, :, None]
        expected = np.asarray(tf.image.resize(expected, (28, 28), method="bilinear"))[0, :, :, 0]
        expected = expected / expected.max() if expected.max() > 0 else expected
        heat = introspection.grad_cam(model, image, class_index)
        assert heat.shape == (28, 28) and heat.min() >= 0.0 and heat.max() <= 1.0
        np.testing.assert_allclose(heat, expected, atol=1e-4)


def test_grad_cam_finds_the_drawing(trained_lecture, pasted_drawings):
    _, _, test, masks = pasted_drawings
    found = 0
    for image, mask in zip(test, masks, strict=True):
        heat = introspection.grad_cam(trained_lecture, image)
        found += heat[mask].mean() > heat[~mask].mean()
    assert found >= 2 * len(test) // 3, f"Grad-CAM pointed at the drawing in only {found} of {len(test)} images"


def test_helpful_errors(models):
    book = models["book"]
    with pytest.raises(ValueError, match="no layer named 'conv9'.*conv1"):
        introspection.filter_pattern(book, "conv9", 0)
    with pytest.raises(ValueError, match="32 filters"):
        introspection.filter_pattern(book, "conv1", 32)
    with pytest.raises(ValueError, match="empty"):
        introspection.filter_patterns(book, "conv1", [])
    with pytest.raises(ValueError, match="10 classes"):
        introspection.grad_cam(book, np.zeros((28, 28)), class_index=10)
    with pytest.raises(ValueError, match="10 classes"):
        introspection.class_pattern(book, -1)
    for shape in [(28, 27), (1, 28, 28), (28, 28, 3), (784,)]:
        with pytest.raises(ValueError, match=r"Expected one image shaped \(28, 28, 1\) or \(28, 28\)"):
            introspection.activations(book, np.zeros(shape))
    with pytest.raises(ValueError, match="height, width, channels"):
        introspection.grad_cam(book, np.zeros((28, 28)), layer_name="dense1")
    with pytest.raises(ValueError, match="no convolution or pooling"):
        inputs = keras.Input((4,))
        introspection.activation_model(keras.Model(inputs, keras.layers.Dense(2)(inputs)))
