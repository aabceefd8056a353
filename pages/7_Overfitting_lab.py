"""Overfitting lab: one small network trained twice on a few drawings, without and with augmentation plus dropout."""

import streamlit as st

from model.overfitting import (
    RUN_TITLES,
    RUNS,
    LabSettings,
    cancel_lab,
    expected_seconds,
    follow_labs,
    saved_labs,
    submit_lab,
)
from ui.lesson_charts import lab_curves
from ui.navigation import page, start_page
from ui.owner import owner_id

start_page(page("Overfitting lab"))
st.title("📉 The overfitting lab")
from ui.cache import categories_on_disk, job_queue  # noqa: E402 - after the title: it starts the warm-up

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
    if st.session_state.get("lab_choice") not in paths:
        st.session_state.pop("lab_choice", None)
    choice = st.selectbox("Open a saved lab", paths, format_func=titles.get, key="lab_choice")
    show(next(lab.result for lab in usable if str(lab.path) == choice))


def run_line(name: str, job) -> None:
    """One run's place in the queue or progress bar."""
    title = f"Run {RUNS.index(name) + 1} of 2, {RUN_TITLES[name]}"
    progress = job.progress
    if job.state == "queued":
        ahead = f"{job.position} training{'s' if job.position != 1 else ''} ahead" if job.position else "next"
        st.progress(0.0, text=f"{title}: waiting in the queue ({ahead})")
    elif job.state == "done":
        st.progress(1.0, text=f"{title}: done in {job.elapsed:.0f} s")
    elif progress is None:
        st.progress(0.0, text=f"{title}: preparing the data and the network...")
    else:
        done = (progress.epoch - 1 + progress.batch / max(1, progress.batches)) / progress.epochs
        st.progress(min(1.0, done), text=f"{title}: epoch {progress.epoch} of {progress.epochs}")


@st.fragment(run_every=1.0)
def follow(key: str) -> None:
    lab = next((lab for lab in follow_labs(queue, owner=me) if lab.key == key), None)
    if lab is None or not lab.active:
        st.session_state["lab_outcome"] = lab
        st.rerun(scope="app")
    for name, job in zip(RUNS, lab.jobs, strict=True):
        run_line(name, job)
    st.caption("The trainings run in the server's worker, one after the other; you can leave this page and come "
               "back: the lab is saved when both are done.")
    if st.button("Cancel the lab"):
        cancel_lab(queue, lab)
        st.toast("Stopping after the current batch...")


def outcome() -> None:
    """Say how this visitor's lab ended, once."""
    lab = st.session_state.pop("lab_outcome", None)
    if lab is None:
        return
    if lab.state == "done":
        st.session_state["lab_choice"] = str(lab.path)
        st.success("Your lab finished and was saved: it is the one shown below.")
    elif lab.state == "failed":
        st.error(f"The lab failed: {lab.error}")
    else:
        st.warning(f"The lab was cancelled ({lab.error}); nothing was saved.")


def new_lab_section() -> None:
    mine = [lab for lab in labs_now if lab.active and all(job.owner == me for job in lab.jobs)]
    if mine:
        follow(mine[-1].key)
        return
    others = [lab for lab in labs_now if lab.active]
    if others:
        st.caption(f"{len(others)} lab{'s' if len(others) > 1 else ''} of other visitors in the training queue: a new "
                   "one waits its turn.")
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
    if st.button("Run both trainings", type="primary", disabled=len(classes) < 2):
        try:
            settings = LabSettings(classes=classes, per_class=per_class, augment_strength=strength, dropout=dropout)
            submit_lab(queue, settings, me)
            st.rerun()
        except (ValueError, OSError) as error:
            st.error(f"Cannot start: {error}")
    if len(classes) < 2:
        st.caption("Pick at least two categories.")


queue, me = job_queue(), owner_id()
labs_now = follow_labs(queue)  # Saves any lab whose two runs have finished, whoever started it.
for ended in labs_now:
    if not ended.active and all(job.owner == me for job in ended.jobs):
        st.session_state["lab_outcome"] = ended
st.header("Labs run earlier")
outcome()
saved_section()
st.header("Run a new lab")
new_lab_section()
