"""Warm-start benchmark: from ``streamlit run`` to (a) the first page with content and (b) the first guess on
the Draw page, for a freshly started server (cold) and for a visitor who comes once it has warmed up (warm),
against the framework's floor (``bench/floor_app.py``: the bare canvas page) started the same way in the
same run.

Each server start is timed from the moment the process is launched: when its health check answers, when a
browser sees the Home page's title (and whether it says "warming up" then), when the Home page shows the
model in use, and when the Draw page shows a guess for a real stroke drawn as soon as its canvas appears.
The starts are repeated (``starts``): the first one also pays for cold disk caches.
"""

from __future__ import annotations

import statistics
import tempfile
import time

from bench.browser_session import draw_stroke, launch_browser, open_canvas, scaled_strokes, streamlit_server
from bench.timing import machine


def _stroke(data_dir: str | None) -> list:
    from data_loader import data_dir as resolve
    from data_loader.quickdraw import read_ndjson

    drawing = next(iter(read_ndjson(resolve(data_dir) / "quickdraw" / "raw" / "apple.ndjson")))["drawing"]
    return max(scaled_strokes(drawing, 360), key=len)


def _first_guess(browser, url: str, stroke: list, canvas_seconds: list | None = None) -> float:
    """Open the Draw page, draw one stroke as soon as the canvas shows, wait for the guess; seconds taken
    (and, into ``canvas_seconds``, the seconds until the canvas showed)."""
    started = time.monotonic()
    context = browser.new_context(viewport={"width": 1300, "height": 950})
    page = context.new_page()
    canvas = open_canvas(page, url, timeout=180_000)
    if canvas_seconds is not None:
        canvas_seconds.append(time.monotonic() - started)
    draw_stroke(page, canvas, stroke)
    page.locator(".st-key-top_guess").wait_for(state="visible", timeout=180_000)
    context.close()
    return time.monotonic() - started


def _home(browser, url: str) -> dict:
    """Open the Home page: seconds to its title, to its state (the "warming up" notice or the model card),
    whether that state was "warming up", and seconds to the model card."""
    started = time.monotonic()
    context = browser.new_context(viewport={"width": 1300, "height": 950})
    page = context.new_page()
    page.goto(url)
    page.locator("h1").filter(has_text="Doodle Lab").wait_for(timeout=180_000)
    title = time.monotonic() - started
    page.get_by_text("Warming up").or_(page.get_by_text("Model in use")).first.wait_for(timeout=180_000)
    state = time.monotonic() - started
    warming = page.get_by_text("Warming up").count() > 0
    page.get_by_text("Model in use").wait_for(timeout=180_000)
    ready = time.monotonic() - started
    context.close()
    return {"title_s": title, "state_s": state, "warming_up_shown": warming, "model_card_s": ready}


def _start_app(browser, stroke: list, environment: dict) -> dict:
    launched = time.monotonic()
    with streamlit_server("app.py", environment, timeout=180) as url:
        health = time.monotonic() - launched
        home = _home(browser, url)
        first_content = health + home["title_s"]
        guess_cold = _first_guess(browser, f"{url}Draw", stroke)
        first_guess = time.monotonic() - launched
        time.sleep(20)  # Let the background warm-up finish, as a server does before the class arrives.
        warm_home = _home(browser, url)
        warm_guess = _first_guess(browser, f"{url}Draw", stroke)
    return {"health_s": health, "first_content_s": first_content, "title_after_health_s": home["title_s"],
            "state_after_health_s": home["state_s"],
            "warming_up_shown": home["warming_up_shown"], "model_card_s": home["model_card_s"],
            "first_guess_s": first_guess, "draw_page_to_guess_cold_s": guess_cold,
            "warm_visit_title_s": warm_home["title_s"], "warm_visit_model_card_s": warm_home["model_card_s"],
            "warm_visit_draw_to_guess_s": warm_guess}


def _start_floor(browser, stroke: list, environment: dict) -> dict:
    launched = time.monotonic()
    with streamlit_server("bench/floor_app.py", environment, timeout=180) as url:
        health = time.monotonic() - launched
        canvas: list[float] = []
        guess = _first_guess(browser, url, stroke, canvas)
        return {"health_s": health, "first_content_s": health + canvas[0], "content_after_health_s": canvas[0],
                "first_guess_s": time.monotonic() - launched, "page_to_guess_s": guess}


def run(data_dir: str | None = None, starts: int = 2) -> dict:
    from playwright.sync_api import sync_playwright

    stroke = _stroke(data_dir)
    environment = {"DOODLE_MODELS_DIR": tempfile.mkdtemp(prefix="bench-warm-"), "DOODLE_OFFLINE": "1"}
    if data_dir:
        environment["DOODLE_DATA_DIR"] = data_dir
    app, floor = [], []
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        for _ in range(starts):
            app.append(_start_app(browser, stroke, environment))
            floor.append(_start_floor(browser, stroke, environment))
        browser.close()
    rounded = [{key: round(value, 2) if isinstance(value, float) else value for key, value in item.items()}
               for item in app]
    floor_guess = statistics.median(item["first_guess_s"] for item in floor)
    return {"app_starts": rounded, "floor_starts": [{key: round(value, 2) for key, value in item.items()}
                                                    for item in floor],
            "cold": rounded[0], "warm_start": rounded[-1],
            "first_guess_vs_floor": round(rounded[-1]["first_guess_s"] / floor_guess, 2),
            "target_title_after_health_s": 3, "machine": machine()}


def table(figures: dict) -> list[tuple[str, str]]:
    rows = []
    for label, item in (("first start (cold caches)", figures["cold"]), ("later start", figures["warm_start"])):
        rows += [
            (f"{label}: health check answers", f"{item['health_s']:.1f} s after streamlit run"),
            (f"{label}: (a) Home title", f"{item['first_content_s']:.1f} s after streamlit run, "
                                         f"{item['title_after_health_s']:.1f} s after health (target <= 3 s); "
                                         f"then {'the warming-up notice' if item['warming_up_shown'] else 'the model'} "
                                         f"{item['state_after_health_s']:.1f} s after health"),
            (f"{label}: Home model card", f"{item['health_s'] + item['model_card_s']:.1f} s after streamlit run"),
            (f"{label}: (b) first guess on Draw", f"{item['first_guess_s']:.1f} s after streamlit run "
                                                  f"({item['draw_page_to_guess_cold_s']:.1f} s from opening Draw)"),
            (f"{label}: warm visit", f"title {item['warm_visit_title_s']:.1f} s, model card "
                                     f"{item['warm_visit_model_card_s']:.1f} s, Draw to guess "
                                     f"{item['warm_visit_draw_to_guess_s']:.1f} s"),
        ]
    floor = figures["floor_starts"][-1]
    rows.append(("floor page (bare canvas): first content", f"{floor['first_content_s']:.1f} s after streamlit run, "
                                                            f"{floor['content_after_health_s']:.1f} s after health"))
    rows.append(("floor page (bare canvas): first guess", f"{floor['first_guess_s']:.1f} s after streamlit run; "
                                                          f"app / floor = {figures['first_guess_vs_floor']}x"))
    return rows
