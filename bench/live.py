"""Live-guessing benchmark: the in-page latency of the browser's guesses, the server's CPU per stroke in a game
round on both paths, and the ONNX exports the browser loads.

- Latency: on the Draw page, real drawings from ``quickdraw/raw`` are drawn with the mouse; the page records
  (``performance.now``) the time from the oldest pointer event not yet guessed to the guess on screen
  (``window.doodleLive.latencies``). Target: p95 at most 30 ms.
- Server CPU per stroke: the Streamlit server's own CPU time (from /proc) while a player draws in a game round,
  divided by the strokes drawn, with live guessing (the browser guesses; the server hears nothing until the
  round ends) and on the server path (the runtime's files blocked: each stroke goes to the server, as before
  this component). The round's confidence is set to 0.95 and the drawings are of another category, so that no
  round ends during the measurement; the one report at a round's end is timed apart.
- Exports: size and verification figures of each bundled model's browser export (``model.export``).
"""

from __future__ import annotations

import os
import re
import statistics
import time
from pathlib import Path

from bench.browser_session import LIVE_CANVAS, clear_canvas, launch_browser, scaled_strokes, streamlit_server
from bench.timing import machine

VENDOR = Path(__file__).resolve().parents[1] / "static" / "vendor" / "onnxruntime-web"
STROKE_DRAWINGS = 6  # drawings drawn in a game round for the CPU figures
IDLE_SECONDS = 15  # the server's CPU with a game page open and nobody drawing is measured this long


def _server_cpu(url: str) -> float:
    """CPU seconds (user + system) used so far by the Streamlit server listening at ``url``."""
    port = url.rstrip("/").rsplit(":", 1)[1]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
            if b"streamlit" in b" ".join(arguments) and port.encode() in arguments:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            continue
    raise RuntimeError(f"no Streamlit server process found for {url}")


def _draw(page, canvas, drawing: list, pause: float = 0.25) -> int:
    box = canvas.bounding_box()
    strokes = scaled_strokes(drawing, box["width"])
    for points in strokes:
        page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
        page.mouse.down()
        for x, y in points[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=2)
        page.mouse.up()
        time.sleep(pause)
    return len(strokes)


def _latency(browser, url: str, drawings: list) -> list[float]:
    page = browser.new_page(viewport={"width": 1300, "height": 950})
    page.goto(f"{url}Draw")
    canvas = page.locator(LIVE_CANVAS)
    canvas.wait_for(timeout=60_000)
    page.wait_for_function("() => window.doodleLive && window.doodleLive.ready === true", timeout=600_000)
    _draw(page, canvas, drawings[0], pause=0.3)  # warm up: the first guesses compile the model
    clear_canvas(page)
    page.evaluate("() => { window.doodleLive.latencies = []; }")
    for drawing in drawings[1:]:
        _draw(page, canvas, drawing, pause=0.3)
        page.wait_for_timeout(300)
        clear_canvas(page)
        page.wait_for_timeout(300)
    samples = page.evaluate("() => [window.doodleLive.latencies, window.doodleLive.work]")
    page.close()
    return samples


def _game_cpu(browser, url: str, drawings_by_word: dict[str, list], live: bool) -> dict:
    context = browser.new_context(viewport={"width": 1300, "height": 950})
    if not live:
        context.route("**/app/static/vendor/**", lambda route: route.abort())
    page = context.new_page()
    page.goto(f"{url}Game")
    page.get_by_label("Seconds per round").wait_for(timeout=60_000)
    page.get_by_label("Seconds per round").fill("120")
    slider = page.get_by_role("slider", name="Confidence needed to win")
    slider.focus()
    slider.press("End")
    page.get_by_role("button", name="Start a game").click()
    card = page.locator("[data-testid='live-card']")
    card.get_by_role("button", name="Ready!").wait_for(timeout=60_000)
    page.wait_for_function("() => window.doodleLive && typeof window.doodleLive.ready === 'boolean'",
                           timeout=600_000)
    assert page.evaluate("() => window.doodleLive.ready") is live, "the path is not the one asked for"
    prompt = re.search(r"Draw (.+) in \d+ seconds", card.inner_text()).group(1)
    before = _server_cpu(url)
    page.wait_for_timeout(1000 * IDLE_SECONDS)  # the page open, the card shown, nobody drawing
    idle_rate = (_server_cpu(url) - before) / IDLE_SECONDS
    card.get_by_role("button", name="Ready!").click()
    page.wait_for_timeout(1500)  # the server hears "ready" once; let that rerun finish
    canvas = page.locator(LIVE_CANVAS)
    others = [drawing for word, drawings in drawings_by_word.items() if word != prompt for drawing in drawings]
    page.evaluate("() => { window.doodleLive.latencies = []; }")
    before, started, strokes = _server_cpu(url), time.monotonic(), 0
    for drawing in others[:STROKE_DRAWINGS]:
        strokes += _draw(page, canvas, drawing)
        page.wait_for_timeout(500)
        clear_canvas(page)
    page.wait_for_timeout(1500)
    during, seconds = _server_cpu(url) - before, time.monotonic() - started
    latencies = sorted(page.evaluate("() => window.doodleLive.latencies"))
    idle = idle_rate * seconds
    before = _server_cpu(url)
    page.get_by_role("button", name="⏭ Skip").click()
    page.get_by_text(re.compile(r"round 1: .*skipped")).wait_for(timeout=30_000)
    page.wait_for_timeout(500)
    report = _server_cpu(url) - before
    context.close()
    return {"strokes": strokes, "cpu_ms_per_stroke": round(1000 * during / strokes, 1),
            "idle_cpu_ms_per_stroke": round(1000 * idle / strokes, 1),
            "net_cpu_ms_per_stroke": round(1000 * (during - idle) / strokes, 1),
            "round_end_cpu_ms": round(1000 * report, 1),
            "latency_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
            "latency_p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1) if latencies else None}


def _exports() -> list[dict]:
    import json

    from model.export import browser_model

    rows = []
    for name in ("quickdraw18", "mnist"):
        card = json.loads((browser_model(name).parent / "card.json").read_text())
        section = card["export"]
        figures = section["verification"]
        rows.append({"model": name, "bytes": section["bytes"], "verified_on": figures["verified_on"],
                     "top1_agreement": figures["top1_agreement"],
                     "max_probability_difference": figures["max_probability_difference"]})
    return rows


def run(drawings: int = 12) -> dict:
    from playwright.sync_api import sync_playwright

    from data_loader import data_dir
    from data_loader.quickdraw import read_ndjson

    raw = data_dir() / "quickdraw" / "raw"
    by_word = {path.stem: [record["drawing"] for record in list(read_ndjson(path))[:2]]
               for path in sorted(raw.glob("*.ndjson"))}
    chosen = [items[0] for items in by_word.values()][: drawings + 1]
    environment = {"DOODLE_SPEECH": "0", "DOODLE_OFFLINE": "1"}
    with streamlit_server("app.py", environment) as url, sync_playwright() as playwright:
        browser = launch_browser(playwright)
        samples, work = _latency(browser, url, chosen)
        live = _game_cpu(browser, url, by_word, live=True)
        server = _game_cpu(browser, url, by_word, live=False)
        browser.close()
    ordered = sorted(samples)
    return {"latency_p50_ms": round(statistics.median(ordered), 1),
            "latency_p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
            "latency_max_ms": round(ordered[-1], 1), "guesses": len(ordered), "target_p95_ms": 30,
            "render_p50_ms": _median(work, 0), "model_p50_ms": _median(work, 1), "frame_wait_p50_ms": _median(work, 2),
            "game_live": live, "game_server_path": server, "exports": _exports(),
            "runtime_bytes": {path.name: path.stat().st_size for path in sorted(VENDOR.glob("ort*"))},
            "machine": machine()}


def _median(rows: list, column: int) -> float:
    values = [row[column] for row in rows if row[column] is not None]
    return round(statistics.median(values), 2) if values else float("nan")


def table(figures: dict) -> list[tuple[str, str]]:
    live, server = figures["game_live"], figures["game_server_path"]
    rows = [("in-page guess latency, Draw page (pointer event to guess)",
             f"p50 {figures['latency_p50_ms']} ms, p95 {figures['latency_p95_ms']} ms over "
             f"{figures['guesses']} guesses (target p95 at most 30 ms)"),
            ("  of which (medians)", f"rasterize {figures['render_p50_ms']} ms, model {figures['model_p50_ms']} ms, "
                                     f"wait for the frame {figures['frame_wait_p50_ms']} ms")]
    rows.append(("in-page guess latency, game round",
                 f"p50 {live['latency_p50_ms']} ms, p95 {live['latency_p95_ms']} ms"))
    for label, path in (("live guessing", live), ("server path", server)):
        rows.append((f"game, {label}: server CPU per stroke",
                     f"{path['net_cpu_ms_per_stroke']} ms over idle ({path['cpu_ms_per_stroke']} ms drawing, "
                     f"{path['idle_cpu_ms_per_stroke']} ms idle, {path['strokes']} strokes); round end "
                     f"{path['round_end_cpu_ms']} ms"))
    rows.append(("game: server CPU per stroke, live vs server path",
                 f"{live['net_cpu_ms_per_stroke']} ms vs {server['net_cpu_ms_per_stroke']} ms"))
    for row in figures["exports"]:
        rows.append((f"ONNX export of {row['model']}",
                     f"{row['bytes'] / 1e6:.2f} MB, top-1 agreement {row['top1_agreement']:.2%}, max probability "
                     f"difference {row['max_probability_difference']:.1e} on {row['verified_on']}"))
    runtime = figures["runtime_bytes"]
    rows.append(("onnxruntime-web files (vendored)", ", ".join(f"{name} {size / 1e6:.2f} MB"
                                                               for name, size in runtime.items())))
    return rows
