"""Doodle Lab home page: what the app is for, the model in use, and the way to every page."""

import streamlit as st

from ui.models import current_model_name, model_switcher, registry

st.set_page_config(page_title="Doodle Lab", page_icon="✏️", layout="wide")
st.title("✏️ Doodle Lab")
st.write(
    "Draw something and watch a convolutional network guess what it is, look inside the network to see "
    "how it decides, play a *Quick, Draw!*-style game, or teach it new things."
)

predictor = model_switcher()
st.page_link("pages/1_Draw.py", label="**Draw**: the network guesses live while you draw", icon="🖌️")
st.page_link("pages/2_Inside_the_network.py", label="**Inside the network**: activations, filters, Grad-CAM "
             "and a convolution playground on your drawing", icon="🔬")
st.page_link("pages/3_Model_anatomy.py", label="**Model anatomy**: where the parameters are, layer by layer, "
             "and how famous networks compare", icon="🧮")
st.page_link("pages/4_Game.py", label="**Game**: draw what the app asks before the time runs out", icon="🎮")
st.page_link("pages/5_Train.py", label="**Train**: pick classes or draw your own, train or fine-tune, "
             "and switch the live model", icon="🏋️")

st.subheader(f"Model in use: {current_model_name()}")
if predictor is None:
    st.warning("No model could be loaded. Pick another one in the sidebar.")
else:
    card = predictor.card
    metrics = card.metrics
    columns = st.columns(4)
    columns[0].metric("Classes", card.num_classes)
    columns[1].metric("Test top-1", f"{metrics['test_top1']:.1%}" if "test_top1" in metrics else "n/a")
    columns[2].metric("Test top-3", f"{metrics['test_top3']:.1%}" if "test_top3" in metrics else "n/a")
    columns[3].metric("Parameters", f"{card.parameters:,}")
    st.write(f"**Knows:** {', '.join(card.class_names)}")
    st.caption(f"{card.summary()}. Trained on {card.device}, created {card.created}. "
               f"Reproduce it with `{card.command}`.")
    st.caption(f"The server-wide default model is **{registry().active_name()}**.")
