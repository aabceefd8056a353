"""The server's warm-up: steps run once, in order, in the background; a failing step is recorded, not fatal."""

from __future__ import annotations

import threading

from streamlit.testing.v1 import AppTest

from ui.warmup import Warmup


def test_steps_run_in_order_in_the_background_and_a_failure_does_not_stop_them() -> None:
    order, gate = [], threading.Event()

    def broken() -> None:
        raise OSError("disk on fire")

    warm = Warmup([("waiting", lambda: gate.wait(10) and order.append("first")), ("broken", broken),
                   ("last", lambda: order.append("last"))]).start()
    assert not warm.wait(0.2) and not warm.ready and warm.step == "waiting"
    gate.set()
    assert warm.wait(10) and warm.ready and warm.step == "ready"
    assert order == ["first", "last"]
    assert warm.problems == ["broken: OSError: disk on fire"] and set(warm.seconds) == {"waiting", "broken", "last"}


def page_waiting_for_a_warm_up() -> None:
    import threading

    import streamlit as st

    from ui.warmup import Warmup, wait_with_notice

    st.title("A page")
    gate = threading.Event()
    warm = Warmup([("loading", lambda: gate.wait(1.0)), ("later", lambda: gate.wait(30))]).start()
    wait_with_notice(warm, blocking_steps=1)
    st.write(f"after {sorted(warm.seconds)}")


def test_a_page_waits_only_for_the_steps_it_needs_and_the_notice_goes() -> None:
    app = AppTest.from_function(page_waiting_for_a_warm_up, default_timeout=30).run()
    assert not app.exception
    assert [item.value for item in app.markdown] == ["after ['loading']"], "it went on before the later step"
    assert not any("Warming up" in item.value for item in app.info), "the notice is gone once it may go on"
