"""The app's pages and the sidebar links between them, drawn the same way on every page.

The app is a classic Streamlit multipage app: ``app.py`` is the home page and every script in ``pages/``
is a page. Streamlit's own page list is hidden (``client.showSidebarNavigation = false`` in
``.streamlit/config.toml``) because it names the home page after its file ("app"); these links give
every page its real title and icon, whichever page a visitor opens first.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
from streamlit.errors import StreamlitAPIException


@dataclass(frozen=True)
class PageLink:
    """One page of the app: its script, its title and icon, and what it is for."""

    path: str
    title: str
    icon: str
    description: str


HOME = PageLink("app.py", "Home", "✏️", "what Doodle Lab is and the model in use")
PAGES = [
    PageLink("pages/1_Draw.py", "Draw", "🖌️", "the network guesses live while you draw"),
    PageLink("pages/2_Inside_the_network.py", "Inside the network", "🔬",
             "activations, filters, Grad-CAM and a convolution playground on your drawing"),
    PageLink("pages/3_Model_anatomy.py", "Model anatomy", "🧮",
             "where the parameters are, and how famous networks compare"),
    PageLink("pages/4_Game.py", "Game", "🎮", "draw what the app asks before the time runs out"),
    PageLink("pages/5_Train.py", "Train", "🏋️",
             "pick classes or draw your own, train or fine-tune, switch the live model"),
    PageLink("pages/6_Models.py", "Models", "🗂️", "every saved model with its card: activate, rename, delete"),
    PageLink("pages/7_Overfitting_lab.py", "Overfitting lab", "📉",
             "one small network trained twice on few drawings: see overfitting, and what fights it"),
    PageLink("pages/8_Data_explorer.py", "Data explorer", "🔎",
             "browse the drawings, replay their strokes, and find the ones the network finds most like yours"),
]


def start_page(page: PageLink) -> None:
    """Set the browser tab's title, draw the page's heading and the sidebar links to every page."""
    st.set_page_config(page_title=page.title if page is HOME else f"{page.title} · Doodle Lab",
                       page_icon=page.icon, layout="wide")
    with st.sidebar:
        try:
            for link in [HOME, *PAGES]:
                st.page_link(link.path, label=link.title, icon=link.icon)
        except StreamlitAPIException:
            # A page script run on its own (``streamlit run pages/1_Draw.py``, or AppTest) has no other pages.
            pass
        st.divider()


def page(title: str) -> PageLink:
    """The page with this title."""
    for link in [HOME, *PAGES]:
        if link.title == title:
            return link
    raise ValueError(f"no page is called {title!r}; the pages are {[link.title for link in [HOME, *PAGES]]}")
