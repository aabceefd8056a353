"""Drive the app in a real browser: start a Streamlit server on 127.0.0.1, open Debian's Chromium through
Playwright, and replay drawings onto the canvas as mouse strokes. Used by the browser tests and benchmark.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGUMENTS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                      "--disable-component-update", "--disable-sync", "--no-first-run"]
CANVAS = "canvas.upper-canvas"  # streamlit-drawable-canvas (Inside the network, Train)
LIVE_CANVAS = "[data-testid='live-canvas']"  # the live canvas (ui/live_canvas.py: Draw, Game)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def streamlit_server(script: str = "app.py", environment: dict[str, str] | None = None, timeout: float = 90):
    """Run ``streamlit run script`` on a free 127.0.0.1 port; yield its URL; stop it afterwards."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", script, "--server.address", "127.0.0.1",
               "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none", "--server.runOnSave", "false"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(environment or {})}
    log = open(Path(os.environ.get("DOODLE_ARTIFACTS", "/tmp")) / f"streamlit-{port}.log", "w")  # noqa: SIM115
    process = subprocess.Popen(command, cwd=REPOSITORY, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Streamlit server did not start; see {log.name}")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def launch_browser(playwright):
    """Debian's Chromium, headless, with the flags this closed network needs."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGUMENTS)


def open_canvas(page, url: str, key: str = "canvas", timeout: float = 60_000):
    """Go to a page and wait until its canvas can take strokes; return the canvas locator."""
    page.goto(url)
    canvas = page.locator(f".st-key-{key} {CANVAS}, .st-key-{key} {LIVE_CANVAS}")
    canvas.wait_for(state="visible", timeout=timeout)
    return canvas


def scaled_strokes(drawing: list, size: float, margin: float = 30) -> list[list[tuple[float, float]]]:
    """A dataset drawing's strokes as canvas points, scaled uniformly into a size x size canvas."""
    xs = [x for stroke in drawing for x in stroke[0]]
    ys = [y for stroke in drawing for y in stroke[1]]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1)
    scale = (size - 2 * margin) / span
    return [[(margin + (x - min(xs)) * scale, margin + (y - min(ys)) * scale) for x, y in zip(*stroke[:2], strict=True)]
            for stroke in drawing]


def draw_stroke(page, canvas, points: list[tuple[float, float]], steps: int = 2, timeout: float = 30_000) -> None:
    """Press the mouse at the first point, move through the others, release."""
    box = canvas.bounding_box(timeout=timeout)
    page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
    page.mouse.down()
    for x, y in points[1:] or [(points[0][0] + 1, points[0][1])]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=steps)
    page.mouse.up()


def replay(page, canvas, drawing: list, pause: float = 0.05, until=None) -> int:
    """Draw a dataset drawing onto the canvas, stroke by stroke; return how many strokes were drawn.

    ``until``, when given, is asked before each stroke and ends the replay once it returns True: a game
    round can be won before the drawing is finished, and its canvas then makes way for the next round's.
    """
    box = canvas.bounding_box()
    drawn = 0
    for points in scaled_strokes(drawing, min(box["width"], box["height"])):
        if until is not None and until():
            break
        try:
            draw_stroke(page, canvas, points, timeout=10_000 if until else 30_000)
        except Exception:
            if until is not None and until():
                break
            raise
        drawn += 1
        time.sleep(pause)
    return drawn


def top_guess(page) -> str:
    """The text of the top-guess container, or "" when there is none."""
    element = page.locator(".st-key-top_guess")
    return element.inner_text().strip() if element.count() else ""


def start_game(page, url: str, seconds: int):
    """Open the Game page, start a game of ``seconds``-long rounds and return the round's "ready?" card (its
    Ready! button shown)."""
    page.goto(f"{url}Game")
    field = page.get_by_label("Seconds per round")
    field.wait_for(timeout=60_000)
    field.fill(str(seconds))
    page.get_by_role("button", name="Start a game").click()
    card = page.locator("[data-testid='live-card']")
    card.get_by_role("button", name="Ready!").wait_for(timeout=60_000)
    return card


def clear_canvas(page) -> None:
    """Press the canvas' clear button: the live canvas' visible one, or the drawable canvas' toolbar icon."""
    live = page.get_by_role("button", name="✕ Clear")
    (live if live.count() else page.get_by_role("button", name="Reset canvas & history")).first.click()


def wait_until_live(page, timeout: float = 600_000) -> bool:
    """Wait until the live canvas runs its model in the page (True) or has fallen back to the server (False).

    The first page to ask for a model waits for the server to export it (about a minute here).
    """
    page.wait_for_function("() => window.doodleLive && typeof window.doodleLive.ready === 'boolean'",
                           timeout=timeout, polling=200)
    return bool(page.evaluate("() => window.doodleLive.ready"))
