"""AppTest tests of the Game, Train and Models pages: a short game (a win and a timeout), a short training in a
worker process that ends with a model saved for this session, and managing the registry."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from game.rules import Game, GameSettings
from model.predict import Predictor
from model.registry import BUNDLED_DIR
from tests.drawings import canvas_state, live_state, raw_drawings
from tests.test_app import run_page, texts


class FakeClock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def real_data(data_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DOODLE_DATA_DIR", str(data_root))
    return data_root


def recognised_drawing(category: str, data_root: Path) -> list:
    """A real raw drawing of the category that the bundled model names with confidence."""
    predictor = Predictor.load(str(BUNDLED_DIR / "quickdraw18"))
    for drawing in raw_drawings(data_root, category, 14):
        _, ranking = predictor.classify_strokes(drawing, top_k=1)
        if ranking[0][0] == category and ranking[0][1] >= 0.6:
            return drawing
    raise AssertionError(f"no confidently recognised {category} among the first drawings")


def test_game_page_offers_a_new_game(registry) -> None:
    app = run_page("pages/4_Game.py")
    assert any(button.label == "Start a game" for button in app.button)
    assert [item.label for item in app.number_input] == ["Rounds", "Seconds per round"]


def report(game: Game, outcome: str, seconds: float, strokes: list | None = None, **overrides) -> dict:
    """The live canvas' state after the browser ended the current round (ui/live_canvas.js endRound)."""
    state = live_state(None)
    strokes = live_state(strokes)["strokes"] if strokes else []
    state["report"] = {"id": game.id, "round": len(game.results), "outcome": outcome, "seconds": seconds,
                       "strokes": strokes, **overrides}
    return state


def test_a_short_game_with_a_win_and_a_timeout(registry, real_data: Path) -> None:
    names = Predictor.load(str(BUNDLED_DIR / "quickdraw18")).class_names
    game = Game(names, GameSettings(rounds=2, seconds=10, win_probability=0.5), seed=4, clock=FakeClock())
    first, second = game.prompts
    app = run_page("pages/4_Game.py", {"game": game, "game_model": "quickdraw18"})
    assert not app.title and "Draw it before the time runs out" in texts(app), "a small title while playing"
    app.session_state["game_canvas"] = report(game, "won", 3.2, recognised_drawing(first, real_data))
    app.run()
    assert not app.exception
    assert game.results[0].outcome == "won" and game.results[0].seconds == 3.2
    assert game.results[0].ranking[0][0] == first, "the server checked the drawing itself"
    assert f"Score 1 of 1 · round 1: {first}: ✅ got it (3.2 s)" in texts(app)
    app.run()  # The same report again (a rerun) changes nothing.
    assert len(game.results) == 1

    app.session_state["game_canvas"] = report(game, "timeout", 10.0, recognised_drawing(first, real_data))
    app.run()
    assert not app.exception
    assert [result.outcome for result in game.results] == ["won", "timeout"] and game.finished
    assert any(item.value == "Score: 1 of 2" for item in app.subheader)
    assert f"**{first}**: ✅ recognised" in texts(app) and f"**{second}**: ⌛ not recognised in time" in texts(app)


def test_a_claimed_win_the_server_does_not_see_is_not_counted(registry, real_data: Path) -> None:
    names = Predictor.load(str(BUNDLED_DIR / "quickdraw18")).class_names
    game = Game(names, GameSettings(rounds=2, seconds=20), seed=4)
    first, second = game.prompts
    other = next(name for name in names if name not in (first, second))
    app = run_page("pages/4_Game.py", {"game": game, "game_model": "quickdraw18"})
    app.session_state["game_canvas"] = report(game, "won", 99, recognised_drawing(other, real_data))
    app.run()
    assert not app.exception
    assert game.results[0].outcome == "not confirmed" and game.results[0].seconds == 20 and game.score == 0
    assert "not confirmed by the server" in texts(app)


def widget(items, label: str):
    return next(item for item in items if item.label == label)


@pytest.fixture
def workers():
    """Training worker processes started by the pages of a test are stopped at its end."""
    from model.pool import stop_all

    yield
    stop_all()


def finished_job(app, timeout: float = 180):
    """Wait for the job the page submitted to end in its worker process; return its last snapshot."""
    from ui.cache import job_queue

    queue = job_queue()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = queue.get(app.session_state["job_id"])
        if not job.active:
            return job
        time.sleep(0.5)
    raise AssertionError(f"the job is still {job.state} after {timeout} s")


def test_a_short_training_is_saved_for_this_session_only(registry, real_data: Path, workers) -> None:
    app = run_page("pages/5_Train.py")
    app.multiselect[0].set_value(["apple", "eye", "rainbow"])
    widget(app.slider, "Drawings per class").set_value(100)
    widget(app.slider, "Epochs").set_value(1)
    app.run()
    widget(app.button, "Train").click()
    app.run()
    assert not app.exception and not app.error, [item.value for item in app.error]
    assert any(item.value.startswith("Training apple, eye, rainbow") for item in app.info)
    job = finished_job(app)
    assert job.state == "done", job.error
    app.run()
    assert any(metric.label == "Test top-1" for metric in app.metric)
    widget(app.text_input, "Save as").set_value("three-shapes")
    widget(app.text_input, "Your name (optional)").set_value("Ada")
    widget(app.button, "Save and use it").click()
    app.run()
    assert not app.exception
    card = registry.get("three-shapes").card
    assert card.class_names == ["apple", "eye", "rainbow"] and card.saved_by == "Ada"
    assert card.owner == app.session_state["owner_id"] and card.data["train_counts"] == {name: 80 for name in
                                                                                         card.class_names}
    assert app.session_state["model_name"] == "three-shapes", "the saver's session switches"
    assert registry.active_name() == "quickdraw18", "the default for everyone is unchanged"
    other = run_page("app.py")
    assert "Model in use: quickdraw18" in [item.value for item in other.subheader], "another session is unchanged"
    assert any("Saved **three-shapes**: your session now uses it" in item.value for item in app.success)

    reloaded = run_page("pages/5_Train.py", {"owner_id": app.session_state["owner_id"]})  # A reload, same owner.
    assert any(metric.label == "Test top-1" for metric in reloaded.metric), "the finished job is found again"
    widget(reloaded.text_input, "Save as").set_value("three-again")
    widget(reloaded.button, "Save without switching").click()
    reloaded.run()
    assert "three-again" in registry.names() and reloaded.sidebar.selectbox[0].value == "quickdraw18"
    widget(reloaded.button, "Start over").click()
    reloaded.run()
    assert not job.folder.exists(), "starting over removes the job and its files"
    assert any(button.label == "Train" for button in reloaded.button)


def test_another_session_sees_the_queue_and_needs_the_teacher_key_to_cancel(registry, real_data: Path, workers,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from model.config import TrainConfig
    from ui.cache import job_queue

    queue = job_queue()  # The server's queue, which every session's Train page uses.
    config = TrainConfig(classes=["apple", "eye"], per_class=300, architecture="book", epochs=50, batch_size=8,
                         data_dir=str(real_data))
    job = queue.submit(config, owner="first-session", label="apple, eye")
    try:
        monkeypatch.setenv("DOODLE_TEACHER_KEY", "owl")
        second = run_page("pages/5_Train.py")  # Another person opens the Train page meanwhile.
        assert any("1 training is queued or running" in item.value for item in second.info)
        assert not widget(second.button, "Train").disabled, "they can queue their own"
        next(button for button in second.button if button.key == f"cancel_other_{job.id}").click().run()
        assert queue.get(job.id).active and not queue.get(job.id).cancel_requested, "no key, no cancel"
        assert any("only the teacher can cancel" in item.value for item in second.error)
        widget(second.text_input, "Teacher key to cancel another session's training").set_value("owl")
        next(button for button in second.button if button.key == f"cancel_other_{job.id}").click().run()
        assert not second.exception
        assert queue.get(job.id).cancel_requested or queue.get(job.id).state == "cancelled"
        seven = [[[10, 90, 60], [10, 10, 100]]]
        draw = run_page("pages/1_Draw.py", {"canvas": live_state(seven)})  # Every other page keeps working.
        assert any(item.value.startswith("## ") for item in draw.markdown)
    finally:
        queue.cancel(job.id)
    deadline = time.monotonic() + 60
    while queue.get(job.id).active and time.monotonic() < deadline:
        time.sleep(0.2)
    assert queue.get(job.id).state == "cancelled"


def test_models_page_activates_and_deletes(registry, tiny_training) -> None:
    from model.train import save_result

    save_result(tiny_training, "spare", registry)
    app = run_page("pages/6_Models.py")
    labels = {expander.label for expander in app.expander}
    assert labels == {"quickdraw18 · active · bundled", "mnist · bundled", "spare"}
    next(button for button in app.button if button.key == "activate_mnist").click()
    app.run()
    assert registry.active_name() == "mnist"
    next(button for button in app.button if button.key == "delete_spare").click()
    app.run()
    assert "spare" not in registry.names() and not app.exception
    assert not [button for button in app.button if button.key in ("delete_quickdraw18", "delete_mnist")]


def test_drawing_your_own_examples_enables_training(registry, real_data: Path, workers) -> None:
    from data_loader.quickdraw import load_strokes

    app = run_page("pages/5_Train.py")
    app.radio[0].set_value("My own drawings").run()
    widget(app.text_input, "New classes, separated by commas").set_value("star, ladder").run()
    assert widget(app.button, "Train").disabled
    for name in ("star", "ladder"):
        app.radio[1].set_value(name).run()
        for count, drawing in enumerate(load_strokes(real_data, name, 10)[0]):
            app.session_state[f"teach_{name}_{count}"] = canvas_state([list(map(list, stroke)) for stroke in drawing])
            app.run()
            widget(app.button, "Add this drawing").click().run()
    assert not app.exception
    assert [len(app.session_state["my_drawings"][name]) for name in ("star", "ladder")] == [10, 10]
    assert not widget(app.button, "Train").disabled
    assert any(button.label.startswith("Download these drawings") for button in app.get("download_button"))

    # Teach them to the bundled model (the page's default for your own drawings is fine-tuning it).
    widget(app.slider, "Epochs").set_value(3)
    widget(app.slider, "Fine-tuning epochs").set_value(1)
    app.run()
    widget(app.button, "Train").click().run()
    job = finished_job(app)
    assert job.state == "done", job.error
    assert (job.config.transfer, job.config.base) == ("fine_tuning", "quickdraw18")
    assert (job.folder / "dataset.npz").is_file(), "the drawings travel with the job, and go with it"
    assert not list(registry.folder.parent.glob("**/my-drawings-*.npz")), "no stray dataset next to the registry"
    app.run()
    assert not app.exception
    assert any(metric.label == "Validation top-1" for metric in app.metric), "no test part is kept for 20 drawings"
    evaluation = app.session_state["job_result"][1].evaluation
    true_index, guess_index = int(evaluation.labels[0]), int(evaluation.predictions[0])  # A cell with drawings.
    true_name, guess_name = evaluation.class_names[true_index], evaluation.class_names[guess_index]
    count = int(((evaluation.labels == true_index) & (evaluation.predictions == guess_index)).sum())
    widget(app.selectbox, "True class").set_value(true_name).run()
    widget(app.selectbox, "Guessed as").set_value(guess_name).run()
    assert not app.exception
    assert any(f"{count} {true_name} drawings guessed as {guess_name}" in str(chart.proto)
               for chart in app.get("plotly_chart"))
    widget(app.text_input, "Save as").set_value("star-ladder")
    widget(app.button, "Save and use it").click().run()
    assert not app.exception
    assert registry.active_name() == "quickdraw18" and app.session_state["model_name"] == "star-ladder"
    assert app.sidebar.selectbox[0].value == "star-ladder"
    assert registry.get("star-ladder").card.class_names == ["star", "ladder"]


def test_activating_a_model_switches_this_session_and_the_sidebar_switches_it_back(registry) -> None:
    app = run_page("pages/6_Models.py")
    next(button for button in app.button if button.key == "activate_mnist").click().run()
    assert not app.exception
    assert registry.active_name() == "mnist"
    assert app.sidebar.selectbox[0].value == "mnist" and app.session_state["model_name"] == "mnist"
    app.sidebar.selectbox[0].set_value("quickdraw18").run()
    assert app.session_state["model_name"] == "quickdraw18" and registry.active_name() == "mnist"
    seven = [[[10, 90, 60], [10, 10, 100]]]
    draw = run_page("pages/1_Draw.py", {"canvas": live_state(seven)})
    assert draw.sidebar.selectbox[0].value == "mnist", "a new session follows the active model"
    assert any(item.value.startswith("Draw one of: 0, 1, 2") for item in draw.caption)


def test_clearing_model_caches_keeps_the_training_queue(registry, workers) -> None:
    from ui.cache import clear_model_caches, job_queue, load_predictor

    queue = job_queue()
    version = Predictor.load(str(BUNDLED_DIR / "mnist")).card.created
    first = load_predictor("mnist", version)
    assert load_predictor("mnist", version) is first, "a model is loaded once"
    clear_model_caches()
    assert job_queue() is queue, "the queue and its workers stay"
    assert load_predictor("mnist", version) is not first, "models are reloaded after a change"


def test_a_game_with_the_mnist_model_can_be_skipped_and_given_up(registry, real_data: Path) -> None:
    digits = Predictor.load(str(BUNDLED_DIR / "mnist")).class_names
    game = Game(digits, GameSettings(rounds=3, seconds=30), seed=2)
    app = run_page("pages/4_Game.py", {"game": game, "game_model": "mnist", "model_name": "mnist"})
    assert game.prompts[0] in digits and not game.results
    app.session_state["game_canvas"] = report(game, "skipped", 4)
    app.run()
    assert [result.outcome for result in game.results] == ["skipped"] and not app.exception
    widget(app.button, "Give up").click().run()
    assert not app.exception and game.finished
    assert any(item.value == "Score: 0 of 2" for item in app.subheader)
    assert f"**{game.prompts[0]}**: ⏭️ skipped" in texts(app) and "🏳️ gave up" in texts(app)
    widget(app.button, "Play again").click().run()
    assert "game" not in app.session_state and any(button.label == "Start a game" for button in app.button)


def test_without_live_guesses_the_server_plays_the_round_stroke_by_stroke(registry, real_data: Path) -> None:
    names = Predictor.load(str(BUNDLED_DIR / "quickdraw18")).class_names
    game = Game(names, GameSettings(rounds=2, seconds=60), seed=4)
    first = game.prompts[0]
    state = live_state(recognised_drawing(first, real_data))
    app = run_page("pages/4_Game.py", {"game": game, "game_model": "quickdraw18",
                                       "game_canvas": {**state, "live": False}})
    assert not game.results, "no guess before the player said ready"
    app.session_state["game_canvas"] = {**state, "live": False, "started": f"{game.id}:0"}
    app.run()
    assert not app.exception
    assert [result.outcome for result in game.results] == ["won"] and game.results[0].category == first


def test_a_fresh_machine_with_no_data_and_no_network(registry, data_root: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Everything but training works from the bundled model alone: no data folder, downloads off."""
    monkeypatch.setenv("DOODLE_DATA_DIR", str(tmp_path / "no-data-yet"))
    monkeypatch.setenv("DOODLE_OFFLINE", "1")
    drawing = raw_drawings(data_root, "rainbow", 1)[0]  # Read here, as a person would draw it.
    draw = run_page("pages/1_Draw.py", {"canvas": live_state(drawing)})
    assert any(item.value.startswith("## ") for item in draw.markdown)
    names = Predictor.load(str(BUNDLED_DIR / "quickdraw18")).class_names
    game = Game(names, GameSettings(rounds=1, seconds=30), seed=1)
    app = run_page("pages/4_Game.py", {"game": game, "game_model": "quickdraw18"})
    widget(app.button, "Give up").click().run()
    assert not app.exception and game.finished
    titles = " ".join(str(chart.proto) for chart in app.get("plotly_chart"))
    assert f"idea of {game.prompts[0]}" in titles, "no dataset drawings: the model's own idea instead"
    train = run_page("pages/5_Train.py")
    assert not train.exception and not widget(train.button, "Train").disabled
    assert not (tmp_path / "no-data-yet").exists(), "opening the pages downloads and creates nothing"
