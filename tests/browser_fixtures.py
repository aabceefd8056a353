"""Fixtures of the browser tests: one app server per test module, on a free 127.0.0.1 port with an empty model
registry, and Debian's Chromium through Playwright. ``tests/conftest.py`` loads them as a plugin, so every
``tests/test_browser*.py`` module gets its own server (module scope) and stops it when the module ends."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.browser_session import launch_browser, streamlit_server

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, data_root: Path):
    """The app served for one test module, offline, with speech off and failure screenshots in test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    environment = {"DOODLE_MODELS_DIR": str(tmp_path_factory.mktemp("browser-models")), "DOODLE_OFFLINE": "1",
                   "DOODLE_DATA_DIR": str(data_root), "DOODLE_ARTIFACTS": str(ARTIFACTS), "DOODLE_SPEECH": "0"}
    with streamlit_server("app.py", environment) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium (never a downloaded browser), for one test module."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        chromium = launch_browser(playwright)
        yield chromium
        chromium.close()
