"""AppTest tests of every page: each runs without exceptions, has its key widgets, and guesses real drawings."""

from __future__ import annotations

import re
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


def test_draw_page_shows_the_image_the_top_five_and_grad_cam_on_request(registry, data_root: Path) -> None:
    """Each stroke shows the 28x28 picture and five bars that add up to at most 100%; the plotly Grad-CAM
    figure is drawn only when asked for, since the page reruns on every stroke of every student."""
    app = run_page("pages/1_Draw.py", {"canvas": live_state(raw_drawings(data_root, "rainbow", 1)[0])})
    assert [(item.caption, item.url.startswith("data:image/png;base64,")) for item in app.get("image")[0].proto.imgs] \
        == [("What the network sees (28x28)", True)], "a sharp (lossless) picture inside the message, no media file"
    ranking = [item.proto.body for item in app.get("html") if "<progress" in item.proto.body]
    assert len(ranking) == 1, "the top five are one element"
    shares = [float(value) for value in re.findall(r'<progress value="([0-9.]+)"', ranking[0])]
    assert len(shares) == 5 and shares == sorted(shares, reverse=True) and sum(shares) <= 1.02
    assert re.search(r'>rainbow \d+%</div><progress value="' + str(shares[0]), ranking[0]), ranking[0]
    assert not app.get("plotly_chart")
    labelled(app.toggle, "Show what convinced me (Grad-CAM)").set_value(True).run()
    assert not app.exception and "What the network sees (28x28)" in str(app.get("plotly_chart")[0].proto)
    assert not app.get("image")


def test_draw_page_works_with_the_mnist_model(registry, data_root: Path) -> None:
    seven = [[[10, 90, 60], [10, 10, 100]]]
    app = run_page("pages/1_Draw.py", {"canvas": live_state(seven), "model_name": "mnist"})
    top = [item.value for item in app.markdown if item.value.startswith("## ")]
    assert top and top[0][3:].split("\n")[0] in [str(digit) for digit in range(10)]


def labelled(elements, label: str):
    """The one widget of a kind with this label."""
    found = [element for element in elements if element.label == label]
    assert len(found) == 1, (label, [element.label for element in elements])
    return found[0]


def test_inside_the_network_page_shows_activations_and_playground(registry, data_root: Path) -> None:
    drawing = raw_drawings(data_root, "fish", 1)[0]
    from data_loader.canvas import strokes_from_canvas
    from tests.drawings import fabric_json

    app = run_page("pages/2_Inside_the_network.py", {"drawing": strokes_from_canvas(fabric_json(drawing))})
    assert len(app.tabs) == 4
    assert any("Output size" in item.value and "(28 + 2×0 − 3) / 1 + 1 = 26" in item.value for item in app.markdown)
    labelled(app.radio, "Padding").set_value("same").run()
    assert any("(28 + 2×1 − 3) / 1 + 1 = 28" in item.value for item in app.markdown)
    labelled(app.slider, "Stride").set_value(2).run()
    assert any("/ 2 + 1 = 14" in item.value for item in app.markdown)


def test_inside_the_network_steps_through_the_layers_one_at_a_time(registry, data_root: Path) -> None:
    from data_loader.canvas import strokes_from_canvas
    from tests.drawings import fabric_json

    drawing = strokes_from_canvas(fabric_json(raw_drawings(data_root, "fish", 1)[0]))
    app = run_page("pages/2_Inside_the_network.py", {"drawing": drawing})
    picker = labelled(app.select_slider, "Layer")
    assert picker.value == "block1_conv1" and picker.options[:3] == ["block1_conv1", "block1_bn1", "block1_relu1"]
    assert any("layer 1 of 20: output **28×28×32**" in item.value for item in app.markdown)
    assert not any("Showing" in item.value for item in app.caption), "32 maps are all shown"
    app.button(key="layer_forward").click().run()
    assert labelled(app.select_slider, "Layer").value == "block1_bn1"
    labelled(app.select_slider, "Layer").set_value("block2_conv1").run()
    assert any("channels grow from 32 to 64" in item.value for item in app.markdown)
    assert any("Showing 32 of 64 maps" in item.value for item in app.caption)
    labelled(app.toggle, "Show all 64 maps").set_value(True).run()
    assert any(item.value == "Showing 64 of 64 maps." for item in app.caption)
    app.button(key="layer_back").click().run()
    assert labelled(app.select_slider, "Layer").value == "block1_pool"
    assert any("resolution halves (28×28 → 14×14); the 32 channels stay" in item.value for item in app.markdown)
    labelled(app.slider, "Heat opacity").set_value(0.3).run()
    assert labelled(app.slider, "Heat opacity").value == 0.3 and labelled(app.toggle, "Draw the strokes on top").value
    assert not app.exception


def test_the_playground_kernel_is_edited_in_place_and_a_pixel_is_taken_apart(registry, data_root: Path) -> None:
    from data_loader.canvas import strokes_from_canvas
    from tests.drawings import fabric_json

    drawing = strokes_from_canvas(fabric_json(raw_drawings(data_root, "fish", 1)[0]))
    app = run_page("pages/2_Inside_the_network.py", {"drawing": drawing})
    kernel = labelled(app.text_area, "Kernel: 3 rows of 3 numbers (edit it)")
    assert not kernel.disabled and kernel.value == "-1 -1 -1\n-1 8 -1\n-1 -1 -1"
    kernel.set_value("0 0 0\n0 2 0\n0 0 0").run()
    assert any(item.value == "Your edited edge detector kernel." for item in app.caption)
    labelled(app.slider, "Output row").set_value(12).run()
    labelled(app.slider, "Output column").set_value(14).run()
    table = next(item.value for item in app.markdown if item.value.startswith("| | left | middle | right |"))
    assert table.count("×") == 9 and "× 2 =" in table
    total = next(item.value for item in app.markdown if "sum of the nine products" in item.value)
    middle = float(table.splitlines()[3].split("|")[3].split("×")[0])  # the input value under the 2
    assert f"= **{2 * middle:.3f}**" in total and "row 12, column 14" in total
    labelled(app.selectbox, "Start from a kernel").set_value("blur").run()
    assert labelled(app.text_area, "Kernel: 3 rows of 3 numbers (edit it)").value.startswith("0.111111")
    labelled(app.text_area, "Kernel: 3 rows of 3 numbers (edit it)").set_value("1 2\n3").run()
    assert any("3 rows of 3 numbers" in item.value for item in app.error)


def test_inside_the_network_page_without_a_drawing_asks_for_one(registry) -> None:
    app = run_page("pages/2_Inside_the_network.py")
    assert "Draw something above" in texts(app)


def test_model_anatomy_page_shows_the_whole_parameter_table(registry) -> None:
    app = run_page("pages/3_Model_anatomy.py")
    assert len(app.table) == 2 and not app.dataframe, "plain tables: every row, no inner scroll box"
    table = app.table[0].value
    assert len(table) == 24 and list(table["layer"])[:3] == ["drawing", "block1_conv1", "block1_bn1"]
    assert "how the count comes about" in table.columns
    assert "147,456" in list(table["parameters"]), "thousands separators"
    formulas = list(table["how the count comes about"])
    assert "4×128 = 512 (γ, β trainable; moving mean and variance non-trainable)" in formulas
    metrics = {item.label: item.value for item in app.metric}
    assert metrics["Total parameters"] == "290,098" and metrics["Non-trainable"] == "896" and "Frozen" not in metrics
    assert any(item.value == "batch-norm moving statistics" for item in app.caption)
    assert any("6 of its 6 convolutions have no bias" in item.value for item in app.caption)
    assert "138,357,544" in list(app.table[1].value["parameters"])


def test_a_broken_active_model_shows_a_message_and_the_page_still_works(registry, tiny_training) -> None:
    from model.train import save_result

    entry = save_result(tiny_training, "broken", registry, activate=True)
    entry.model_path.write_bytes(b"not a keras file")
    app = run_page("pages/1_Draw.py", {"canvas": live_state(None)})
    assert any("default model 'broken' is damaged" in item.value for item in app.sidebar.warning)
    assert app.sidebar.selectbox[0].value == "quickdraw18", "a damaged model is never used"
    app = run_page("app.py")
    assert "Model in use: quickdraw18" in [item.value for item in app.subheader]


def test_inside_the_network_and_anatomy_with_a_book_model(registry, tiny_training) -> None:
    """A network without batch normalisation: convolutions with biases, Flatten, no statistics to name."""
    from model.train import save_result

    save_result(tiny_training, "booklet", registry, activate=True)
    seven = [[[10, 90, 60], [10, 10, 100]]]
    app = run_page("pages/2_Inside_the_network.py", {"drawing": seven})
    picker = labelled(app.select_slider, "Layer")
    assert picker.options == ["conv1", "pool1", "conv2", "pool2", "conv3"]
    assert any("resolution shrinks (28×28 → 26×26)" in item.value for item in app.markdown)
    next(button for button in app.button if button.label.startswith("Find what 8")).click().run()
    assert not app.exception, [item.value for item in app.exception]
    assert any("Each square is a drawing made from scratch" in item.value for item in app.info)
    anatomy = run_page("pages/3_Model_anatomy.py")
    assert any("+ one bias per filter" in item.value for item in anatomy.caption)
    assert any("Flatten after a large map is costly" in item.value for item in anatomy.caption)
    assert "Non-trainable" not in {item.label for item in anatomy.metric}, "no batch normalisation, nothing to name"
