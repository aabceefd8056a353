"""Real drawings for the app tests: dataset strokes scaled into a canvas, as mouse points or Fabric.js JSON."""

from __future__ import annotations

from pathlib import Path

from bench.browser_session import scaled_strokes
from data_loader.quickdraw import read_ndjson


def raw_drawings(data_root: Path, category: str, count: int) -> list[list]:
    """The first ``count`` raw stroke drawings of a category from ``quickdraw/raw``."""
    records = list(read_ndjson(data_root / "quickdraw" / "raw" / f"{category}.ndjson"))
    return [record["drawing"] for record in records[:count]]


def fabric_json(drawing: list, size: int = 360) -> dict:
    """The Fabric.js JSON a canvas would return for this drawing drawn by hand (one Path per stroke)."""
    objects = []
    for points in scaled_strokes(drawing, size):
        path = [["M", *points[0]]] + [["L", x, y] for x, y in points[1:]]
        if len(points) == 1:
            path.append(["L", points[0][0] + 0.04, points[0][1]])
        objects.append({"type": "Path", "originX": "center", "originY": "center", "scaleX": 1, "scaleY": 1,
                        "stroke": "#FFFFFF", "strokeWidth": 14, "path": path})
    return {"version": "7.4.0", "objects": objects, "background": "#000000"}


def canvas_state(drawing: list | None, size: int = 360) -> dict:
    """The session-state value of a drawable canvas holding this drawing (or an empty canvas)."""
    raw = fabric_json(drawing, size) if drawing else {"objects": [], "background": "#000000"}
    return {"drawing": {"raw": raw, "data": None}}


def live_state(drawing: list | None, size: int = 360) -> dict:
    """The session-state value of a live canvas (ui/live_canvas.py) holding this drawing (or nothing)."""
    strokes = [[[x for x, _ in points], [y for _, y in points]] for points in scaled_strokes(drawing, size)] \
        if drawing else []
    return {"strokes": strokes, "live": None, "report": None, "started": None, "wanted": None}
