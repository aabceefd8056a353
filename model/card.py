"""The model card: what a saved model is, what it expects, how it was made and how well it does.

A card is stored as JSON beside each ``.keras`` file. It records the class names, the input convention
(float32 (N, 28, 28, 1), 0 = background, 1 = ink), the rendering recipe that turns strokes into the
model's input (``quickdraw`` or ``mnist``), the architecture, the data, the metrics, the training
history, the device, the creation time and the command that reproduces the model.
"""

from __future__ import annotations

import json
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

    def __post_init__(self) -> None:
        if len(self.class_names) < 2:
            raise ValueError(f"a model card needs at least two class names, got {self.class_names!r}")
        if self.recipe not in ("quickdraw", "mnist"):
            raise ValueError(f"unknown rendering recipe {self.recipe!r} in the card of {self.name!r}")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def summary(self) -> str:
        """One sentence for the UI: classes, accuracy and data."""
        accuracy = self.metrics.get("test_top1")
        accuracy_text = f", {accuracy:.1%} top-1 on its test split" if isinstance(accuracy, float) else ""
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
