"""Draw: the network guesses live in the browser while the pen moves; after each stroke the server shows the 28x28
image it actually sees, its top five and, on request, Grad-CAM.

Every stroke of every student reruns this fragment, so it stays light, in few elements (each one is a message to send
and render): the image is a small PNG inside the page's message (no media file to store and fetch), the top five
one block of bars; only Grad-CAM, when switched on, draws a plotly figure."""

import streamlit as st

from ui.charts import image_figure, pixel_image, png_data_uri, ranking_html
from ui.live_canvas import live_canvas
from ui.navigation import page, start_page
from ui.warmup import wait_for_warm_up

start_page(page("Draw"))
st.title("🖌️ Draw")
wait_for_warm_up(blocking_steps=2)  # TensorFlow and the models; the rest goes on in the background.

# Only once TensorFlow is loaded, so that a cold server shows the title and the warm-up notice at once.
from model.introspection import grad_cam  # noqa: E402
from ui.models import model_switcher  # noqa: E402

predictor = model_switcher()
if predictor is None:
    st.stop()
UNSURE_BELOW = 0.5


@st.fragment
def draw_and_guess() -> None:
    left, right = st.columns([3, 2])
    with left:
        st.caption(f"Draw one of: {', '.join(predictor.class_names)}. The guess under the canvas follows your pen.")
        strokes = live_canvas("canvas", predictor).strokes
    st.session_state["drawing"] = strokes
    with right:
        if not strokes:
            st.info("Start drawing: my guess appears after your first stroke.")
            return
        image, ranking = predictor.classify_strokes(strokes, top_k=5)
        best, probability = ranking[0]
        with st.container(key="top_guess"):
            st.markdown(f"## {best}\n{probability:.0%} sure")
        if probability < UNSURE_BELOW:
            st.caption(f"I'm not sure: maybe {ranking[1][0]}? Keep drawing.")
        show_heat = st.toggle("Show what convinced me (Grad-CAM)", key="show_grad_cam")
        if show_heat:
            overlay = grad_cam(predictor.model, image, predictor.class_names.index(best))
            st.plotly_chart(image_figure(image, "What the network sees (28x28)", overlay, size=220),
                            config={"displayModeBar": False})
        else:
            st.image(png_data_uri(pixel_image(image)), caption="What the network sees (28x28)", width=224)
        st.html(ranking_html(ranking))


draw_and_guess()
