"""Figures for the two lessons: the overfitting lab's overlaid curves (plotly), the explorer's drawing cards (HTML)."""

from __future__ import annotations

from html import escape

import numpy as np

# Plotly looks pandas up in sys.modules without importing it; while another thread (the app's warm-up) is
# still importing pandas it finds a half-made module and fails ("partially initialized module 'pandas' has
# no attribute 'Series'", seen once in the lesson browser tests). Importing it here waits for the import.
import pandas  # noqa: F401
import plotly.graph_objects as go

from model.overfitting import RUN_TITLES, RUNS, LabResult
from ui.charts import png_data_uri

RUN_COLOURS = {"plain": "#e4572e", "regularised": "#2e86ab"}


def lab_curves(result: LabResult, metric: str, title: str) -> go.Figure:
    """Training (solid) and validation (dashed) curves of one metric for both runs of a lab, per epoch."""
    figure = go.Figure()
    for name in RUNS:
        history = result.runs[name].history
        for key, part, dash in ((metric, "training", "solid"), (f"val_{metric}", "validation", "dash")):
            values = history[key]
            figure.add_trace(go.Scatter(
                x=list(range(1, len(values) + 1)), y=values, mode="lines", name=f"{part}, {RUN_TITLES[name]}",
                line={"color": RUN_COLOURS[name], "dash": dash, "width": 3 if part == "validation" else 2},
                hovertemplate=f"{part} {metric}, {RUN_TITLES[name]}: %{{y:.3f}} at epoch %{{x}}<extra></extra>"))
    axis = {"range": [0, 1.02], "tickformat": ".0%"} if metric == "accuracy" else {"rangemode": "tozero"}
    figure.update_layout(title=title, xaxis_title="epoch", yaxis=axis, height=360,
                         legend={"orientation": "h", "yanchor": "top", "y": -0.2, "font": {"size": 11}},
                         margin={"l": 0, "r": 0, "t": 40, "b": 0})
    return figure


def ink_on_paper(image: np.ndarray, scale: int = 4) -> np.ndarray:
    """A 28x28 drawing (255 = ink) as dark ink on white, enlarged with square pixels for st.image."""
    return np.kron(255 - np.asarray(image, np.uint8), np.ones((scale, scale), np.uint8))


def drawing_cards(images: list[np.ndarray], captions: list[str], marked: list[bool] | None = None,
                  size: int = 84) -> str:
    """HTML for a wrapping row of drawings (28x28, 255 = ink) with a caption under each: fits a phone or a desk.

    ``marked`` drawings get a red frame (the explorer marks neighbours of another class than the guess).
    """
    cards = []
    for image, caption, mark in zip(images, captions, marked or [False] * len(images), strict=True):
        frame = "2px solid #d62728" if mark else "1px solid #c8ccd4"
        cards.append(f'<figure style="margin:0;width:{size}px;text-align:center">'
                     f'<img src="{png_data_uri(ink_on_paper(image, 1))}" width="{size}" height="{size}" '
                     f'style="image-rendering:pixelated;border:{frame};border-radius:4px" '
                     f'alt="{escape(caption)}">'
                     f'<figcaption style="font-size:0.8rem;line-height:1.2">{escape(caption)}</figcaption></figure>')
    return f'<div style="display:flex;flex-wrap:wrap;gap:10px">{"".join(cards)}</div>'
