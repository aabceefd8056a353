"""Doodle Lab: the entry point that lists the pages, and the home page (what the app is for, the model in use)."""

import streamlit as st

from ui.models import current_model_name, model_switcher, registry

PAGES = [
    ("pages/1_Draw.py", "Draw", "🖌️", "the network guesses live while you draw"),
    ("pages/2_Inside_the_network.py", "Inside the network", "🔬",
     "activations, filters, Grad-CAM and a convolution playground on your drawing"),
    ("pages/3_Model_anatomy.py", "Model anatomy", "🧮", "where the parameters are, and how famous networks compare"),
    ("pages/4_Game.py", "Game", "🎮", "draw what the app asks before the time runs out"),
    ("pages/5_Train.py", "Train", "🏋️", "pick classes or draw your own, train or fine-tune, switch the live model"),
    ("pages/6_Models.py", "Models", "🗂️", "every saved model with its card: activate, rename, delete"),
]


def home() -> None:
    """The home page: what the app is for, links to the pages, and the card of the model in use."""
    st.title("✏️ Doodle Lab")
    st.write("Draw something and watch a convolutional network guess what it is, look inside the network to see "
             "how it decides, play a *Quick, Draw!*-style game, or teach it new things.")
    predictor = model_switcher()
    for path, title, icon, description in PAGES:
        st.page_link(path, label=f"**{title}**: {description}", icon=icon)
    st.subheader(f"Model in use: {current_model_name()}")
    if predictor is None:
        st.warning("No model could be loaded. Pick another one in the sidebar.")
        return
    card, metrics = predictor.card, predictor.card.metrics
    columns = st.columns(4)
    columns[0].metric("Classes", card.num_classes)
    columns[1].metric("Test top-1", f"{metrics['test_top1']:.1%}" if "test_top1" in metrics else "n/a")
    columns[2].metric("Test top-3", f"{metrics['test_top3']:.1%}" if "test_top3" in metrics else "n/a")
    columns[3].metric("Parameters", f"{card.parameters:,}")
    st.write(f"**Knows:** {', '.join(card.class_names)}")
    st.caption(f"{card.summary()}. Trained on {card.device}, created {card.created}. "
               f"Reproduce it with `{card.command}`.")
    st.caption(f"The server-wide default model is **{registry().active_name()}**.")


st.set_page_config(page_title="Doodle Lab", page_icon="✏️", layout="wide")
navigation = st.navigation([st.Page(home, title="Home", icon="✏️", default=True)]
                           + [st.Page(path, title=title, icon=icon) for path, title, icon, _ in PAGES])
navigation.run()
