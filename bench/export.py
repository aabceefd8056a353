"""Export benchmark: every format of the bundled models, made and verified as ``python -m model.export`` does.

For each model and format it reports the file size and its ratio to the ``.keras`` file (the baseline,
measured in the same run), the seconds the export and its verification took, and the verification figures
on the model's held-out test part: top-1 agreement with Keras, the largest probability difference, and the
top-1 accuracy of Keras and of the export (for ``tflite-int8``, the accuracy change in points).
``figures()`` returns the same numbers for other benchmarks (``bench live`` reports them too).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from bench.timing import machine

MODELS = ("quickdraw18", "mnist")


def figures(models: tuple[str, ...] = MODELS, formats: tuple[str, ...] | None = None,
            data_dir: str | None = None) -> dict:
    """Export each model in each format into a temporary folder and return sizes and verification figures,
    keyed "model/format"."""
    from model.export import FORMATS, export_model

    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="doodle-export-bench-") as folder:
        for name in models:
            keras_bytes = None
            for export_format in ("keras", *[item for item in formats or FORMATS if item != "keras"]):
                started = time.perf_counter()
                out = export_model(name, export_format, Path(folder) / f"{name}-{export_format}", data_dir=data_dir)
                seconds = time.perf_counter() - started
                section = json.loads((out / "card.json").read_text(encoding="utf-8"))["export"]
                figures_ = section["verification"]
                keras_bytes = keras_bytes or section["bytes"]
                results[f"{name}/{export_format}"] = {
                    "bytes": section["bytes"], "size_vs_keras": round(section["bytes"] / keras_bytes, 3),
                    "seconds": round(seconds, 1), "drawings": figures_["drawings"],
                    "top1_agreement": figures_["top1_agreement"],
                    "max_probability_difference": figures_["max_probability_difference"],
                    "keras_top1": figures_.get("keras_top1"), "export_top1": figures_.get("export_top1"),
                    "top1_change_points": figures_.get("top1_change_points"),
                }
    return results


def run(data_dir: str | None = None) -> dict:
    return {"exports": figures(data_dir=data_dir), "machine": machine()}


def table(results: dict) -> list[tuple[str, str]]:
    rows = []
    for key, item in results["exports"].items():
        accuracy = "" if item["export_top1"] is None else \
            f", top-1 {item['keras_top1']:.2%} -> {item['export_top1']:.2%} ({item['top1_change_points']:+.2f} pt)"
        rows.append((key, f"{item['bytes'] / 1e6:.2f} MB ({item['size_vs_keras']:.2f}x .keras), agreement "
                          f"{item['top1_agreement']:.2%} on {item['drawings']:,}, max diff "
                          f"{item['max_probability_difference']:.1e}{accuracy}, {item['seconds']:.0f} s"))
    return rows
