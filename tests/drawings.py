"""Real drawings for the app tests: dataset strokes scaled into a canvas, as mouse points or Fabric.js JSON."""

from __future__ import annotations

from pathlib import Path

from data_loader.quickdraw import read_ndjson


def raw_drawings(data_root: Path, category: str, count: int) -> list[list]:
    """The first ``count`` raw stroke drawings of a category from ``quickdraw/raw``."""
    records = list(read_ndjson(data_root / "quickdraw" / "raw" / f"{category}.ndjson"))
    return [record["drawing"] for record in records[:count]]


def scaled_into_canvas(drawing: list, size: int, margin: int = 30) -> list[list[tuple[float, float]]]:
    """The strokes as lists of (x, y) points, scaled uniformly to fit a size x size canvas with a margin."""
    xs = [x for stroke in drawing for x in stroke[0]]
    ys = [y for stroke in drawing for y in stroke[1]]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1)
    scale = (size - 2 * margin) / span
    return [[(margin + (x - min(xs)) * scale, margin + (y - min(ys)) * scale) for x, y in zip(*stroke[:2], strict=True)]
            for stroke in drawing]


def fabric_json(drawing: list, size: int = 360) -> dict:
    """The Fabric.js JSON a canvas would return for this drawing drawn by hand (one Path per stroke)."""
    objects = []
    for points in scaled_into_canvas(drawing, size):
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
