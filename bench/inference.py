"""Inference benchmark: the predictor's compiled call against ``model(x)`` and ``model.predict``.

All three run the same model (the bundled QuickDraw one) on one 28x28 drawing, in the same process.
"""

from __future__ import annotations

import numpy as np

from bench.timing import machine, time_calls


def run(model_name: str = "quickdraw18") -> dict:
    from model.predict import Predictor, as_model_input

    predictor = Predictor.load(model_name)
    rng = np.random.default_rng(0)
    image = (rng.random((28, 28)) > 0.85).astype(np.uint8) * 255
    batch = as_model_input(image)
    model = predictor.model
    figures = {
        "predictor": time_calls(lambda: predictor.rank(image), repeats=500, warmup=20),
        "eager_model_call": time_calls(lambda: model(batch, training=False).numpy(), repeats=200, warmup=5),
        "model_predict": time_calls(lambda: model.predict(batch, verbose=0), repeats=40, warmup=3),
    }
    fastest = figures["predictor"]["median_ms"]
    figures["speedup_vs_eager"] = round(figures["eager_model_call"]["median_ms"] / fastest, 1)
    figures["speedup_vs_predict"] = round(figures["model_predict"]["median_ms"] / fastest, 1)
    figures["model"] = model_name
    figures["parameters"] = int(model.count_params())
    figures["machine"] = machine()
    return figures


def table(figures: dict) -> list[tuple[str, str]]:
    rows = [(name, f"median {figures[name]['median_ms']:.2f} ms, p95 {figures[name]['p95_ms']:.2f} ms")
            for name in ("predictor", "eager_model_call", "model_predict")]
    rows.append(("speedup", f"{figures['speedup_vs_eager']}x vs model(x), {figures['speedup_vs_predict']}x vs "
                            "model.predict"))
    return rows
