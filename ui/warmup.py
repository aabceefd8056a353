"""The server's warm-up: slow first steps (TensorFlow, the models, first computations) run once in a background
thread, while pages say "warming up" instead of showing a blank screen.

``ui.cache.warm_up()`` starts it once per server, on the first page run. A page draws its title first, then
calls ``wait_for_warm_up()``: it returns at once on a warm server, and otherwise shows what is being prepared
until it is done. This module imports nothing heavy, and ``wait_for_warm_up`` shows its notice before it
imports ``ui.cache`` (pandas and the data loader, most of a second on a cold server), so that the title and
the notice show together on a cold server's first request.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable

import streamlit as st

THREAD_NAME = "warm-up"
_latest: Warmup | None = None  # the last warm-up started in this process (the server's, from ui.cache.warm_up)


class _WithoutContextWarnings(logging.Filter):
    """Streamlit warns when a cached function runs outside a page run (it cannot show its spinner there):
    the warm-up does that on purpose, so its warnings are dropped, and only its."""

    def filter(self, record: logging.LogRecord) -> bool:
        return threading.current_thread().name != THREAD_NAME


logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(_WithoutContextWarnings())


class Warmup:
    """Runs named steps in order in a daemon thread; tells which step runs, and when all are done."""

    def __init__(self, steps: list[tuple[str, Callable[[], object]]]) -> None:
        self.steps = steps
        self.step = "starting"
        self.problems: list[str] = []
        self.started = time.monotonic()
        self.seconds: dict[str, float] = {}
        self._done = threading.Event()

    @property
    def ready(self) -> bool:
        return self._done.is_set()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def start(self) -> Warmup:
        global _latest
        _latest = self
        threading.Thread(target=self._run, name=THREAD_NAME, daemon=True).start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the warm-up is done (or ``timeout`` seconds); return whether it is."""
        return self._done.wait(timeout)

    def _run(self) -> None:
        for label, step in self.steps:
            self.step = label
            began = time.monotonic()
            try:
                step()
            except Exception as error:  # A failed step only loses its head start; the page will say what is wrong.
                self.problems.append(f"{label}: {error.__class__.__name__}: {error}")
                traceback.print_exc(file=sys.stderr)
            self.seconds[label] = round(time.monotonic() - began, 2)
        self.step = "ready"
        self._done.set()


def _waiting(warm: Warmup | None, blocking_steps: int | None) -> bool:
    """Whether a page must still wait: no warm-up started yet, or the steps it needs are not all done."""
    if warm is None:
        return True
    if warm.ready:
        return False
    return blocking_steps is None or len(warm.seconds) < blocking_steps


def _say(notice, warm: Warmup | None) -> None:
    step, elapsed = ("starting", 0.0) if warm is None else (warm.step, warm.elapsed)
    notice.info(f"⏳ **Warming up**: the server has just started and is {step} ({elapsed:.0f} s so "
                "far). This page fills in by itself in a few seconds; later visits are immediate.")


def wait_with_notice(warm: Warmup, blocking_steps: int | None = None, notice=None) -> None:
    """Show a "warming up" notice while the warm-up runs, and return when it is done (at once when warm).

    ``blocking_steps``, when given, waits only for the first steps (say, TensorFlow and the models) and
    lets the page go on while the rest finishes in the background. ``notice``, an ``st.empty`` placeholder
    already showing a notice, is updated instead of a new one, and emptied on return.
    """
    if not _waiting(warm, blocking_steps):
        if notice is not None:
            notice.empty()
        return
    notice = notice if notice is not None else st.empty()
    while _waiting(warm, blocking_steps):
        _say(notice, warm)
        warm.wait(0.5)
    notice.empty()


def wait_for_warm_up(blocking_steps: int | None = None) -> None:
    """Start the server's warm-up if it has not started, and wait for it as ``wait_with_notice`` does.

    On a cold server the notice shows first, before ``ui.cache`` (which starts the warm-up) is imported.
    """
    notice = None
    if _waiting(_latest, blocking_steps):
        notice = st.empty()
        _say(notice, _latest)
    from ui.cache import warm_up  # Here, not at the top: the notice above shows first on a cold server.

    wait_with_notice(warm_up(), blocking_steps, notice)
