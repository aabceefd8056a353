"""Inference benchmark: the predictor's compiled call against ``model(x)`` and ``model.predict``, and the
server's fast path (the same predictor running the model's verified ONNX export with onnxruntime).

All run the same model (the bundled QuickDraw one) on one 28x28 drawing, in the same process. For the two
predictor paths the CPU time per call (every thread of the process) is reported too: a server guessing for a
whole class pays CPU, not wall time.
"""

from __future__ import annotations

import time

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
    figures["predictor"]["cpu_ms"] = _cpu_per_call(lambda: predictor.rank(image))
    from model.export import browser_model

    fast = Predictor.load(model_name)
    fast.use_onnx(browser_model(model_name))
    figures["onnx_predictor"] = time_calls(lambda: fast.rank(image), repeats=500, warmup=20)
    figures["onnx_predictor"]["cpu_ms"] = _cpu_per_call(lambda: fast.rank(image))
    fastest = figures["predictor"]["median_ms"]
    figures["speedup_vs_eager"] = round(figures["eager_model_call"]["median_ms"] / fastest, 1)
    figures["speedup_vs_predict"] = round(figures["model_predict"]["median_ms"] / fastest, 1)
    figures["model"] = model_name
    figures["parameters"] = int(model.count_params())
    figures["machine"] = machine()
    return figures


def _cpu_per_call(function, repeats: int = 500) -> float:
    """Milliseconds of the process's CPU time (all threads) per call."""
    started = time.process_time()
    for _ in range(repeats):
        function()
    return round((time.process_time() - started) * 1000 / repeats, 3)


def table(figures: dict) -> list[tuple[str, str]]:
    rows = [(name, f"median {figures[name]['median_ms']:.2f} ms, p95 {figures[name]['p95_ms']:.2f} ms"
                   + (f", CPU {figures[name]['cpu_ms']:.2f} ms a call" if "cpu_ms" in figures[name] else ""))
            for name in ("predictor", "onnx_predictor", "eager_model_call", "model_predict")]
    rows.append(("speedup", f"{figures['speedup_vs_eager']}x vs model(x), {figures['speedup_vs_predict']}x vs "
                            "model.predict"))
    return rows
