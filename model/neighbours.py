"""The training drawings a network finds most similar to a drawing: nearest neighbours in its own features.

A convnet's last hidden layer (the input of its "predictions" layer: the global average pool of the
doodle network, the dense layer of the book network) describes a drawing by a vector of numbers that the
classifier only has to separate with straight lines. Two drawings whose vectors point the same way
(cosine similarity near 1) look alike *to the network*, whatever they look like to us. An index holds
these vectors, unit length, for a sample of the model's own training bitmaps (rebuilt from its card:
same data, seed and split), so that a search is one forward pass and one matrix-vector product.

``build_index(model, card)`` makes the index (a few seconds for a few thousand drawings, once per model);
``NeighbourIndex.search(model, image, k)`` returns the ``k`` closest training drawings with their classes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import time
import warnings
import weakref
import zipfile
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from data_loader import DataError, DrawingDataset, build_splits
from data_loader.files import publish
from model.predict import DRAWING_SPEC, as_model_input

DEFAULT_PER_CLASS = 300
_EXTRACTORS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def feature_layer_name(model: keras.Model) -> str:
    """The penultimate layer: the one whose output feeds the "predictions" layer (dropout is skipped)."""
    try:
        layer = model.get_layer("predictions")
    except ValueError:
        layer = model.layers[-1]
    source = layer.input._keras_history.operation
    while isinstance(source, keras.layers.Dropout):
        source = source.input._keras_history.operation
    if isinstance(source, keras.layers.InputLayer):
        raise ValueError(f"model {model.name!r} has no hidden layer before its predictions")
    return source.name


def feature_extractor(model: keras.Model):
    """A compiled function from a float32 batch (N, 28, 28, 1) to the penultimate layer's output (cached)."""
    if model not in _EXTRACTORS:
        features = keras.Model(model.inputs, model.get_layer(feature_layer_name(model)).output)
        extract = tf.function(lambda images: features(images, training=False), input_signature=[DRAWING_SPEC],
                              reduce_retracing=True)
        extract(tf.zeros((1, 28, 28, 1)))  # Trace once now, not on the first search.
        _EXTRACTORS[model] = extract
    return _EXTRACTORS[model]


def features(model: keras.Model, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Unit-length penultimate-layer features (N, D) of 28x28 images (uint8 0-255 or float 0-1)."""
    inputs = as_model_input(images)
    extract = feature_extractor(model)
    parts = [np.asarray(extract(tf.constant(inputs[start:start + batch_size])), np.float32).reshape(
        len(inputs[start:start + batch_size]), -1) for start in range(0, len(inputs), batch_size)]
    vectors = np.concatenate(parts) if parts else np.zeros((0, 1), np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


@dataclass(frozen=True)
class Neighbour:
    """One training drawing close to the query: where it is in the index, its class, similarity and image."""

    position: int
    class_name: str
    similarity: float
    image: np.ndarray


@dataclass
class NeighbourIndex:
    """Unit-length features of training drawings, with the drawings and their classes."""

    vectors: np.ndarray
    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    layer: str
    seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.labels)

    def nearest(self, query: np.ndarray, k: int = 12) -> list[Neighbour]:
        """The ``k`` indexed drawings with the highest cosine similarity to one feature vector, best first."""
        if len(self) == 0:
            return []
        query = np.asarray(query, np.float32).reshape(-1)
        if query.shape[0] != self.vectors.shape[1]:
            raise ValueError(f"a query of {query.shape[0]} features for an index of {self.vectors.shape[1]}")
        query = query / max(float(np.linalg.norm(query)), 1e-12)
        scores = self.vectors @ query
        k = max(1, min(k, len(scores)))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [Neighbour(int(i), self.class_names[int(self.labels[i])], float(scores[i]), self.images[i]) for i in top]

    def search(self, model: keras.Model, image: np.ndarray, k: int = 12) -> list[Neighbour]:
        """The ``k`` training drawings most similar to one 28x28 image in the model's eyes."""
        return self.nearest(features(model, image)[0], k)

    def class_votes(self, neighbours: list[Neighbour]) -> list[tuple[str, int]]:
        """How many of the neighbours each class has, most first."""
        counts: dict[str, int] = {}
        for neighbour in neighbours:
            counts[neighbour.class_name] = counts.get(neighbour.class_name, 0) + 1
        return sorted(counts.items(), key=lambda item: -item[1])


def training_drawings(card, per_class: int = DEFAULT_PER_CLASS, root=None, seed: int = 0) -> DrawingDataset:
    """A sample of up to ``per_class`` drawings per class of the model's own training split, rebuilt from its card.

    The card records the source, format, classes, drawings per class, seed and split fractions, and the
    data loader's subsets and splits are seeded, so the same drawings come back. Raises ``DataError``
    for a model trained on data that is not in the data folder (e.g. someone's own drawings).
    """
    data = card.data
    source = data.get("source")
    if source not in ("quickdraw", "mnist"):
        what = "drawings made in the app" if source == "drawings" else f"{source or 'unknown'!r} data"
        raise DataError(f"model {card.name!r} was trained on {what}, which the data folder does not hold, so its "
                        "training drawings cannot be searched")
    with warnings.catch_warnings():  # "taking all N" for small classes: expected, the card says so too.
        warnings.simplefilter("ignore")
        splits = build_splits(source, list(data.get("classes") or card.class_names), int(data["per_class"]),
                              data.get("format", "bitmap") if source == "quickdraw" else "bitmap",
                              int(data.get("seed", 0)), root, float(data.get("validation_fraction", 0.1)),
                              float(data.get("test_fraction", 0.1)))
    train = splits.train
    if [str(name) for name in train.class_names] != list(card.class_names):
        raise DataError(f"the rebuilt training data of {card.name!r} has other classes than its card")
    random = np.random.default_rng(seed)
    chosen = [np.sort(random.permutation(np.flatnonzero(train.y == label))[:per_class])
              for label in range(len(train.class_names))]
    return train.subset(np.concatenate(chosen))


def build_index(model: keras.Model, card, per_class: int = DEFAULT_PER_CLASS, root=None,
                cache_folder: str | os.PathLike[str] | None = None) -> NeighbourIndex:
    """Index a sample of the model's training drawings by their penultimate-layer features.

    With ``cache_folder`` the index is also kept on disk (one .npz per model name, creation time and
    sample size, written atomically), so that a restarted server reads it back in a moment instead of
    recomputing it; a cache file that cannot be read is recomputed and replaced.
    """
    started = time.perf_counter()
    layer = feature_layer_name(model)
    path = _cache_path(cache_folder, card, per_class) if cache_folder else None
    cached = _load(path, card) if path is not None and path.is_file() else None
    if cached is not None and cached.layer == layer:
        cached.seconds = time.perf_counter() - started
        return cached
    dataset = training_drawings(card, per_class, root)
    index = NeighbourIndex(features(model, dataset.x), dataset.x, dataset.y, list(card.class_names), layer)
    if path is not None:
        with contextlib.suppress(OSError):  # A read-only registry only loses the disk copy.
            _save(path, index)
    index.seconds = time.perf_counter() - started
    return index


def _load(path: Path, card) -> NeighbourIndex | None:
    """A cached index, or None when the file cannot be read or does not hang together."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            index = NeighbourIndex(archive["vectors"], archive["images"], archive["labels"], list(card.class_names),
                                   str(archive["layer"]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    consistent = len(index.vectors) == len(index.labels) == len(index.images) and index.images.shape[1:] == (28, 28)
    return index if consistent and (len(index.labels) == 0 or index.labels.max() < len(card.class_names)) else None


def _cache_path(folder, card, per_class: int) -> Path:
    version = hashlib.sha256(f"{card.name}|{card.created}|{per_class}".encode()).hexdigest()[:16]
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", card.name)
    return Path(folder) / f"{safe}-{version}.npz"


def _save(path: Path, index: NeighbourIndex) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as output:
            np.savez(output, vectors=index.vectors, images=index.images, labels=index.labels,
                     layer=np.array(index.layer))
        publish(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def index_from_dataset(model: keras.Model, dataset: DrawingDataset) -> NeighbourIndex:
    """Index any dataset's drawings (the tests use a small slice) by the model's penultimate-layer features."""
    started = time.perf_counter()
    vectors = features(model, dataset.x)
    return NeighbourIndex(vectors, dataset.x, dataset.y, list(dataset.class_names), feature_layer_name(model),
                          time.perf_counter() - started)
