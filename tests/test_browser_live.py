"""Live guessing in the browser (ui/live_canvas.py, static/raster.js, vendored onnxruntime-web), end to end in
Debian's Chromium: the JavaScript rasterizer and the in-browser model against the Python ones on every raw
drawing, guesses while the pen is down, a game round won mid-stroke, the fallback to the server path, and a
switch of model reaching the browser.

The first page that asks for a model waits for the server to export it (about a minute on this machine);
the ONNX files stay in static/models/ for later runs.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from bench.browser_session import (
    LIVE_CANVAS,
    clear_canvas,
    scaled_strokes,
    start_game,
    top_guess,
    wait_until_live,
)
from data_loader.quickdraw import read_ndjson
from tests.browser_fixtures import ARTIFACTS

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def context(browser, request):
    context = browser.new_context(viewport={"width": 1300, "height": 950})
    yield context
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        for number, page in enumerate(context.pages):
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{number}.png"), full_page=True)
    context.close()


@pytest.fixture(scope="module")
def raw(data_root: Path) -> tuple[list, list[str]]:
    """Every raw drawing in quickdraw/raw, with its category."""
    drawings, words = [], []
    for path in sorted((data_root / "quickdraw" / "raw").glob("*.ndjson")):
        for record in read_ndjson(path):
            drawings.append(record["drawing"])
            words.append(path.stem)
    return drawings, words


@pytest.fixture(scope="module")
def predictors():
    from model.predict import Predictor
    from model.registry import BUNDLED_DIR

    return {name: Predictor.load(str(BUNDLED_DIR / name)) for name in ("quickdraw18", "mnist")}


def live_page(context, url: str):
    """Open a page with the live canvas and wait until it runs the model in the page."""
    page = context.new_page()
    page.goto(url)
    page.locator(LIVE_CANVAS).wait_for(state="visible", timeout=60_000)
    assert wait_until_live(page), page.evaluate("() => window.doodleLive.errors")
    return page


def confident(predictor, drawing: list, category: str) -> bool:
    """Whether the Python predictor names the category for the whole drawing with at least 60%."""
    best, probability = predictor.classify_strokes(drawing, top_k=1)[1][0]
    return best == category and probability >= 0.6


def live_guess(page) -> str:
    return page.locator("[data-testid='live-guess']").inner_text().strip()


def assert_no_errors(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0, "a Python exception reached the page"
    assert "Traceback" not in page.inner_text("body")


def test_the_browser_renders_and_guesses_every_raw_drawing_like_python(context, app_url, raw, predictors) -> None:
    from data_loader.raster import render_many

    page = live_page(context, f"{app_url}Draw")
    drawings, _ = raw
    result = page.evaluate("""async (drawings) => {
        const live = window.doodleLive;
        const guessed = await live.classify(drawings, "quickdraw");
        return {quickdraw: guessed.map((item) => item.image), probabilities: guessed.map((item) => item.probabilities),
                mnist: drawings.map((drawing) => Array.from(live.raster.render(drawing, "mnist")))};
    }""", drawings)
    for recipe in ("quickdraw", "mnist"):
        python = render_many(drawings, recipe).astype(float)
        browser = np.array(result[recipe], float).reshape(python.shape)
        difference = np.abs(python - browser).reshape(len(drawings), -1).mean(1)
        assert difference.mean() <= 0.5 and difference.max() <= 3, (recipe, difference.mean(), difference.max())
    expected = predictors["quickdraw18"].probabilities(render_many(drawings, "quickdraw"))
    probabilities = np.array(result["probabilities"])
    assert probabilities.shape == expected.shape == (len(drawings), 18)
    assert np.abs(probabilities - expected).max() <= 1e-3
    assert (probabilities.argmax(1) == expected.argmax(1)).all()


def test_the_guess_follows_the_pen_before_it_lifts(context, app_url, data_root: Path, predictors) -> None:
    page = live_page(context, f"{app_url}Draw")
    drawing = next(read_ndjson(data_root / "quickdraw" / "raw" / "house.ndjson"))["drawing"]
    stroke = max(scaled_strokes(drawing, 360), key=len)
    box = page.locator(LIVE_CANVAS).bounding_box()
    page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
    page.mouse.down()
    for x, y in stroke[1:]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=2)
    page.wait_for_function("() => window.doodleLive.last && window.doodleLive.last.drawing", timeout=10_000)
    guess = live_guess(page)
    assert guess.split(" ")[0] in predictors["quickdraw18"].class_names or guess.startswith("house plant"), guess
    assert top_guess(page) == "", "the server has not heard of the stroke yet: the guess came from the page"
    page.mouse.up()
    page.locator(".st-key-top_guess").wait_for(timeout=30_000)  # the server still guesses after the stroke
    clear_canvas(page)
    page.wait_for_function("() => !document.querySelector('.st-key-top_guess')", timeout=30_000)
    assert live_guess(page) == ""
    assert_no_errors(page)


def test_the_guess_of_a_finished_stroke_does_not_wait_for_the_rest(context, app_url, data_root: Path) -> None:
    """While the pen moves, a guess that took w ms makes the next wait REST * w ms; lifting the pen does not wait.
    With the rest made endless, exactly one guess comes while the pen moves, and one as soon as it lifts."""
    page = live_page(context, f"{app_url}Draw")
    page.evaluate("() => { window.doodleLive.rest = 1e6; }")
    drawing = next(read_ndjson(data_root / "quickdraw" / "raw" / "fish.ndjson"))["drawing"]
    stroke = max(scaled_strokes(drawing, 360), key=len)
    box = page.locator(LIVE_CANVAS).bounding_box()
    before = page.evaluate("() => window.doodleLive.guesses")
    page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
    page.mouse.down()
    page.wait_for_function(f"() => window.doodleLive.guesses > {before}", timeout=10_000)
    for x, y in stroke[1:]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=2)
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.doodleLive.guesses") == before + 1, "the rest holds the pen's guesses back"
    page.mouse.up()
    page.wait_for_function("() => window.doodleLive.last && !window.doodleLive.last.drawing", timeout=30_000)
    assert page.evaluate("() => window.doodleLive.guesses") == before + 2
    assert_no_errors(page)


def test_a_game_round_is_won_mid_stroke(context, app_url, data_root: Path, predictors) -> None:
    predictor = predictors["quickdraw18"]
    page = context.new_page()
    card = start_game(page, app_url, 90)
    assert wait_until_live(page)
    prompt = re.search(r"Draw (.+) in 90 seconds — ready\?", card.inner_text()).group(1)
    drawing = next(record["drawing"] for record in read_ndjson(data_root / "quickdraw" / "raw" / f"{prompt}.ndjson")
                   if confident(predictor, record["drawing"], prompt))
    page.get_by_role("button", name="Ready!").click()
    box = page.locator(LIVE_CANVAS).bounding_box()
    for stroke in scaled_strokes(drawing, box["width"]):
        page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=2)
        page.wait_for_timeout(200)  # the pen stays down: a win now is a win mid-stroke
        won = page.evaluate("() => window.doodleLive.lastRound || null")
        page.mouse.up()
        if won:
            break
    assert won and won["outcome"] == "won" and won["midStroke"], won
    assert won["shown"] == f"Oh I know, it's {prompt}!"  # on the card over the canvas, for a short pause
    page.get_by_text(re.compile(rf"Score 1 of 1 · round 1: {re.escape(prompt)}: .* got it")).wait_for(timeout=30_000)
    card.get_by_role("button", name="Ready!").wait_for(timeout=30_000)  # the next round's card, after a pause
    assert re.search(r"Draw .+ in 90 seconds", card.inner_text())
    assert_no_errors(page)


def test_without_the_runtime_the_page_says_so_once_and_the_server_guesses(context, app_url, data_root: Path) -> None:
    context.route("**/app/static/vendor/**", lambda route: route.abort())
    page = context.new_page()
    page.goto(f"{app_url}Draw")
    canvas = page.locator(LIVE_CANVAS)
    canvas.wait_for(timeout=60_000)
    assert wait_until_live(page) is False
    note = page.locator("[data-testid='live-note']")
    assert note.count() == 1 and "Live guessing is off" in note.inner_text()
    drawing = next(read_ndjson(data_root / "quickdraw" / "raw" / "rainbow.ndjson"))["drawing"]
    box = canvas.bounding_box()
    for stroke in scaled_strokes(drawing, box["width"]):
        page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=2)
        page.mouse.up()
        page.wait_for_timeout(150)
    page.locator(".st-key-top_guess").wait_for(timeout=30_000)
    assert top_guess(page), "the server guessed"
    assert live_guess(page) == "" and page.get_by_text("Live guessing is off").count() == 1
    assert_no_errors(page)


def test_switching_the_model_reaches_the_browser(context, app_url, raw, predictors) -> None:
    from data_loader.raster import render_many

    page = live_page(context, f"{app_url}Draw")
    first = page.evaluate("() => window.doodleLive.modelId")
    assert first.startswith("quickdraw18-")
    page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").click()
    page.get_by_role("option", name="mnist (bundled)").click()
    page.wait_for_function("() => (window.doodleLive.modelId || '').startsWith('mnist-')", timeout=600_000,
                           polling=500)
    drawings = raw[0][:30]
    guessed = page.evaluate("(drawings) => window.doodleLive.classify(drawings, 'mnist')", drawings)
    expected = predictors["mnist"].probabilities(render_many(drawings, "mnist"))
    probabilities = np.array([item["probabilities"] for item in guessed])
    assert probabilities.shape == (30, 10) and np.abs(probabilities - expected).max() <= 1e-3
    box = page.locator(LIVE_CANVAS).bounding_box()
    page.mouse.move(box["x"] + 100, box["y"] + 60)
    page.mouse.down()
    for x, y in [(260, 60), (200, 160), (150, 300)]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=8)
    page.mouse.up()
    page.wait_for_function("() => window.doodleLive.last && /^[0-9]$/.test(window.doodleLive.last.ranking[0][0])",
                           timeout=10_000)
    assert live_guess(page)[0] in "0123456789"
    assert_no_errors(page)


def test_on_a_phone_the_whole_round_fits_on_one_screen(browser, app_url) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(f"{app_url}Game")
        page.get_by_role("button", name="Start a game").click(timeout=60_000)
        ready = page.get_by_role("button", name="Ready!")
        ready.wait_for(timeout=60_000)
        ready.tap()
        boxes = {name: page.locator(selector).bounding_box() for name, selector in {
            "prompt": ".bar .prompt", "timer": "[data-testid='live-timer']", "canvas": LIVE_CANVAS,
            "guess": "[data-testid='live-guess']", "clear": "button:has-text('Clear')",
            "skip": "button:has-text('Skip')"}.items()}
        for name, box in boxes.items():
            assert box and box["y"] >= 0 and box["y"] + box["height"] <= 844 and box["x"] + box["width"] <= 390, name
        assert boxes["timer"]["y"] + boxes["timer"]["height"] <= boxes["canvas"]["y"], "nothing covers the timer"
        assert_no_errors(page)
    finally:
        context.close()
