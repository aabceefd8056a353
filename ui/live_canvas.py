"""The live drawing canvas: a Streamlit component that guesses in the browser while the pen moves.

The canvas (ui/live_canvas.js, beside this file) draws white ink on black with the brush of ``ui.canvas``,
has visible Undo, Redo and Clear buttons and takes mouse, pen and touch input. It runs the session's model in
the browser with onnxruntime-web (vendored under static/vendor/) on images made by static/raster.js, the
JavaScript copy of ``data_loader.raster``, and shows the guess in an element with ``data-testid="live-guess"``
after every animation frame in which the drawing changed.

What comes back to Python goes through ``data_loader.canvas.clean_strokes``:

- Draw page (``mode="draw"``): the strokes, each time a stroke ends (and after undo, redo or clear), so the
  page can show the server's 28x28 image, top-5 chart and Grad-CAM as before.
- Game page (``mode="game"``): one report per round, when the browser ends it (won, time up or skipped),
  with the strokes; nothing per stroke. Where the runtime cannot start, the game falls back to the server
  path: the strokes come back after every stroke and the server decides, as before.

The model reaches the browser as a file: its ONNX export (``model.export.browser_model``, cached in the
registry folder) is copied once per model version to ``static/models/<content hash>.onnx`` and served by
Streamlit's static file serving. That copy is shared by every session on this server on purpose: it is the
same bytes for everyone, named by its content, written atomically, so many sessions can ask at once. Where
static/ cannot be written (a read-only install), the bytes travel inside the component's data instead.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

from data_loader.canvas import clean_strokes
from ui.canvas import BRUSH, SIZE

STATIC = Path(__file__).resolve().parents[1] / "static"
MODELS = STATIC / "models"
_HERE = Path(__file__).resolve().parent
_COMPONENT = st.components.v2.component(
    "doodle_live_canvas",
    html='<div class="live"></div>',
    css=(_HERE / "live_canvas.css").read_text(),
    js=(_HERE / "live_canvas.js").read_text(),
)
_lock = threading.Lock()
_exports: dict[tuple[str, str], dict[str, str]] = {}  # (model name, card created) -> how the browser gets it


def speech_default() -> bool:
    """Spoken guesses start on for players; DOODLE_SPEECH=0 (the tests) starts them off."""
    return os.environ.get("DOODLE_SPEECH", "1") != "0"


@dataclass
class LiveCanvasValue:
    """What the canvas sent back: clean strokes, whether the browser runtime runs, and a round's report."""

    strokes: list = field(default_factory=list)
    live: bool | None = None  # None until the browser said; False: the runtime could not start
    report: dict[str, Any] | None = None
    started: str | None = None  # game: "<game id>:<round>" of the last round the player said ready for


def _onnx_file(predictor) -> Path:
    """The model's ONNX export: the export module's cached file, or one made here if that is not available."""
    try:
        from model.export import browser_model
    except ImportError:
        browser_model = None
    if browser_model is not None:
        return Path(browser_model(predictor.card.name))
    folder = Path(tempfile.mkdtemp(prefix="doodle-onnx-"))
    path = folder / "model.onnx"
    predictor.model.export(str(path), format="onnx", verbose=False)
    return path


def model_source(predictor) -> dict[str, str]:
    """How the browser loads this model: ``{"url": ...}`` under /app/static, or ``{"bytes": base64}``.

    Made once per model version and server; raises ValueError with the reason when no export can be made.
    """
    key = (predictor.card.name, str(predictor.card.created))
    with _lock:
        if key in _exports:
            return _exports[key]
        try:
            source = _onnx_file(predictor)
            data = source.read_bytes()
        except Exception as error:  # noqa: BLE001 - any exporter failure means "no live guesses", never a crash
            raise ValueError(f"the model could not be exported for the browser ({error})") from error
        name = f"{hashlib.sha256(data).hexdigest()[:20]}.onnx"
        try:
            MODELS.mkdir(parents=True, exist_ok=True)
            target = MODELS / name
            if not target.is_file() or target.stat().st_size != len(data):
                partial = MODELS / f".{name}.{os.getpid()}.{threading.get_ident()}.part"
                shutil.copyfile(source, partial)
                os.replace(partial, target)
            result = {"url": f"app/static/models/{name}", "id": name}
        except OSError:
            result = {"bytes": base64.b64encode(data).decode("ascii"), "id": name}
        _exports[key] = result
        return result


def live_canvas(key: str, predictor, mode: str = "draw", game: dict[str, Any] | None = None,
                size: int = SIZE) -> LiveCanvasValue:
    """Draw the live canvas for this session's model and return what the browser sent back.

    ``game`` (Game page) describes the current round: ``round``, ``rounds``, ``prompt``, ``seconds``,
    ``win``, ``score`` and ``last`` (the previous round's verdict, shown before the next card).
    """
    recipe = predictor.card.recipe
    data: dict[str, Any] = {"mode": mode, "size": size, "brush": BRUSH.get(recipe, 14), "recipe": recipe,
                            "classes": list(predictor.class_names), "speak": speech_default(), "game": game}
    try:
        data["model"] = model_source(predictor)
    except ValueError as error:
        data["model"] = {"error": str(error)}
    result = _COMPONENT(key=key, data=data, default={"strokes": [], "live": None, "report": None, "started": None},
                        on_strokes_change=lambda: None, on_live_change=lambda: None,
                        on_report_change=lambda: None, on_started_change=lambda: None)
    state = result if isinstance(result, dict) else {name: getattr(result, name, None)
                                                     for name in ("strokes", "live", "report", "started")}
    report = state.get("report")
    report = {**report, "strokes": clean_strokes(report.get("strokes"))} if isinstance(report, dict) else None
    live = state.get("live")
    started = state.get("started")
    return LiveCanvasValue(clean_strokes(state.get("strokes")), live if isinstance(live, bool) else None, report,
                           started if isinstance(started, str) else None)
