"""Data benchmark: building the 18-category QuickDraw subset, and rasterizing strokes on one core."""

from __future__ import annotations

import os
import time

from bench.timing import machine
from bench.training import CATEGORIES


def run(data_dir: str | None = None) -> dict:
    from data_loader import build_subset
    from data_loader import data_dir as resolve
    from data_loader.quickdraw import read_ndjson
    from data_loader.raster import render_many

    figures: dict = {"machine": machine()}
    for per_class in (1000, 5000):
        started = time.perf_counter()
        dataset = build_subset("quickdraw", CATEGORIES, per_class, root=data_dir)
        seconds = time.perf_counter() - started
        figures[f"bitmap_subset_{per_class}"] = {"drawings": len(dataset), "seconds": round(seconds, 3),
                                                 "drawings_per_second": round(len(dataset) / seconds)}
    raw = [record["drawing"] for path in sorted((resolve(data_dir) / "quickdraw/raw").glob("*.ndjson"))
           for record in read_ndjson(path)]
    drawings = (raw * (2000 // len(raw) + 1))[:2000]
    render_many(drawings[:20])
    cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cores)})  # One core, as the target says.
    try:
        started = time.perf_counter()
        render_many(drawings)
        seconds = time.perf_counter() - started
    finally:
        os.sched_setaffinity(0, cores)
    figures["rasterize_raw_strokes"] = {"drawings": len(drawings), "seconds": round(seconds, 3),
                                        "drawings_per_second": round(len(drawings) / seconds)}
    started = time.perf_counter()
    dataset = build_subset("quickdraw", CATEGORIES, 25, data_format="strokes", root=data_dir)
    seconds = time.perf_counter() - started
    figures["stroke_subset"] = {"drawings": len(dataset), "seconds": round(seconds, 3),
                                "drawings_per_second": round(len(dataset) / seconds)}
    return figures


def table(figures: dict) -> list[tuple[str, str]]:
    rows = []
    for key, label in (("bitmap_subset_1000", "18-class bitmap subset, 1000 per class"),
                       ("bitmap_subset_5000", "18-class bitmap subset, all drawings"),
                       ("stroke_subset", "18-class stroke subset (read + rasterize)"),
                       ("rasterize_raw_strokes", "rasterize raw strokes, one core")):
        entry = figures[key]
        rows.append((label, f"{entry['drawings']:,} drawings in {entry['seconds']:.2f} s = "
                            f"{entry['drawings_per_second']:,} drawings/s"))
    return rows
