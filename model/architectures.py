"""The convnets of Doodle Lab, by name: three small ones to train here and famous ones to count parameters.

Every trainable model takes float32 images of shape (N, 28, 28, 1) with 0 for background and 1 for ink
(uint8 pixels divided by 255) and ends in a softmax layer named "predictions". Layers carry readable
names ("conv1", "pool1", "block3_conv1", "flatten", "dense1", "dropout", "predictions") so that the
pages can point at them. The reference models (LeNet-5 and five Keras applications) are built with
random weights, only to study their size; they are never trained here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import keras
from keras import layers

DRAWING_SHAPE = (28, 28, 1)
TRAINABLE = ("book", "lecture", "doodle")
REFERENCE = ("lenet5", "vgg16", "vgg19", "resnet50", "inception_v3", "mobilenet_v2")

_CONVOLUTIONS = (layers.Conv2D, layers.DepthwiseConv2D, layers.SeparableConv2D)
_BASE_ENDS = (layers.Flatten, layers.GlobalAveragePooling2D, layers.GlobalMaxPooling2D)


@dataclass(frozen=True)
class Architecture:
    """One named architecture: how to build it and what a student should know about it."""

    name: str
    description: str
    builder: Callable[[int, float], keras.Model]
    trainable_here: bool
    input_shape: tuple[int, int, int]
    num_classes: int = 10  # the class count used when build() is not told one


def _classifier(features, num_classes: int, dropout: float):
    """Add the optional dropout and the softmax layer named "predictions" (float32 even under mixed precision)."""
    if dropout > 0:
        features = layers.Dropout(dropout, name="dropout")(features)
    return layers.Dense(num_classes, activation="softmax", name="predictions", dtype="float32")(features)


def _book(num_classes: int, dropout: float) -> keras.Model:
    """Chollet's MNIST convnet: three 3x3 convolutions, two max-pools, one hidden dense layer."""
    inputs = keras.Input(DRAWING_SHAPE, name="drawing")
    x = layers.Conv2D(32, 3, activation="relu", name="conv1")(inputs)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv3")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(64, activation="relu", name="dense1")(x)
    return keras.Model(inputs, _classifier(x, num_classes, dropout), name="book")


def _lecture(num_classes: int, dropout: float) -> keras.Model:
    """The classic lecture convnet: two padded 3x3 convolutions with pooling, then a wide dense layer."""
    inputs = keras.Input(DRAWING_SHAPE, name="drawing")
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(128, activation="relu", name="dense1")(x)
    return keras.Model(inputs, _classifier(x, num_classes, dropout), name="lecture")


def _doodle(num_classes: int, dropout: float) -> keras.Model:
    """Three blocks of two Conv-BatchNorm-ReLU layers (32, 64, 128 filters), global average pooling.

    Blocks 1 and 2 end in a 2x2 max-pool (28 -> 14 -> 7 pixels); block 3 works on the 7x7 map and is
    averaged by the global pooling layer, which keeps the classifier tiny (128 x classes weights).
    The convolutions have no bias because the batch normalisation right after them has its own. The
    normalisation's running statistics follow the data with momentum 0.9 rather than Keras' 0.99, so
    that a model trained for a few hundred steps on a small set of drawings already predicts well.
    """
    inputs = keras.Input(DRAWING_SHAPE, name="drawing")
    x = inputs
    for block, filters in enumerate((32, 64, 128), start=1):
        for index in (1, 2):
            prefix = f"block{block}_"
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{prefix}conv{index}")(x)
            x = layers.BatchNormalization(momentum=0.9, name=f"{prefix}bn{index}")(x)
            x = layers.ReLU(name=f"{prefix}relu{index}")(x)
        if block < 3:
            x = layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
    x = layers.GlobalAveragePooling2D(name="global_pool")(x)
    return keras.Model(inputs, _classifier(x, num_classes, dropout), name="doodle")


def _lenet5(num_classes: int, dropout: float) -> keras.Model:
    """LeNet-5 (LeCun et al., 1998) in today's layers: 61,706 parameters for 10 classes.

    Differences from the paper: C3 connects every S2 map to every C3 map (2,416 parameters instead of
    the paper's sparse table with 1,516), S2 and S4 are plain 2x2 average pooling (the paper gave each
    map a trainable coefficient and bias: 12 + 32 parameters), C5 is a 5x5 convolution over the 5x5 map
    (the same as a dense layer), and the output is a softmax dense layer instead of 84x10 RBF units.
    """
    inputs = keras.Input((32, 32, 1), name="image")
    x = layers.Conv2D(6, 5, activation="tanh", name="c1_conv")(inputs)
    x = layers.AveragePooling2D(2, name="s2_pool")(x)
    x = layers.Conv2D(16, 5, activation="tanh", name="c3_conv")(x)
    x = layers.AveragePooling2D(2, name="s4_pool")(x)
    x = layers.Conv2D(120, 5, activation="tanh", name="c5_conv")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(84, activation="tanh", name="f6_dense")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="lenet5")


def _application(constructor: Callable[..., keras.Model]) -> Callable[[int, float], keras.Model]:
    """Wrap a keras.applications constructor: random weights, standard input size, classifier on top."""

    def builder(num_classes: int, dropout: float) -> keras.Model:
        return constructor(weights=None, include_top=True, classes=num_classes)

    return builder


_ENTRIES = (
    Architecture("book", "The small MNIST convnet from Chollet's book: three convolutions, then a dense "
                 "layer.", _book, True, DRAWING_SHAPE),
    Architecture("lecture", "A classic two-convolution network whose big dense layer holds almost all "
                 "of its weights.", _lecture, True, DRAWING_SHAPE),
    Architecture("doodle", "Doodle Lab's default: three blocks of batch-normalised convolutions and a "
                 "global average, fast and accurate on drawings.", _doodle, True, DRAWING_SHAPE),
    Architecture("lenet5", "LeNet-5, the 1998 digit reader by Yann LeCun that started modern convnets.",
                 _lenet5, False, (32, 32, 1)),
    Architecture("vgg16", "VGG16 (2014): thirteen 3x3 convolutions and three huge dense layers.",
                 _application(keras.applications.VGG16), False, (224, 224, 3), 1000),
    Architecture("vgg19", "VGG19 (2014): VGG16 with three more convolutions.",
                 _application(keras.applications.VGG19), False, (224, 224, 3), 1000),
    Architecture("resnet50", "ResNet50 (2015): fifty layers deep thanks to shortcut connections.",
                 _application(keras.applications.ResNet50), False, (224, 224, 3), 1000),
    Architecture("inception_v3", "InceptionV3 (2015): blocks that run several filter sizes side by side.",
                 _application(keras.applications.InceptionV3), False, (299, 299, 3), 1000),
    Architecture("mobilenet_v2", "MobileNetV2 (2018): cheap depthwise convolutions built for phones.",
                 _application(keras.applications.MobileNetV2), False, (224, 224, 3), 1000),
)
ARCHITECTURES: dict[str, Architecture] = {entry.name: entry for entry in _ENTRIES}


def build(name: str, num_classes: int | None = None, dropout: float = 0.0) -> keras.Model:
    """Build a fresh, untrained model by name.

    num_classes defaults to the architecture's usual count: 10 for the trainable models and LeNet-5,
    1000 for the Keras applications (the size their published parameter counts refer to). dropout
    adds a Dropout layer before the classifier of a trainable model; reference models take none.
    """
    if name not in ARCHITECTURES:
        raise ValueError(f"Unknown architecture {name!r}; choose one of: {', '.join(ARCHITECTURES)}.")
    architecture = ARCHITECTURES[name]
    classes = architecture.num_classes if num_classes is None else num_classes
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 2:
        raise ValueError(f"num_classes must be an integer of at least 2, got {classes!r}.")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}.")
    if dropout > 0 and not architecture.trainable_here:
        raise ValueError(f"{name!r} is a reference model and takes no dropout; only {TRAINABLE} do.")
    return architecture.builder(classes, dropout)


def convolutional_base_end(model: keras.Model) -> str:
    """Return the name of the layer that ends the convolutional base: its Flatten or global pooling layer."""
    for layer in model.layers:
        if isinstance(layer, _BASE_ENDS):
            return layer.name
    raise ValueError(f"Model {model.name!r} has no Flatten or global pooling layer ending a convolutional base.")


def top_conv_block(model: keras.Model) -> list[str]:
    """Return the names of the weighted layers of the last convolutional block, the ones to fine-tune.

    Layers named "blockN_..." (or "convM_blockN_...") form a block; a model without such names gets its
    last convolution plus any batch normalisation right after it ("conv3" for book, "conv2" for lecture).
    """
    base = model.layers[: [layer.name for layer in model.layers].index(convolutional_base_end(model))]
    positions = [index for index, layer in enumerate(base) if isinstance(layer, _CONVOLUTIONS)]
    if not positions:
        raise ValueError(f"Model {model.name!r} has no convolution before its convolutional base ends.")
    last = base[positions[-1]]
    match = re.match(r"(.*block_?\d+)_", last.name)
    if match:
        prefix = match.group(1) + "_"
        return [layer.name for layer in base if layer.name.startswith(prefix) and layer.weights]
    names = [last.name]
    for layer in base[positions[-1] + 1:]:
        if not isinstance(layer, layers.BatchNormalization):
            break
        names.append(layer.name)
    return names
