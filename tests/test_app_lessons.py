"""AppTest tests of the two lessons: the overfitting lab (open a saved lab, change the settings, run one) and the
data explorer (pick a category, page through, replay strokes, the nearest training drawings of a drawing)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from data_loader.canvas import strokes_from_canvas
from model.overfitting import LabSettings, combine, labs_dir, save_lab
from tests.drawings import fabric_json, raw_drawings
from tests.test_app import run_page, texts

LAB = "pages/7_Overfitting_lab.py"
EXPLORER = "pages/8_Data_explorer.py"


@pytest.fixture
def real_data(data_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DOODLE_DATA_DIR", str(data_root))
    return data_root


def widget(items, label: str):
    return next(item for item in items if item.label == label)


def charts(app) -> list[dict]:
    return [json.loads(item.proto.spec) for item in app.get("plotly_chart")]


def test_the_lab_page_opens_a_saved_lab_at_once_and_names_a_damaged_file(registry, tiny_training) -> None:
    settings = LabSettings(classes=["apple", "eye", "rainbow"], per_class=150, augment_strength=0.4, dropout=0.3)
    path = save_lab(combine(settings, tiny_training, tiny_training, created="2026-12-01T07:00:00+00:00"))
    assert path.parent == labs_dir() == registry.folder / ".labs"
    (path.parent / "20261201080000-broken.json").write_text("{\"format\": \"something else\"}")
    app = run_page(LAB)
    assert any("20261201080000-broken.json is not an overfitting lab result" in item.value for item in app.warning)
    chooser = widget(app.selectbox, "Open a saved lab")
    assert chooser.value == str(path)
    assert "apple, eye, rainbow · 150 per class · augmentation 0.4, dropout 0.3" in chooser.format_func(chooser.value)
    final = f"{tiny_training.history['val_accuracy'][-1]:.1%}"
    assert [metric.value for metric in app.metric] == [final, final]
    accuracy, loss = charts(app)
    assert len(accuracy["data"]) == len(loss["data"]) == 4, "training and validation curves of both runs"
    assert accuracy["data"][1]["y"] == pytest.approx(tiny_training.history["val_accuracy"])
    assert accuracy["layout"]["yaxis"]["range"] == [0, 1.02]
    assert "How these runs were made" in [item.label for item in app.expander]


@pytest.fixture
def workers():
    """Training worker processes started by the pages of a test are stopped at its end."""
    from model.pool import stop_all

    yield
    stop_all()


@pytest.mark.slow
def test_the_lab_page_queues_both_trainings_with_the_chosen_settings_and_saves_them(registry, real_data: Path,
                                                                                     workers) -> None:
    from model.overfitting import LAB_PURPOSE
    from ui.cache import job_queue

    app = run_page(LAB)
    app.multiselect(key="lab_classes").set_value(["apple", "eye"])
    app.slider(key="lab_per_class").set_value(50)
    app.slider(key="lab_strength").set_value(0.3)
    app.slider(key="lab_dropout").set_value(0.2)
    app.run()
    assert "about 37 seconds for 2 categories of 50 drawings" in texts(app)
    widget(app.button, "Run both trainings").click()
    app.run()
    assert not app.exception and not app.error, [item.value for item in app.error]
    queue = job_queue()
    jobs = queue.jobs(purpose=LAB_PURPOSE)
    assert [job.config.augment for job in jobs] == [False, True] and jobs[0].owner == jobs[1].owner
    assert (jobs[1].config.dropout, jobs[1].config.augment_strength, jobs[0].config.dropout) == (0.2, 0.3, 0.0)
    assert "Cancel the lab" in [button.label for button in app.button], "the page follows the lab"
    deadline = time.monotonic() + 300
    while any(job.active for job in queue.jobs(purpose=LAB_PURPOSE)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert [job.state for job in queue.jobs(purpose=LAB_PURPOSE)] == ["done", "done"]
    app.run()
    assert not app.exception
    assert any("Your lab finished and was saved" in item.value for item in app.success)
    assert queue.jobs(purpose=LAB_PURPOSE) == [], "the lab's jobs leave the queue once it is saved"
    path = Path(widget(app.selectbox, "Open a saved lab").value)
    assert path.parent == labs_dir()
    saved = json.loads(path.read_text())
    assert saved["settings"]["classes"] == ["apple", "eye"] and saved["settings"]["dropout"] == 0.2
    assert saved["runs"]["plain"]["train_counts"] == {"apple": 38, "eye": 38}
    assert len(saved["runs"]["regularised"]["history"]["val_loss"]) == 30
    assert len(charts(app)) == 2
    assert "Run both trainings" in [button.label for button in app.button], "ready for another lab"


def test_the_explorer_pages_through_a_categorys_bitmaps(registry, real_data: Path) -> None:
    app = run_page(EXPLORER)
    app.selectbox(key="explorer_category").set_value("horse").run()
    caption = lambda: app.get("image")[0].proto.imgs[0].caption  # noqa: E731
    assert caption() == "horse: drawings 1-48 of 979"
    assert app.button(key="explorer_previous").disabled
    app.button(key="explorer_next").click().run()
    assert app.number_input(key="explorer_page").value == 2 and caption() == "horse: drawings 49-96 of 979"
    app.number_input(key="explorer_page").set_value(21).run()
    assert caption() == "horse: drawings 961-979 of 979" and app.button(key="explorer_next").disabled
    app.button(key="explorer_previous").click().run()
    assert caption() == "horse: drawings 913-960 of 979"
    app.selectbox(key="explorer_category").set_value("cat").run()
    assert app.number_input(key="explorer_page").value == 1 and caption() == "cat: drawings 1-48 of 4,935"
    assert not app.exception


def test_the_explorer_replays_a_drawing_with_its_real_timing(registry, real_data: Path) -> None:
    app = run_page(EXPLORER, {"explorer_view": "Strokes, replayed"})
    assert app.selectbox(key="replay_category").value == "cat"
    app.number_input(key="replay_number").set_value(2).run()
    app.select_slider(key="replay_speed").set_value(4.0).run()
    record = raw_drawings(real_data, "cat", 2)[1]
    seconds = (record[-1][2][-1] - record[0][2][0]) / 1000
    assert f"Drawn in **{seconds:.1f} s**, {len(record)} strokes, real timing" in texts(app)
    replay = json.loads(app.get("bidi_component")[0].proto.json)
    assert replay["speed"] == 4.0 and replay["autoplay"] is True and len(replay["strokes"]) == len(record)
    assert replay["strokes"][0][2][0] == 0 and replay["strokes"][-1][2][-1] == seconds * 1000
    assert all(0 <= value <= replay["size"] for stroke in replay["strokes"] for value in stroke[0] + stroke[1])
    app.selectbox(key="replay_category").set_value("zebra").run()
    assert "no timing kept, replayed at a steady pace" in texts(app)
    assert not app.exception


def test_the_explorer_shows_the_training_drawings_most_like_your_drawing(registry, real_data: Path) -> None:
    drawing = strokes_from_canvas(fabric_json(raw_drawings(real_data, "rainbow", 1)[0]))
    app = run_page(EXPLORER, {"explorer_view": "Most similar to your drawing", "drawing": drawing})
    assert "Using your drawing from the Draw page" in texts(app)
    assert "The network guesses **rainbow**" in texts(app)
    assert "Of the 12 most similar training drawings, **" in texts(app)
    assert "Searched 5,400 training drawings of quickdraw18 in the features of layer `global_pool`" in texts(app)
    cards = app.get("html")[0].proto.body
    assert cards.count("<figure") == 12 and cards.count("rainbow · 0.") >= 9
    app.slider(key="neighbour_count").set_value(6).run()
    assert app.get("html")[0].proto.body.count("<figure") == 6 and "Of the 6 most similar" in texts(app)


def test_the_explorer_asks_for_a_drawing_when_there_is_none(registry, real_data: Path) -> None:
    app = run_page(EXPLORER, {"explorer_view": "Most similar to your drawing"})
    assert "Draw something above (or on the Draw page)" in texts(app)
