"""The server's warm-up: steps run once, in order, in the background; a failing step is recorded, not fatal."""

from __future__ import annotations

import ast
import subprocess
import sys
import threading
from pathlib import Path

from streamlit.testing.v1 import AppTest

from ui.warmup import Warmup

REPOSITORY = Path(__file__).resolve().parents[1]


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


# Imports modules in a fresh interpreter and prints which of TensorFlow and Keras that loaded. The components'
# files are found as a server finds them (Streamlit's own discovery), since there is no server here.
IMPORT_AND_TELL = """
import sys
import streamlit.components.v2 as components
from streamlit.components.v2.component_manager import BidiComponentManager
manager = BidiComponentManager()
manager.discover_and_register_components(start_file_watching=False)
components.get_bidi_component_manager = lambda: manager
for name in {modules!r}:
    __import__(name)
print(sorted({{name.split('.')[0] for name in sys.modules}} & {{'tensorflow', 'keras'}}))
"""


def _imports_before_the_wait(script: Path) -> list[str]:
    """The modules a page script imports at its top level before it first waits for the warm-up."""
    modules = []
    for node in ast.parse(script.read_text()).body:
        text = ast.unparse(node)
        waits = "wait_with_notice" in text or "wait_for_warm_up" in text
        if waits and not isinstance(node, ast.ImportFrom | ast.Import):
            return modules
        if isinstance(node, ast.ImportFrom):
            modules.append(node.module)
        elif isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
    return modules


def test_no_page_imports_tensorflow_before_it_waits_for_the_warm_up() -> None:
    """Two threads importing TensorFlow at once break both imports (a deadlock error, a half-made module), and the
    server stays broken for everyone; only the warm-up's thread imports it, and a page that needs it waits."""
    scripts = [REPOSITORY / "app.py", *sorted((REPOSITORY / "pages").glob("*.py")), REPOSITORY / "bench/floor_app.py"]
    for script in scripts:
        modules = _imports_before_the_wait(script)
        assert "streamlit" in modules, f"{script.name}: not parsed"
        loaded = subprocess.run([sys.executable, "-c", IMPORT_AND_TELL.format(modules=modules)], cwd=REPOSITORY,
                                capture_output=True, text=True, timeout=120, check=True).stdout.strip()
        assert loaded == "[]", f"{script.relative_to(REPOSITORY)} imports {loaded} before waiting: {modules}"

