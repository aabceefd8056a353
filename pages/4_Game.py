"""Game: the app names a thing, you draw it, and the network guesses live until it gets it or time runs out."""

import numpy as np
import streamlit as st

from game.rules import Game, GameSettings, speak
from model.introspection import grad_cam
from ui.cache import class_idea, dataset_examples
from ui.canvas import drawing_canvas
from ui.charts import image_figure
from ui.models import model_switcher
from ui.navigation import page, start_page

start_page(page("Game"))
st.title("🎮 Draw it before the time runs out")
predictor = model_switcher()
if predictor is None:
    st.stop()
game: Game | None = st.session_state.get("game")


def start_form() -> None:
    with st.form("new_game"):
        columns = st.columns(3)
        rounds = columns[0].number_input("Rounds", 1, 20, 6)
        seconds = columns[1].number_input("Seconds per round", 5, 120, 20)
        needed = columns[2].slider("Confidence needed to win", 0.2, 0.95, 0.5, 0.05)
        if st.form_submit_button("Start a game", type="primary"):
            settings = GameSettings(int(rounds), float(seconds), float(needed))
            st.session_state["game"] = Game(predictor.class_names, settings)
            st.session_state["game_model"] = predictor.card.name
            st.rerun()


@st.fragment(run_every=1.0)
def countdown(game: Game) -> None:
    """Tick the clock every second without rerunning the page; a timeout moves on to the next round."""
    if game.tick() == "timeout":
        st.rerun(scope="app")
    st.progress(game.remaining() / game.settings.seconds, text=f"⏱️ {game.remaining():.0f} s left")


def play(game: Game) -> None:
    if game.results:
        last = game.results[-1]
        verdict = {"won": "✅ got it", "timeout": "⌛ time ran out", "skipped": "⏭️ skipped"}[last.outcome]
        st.caption(f"Round {len(game.results)}: {last.category}: {verdict} ({last.seconds:.1f} s)")
    st.subheader(f"Round {game.round_number} of {len(game.prompts)}: draw **{game.prompt}**")
    countdown(game)
    left, right = st.columns([3, 2])
    with left:
        strokes = drawing_canvas(f"game_canvas_{len(game.results)}", predictor.card.recipe)
    with right:
        buttons = st.columns(2)
        if buttons[0].button("Skip this one"):
            game.skip()
            st.rerun()
        if buttons[1].button("Give up"):
            game.give_up()
            st.rerun()
        if strokes:
            image, ranking = predictor.classify_strokes(strokes, top_k=3)
            prompt = game.prompt
            outcome = game.observe(strokes, image, ranking)
            st.markdown(f"### 🗣️ {speak(ranking, prompt)}")
            if outcome in ("won", "timeout"):
                st.rerun()
        else:
            st.info("🗣️ Draw something!")


def end_screen(game: Game) -> None:
    st.subheader(f"Score: {game.score} of {len(game.results)}")
    source = "mnist" if predictor.card.recipe == "mnist" else "quickdraw"
    for number, result in enumerate(game.results):
        verdict = {"won": "✅ recognised", "timeout": "⌛ not recognised in time", "skipped": "⏭️ skipped",
                   "gave up": "🏳️ gave up"}[result.outcome]
        st.markdown(f"**{result.category}**: {verdict} in {result.seconds:.1f} s")
        columns = st.columns([1, 1, 2])
        if result.image is not None and result.category in predictor.class_names:
            guess = ", ".join(f"{name} {p:.0%}" for name, p in result.ranking[:3])
            columns[0].plotly_chart(image_figure(result.image, "Your drawing, as the model saw it", size=180),
                                    key=f"drawing_{number}")
            columns[0].caption(f"Guesses: {guess}")
            heat = grad_cam(predictor.model, result.image, predictor.class_names.index(result.ranking[0][0]))
            columns[1].plotly_chart(image_figure(result.image, f"What made it say {result.ranking[0][0]}", heat,
                                                 size=180), key=f"heat_{number}")
        examples = dataset_examples(source, result.category)
        if examples is not None:
            columns[2].plotly_chart(image_figure(np.hstack(examples), f"Other people's {result.category}",
                                                 size=360), key=f"examples_{number}")
        elif result.category in predictor.class_names:
            idea = class_idea(predictor.card.name, predictor.card.created, predictor.class_names.index(result.category))
            columns[2].plotly_chart(image_figure(idea, f"The model's idea of {result.category}", size=180),
                                    key=f"idea_{number}")
    if st.button("Play again", type="primary"):
        del st.session_state["game"]
        st.rerun()


if game is None or st.session_state.get("game_model") != predictor.card.name:
    st.write(f"I'll name one of the {len(predictor.class_names)} things this model knows; you draw it. "
             "I guess after every stroke, and the round is yours when I name it with enough confidence.")
    start_form()
elif game.finished:
    end_screen(game)
else:
    play(game)
