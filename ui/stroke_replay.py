"""A drawing replayed stroke by stroke in the browser, with its real timing (its JS is ui/stroke_replay.js).

The strokes travel as data (``[xs, ys, ts]`` fitted to the canvas square by ``data_loader.gallery``); the
browser animates them with ``requestAnimationFrame``, so a replay costs the server nothing. Play/Pause and
Restart are buttons inside the component; the speed is a Python argument.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from data_loader.gallery import fit_strokes

_CSS = """
.replay { display: flex; flex-direction: column; gap: 0.4rem; max-width: 100%; }
.replay-canvas { border: 1px solid #c8ccd4; border-radius: 6px; max-width: 100%; height: auto; }
.replay-controls { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem; font-size: 0.9rem; }
.replay-controls button { padding: 0.3rem 0.8rem; border-radius: 6px; border: 1px solid #c8ccd4;
  background: var(--st-secondary-background-color, #f0f2f6); color: inherit; cursor: pointer; }
.replay-status { color: #555; }
"""
_COMPONENT = st.components.v2.component(
    "doodle_lab_stroke_replay", css=_CSS, js=(Path(__file__).with_suffix(".js")).read_text(encoding="utf-8"))


def stroke_replay(strokes: list, speed: float = 1.0, size: int = 280, autoplay: bool = True,
                  key: str | None = None) -> None:
    """Draw the replay of one drawing (strokes ``[xs, ys, ts]``, ts in milliseconds) at ``speed`` times real time."""
    data = {"strokes": fit_strokes(strokes, size), "size": size, "speed": float(speed), "autoplay": autoplay}
    _COMPONENT(data=data, key=key)
