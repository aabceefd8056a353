"""Fast predictions: a model and its card loaded once, one compiled call per guess.

``Predictor`` turns a 28x28 image, a batch of them, or a drawing's strokes (rendered by the data loader's
rasterizer with the recipe on the model's card) into class probabilities, sorted best first. It calls a
``tf.function`` traced once, never ``model.predict``, which costs ~100 ms a call here against ~1-2 ms.

A web server guessing for a whole class can hand a ``Predictor`` the verified ONNX export of the same model
(``use_onnx``, the file the browser runs): single drawings then go through onnxruntime on one thread, about
0.9 ms of CPU a guess against 5.3 ms for the ``tf.function`` (``python -m bench inference``).
Batches, gradients and layer outputs always use the Keras model.

Command line: ``python -m model.predict --model NAME_OR_PATH INPUT... [--top-k 3]`` where each INPUT is a
raw or simplified QuickDraw .ndjson file or a PNG image; prints one JSON object per drawing, in order.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path

import numpy as np
import tensorflow as tf

from data_loader.raster import render

DRAWING_SPEC = tf.TensorSpec(shape=(None, 28, 28, 1), dtype=tf.float32, name="drawings")
ONNX_TOLERANCE = 1e-4  # the largest probability difference an ONNX file may show against the Keras model


def as_model_input(images: np.ndarray) -> np.ndarray:
    """Turn uint8 (0-255) or float (0-1) images of shape (28, 28) or (N, 28, 28[, 1]) into float32 (N, 28, 28, 1)."""
    array = np.asarray(images)
    if array.dtype == np.uint8:
        array = array.astype(np.float32) / 255.0
    array = array.astype(np.float32, copy=False)
    if array.shape == (28, 28):
        array = array[np.newaxis]
    if array.ndim == 3 and array.shape[1:] == (28, 28):
        array = array[..., np.newaxis]
    if array.ndim != 4 or array.shape[1:] != (28, 28, 1):
        raise ValueError(f"expected 28x28 images, got an array of shape {np.shape(images)}")
    return array


def batch_probabilities(model, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Class probabilities for many images, one ``predict_on_batch`` call per batch."""
    inputs = as_model_input(images)
    if len(inputs) == 0:
        return np.zeros((0, model.outputs[0].shape[-1]), np.float32)
    parts = [np.asarray(model.predict_on_batch(inputs[start : start + batch_size]))
             for start in range(0, len(inputs), batch_size)]
    return np.concatenate(parts).astype(np.float32)


class Predictor:
    """A model with its card and one compiled forward pass, shared safely by many threads."""

    def __init__(self, model, card) -> None:
        self.model = model
        self.card = card
        self.class_names = list(card.class_names)
        self._forward = tf.function(lambda images: model(images, training=False), input_signature=[DRAWING_SPEC],
                                    reduce_retracing=True)
        self._forward(tf.zeros((1, 28, 28, 1)))  # Trace once, now, not on the first user's stroke.
        self._onnx = None  # (onnxruntime session, input name, output name) once use_onnx accepted a file
        self.onnx_problem: str | None = None  # why use_onnx last refused a file, if it did
        self._onnx_lock = threading.Lock()

    @property
    def runtime(self) -> str:
        """What guesses single drawings: "onnxruntime" once ``use_onnx`` accepted a file, else "tensorflow"."""
        return "tensorflow" if self._onnx is None else "onnxruntime"

    def use_onnx(self, path: str | Path) -> None:
        """Guess single drawings with this ONNX file of the same model from now on (onnxruntime, one thread).

        The file is checked first: on a fixed set of 32 images (blank, strokes and noise) every probability
        must be within ``ONNX_TOLERANCE`` of the Keras model's and every top-1 must agree; otherwise a
        ``ValueError`` says why (kept in ``onnx_problem``) and the predictor keeps using TensorFlow. Once a
        file is accepted, calling it again does nothing.
        """
        with self._onnx_lock:
            if self._onnx is not None:
                return
            try:
                self._onnx = self._checked_onnx(path)
            except ValueError as error:
                self.onnx_problem = str(error)
                raise
            self.onnx_problem = None

    def _checked_onnx(self, path: str | Path) -> tuple:
        """An onnxruntime session for the file with its input and output names, once it agrees with the model."""
        try:
            import onnxruntime
        except ImportError as error:
            raise ValueError(f"onnxruntime is not installed ({error})") from error
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types for unreadable files
            raise ValueError(f"{path} is not an ONNX model onnxruntime can load ({error})") from error
        names = (session.get_inputs()[0].name, session.get_outputs()[0].name)
        probes = _probe_images()
        expected = self._forward(tf.constant(probes)).numpy()
        try:
            found = session.run([names[1]], {names[0]: probes})[0]
        except Exception as error:
            raise ValueError(f"{path} does not take 28x28 drawings ({error})") from error
        if found.shape != expected.shape:
            raise ValueError(f"{path} gives {found.shape[-1]} probabilities, the model {expected.shape[-1]}")
        difference = float(np.abs(found - expected).max())
        if difference > ONNX_TOLERANCE or (found.argmax(1) != expected.argmax(1)).any():
            raise ValueError(f"{path} does not agree with the model (largest probability difference "
                             f"{difference:.1e}, tolerance {ONNX_TOLERANCE:.0e})")
        return (session, *names)

    @classmethod
    def load(cls, name_or_path: str, registry=None) -> Predictor:
        """Load a model from the registry (by name) or a path, with its card, checked against each other."""
        from model.registry import load_model

        model, card = load_model(name_or_path, registry)
        return cls(model, card)

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """Probabilities (N, classes) for 28x28 images (uint8 0-255 or float 0-1)."""
        inputs = as_model_input(images)
        onnx = self._onnx
        if onnx is not None and len(inputs) == 1:
            session, input_name, output_name = onnx
            return session.run([output_name], {input_name: inputs})[0]
        return self._forward(tf.constant(inputs)).numpy()

    def rank(self, image: np.ndarray, top_k: int | None = None) -> list[tuple[str, float]]:
        """(class, probability) pairs for one image, best first, ``top_k`` of them (all by default)."""
        probabilities = self.probabilities(image)[0]
        order = np.argsort(-probabilities)[: top_k or len(probabilities)]
        return [(self.class_names[index], float(probabilities[index])) for index in order]

    def render(self, strokes: list) -> np.ndarray:
        """The 28x28 uint8 image this model sees for a drawing, rendered with the recipe on its card."""
        return render(strokes, self.card.recipe)

    def classify_strokes(self, strokes: list, top_k: int | None = None) -> tuple[np.ndarray, list[tuple[str, float]]]:
        """Render a drawing's strokes and rank the classes: returns (the 28x28 input, ranking)."""
        image = self.render(strokes)
        return image, self.rank(image, top_k)


def _probe_images() -> np.ndarray:
    """32 fixed 28x28 inputs for checking another runtime against the model: blank, lines, boxes and noise."""
    generator = np.random.default_rng(28)
    images = np.zeros((32, 28, 28), np.float32)
    for index in range(1, 32):
        if index % 3 == 0:
            images[index] = generator.random((28, 28)) * (generator.random((28, 28)) < 0.2)
        else:
            top, left = generator.integers(2, 12, 2)
            bottom, right = generator.integers(16, 26, 2)
            images[index, top:bottom, left:left + 2] = images[index, top:top + 2, left:right] = 1.0
            if index % 3 == 1:
                images[index, bottom - 2:bottom, left:right] = images[index, top:bottom, right - 2:right] = 1.0
    return images[..., np.newaxis]


def read_png(path: Path) -> np.ndarray:
    """Read a PNG drawing as a 28x28 uint8 image with white ink on black.

    A light background is inverted; an image larger than 28x28 is cropped to its ink, centred in a square
    with a margin like the dataset's, and reduced with anti-aliasing.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as picture:
            gray = np.asarray(picture.convert("L"), dtype=np.uint8)
    except (OSError, UnidentifiedImageError) as error:
        raise ValueError(f"{path} is not a readable image ({error})") from error
    if np.median(gray) > 127:
        gray = 255 - gray
    if gray.shape == (28, 28):
        return gray
    rows, columns = np.nonzero(gray > 32)
    if len(rows) == 0:
        raise ValueError(f"{path} has no drawing on it")
    crop = gray[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1]
    side = int(max(crop.shape) * 304 / 256)
    square = np.zeros((side, side), np.uint8)
    top, left = (side - crop.shape[0]) // 2, (side - crop.shape[1]) // 2
    square[top : top + crop.shape[0], left : left + crop.shape[1]] = crop
    return np.asarray(Image.fromarray(square).resize((28, 28), Image.Resampling.LANCZOS), dtype=np.uint8)


def _drawings(inputs: list[str]):
    """Yield (place, identity, strokes or None, image or None, simplified) for every drawing, in input order."""
    from data_loader.quickdraw import is_simplified, read_ndjson

    for text in inputs:
        path = Path(text)
        if not path.is_file():
            raise ValueError(f"{path} does not exist")
        if path.suffix.lower() == ".png":
            yield str(path), {"file": str(path)}, None, read_png(path), False
            continue
        for number, record in enumerate(read_ndjson(path), start=1):
            identity = {key: record[key] for key in ("key_id", "word") if key in record}
            yield f"{path}, drawing {number}", identity, record["drawing"], None, is_simplified(record["drawing"])


def main(argv: list[str] | None = None) -> int:
    """Classify drawings from the command line; one JSON object per drawing."""
    from data_loader import DataError
    from data_loader.raster import render_quickdraw
    from model.registry import RegistryError

    parser = argparse.ArgumentParser(prog="python -m model.predict", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="registry name, model folder or .keras file (default: active)")
    parser.add_argument("--top-k", type=int, default=3)
    parser.add_argument("inputs", nargs="+", help=".ndjson files (raw or simplified) or .png images")
    arguments = parser.parse_args(argv)
    try:
        from model.registry import Registry

        predictor = Predictor.load(arguments.model or Registry().active_name())
        for place, identity, strokes, image, simplified in _drawings(arguments.inputs):
            if image is None:
                recipe_is_quickdraw = predictor.card.recipe == "quickdraw"
                try:
                    image = render_quickdraw(strokes, simplified=True) if simplified and recipe_is_quickdraw \
                        else predictor.render(strokes)
                except ValueError as error:
                    raise ValueError(f"{place}: {error}") from error
            ranking = predictor.rank(image, max(1, arguments.top_k))
            print(json.dumps({**identity, "top": [[name, round(p, 6)] for name, p in ranking]}), flush=True)
    except (DataError, RegistryError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
