"""Plotly figures for the pages: probabilities, 28x28 images with overlays, activation grids, parameters."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

COMPACT = {"margin": {"l": 0, "r": 0, "t": 30, "b": 0}}
KIND_COLOURS = {"convolutional": "#4c78a8", "dense": "#f58518", "other": "#9d9d9d"}  # Layer kinds, every chart.
SIGNED = [[0.0, "#2166ac"], [0.5, "#f7f7f7"], [1.0, "#b2182b"]]


def probability_bars(ranking: list[tuple[str, float]], title: str = "Top guesses") -> go.Figure:
    """Horizontal bars of (class, probability), best at the top."""
    names = [name for name, _ in ranking][::-1]
    values = [probability for _, probability in ranking][::-1]
    figure = go.Figure(go.Bar(x=values, y=names, orientation="h", text=[f"{value:.0%}" for value in values],
                              textposition="auto", marker_color="#4c78a8"))
    figure.update_layout(title=title, xaxis={"range": [0, 1], "tickformat": ".0%"}, height=60 + 32 * len(names),
                         **COMPACT)
    return figure


def image_figure(image: np.ndarray, title: str = "", overlay: np.ndarray | None = None, size: int = 260,
                 colorscale: str = "gray") -> go.Figure:
    """A small image as a heatmap (row 0 at the top), with an optional semi-transparent heat overlay.

    ``colorscale`` "signed" draws negative values blue, zero white and positive values red.
    """
    signed = colorscale == "signed"  # Negative blue, zero white, positive red, whatever the range.
    figure = go.Figure(go.Heatmap(z=np.asarray(image, float), colorscale=SIGNED if signed else colorscale,
                                  showscale=False, hovertemplate="x %{x}, y %{y}: %{z:.2f}<extra></extra>",
                                  **({"zmid": 0.0} if signed else {})))
    if overlay is not None:
        figure.add_trace(go.Heatmap(z=np.asarray(overlay, float), colorscale="Jet", opacity=0.45, showscale=False,
                                    zmin=0, zmax=1, hovertemplate="heat %{z:.2f}<extra></extra>"))
    figure.update_yaxes(autorange="reversed", visible=False, scaleanchor="x")
    figure.update_xaxes(visible=False)
    rows, columns = np.shape(image)[:2]
    height = round(size * rows / max(rows, columns))  # A strip of drawings is as wide as ``size``, and low.
    figure.update_layout(title=title, width=size if columns >= rows else round(size * columns / rows),
                         height=height + 30, **COMPACT)
    return figure


def map_grid(maps: np.ndarray, title: str, columns: int = 8, limit: int = 32) -> go.Figure:
    """A grid of heatmaps, one per channel of an (H, W, C) activation or (k, k, C) filter array."""
    count = min(maps.shape[-1], limit)
    rows = math.ceil(count / columns)
    figure = make_subplots(rows=rows, cols=columns, horizontal_spacing=0.01, vertical_spacing=0.02,
                           subplot_titles=[str(index) for index in range(count)])
    for index in range(count):
        figure.add_trace(go.Heatmap(z=maps[..., index], colorscale="Viridis", showscale=False,
                                    hovertemplate=f"channel {index}: %{{z:.2f}}<extra></extra>"),
                         row=index // columns + 1, col=index % columns + 1)
    figure.update_yaxes(autorange="reversed", visible=False)
    figure.update_xaxes(visible=False)
    figure.update_annotations(font_size=9)
    figure.update_layout(title=title, height=40 + 95 * rows, margin={"l": 0, "r": 0, "t": 50, "b": 0})
    return figure


def parameter_bars(names: list[str], counts: list[int], kinds: list[str], title: str) -> go.Figure:
    """Parameters per layer, coloured by kind (convolution, dense, other)."""
    figure = go.Figure()
    for kind, colour in KIND_COLOURS.items():
        chosen = [index for index, value in enumerate(kinds) if value == kind]
        figure.add_trace(go.Bar(x=[names[index] for index in chosen], y=[counts[index] for index in chosen],
                                name=kind, marker_color=colour,
                                hovertemplate="%{x}: %{y:,} parameters<extra></extra>"))
    figure.update_layout(title=title, barmode="stack", height=340, yaxis_title="parameters",
                         margin={"l": 0, "r": 0, "t": 40, "b": 0})
    return figure


def share_bars(networks: dict[str, dict[str, float]], title: str) -> go.Figure:
    """For each network, the share of its parameters in convolutional, dense and other layers (stacked to 100%)."""
    names = list(networks)
    figure = go.Figure()
    for kind, colour in KIND_COLOURS.items():
        figure.add_trace(go.Bar(y=names, x=[networks[name][f"{kind}_share"] for name in names], name=kind,
                                orientation="h", marker_color=colour,
                                customdata=[networks[name][kind] for name in names],
                                hovertemplate="%{y}: %{x:.1%} (%{customdata:,} parameters)<extra>" + kind + "</extra>"))
    figure.update_layout(title=title, barmode="stack", height=80 + 40 * len(names), xaxis_tickformat=".0%",
                         margin={"l": 0, "r": 0, "t": 40, "b": 0}, yaxis_autorange="reversed")
    return figure


def share_pie(shares: dict[str, float], title: str) -> go.Figure:
    figure = go.Figure(go.Pie(labels=list(shares), values=list(shares.values()), hole=0.45, sort=False,
                              marker_colors=[KIND_COLOURS.get(kind, "#9d9d9d") for kind in shares]))
    figure.update_layout(title=title, height=300, margin={"l": 0, "r": 0, "t": 40, "b": 0})
    return figure


def history_chart(history: dict[str, list[float]], metric: str, title: str) -> go.Figure:
    """Training and validation curves of one metric (loss or accuracy) per epoch."""
    figure = go.Figure()
    for key, label in ((metric, "training"), (f"val_{metric}", "validation")):
        values = history.get(key, [])
        figure.add_trace(go.Scatter(x=list(range(1, len(values) + 1)), y=values, mode="lines+markers", name=label))
    figure.update_layout(title=title, xaxis_title="epoch", height=280, margin={"l": 0, "r": 0, "t": 40, "b": 0})
    return figure


def confusion_heatmap(matrix: np.ndarray, class_names: list[str]) -> go.Figure:
    figure = go.Figure(go.Heatmap(z=matrix, x=class_names, y=class_names, colorscale="Blues", text=matrix,
                                  texttemplate="%{text}", hovertemplate="true %{y}, guessed %{x}: %{z}<extra></extra>"))
    figure.update_yaxes(autorange="reversed", title="true class")
    figure.update_xaxes(title="predicted class")
    figure.update_layout(height=120 + 28 * len(class_names), margin={"l": 0, "r": 0, "t": 20, "b": 0})
    return figure
