"""Teach-by-drawing benchmark: fine-tune the bundled QuickDraw model on 3 new classes x 10 drawings, the way the
Train page does, and time it (target: under 60 seconds here). Real stroke drawings of categories the model
does not know (``quickdraw/binary``) stand in for the user's drawings; 15 more of each test the result.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from bench.timing import machine

NEW_CLASSES = ["star", "ladder", "umbrella"]
FINE_TUNING = "Fine-tuning: feature extraction, then also retrain the top convolutional block"


def run(data_dir: str | None = None) -> dict:
    from data_loader import data_dir as resolve
    from data_loader import from_drawings
    from data_loader.quickdraw import load_strokes
    from data_loader.raster import render_many
    from model.predict import batch_probabilities
    from model.train import train
    from ui.choices import config_from_choices

    strokes = {name: load_strokes(resolve(data_dir), name, 25)[0] for name in NEW_CLASSES}
    with tempfile.TemporaryDirectory() as folder:
        dataset = from_drawings({name: drawings[:10] for name, drawings in strokes.items()})
        path = dataset.save(Path(folder) / "drawings.npz")
        config = config_from_choices("My own drawings", [], 0, "doodle", 25, 16, 3e-3, False, 0.5, 0.3, FINE_TUNING,
                                     "quickdraw18", str(path))
        started = time.perf_counter()
        result = train(config)
        seconds = time.perf_counter() - started
    held_out = [(drawing, index) for index, name in enumerate(NEW_CLASSES) for drawing in strokes[name][10:]]
    probabilities = batch_probabilities(result.model, render_many([drawing for drawing, _ in held_out]))
    right = int(np.sum(np.argmax(probabilities, axis=1) == np.array([label for _, label in held_out])))
    return {"seconds": round(seconds, 1), "target_seconds": 60, "held_out_accuracy": round(right / len(held_out), 3),
            "held_out": len(held_out), "classes": NEW_CLASSES, "machine": machine()}


def table(figures: dict) -> list[tuple[str, str]]:
    return [("fine-tune 3 new classes x 10 drawings", f"{figures['seconds']:.1f} s (target under 60 s)"),
            ("new drawings recognised", f"{figures['held_out_accuracy']:.0%} of {figures['held_out']}")]
