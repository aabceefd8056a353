"""AppTest tests of the Game, Train and Models pages: a short game (a win and a timeout), a short training that
ends with a saved, active model, and managing the registry."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from game.rules import Game, GameSettings
from model.predict import Predictor
from model.registry import BUNDLED_DIR
from tests.drawings import canvas_state, raw_drawings
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


def test_a_short_game_with_a_win_and_a_timeout(registry, real_data: Path) -> None:
    clock = FakeClock()
    names = Predictor.load(str(BUNDLED_DIR / "quickdraw18")).class_names
    game = Game(names, GameSettings(rounds=2, seconds=10, win_probability=0.5), seed=4, clock=clock)
    first, second = game.prompts
    app = run_page("pages/4_Game.py", {"game": game, "game_model": "quickdraw18"})
    assert any(f"Round 1 of 2: draw **{first}**" in item.value for item in app.subheader)

    clock.now += 3
    app.session_state["game_canvas_0"] = canvas_state(recognised_drawing(first, real_data))
    app.run()
    assert not app.exception
    assert game.results[0].outcome == "won" and game.results[0].seconds == 3
    assert any(f"Round 2 of 2: draw **{second}**" in item.value for item in app.subheader)

    clock.now += 11
    app.run()
    assert not app.exception
    assert [result.outcome for result in game.results] == ["won", "timeout"] and game.finished
    assert any(item.value == "Score: 1 of 2" for item in app.subheader)
    assert f"**{first}**: ✅ recognised" in texts(app) and f"**{second}**: ⌛ not recognised in time" in texts(app)


def widget(items, label: str):
    return next(item for item in items if item.label == label)


def test_a_short_training_ends_with_a_saved_active_model(registry, real_data: Path) -> None:
    app = run_page("pages/5_Train.py")
    app.multiselect[0].set_value(["apple", "eye", "rainbow"])
    widget(app.slider, "Drawings per class").set_value(100)
    widget(app.slider, "Epochs").set_value(1)
    app.run()
    widget(app.button, "Train").click()
    app.run()
    assert not app.exception and not app.error, [item.value for item in app.error]
    job = app.session_state["job"]
    deadline = time.monotonic() + 120
    while job.running and time.monotonic() < deadline:
        time.sleep(0.5)
    assert job.status == "done", job.error
    app.run()
    assert any(metric.label == "Test top-1" for metric in app.metric)
    widget(app.text_input, "Save as").set_value("three-shapes")
    widget(app.button, "Save and make it the active model").click()
    app.run()
    assert not app.exception
    assert registry.active_name() == "three-shapes"
    assert registry.get("three-shapes").card.class_names == ["apple", "eye", "rainbow"]
    assert registry.get("three-shapes").card.data["train_counts"] == {"apple": 80, "eye": 80, "rainbow": 80}
    assert "Saved **three-shapes**" in texts(app) or any("three-shapes" in item.value for item in app.success)


def test_a_second_session_is_told_a_training_is_running(registry, real_data: Path) -> None:
    from model.config import TrainConfig
    from model.jobs import TrainingBusy, TrainingSlot

    slot = TrainingSlot()
    config = TrainConfig(classes=["apple", "eye"], per_class=300, architecture="book", epochs=50, batch_size=8)
    job = slot.start(config, owner="first-session")
    try:
        with pytest.raises(TrainingBusy, match="another session"):
            slot.start(config, owner="second-session")
        assert slot.busy_with() is job
    finally:
        job.cancel()
        deadline = time.monotonic() + 60
        while job.running and time.monotonic() < deadline:
            time.sleep(0.2)
    assert job.status == "cancelled" and slot.busy_with() is None
    assert slot.start(TrainConfig(classes=["apple", "eye"], per_class=20, architecture="book", epochs=1),
                      owner="second-session", background=False).status == "done"


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


def test_drawing_your_own_examples_enables_training(registry, real_data: Path) -> None:
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
