"""The teaching pages in Debian's Chromium at desktop (1400x1000) and phone (390x844) size.

Each test drives the real app through Playwright and saves full-length screenshots under test-artifacts/
(git-ignored) named ``teaching-<what>-<size>.png``, for a person to look at; the assertions check what
the screenshots should show: one layer at a time, every row of the anatomy table, nothing wider than
a phone, and a sidebar that closes after a page link is tapped on a phone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.browser_session import replay
from tests.browser_fixtures import ARTIFACTS
from tests.drawings import raw_drawings

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
SIZES = {"desktop": (1400, 1000), "phone": (390, 844)}


def open_page(browser, size: str):
    width, height = SIZES[size]
    phone = size == "phone"
    context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=phone, has_touch=phone)
    return context, context.new_page()


def settle(page) -> None:
    """Wait until the app has finished running its script (and drawn what it ran)."""
    page.wait_for_timeout(600)
    page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden", timeout=120_000)
    page.wait_for_timeout(400)


def screenshot(page, name: str, size: str) -> None:
    """The whole page: Streamlit scrolls inside its own frame, so the window is made as tall as the content."""
    width, height = SIZES[size]
    full = page.evaluate("Math.max(...[...document.querySelectorAll("
                         "'[data-testid=stMain], [data-testid=stAppViewContainer]')].map(e => e.scrollHeight))")
    page.set_viewport_size({"width": width, "height": max(height, full)})
    page.wait_for_timeout(600)
    page.screenshot(path=str(ARTIFACTS / f"teaching-{name}-{size}.png"))
    page.set_viewport_size({"width": width, "height": height})


def assert_fits(page, size: str) -> None:
    """Nothing on the page is wider than the window, and no Python error reached it."""
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[size][0] + 1, "wider than the window"
    assert page.locator("[data-testid='stException']").count() == 0
    assert "Traceback" not in page.inner_text("body")


SIDEBAR_COVERS = """() => {
  const box = document.querySelector('[data-testid=stSidebar]').getBoundingClientRect();
  return box.right > 1 && box.width > 1;
}"""


def sidebar_covers_page(page) -> bool:
    return page.evaluate(f"({SIDEBAR_COVERS})()")


def wait_for_text(page, text: str, timeout: float = 60_000) -> None:
    page.get_by_text(text).first.wait_for(timeout=timeout)


def body(page) -> str:
    return page.inner_text("body")


@pytest.mark.parametrize("size", SIZES)
def test_inside_the_network_one_layer_at_a_time(browser, app_url, data_root: Path, size: str) -> None:
    context, page = open_page(browser, size)
    try:
        page.goto(f"{app_url}Inside_the_network")
        canvas = page.locator(".st-key-inside_canvas canvas").last
        canvas.wait_for(timeout=120_000)
        page.wait_for_timeout(1000)
        replay(page, canvas, raw_drawings(data_root, "fish", 1)[0])
        page.get_by_text("The network's guess").wait_for(timeout=120_000)
        settle(page)
        assert "layer 1 of 20: output 28×28×32" in body(page)
        assert "channels grow from 1 to 32" in body(page)
        for number in range(2, 9):  # block1_conv1 ... block2_conv1 (layer 8), the first layer with 64 maps
            page.get_by_role("button", name="▶").click()
            wait_for_text(page, f"layer {number} of 20")
        settle(page)
        assert "block2_conv1 (Conv2D), layer 8 of 20: output 14×14×64" in body(page)
        assert "Showing 32 of 64 maps" in body(page)
        page.get_by_text("Show all 64 maps", exact=True).click()
        wait_for_text(page, "Showing 64 of 64 maps")
        page.get_by_role("button", name="◀").click()
        wait_for_text(page, "layer 7 of 20")
        settle(page)
        assert "resolution halves (28×28 → 14×14)" in body(page), "block1_pool halves the resolution"
        screenshot(page, "activations", size)
        assert_fits(page, size)

        page.get_by_role("tab", name="Filters").click()
        page.get_by_role("button", name="Find what 8 of its filters respond to").click()
        page.get_by_text("Each square is a drawing made from scratch").wait_for(timeout=120_000)
        settle(page)
        screenshot(page, "filters", size)
        assert_fits(page, size)

        page.get_by_role("tab", name="Grad-CAM").click()
        settle(page)
        assert page.get_by_role("slider", name="Heat opacity").count() == 1
        assert page.locator(".stPlotlyChart", has_text="how much it raises the class").count() == 1, "a colour key"
        screenshot(page, "gradcam", size)
        assert_fits(page, size)

        page.get_by_role("tab", name="Convolution playground").click()
        settle(page)
        kernel = page.get_by_label("Kernel: 3 rows of 3 numbers (edit it)")
        kernel.fill("0 1 0\n1 -4 1\n0 1 0")
        kernel.blur()
        wait_for_text(page, "Your edited edge detector kernel")
        settle(page)
        assert "× -4 =" in body(page) and "sum of the nine products" in body(page)
        screenshot(page, "playground", size)
        assert_fits(page, size)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / f"teaching-failed-{page.url.rsplit('/', 1)[-1] or 'home'}.png"))
        raise
    finally:
        context.close()


@pytest.mark.parametrize("size", SIZES)
def test_model_anatomy_shows_every_layer_and_whole_formulas(browser, app_url, size: str) -> None:
    context, page = open_page(browser, size)
    try:
        page.goto(f"{app_url}Model_anatomy")
        page.get_by_text("in the network's order").wait_for(timeout=120_000)
        settle(page)
        table = page.locator("[data-testid='stTable']").first
        table.locator("tr").nth(24).wait_for(timeout=60_000)
        page.get_by_text("Where each network keeps its parameters").wait_for(timeout=120_000)
        settle(page)
        assert table.locator("tr").count() == 1 + 24, "a heading and all 24 layers of the bundled doodle network"
        assert "moving mean and variance non-trainable" in table.inner_text()
        assert "147,456" in table.inner_text() and "batch-norm moving statistics" in body(page)
        assert "have no bias because a batch normalisation follows each one" in body(page)
        if size == "phone":
            scroll = table.locator("table").evaluate("e => [e.parentElement.scrollWidth, e.parentElement.clientWidth]")
            assert scroll[0] > scroll[1], "the wide table scrolls sideways inside its frame"
        screenshot(page, "anatomy", size)
        assert_fits(page, size)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / f"teaching-failed-{page.url.rsplit('/', 1)[-1] or 'home'}.png"))
        raise
    finally:
        context.close()


def test_on_a_phone_the_sidebar_closes_after_a_page_link(browser, app_url) -> None:
    context, page = open_page(browser, "phone")
    try:
        page.goto(app_url)
        page.locator("h1").first.wait_for(timeout=120_000)
        settle(page)
        for link in page.locator("[data-testid='stMain'] [data-testid='stPageLink-NavLink']").all():
            assert link.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), "a page link's text is cut"
        screenshot(page, "home", "phone")
        sidebar = page.locator("[data-testid='stSidebar']")
        assert not sidebar_covers_page(page), "a phone starts with the sidebar closed"
        page.locator("[data-testid='stExpandSidebarButton']").click()
        page.wait_for_function(f"({SIDEBAR_COVERS})()", timeout=10_000)
        sidebar.get_by_role("link", name="Model anatomy").click()
        page.get_by_role("heading", name="Model anatomy").first.wait_for(timeout=120_000)
        page.wait_for_function(f"!({SIDEBAR_COVERS})()", timeout=10_000)
        settle(page)
        assert not sidebar_covers_page(page), "the sidebar no longer lies over the page"
        screenshot(page, "after-navigation", "phone")
    except Exception:
        page.screenshot(path=str(ARTIFACTS / f"teaching-failed-{page.url.rsplit('/', 1)[-1] or 'home'}.png"))
        raise
    finally:
        context.close()


@pytest.mark.parametrize("path", ["", "Draw", "Game", "Train", "Models"])
def test_the_other_pages_fit_a_phone(browser, app_url, path: str) -> None:
    context, page = open_page(browser, "phone")
    try:
        page.goto(f"{app_url}{path}")
        page.locator("h1").first.wait_for(timeout=120_000)
        settle(page)
        screenshot(page, f"page-{path or 'home'}", "phone")
        assert_fits(page, "phone")
    except Exception:
        page.screenshot(path=str(ARTIFACTS / f"teaching-failed-{page.url.rsplit('/', 1)[-1] or 'home'}.png"))
        raise
    finally:
        context.close()


@pytest.fixture(scope="module")
def short_run(data_root: Path):
    """The last progress report of a real two-epoch run on two classes: the case of a class's first run."""
    from model.config import TrainConfig
    from model.train import TrainingControl, train

    reports = []
    config = TrainConfig(classes=["apple", "eye"], per_class=150, architecture="book", epochs=2, batch_size=8,
                         data_dir=str(data_root), precision="float32")
    result = train(config, TrainingControl(reports.append, batch_interval=1))
    return result.history, reports[-1].batch_history


@pytest.mark.parametrize("size", SIZES)
def test_short_run_curves_are_readable(browser, short_run, size: str) -> None:
    """The Train page's two charts for a short run, drawn by plotly.js in Chromium at the page's widths."""
    from ui.charts import history_chart

    history, points = short_run
    figures = [history_chart(history, metric, title, points) for metric, title in (("loss", "Loss"),
                                                                                   ("accuracy", "Accuracy"))]
    charts = "".join('<div class="chart">' + figure.to_html(full_html=False, include_plotlyjs=index == 0,
                                                            config={"responsive": True}) + "</div>"
                     for index, figure in enumerate(figures))
    style = ("<style>body{margin:12px;font-family:sans-serif} .row{display:flex;flex-wrap:wrap;gap:16px}"
             ".chart{flex:1 1 320px;min-width:0}</style>")
    context, page = open_page(browser, size)
    try:
        viewport = '<meta name="viewport" content="width=device-width, initial-scale=1">'  # as Streamlit's page
        page.set_content(f"<html><head>{viewport}{style}</head><body><div class='row'>{charts}</div></body></html>")
        page.locator(".main-svg").first.wait_for(timeout=30_000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / f"teaching-train-curves-{size}.png"), full_page=True)
        text = page.inner_text("body")
        assert "training (within epochs)" in text and "validation (end of each epoch)" in text
        assert "100%" in text and "0%" in text, "accuracy on a 0-100% axis"
        for chart in page.locator(".chart").all():
            legend = chart.locator(".legend").bounding_box()
            plot = chart.locator(".nsewdrag").first.bounding_box()
            assert legend["y"] >= plot["y"] + plot["height"], "the legend sits below the plot, not over it"
            assert legend["x"] + legend["width"] <= SIZES[size][0] + 1, "the legend fits the screen"
        assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[size][0] + 1
    finally:
        context.close()
