"""Doodle Lab's home page: what the app is for, links to the pages, and the card of the model in use.

Run it with ``streamlit run app.py``; the other pages are the scripts in ``pages/``. The title, the text
and the links are drawn before anything heavy is imported, so that a visitor to a cold server sees them at
once, with a "warming up" notice while TensorFlow and the models load in the background (``ui.cache.warm_up``).
"""

import streamlit as st

from ui.navigation import HOME, PAGES, start_page
from ui.warmup import wait_for_warm_up

start_page(HOME)
st.title("✏️ Doodle Lab")
st.write("Draw something and watch a convolutional network guess what it is, look inside the network to see "
         "how it decides, play a *Quick, Draw!*-style game, or teach it new things.")
for page in PAGES:
    try:
        st.page_link(page.path, label=f"**{page.title}**: {page.description}", icon=page.icon)
    except st.errors.StreamlitAPIException:  # Run on its own, without the pages folder beside it.
        st.markdown(f"{page.icon} **{page.title}**: {page.description}")
wait_for_warm_up(blocking_steps=2)  # TensorFlow and the models; the rest goes on in the background.

from ui.models import current_model_name, model_switcher, registry  # noqa: E402 - only once TensorFlow is loaded

predictor = model_switcher()
st.subheader(f"Model in use: {current_model_name()}")
if predictor is None:  # The switcher has said why.
    st.stop()
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
