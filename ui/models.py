"""The one place where the app caches models and data, and the sidebar model switcher.

Models are loaded once per server with ``st.cache_resource`` and shared by every session; a session's
choice of model lives in ``st.session_state``; the server-wide default is the registry's active model.
"""

from __future__ import annotations

import streamlit as st

from model.predict import Predictor
from model.registry import Registry, RegistryError

SESSION_MODEL = "model_name"


def registry() -> Registry:
    """The model registry (a light object: it reads the folder when asked)."""
    return Registry()


@st.cache_resource(show_spinner="Loading the model...", max_entries=8)
def load_predictor(name: str, version: str) -> Predictor:
    """Load a model once per server; ``version`` (its card's creation time) reloads a re-saved name."""
    return Predictor.load(name, registry())


def clear_caches() -> None:
    """Forget every cached model and array, e.g. after a new model is activated or a model is deleted."""
    st.cache_resource.clear()
    st.cache_data.clear()


def current_model_name() -> str:
    """The model this session uses: its own choice if that model still exists, else the active model."""
    names = registry().names()
    chosen = st.session_state.get(SESSION_MODEL)
    return chosen if chosen in names else registry().active_name()


def model_switcher() -> Predictor | None:
    """Draw the sidebar model switcher and return this session's predictor, or None after showing why not."""
    entries = registry().entries()
    if not entries:
        st.sidebar.error("No model found: the bundled models are missing from model/bundled.")
        return None
    names = [entry.name for entry in entries]
    labels = {entry.name: f"{entry.name}{' (bundled)' if entry.bundled else ''}" for entry in entries}
    current = current_model_name()
    choice = st.sidebar.selectbox("Model", names, index=names.index(current) if current in names else 0,
                                  format_func=labels.get, key="model_switcher",
                                  help="Switches the model for your session only. The Train page sets the "
                                       "default for everyone.")
    st.session_state[SESSION_MODEL] = choice
    entry = next(entry for entry in entries if entry.name == choice)
    st.sidebar.caption(entry.card.summary())
    try:
        return load_predictor(choice, entry.card.created)
    except (RegistryError, OSError, ValueError) as error:
        st.sidebar.error(f"Model {choice!r} cannot be used: {error}")
        return None


@st.cache_resource
def training_slot():
    """The server's single training slot, shared by every session."""
    from model.jobs import TrainingSlot

    return TrainingSlot()


def session_id() -> str:
    """A random identifier for this browser session."""
    import uuid

    return st.session_state.setdefault("session_id", uuid.uuid4().hex)
