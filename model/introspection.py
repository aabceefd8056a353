"""Look inside a convnet: parameter counts, activations, filters, learned patterns and Grad-CAM heat maps.

Everything comes back as plain Python or numpy arrays, ready for the pages to draw with plotly; nothing
here plots. Images are single drawings shaped like the model's input without the batch axis, for the
drawing models (28, 28) or (28, 28, 1): floats in 0-1 (0 = background, 1 = ink), or uint8 in 0-255,
which is divided by 255 first.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from keras import layers

DENSE_TYPES = (layers.Dense, layers.EinsumDense)
CONVOLUTION_TYPES = (layers.Conv1D, layers.Conv2D, layers.Conv3D, layers.Conv2DTranspose,
                     layers.DepthwiseConv2D, layers.SeparableConv2D)
POOLING_TYPES = (layers.MaxPooling2D, layers.AveragePooling2D)
_FOLLOWERS = (layers.BatchNormalization, layers.ReLU, layers.Activation)
_SYMBOLS = {"gamma": "γ", "beta": "β", "moving_mean": "moving mean", "moving_variance": "moving variance"}

# Helper models and compiled functions, built once per model object; they vanish with the model.
_HELPERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _cached(model: keras.Model, key, make):
    """Return the helper stored under key for this model, making it on first use."""
    helpers = _HELPERS.setdefault(model, {})
    if key not in helpers:
        helpers[key] = make()
    return helpers[key]


@dataclass(frozen=True)
class LayerParameters:
    """How many parameters one layer has, and the arithmetic that gives that number."""

    name: str
    type: str
    output_shape: tuple | None
    parameters: int
    trainable_parameters: int
    non_trainable_parameters: int
    formula: str
    kind: str  # "convolutional", "dense" or "other": which share of the model the layer counts towards


@dataclass(frozen=True)
class LayerActivation:
    """The output of one layer with feature maps for one image, shaped (height, width, channels).

    ``change`` says in a sentence what the layer did to the shape of its input, e.g. "resolution halves
    (28×28 → 14×14); the 32 channels stay", so that a class can follow the network one layer at a time.
    """

    name: str
    type: str
    output_shape: tuple[int, ...]
    array: np.ndarray
    change: str = ""


def _size(variables) -> int:
    """Count the numbers held by a list of variables, each variable once."""
    unique = {id(variable): variable for variable in variables}
    return sum(int(np.prod(variable.shape)) for variable in unique.values())


def _formula(layer: keras.layers.Layer) -> str:
    """Write the parameter count of a layer as arithmetic, e.g. "3×3×1×32 + 32 = 320"."""
    count = layer.count_params()
    if not layer.weights:
        return "0"
    if isinstance(layer, keras.Model):
        parts = [sublayer.count_params() for sublayer in layer.layers if sublayer.weights]
        if len(parts) <= 6:
            return "sum of sublayers: " + " + ".join(f"{part:,}" for part in parts) + f" = {count:,}"
        return f"sum of its {len(parts)} sublayers with weights = {count:,}"
    if isinstance(layer, layers.BatchNormalization) and len({tuple(w.shape) for w in layer.weights}) == 1:
        notes = []
        for state, weights in (("trainable", layer.trainable_weights),
                               ("non-trainable", layer.non_trainable_weights)):
            names = ", ".join(_SYMBOLS.get(weight.name, weight.name) for weight in weights)
            notes += [f"{names} {state}".replace("mean, moving variance", "mean and variance")] if weights else []
        return f"{len(layer.weights)}×{layer.weights[0].shape[0]} = {count:,} ({'; '.join(notes)})"
    terms = (("×".join(str(size) for size in weight.shape) or "1") for weight in layer.weights)
    return f"{' + '.join(terms)} = {count:,}"


def _output_shape(layer: keras.layers.Layer) -> tuple | None:
    try:
        output = layer.output
    except (AttributeError, ValueError):  # a layer used more than once has no single output
        return None
    if isinstance(output, (list, tuple)):
        return tuple(tuple(tensor.shape[1:]) for tensor in output)
    return tuple(output.shape[1:])


def parameter_breakdown(model: keras.Model) -> list[LayerParameters]:
    """Return one entry per layer of the model with its parameter counts and the formula behind them."""
    return [
        LayerParameters(
            name=layer.name,
            type=type(layer).__name__,
            output_shape=_output_shape(layer),
            parameters=layer.count_params(),
            trainable_parameters=_size(layer.trainable_weights),
            non_trainable_parameters=_size(layer.non_trainable_weights),
            formula=_formula(layer),
            kind=layer_kind(layer),
        )
        for layer in model.layers
    ]


def layer_kind(layer: keras.layers.Layer) -> str:
    """Which share of a model's parameters a layer counts towards: "dense", "convolutional" or "other"."""
    if isinstance(layer, DENSE_TYPES):
        return "dense"
    return "convolutional" if isinstance(layer, CONVOLUTION_TYPES) else "other"


def _leaf_layers(model: keras.Model) -> list[keras.layers.Layer]:
    leaves = []
    for layer in model.layers:
        leaves.extend(_leaf_layers(layer) if isinstance(layer, keras.Model) else [layer])
    return leaves


def parameter_summary(model: keras.Model) -> dict[str, int | float]:
    """Return the model's parameter totals and how they split between dense, convolution and other layers.

    Keys: total, trainable, non_trainable, dense, convolutional, other, and the shares dense_share,
    convolutional_share, other_share (fractions of total). The non-trainable count splits into
    moving_statistics (batch normalisation's moving means and variances, which follow the data during
    training but get no gradient) and frozen (weights of layers set ``trainable = False``).

    For VGG16 with 1000 classes the total is 138,357,544, of which the three dense layers hold 123,642,856
    (89.4%: fc1 alone has 25088×4096 + 4096 = 102,764,544) and the thirteen convolutions only 14,714,688.
    """
    groups = {"dense": 0, "convolutional": 0, "other": 0}
    for layer in _leaf_layers(model):
        groups[layer_kind(layer)] += layer.count_params()
    total = model.count_params()
    summary: dict[str, int | float] = {
        "total": total,
        "trainable": _size(model.trainable_weights),
        "non_trainable": _size(model.non_trainable_weights),
        **groups,
    }
    statistics = [weight for layer in _leaf_layers(model) if isinstance(layer, layers.BatchNormalization)
                  for weight in (layer.moving_mean, layer.moving_variance)]
    summary["moving_statistics"] = _size(statistics)
    summary["frozen"] = summary["non_trainable"] - summary["moving_statistics"]
    for group, count in groups.items():
        summary[f"{group}_share"] = count / total if total else 0.0
    return summary


def parameter_notes(model: keras.Model) -> list[str]:
    """Sentences that explain this model's parameter counts, derived from its layers (not a fixed text).

    Says whether its convolutions have biases (a convolution followed by batch normalisation needs none:
    the normalisation's β shifts each map instead), how its dense part meets the maps (Flatten makes every
    pixel of every map an input; global pooling keeps one number per map) and what its non-trainable
    parameters are.
    """
    leaves = _leaf_layers(model)
    convolutions = [layer for layer in leaves if isinstance(layer, CONVOLUTION_TYPES)]
    notes = []
    with_bias = [layer for layer in convolutions if getattr(layer, "use_bias", False)]
    if convolutions and len(with_bias) == len(convolutions):
        notes.append("A convolution's count does not depend on the image size: k×k×inputs×filters weights "
                     "+ one bias per filter.")
    elif convolutions:
        normalised = [layer for index, layer in enumerate(leaves) if layer in convolutions
                      and not getattr(layer, "use_bias", False) and index + 1 < len(leaves)
                      and isinstance(leaves[index + 1], layers.BatchNormalization)]
        without = len(convolutions) - len(with_bias)
        reason = (" because a batch normalisation follows each one: its β shifts every map, so a bias would "
                  "do nothing") if len(normalised) == without else ""
        notes.append(f"A convolution's count does not depend on the image size: k×k×inputs×filters weights. "
                     f"{without} of its {len(convolutions)} convolutions have no bias{reason}.")
    if any(isinstance(layer, layers.Flatten) for layer in leaves):
        notes.append("A dense layer's count does: every input connects to every unit, so Flatten after a large "
                     "map is costly.")
    elif any(isinstance(layer, (layers.GlobalAveragePooling2D, layers.GlobalMaxPooling2D)) for layer in leaves):
        notes.append("Global pooling keeps one number per map, so the dense layer after it is small: "
                     "maps × classes + classes.")
    summary = parameter_summary(model)
    if summary["moving_statistics"]:
        verb = "include" if summary["frozen"] else "are"
        notes.append(f"Its {summary['non_trainable']:,} non-trainable parameters {verb} batch normalisation's "
                     f"{summary['moving_statistics']:,} moving means and variances: they follow the data during "
                     "training but get no gradient.")
    if summary["frozen"]:
        notes.append(f"{summary['frozen']:,} parameters are frozen: their layers are set not to train.")
    return notes


def _inputs(model: keras.Model):
    """Return the model's input tensor (the list of them for a model with several inputs)."""
    return model.inputs[0] if len(model.inputs) == 1 else model.inputs


def _layer(model: keras.Model, layer_name: str) -> keras.layers.Layer:
    for layer in model.layers:
        if layer.name == layer_name:
            return layer
    names = ", ".join(layer.name for layer in model.layers)
    raise ValueError(f"Model {model.name!r} has no layer named {layer_name!r}; its layers are: {names}.")


def _as_batch(model: keras.Model, image) -> np.ndarray:
    """Turn one image into a float32 batch of one for the model, checking its shape."""
    array = np.asarray(image)
    expected = tuple(model.inputs[0].shape[1:])
    accepted = [expected] + ([expected[:-1]] if expected[-1] == 1 else [])
    if array.shape not in accepted:
        raise ValueError(f"Expected one image shaped {' or '.join(map(str, accepted))}, got {array.shape}.")
    array = array.astype(np.float32) / 255.0 if np.issubdtype(array.dtype, np.integer) else array
    return array.astype(np.float32).reshape((1, *expected))


def _mapped_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The layers whose output is a stack of feature maps (height, width, channels), in network order."""
    return [layer for layer in model.layers if not isinstance(layer, layers.InputLayer)
            and _output_shape(layer) is not None and len(_output_shape(layer)) == 3
            and not isinstance(_output_shape(layer)[0], tuple)]


def _shape_text(shape: tuple) -> str:
    return f"{shape[0]}×{shape[1]}"


def _what_it_does(layer: keras.layers.Layer, before: tuple) -> str:
    """Half a sentence on what a layer computes, e.g. "32 filters, each 3×3×1, slide over the input"."""
    if isinstance(layer, layers.Conv2D):
        size = "×".join(str(k) for k in layer.kernel_size)
        maps = "the input map" if before[-1] == 1 else f"the {before[-1]} input maps"
        return f"{layer.filters} filters, each {size}×{before[-1]}, slide over {maps}"
    if isinstance(layer, layers.MaxPooling2D):
        return "keeps the largest value of each {}×{} window".format(*layer.pool_size)
    if isinstance(layer, layers.AveragePooling2D):
        return "averages each {}×{} window".format(*layer.pool_size)
    if isinstance(layer, layers.BatchNormalization):
        return "shifts and scales every map by its learned batch statistics"
    if isinstance(layer, layers.ReLU) or getattr(layer, "activation", None) is keras.activations.relu:
        return "sets every negative value to zero (ReLU)"
    return f"a {type(layer).__name__} layer"


def layer_change(layer: keras.layers.Layer, before: tuple, after: tuple) -> str:
    """Say what a layer did to the shape of its input, e.g. "resolution halves (28×28 → 14×14)"."""
    if tuple(before[:2]) == tuple(after[:2]):
        resolution = f"same {_shape_text(after)} resolution"
    elif before[0] == 2 * after[0] and before[1] == 2 * after[1]:
        resolution = f"resolution halves ({_shape_text(before)} → {_shape_text(after)})"
    else:
        resolution = f"resolution {'shrinks' if after[0] < before[0] else 'grows'} ({_shape_text(before)} → " \
                     f"{_shape_text(after)})"
    if before[-1] == after[-1]:
        channels = f"the {after[-1]} channels stay"
    else:
        channels = f"channels {'grow' if after[-1] > before[-1] else 'shrink'} from {before[-1]} to {after[-1]}"
    return f"{_what_it_does(layer, before).capitalize()}: {resolution}; {channels}."


def activation_model(model: keras.Model) -> keras.Model:
    """Return a model giving the outputs of every layer with feature maps at once (cached per model)."""
    chosen = _mapped_layers(model)
    if not chosen:
        raise ValueError(f"Model {model.name!r} has no convolution or pooling layer.")
    return _cached(model, "activations", lambda: keras.Model(
        _inputs(model), [layer.output for layer in chosen], name=f"{model.name}_activations"))


def activations(model: keras.Model, image) -> list[LayerActivation]:
    """Return the feature maps of every layer that has them (convolution, batch norm, ReLU, pooling) for one
    image, in network order, each with a sentence on how its shape differs from its input's."""
    extractor = activation_model(model)
    outputs = extractor(_as_batch(model, image), training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    result, before = [], tuple(model.inputs[0].shape[1:])
    for layer, output in zip(_mapped_layers(model), outputs, strict=True):
        shape = tuple(output.shape[1:])
        result.append(LayerActivation(layer.name, type(layer).__name__, shape, np.asarray(output)[0],
                                      layer_change(layer, before, shape)))
        before = shape
    return result


def feature_map_layers(model: keras.Model) -> list[str]:
    """The names of the layers whose output is a stack of feature maps, in network order."""
    return [layer.name for layer in _mapped_layers(model)]


def first_layer_filters(model: keras.Model) -> np.ndarray:
    """Return the kernel of the model's first Conv2D layer, shaped (height, width, in channels, filters)."""
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            return keras.ops.convert_to_numpy(layer.kernel)
    raise ValueError(f"Model {model.name!r} has no Conv2D layer.")


def _blur_kernel(channels: int) -> tf.Tensor:
    blur = np.outer([0.25, 0.5, 0.25], [0.25, 0.5, 0.25])[:, :, None, None]
    return tf.constant(np.tile(blur, (1, 1, channels, 1)), tf.float32)


def _ascent_step(model: keras.Model, layer_name: str):
    """Return a compiled gradient-ascent step for several filters of one layer at once (cached).

    Image i of the batch climbs the mean activation of filter ``indices[i]``, away from the map's
    border. The image may be smaller than the model's input (an octave): it is resized up before the
    model sees it, so that the gradient reaches it as coarse, smooth shapes.
    """

    def make():
        layer = _layer(model, layer_name)
        extractor = keras.Model(_inputs(model), layer.output)
        size, channels = tuple(model.inputs[0].shape[1:3]), model.inputs[0].shape[-1]
        height = layer.output.shape[1]
        border = 2 if height >= 12 else 1 if height >= 5 else 0  # The keras-io example's border crop.
        blur = _blur_kernel(channels)

        @tf.function(reduce_retracing=True)
        def step(image, indices, shift, learning_rate, smooth, ink_penalty):
            with tf.GradientTape() as tape:
                tape.watch(image)
                full = tf.roll(tf.image.resize(image, size, method="bilinear"), shift, axis=[1, 2])
                maps = extractor(full, training=False)
                if border:
                    maps = maps[:, border:-border, border:-border, :]
                chosen = tf.reduce_mean(tf.gather(maps, indices, axis=3, batch_dims=1), axis=[1, 2])
                # Each filter's activation relative to its size, less a price on ink: strokes, not floods.
                relative = chosen / (tf.stop_gradient(tf.abs(chosen)) + 1e-3)
                objective = tf.reduce_sum(relative - ink_penalty * tf.reduce_mean(full, axis=[1, 2, 3]))
            gradient = tf.math.l2_normalize(tape.gradient(objective, image), axis=[1, 2, 3])
            image = tf.clip_by_value(image + learning_rate * gradient, 0.0, 1.0)
            if smooth:
                image = tf.nn.depthwise_conv2d(image, blur, [1, 1, 1, 1], "SAME")
            return image

        return step

    return _cached(model, ("ascent", layer_name), make)


def _stretch(image: np.ndarray) -> np.ndarray:
    """Stretch one pattern to the full 0-1 range (a flat pattern becomes mid grey)."""
    low, high = float(image.min()), float(image.max())
    if high - low < 1e-6:
        return np.full(image.shape, 0.5, np.float32)
    return ((image - low) / (high - low)).astype(np.float32)


def filter_patterns(model: keras.Model, layer_name: str, filter_indices, steps: int = 20, octaves: int = 3,
                    octave_scale: float = 1.5, learning_rate: float = 2.0, jitter: int = 2, blur_every: int = 4,
                    ink_penalty: float = 1.0, seed: int = 0, normalize: bool = True) -> np.ndarray:
    """Return the inputs that some filters of a layer respond to most, stacked on the last axis.

    Regularised gradient ascent, all filters at once: start from faint noise and climb each filter's mean
    activation (away from the border, as in the keras-io "visualizing what convnets learn" example) with
    three regularisers that make the result look like strokes rather than pixel noise: octaves (climb
    first on a small image, then on larger ones, as the keras-io DeepDream example does), a random shift
    of up to ``jitter`` pixels before each step, and a blur every ``blur_every`` steps. Pixels stay in
    0-1 like ink. With normalize=True each pattern is stretched to the full 0-1 range for display.
    Shaped (28, 28, filters) for the drawing models.
    """
    layer = _layer(model, layer_name)
    filters = layer.output.shape[-1]
    indices = [int(index) for index in filter_indices]
    if not indices:
        raise ValueError("filter_indices is empty: pick at least one filter.")
    for index in indices:
        if not 0 <= index < filters:
            raise ValueError(f"Layer {layer_name!r} has {filters} filters; filter_index must be in "
                             f"0..{filters - 1}, got {index}.")
    if octaves < 1 or steps < 1:
        raise ValueError(f"octaves and steps must be at least 1, got {octaves} and {steps}.")
    height, width, channels = model.inputs[0].shape[1:]
    sizes = [(max(4, round(height / octave_scale ** power)), max(4, round(width / octave_scale ** power)))
             for power in reversed(range(octaves))]
    random = np.random.default_rng(seed)
    image = tf.constant(random.uniform(0.0, 0.2, (len(indices), *sizes[0], channels)).astype(np.float32))
    step = _ascent_step(model, layer_name)
    chosen, rate = tf.constant(indices), tf.constant(learning_rate, tf.float32)
    penalty = tf.constant(ink_penalty, tf.float32)
    number = 0
    for size in sizes:
        image = tf.image.resize(image, size, method="bilinear")
        for _ in range(steps):
            number += 1
            shift = tf.constant(random.integers(-jitter, jitter + 1, 2), tf.int32)
            smooth = tf.constant(bool(blur_every) and number % blur_every == 0)
            image = step(image, chosen, shift, rate, smooth, penalty)
    result = np.asarray(image)
    result = result[..., 0] if channels == 1 else result
    if normalize:
        result = np.stack([_stretch(pattern) for pattern in result])
    return np.moveaxis(result, 0, -1)


def filter_pattern(model: keras.Model, layer_name: str, filter_index: int, **options) -> np.ndarray:
    """Return the input that one filter responds to most (see ``filter_patterns`` for the recipe and options)."""
    return filter_patterns(model, layer_name, [filter_index], **options)[..., 0]


def _score_model(model: keras.Model, layer_name: str | None = None):
    """Return a function giving [that layer's output,] the class scores before the softmax (cached).

    A final Dense (or Activation) softmax layer is undone by reading its input: gradients of raw scores
    do not vanish when the model is very sure, unlike gradients of probabilities.
    """

    def make():
        last = model.layers[-1]
        features, head = model.outputs[0], None
        if isinstance(last, (layers.Dense, layers.Activation)) and last.activation is keras.activations.softmax:
            features = last.input
            if isinstance(last, layers.Dense):
                def head(values):
                    logits = keras.ops.matmul(values, last.kernel)
                    return logits + last.bias if last.use_bias else logits
        outputs = [features] if layer_name is None else [_layer(model, layer_name).output, features]
        inner = keras.Model(_inputs(model), outputs)

        def scores(images):
            values = inner(images, training=False)
            values = values if isinstance(values, (list, tuple)) else [values]
            return [*values[:-1], head(values[-1]) if head else values[-1]]

        return scores

    return _cached(model, ("scores", layer_name), make)


def _check_class(model: keras.Model, class_index: int) -> None:
    classes = model.outputs[0].shape[-1]
    if not 0 <= class_index < classes:
        raise ValueError(f"Model {model.name!r} has {classes} classes; class_index must be in 0..{classes - 1}.")


def _class_step(model: keras.Model):
    """Return a compiled step that moves a drawing towards one class (cached per model)."""

    def make():
        scores = _score_model(model)
        blur = np.outer([0.25, 0.5, 0.25], [0.25, 0.5, 0.25])[:, :, None, None]
        blur = tf.constant(np.tile(blur, (1, 1, model.inputs[0].shape[-1], 1)), tf.float32)

        @tf.function
        def step(image, class_index, shift, learning_rate, ink_penalty, smooth):
            with tf.GradientTape() as tape:
                tape.watch(image)
                logits = scores(tf.roll(image, shift, axis=[1, 2]))[-1]
                objective = tf.gather(logits[0], class_index) - ink_penalty * tf.reduce_mean(image)
            image = image + learning_rate * tf.math.l2_normalize(tape.gradient(objective, image))
            image = tf.clip_by_value(image, 0.0, 1.0)
            if smooth:
                image = tf.nn.depthwise_conv2d(image, blur, [1, 1, 1, 1], "SAME")
            return image

        return step

    return _cached(model, "class_step", make)


def class_pattern(model: keras.Model, class_index: int, steps: int = 100, learning_rate: float = 3.0,
                  seed: int = 0, ink_penalty: float = 5.0, blur_every: int = 4, jitter: int = 2) -> np.ndarray:
    """Return a drawing optimised to score high for one class, in 0-1: the model's idea of that class.

    Starts from a nearly blank canvas and climbs the class's raw score (before softmax) minus a penalty on
    the amount of ink. Three mild regularisers make it look like strokes rather than pixel noise: pixels
    stay in 0-1, the drawing is shifted by up to `jitter` pixels at random before each step, and blurred
    every `blur_every` steps. About half a second for the doodle model on a CPU.
    """
    _check_class(model, class_index)
    shape = (1, *model.inputs[0].shape[1:])
    random = np.random.default_rng(seed)
    image = tf.constant(random.uniform(0.0, 0.1, shape).astype(np.float32))
    step = _class_step(model)
    index = tf.constant(class_index)
    rate, penalty = tf.constant(learning_rate, tf.float32), tf.constant(ink_penalty, tf.float32)
    for number in range(1, steps + 1):
        shift = tf.constant(random.integers(-jitter, jitter + 1, 2), tf.int32)
        smooth = tf.constant(bool(blur_every) and number % blur_every == 0)
        image = step(image, index, shift, rate, penalty, smooth)
    result = np.asarray(image)[0]
    return result[..., 0] if shape[-1] == 1 else result


def last_conv_layer_name(model: keras.Model) -> str:
    """Return the layer Grad-CAM reads by default: the last convolution, after its batch norm and activation."""
    candidates = model.layers
    positions = [index for index, layer in enumerate(candidates) if isinstance(layer, CONVOLUTION_TYPES)]
    if not positions:
        raise ValueError(f"Model {model.name!r} has no convolution layer.")
    chosen = positions[-1]
    while chosen + 1 < len(candidates) and isinstance(candidates[chosen + 1], _FOLLOWERS):
        chosen += 1
    return candidates[chosen].name


def grad_cam(model: keras.Model, image, class_index: int | None = None,
             layer_name: str | None = None) -> np.ndarray:
    """Return the Grad-CAM heat map of one class for one image, resized to the image and scaled to 0-1.

    Grad-CAM (Selvaraju et al., 2017): weight each channel of a convolution layer's output by the mean
    gradient of the class score (before softmax) with respect to it, sum, keep the positive part. The
    class defaults to the model's top prediction and the layer to last_conv_layer_name(model).
    """
    batch = _as_batch(model, image)
    layer = _layer(model, layer_name or last_conv_layer_name(model))
    if len(layer.output.shape) != 4:
        raise ValueError(f"Grad-CAM needs a layer with (height, width, channels) output; {layer.name!r} "
                         f"outputs {tuple(layer.output.shape[1:])}.")
    if class_index is not None:
        _check_class(model, class_index)
    with tf.GradientTape() as tape:
        maps, scores = _score_model(model, layer.name)(batch)
        chosen = int(tf.argmax(scores[0])) if class_index is None else class_index
        score = scores[0, chosen]
    channel_weights = tf.reduce_mean(tape.gradient(score, maps), axis=(0, 1, 2))
    heat = tf.nn.relu(tf.reduce_sum(maps[0] * channel_weights, axis=-1))
    heat = tf.image.resize(heat[None, :, :, None], batch.shape[1:3], method="bilinear")[0, :, :, 0]
    heat = np.asarray(heat, dtype=np.float32)
    top = float(heat.max())
    return heat / top if top > 0 else np.zeros_like(heat)
