"""Who a visitor is across browser reloads: a random owner token, kept in a cookie, that names their jobs.

A reload starts a new Streamlit session (and a new ``st.session_state``), so a student who reloads the
Train page would lose sight of the training they started. The token is kept in the browser as the cookie
``doodle_owner`` (one month, this site only): every tab of the same browser is the same owner, every other
browser (or private window) another. A cookie rather than a URL parameter, so that it does not travel
with a shared or projected link, and survives moving between pages. The token is not a secret: anyone
with it could follow that owner's trainings; cancelling another owner's training asks for the teacher key
when one is configured. Without cookies (AppTest, a browser refusing them) it lasts one session.
"""

from __future__ import annotations

import re
import uuid

import streamlit as st

COOKIE = "doodle_owner"
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
_STATE = "owner_id"


def _cookies() -> dict[str, str]:
    try:
        return dict(st.context.cookies)
    except Exception:  # No browser behind this session (AppTest, bare mode): no cookies.
        return {}


def owner_id() -> str:
    """This visitor's owner token: from this session, else from the browser's cookie, else a new one.

    The token is also this session's ``session_id`` (``ui.models.session_id`` returns it: the owner written
    on the cards of models it saves), so that a reload keeps a student's models theirs. A ``session_id``
    already in the session (a test's) is kept.
    """
    token = st.session_state.get(_STATE) or st.session_state.get("session_id")
    if not token:
        cookie = _cookies().get(COOKIE, "")
        token = cookie if _TOKEN.match(cookie) else uuid.uuid4().hex
    st.session_state[_STATE] = st.session_state["session_id"] = token
    if _cookies().get(COOKIE) != token and not st.session_state.get("owner_cookie_sent"):
        st.session_state["owner_cookie_sent"] = True
        st.html(f"<script>document.cookie = '{COOKIE}={token}; path=/; max-age=2592000; SameSite=Strict';</script>",
                unsafe_allow_javascript=True, width="content")
    return token
