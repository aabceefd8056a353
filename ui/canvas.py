"""The drawing canvas used by the Draw, Inside the network, Game and Train pages.

White ink on black, with the canvas' own toolbar for undo, redo and clear. The strokes (not the pixels)
are what the pages pass on: ``data_loader.canvas`` turns them into the dataset's stroke format and drops
whatever cannot be drawn, so a page gets clean strokes or ``[]`` whatever the browser sends.
"""

from __future__ import annotations

from streamlit_drawable_canvas import st_canvas

from data_loader.canvas import strokes_from_canvas

SIZE = 360
BRUSH = {"quickdraw": 14, "mnist": 28}


def drawing_canvas(key: str, recipe: str = "quickdraw", size: int = SIZE) -> list:
    """Draw the canvas and return its strokes as ``[[xs, ys], ...]`` in canvas pixels (``[]`` when empty).

    The brush is as wide, relative to a drawing that fills the canvas, as the strokes of the data the
    model learned from: thin for QuickDraw's line width 16 of 256, thick for MNIST's pen. A malformed
    value from the browser (not a dict, a drawing that is not Fabric.js JSON) reads as an empty canvas.
    """
    try:
        result = st_canvas(stroke_width=BRUSH.get(recipe, 14), stroke_color="#FFFFFF", background_color="#000000",
                           drawing_mode="freedraw", update_streamlit=True, width=size, height=size, key=key)
        json_data = result.json_data
    except (AttributeError, TypeError, ValueError, KeyError):  # The component read a malformed value.
        return []
    return strokes_from_canvas(json_data)
