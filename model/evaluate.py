"""Evaluate a model on labelled drawings: top-1, top-3, per-class accuracy, confusion matrix, mistakes.

Command line: ``python -m model.evaluate --model NAME [data options] [--mistakes 20]`` evaluates a saved
model on the test split of the data it is given (by default the classes on its card).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from dataclasses import dataclass

import numpy as np


@dataclass
class Evaluation:
    """How well a model classifies a labelled set of drawings."""

    class_names: list[str]
    labels: np.ndarray
    probabilities: np.ndarray

    @property
    def predictions(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1)

    @property
    def top1(self) -> float:
        return float(np.mean(self.predictions == self.labels)) if len(self.labels) else 0.0

    @property
    def top3(self) -> float:
        if not len(self.labels):
            return 0.0
        best = np.argsort(-self.probabilities, axis=1)[:, :3]
        return float(np.mean(np.any(best == self.labels[:, None], axis=1)))

    @property
    def confusion(self) -> np.ndarray:
        """Counts: row = true class, column = predicted class."""
        size = len(self.class_names)
        return np.bincount(self.labels * size + self.predictions, minlength=size * size).reshape(size, size)

    @property
    def per_class(self) -> dict[str, float]:
        matrix = self.confusion
        totals = matrix.sum(axis=1)
        return {name: float(matrix[index, index] / totals[index]) if totals[index] else 0.0
                for index, name in enumerate(self.class_names)}

    def mistakes(self, true_class: int | None = None, predicted_class: int | None = None) -> np.ndarray:
        """Indices of the misclassified drawings, optionally of one cell of the confusion matrix."""
        wrong = self.predictions != self.labels
        if true_class is not None:
            wrong &= self.labels == true_class
        if predicted_class is not None:
            wrong &= self.predictions == predicted_class
        return np.flatnonzero(wrong)

    def as_dict(self) -> dict:
        return {"test_top1": round(self.top1, 4), "test_top3": round(self.top3, 4),
                "per_class": {name: round(value, 4) for name, value in self.per_class.items()},
                "test_count": int(len(self.labels)), "confusion": self.confusion.tolist()}


CHANCE_MARGIN = 0.05  # top-1 accuracy this close to (or below) guessing at random counts as chance


def chance_warning(evaluation: Evaluation) -> str | None:
    """A plain warning when top-1 accuracy is at or near chance (within ``CHANCE_MARGIN`` of 1 / classes).

    Returns None when the model does clearly better than guessing, or when there is nothing to judge
    (no drawings, fewer than two classes).
    """
    classes = len(evaluation.class_names)
    if classes < 2 or not len(evaluation.labels):
        return None
    chance = 1 / classes
    if evaluation.top1 > chance + CHANCE_MARGIN:
        return None
    return (f"Top-1 accuracy {evaluation.top1:.0%} is no better than guessing at random ({chance:.0%} for "
            f"{classes} classes): the network has learned little or nothing yet. Likely reasons: too few "
            "epochs (train for more), too few drawings per class (use more), or classes too alike to tell "
            "apart with this data.")


def evaluate(model, images: np.ndarray, labels: np.ndarray, class_names: list[str]) -> Evaluation:
    """Classify uint8 (N, 28, 28) images with one compiled call per batch and compare with the labels."""
    from model.predict import batch_probabilities

    return Evaluation(list(class_names), np.asarray(labels, np.int64), batch_probabilities(model, images))


def _raw_drawings(classes: list[str], card, data_dir: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Every raw drawing of the classes in ``quickdraw/raw``, rendered with the model's recipe, and labels."""
    from data_loader import DataError
    from data_loader import data_dir as resolve
    from data_loader.quickdraw import read_ndjson, render_file_drawings

    images, labels = [], []
    for name in classes:
        path = resolve(data_dir) / "quickdraw" / "raw" / f"{name}.ndjson"
        if path.is_file():
            records = [record["drawing"] for record in read_ndjson(path)]
            if records:
                images.append(render_file_drawings(path, records, card.recipe))
                labels += [card.class_names.index(name)] * len(records)
    if not images:
        raise DataError(f"no raw drawings of {', '.join(classes)} in {resolve(data_dir) / 'quickdraw' / 'raw'}")
    return np.concatenate(images), np.array(labels, np.int64)


def held_out_split(card, source: str, classes: list[str], per_class: int | None = None,
                   data_format: str | None = None, seed: int | None = None) -> dict:
    """The data settings that rebuild the test part a model's training held out, from its card.

    Options given explicitly win; the result then says, under "warning", that the drawings may overlap
    the model's training drawings (a different subset or seed draws a different split).
    """
    if per_class is not None and (isinstance(per_class, bool) or per_class < 1):
        raise ValueError(f"drawings per class must be at least 1, got {per_class!r}")
    data = card.data
    recorded = {"per_class": data.get("per_class"), "format": data.get("format"), "seed": data.get("seed", 0),
                "validation_fraction": data.get("validation_fraction", 0.1),
                "test_fraction": data.get("test_fraction", 0.1)}
    recorded_format = recorded["format"] if recorded["format"] in ("bitmap", "strokes") else "bitmap"
    chosen = {**recorded, "per_class": per_class or recorded["per_class"] or 500,  # per_class is None or >= 1
              "format": data_format or recorded_format,
              "seed": recorded["seed"] if seed is None else seed}
    same = (source == data.get("source") and classes == card.class_names and recorded["per_class"] is not None
            and all(chosen[key] == recorded[key] for key in ("per_class", "format", "seed")))
    chosen["warning"] = None if same or source == "mnist" else (
        "this is not the split the model was trained with (its card records source, classes, per-class count, "
        "format and seed), so the test drawings may include drawings it learned from")
    return chosen


def _check_arguments(arguments: argparse.Namespace) -> None:
    """Refuse options given with a value that would otherwise silently fall back to the card's."""
    if arguments.classes is not None and not arguments.classes.strip(" ,"):
        raise ValueError("--classes is empty: name the classes to evaluate, separated by commas, or leave the "
                         "option out to use the model's classes")
    if arguments.per_class is not None and arguments.per_class < 1:
        raise ValueError(f"--per-class must be at least 1, got {arguments.per_class}; leave it out to rebuild the "
                         "test part the training held out")
    if arguments.mistakes < 0:
        raise ValueError(f"--mistakes must be 0 or more, got {arguments.mistakes}")


def main(argv: list[str] | None = None) -> int:
    """Evaluate a saved model from the command line; print metrics, confusion matrix and mistakes."""
    from data_loader import DataError, build_splits
    from data_loader.dataset import parse_classes
    from model.registry import RegistryError, load_model

    parser = argparse.ArgumentParser(prog="python -m model.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a registry name, a model folder or a .keras file")
    parser.add_argument("--source", choices=("quickdraw", "mnist"), help="default: the card's data source")
    parser.add_argument("--classes", help="default: the card's classes, in its order")
    parser.add_argument("--per-class", type=int,
                        help="default: the card's, so that the test part is the one the training held out")
    parser.add_argument("--format", choices=("bitmap", "strokes", "raw"),
                        help="default: the card's; raw: every drawing in quickdraw/raw (timed strokes, as a user "
                             "draws them)")
    parser.add_argument("--seed", type=int, help="default: the card's")
    parser.add_argument("--data-dir")
    parser.add_argument("--mistakes", type=int, default=0, help="list this many misclassified drawings")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    arguments = parser.parse_args(argv)
    try:
        _check_arguments(arguments)
        model, card = load_model(arguments.model)
        classes = parse_classes(arguments.classes) if arguments.classes is not None else card.class_names
        unknown = [name for name in classes if name not in card.class_names]
        if unknown:
            raise ValueError(f"the model does not know {', '.join(unknown)}; it knows {', '.join(card.class_names)}")
        if arguments.format == "raw":
            images, labels = _raw_drawings(classes, card, arguments.data_dir)
        else:
            source = arguments.source or card.data.get("source", "quickdraw")
            held_out = held_out_split(card, source, classes, arguments.per_class, arguments.format, arguments.seed)
            if held_out["warning"]:
                print(f"warning: {held_out['warning']}", file=sys.stderr)
            with warnings.catch_warnings():  # "taking all N" is expected when rebuilding the training's subset.
                warnings.simplefilter("ignore" if held_out["warning"] is None else "default")
                splits = build_splits(source, classes, held_out["per_class"], held_out["format"], held_out["seed"],
                                      arguments.data_dir, held_out["validation_fraction"], held_out["test_fraction"])
            images = splits.test.x
            labels = np.array([card.class_names.index(classes[label]) for label in splits.test.y], np.int64)
        result = evaluate(model, images, labels, card.class_names)
    except (DataError, RegistryError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if arguments.json:
        print(json.dumps(result.as_dict()))
        return 0
    print(f"model {card.name}: {len(labels):,} test drawings of {len(classes)} classes")
    print(f"top-1 accuracy {result.top1:.2%}   top-3 accuracy {result.top3:.2%}")
    if warning := chance_warning(result):
        print(f"warning: {warning}")
    print("\nper class:")
    for name, value in result.per_class.items():
        if name in classes:
            print(f"  {name:>20}  {value:.2%}")
    print("\nconfusion matrix (rows: true class, columns: predicted class, in card order):")
    for name, row in zip(card.class_names, result.confusion, strict=True):
        print(f"  {name[:12]:>12} " + " ".join(f"{count:5d}" for count in row))
    for index in result.mistakes()[: arguments.mistakes]:
        truth, guess = card.class_names[labels[index]], card.class_names[result.predictions[index]]
        print(f"  test drawing {index}: a {truth} taken for a {guess} ({result.probabilities[index].max():.0%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
