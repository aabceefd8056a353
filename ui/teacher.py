"""The teacher key: server-wide actions ask for it when one is configured.

When ``DOODLE_TEACHER_KEY`` is set (in the environment, or in Streamlit's secrets as
``DOODLE_TEACHER_KEY = "..."``), making a model the default for everyone, renaming or deleting a model
saved in another session, and cancelling another session's training ask for the key. Without a key (one
person at home) those actions are open. A page draws the key box with ``teacher_allows`` and acts only
when it returns True:

    allowed = teacher_allows("cancel another session's training", "cancel")
    if st.button("Cancel"):
        if allowed:
            ...  # act, then forget_key("cancel") so the key does not stay in this session
        else:
            refuse("cancel another session's training")

The key is compared in constant time and is never shown, logged or written to a card.
"""

from __future__ import annotations

import hmac
import os
import time

import streamlit as st
from streamlit.errors import StreamlitAPIException

KEY_VARIABLE = "DOODLE_TEACHER_KEY"
WRONG_KEY_PAUSE_SECONDS = 0.5  # Slows guessing down; a person typing does not notice it.


def configured_key() -> str:
    """The teacher key from the environment, else from Streamlit's secrets, else "" (no key: actions open)."""
    key = os.environ.get(KEY_VARIABLE, "")
    if key:
        return key
    try:
        key = st.secrets.get(KEY_VARIABLE, "")
    except (FileNotFoundError, StreamlitAPIException, KeyError, ValueError, OSError):
        return ""  # No secrets file, or one that cannot be read: no key configured.
    return key if isinstance(key, str) else ""


def key_required() -> bool:
    """Whether a teacher key is configured, so that server-wide actions ask for it."""
    return bool(configured_key())


def _widget(key: str) -> str:
    return f"teacher_key_{key}"


def teacher_allows(action: str, key: str = "teacher") -> bool:
    """Draw a password box for the teacher key (only when one is configured) and return whether ``action``
    is allowed now: always without a configured key, else only when the right key is typed.

    ``action`` completes the sentence "Teacher key to ..."; ``key`` names the box (one per place). A wrong
    key shows an error; the typed key is never echoed.
    """
    expected = configured_key()
    if not expected:
        return True
    typed = st.text_input(f"Teacher key to {action}", type="password", key=_widget(key),
                          help="Set by the teacher (DOODLE_TEACHER_KEY). Changes that affect everyone need it.")
    if not typed:
        return False
    if hmac.compare_digest(typed.encode("utf-8"), expected.encode("utf-8")):
        return True
    time.sleep(WRONG_KEY_PAUSE_SECONDS)
    st.error("That is not the teacher key: nothing will be changed.")
    return False


def refuse(action: str) -> None:
    """Say that ``action`` was not done because the teacher key is missing or wrong."""
    st.error(f"Nothing was changed: only the teacher can {action}. Type the teacher key first.")


def forget_key(key: str = "teacher") -> None:
    """Forget the key typed in the box named ``key`` (after the action it allowed), so it does not stay."""
    st.session_state.pop(_widget(key), None)
