"""The Streamlit runtime settings the app needs with TensorFlow loaded (see ui/runtime.py)."""

from __future__ import annotations

import configparser
from pathlib import Path

import keras
from keras.src.backend.common import global_state
from streamlit.runtime.scriptrunner import script_runner

import ui.cache  # noqa: F401 - importing the app's cache module applies the settings, as every page does.

REPOSITORY = Path(__file__).resolve().parents[1]


def test_streamlit_no_longer_clears_keras_state_after_a_run() -> None:
    global_state.set_global_attribute("doodle_lab_probe", "kept")
    script_runner._clean_problem_modules()  # What Streamlit calls after every script run.
    assert global_state.get_global_attribute("doodle_lab_probe") == "kept"
    keras.backend.clear_session()  # The real clear_session still works for those who call it on purpose.
    assert global_state.get_global_attribute("doodle_lab_probe") is None


def test_no_full_garbage_collection_after_every_run() -> None:
    config = configparser.ConfigParser()  # The file's simple "key = value" lines read as INI too (Python 3.10).
    config.read(REPOSITORY / ".streamlit" / "config.toml")
    assert config["runner"]["postScriptGC"] == "false"
    assert config["client"]["showSidebarNavigation"] == "false", "the pages draw their own links"
