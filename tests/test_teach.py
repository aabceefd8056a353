"""Teaching new classes by drawing: fine-tune the bundled QuickDraw model on 10 drawings of each of three new
classes, as the Train page does, and check it recognises other drawings of them.

Real stroke drawings of categories the bundled model does not know (from ``quickdraw/binary``) stand in for
a user's drawings. How long this takes is measured by ``python -m bench teach``, not asserted here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from data_loader import from_drawings
from data_loader.quickdraw import load_strokes
from data_loader.raster import render_many
from model.predict import Predictor
from model.train import save_result, train
from ui.choices import config_from_choices

NEW_CLASSES = ["star", "ladder", "umbrella"]


def test_three_new_classes_from_ten_drawings_each(data_root: Path, tmp_path: Path, registry) -> None:
    strokes = {name: load_strokes(data_root, name, 25)[0] for name in NEW_CLASSES}
    dataset_file = from_drawings({name: drawings[:10] for name, drawings in strokes.items()}).save(
        tmp_path / "my-drawings.npz")
    config = config_from_choices(
        "My own drawings", [], 0, "doodle", 25, 16, 3e-3, False, 0.5, 0.3,
        "Fine-tuning: feature extraction, then also retrain the top convolutional block", "quickdraw18",
        str(dataset_file))
    result = train(config)
    assert result.card.class_names == NEW_CLASSES and result.card.base_model == "quickdraw18"
    entry = save_result(result, "shapes", registry, activate=True)
    predictor = Predictor.load(entry.name, registry)
    held_out = [(drawing, name) for name, drawings in strokes.items() for drawing in drawings[10:]]
    probabilities = predictor.probabilities(render_many([drawing for drawing, _ in held_out]))
    guesses = [predictor.class_names[index] for index in np.argmax(probabilities, axis=1)]
    right = sum(guess == name for guess, (_, name) in zip(guesses, held_out, strict=True))
    assert right / len(held_out) >= 0.7, f"{right} of {len(held_out)} new drawings recognised"
