"""Which model a session uses: the sidebar model switcher, switching after a save, and who owns a model.

The server-wide default is the registry's active model; only "Make this the default for everyone" on the
Models page changes it. A session follows it until the person picks another model (in the sidebar, with
"Use in my session" on the Models page, or by saving one on the Train page); that choice lives in
``st.session_state``. A model saved in a session records the session's id as its card's ``owner``. The
models themselves are loaded and cached once per server by ``ui.cache``.
"""

from __future__ import annotations

import streamlit as st

from model.predict import Predictor
from model.registry import ModelEntry, Registry, RegistryError
from ui.cache import clear_model_caches, load_predictor

SESSION_MODEL = "model_name"
SWITCHER = "model_switcher"


def registry() -> Registry:
    """The model registry (a light object: it reads the folder when asked)."""
    return Registry()


def current_model_name(models: Registry | None = None, names: list[str] | None = None) -> str:
    """The model this session uses: its own choice if that model still exists, else the active model.

    ``names``, when the caller has just listed the registry, saves reading the model cards again.
    """
    models = models or registry()
    chosen = st.session_state.get(SESSION_MODEL)
    return chosen if chosen in (models.names() if names is None else names) else models.active_name()


def use_model(name: str) -> None:
    """Make this session use ``name`` from now on, and forget cached models (one was saved or changed)."""
    clear_model_caches()
    st.session_state[SESSION_MODEL] = name


def forget_model_choice() -> None:
    """Let this session follow the server-wide active model again (e.g. its own choice was deleted)."""
    clear_model_caches()
    st.session_state.pop(SESSION_MODEL, None)


def _remember_choice() -> None:
    st.session_state[SESSION_MODEL] = st.session_state[SWITCHER]


def model_switcher() -> Predictor | None:
    """Draw the sidebar model switcher and return this session's predictor, or None after showing why not."""
    models = registry()
    try:
        entries, damaged = models.listing()
    except (RegistryError, OSError) as error:
        st.warning(f"No model could be loaded: the model registry cannot be read ({error}).")
        return None
    if not entries:
        st.warning("No model could be loaded: none was found, and the bundled ones are missing from model/bundled.")
        return None
    names = [entry.name for entry in entries]
    labels = {entry.name: f"{entry.name}{' (bundled)' if entry.bundled else ''}" for entry in entries}
    current = current_model_name(models, names)
    chosen, broken = st.session_state.get(SESSION_MODEL), {item.name for item in damaged}
    if chosen in broken:
        st.sidebar.warning(f"Your model {chosen!r} is damaged and cannot be used (see the Models page); using "
                           f"{current!r} instead.")
    elif chosen not in names and models.pointer() in broken:
        st.sidebar.warning(f"The default model {models.pointer()!r} is damaged and cannot be used (see the Models "
                           f"page); using {current!r} instead.")
    st.session_state[SWITCHER] = current if current in names else names[0]
    choice = st.sidebar.selectbox("Model", names, format_func=labels.get, key=SWITCHER, on_change=_remember_choice,
                                  help="Switches the model for your session only. The default for everyone is set "
                                       "on the Models page.")
    entry = next(entry for entry in entries if entry.name == choice)
    st.sidebar.caption(entry.card.summary())
    try:
        return load_predictor(choice, entry.card.created)
    except (RegistryError, OSError, ValueError) as error:
        st.sidebar.error(f"Model {choice!r} cannot be used: {error}")
        st.warning(f"No model could be loaded: {choice!r} cannot be used. Pick another model in the sidebar.")
        return None


def session_id() -> str:
    """This visitor's identifier, the same after a browser reload (a cookie: see ``ui.owner``)."""
    from ui.owner import owner_id

    return owner_id()


def saved_here(entry: ModelEntry) -> bool:
    """Whether this session saved ``entry`` (so it may rename or delete it without the teacher key)."""
    return not entry.bundled and bool(entry.card.owner) and entry.card.owner == session_id()


def saved_date(entry: ModelEntry) -> str:
    """The day and minute a model was made, from its card ("2026-12-01 06:40"), or "unknown"."""
    return entry.card.created[:16].replace("T", " ") or "unknown"


def comparison(entries: list[ModelEntry]) -> list[dict]:
    """One row per model for the side-by-side table of the Models page."""
    rows = []
    for entry in entries:
        card, accuracy = entry.card, entry.card.metrics.get("test_top1")
        rows.append({
            "Model": entry.name, "Test top-1": f"{accuracy:.1%}" if accuracy is not None else "-",
            "Classes": card.num_classes, "Parameters": card.parameters,
            "Training time (s)": round(card.training_seconds),
            "Saved by": "bundled" if entry.bundled else (card.saved_by or "-"), "Date": saved_date(entry),
            "Class names": ", ".join(card.class_names),
        })
    return rows
