"""Figures for the pages: 28x28 images (enlarged pixels, or plotly with overlays), activation grids, parameters."""

from __future__ import annotations

import base64
import io
import math
from html import escape

import numpy as np
import plotly.graph_objects as go

COMPACT = {"margin": {"l": 0, "r": 0, "t": 30, "b": 0}}
KIND_COLOURS = {"convolutional": "#4c78a8", "dense": "#f58518", "other": "#9d9d9d"}  # Layer kinds, every chart.
SIGNED = [[0.0, "#2166ac"], [0.5, "#f7f7f7"], [1.0, "#b2182b"]]


def pixel_image(image: np.ndarray, scale: int = 8) -> np.ndarray:
    """A small grey image (0-255 or 0-1) enlarged by whole pixels, as uint8, for ``st.image``.

    Each pixel becomes a ``scale`` x ``scale`` square, so the browser shows the 28x28 grid sharp instead of
    blurring it, at the cost of a few kilobytes instead of a plotly figure on every stroke.
    """
    values = np.asarray(image, float)
    if values.ndim == 3 and values.shape[-1] == 1:
        values = values[..., 0]
    if values.ndim != 2 or scale < 1:
        raise ValueError(f"pixel_image needs a 2-D image and a scale of at least 1, got shape {values.shape} "
                         f"and scale {scale}")
    if values.size and values.max() <= 1.0:
        values = values * 255.0
    pixels = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    return np.repeat(np.repeat(pixels, scale, axis=0), scale, axis=1)


def png_data_uri(pixels: np.ndarray) -> str:
    """A grey uint8 image (``pixel_image``) as a lossless PNG ``data:`` URI, for ``st.image`` or an ``<img>``.

    Inline in the page's own message instead of a media file: the Draw page shows one after every stroke of every
    student, and a file would cost the server a stored copy and an HTTP request each time, and the browser a fetch.
    """
    from PIL import Image

    pixels = np.asarray(pixels)
    if pixels.ndim != 2 or pixels.dtype != np.uint8:
        raise ValueError(f"png_data_uri needs a 2-D uint8 image, got shape {pixels.shape} and type {pixels.dtype}")
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def ranking_html(ranking: list[tuple[str, float]]) -> str:
    """The top guesses as one small HTML block for ``st.html``: a label and a native ``<progress>`` bar each.

    One element instead of a progress widget per class: the Draw page redraws it after every stroke of every
    student, and each element is one more message for the server to send and the browser to render. Class names
    (which students type when they train) are escaped.
    """
    rows = []
    for name, share in ranking:
        share = min(1.0, max(0.0, float(share)))
        rows.append(f'<div style="margin:0 0 6px 0"><div style="font-size:0.9rem">{escape(str(name))} {share:.0%}</div>'
                    f'<progress value="{share:.4f}" max="1" style="width:100%;height:10px" '
                    f'aria-label="{escape(str(name))}"></progress></div>')
    return f'<div class="doodle-ranking">{"".join(rows)}</div>'


HEAT = "Inferno"  # Grad-CAM: dark for no influence, bright yellow for the most.
LEGEND_BELOW = {"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0, "xanchor": "left"}


def _readable(figure: go.Figure, **layout) -> go.Figure:
    """Layout that stays readable on a 390-pixel phone: legend below, few ticks, margins that fit the labels."""
    figure.update_layout(legend=LEGEND_BELOW, margin={"l": 0, "r": 8, "t": 40, "b": 0}, **layout)
    figure.update_xaxes(automargin=True, nticks=6)
    figure.update_yaxes(automargin=True, nticks=6)
    return figure


def image_figure(image: np.ndarray, title: str = "", overlay: np.ndarray | None = None, size: int = 260,
                 colorscale: str = "gray", overlay_opacity: float = 0.45, strokes_on_top: bool = False,
                 key_title: str = "") -> go.Figure:
    """A small image as a heatmap (row 0 at the top), with an optional heat overlay (0-1) and colour key.

    ``colorscale`` "signed" draws negative values blue, zero white and positive values red.
    ``overlay_opacity`` sets how much of the overlay covers the image; ``strokes_on_top`` draws the
    image's ink again above the overlay in cyan, so the drawing stays visible under any heat.
    ``key_title`` shows a colour key titled so (for the overlay when there is one, else for the image).
    """
    signed = colorscale == "signed"  # Negative blue, zero white, positive red, whatever the range.
    values = np.asarray(image, float)
    limit = float(np.abs(values).max()) or 1.0
    image_key = bool(key_title) and overlay is None
    figure = go.Figure(go.Heatmap(z=values, colorscale=SIGNED if signed else colorscale, showscale=image_key,
                                  hovertemplate="x %{x}, y %{y}: %{z:.2f}<extra></extra>",
                                  colorbar=_key(key_title) if image_key else None,
                                  **({"zmin": -limit, "zmax": limit} if signed else {})))
    if overlay is not None:
        figure.add_trace(go.Heatmap(z=np.asarray(overlay, float), colorscale=HEAT, opacity=overlay_opacity,
                                    showscale=bool(key_title), colorbar=_key(key_title) if key_title else None,
                                    zmin=0, zmax=1, hovertemplate="heat %{z:.2f}<extra></extra>"))
    if strokes_on_top:
        ink = values / (values.max() or 1.0)
        figure.add_trace(go.Heatmap(z=np.where(ink > 0.15, ink, np.nan), showscale=False, zmin=0, zmax=1,
                                    colorscale=[[0.0, "rgba(0,229,255,0.35)"], [1.0, "rgba(0,229,255,0.95)"]],
                                    hoverinfo="skip"))
    figure.update_yaxes(autorange="reversed", visible=False, scaleanchor="x", constrain="domain")
    figure.update_xaxes(visible=False, constrain="domain")
    rows, columns = np.shape(image)[:2]
    height = round(size * rows / max(rows, columns))  # A strip of drawings is as wide as ``size``, and low.
    key_room = 70 if key_title else 0
    figure.update_layout(title=title, width=(size if columns >= rows else round(size * columns / rows)) + key_room,
                         height=height + 30 + (40 if key_title else 0), **COMPACT)
    return figure


def mark_cell(figure: go.Figure, row: int, column: int, size: int, colour: str = "#00c853") -> go.Figure:
    """Outline a size x size square of an image figure whose top-left pixel is (row, column)."""
    figure.add_shape(type="rect", x0=column - 0.5, y0=row - 0.5, x1=column + size - 0.5, y1=row + size - 0.5,
                     line={"color": colour, "width": 3})
    return figure


def _key(title: str, horizontal: bool = False) -> dict:
    """A colour key (colour bar) with a title; horizontal keys sit under the picture, where a phone has room."""
    if horizontal:
        return {"title": {"text": title, "side": "top"}, "orientation": "h", "y": -0.02, "yanchor": "top",
                "thickness": 12, "len": 1.0, "x": 0.5, "xanchor": "center"}
    return {"title": {"text": title, "side": "right"}, "thickness": 12, "len": 0.9}


def map_grid(maps: np.ndarray, title: str, columns: int = 8, key_title: str = "activation",
             signed: bool | None = None, first: int = 0, nominal_width: int = 540,
             colorscale: str | None = None) -> go.Figure:
    """A mosaic of square tiles, one per channel of an (H, W, C) activation or (k, k, C) filter array.

    All tiles share one colour scale, shown as a key under the mosaic: signed values (a filter's weights,
    or maps with negative values) blue-white-red around zero, others dark-to-bright from zero (or the
    given ``colorscale``, e.g. "gray" for drawings). The height suits ``nominal_width``. Each tile
    is numbered (from ``first``) in a band above it that is as tall as the number, so numbers never
    overlap a tile; hovering a pixel names its map too.
    """
    maps = np.asarray(maps, float)
    height, width, count = maps.shape
    columns = max(1, min(columns, count))
    rows = math.ceil(count / columns)
    gap = max(1.0, width * 0.12)
    # The numbers' band: about 14 screen pixels at the nominal width, in the mosaic's own units.
    band = 14 * columns * (width + gap) / nominal_width
    cell_height = height + band + gap
    mosaic_rows = math.ceil(rows * cell_height)
    scale = max(1, math.ceil(8 / width))  # Tiny 3x3 filters get several mosaic cells per weight.
    mosaic = np.full((mosaic_rows * scale, math.ceil(columns * (width + gap)) * scale), np.nan)
    channel = np.full(mosaic.shape, -1)
    annotations = []
    for index in range(count):
        row, column = divmod(index, columns)
        top = round((row * cell_height + band) * scale)
        left = round(column * (width + gap) * scale)
        tile = np.kron(maps[..., index], np.ones((scale, scale)))
        mosaic[top: top + tile.shape[0], left: left + tile.shape[1]] = tile
        channel[top: top + tile.shape[0], left: left + tile.shape[1]] = first + index
        annotations.append({"x": left - 0.5, "y": top - 0.5, "text": str(first + index), "showarrow": False,
                            "xanchor": "left", "yanchor": "bottom", "font": {"size": 10}})
    if signed is None:
        signed = colorscale is None and bool(np.nanmin(maps) < 0)
    limit = float(np.nanmax(np.abs(maps))) or 1.0
    low = -limit if signed else min(0.0, float(np.nanmin(maps)))
    figure = go.Figure(go.Heatmap(
        z=mosaic, customdata=channel, colorscale=SIGNED if signed else colorscale or "Viridis", zmin=low, zmax=limit,
        colorbar=_key(key_title, horizontal=True), hoverongaps=False,
        hovertemplate="map %{customdata}: %{z:.2f}<extra></extra>"))
    figure.update_yaxes(autorange="reversed", visible=False, scaleanchor="x", constrain="domain")
    figure.update_xaxes(visible=False, constrain="domain")
    aspect = mosaic.shape[0] / mosaic.shape[1]
    figure.update_layout(title=title, annotations=annotations, height=round(nominal_width * aspect) + 130,
                         margin={"l": 0, "r": 0, "t": 40, "b": 60}, plot_bgcolor="rgba(0,0,0,0)")
    return figure


def parameter_bars(names: list[str], counts: list[int], kinds: list[str], title: str) -> go.Figure:
    """Parameters per layer in the network's order (the order of ``names``), coloured by kind."""
    figure = go.Figure()
    for kind, colour in KIND_COLOURS.items():
        chosen = [index for index, value in enumerate(kinds) if value == kind]
        figure.add_trace(go.Bar(x=[names[index] for index in chosen], y=[counts[index] for index in chosen],
                                name=kind, marker_color=colour,
                                hovertemplate="%{x}: %{y:,} parameters<extra></extra>"))
    figure.update_xaxes(categoryorder="array", categoryarray=names, tickangle=-45)  # The network's order.
    figure.update_yaxes(tickformat=",")
    _readable(figure, title=title, barmode="stack", height=400, yaxis_title="parameters")
    figure.update_xaxes(nticks=None)  # Every layer's name, which needs the room below: the legend goes on top.
    figure.update_layout(legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0, "xanchor": "left"},
                         margin={"l": 0, "r": 8, "t": 70, "b": 0})
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
    _readable(figure, title=title, barmode="stack", height=120 + 40 * len(names), xaxis_tickformat=".0%",
              yaxis_autorange="reversed")
    return figure


def share_pie(shares: dict[str, float], title: str) -> go.Figure:
    figure = go.Figure(go.Pie(labels=list(shares), values=list(shares.values()), hole=0.45, sort=False,
                              marker_colors=[KIND_COLOURS.get(kind, "#9d9d9d") for kind in shares]))
    figure.update_traces(texttemplate="%{percent:.0%}", textposition="inside",  # Tiny slices keep quiet.
                         hovertemplate="%{label}: %{value:,} parameters<extra></extra>")
    figure.update_layout(title=title, height=340, legend=LEGEND_BELOW, uniformtext={"minsize": 10, "mode": "hide"},
                         margin={"l": 0, "r": 0, "t": 60, "b": 0})
    return figure


def history_chart(history: dict[str, list[float]], metric: str, title: str,
                  batch_history: list[tuple[float, float, float]] | None = None) -> go.Figure:
    """Training and validation curves of one metric ("loss" or "accuracy") against epochs.

    ``batch_history`` (``Progress.batch_history``: epoch fraction, loss, accuracy) adds the training
    curve within epochs, so a run of one or two epochs draws a curve rather than a dot; validation is
    measured once per epoch, at its end (epoch 1, 2, ...). Accuracy is drawn on a fixed 0-100% axis.
    """
    figure = go.Figure()
    column = {"loss": 1, "accuracy": 2}.get(metric)
    points = [point for point in (batch_history or []) if column and math.isfinite(point[column])]
    training = history.get(metric, [])
    if points:
        figure.add_trace(go.Scatter(x=[point[0] for point in points], y=[point[column] for point in points],
                                    mode="lines", name="training (within epochs)",
                                    line={"color": "#4c78a8", "width": 2}))
    else:
        figure.add_trace(go.Scatter(x=list(range(1, len(training) + 1)), y=training, mode="lines+markers",
                                    name="training", line={"color": "#4c78a8", "width": 2}))
    validation = history.get(f"val_{metric}", [])
    figure.add_trace(go.Scatter(x=list(range(1, len(validation) + 1)), y=validation, mode="lines+markers",
                                name="validation (end of each epoch)",
                                line={"color": "#f58518", "width": 2, "dash": "dot"},
                                marker={"size": 9, "symbol": "diamond"}))
    last = max([1.0, len(training), len(validation), *[point[0] for point in points]])
    _readable(figure, title=title, height=300, xaxis_title="epoch")
    figure.update_xaxes(range=[0, last * 1.03])
    if metric == "accuracy":
        figure.update_yaxes(range=[0, 1.02], tickformat=".0%")
    else:
        figure.update_yaxes(rangemode="tozero")
    return figure


def confusion_heatmap(matrix: np.ndarray, class_names: list[str]) -> go.Figure:
    figure = go.Figure(go.Heatmap(z=matrix, x=class_names, y=class_names, colorscale="Blues", text=matrix,
                                  texttemplate="%{text}", hovertemplate="true %{y}, guessed %{x}: %{z}<extra></extra>"))
    figure.update_yaxes(autorange="reversed", title="true class")
    figure.update_xaxes(title="predicted class")
    figure.update_layout(height=120 + 28 * len(class_names), margin={"l": 0, "r": 0, "t": 20, "b": 0})
    return figure
