"""Overfitting lab: one small network trained twice on a few drawings, without and with augmentation plus dropout."""

import streamlit as st

from model.jobs import TrainingBusy
from model.overfitting import RUN_TITLES, RUNS, LabRun, LabSettings, expected_seconds, saved_labs
from ui.cache import categories_on_disk, training_slot
from ui.lesson_charts import lab_curves
from ui.models import session_id
from ui.navigation import page, start_page

start_page(page("Overfitting lab"))
st.title("📉 The overfitting lab")
st.markdown("A network trained from scratch on a **small** set of drawings learns them by heart: its training "
            "accuracy climbs to 100% while its accuracy on drawings it has not seen (validation) stalls, and the "
            "validation loss turns back up. Here the same small network is trained twice on the same drawings: "
            "once plain, once with **data augmentation** (randomly rotated, shifted and zoomed copies) and "
            "**dropout** (units silenced at random while training). Watch the gap between the solid and the "
            "dashed line of each colour.")


def show(result) -> None:
    """Both runs' final figures and overlaid curves."""
    columns = st.columns(2)
    for column, name in zip(columns, RUNS, strict=True):
        run = result.runs[name]
        column.metric(f"Validation accuracy, {RUN_TITLES[name]}", f"{run.final('val_accuracy'):.1%}",
                      f"training {run.final('accuracy'):.1%}, gap {run.gap():+.1%}", delta_color="off",
                      delta_arrow="off")
    left, right = st.columns(2)
    left.plotly_chart(lab_curves(result, "accuracy", "Accuracy (solid: training, dashed: validation)"),
                      key="lab_accuracy")
    right.plotly_chart(lab_curves(result, "loss", "Loss (solid: training, dashed: validation)"), key="lab_loss")
    plain, regularised = result.runs["plain"], result.runs["regularised"]
    st.markdown(f"Without augmentation or dropout the validation loss is lowest at epoch **{plain.best_epoch()}** "
                f"and rises after it while the training loss keeps falling: from there on the network memorises. "
                f"At the end it is right on **{plain.final('accuracy'):.0%}** of its training drawings but only "
                f"**{plain.final('val_accuracy'):.0%}** of the others. With them, the two curves stay together "
                f"(gap {regularised.gap():+.0%} against {plain.gap():+.0%}).")
    with st.expander("How these runs were made"):
        settings = result.settings
        train_count = sum(plain.train_counts.values())
        validation_count = sum(plain.validation_counts.values())
        st.write(f"Categories: {', '.join(settings['classes'])}; {settings['per_class']} drawings each: "
                 f"{train_count} to train on, {validation_count} kept aside for validation. Network "
                 f"`{settings['architecture']}`, {settings['epochs']} epochs, augmentation strength "
                 f"{settings['augment_strength']:g}, dropout {settings['dropout']:g}.")
        for name in RUNS:
            run = result.runs[name]
            st.caption(f"{RUN_TITLES[name]}: {run.seconds:.0f} s on {run.device or 'an unknown device'}")
            st.code(run.command, language="bash")


def saved_section() -> None:
    labs = saved_labs()
    usable = [lab for lab in labs if lab.result is not None]
    for lab in labs:
        if lab.result is None:
            st.warning(f"A saved lab cannot be opened: {lab.error}")
    if not usable:
        st.info("No lab has been run yet. Run one below: it is saved, and anyone can open it here at once.")
        return
    paths = [str(lab.path) for lab in usable]
    titles = {str(lab.path): lab.result.title + (" · bundled" if lab.bundled else "") for lab in usable}
    wanted = st.session_state.get("lab_just_saved")
    choice = st.selectbox("Open a saved lab", paths, index=paths.index(wanted) if wanted in paths else 0,
                          format_func=titles.get, key="lab_choice")
    show(next(lab.result for lab in usable if str(lab.path) == choice))


@st.fragment(run_every=1.0)
def follow(run: LabRun) -> None:
    if not run.running:
        st.rerun(scope="app")
    job = run.job
    progress = job.progress if job is not None else None
    step = "1 of 2: " + RUN_TITLES["plain"] if run.stage == "plain" else "2 of 2: " + RUN_TITLES["regularised"]
    if progress is None:
        st.progress(0.0, text=f"Training {step}: preparing the data and the network...")
    else:
        done = (progress.epoch - 1 + progress.batch / max(1, progress.batches)) / progress.epochs
        st.progress(min(1.0, done), text=f"Training {step}: epoch {progress.epoch} of {progress.epochs}")
    st.caption(f"{run.elapsed:.0f} s since the lab started.")
    if st.button("Cancel the lab"):
        run.cancel()
        st.toast("Stopping after the current batch...")


def new_lab_section() -> None:
    run = st.session_state.get("lab_run")
    if run is not None and run.running:
        follow(run)
        return
    if run is not None:
        if run.stage == "done":
            st.session_state["lab_just_saved"] = str(run.path)
            st.success("The lab finished and was saved: it is the one shown above.")
        elif run.stage == "failed":
            st.error(f"The lab failed: {run.error}")
        else:
            st.warning("The lab was cancelled; nothing was saved.")
        st.session_state.pop("lab_run")
    slot = training_slot()
    busy = slot.busy_with()
    if busy is not None:
        st.warning("A training is running on this server now; you can start a lab when it ends. Saved labs open "
                   "meanwhile.")
    bitmaps = sorted(categories_on_disk()["bitmap"])
    defaults = [name for name in ("cat", "dog", "bird", "fish", "apple") if name in bitmaps] or bitmaps[:4]
    classes = st.multiselect("Categories", bitmaps, default=defaults, key="lab_classes")
    per_class = st.slider("Drawings per class (a quarter is kept aside for validation)", 50, 500, 100, 25,
                          key="lab_per_class")
    left, right = st.columns(2)
    strength = left.slider("Augmentation strength", 0.1, 1.0, 0.6, 0.1, key="lab_strength",
                           help="How far the random rotations, shifts and zooms go.")
    dropout = right.slider("Dropout rate", 0.1, 0.7, 0.5, 0.05, key="lab_dropout",
                           help="The share of units silenced at random before the classifier, while training.")
    seconds = expected_seconds(len(classes), per_class)
    duration = f"{seconds / 60:.0f} minutes" if seconds >= 100 else f"{seconds:.0f} seconds"
    st.caption(f"Both runs train the small `lecture` network for 30 epochs, one after the other: about {duration} "
               f"for {len(classes)} categories of {per_class} drawings on a 2-core CPU.")
    if st.button("Run both trainings", type="primary", disabled=busy is not None or len(classes) < 2):
        try:
            settings = LabSettings(classes=classes, per_class=per_class, augment_strength=strength, dropout=dropout)
            st.session_state["lab_run"] = LabRun(settings, slot, session_id()).start()
            st.rerun()
        except (ValueError, TrainingBusy, OSError) as error:
            st.error(f"Cannot start: {error}")
    if len(classes) < 2:
        st.caption("Pick at least two categories.")


st.header("Labs run earlier")
saved_section()
st.header("Run a new lab")
new_lab_section()
