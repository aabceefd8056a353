"""A room arriving at a cold server: every page opened at once in its own browser context, while the server
is still importing TensorFlow. TensorFlow's imports are not safe in two threads at once, so only the warm-up
thread may import it; every page draws its title, says "warming up" and waits (ui/warmup.py)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest

from bench.browser_session import streamlit_server
from tests.browser_fixtures import ARTIFACTS

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")

PAGES = ["", "Draw", "Inside_the_network", "Model_anatomy", "Game", "Train", "Models", "Overfitting_lab",
         "Data_explorer"]


def test_every_page_opened_at_once_on_a_cold_server_loads_without_an_error(browser, tmp_path: Path, data_root: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    monkeypatch.setenv("DOODLE_ARTIFACTS", str(ARTIFACTS))  # Where streamlit_server writes the server's log.
    environment = {"DOODLE_MODELS_DIR": str(tmp_path / "models"), "DOODLE_OFFLINE": "1",
                   "DOODLE_DATA_DIR": str(data_root), "DOODLE_ARTIFACTS": str(ARTIFACTS), "DOODLE_SPEECH": "0"}
    contexts = []
    with streamlit_server("app.py", environment) as url:
        log = ARTIFACTS / f"streamlit-{urlparse(url).port}.log"
        try:
            pages = []
            for path in PAGES:  # Each goto returns once the page's HTML has loaded; its script runs after.
                contexts.append(browser.new_context(viewport={"width": 1200, "height": 900}))
                pages.append(contexts[-1].new_page())
                pages[-1].goto(f"{url}{path}")
            for page in pages:
                page.locator("h1").first.wait_for(timeout=120_000)
            for path, page in zip(PAGES, pages, strict=True):
                page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden", timeout=180_000)
                page.get_by_text("Warming up").wait_for(state="detached", timeout=180_000)
                page.wait_for_timeout(500)
                assert page.locator("[data-testid='stException']").count() == 0, f"an exception on /{path}"
                assert "Traceback" not in page.inner_text("body"), f"a traceback on /{path}"
            assert pages[0].get_by_text("Model in use").count() == 1, "Home shows the model once warm"
            assert pages[1].locator(".st-key-canvas [data-testid='live-canvas']").count() == 1, "Draw has its canvas"
        except Exception:
            for path, page in zip(PAGES, [context.pages[0] for context in contexts], strict=False):
                page.screenshot(path=str(ARTIFACTS / f"cold-start-{path or 'home'}.png"), full_page=True)
            raise
        finally:
            for context in contexts:
                context.close()
    text = log.read_text(errors="replace")
    assert "Traceback" not in text and "Error" not in text, text[-3000:]
