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


# Layout rules for every page, phones first: link texts wrap instead of running off the right edge, wide
# tables scroll sideways inside their own frame, and a narrow screen gives the content its whole width.
PAGE_CSS = """<style>
[data-testid="stPageLink-NavLink"] { height: auto; min-height: 2rem; }
[data-testid="stPageLink-NavLink"] p, [data-testid="stPageLink-NavLink"] span {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  overflow-wrap: anywhere; }
[data-testid="stTable"], [data-testid="stMarkdownContainer"] table {
  display: block; max-width: 100%; overflow-x: auto; }
[data-testid="stTable"] td, [data-testid="stTable"] th { white-space: normal; min-width: 4.5rem; }
@media (max-width: 640px) {
  [data-testid="stMainBlockContainer"] { padding-left: 0.75rem; padding-right: 0.75rem; padding-top: 3rem; }
  [data-testid="stMetricValue"] { font-size: 1.5rem; }
  [data-testid="stTable"] table { min-width: 640px; }
  h1 { font-size: 1.8rem !important; }
}
</style>"""

# On a phone the sidebar lies over the page; Streamlit leaves it open after a page link is tapped, so the
# visitor's first stroke would land on it. This closes it once the link is followed, on narrow screens only.
CLOSE_SIDEBAR_AFTER_NAVIGATION = """<script>
(() => {
  const page = window.parent && window.parent.document ? window.parent.document : document;
  if (page.body.dataset.doodleNavigation) return;
  page.body.dataset.doodleNavigation = "ready";
  page.addEventListener("click", (event) => {
    const link = event.target.closest('[data-testid="stSidebar"] [data-testid="stPageLink-NavLink"]');
    if (!link || !page.defaultView.matchMedia("(max-width: 768px)").matches) return;
    setTimeout(() => {
      const close = page.querySelector('[data-testid="stSidebarCollapseButton"] button');
      if (close) close.click();
    }, 0);
  }, true);
})();
</script>"""


def start_page(page: PageLink) -> None:
    """Set the browser tab's title, draw the page's heading and the sidebar links to every page.

    Also sets the layout rules every page shares (``PAGE_CSS``) and, on phones, closes the sidebar after
    a page link is tapped.
    """
    st.set_page_config(page_title=page.title if page is HOME else f"{page.title} · Doodle Lab",
                       page_icon=page.icon, layout="wide", initial_sidebar_state="auto")
    st.html(PAGE_CSS)
    with st.sidebar:
        try:
            for link in [HOME, *PAGES]:
                st.page_link(link.path, label=link.title, icon=link.icon)
        except StreamlitAPIException:
            # A page script run on its own (``streamlit run pages/1_Draw.py``, or AppTest) has no other pages.
            pass
        st.html(CLOSE_SIDEBAR_AFTER_NAVIGATION, unsafe_allow_javascript=True)
        st.divider()


def page(title: str) -> PageLink:
    """The page with this title."""
    for link in [HOME, *PAGES]:
        if link.title == title:
            return link
    raise ValueError(f"no page is called {title!r}; the pages are {[link.title for link in [HOME, *PAGES]]}")
