"""The framework's floor for the browser benchmark: the same canvas as the Draw page (the live canvas, with the
bundled model), and a fixed text after the first stroke.

Streamlit serves static files from the folder beside the main script, and there is none beside this one: the
canvas here says live guessing is off and reports each stroke when it ends, which is all the floor measures.
"""

import streamlit as st

from ui.cache import load_predictor, warm_up
from ui.live_canvas import live_canvas
from ui.warmup import wait_with_notice

# Importing ui.cache starts the server's warm-up, as in the app; TensorFlow is imported by its thread only.
wait_with_notice(warm_up(), blocking_steps=2)
predictor = load_predictor("quickdraw18", "floor")
if live_canvas("canvas", predictor).strokes:
    with st.container(key="top_guess"):
        st.markdown("stroke received")
