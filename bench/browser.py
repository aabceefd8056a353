"""Browser benchmark: from the end of a stroke to the updated guess on the Draw page, against the framework's
floor (a page holding only the same canvas that writes a fixed text after a stroke), in the same run.

Timing runs inside the page: from the pointer release to the moment a MutationObserver sees the top-guess
container appear, for the first stroke on a cleared canvas (the longest stroke of a real drawing from
``quickdraw/raw``), so that both pages are timed on exactly the same event.
"""

from __future__ import annotations

import statistics

from bench.browser_session import (
    clear_canvas,
    draw_stroke,
    launch_browser,
    open_canvas,
    scaled_strokes,
    streamlit_server,
)
from bench.timing import machine

WATCH = """() => {
  window.__timing = {up: null, seen: null, before: null};
  const read = () => { const el = document.querySelector('.st-key-top_guess'); return el ? el.innerText : ''; };
  window.addEventListener('pointerup', () => {
    if (window.__timing.up === null) { window.__timing.up = performance.now(); window.__timing.before = read(); }
  }, true);
  new MutationObserver(() => {
    const t = window.__timing;
    if (t.up !== null && t.seen === null && read() !== '' && read() !== t.before) t.seen = performance.now();
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def _measure(url: str, drawings: list, strokes_wanted: int) -> list[float]:
    """Draw the first stroke of each drawing on a cleared canvas and time it until the guess appears."""
    from playwright.sync_api import sync_playwright

    samples: list[float] = []
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        page = browser.new_page(viewport={"width": 1300, "height": 950})
        canvas = open_canvas(page, url)
        page.wait_for_timeout(1000)
        page.evaluate(WATCH)
        for drawing in drawings[: strokes_wanted + 1]:
            page.evaluate("() => { window.__timing.up = null; window.__timing.seen = null; }")
            draw_stroke(page, canvas, max(scaled_strokes(drawing, 360), key=len))
            page.wait_for_function("() => window.__timing.seen !== null", timeout=20_000, polling="raf")
            timing = page.evaluate("() => window.__timing")
            samples.append(timing["seen"] - timing["up"])
            clear_canvas(page)
            page.locator(".st-key-top_guess").wait_for(state="detached", timeout=20_000)
            page.wait_for_timeout(300)
        browser.close()
    return samples[1:]  # The first stroke also warms the page up.


def run(strokes: int = 30) -> dict:
    from data_loader import data_dir
    from data_loader.quickdraw import read_ndjson

    raw = data_dir() / "quickdraw" / "raw"
    drawings = [record["drawing"] for path in sorted(raw.glob("*.ndjson")) for record in list(read_ndjson(path))[:2]]
    with streamlit_server("bench/floor_app.py") as url:
        floor = _measure(url, drawings, strokes)
    with streamlit_server("app.py") as url:
        app = _measure(f"{url}Draw", drawings, strokes)
    floor_median, app_median = statistics.median(floor), statistics.median(app)
    return {"floor_median_ms": round(floor_median), "app_median_ms": round(app_median),
            "overhead_ms": round(app_median - floor_median), "floor_strokes": len(floor), "app_strokes": len(app),
            "app_p95_ms": round(sorted(app)[int(0.95 * (len(app) - 1))]), "target_overhead_ms": 100,
            "machine": machine()}


def table(figures: dict) -> list[tuple[str, str]]:
    return [("framework floor (canvas + fixed text)", f"median {figures['floor_median_ms']} ms"),
            ("Draw page: stroke end to new guess",
             f"median {figures['app_median_ms']} ms, p95 {figures['app_p95_ms']} ms"),
            ("overhead over the floor", f"{figures['overhead_ms']} ms (target at most 100 ms)")]
