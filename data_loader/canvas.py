"""Turn a drawing canvas' Fabric.js JSON into strokes, the same ``[xs, ys]`` lists the dataset uses.

The browser canvas (streamlit-drawable-canvas) returns each free-hand stroke as a Fabric.js ``path``
object whose commands (``M``, ``Q``, ``L``) are in canvas pixels. The strokes this module returns then
go through the rasterizer exactly like the dataset's raw strokes, so what the model sees live looks like
what it learned from.
"""

from __future__ import annotations

import math
from typing import Any

CURVE_SAMPLES = 4


def strokes_from_canvas(json_data: dict[str, Any] | None) -> list[list[list[float]]]:
    """Return the canvas' free-hand strokes as ``[[xs, ys], ...]`` in canvas pixels, in drawing order.

    Objects that are not paths (rectangles, text) are ignored; an empty or missing canvas gives ``[]``.
    A moved or scaled path (the canvas' edit mode) is placed where it is shown.
    """
    if not json_data:
        return []
    objects = json_data.get("objects") if isinstance(json_data, dict) else None
    if not isinstance(objects, list):
        raise ValueError("canvas data has no 'objects' list")
    strokes = []
    for item in objects:
        kind = str(item.get("type", "")).lower() if isinstance(item, dict) else ""
        if kind != "path" or not isinstance(item.get("path"), list):
            continue
        points = _path_points(item["path"])
        if points:
            points = _place(points, item)
            strokes.append([[x for x, _ in points], [y for _, y in points]])
    return strokes


def _path_points(commands: list) -> list[tuple[float, float]]:
    """Follow SVG path commands (M, L, Q, C, Z) and return the points they pass through."""
    points: list[tuple[float, float]] = []
    for command in commands:
        if not isinstance(command, list | tuple) or not command:
            continue
        letter, numbers = str(command[0]).upper(), [float(value) for value in command[1:]]
        if not all(math.isfinite(value) for value in numbers):
            continue
        if letter in ("M", "L") and len(numbers) >= 2:
            points.append((numbers[0], numbers[1]))
        elif letter == "Q" and len(numbers) >= 4 and points:
            start = points[-1]
            for step in range(1, CURVE_SAMPLES + 1):
                t = step / CURVE_SAMPLES
                points.append(tuple(
                    (1 - t) ** 2 * start[axis] + 2 * (1 - t) * t * numbers[axis] + t**2 * numbers[2 + axis]
                    for axis in range(2)
                ))
        elif letter == "C" and len(numbers) >= 6 and points:
            start = points[-1]
            for step in range(1, CURVE_SAMPLES + 1):
                t = step / CURVE_SAMPLES
                points.append(tuple(
                    (1 - t) ** 3 * start[axis] + 3 * (1 - t) ** 2 * t * numbers[axis]
                    + 3 * (1 - t) * t**2 * numbers[2 + axis] + t**3 * numbers[4 + axis]
                    for axis in range(2)
                ))
    return points


def _place(points: list[tuple[float, float]], item: dict) -> list[tuple[float, float]]:
    """Put a path where the canvas shows it if the user moved or scaled it in edit mode.

    Fabric keeps a path's commands as drawn and records moves and scales in ``left``/``top`` (the centre
    of the path's box, for the canvas' centre origin) and ``scaleX``/``scaleY``. An untouched path is
    returned as it is, so that the points stay exactly where the mouse went.
    """
    scale_x, scale_y = float(item.get("scaleX", 1) or 1), float(item.get("scaleY", 1) or 1)
    xs, ys = [x for x, _ in points], [y for _, y in points]
    centre_x, centre_y = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    if item.get("originX", "center") != "center" or item.get("originY", "center") != "center":
        return points
    try:
        shown_x, shown_y = float(item.get("left", centre_x)), float(item.get("top", centre_y))
    except (TypeError, ValueError):
        return points
    moved = abs(shown_x - centre_x) > 2 or abs(shown_y - centre_y) > 2
    if not moved and (scale_x, scale_y) == (1.0, 1.0):
        return points
    return [(shown_x + (x - centre_x) * scale_x, shown_y + (y - centre_y) * scale_y) for x, y in points]
