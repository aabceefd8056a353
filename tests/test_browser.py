"""End-to-end tests in Debian's Chromium through Playwright: real strokes on the real canvas of the running app.

Each test module starts the app on a free 127.0.0.1 port with an empty model registry and stops it at
the end. A failing test leaves a screenshot in test-artifacts/.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from bench.browser_session import (
    LIVE_CANVAS,
    clear_canvas,
    open_canvas,
    replay,
    start_game,
    top_guess,
)
from data_loader.quickdraw import read_ndjson
from tests.browser_fixtures import ARTIFACTS

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
CATEGORIES = ["airplane", "apple", "banana", "bicycle", "book", "clock", "diamond", "eye", "fish", "flower", "house",
              "rainbow", "cat", "train"]


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def wait_for_guess(page, previous: str = "", timeout: float = 20) -> str:
    """Wait until the top guess shows and differs from ``previous``; return its text."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = top_guess(page)
        if text and text != previous and not page.locator("[data-stale='true'] .st-key-top_guess").count():
            return text
        time.sleep(0.1)
    return top_guess(page)


def assert_no_errors(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0, "a Python exception reached the page"
    assert "Traceback" not in page.inner_text("body")


def drawings_of(data_root: Path, category: str, count: int) -> list[list]:
    records = list(read_ndjson(data_root / "quickdraw/raw" / f"{category}.ndjson"))
    return [record["drawing"] for record in records[:count]]


def watch_position(canvas) -> None:
    """Record the canvas' place on the page at every frame from now on while it takes strokes (see ``positions``).

    A game's canvas takes strokes while its card is hidden: from Ready until the round's verdict. Between rounds
    the page may move it (the next prompt can take two lines); under the pen it must not move.
    """
    canvas.evaluate("""(canvas) => {
      window.canvasPositions = [];
      const card = canvas.parentElement.querySelector("[data-testid='live-card']");
      const watch = () => {
        const box = canvas.getBoundingClientRect();
        if (!card || card.hidden)
          window.canvasPositions.push([Math.round(box.left + window.scrollX), Math.round(box.top + window.scrollY)]);
        if (canvas.isConnected) requestAnimationFrame(watch);
      };
      requestAnimationFrame(watch);
    }""")


def positions(page) -> list[tuple[int, int]]:
    """The distinct places the watched canvas has had, in order: one while the page holds still under the pen."""
    seen = [tuple(place) for place in page.evaluate("() => window.canvasPositions")]
    assert len(seen) > 10, "the watch ran for a few frames at least"
    return [place for number, place in enumerate(seen) if number == 0 or place != seen[number - 1]]


def test_replayed_real_drawings_are_guessed_live(page, app_url, data_root: Path) -> None:
    canvas = open_canvas(page, f"{app_url}Draw")
    watch_position(canvas)  # Every stroke reruns the page's fragment; the canvas must not move under the pen.
    hits, seen = 0, []
    for number, category in enumerate(CATEGORIES * 2):
        drawing = drawings_of(data_root, category, 2)[number // len(CATEGORIES)]
        replay(page, canvas, drawing)
        guess = wait_for_guess(page)
        assert guess, f"no guess after drawing a {category}"
        seen.append((category, guess.splitlines()[0]))
        hits += guess.startswith(category)
        clear_canvas(page)
        page.locator(".st-key-top_guess").wait_for(state="detached", timeout=20_000)
    assert_no_errors(page)
    assert hits >= 0.6 * len(seen), f"{hits} of {len(seen)} right: {seen}"
    assert len(positions(page)) == 1, f"the canvas moved while strokes went down: {positions(page)}"


def test_the_guess_updates_after_every_stroke_and_clearing_resets_it(page, app_url, data_root: Path) -> None:
    canvas = open_canvas(page, f"{app_url}Draw")
    assert page.get_by_text("Start drawing").count() == 1 and top_guess(page) == ""
    drawing = drawings_of(data_root, "house", 1)[0]
    replay(page, canvas, drawing[:1])
    first = wait_for_guess(page)
    assert first
    replay(page, canvas, drawing[1:])
    assert wait_for_guess(page, previous=first) != first or first.startswith("house")
    bars = page.locator("progress")  # the top five: labels and native bars in one block, the best first
    bars.nth(4).wait_for(timeout=20_000)
    values = [float(bar.get_attribute("value")) for bar in bars.all()]
    assert len(values) == 5 and values == sorted(values, reverse=True), values
    assert page.locator("[data-testid='stImage'] img").get_attribute("src").startswith("data:image/png;base64,")
    clear_canvas(page)
    page.locator(".st-key-top_guess").wait_for(state="detached", timeout=20_000)
    assert page.get_by_text("Start drawing").count() == 1
    assert_no_errors(page)


@pytest.mark.parametrize("path", ["", "Draw", "Inside_the_network", "Model_anatomy", "Game", "Train", "Models",
                                  "Overfitting_lab", "Data_explorer"])
def test_every_page_loads_without_an_error(page, app_url, path: str) -> None:
    page.goto(f"{app_url}{path}")
    page.locator("h1").first.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden", timeout=60_000)
    assert_no_errors(page)


def test_eight_people_drawing_at_once_get_their_own_guesses(browser, app_url, data_root: Path) -> None:
    categories = ["apple", "rainbow", "eye", "clock", "fish", "house", "book", "diamond"]
    contexts = [browser.new_context(viewport={"width": 1200, "height": 900}) for _ in categories]
    try:
        pages = [context.new_page() for context in contexts]
        canvases = [open_canvas(page, f"{app_url}Draw") for page in pages]
        for page, canvas, category in zip(pages, canvases, categories, strict=True):
            replay(page, canvas, drawings_of(data_root, category, 1)[0], pause=0)
        guesses = [wait_for_guess(page, timeout=60) for page in pages]
        for page in pages:
            assert_no_errors(page)
        right = sum(guess.startswith(category) for guess, category in zip(guesses, categories, strict=True))
        assert all(guesses), guesses
        assert right >= 6, list(zip(categories, guesses, strict=True))
    finally:
        for context in contexts:
            context.close()


def test_a_game_round_is_won_by_drawing_the_prompt(page, app_url, data_root: Path) -> None:
    from model.predict import Predictor
    from model.registry import BUNDLED_DIR

    predictor = Predictor.load(str(BUNDLED_DIR / "quickdraw18"))
    recognised = {}
    for category in predictor.class_names:  # Chosen before the clock starts, so that the round cannot time out.
        recognised[category] = next(item for item in drawings_of(data_root, category, 14)
                                    if predictor.classify_strokes(item, top_k=1)[1][0][0] == category)
    card = start_game(page, app_url, 90)
    prompt = re.search(r"Draw (.+) in 90 seconds", card.inner_text()).group(1).strip()
    drawing = recognised[prompt]
    canvas = page.locator(f".st-key-game_canvas {LIVE_CANVAS}")
    watch_position(canvas)  # Ready reruns the page just as the pen goes down: the canvas must stay where it is.
    card.get_by_role("button", name="Ready!").click()
    verdict = page.get_by_text(re.compile(rf"round 1: {re.escape(prompt)}: ✅ got it"))
    # The round may be won before the last stroke; the canvas then takes no more ink until the next card.
    replay(page, canvas, drawing, pause=0.3, until=lambda: verdict.count() > 0 or card.is_visible())
    verdict.first.wait_for(timeout=30_000)
    assert_no_errors(page)
    assert len(positions(page)) == 1, f"the canvas moved during the round: {positions(page)}"


def test_retraining_in_the_browser_switches_the_draw_page_to_the_new_model(page, app_url, data_root: Path) -> None:
    page.goto(f"{app_url}Train")
    page.get_by_text("Drawings per class").wait_for(timeout=60_000)
    for label in ("Drawings per class", "Epochs"):
        slider = page.get_by_role("slider", name=label)
        slider.focus()
        slider.press("Home")
        page.wait_for_timeout(700)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Test top-1").wait_for(timeout=300_000)
    name_box = page.get_by_label("Save as")
    name_box.fill("browser-trained")
    page.get_by_role("button", name="Save and use it").click()
    page.get_by_text("Saved browser-trained").wait_for(timeout=60_000)
    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.get_by_role("link", name="Draw").click()  # The same session, through the sidebar's link.
    canvas = page.locator(f".st-key-canvas {LIVE_CANVAS}")
    canvas.wait_for(state="visible", timeout=60_000)
    assert "cat, fish, house" in page.inner_text("body")
    replay(page, canvas, drawings_of(data_root, "fish", 1)[0])
    assert wait_for_guess(page).split("\n")[0] in {"cat", "fish", "house"}
    assert_no_errors(page)


def test_a_training_in_one_context_while_another_keeps_guessing(browser, app_url, data_root: Path) -> None:
    """The training runs in a worker process: another person's Draw page keeps guessing meanwhile, and the
    trainer finds their job again after reloading the page."""
    trainer, drawer = (browser.new_context(viewport={"width": 1300, "height": 950}) for _ in range(2))
    try:
        train_page = trainer.new_page()
        train_page.goto(f"{app_url}Train")
        epochs = train_page.get_by_role("slider", name="Epochs")
        epochs.wait_for(timeout=60_000)
        epochs.focus()
        epochs.press("Home")  # One epoch of 1000 cats, fish and houses (the page's defaults) on the doodle network.
        train_page.wait_for_timeout(700)
        train_page.get_by_role("button", name="Train", exact=True).click()
        train_page.get_by_text(re.compile(r"epoch 1 of 1|Preparing the data|Waiting in the queue")).first.wait_for(
            timeout=60_000)

        draw_page = drawer.new_page()
        canvas = open_canvas(draw_page, f"{app_url}Draw")
        guesses = []
        for category in ("apple", "rainbow", "eye"):
            replay(draw_page, canvas, drawings_of(data_root, category, 1)[0], pause=0)
            guesses.append(wait_for_guess(draw_page, timeout=30))
            if len(guesses) == 1:  # The first guess came while the training was still going on.
                running_meanwhile = train_page.get_by_text("Test top-1").count() == 0
            clear_canvas(draw_page)
            draw_page.locator(".st-key-top_guess").wait_for(state="detached", timeout=20_000)
        assert all(guesses), guesses
        assert sum(guess.startswith(category) for guess, category in zip(guesses, ("apple", "rainbow", "eye"),
                                                                          strict=True)) >= 2, guesses
        assert running_meanwhile, "the training was still running while the other page guessed"
        assert_no_errors(draw_page)

        train_page.get_by_text("Test top-1").wait_for(timeout=300_000)
        train_page.reload()
        train_page.get_by_text("Test top-1").wait_for(timeout=60_000)  # The same person's job, found again.
        assert_no_errors(train_page)
        train_page.get_by_role("button", name="Start over").click()
        train_page.get_by_role("button", name="Train", exact=True).wait_for(timeout=30_000)
    finally:
        trainer.close()
        drawer.close()
