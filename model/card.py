"""The model card: what a saved model is, what it expects, how it was made and how well it does.

A card is stored as JSON beside each ``.keras`` file. It records the class names, the input convention
(float32 (N, 28, 28, 1), 0 = background, 1 = ink), the rendering recipe that turns strokes into the
model's input (``quickdraw`` or ``mnist``), the architecture, the data, the metrics, the training
history, the device, the creation time and the command that reproduces the model.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

INPUT_CONVENTION = {
    "shape": [28, 28, 1],
    "dtype": "float32",
    "range": "0 = background, 1 = ink (uint8 images divided by 255)",
}


@dataclass
class ModelCard:
    """Everything a user or the app needs to know about one saved model."""

    name: str
    class_names: list[str]
    recipe: str
    architecture: str
    data: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)
    device: str = "unknown"
    created: str = ""
    command: str = ""
    parameters: int = 0
    training_seconds: float = 0.0
    base_model: str | None = None
    transfer: str = "none"
    description: str = ""
    input: dict[str, Any] = field(default_factory=lambda: dict(INPUT_CONVENTION))
    saved_by: str = ""
    owner: str = ""

    def __post_init__(self) -> None:
        check_fields(self)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def summary(self) -> str:
        """One sentence for the UI: classes, accuracy and data."""
        accuracy = self.metrics.get("test_top1")
        accuracy_text = f", {accuracy:.1%} top-1 on its test split" if accuracy is not None else ""
        source = self.data.get("source", "unknown data")
        return f"{self.architecture} network, {self.num_classes} classes from {source}{accuracy_text}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> ModelCard:
        """Parse a card, ignoring fields a newer version may have added."""
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("a model card must be a JSON object")
        known = {name: value for name, value in raw.items() if name in cls.__dataclass_fields__}
        missing = [name for name in ("name", "class_names", "recipe", "architecture") if name not in known]
        if missing:
            raise ValueError(f"the model card lacks {', '.join(missing)}")
        return cls(**known)


def _is_number(value: Any) -> bool:
    """A JSON number (not a boolean); NaN is allowed, as a diverged training records it."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_share(value: Any) -> bool:
    return _is_number(value) and (math.isnan(value) or 0 <= value <= 1)


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _numbers(value: Any) -> bool:
    return isinstance(value, list) and all(_is_number(item) for item in value)


def _number_map(value: Any) -> bool:
    return isinstance(value, dict) and all(_is_number(item) for item in value.values())


# What each field must hold: (test, description). Metrics a newer version adds may be anything JSON holds.
_FIELDS = {
    "name": (_is_text, "a string"),
    "recipe": (_is_text, "a string"),
    "architecture": (_is_text, "a string"),
    "data": (lambda value: isinstance(value, dict), "an object"),
    "metrics": (lambda value: isinstance(value, dict), "an object"),
    "history": (lambda value: isinstance(value, dict) and all(_numbers(item) for item in value.values()),
                "an object of lists of numbers"),
    "device": (_is_text, "a string"),
    "created": (_is_text, "a string"),
    "command": (_is_text, "a string"),
    "parameters": (lambda value: isinstance(value, int) and not isinstance(value, bool) and value >= 0,
                   "a whole number, 0 or more"),
    "training_seconds": (lambda value: _is_number(value) and not value < 0, "a number, 0 or more"),
    "base_model": (lambda value: value is None or isinstance(value, str), "a string or null"),
    "transfer": (_is_text, "a string"),
    "description": (_is_text, "a string"),
    "input": (lambda value: isinstance(value, dict), "an object"),
    "saved_by": (_is_text, "a string"),
    "owner": (_is_text, "a string"),
}
_METRICS = {
    "test_top1": (_is_share, "a number from 0 to 1"),
    "test_top3": (_is_share, "a number from 0 to 1"),
    "test_count": (lambda value: isinstance(value, int) and not isinstance(value, bool) and value >= 0,
                   "a whole number, 0 or more"),
    "per_class": (_number_map, "an object of numbers"),
    "confusion": (lambda value: isinstance(value, list) and all(_numbers(row) for row in value),
                  "a list of lists of numbers"),
    "evaluated_on": (_is_text, "a string"),
}

_DATA = {
    "source": (_is_text, "a string"),
    "format": (_is_text, "a string"),
    "classes": (lambda value: isinstance(value, list) and all(isinstance(item, str) for item in value),
                "a list of strings"),
    "train_counts": (_number_map, "an object of numbers"),
    "validation_counts": (_number_map, "an object of numbers"),
    "test_counts": (_number_map, "an object of numbers"),
    "origins": (lambda value: isinstance(value, dict), "an object"),
    "seed": (lambda value: value is None or (isinstance(value, int) and not isinstance(value, bool)),
             "a whole number"),
    "per_class": (lambda value: value is None or (isinstance(value, int) and not isinstance(value, bool)),
                  "a whole number or null"),
    "validation_fraction": (_is_share, "a number from 0 to 1"),
    "test_fraction": (_is_share, "a number from 0 to 1"),
}


def check_fields(card: ModelCard) -> None:
    """Raise ``ValueError`` naming the first field of ``card`` whose type or value is wrong.

    This is the one place where a card's contents are checked: every card the app builds or reads passes
    here, so a card with, say, ``"metrics": "oops"`` or ``"class_names": "abc"`` is refused as a whole
    instead of failing later on a page.
    """
    names = card.class_names
    if not isinstance(names, list) or not all(isinstance(name, str) and name.strip() for name in names):
        raise ValueError(f"the card's class_names must be a list of non-empty strings, got {names!r}")
    if len(names) < 2:
        raise ValueError(f"a model card needs at least two class names, got {names!r}")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"the card's class_names repeat {', '.join(map(repr, duplicates))}")
    for name, (test, description) in _FIELDS.items():
        value = getattr(card, name)
        if not test(value):
            raise ValueError(f"the card's {name} must be {description}, got {_shown(value)}")
    for part, checks in (("metrics", _METRICS), ("data", _DATA)):
        values = getattr(card, part)
        for name, (test, description) in checks.items():
            if name in values and not test(values[name]):
                raise ValueError(f"the card's {part}.{name} must be {description}, got {_shown(values[name])}")
    if card.recipe not in ("quickdraw", "mnist"):
        raise ValueError(f"unknown rendering recipe {card.recipe!r} in the card of {card.name!r}")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
