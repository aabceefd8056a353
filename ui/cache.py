"""The one place where the app caches: models, the training slot, and the arrays the pages draw.

Models and the training slot live in ``st.cache_resource`` (one per server, shared by every session);
computed arrays in ``st.cache_data``. ``clear_model_caches`` forgets everything that depends on a
model after a model is saved, activated, renamed or deleted; it keeps the training slot (so that a
training in progress stays the server's only one) and whatever does not depend on a model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from data_loader import DataError, build_subset, data_dir
from data_loader.quickdraw import stored
from model.architectures import ARCHITECTURES, build
from model.introspection import class_pattern, filter_pattern, parameter_summary
from model.jobs import TrainingSlot
from model.neighbours import NeighbourIndex, build_index
from model.predict import Predictor
from model.registry import Registry
from ui import runtime  # noqa: F401 - keeps Keras' session between runs (see ui/runtime.py)


@st.cache_resource(show_spinner="Loading the model...", max_entries=8)
def load_predictor(name: str, version: str) -> Predictor:
    """Load a model once per server; ``version`` (its card's creation time) reloads a re-saved name."""
    return Predictor.load(name, Registry())


@st.cache_resource
def training_slot() -> TrainingSlot:
    """The server's single training slot, shared by every session."""
    return TrainingSlot()


@st.cache_data(show_spinner="Imagining the category by gradient ascent...", max_entries=200)
def class_idea(name: str, version: str, class_index: int) -> np.ndarray:
    """The model's own idea of a class: an input optimised to maximise it (cached per model and class)."""
    return class_pattern(load_predictor(name, version).model, class_index)


@st.cache_data(show_spinner="Running gradient ascent from noise...", max_entries=32)
def filter_patterns(name: str, version: str, layer_name: str, count: int = 8) -> np.ndarray:
    """Inputs that excite the first ``count`` filters of a layer, stacked on the last axis."""
    model = load_predictor(name, version).model
    count = min(count, model.get_layer(layer_name).filters)
    return np.stack([filter_pattern(model, layer_name, index) for index in range(count)], axis=-1)


@st.cache_resource(show_spinner="Indexing the model's training drawings by what the network sees...", max_entries=4)
def neighbour_index(name: str, version: str) -> NeighbourIndex:
    """A model's training drawings indexed by its penultimate-layer features: built once per model, shared by all."""
    predictor = load_predictor(name, version)
    return build_index(predictor.model, predictor.card)


def clear_model_caches() -> None:
    """Forget every cached model and every array computed from one (not the training slot)."""
    load_predictor.clear()
    neighbour_index.clear()
    class_idea.clear()
    filter_patterns.clear()


def categories_on_disk() -> dict[str, set[str]]:
    """The QuickDraw categories the data root holds, per format ("bitmap", "strokes")."""
    return _categories_on_disk(str(data_dir()))


@st.cache_data(ttl=60, show_spinner=False)
def _categories_on_disk(root: str) -> dict[str, set[str]]:
    return {data_format: set(stored(Path(root), data_format)) for data_format in ("bitmap", "strokes")}


def dataset_examples(source: str, category: str, count: int = 4) -> np.ndarray | None:
    """A few real drawings of a category that the data root already holds (no download), or None."""
    return _dataset_examples(str(data_dir()), source, category, count)


@st.cache_data(show_spinner=False, max_entries=100)
def _dataset_examples(root: str, source: str, category: str, count: int) -> np.ndarray | None:
    if source == "quickdraw":
        on_disk = _categories_on_disk(root)
        data_format = "bitmap" if category in on_disk["bitmap"] else "strokes"
        if category not in on_disk[data_format]:
            return None
    else:
        data_format = "bitmap"
    try:
        return build_subset(source, [category], count, data_format=data_format, seed=7, root=root).x
    except (DataError, OSError, ValueError):
        return None


@st.cache_data(show_spinner="Building the network without weights to count its parameters...")
def architecture_figures(name: str) -> dict:
    """Parameter totals and shares of one named architecture, built without weights (the network is not kept)."""
    return {"summary": parameter_summary(build(name)), "input": str(ARCHITECTURES[name].input_shape)}
