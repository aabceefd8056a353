"""Train: pick classes of QuickDraw or MNIST, or draw your own; train or fine-tune; watch it learn; use it.

Trainings run in worker processes, not in the web server: the page submits a job to the server's queue
(``model.jobs``) and follows it. A student's job is found again after a reload (``ui.owner``).
"""

import streamlit as st

from ui.navigation import page, start_page
from ui.warmup import wait_for_warm_up

start_page(page("Train"))
st.title("🏋️ Train a network")
wait_for_warm_up(blocking_steps=2)  # On a cold server: say so, instead of a blank page.

# Imported once the warm-up has loaded TensorFlow.
from data_loader.quickdraw import CATEGORIES  # noqa: E402
from model.architectures import ARCHITECTURES, TRAINABLE  # noqa: E402
from model.jobs import JobError  # noqa: E402
from model.registry import RegistryError  # noqa: E402
from model.train import save_result  # noqa: E402
from ui.cache import categories_on_disk, job_queue  # noqa: E402
from ui.choices import DATA_SOURCES, EXPLANATIONS, FORMATS, STARTS, config_from_choices, default_format  # noqa: E402
from ui.models import current_model_name, model_switcher, registry, use_model  # noqa: E402
from ui.owner import owner_id  # noqa: E402
from ui.teacher import forget_key, refuse, teacher_allows  # noqa: E402
from ui.training import (  # noqa: E402
    collect_drawings,
    drawings_dataset,
    progress_panel,
    queue_panel,
    results_panel,
)

model_switcher()
queue, me = job_queue(), owner_id()


def my_job():
    """This visitor's job: the one this session follows, else their latest one (after a reload), else None."""
    job_id = st.session_state.get("job_id")
    if job_id is None:
        mine = queue.jobs(owner=me, purpose="train")
        if not mine:
            return None
        job_id = st.session_state["job_id"] = mine[-1].id
    try:
        return queue.get(job_id)
    except JobError:
        st.session_state.pop("job_id", None)
        return None


@st.fragment(run_every=1.0)
def live(job_id: str) -> None:
    try:
        job = queue.get(job_id)
    except JobError:
        job = None
    if job is None or not job.active:
        st.rerun(scope="app")
    if job.state == "queued":
        queue_panel(job, queue)
    else:
        progress_panel(job, queue)


def others_panel() -> None:
    """The other sessions' trainings, queued or running; cancelling one asks for the teacher key if one is set."""
    others = [job for job in queue.jobs() if job.active and job.owner != me]
    if not others:
        return
    with st.expander(f"Other trainings on this server: {len(others)} queued or running"):
        allowed = None
        for job in others:
            left, right = st.columns([4, 1])
            place = "running" if job.state == "running" else f"queued, place {job.position + 1}"
            left.write(f"{job.label or 'a training'} · {place} · {job.elapsed or job.waited:.0f} s")
            if right.button("Cancel", key=f"cancel_other_{job.id}"):
                allowed = job.id
        permitted = teacher_allows("cancel another session's training", "cancel")
        if allowed is not None:
            if permitted:
                queue.cancel(allowed)
                forget_key("cancel")
                st.toast("That training is cancelled.")
            else:
                refuse("cancel another session's training")


def explained(widget, key: str):
    """Draw a choice with its explanation under it, and return the choice."""
    st.caption(EXPLANATIONS[key])
    return widget


def setup() -> None:
    waiting = [job for job in queue.jobs() if job.active]
    if waiting:
        st.info(f"{len(waiting)} training{'s are' if len(waiting) > 1 else ' is'} queued or running on this "
                "server: yours will start when a worker is free. Every other page keeps working meanwhile.")
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
    blocked = DATA_SOURCES[data] == "file" and not drawings
    if st.button("Train", type="primary", disabled=blocked):
        try:
            registry().check_writable()  # Say it now, not after the training.
            recipe = "mnist" if base == "mnist" else "quickdraw"
            config = config_from_choices(data, classes, per_class, architecture, epochs, batch_size, learning_rate,
                                         augment, strength, dropout, start, base,
                                         "dataset.npz" if drawings else None, fine_tune_epochs,
                                         data_format=data_format)
            dataset = drawings_dataset(drawings, recipe) if drawings else None
            label = ", ".join(classes) if classes else "own drawings: " + ", ".join(drawings)
            job = queue.submit(config, me, label, dataset=dataset, purpose="train")
            st.session_state["job_id"] = job.id
            st.rerun()
        except (ValueError, JobError, RegistryError, OSError) as error:
            st.error(f"Cannot start: {error}")


def save_form(result) -> None:
    """Save the model under a name: for this session only ("Save and use it") or without switching."""
    with st.form("save"):
        name = st.text_input("Save as", f"my-{result.card.architecture}-{len(result.card.class_names)}-classes")
        saved_by = st.text_input("Your name (optional)", max_chars=64,
                                 help="Shown with the model on the Models page, so that the class knows whose it is.")
        left, right = st.columns(2)
        switch = left.form_submit_button("Save and use it", type="primary",
                                         help="Your session switches to it; nobody else's does.")
        keep = right.form_submit_button("Save without switching")
    if switch or keep:
        try:
            entry = save_result(result, name.strip(), registry(), saved_by=saved_by, owner=me)
        except (ValueError, RegistryError, OSError) as error:
            st.error(f"Not saved: {error}")
            return
        if switch:
            use_model(entry.name)
        st.session_state["saved_model"] = (entry.name, bool(switch))
        st.rerun()


def finish(job) -> None:
    if job.state == "failed":
        st.error(f"The training failed: {job.error}")
    elif job.state == "cancelled":
        st.warning("Training cancelled. Nothing was saved; the models are as they were.")
    else:
        loaded = st.session_state.get("job_result")
        if loaded is None or loaded[0] != job.id:
            try:
                loaded = st.session_state["job_result"] = (job.id, queue.result(job.id))
            except (JobError, RegistryError, OSError, ValueError) as error:
                st.error(f"The trained model cannot be read: {error}")
                loaded = None
        if loaded is not None:
            results_panel(loaded[1], job.progress.batch_history if job.progress is not None else None)
            save_form(loaded[1])
    saved = st.session_state.get("saved_model")
    if saved:
        name, switched = saved
        if switched:
            st.success(f"Saved **{name}**: your session now uses it. Other sessions, and the default model for "
                       "everyone, are unchanged (the Models page can make it the default).")
        else:
            st.success(f"Saved **{name}**. Your session still uses {current_model_name()}; pick {name} in the "
                       "sidebar to try it.")
    if st.button("Start over"):
        queue.remove(job.id)
        for key in ("job_id", "job_result", "saved_model"):
            st.session_state.pop(key, None)
        st.rerun()


job = my_job()
if job is None:
    setup()
elif job.active:
    st.info(f"Training {job.label} ...")
    live(job.id)
else:
    finish(job)
others_panel()
