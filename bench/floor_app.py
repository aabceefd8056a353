"""The framework's floor for the browser benchmark: the same canvas, and a fixed text after the first stroke."""

import streamlit as st
from streamlit_drawable_canvas import st_canvas

result = st_canvas(stroke_width=14, stroke_color="#FFFFFF", background_color="#000000", drawing_mode="freedraw",
                   update_streamlit=True, width=360, height=360, key="canvas")
if result.json_data and result.json_data.get("objects"):
    with st.container(key="top_guess"):
        st.markdown("stroke received")
