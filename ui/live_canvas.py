"""The live drawing canvas: a Streamlit component that guesses in the browser while the pen moves.

The canvas (ui/live_canvas.js, beside this file) draws white ink on black with the brush of ``ui.canvas``,
has visible Undo, Redo and Clear buttons and takes mouse, pen and touch input. It runs the session's model in
the browser with onnxruntime-web (vendored under static/vendor/) on images made by static/raster.js, the
JavaScript copy of ``data_loader.raster``, and shows the guess in an element with ``data-testid="live-guess"``
after every animation frame in which the drawing changed.

What comes back to Python goes through ``data_loader.canvas.clean_strokes``:

- Draw page (``mode="draw"``): the strokes, each time a stroke ends (and after undo, redo or clear), so the
  page can show the server's 28x28 image, top five and Grad-CAM as before.
- Game page (``mode="game"``): one report per round, when the browser ends it (won, time up or skipped),
  with the strokes; nothing per stroke. Where the runtime cannot start, the game falls back to the server
  path: the strokes come back after every stroke and the server decides, as before.

The model reaches the browser as a file: its verified ONNX export (``model.export.browser_model``, cached in
the registry folder) is copied once per model version to ``static/models/<name>-<hash of its card's date>.onnx``
and served by Streamlit's static file serving, so a new version (a model saved again under its name) gets a new
file and a switch of model loads the other file. That copy is shared by every session of this server on purpose:
it is the same bytes for everyone, written atomically, made once however many sessions ask. The export starts
when a browser asks for a model the folder lacks, in a background thread: pages never wait for it, and the
browser polls for the file meanwhile. Where it cannot be made (no data to verify it, static/ not writable),
the canvas says so once and the server guesses instead.

Once the file is there, the server guesses with it too (``Predictor.use_onnx``: onnxruntime on one thread, checked
against the Keras model first), which costs a fraction of TensorFlow's CPU on every stroke of every student.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
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
_started: set[str] = set()  # model files being exported for the browser, by file name
_failed: dict[str, str] = {}  # model files that could not be made, with the reason


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


def _model_id(predictor) -> str:
    """The file name of one saved version of a model in static/models: its name and a hash of its card's date."""
    digest = hashlib.sha256(f"{predictor.card.name}\n{predictor.card.created}".encode()).hexdigest()[:12]
    safe = "".join(char if char.isalnum() or char in "-_" else "_" for char in predictor.card.name)
    return f"{safe}-{digest}.onnx"


def _publish(predictor, model_id: str) -> None:
    """Export the model for the browser (verified, cached in the registry) and copy it into static/models."""
    try:
        from model.export import browser_model

        source = Path(browser_model(predictor.card.name))
        MODELS.mkdir(parents=True, exist_ok=True)
        partial = MODELS / f".{model_id}.{os.getpid()}.{threading.get_ident()}.part"
        shutil.copyfile(source, partial)
        os.replace(partial, MODELS / model_id)
    except Exception as error:  # noqa: BLE001 - any failure means "server path", said once, never a crash
        with _lock:
            _failed[model_id] = f"the model could not be exported for the browser ({error})"
    else:
        _server_uses(predictor, MODELS / model_id)


def _server_uses(predictor, path: Path) -> None:
    """Let the server guess single drawings with the browser's ONNX file too, tried once per predictor: one that
    refused it (``onnx_problem``) keeps guessing with TensorFlow."""
    if getattr(predictor, "runtime", None) != "tensorflow" or predictor.onnx_problem:
        return
    with contextlib.suppress(ValueError):  # The reason stays in predictor.onnx_problem.
        predictor.use_onnx(path)


def model_source(predictor, wanted: bool = False) -> dict[str, str]:
    """How the browser gets this model: ``{"id", "url"}`` of its file under /app/static/models, with
    ``"missing": True`` while the file is not there yet, or ``{"id", "error"}`` when it cannot be made.

    The export starts only when a browser asks for it (``wanted``), in a background thread, once per model
    version and server; the browser polls the URL meanwhile, so pages never wait for it.
    """
    model_id = _model_id(predictor)
    source = {"id": model_id, "url": f"app/static/models/{model_id}"}
    with _lock:
        if model_id in _failed:
            return {"id": model_id, "error": _failed[model_id]}
        ready = (MODELS / model_id).is_file()
        if not ready and wanted and model_id not in _started:
            _started.add(model_id)
            threading.Thread(target=_publish, args=(predictor, model_id), name=f"export {model_id}",
                             daemon=True).start()
    if ready:
        _server_uses(predictor, MODELS / model_id)
        return source
    return {**source, "missing": True}


def live_canvas(key: str, predictor, mode: str = "draw", game: dict[str, Any] | None = None,
                size: int = SIZE) -> LiveCanvasValue:
    """Draw the live canvas for this session's model and return what the browser sent back.

    ``game`` (Game page) describes the current round: ``round``, ``rounds``, ``prompt``, ``seconds``,
    ``win``, ``score`` and ``last`` (the previous round's verdict, shown before the next card).
    """
    recipe = predictor.card.recipe
    data: dict[str, Any] = {"mode": mode, "size": size, "brush": BRUSH.get(recipe, 14), "recipe": recipe,
                            "classes": list(predictor.class_names), "speak": speech_default(), "game": game}
    data["model"] = model_source(predictor)
    result = _COMPONENT(key=key, data=data,
                        default={"strokes": [], "live": None, "report": None, "started": None, "wanted": None},
                        on_strokes_change=lambda: None, on_live_change=lambda: None, on_report_change=lambda: None,
                        on_started_change=lambda: None, on_wanted_change=lambda: None)
    state = result if isinstance(result, dict) else {name: getattr(result, name, None)
                                                     for name in ("strokes", "live", "report", "started", "wanted")}
    if data["model"].get("missing") and state.get("wanted") == data["model"]["id"]:
        model_source(predictor, wanted=True)  # A browser with a working runtime asked for this model.
    report = state.get("report")
    report = {**report, "strokes": clean_strokes(report.get("strokes"))} if isinstance(report, dict) else None
    live = state.get("live")
    started = state.get("started")
    return LiveCanvasValue(clean_strokes(state.get("strokes")), live if isinstance(live, bool) else None, report,
                           started if isinstance(started, str) else None)
