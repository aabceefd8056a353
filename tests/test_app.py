"""AppTest tests of every page: each runs without exceptions, has its key widgets, and guesses real drawings."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.drawings import live_state, raw_drawings

TIMEOUT = 120
REPOSITORY = Path(__file__).resolve().parents[1]


def run_page(path: str, state: dict | None = None) -> AppTest:
    app = AppTest.from_file(str(REPOSITORY / path), default_timeout=TIMEOUT)
    for key, value in (state or {}).items():
        app.session_state[key] = value
    app.run()
    assert not app.exception, [item.value for item in app.exception]
    return app


def texts(app: AppTest) -> str:
    return "\n".join(item.value for item in [*app.markdown, *app.info, *app.caption, *app.error, *app.warning])


def test_home_page_shows_the_model_and_the_pages(registry) -> None:
    app = run_page("app.py")
    assert app.title[0].value.startswith("✏️ Doodle Lab")
    assert "Model in use: quickdraw18" in [item.value for item in app.subheader]
    assert app.sidebar.selectbox[0].label == "Model" and "mnist (bundled)" in app.sidebar.selectbox[0].options
    assert "cat" in texts(app)


def test_draw_page_with_an_empty_canvas_shows_a_hint_not_a_guess(registry) -> None:
    app = run_page("pages/1_Draw.py", {"canvas": live_state(None)})
    assert "Start drawing" in texts(app)
    assert "top_guess" not in repr(app)


@pytest.mark.parametrize("category", ["cat", "rainbow", "bicycle", "house plant"])
def test_draw_page_guesses_an_injected_real_drawing(registry, data_root: Path, category: str) -> None:
    drawings = raw_drawings(data_root, category, 3)
    guesses = []
    for drawing in drawings:
        app = run_page("pages/1_Draw.py", {"canvas": live_state(drawing)})
        guess = app.get("markdown")
        top = [item.value for item in guess if item.value.startswith("## ")]
        assert top, "a guess is shown for a drawing"
        guesses.append(top[0][3:].split("\n")[0])
        assert app.session_state["drawing"], "the strokes are kept for the other pages"
    assert guesses.count(category) >= 2, guesses


def test_draw_page_works_with_the_mnist_model(registry, data_root: Path) -> None:
    seven = [[[10, 90, 60], [10, 10, 100]]]
    app = run_page("pages/1_Draw.py", {"canvas": live_state(seven), "model_name": "mnist"})
    top = [item.value for item in app.markdown if item.value.startswith("## ")]
    assert top and top[0][3:].split("\n")[0] in [str(digit) for digit in range(10)]


def test_inside_the_network_page_shows_activations_and_playground(registry, data_root: Path) -> None:
    drawing = raw_drawings(data_root, "fish", 1)[0]
    from data_loader.canvas import strokes_from_canvas
    from tests.drawings import fabric_json

    app = run_page("pages/2_Inside_the_network.py", {"drawing": strokes_from_canvas(fabric_json(drawing))})
    assert len(app.tabs) == 4
    assert any("Output size" in item.value and "(28 + 2×0 − 3) / 1 + 1 = 26" in item.value for item in app.markdown)
    app.radio[0].set_value("same").run()
    assert any("(28 + 2×1 − 3) / 1 + 1 = 28" in item.value for item in app.markdown)
    app.slider[0].set_value(2).run()
    assert any("/ 2 + 1 = 14" in item.value for item in app.markdown)


def test_inside_the_network_page_without_a_drawing_asks_for_one(registry) -> None:
    app = run_page("pages/2_Inside_the_network.py")
    assert "Draw something above" in texts(app)


def test_model_anatomy_page_shows_the_parameter_table(registry) -> None:
    app = run_page("pages/3_Model_anatomy.py")
    assert len(app.dataframe) == 2
    table = app.dataframe[0].value
    assert "how the count comes about" in table.columns
    assert (table["parameters"].sum()) > 0


def test_a_broken_active_model_shows_a_message_and_the_page_still_works(registry, tiny_training) -> None:
    from model.train import save_result

    entry = save_result(tiny_training, "broken", registry, activate=True)
    entry.model_path.write_bytes(b"not a keras file")
    app = run_page("pages/1_Draw.py", {"canvas": live_state(None)})
    assert any("cannot be used" in item.value for item in app.sidebar.error)
    app = run_page("app.py")
    assert "No model could be loaded" in texts(app)
