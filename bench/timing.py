"""Small timing helpers shared by the benchmarks: repeat a call, report medians and 95th percentiles."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def time_calls(function: Callable[[], object], repeats: int, warmup: int = 3) -> dict[str, float]:
    """Call ``function`` ``warmup`` times untimed, then ``repeats`` times; return milliseconds statistics."""
    for _ in range(warmup):
        function()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    values = np.array(samples)
    return {"median_ms": round(float(np.median(values)), 3), "p95_ms": round(float(np.percentile(values, 95)), 3),
            "calls": repeats}


def machine() -> str:
    """A short description of the machine the figures come from."""
    import os
    import platform

    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
