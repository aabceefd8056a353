"""Train: pick classes of QuickDraw or MNIST, or draw your own; train or fine-tune; watch it learn; use it."""

import streamlit as st

from data_loader import data_dir
from data_loader.quickdraw import CATEGORIES, available
from model.architectures import ARCHITECTURES, TRAINABLE
from model.jobs import TrainingBusy
from model.train import save_result
from ui.choices import DATA_SOURCES, EXPLANATIONS, STARTS, config_from_choices
from ui.models import clear_caches, model_switcher, registry, session_id, training_slot
from ui.training import collect_drawings, progress_panel, results_panel, save_drawings

st.set_page_config(page_title="Train · Doodle Lab", page_icon="🏋️", layout="wide")
st.title("🏋️ Train a network")
model_switcher()
slot, me = training_slot(), session_id()
job = st.session_state.get("job")


@st.cache_data(ttl=60, show_spinner=False)
def on_disk() -> set[str]:
    return set(available(data_dir())["bitmap"])


@st.fragment(run_every=1.0)
def live(job) -> None:
    if not job.running:
        st.rerun(scope="app")
    progress_panel(job)


def setup() -> None:
    busy = slot.busy_with()
    if busy is not None:
        st.warning("A training is running in another session; you can train when it ends. Every other page "
                   "keeps working meanwhile.")
    data = st.radio("Data", list(DATA_SOURCES), horizontal=True)
    classes, drawings, per_class = [], None, 1000
    if DATA_SOURCES[data] == "quickdraw":
        stored = on_disk()
        classes = st.multiselect("Categories (✓ = already in the data folder, others are downloaded)", CATEGORIES,
                                 default=["cat", "fish", "house"],
                                 format_func=lambda name: f"{name} ✓" if name in stored else name)
    elif DATA_SOURCES[data] == "mnist":
        classes = st.multiselect("Digits", [str(digit) for digit in range(10)], default=["0", "1", "7"])
    else:
        drawings = collect_drawings()
    if DATA_SOURCES[data] != "file":
        per_class = st.slider("Drawings per class", 50, 5000, 1000, 50, help=EXPLANATIONS["per_class"])
    columns = st.columns(3)
    architecture = columns[0].selectbox("Architecture", TRAINABLE, index=2, help=EXPLANATIONS["architecture"])
    columns[0].caption(ARCHITECTURES[architecture].description)
    epochs = columns[1].slider("Epochs", 1, 50, 25 if drawings else 5, help=EXPLANATIONS["epochs"])
    batch_size = columns[2].select_slider("Batch size", [16, 32, 64, 128, 256], 128 if not drawings else 16,
                                          help=EXPLANATIONS["batch_size"])
    columns = st.columns(3)
    learning_rate = columns[0].select_slider("Learning rate", [1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2],
                                             3e-3 if drawings else 2e-3,
                                             help=EXPLANATIONS["learning_rate"])
    augment = columns[1].toggle("Data augmentation", value=False, help=EXPLANATIONS["augment"])
    strength = columns[1].slider("Augmentation strength", 0.1, 1.0, 0.5, disabled=not augment)
    dropout = columns[2].slider("Dropout", 0.0, 0.7, 0.3, 0.05, help=EXPLANATIONS["dropout"])
    start = st.radio("Start from", list(STARTS), index=0 if not drawings else 2, help=EXPLANATIONS["start"])
    base = None
    if STARTS[start] != "scratch":
        names = registry().names()
        base = st.selectbox("Base model", names, index=names.index("quickdraw18") if "quickdraw18" in names else 0)
    blocked = busy is not None or (DATA_SOURCES[data] == "file" and not drawings)
    if st.button("Train", type="primary", disabled=blocked):
        try:
            recipe = "mnist" if base == "mnist" else "quickdraw"
            dataset_file = str(save_drawings(drawings, recipe)) if drawings else None
            config = config_from_choices(data, classes, per_class, architecture, epochs, batch_size, learning_rate,
                                         augment, strength, dropout, start, base, dataset_file)
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
                except ValueError as error:
                    st.error(str(error))
                else:
                    clear_caches()
                    st.session_state["model_name"] = entry.name
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
