"""The framework's floor for the browser benchmark: the same canvas as the Draw page (the live canvas, with the
bundled model), and a fixed text after the first stroke."""

import streamlit as st

from ui.cache import load_predictor
from ui.live_canvas import live_canvas

predictor = load_predictor("quickdraw18", "floor")
if live_canvas("canvas", predictor).strokes:
    with st.container(key="top_guess"):
        st.markdown("stroke received")
