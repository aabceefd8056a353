"""The two lesson pages in Debian's Chromium at desktop (1400x1000) and phone (390x844) size, with screenshots.

The screenshots go to test-artifacts/ (kept out of the repository): lab-*.png, explorer-bitmaps-*.png,
explorer-replay-*.png and explorer-neighbours-*.png, one per size.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bench.browser_session import replay
from tests.browser_fixtures import ARTIFACTS
from tests.drawings import raw_drawings

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
SIZES = [(1400, 1000), (390, 844)]


def open_page(browser, url: str, size: tuple[int, int]):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    page.goto(url)
    page.locator("h1").first.wait_for(timeout=60_000)
    return context, page


def settle(page) -> None:
    page.wait_for_timeout(800)
    page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden", timeout=120_000)


def check(page, size: tuple[int, int], name: str) -> None:
    """No error on the page, nothing wider than the screen, and a screenshot of the whole page at this width.

    Streamlit scrolls inside its main block, so the window is made as tall as the page for the screenshot.
    """
    height = page.evaluate("""() => {
        const block = document.querySelector('[data-testid="stMainBlockContainer"]');
        return block ? block.getBoundingClientRect().top + block.scrollHeight : document.body.scrollHeight;
    }""")
    page.set_viewport_size({"width": size[0], "height": max(size[1], min(int(height) + 60, 6000))})
    page.wait_for_timeout(700)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{size[0]}x{size[1]}.png"), full_page=True)
    page.set_viewport_size({"width": size[0], "height": size[1]})
    assert page.locator("[data-testid='stException']").count() == 0, "a Python exception reached the page"
    assert "Traceback" not in page.inner_text("body")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= size[0] + 1, f"the page is {width}px wide on a {size[0]}px screen"
    right = page.evaluate("Math.max(0, ...[...document.querySelectorAll('[data-testid=stMain] img, "
                          "[data-testid=stMain] canvas')].map(element => element.getBoundingClientRect().right))")
    assert right <= size[0] + 1, f"a picture reaches {right:.0f}px on a {size[0]}px screen"


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_the_lab_page_shows_the_bundled_lab(browser, app_url, size) -> None:
    context, page = open_page(browser, f"{app_url}Overfitting_lab", size)
    try:
        page.locator(".js-plotly-plot").nth(1).wait_for(timeout=120_000)
        settle(page)
        assert page.get_by_text("Validation accuracy, without augmentation or dropout").count() == 1
        assert page.get_by_text("Validation accuracy, with augmentation and dropout").count() == 1
        assert page.get_by_role("button", name="Run both trainings").count() == 1
        check(page, size, "lab")
    except Exception:
        page.screenshot(path=str(ARTIFACTS / f"lab-failed-{size[0]}x{size[1]}.png"))
        raise
    finally:
        context.close()


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_the_explorer_browses_replays_and_finds_neighbours(browser, app_url, data_root: Path, size) -> None:
    context, page = open_page(browser, f"{app_url}Data_explorer", size)
    try:
        page.locator("[data-testid='stImage'] img").first.wait_for(timeout=60_000)
        settle(page)
        check(page, size, "explorer-bitmaps")

        page.get_by_text("Strokes, replayed").click()
        status = page.locator(".replay-status")
        status.wait_for(timeout=60_000)
        first = status.inner_text()
        time.sleep(1.5)
        assert status.inner_text() != first, "the replay moves on with the drawing's timing"
        settle(page)
        check(page, size, "explorer-replay")

        page.get_by_text("Most similar to your drawing").click()
        canvas = page.locator(".st-key-explorer_canvas canvas.upper-canvas")
        canvas.wait_for(state="visible", timeout=60_000)
        replay(page, canvas, raw_drawings(data_root, "rainbow", 1)[0])
        page.get_by_text("The network guesses").wait_for(timeout=180_000)
        settle(page)
        assert page.locator("figure img").count() == 12
        page.locator("figure img").last.scroll_into_view_if_needed()
        check(page, size, "explorer-neighbours")
    except Exception:
        page.screenshot(path=str(ARTIFACTS / f"explorer-failed-{size[0]}x{size[1]}.png"))
        raise
    finally:
        context.close()
