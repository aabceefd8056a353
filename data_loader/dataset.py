"""N-class subsets of QuickDraw, MNIST or the user's own drawings, and their stratified splits.

A ``DrawingDataset`` holds uint8 images (N, 28, 28) with 0 = background and 255 = ink, integer labels,
the class names, which rendering recipe made the images (``quickdraw`` or ``mnist``, see
``data_loader.raster``) and where each class came from.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from data_loader import mnist, quickdraw
from data_loader.errors import DataError
from data_loader.files import publish
from data_loader.raster import render_many
from data_loader.settings import data_dir

SOURCES = ("quickdraw", "mnist")


@dataclass
class DrawingDataset:
    """Images, labels and class names, with the recipe that rendered them and where they came from."""

    x: np.ndarray
    y: np.ndarray
    class_names: list[str]
    source: str
    data_format: str
    recipe: str
    origins: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.x.dtype != np.uint8 or self.x.ndim != 3 or self.x.shape[1:] != (28, 28):
            raise ValueError(f"images must be uint8 (N, 28, 28), got {self.x.dtype} {self.x.shape}")
        if len(self.x) != len(self.y):
            raise ValueError(f"{len(self.x)} images but {len(self.y)} labels")

    def __len__(self) -> int:
        return len(self.y)

    def counts(self) -> dict[str, int]:
        """Return how many drawings each class has."""
        totals = np.bincount(self.y, minlength=len(self.class_names))
        return {name: int(total) for name, total in zip(self.class_names, totals, strict=True)}

    def subset(self, indices: np.ndarray) -> DrawingDataset:
        """Return the drawings at ``indices`` with the same classes and provenance."""
        return replace(self, x=self.x[indices], y=self.y[indices], warnings=list(self.warnings))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``x``, ``y``, ``class_names`` and the provenance to an .npz file, atomically."""
        path = Path(path)
        metadata = {"source": self.source, "data_format": self.data_format, "recipe": self.recipe,
                    "origins": self.origins}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        except OSError as error:
            raise DataError(f"cannot write {path} ({error.strerror})") from error
        try:
            with os.fdopen(handle, "wb") as output:
                np.savez_compressed(output, x=self.x, y=self.y, class_names=np.array(self.class_names),
                                    metadata=np.array(json.dumps(metadata)))
            publish(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> DrawingDataset:
        """Read a dataset written by ``save``; a label that names no class is an error, never dropped."""
        try:
            with np.load(path, allow_pickle=False) as archive:
                metadata = json.loads(str(archive["metadata"])) if "metadata" in archive else {}
                labels = archive["y"]
                if labels.dtype.kind not in "iu" or labels.ndim != 1:
                    raise DataError(f"{path}: the labels must be whole numbers (one per drawing), "
                                    f"got {labels.dtype} {labels.shape}")
                dataset = cls(x=archive["x"], y=labels.astype(np.int64),
                              class_names=[str(name) for name in archive["class_names"]],
                              source=metadata.get("source", "unknown"),
                              data_format=metadata.get("data_format", "unknown"),
                              recipe=metadata.get("recipe", "quickdraw"), origins=metadata.get("origins", {}))
        except DataError:
            raise
        except (OSError, ValueError, KeyError) as error:
            raise DataError(f"{path} is not a dataset file written by Doodle Lab ({error})") from error
        dataset.check_labels(str(path))
        return dataset

    def check_labels(self, where: str = "the dataset") -> None:
        """Raise ``DataError`` naming ``where`` if a label names no class or two class names are one class."""
        repeated = repeated_classes(self.class_names)
        if repeated:
            raise DataError(f"{where}: class names given more than once: {'; '.join(repeated)}")
        outside = (self.y < 0) | (self.y >= len(self.class_names))
        if outside.any():
            bad = np.unique(self.y[outside])
            shown = ", ".join(map(str, bad[:10])) + (", ..." if len(bad) > 10 else "")
            raise DataError(
                f"{where}: {int(outside.sum()):,} drawings have labels ({shown}) outside the "
                f"{len(self.class_names)} classes (labels 0 to {len(self.class_names) - 1}); "
                "fix the labels or the class names")


@dataclass
class DatasetSplits:
    """Train, validation and test parts of one dataset, stratified by class."""

    train: DrawingDataset
    validation: DrawingDataset
    test: DrawingDataset


def parse_classes(text: str | list[str]) -> list[str]:
    """Turn "cat, house plant,train" (or a list) into a clean list of names, rejecting duplicates.

    Names that differ only in case or spacing ("cat" and "Cat ", "house plant" and "house  plant") are
    duplicates: they would be one class under two labels.
    """
    if not isinstance(text, str | list | tuple) or not all(isinstance(name, str) for name in text):
        raise DataError(f"classes must be names separated by commas, got {text!r}")
    names = [name.strip() for name in (text.split(",") if isinstance(text, str) else text)]
    names = [name for name in names if name]
    if len(names) < 1:
        raise DataError("no classes given: name at least one, separated by commas")
    repeated = repeated_classes(names)
    if repeated:
        raise DataError(f"classes given more than once: {'; '.join(repeated)} (case and spaces do not count)")
    return names


def class_key(name: str) -> str:
    """The form of a class name that decides whether two names are the same class: no case, single spaces."""
    return " ".join(name.split()).casefold()


def repeated_classes(names: list[str]) -> list[str]:
    """Each group of names that are the same class (see ``class_key``), as "'cat', 'Cat'"; [] if none."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(class_key(name), []).append(name)
    return [", ".join(map(repr, group)) for group in groups.values() if len(group) > 1]


def build_subset(source: str, classes: str | list[str], per_class: int, data_format: str = "bitmap",
                 seed: int = 0, root: str | os.PathLike[str] | None = None) -> DrawingDataset:
    """Build a dataset of ``per_class`` drawings for each class of QuickDraw or MNIST.

    QuickDraw takes any of the 345 category names, as ``bitmap`` (Google's 28x28 files) or ``strokes``
    (simplified strokes rendered by the project's rasterizer); MNIST takes digits "0" to "9".
    When a class has fewer drawings than asked, all of them are taken and a warning names the class.
    """
    if isinstance(per_class, bool) or not isinstance(per_class, int) or per_class <= 0:
        raise DataError(f"the number of drawings per class must be a whole number above zero, got {per_class!r}")
    names = parse_classes(classes)
    root_path = data_dir(root)
    rng = np.random.default_rng(seed)
    if source == "quickdraw":
        return _build_quickdraw([quickdraw.check_category(name) for name in names], per_class, data_format,
                                rng, root_path)
    if source == "mnist":
        return _build_mnist(_check_digits(names), per_class, rng, root_path)
    raise DataError(f"unknown data source {source!r}; choose one of {', '.join(SOURCES)}")


def build_splits(source: str, classes: str | list[str], per_class: int, data_format: str = "bitmap",
                 seed: int = 0, root: str | os.PathLike[str] | None = None,
                 validation_fraction: float = 0.1, test_fraction: float = 0.1) -> DatasetSplits:
    """Build a subset and split it; MNIST keeps its official test set as the test part."""
    dataset = build_subset(source, classes, per_class, data_format, seed, root)
    if source != "mnist":
        return split(dataset, validation_fraction, test_fraction, seed)
    parts = split(dataset, validation_fraction, 0.0, seed)
    images, labels, origin = mnist.load_test(data_dir(root))
    digits = [int(name) for name in dataset.class_names]
    keep = np.isin(labels, digits)
    remap = {digit: index for index, digit in enumerate(digits)}
    test = replace(dataset, x=images[keep], y=np.array([remap[int(label)] for label in labels[keep]], np.int64),
                   data_format="idx", origins={name: origin for name in dataset.class_names}, warnings=[])
    return DatasetSplits(parts.train, parts.validation, test)


def split(dataset: DrawingDataset, validation_fraction: float = 0.1, test_fraction: float = 0.1,
          seed: int = 0) -> DatasetSplits:
    """Split a dataset by class with a fixed seed, so every part keeps the class balance."""
    if not 0 <= validation_fraction < 1 or not 0 <= test_fraction < 1 or validation_fraction + test_fraction >= 1:
        raise ValueError("validation and test fractions must be in [0, 1) and leave room for training data")
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[], [], []]
    for label in range(len(dataset.class_names)):
        members = rng.permutation(np.flatnonzero(dataset.y == label))
        test_count = _share(len(members), test_fraction)
        validation_count = _share(len(members), validation_fraction)
        parts[2].append(members[:test_count])
        parts[1].append(members[test_count : test_count + validation_count])
        parts[0].append(members[test_count + validation_count :])
    chosen = [rng.permutation(np.concatenate(part)) if part else np.array([], int) for part in parts]
    return DatasetSplits(*(dataset.subset(indices.astype(np.int64)) for indices in chosen))


def from_drawings(drawings: dict[str, list[list]], recipe: str = "quickdraw") -> DrawingDataset:
    """Render the user's own stroke drawings, one list per class name, into a dataset."""
    if len(drawings) < 1 or any(len(items) == 0 for items in drawings.values()):
        raise DataError("every class needs at least one drawing")
    names = list(drawings)
    repeated = repeated_classes([str(name) for name in names])
    if repeated:
        raise DataError(f"classes given more than once: {'; '.join(repeated)} (case and spaces do not count)")
    images = np.concatenate([render_many(drawings[name], recipe) for name in names])
    labels = np.concatenate([np.full(len(drawings[name]), index, np.int64) for index, name in enumerate(names)])
    return DrawingDataset(images, labels, names, "drawings", "canvas", recipe,
                          {name: "drawn in the app" for name in names})


def _share(count: int, fraction: float) -> int:
    """How many of ``count`` drawings go to a part of the given fraction (at least one when possible)."""
    if fraction <= 0 or count < 3:
        return 0
    return max(1, round(count * fraction))


def _take_all_warning(name: str, found: int, asked: int, messages: list[str]) -> None:
    message = f"class {name!r} has only {found:,} drawings, fewer than the {asked:,} asked for: taking all {found:,}"
    messages.append(message)
    warnings.warn(message, stacklevel=3)


def _build_quickdraw(names: list[str], per_class: int, data_format: str, rng: np.random.Generator,
                     root: Path) -> DrawingDataset:
    if data_format not in quickdraw.FORMATS:
        raise DataError(f"unknown QuickDraw format {data_format!r}; choose one of {', '.join(quickdraw.FORMATS)}")
    images, labels, origins, messages = [], [], {}, []
    for index, name in enumerate(names):
        if data_format == "bitmap":
            block, path = quickdraw.load_bitmaps(root, name, per_class, rng)
        else:
            strokes, path = quickdraw.load_strokes(root, name, per_class)
            block = render_many(strokes, "quickdraw", simplified=True)
        if len(block) < per_class:
            _take_all_warning(name, len(block), per_class, messages)
        images.append(block)
        labels.append(np.full(len(block), index, np.int64))
        origins[name] = str(path)
    return DrawingDataset(np.concatenate(images), np.concatenate(labels), names, "quickdraw", data_format,
                          "quickdraw", origins, messages)


def _check_digits(names: list[str]) -> list[str]:
    bad = [name for name in names if name not in mnist.DIGITS]
    if bad:
        raise DataError(f"MNIST classes are the digits 0 to 9; not digits: {', '.join(map(repr, bad))}")
    return names


def _build_mnist(names: list[str], per_class: int, rng: np.random.Generator, root: Path) -> DrawingDataset:
    images, labels, origin = mnist.load_train(root)
    chosen_images, chosen_labels, messages = [], [], []
    for index, name in enumerate(names):
        members = np.flatnonzero(labels == int(name))
        if len(members) < per_class:
            _take_all_warning(name, len(members), per_class, messages)
        members = np.sort(rng.choice(members, size=min(per_class, len(members)), replace=False))
        chosen_images.append(images[members])
        chosen_labels.append(np.full(len(members), index, np.int64))
    return DrawingDataset(np.concatenate(chosen_images), np.concatenate(chosen_labels), names, "mnist", "digits",
                          "mnist", {name: origin for name in names}, messages)
