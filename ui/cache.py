"""The one place where the app caches: models, the training queue, the warm-up, and the arrays pages draw.

Models, the training queue (with its worker processes) and the warm-up live in ``st.cache_resource``
(one per server, shared by every session, a deliberate choice); computed arrays in ``st.cache_data``.
``clear_model_caches`` forgets everything that depends on a model after a model is saved, activated,
renamed or deleted; it keeps the training queue and whatever does not depend on a model.

This module imports TensorFlow only inside the functions that need it, so that a page can draw its title
and the warm-up state (``warm_up``) before TensorFlow has loaded.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas  # noqa: F401 - imported here, on the page thread, so that plotly never sees it half-imported by the warm-up
import streamlit as st

from data_loader import DataError, build_subset, data_dir
from data_loader.quickdraw import stored
from model.jobs import JobQueue, jobs_dir
from model.registry import Registry
from ui import runtime  # noqa: F401 - keeps Keras' session between runs (see ui/runtime.py)
from ui.warmup import Warmup


@st.cache_resource(show_spinner="Loading the model...", max_entries=8)
def load_predictor(name: str, version: str):
    """Load a model once per server; ``version`` (its card's creation time) reloads a re-saved name."""
    from model.predict import Predictor

    return Predictor.load(name, Registry())


def job_queue() -> JobQueue:
    """The server's training queue, with its worker processes started (once per jobs folder)."""
    return _job_queue(str(jobs_dir()))


@st.cache_resource(show_spinner=False)
def _job_queue(folder: str) -> JobQueue:
    from model.pool import WorkerPool

    queue = JobQueue(folder)
    queue.pool = WorkerPool(queue).start()  # Stopped when the server's Python exits (model.pool.stop_all).
    return queue


@st.cache_resource(show_spinner=False)
def warm_up() -> Warmup:
    """The server's warm-up, started by the first page run: TensorFlow, the models, first computations."""
    return Warmup(_warm_steps()).start()


def _warm_steps() -> list:
    """What the warm-up does, in order: each step is (what a visitor reads, a function)."""

    def load_tensorflow() -> None:
        import model.introspection  # noqa: F401
        import model.train  # noqa: F401
        import ui.models  # noqa: F401

    def load_models() -> None:
        registry = Registry()
        names = list(dict.fromkeys([registry.active_name(), *[entry.name for entry in registry.entries()
                                                               if entry.bundled]]))
        for entry in [registry.get(name) for name in names]:
            load_predictor(entry.name, entry.card.created)

    def first_computations() -> None:
        from model.introspection import activations, grad_cam

        registry = Registry()
        entry = registry.get(registry.active_name())
        predictor = load_predictor(entry.name, entry.card.created)
        image, _ = predictor.classify_strokes([[[10, 90, 50, 10], [10, 10, 90, 10]]])
        activations(predictor.model, image)
        grad_cam(predictor.model, image)

    def famous_networks() -> None:
        from model.architectures import ARCHITECTURES

        for name in ARCHITECTURES:
            architecture_figures(name)

    return [("loading TensorFlow", load_tensorflow), ("loading the models", load_models),
            ("running the first guesses and activations", first_computations),
            ("starting the training workers", job_queue),
            ("counting the famous networks' parameters", famous_networks)]


@st.cache_data(show_spinner="Imagining the category by gradient ascent...", max_entries=200)
def class_idea(name: str, version: str, class_index: int) -> np.ndarray:
    """The model's own idea of a class: an input optimised to maximise it (cached per model and class)."""
    from model.introspection import class_pattern

    return class_pattern(load_predictor(name, version).model, class_index)


@st.cache_data(show_spinner="Running gradient ascent from noise...", max_entries=32)
def filter_patterns(name: str, version: str, layer_name: str, count: int = 8) -> np.ndarray:
    """Inputs that excite the first ``count`` filters of a layer, stacked on the last axis."""
    from model.introspection import filter_patterns as ascend_filters

    model = load_predictor(name, version).model
    return ascend_filters(model, layer_name, range(min(count, model.get_layer(layer_name).output.shape[-1])))


@st.cache_resource(show_spinner="Indexing the model's training drawings by what the network sees...", max_entries=4)
def neighbour_index(name: str, version: str):
    """A model's training drawings indexed by its penultimate-layer features: built once per model, shared by all."""
    from model.neighbours import build_index
    from model.registry import models_dir

    predictor = load_predictor(name, version)
    return build_index(predictor.model, predictor.card, cache_folder=models_dir() / ".neighbours")


def clear_model_caches() -> None:
    """Forget every cached model and every array computed from one (not the training queue)."""
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
    """Parameter totals and shares of one named architecture, built without weights (the network is not kept).

    Built one at a time: the warm-up thread and a page may ask at once, and Keras' layer naming is not made for
    two threads building models together.
    """
    from model.architectures import ARCHITECTURES, build
    from model.introspection import parameter_summary

    with _BUILDING:
        return {"summary": parameter_summary(build(name)), "input": str(ARCHITECTURES[name].input_shape)}


_BUILDING = threading.Lock()


if st.runtime.exists():  # In a running server, the first page run of any page starts the warm-up.
    warm_up()
