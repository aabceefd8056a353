"""Classroom benchmark: K browser sessions draw real drawings on the Draw page at once, first against the
framework's floor (``bench/floor_app.py``, the bare canvas page) and then against the app, in the same run;
then the app again with one training running in a worker meanwhile.

Each session (its own browser context, all in one Chromium, driven concurrently with Playwright's asyncio API)
opens the page and draws a warm-up stroke; once all K have (so that they draw at once, and no timed stroke
competes with another session still loading its page), each draws ``drawings`` real drawings from
``quickdraw/raw`` stroke by stroke, at the pace its person drew it (the raw data's times; pauses between strokes
cut to 2 s). For each, the first stroke is timed inside the page from the pointer release to three moments: the
server's guess appears (the top-guess panel, on both pages: the floor writes a fixed text there), the browser's
own guess appears (the app's live canvas; the floor has none), and the first of the two, which is when the player
sees a guess for the stroke. The rest is drawn and the final guess is read. Reported per K and page: those
latencies' p50 and p95, errors (a guess that never came, an exception on the page), the share of right final
guesses (the app only), and, while they draw, the server's CPU milliseconds per stroke (its own process, read
from /proc; a training worker is a separate process) beside the browsers' (every Chromium process, which share
the machine with the server here; in a classroom they run on the students' devices).

Targets on a 2-core machine: at K = 8 the app's p95 for the first guess on screen at most 1.5x the floor's
(whose only answer is the server's text), no page error; with a training running the Draw page's p50 at
most 1.5x its p50 without one. The server's guess panel is reported beside it, against the same floor.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

from bench.browser_session import CHROMIUM, CHROMIUM_ARGUMENTS, LIVE_CANVAS, scaled_strokes, streamlit_server
from bench.timing import machine

CATEGORIES = ["apple", "rainbow", "eye", "clock", "fish", "house", "book", "diamond", "banana", "bicycle",
              "airplane", "flower", "cat", "train"]
TRAINING_CLASSES = ["apple", "banana", "book", "clock", "diamond", "eye", "fish", "flower", "house", "rainbow"]


def _server_pid(url: str) -> int:
    """The process id of the Streamlit server listening on the URL's port."""
    port = str(urlparse(url).port)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(arguments) and port.encode() in arguments:
            return int(entry.name)
    raise RuntimeError(f"no Streamlit process found for {url}")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _browser_cpu() -> dict[int, float]:
    """CPU seconds used so far by each Chromium process, by process id."""
    seconds = {}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and b"chromium" in (entry / "cmdline").read_bytes().split(b"\0")[0]:
                seconds[int(entry.name)] = _cpu_seconds(int(entry.name))
        except OSError:
            continue
    return seconds


class _BrowserCpu:
    """The browsers' CPU seconds from ``begin()`` on, sampled every half second while the sessions draw, so that
    the renderer of a context that closes (and exits) before the end still counts up to its last sample."""

    def __init__(self) -> None:
        self.baseline: dict[int, float] = {}
        self.latest: dict[int, float] = {}

    def begin(self) -> None:
        self.baseline = _browser_cpu()
        self.latest = dict(self.baseline)

    def sample(self) -> None:
        self.latest.update(_browser_cpu())

    async def keep_sampling(self, done: asyncio.Event) -> None:
        while not done.is_set():
            self.sample()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 0.5)

    @property
    def seconds(self) -> float:
        return sum(value - self.baseline.get(pid, 0.0) for pid, value in self.latest.items())


# Timing inside the page, for the first stroke of a drawing on a cleared canvas, from the pointer release:
# "seen" when the server's top-guess container shows a new text (both pages), "live" when the canvas' own
# in-browser model has guessed the finished stroke (the app, where its runtime runs; the floor has none).
WATCH = """() => {
  window.__timing = {up: null, seen: null, live: null, before: null, guesses: 0};
  const read = () => { const el = document.querySelector('.st-key-top_guess'); return el ? el.innerText : ''; };
  const live = () => window.doodleLive || {guesses: 0};
  const poll = () => {
    const t = window.__timing;
    if (t.up !== null && t.live === null && live().guesses > t.guesses && live().last && !live().last.drawing)
      t.live = performance.now();
    if (t.up !== null && t.live === null) requestAnimationFrame(poll);
  };
  window.addEventListener('pointerup', () => {
    const t = window.__timing;
    if (t.up === null) {
      t.up = performance.now(); t.before = read(); t.guesses = live().guesses; requestAnimationFrame(poll);
    }
  }, true);
  new MutationObserver(() => {
    const t = window.__timing;
    if (t.up !== null && t.seen === null && read() !== '' && read() !== t.before) t.seen = performance.now();
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


GAP_CAP_S = 2.0  # a pause between two strokes longer than this (a person thinking) is cut to it


def _timed_strokes(drawing: list, size: float = 360) -> list[tuple[list, list[float]]]:
    """A raw drawing's strokes as canvas points with the milliseconds at which the person drew each point,
    counted from the drawing's first point (QuickDraw's raw strokes are ``[xs, ys, ts]``). A stroke without
    times gets 16 ms a point, and 300 ms before it."""
    strokes, clock = [], 0.0
    for points, stroke in zip(scaled_strokes(drawing, size), drawing, strict=True):
        if len(stroke) > 2 and len(stroke[2]) == len(points):
            times = [float(t) for t in stroke[2]]
        else:
            times = [clock + 300 + 16 * index for index in range(len(points))]
        clock = times[-1]
        strokes.append((points, times))
    return strokes


async def _stroke(page, canvas, points, times: list[float] | None = None) -> None:
    """Press at the first point, move through the others and release: at the pace the person drew them when
    ``times`` are given (a point already due is sent at once, so a busy machine draws the stroke late but whole:
    skipping points would change the drawing), else as fast as Playwright goes."""
    box = await canvas.bounding_box()
    await page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
    await page.mouse.down()
    rest = points[1:] or [(points[0][0] + 1, points[0][1])]
    if times is None or len(points) < 2:
        for x, y in rest:
            await page.mouse.move(box["x"] + x, box["y"] + y, steps=2)
    else:
        clock, began = asyncio.get_running_loop().time, asyncio.get_running_loop().time()
        for index in range(1, len(points)):
            elapsed = clock() - began
            due = (times[index] - times[0]) / 1000
            if due > elapsed:
                await asyncio.sleep(due - elapsed)
            await page.mouse.move(box["x"] + points[index][0], box["y"] + points[index][1])
    await page.mouse.up()


async def _final_guess(page, strokes: int) -> str:
    """The guess for the whole drawing: the browser's own for exactly these strokes where it guesses live (what
    the player reads under the canvas), else the server's panel once the page has settled."""
    live = "window.doodleLive"
    if await page.evaluate(f"() => Boolean({live} && {live}.ready)"):
        await page.wait_for_function(f"() => {live}.last && {live}.last.strokes === {strokes} && !{live}.last.drawing",
                                     timeout=30_000, polling=100)
        return await page.evaluate(f"() => {live}.last.ranking[0][0]")
    await page.wait_for_timeout(400)  # No live runtime (the floor, or a browser without it): the server's panel.
    await page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden", timeout=60_000)
    guess = page.locator(".st-key-top_guess")
    return (await guess.inner_text()).strip() if await guess.count() else ""


async def _clear(page) -> None:
    await page.get_by_role("button", name="✕ Clear").click()
    await page.locator(".st-key-top_guess").wait_for(state="detached", timeout=30_000)
    await page.wait_for_timeout(300)


class _Start:
    """The moment every session has its page open and has drawn its warm-up stroke: then all draw at once.

    A session that fails before it gets there still counts as arrived, so the others never wait for it.
    ``on_release`` runs once, when the last one arrives (the phase reads the CPU counters there).
    """

    def __init__(self, sessions: int, on_release) -> None:
        self.left, self.on_release, self.released = sessions, on_release, asyncio.Event()

    def arrive(self) -> None:
        self.left -= 1
        if self.left == 0:
            self.on_release()
            self.released.set()

    async def wait(self) -> None:
        self.arrive()
        await self.released.wait()


async def _session(browser, url: str, drawings: list[tuple[str, list]], stats: dict, start: _Start) -> None:
    """One person: open the page, wait for the others, draw each drawing stroke by stroke, time the first
    stroke's guesses."""
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    arrived = False
    try:
        page = await context.new_page()
        await page.goto(url)
        canvas = page.locator(f".st-key-canvas {LIVE_CANVAS}")
        await canvas.wait_for(state="visible", timeout=180_000)
        await page.wait_for_function("() => window.doodleLive && typeof window.doodleLive.ready === 'boolean'",
                                     timeout=600_000, polling=200)
        stats["live_runtime"].append(await page.evaluate("() => window.doodleLive.ready"))
        await page.evaluate(WATCH)
        await _stroke(page, canvas, scaled_strokes(drawings[0][1], 360)[0])  # Warm-up, not timed.
        await page.locator(".st-key-top_guess").wait_for(state="visible", timeout=60_000)
        await _clear(page)
        arrived = True
        await start.wait()
        for category, drawing in drawings:
            await page.evaluate("() => { Object.assign(window.__timing, {up: null, seen: null, live: null});"
                                " if (window.doodleLive) window.doodleLive.last = null; }")
            strokes = _timed_strokes(drawing)
            await _stroke(page, canvas, *strokes[0])
            lifted = time.monotonic()
            stats["strokes"] += 1
            try:
                await page.wait_for_function("() => window.__timing.seen !== null", timeout=30_000, polling="raf")
                timing = await page.evaluate("() => window.__timing")
                stats["latencies"].append(timing["seen"] - timing["up"])
                first = timing["seen"] if timing["live"] is None else min(timing["seen"], timing["live"])
                stats["first_latencies"].append(first - timing["up"])
                if timing["live"] is not None:
                    stats["live_latencies"].append(timing["live"] - timing["up"])
            except Exception:
                stats["errors"].append("no guess within 30 s of a first stroke")
            for (_, before), (points, times) in zip(strokes, strokes[1:], strict=False):
                pause = min(GAP_CAP_S, max(0.0, (times[0] - before[-1]) / 1000))
                await asyncio.sleep(max(0.0, pause - (time.monotonic() - lifted)))
                await _stroke(page, canvas, points, times)
                lifted = time.monotonic()
                stats["strokes"] += 1
            stats["finals"].append((await _final_guess(page, len(strokes))).lower().startswith(category))
            await _clear(page)
        if await page.locator("[data-testid='stException']").count():
            stats["errors"].append("an exception reached the page")
    except Exception as error:  # A session that breaks counts as an error; the others go on.
        stats["errors"].append(f"{error.__class__.__name__}: {str(error).splitlines()[0][:120]}")
    finally:
        if not arrived:
            start.arrive()
        await context.close()


def _percentiles(samples: list[float]) -> tuple[int | None, int | None]:
    ordered = sorted(samples)
    if not ordered:
        return None, None
    return round(statistics.median(ordered)), round(ordered[int(0.95 * (len(ordered) - 1))])


async def _phase(url: str, sessions: int, drawings: int, all_drawings: dict[str, list]) -> dict:
    from playwright.async_api import async_playwright

    stats: dict = {"latencies": [], "live_latencies": [], "first_latencies": [], "live_runtime": [], "errors": [],
                   "finals": [], "strokes": 0}
    plans = [[(category, all_drawings[category][(person + round_) % len(all_drawings[category])])
              for round_, category in enumerate(CATEGORIES[person % 7:][:drawings])] for person in range(sessions)]
    pid = _server_pid(url)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGUMENTS)
        counters, browsers, done = {}, _BrowserCpu(), asyncio.Event()

        def read_counters() -> None:  # Every page is open: the drawing starts now.
            counters.update(cpu=_cpu_seconds(pid), started=time.monotonic())
            browsers.begin()

        start = _Start(sessions, read_counters)
        sampler = asyncio.ensure_future(browsers.keep_sampling(done))
        await asyncio.gather(*(_session(browser, url, plan, stats, start) for plan in plans))
        cpu, seconds = _cpu_seconds(pid) - counters["cpu"], time.monotonic() - counters["started"]
        done.set()
        await sampler
        browsers.sample()
        browser_cpu = browsers.seconds
        await browser.close()
    p50, p95 = _percentiles(stats["latencies"])
    live_p50, live_p95 = _percentiles(stats["live_latencies"])
    first_p50, first_p95 = _percentiles(stats["first_latencies"])
    return {
        "sessions": sessions, "samples": len(stats["latencies"]), "p50_ms": p50, "p95_ms": p95,
        "live_samples": len(stats["live_latencies"]), "live_p50_ms": live_p50, "live_p95_ms": live_p95,
        "live_runtime_sessions": sum(stats["live_runtime"]),
        "first_p50_ms": first_p50, "first_p95_ms": first_p95,
        "errors": len(stats["errors"]), "error_examples": stats["errors"][:3],
        "right_share": round(sum(stats["finals"]) / len(stats["finals"]), 2) if stats["finals"] else None,
        "strokes": stats["strokes"], "server_cpu_ms_per_stroke": round(1000 * cpu / max(1, stats["strokes"]), 1),
        "browser_cpu_ms_per_stroke": round(1000 * browser_cpu / max(1, stats["strokes"]), 1),
        "seconds": round(seconds, 1),
    }


def _start_training(data_dir: str | None, models_dir: str):
    """Queue a training long enough to last the phase, in the jobs folder the app's workers serve."""
    from model.config import TrainConfig
    from model.jobs import JobQueue

    queue = JobQueue(Path(models_dir) / ".jobs")
    config = TrainConfig(classes=TRAINING_CLASSES, per_class=2500, architecture="doodle", epochs=40,
                         data_dir=data_dir, patience=40)
    job = queue.submit(config, owner="classroom-benchmark", label="benchmark training")
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        current = queue.get(job.id)
        if current.progress is not None or not current.active:
            break
        time.sleep(1)
    return queue, queue.get(job.id)


def run(data_dir: str | None = None, sizes: tuple[int, ...] = (4, 8), drawings: int = 5,
        training: bool = True) -> dict:
    from data_loader import data_dir as resolve
    from data_loader.quickdraw import read_ndjson

    raw = resolve(data_dir) / "quickdraw" / "raw"
    all_drawings = {category: [record["drawing"] for record in list(read_ndjson(raw / f"{category}.ndjson"))[:8]]
                    for category in CATEGORIES}
    models = tempfile.mkdtemp(prefix="bench-classroom-")
    environment = {"DOODLE_MODELS_DIR": models, "DOODLE_OFFLINE": "1", **({"DOODLE_DATA_DIR": data_dir}
                                                                          if data_dir else {})}
    figures: dict = {"machine": machine(), "drawings_per_session": drawings, "phases": []}
    with streamlit_server("bench/floor_app.py", environment) as floor_url, \
            streamlit_server("app.py", environment) as app_url:
        asyncio.run(_phase(f"{app_url}Draw", 1, 1, all_drawings))  # Wakes the app (and its warm-up) before timing it.
        for sessions in sizes:
            for page, url in (("floor", floor_url), ("app", f"{app_url}Draw")):
                print(f"classroom: {page}, {sessions} sessions...", flush=True)
                figures["phases"].append({"page": page, "training": False,
                                          **asyncio.run(_phase(url, sessions, drawings, all_drawings))})
        for sessions in sizes if training else ():
            print(f"classroom: app, {sessions} sessions, with a training...", flush=True)
            queue, job = _start_training(data_dir, models)
            phase = asyncio.run(_phase(f"{app_url}Draw", sessions, drawings, all_drawings))
            job = queue.get(job.id)
            phase["training_state"] = job.state if job.state != "running" else \
                f"running, epoch {getattr(job.progress, 'epoch', '?')}"
            queue.cancel(job.id)
            figures["phases"].append({"page": "app", "training": True, **phase})
    return figures


def table(figures: dict) -> list[tuple[str, str]]:
    rows = []
    for phase in figures["phases"]:
        label = f"K={phase['sessions']} {phase['page']}{' + training' if phase['training'] else ''}"
        right = f", right {phase['right_share']:.0%}" if phase["page"] == "app" and phase["right_share"] is not None \
            else ""
        live = f", in-browser guess p50 {phase['live_p50_ms']} ms, p95 {phase['live_p95_ms']} ms" \
            if phase.get("live_samples") else ""
        first = f"first guess on screen p50 {phase['first_p50_ms']} ms, p95 {phase['first_p95_ms']} ms, " \
            if phase.get("live_samples") else ""
        rows.append((label, f"{first}server guess p50 {phase['p50_ms']} ms, p95 {phase['p95_ms']} ms{live}, errors "
                            f"{phase['errors']}{right}, server CPU {phase['server_cpu_ms_per_stroke']} ms/stroke, "
                            f"browsers' CPU {phase.get('browser_cpu_ms_per_stroke')} ms/stroke "
                            f"({phase['samples']} samples)"))
    by_key = {(phase["page"], phase["sessions"], phase["training"]): phase for phase in figures["phases"]}
    for sessions in sorted({phase["sessions"] for phase in figures["phases"]}):
        floor, app = by_key.get(("floor", sessions, False)), by_key.get(("app", sessions, False))
        busy = by_key.get(("app", sessions, True))
        if floor and app and floor["p95_ms"] and app["p95_ms"]:
            rows.append((f"K={sessions} first guess on screen: app p95 / floor p95",
                         f"{app['first_p95_ms'] / floor['first_p95_ms']:.2f}x (target <= 1.5x)"))
            rows.append((f"K={sessions} server's guess: app p95 / floor p95",
                         f"{app['p95_ms'] / floor['p95_ms']:.2f}x"))
        if app and busy and app["p50_ms"] and busy["p50_ms"] and app["first_p50_ms"] and busy["first_p50_ms"]:
            rows.append((f"K={sessions} p50 with / without training",
                         f"first guess on screen {busy['first_p50_ms'] / app['first_p50_ms']:.2f}x, server's guess "
                         f"{busy['p50_ms'] / app['p50_ms']:.2f}x (target <= 1.5x)"))
    return rows
