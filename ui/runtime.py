"""Streamlit settings that an app holding TensorFlow models needs, applied once when the app imports ``ui``.

After every script run, Streamlit "cleans problem modules": when Keras is imported it calls
``keras.backend.clear_session()``, which drops TensorFlow's compiled kernels and runs a full garbage
collection. With TensorFlow loaded that costs 0.3-0.5 s on this 2-core machine after every stroke, and
the next guess has to compile its kernels again (40 ms instead of 2 ms). The app loads each model once per
server and shares it (``ui.cache``), so clearing Keras' session frees nothing and only costs time: this
module keeps Streamlit's clean-up for matplotlib and leaves Keras alone. The other half, Streamlit's full
garbage collection after each run, is switched off in ``.streamlit/config.toml`` (``runner.postScriptGC``).

``python -m bench browser`` measures the effect: stroke end to guess against the framework's floor.
"""

from __future__ import annotations

import contextlib
import sys

from streamlit.runtime.scriptrunner import script_runner


def _clean_problem_modules_except_keras() -> None:
    """Streamlit's per-run clean-up without ``keras.backend.clear_session()``: close matplotlib figures only."""
    if "matplotlib.pyplot" in sys.modules:
        with contextlib.suppress(Exception):  # Like Streamlit's own clean-up: never fail a run over it.
            sys.modules["matplotlib.pyplot"].close("all")


def keep_keras_session() -> bool:
    """Stop Streamlit from clearing Keras' session after each run; return whether Streamlit's hook was found."""
    if not hasattr(script_runner, "_clean_problem_modules"):
        return False
    script_runner._clean_problem_modules = _clean_problem_modules_except_keras
    return True


keep_keras_session()
