"""Data explorer: browse the drawings in the data folder, replay their strokes, and find your drawing's neighbours."""

import math

import streamlit as st

from data_loader import DataError, data_dir
from data_loader.gallery import bitmap_count, bitmap_page, categories, mosaic, stroke_drawings
from data_loader.raster import render
from model.registry import RegistryError
from ui.canvas import drawing_canvas
from ui.lesson_charts import drawing_cards, ink_on_paper
from ui.navigation import page, start_page
from ui.stroke_replay import stroke_replay
from ui.warmup import wait_for_warm_up

PER_PAGE = 48
VIEWS = ("Bitmaps", "Strokes, replayed", "Most similar to your drawing")

start_page(page("Data explorer"))
st.title("🔎 Data explorer")
wait_for_warm_up(blocking_steps=2)  # TensorFlow and the models, loaded once, by the warm-up's thread.

from ui.cache import neighbour_index  # noqa: E402
from ui.models import model_switcher  # noqa: E402 - only once TensorFlow is loaded: two threads importing it clash

predictor = model_switcher()
root = data_dir()
found = categories(root)
view = st.radio("Show", VIEWS, horizontal=True, key="explorer_view", label_visibility="collapsed")


def turn_page(step: int, pages: int) -> None:
    st.session_state["explorer_page"] = min(pages, max(1, st.session_state.get("explorer_page", 1) + step))


def bitmaps() -> None:
    st.caption("Google's 28x28 bitmaps, the drawings the bundled model learned from, in file order.")
    if not found["bitmap"]:
        st.info(f"The data folder ({root}) holds no bitmap files yet.")
        return
    name = st.selectbox("Category", found["bitmap"], key="explorer_category",
                        on_change=lambda: st.session_state.update(explorer_page=1))
    count = bitmap_count(root, name)
    pages = math.ceil(count / PER_PAGE)
    left, middle, right = st.columns([1, 2, 1], vertical_alignment="bottom")
    left.button("◀ Previous", on_click=turn_page, args=(-1, pages), key="explorer_previous",
                disabled=st.session_state.get("explorer_page", 1) <= 1)
    number = middle.number_input(f"Page (of {pages:,})", 1, pages, key="explorer_page")
    right.button("Next ▶", on_click=turn_page, args=(1, pages), key="explorer_next", disabled=number >= pages)
    images = bitmap_page(root, name, number - 1, PER_PAGE)
    first = (number - 1) * PER_PAGE
    grid, _ = st.columns([3, 1])  # Three quarters of a desk's width; the whole width of a phone.
    caption = f"{name}: drawings {first + 1:,}-{first + len(images):,} of {count:,}"
    grid.image(mosaic(images, columns=8), caption=caption, width="stretch" if len(images) >= 8 else "content",
               output_format="PNG")


def strokes() -> None:
    st.caption("The pen paths, replayed stroke by stroke. The raw files keep each point's time, so you see the "
               "drawing as it was drawn; the simplified files keep none and are replayed at a steady pace.")
    if not found["strokes"]:
        st.info(f"The data folder ({root}) holds no stroke files yet.")
        return
    names = sorted(found["strokes"], key=str.lower)
    columns = st.columns(3)
    name = columns[0].selectbox("Category", names, index=names.index("cat") if "cat" in names else 0,
                                key="replay_category", on_change=lambda: st.session_state.update(replay_number=1))
    try:
        drawings = stroke_drawings(root, name)
    except (DataError, OSError) as error:
        st.error(f"These drawings cannot be read: {error}")
        return
    number = columns[1].number_input(f"Drawing (of {len(drawings)})", 1, len(drawings), key="replay_number")
    speed = columns[2].select_slider("Speed", [0.5, 1.0, 2.0, 4.0], 1.0, format_func=lambda value: f"{value:g}×",
                                     key="replay_speed")
    drawing = drawings[number - 1]
    if drawing.timed:
        st.markdown(f"Drawn in **{drawing.duration / 1000:.1f} s**, {len(drawing.strokes)} strokes, real timing"
                    f"{f' (country {drawing.country})' if drawing.country else ''}.")
    else:
        st.markdown(f"{len(drawing.strokes)} strokes from the simplified file: no timing kept, replayed at a steady "
                    "pace.")
    left, right = st.columns([2, 1])
    with left:
        stroke_replay(drawing.strokes, speed, key=f"replay_{name}_{number}")
    with right:
        st.image(ink_on_paper(render([stroke[:2] for stroke in drawing.strokes], "quickdraw"), 4),
                 caption="what a network sees: 28x28")


def neighbours() -> None:
    st.caption("Which training drawings does the network find most like yours? Each drawing becomes the numbers "
               "of the network's last hidden layer; the closest ones (cosine similarity, 1 = same direction) are "
               "what it compares yours with. When it takes your drawing for something else, look here for why.")
    if predictor is None:
        return
    recipe = predictor.card.recipe
    drawn = drawing_canvas("explorer_canvas", recipe, size=280)
    drawing = drawn or st.session_state.get("drawing")
    if not drawing:
        st.info("Draw something above (or on the Draw page) to see its nearest training drawings.")
        return
    if not drawn:
        st.caption("Using your drawing from the Draw page; draw above to try another.")
    count = st.slider("How many neighbours", 6, 24, 12, 6, key="neighbour_count")
    card = predictor.card
    try:
        index = neighbour_index(card.name, card.created)
        image, ranking = predictor.classify_strokes(drawing, top_k=3)
        found_neighbours = index.search(predictor.model, image, count)
    except (DataError, RegistryError, OSError) as error:
        st.warning(f"The training drawings of {card.name!r} cannot be searched: {error}")
        return
    except ValueError as error:
        st.warning(f"This drawing cannot be used: {error}")
        return
    left, right = st.columns([1, 3])
    left.image(ink_on_paper(image, 4), caption="your drawing, as the network sees it", width=112)
    guess, probability = ranking[0]
    votes = index.class_votes(found_neighbours)
    right.markdown(f"The network guesses **{guess}** ({probability:.0%}). Of the {count} most similar training "
                   "drawings, " + ", ".join(f"**{number}** {'is' if number == 1 else 'are'} {name}"
                                            for name, number in votes) + ".")
    right.caption(f"Searched {len(index):,} training drawings of {card.name} in the features of layer "
                  f"`{index.layer}` ({index.vectors.shape[1]} numbers per drawing).")
    st.html(drawing_cards([item.image for item in found_neighbours],
                          [f"{item.class_name} · {item.similarity:.2f}" for item in found_neighbours],
                          [item.class_name != guess for item in found_neighbours]))
    st.caption(f"Under each drawing: its class and its cosine similarity to yours. A red frame marks a class other "
               f"than the guess ({guess}).")


{VIEWS[0]: bitmaps, VIEWS[1]: strokes, VIEWS[2]: neighbours}[view]()
