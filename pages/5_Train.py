"""Train: pick classes of QuickDraw or MNIST, or draw your own; train or fine-tune; watch it learn; use it."""

import streamlit as st

from data_loader.quickdraw import CATEGORIES
from model.architectures import ARCHITECTURES, TRAINABLE
from model.jobs import TrainingBusy
from model.registry import RegistryError
from model.train import save_result
from ui.cache import categories_on_disk, training_slot
from ui.choices import DATA_SOURCES, EXPLANATIONS, FORMATS, STARTS, config_from_choices, default_format
from ui.models import model_switcher, registry, session_id, use_model
from ui.navigation import page, start_page
from ui.training import collect_drawings, progress_panel, results_panel, save_drawings

start_page(page("Train"))
st.title("🏋️ Train a network")
model_switcher()
slot, me = training_slot(), session_id()
job = st.session_state.get("job")


@st.fragment(run_every=1.0)
def live(job) -> None:
    if not job.running:
        st.rerun(scope="app")
    progress_panel(job)


def explained(widget, key: str):
    """Draw a choice with its explanation under it, and return the choice."""
    st.caption(EXPLANATIONS[key])
    return widget


def setup() -> None:
    busy = slot.busy_with()
    if busy is not None:
        st.warning("A training is running in another session; you can train when it ends. Every other page "
                   "keeps working meanwhile.")
    data = explained(st.radio("Data", list(DATA_SOURCES), horizontal=True), "data")
    classes, drawings, per_class, data_format = [], None, 1000, "bitmap"
    if DATA_SOURCES[data] == "quickdraw":
        on_disk = categories_on_disk()
        stored = on_disk["bitmap"] | on_disk["strokes"]
        classes = st.multiselect("Categories (✓ = already in the data folder, others are downloaded)", CATEGORIES,
                                 default=["cat", "fish", "house"],
                                 format_func=lambda name: f"{name} ✓" if name in stored else name)
        formats = list(FORMATS)
        data_format = explained(st.radio("Drawings as", formats, formats.index(default_format(classes, on_disk)),
                                         format_func=FORMATS.get, horizontal=True), "format")
    elif DATA_SOURCES[data] == "mnist":
        classes = st.multiselect("Digits", [str(digit) for digit in range(10)], default=["0", "1", "7"])
    else:
        drawings = collect_drawings()
    if DATA_SOURCES[data] != "file":
        per_class = explained(st.slider("Drawings per class", 50, 5000, 1000, 50), "per_class")
    columns = st.columns(3)
    with columns[0]:
        architecture = explained(st.selectbox("Architecture", TRAINABLE, index=2), "architecture")
        st.caption(ARCHITECTURES[architecture].description)
    with columns[1]:
        epochs = explained(st.slider("Epochs", 1, 50, 5), "epochs")
    with columns[2]:
        batch_size = explained(st.select_slider("Batch size", [16, 32, 64, 128, 256], 128),
                               "batch_size")
    columns = st.columns(3)
    with columns[0]:
        learning_rate = explained(st.select_slider("Learning rate", [1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2],
                                                   2e-3), "learning_rate")
    with columns[1]:
        augment = explained(st.toggle("Data augmentation", value=False), "augment")
        strength = explained(st.slider("Augmentation strength", 0.1, 1.0, 0.5, disabled=not augment),
                             "augment_strength")
    with columns[2]:
        dropout = explained(st.slider("Dropout", 0.0, 0.7, 0.3, 0.05), "dropout")
    if drawings:
        st.caption("With fewer than 50 drawings a class, the trainer uses its small-data recipe instead of these "
                   "settings: 25 epochs, batches of 16, learning rate 0.003, augmentation, no early stop.")
    start = explained(st.radio("Start from", list(STARTS), index=0 if not drawings else 2), "start")
    base, fine_tune_epochs = None, 5
    if STARTS[start] != "scratch":
        names = registry().names()
        base = explained(st.selectbox("Base model", names, index=names.index("quickdraw18")
                                      if "quickdraw18" in names else 0), "base")
    if STARTS[start] == "fine_tuning":
        fine_tune_epochs = explained(st.slider("Fine-tuning epochs", 1, 30, 5), "fine_tune_epochs")
    blocked = busy is not None or (DATA_SOURCES[data] == "file" and not drawings)
    if st.button("Train", type="primary", disabled=blocked):
        try:
            recipe = "mnist" if base == "mnist" else "quickdraw"
            dataset_file = str(save_drawings(drawings, recipe)) if drawings else None
            config = config_from_choices(data, classes, per_class, architecture, epochs, batch_size, learning_rate,
                                         augment, strength, dropout, start, base, dataset_file, fine_tune_epochs,
                                         data_format=data_format)
            st.session_state["job"] = slot.start(config, me)
            st.rerun()
        except (ValueError, TrainingBusy, OSError) as error:
            st.error(f"Cannot start: {error}")


def finish(job) -> None:
    if job.status == "failed":
        st.error(f"The training failed: {job.error}")
    elif job.status == "cancelled":
        st.warning("Training cancelled. Nothing was saved; the models are as they were.")
    else:
        results_panel(job)
        with st.form("save"):
            name = st.text_input("Save as", f"my-{job.config.architecture}-{len(job.result.card.class_names)}-classes")
            if st.form_submit_button("Save and make it the active model", type="primary"):
                try:
                    entry = save_result(job.result, name.strip(), registry(), activate=True)
                except (ValueError, RegistryError, OSError) as error:
                    st.error(f"Not saved: {error}")
                else:
                    use_model(entry.name)
                    st.session_state["saved_model"] = entry.name
                    st.rerun()
    if st.session_state.get("saved_model"):
        st.success(f"Saved **{st.session_state['saved_model']}**: it is now the active model on every page.")
    if st.button("Start over"):
        for key in ("job", "saved_model"):
            st.session_state.pop(key, None)
        st.rerun()


if job is None:
    setup()
elif job.running:
    st.info(f"Training {', '.join(job.config.classes) or 'your drawings'} ...")
    live(job)
else:
    finish(job)
