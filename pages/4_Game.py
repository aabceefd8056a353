"""Game: the app names a thing, you draw it, and the network guesses live until it gets it or time runs out.

Each round runs in the player's browser (ui/live_canvas.py): a "ready?" card, the clock, the guesses while the
pen moves and the win moment; the server hears from it when the player is ready and once when the round ends,
and checks the reported drawing itself (game.rules.Game.finish_round). Where the browser cannot run the model,
the strokes come to the server after each one and the server guesses, as before.
"""

import numpy as np
import streamlit as st

from game.rules import Game, GameSettings, speak
from ui.charts import image_figure
from ui.navigation import page, start_page
from ui.warmup import wait_for_warm_up

start_page(page("Game"))
TITLE = "🎮 Draw it before the time runs out"
game: Game | None = st.session_state.get("game")
# The heading is chosen before anything slow, and stays the same size on every rerun of a round: a heading that
# grew and shrank back during a rerun (the one Ready starts, just as the player puts the pen down) would move the
# canvas under the pen and bend the stroke. A small title while playing: on a phone the whole round fits on one screen.
heading = st.empty()
in_game = game is not None and not game.finished
if in_game:
    heading.markdown(f"**{TITLE}**")
else:
    heading.title(TITLE)
wait_for_warm_up(blocking_steps=2)  # TensorFlow and the models; the rest goes on in the background.

# Only once TensorFlow is loaded (by the warm-up, in one thread), so that a cold server shows the title at once.
from model.introspection import grad_cam  # noqa: E402
from ui.cache import class_idea, dataset_examples  # noqa: E402
from ui.live_canvas import live_canvas  # noqa: E402
from ui.models import model_switcher  # noqa: E402

predictor = model_switcher()
if in_game and st.session_state.get("game_model") != getattr(getattr(predictor, "card", None), "name", None):
    heading.title(TITLE)  # The model was switched: the game is over, and the page offers a new one.
if predictor is None:
    st.stop()


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


VERDICTS = {"won": "✅ got it", "timeout": "⌛ time ran out", "skipped": "⏭️ skipped",
            "not confirmed": "❔ not confirmed by the server"}


def round_data(game: Game) -> dict:
    """What the browser needs for the current round, with the previous round's verdict to show first."""
    last = None
    if game.results:
        result = game.results[-1]
        text = {"won": f"Oh I know, it's {result.category}!", "timeout": f"Time's up! It was {result.category}.",
                "skipped": f"Skipped {result.category}."}.get(result.outcome, f"{result.category}: not confirmed.")
        last = {"text": text, "outcome": result.outcome}
    return {"id": game.id, "round": len(game.results), "rounds": len(game.prompts), "prompt": game.prompt,
            "seconds": game.settings.seconds, "win": game.settings.win_probability, "score": game.score,
            "last": last}


def play(game: Game) -> None:
    value = live_canvas("game_canvas", predictor, "game", round_data(game))
    if game.results:  # Below the canvas, so that a round's end does not move the canvas down the page.
        last = game.results[-1]
        st.caption(f"Score {game.score} of {len(game.results)} · round {len(game.results)}: {last.category}: "
                   f"{VERDICTS.get(last.outcome, last.outcome)} ({last.seconds:.1f} s)")
    current = f"{game.id}:{len(game.results)}"
    if value.started == current and st.session_state.get("game_started") != current:
        st.session_state["game_started"] = current  # The player pressed Ready: the round's clock starts.
        game.start_round()
    report = value.report
    if report and report.get("id") == game.id and report.get("round") == len(game.results):
        strokes = report["strokes"]
        image, ranking = predictor.classify_strokes(strokes, top_k=3) if strokes else (None, [])
        game.finish_round(len(game.results), str(report.get("outcome")), report.get("seconds"), strokes, image,
                          ranking)
        st.rerun()
    if value.live is False and value.strokes and st.session_state.get("game_started") == current:
        image, ranking = predictor.classify_strokes(value.strokes, top_k=3)  # The server path, stroke by stroke.
        prompt = game.prompt
        outcome = game.observe(value.strokes, image, ranking)
        st.markdown(f"### 🗣️ {speak(ranking, prompt)}")
        if outcome in ("won", "timeout"):
            st.rerun()
    if st.button("Give up"):
        game.give_up()
        st.rerun()


def end_screen(game: Game) -> None:
    st.subheader(f"Score: {game.score} of {len(game.results)}")
    source = "mnist" if predictor.card.recipe == "mnist" else "quickdraw"
    for number, result in enumerate(game.results):
        verdict = {"won": "✅ recognised", "timeout": "⌛ not recognised in time", "skipped": "⏭️ skipped",
                   "gave up": "🏳️ gave up", "not confirmed": "❔ not confirmed by the server"}[result.outcome]
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
             "I guess while you draw, and the round is yours the moment I name it with enough confidence.")
    start_form()
elif game.finished:
    end_screen(game)
else:
    play(game)
