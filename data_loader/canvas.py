"""Turn canvas data into strokes, the same ``[xs, ys]`` lists the dataset uses, whatever the canvas sends.

Two entry points, and neither ever raises:
- ``clean_strokes(value)`` takes strokes from any component, ``[[xs, ys], ...]`` or ``[[xs, ys, ts], ...]``,
  and keeps only what can be drawn: points whose two coordinates are finite numbers within
  ``COORDINATE_LIMIT`` of the origin (far beyond any canvas); booleans, text, ``None``, nested lists,
  overflowing numbers and empty strokes are dropped, and so is any value that is not a list of strokes.
- ``strokes_from_canvas(json_data)`` reads streamlit-drawable-canvas' Fabric.js JSON: each free-hand
  stroke is a ``path`` object whose commands (``M``, ``Q``, ``L``) are in canvas pixels. A malformed
  object or command is skipped, and the strokes found go through ``clean_strokes``.

The strokes returned then go through the rasterizer exactly like the dataset's raw strokes, so what the
model sees live looks like what it learned from.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

CURVE_SAMPLES = 4
COORDINATE_LIMIT = 1e5  # canvas pixels; a coordinate farther from the origin is not a drawing's
MAX_POINTS = 100_000  # points kept per drawing; a canvas never sends that many, a broken one might


def clean_strokes(value: Any) -> list[list[list[float]]]:
    """Return the drawable strokes of ``value`` as ``[[xs, ys], ...]`` of floats; never raises.

    A stroke is ``[xs, ys]`` or ``[xs, ys, ts]`` (the times are dropped, as the rasterizer ignores them);
    a point is kept only when both its coordinates are real numbers (not booleans, not text), finite and
    within ``COORDINATE_LIMIT``; when xs and ys differ in length the extra values are dropped. Strokes left
    without points are dropped, and anything that is not a list of strokes gives ``[]``. At most
    ``MAX_POINTS`` points are kept.
    """
    if not _is_list(value):
        return []
    strokes, budget = [], MAX_POINTS
    for stroke in _as_list(value):
        if budget <= 0:
            break
        if not _is_list(stroke):
            continue
        stroke = _as_list(stroke)
        if len(stroke) not in (2, 3) or not _is_list(stroke[0]) or not _is_list(stroke[1]):
            continue
        xs, ys = [], []
        for x, y in zip(_as_list(stroke[0]), _as_list(stroke[1]), strict=False):
            x, y = _coordinate(x), _coordinate(y)
            if x is not None and y is not None:
                xs.append(x)
                ys.append(y)
        if xs:
            strokes.append([xs[:budget], ys[:budget]])
            budget -= len(xs)
    return strokes


def _is_list(value: Any) -> bool:
    return isinstance(value, list | tuple) or (isinstance(value, np.ndarray) and value.ndim >= 1)


def _as_list(value: list | tuple | np.ndarray) -> list | tuple:
    return value.tolist() if isinstance(value, np.ndarray) else value


def _coordinate(value: Any) -> float | None:
    """A usable coordinate as a float, or None for anything else (bool, text, None, NaN, overflow, far off)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        return None
    try:
        number = float(value)
    except (OverflowError, ValueError, TypeError):
        return None
    return number if math.isfinite(number) and abs(number) <= COORDINATE_LIMIT else None


def strokes_from_canvas(json_data: Any) -> list[list[list[float]]]:
    """Return the canvas' free-hand strokes as ``[[xs, ys], ...]`` in canvas pixels, in drawing order.

    Objects that are not paths (rectangles, text), malformed objects and malformed path commands are
    ignored; an empty, missing or malformed canvas gives ``[]``. A moved or scaled path (the canvas' edit
    mode) is placed where it is shown. Never raises: the result has been through ``clean_strokes``.
    """
    objects = json_data.get("objects") if isinstance(json_data, dict) else None
    if not isinstance(objects, list):
        return []
    strokes = []
    for item in objects:
        if not isinstance(item, dict) or str(item.get("type", "")).lower() != "path":
            continue
        commands = item.get("path")
        points = _path_points(commands) if isinstance(commands, list) else []
        if points:
            points = _place(points, item)
            strokes.append([[x for x, _ in points], [y for _, y in points]])
    return clean_strokes(strokes)


def _path_points(commands: list) -> list[tuple[float, float]]:
    """Follow SVG path commands (M, L, Q, C) and return the points they pass through.

    A command whose numbers are not all usable coordinates is skipped.
    """
    points: list[tuple[float, float]] = []
    for command in commands:
        if not isinstance(command, list | tuple) or not command or not isinstance(command[0], str):
            continue
        letter, values = command[0].upper(), [_coordinate(value) for value in command[1:]]
        if any(value is None for value in values):
            continue
        if letter in ("M", "L") and len(values) >= 2:
            points.append((values[0], values[1]))
        elif letter == "Q" and len(values) >= 4 and points:
            start = points[-1]
            for step in range(1, CURVE_SAMPLES + 1):
                t = step / CURVE_SAMPLES
                points.append(tuple(
                    (1 - t) ** 2 * start[axis] + 2 * (1 - t) * t * values[axis] + t**2 * values[2 + axis]
                    for axis in range(2)
                ))
        elif letter == "C" and len(values) >= 6 and points:
            start = points[-1]
            for step in range(1, CURVE_SAMPLES + 1):
                t = step / CURVE_SAMPLES
                points.append(tuple(
                    (1 - t) ** 3 * start[axis] + 3 * (1 - t) ** 2 * t * values[axis]
                    + 3 * (1 - t) * t**2 * values[2 + axis] + t**3 * values[4 + axis]
                    for axis in range(2)
                ))
    return points


def _place(points: list[tuple[float, float]], item: dict) -> list[tuple[float, float]]:
    """Put a path where the canvas shows it if the user moved or scaled it in edit mode.

    Fabric keeps a path's commands as drawn and records moves and scales in ``left``/``top`` (the centre
    of the path's box, for the canvas' centre origin) and ``scaleX``/``scaleY``. An untouched path is
    returned as it is, so that the points stay exactly where the mouse went. A position or scale that is
    not a usable number is ignored (the path is left where it was drawn).
    """
    if item.get("originX", "center") != "center" or item.get("originY", "center") != "center":
        return points
    xs, ys = [x for x, _ in points], [y for _, y in points]
    centre_x, centre_y = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    scale_x, scale_y = _number(item.get("scaleX"), 1.0), _number(item.get("scaleY"), 1.0)
    shown_x, shown_y = _number(item.get("left"), centre_x), _number(item.get("top"), centre_y)
    moved = abs(shown_x - centre_x) > 2 or abs(shown_y - centre_y) > 2
    if not moved and (scale_x, scale_y) == (1.0, 1.0):
        return points
    return [(shown_x + (x - centre_x) * scale_x, shown_y + (y - centre_y) * scale_y) for x, y in points]


def _number(value: Any, default: float) -> float:
    """A usable, non-zero number (a coordinate or a scale), else ``default``."""
    number = _coordinate(value)
    return default if number is None or number == 0 else number
