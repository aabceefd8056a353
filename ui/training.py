"""Train page pieces: the "my own drawings" collector, the queue and live progress panels, and the results."""

from __future__ import annotations

import io

import numpy as np
import streamlit as st

from data_loader import DrawingDataset, from_drawings
from model.evaluate import chance_warning
from model.jobs import Job, JobQueue, JobResult
from ui.canvas import drawing_canvas
from ui.charts import confusion_heatmap, history_chart, image_figure

MINIMUM_DRAWINGS = 10


def collect_drawings() -> dict[str, list] | None:
    """Let the user draw examples of new classes; return them once every class has enough, else None."""
    text = st.text_input("New classes, separated by commas", "circle, triangle, star", key="teach_classes")
    names = list(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    if len(names) < 2:
        st.warning("Name at least two classes.")
        return None
    drawings: dict[str, list] = st.session_state.setdefault("my_drawings", {})
    counts = {name: len(drawings.get(name, [])) for name in names}
    st.write("Drawings so far: " + ", ".join(f"**{name}** {count}" for name, count in counts.items()))
    current = st.radio("Draw an example of", names, horizontal=True, key="teach_current")
    left, right = st.columns([2, 1])
    with left:
        strokes = drawing_canvas(f"teach_{current}_{counts[current]}", "quickdraw", size=280)
    with right:
        if st.button("Add this drawing", disabled=not strokes, type="primary"):
            drawings.setdefault(current, []).append(strokes)
            st.rerun()
        if counts[current] and st.button(f"Remove the last {current}"):
            drawings[current].pop()
            st.rerun()
        st.caption(f"Draw at least {MINIMUM_DRAWINGS} of each class, each a little different.")
    if min(counts.values()) < MINIMUM_DRAWINGS:
        return None
    chosen = {name: drawings[name] for name in names}
    buffer = io.BytesIO()
    dataset = from_drawings(chosen)
    np.savez_compressed(buffer, x=dataset.x, y=dataset.y, class_names=np.array(dataset.class_names))
    st.download_button("Download these drawings as a dataset (.npz)", buffer.getvalue(), "my-drawings.npz",
                       help="x (N, 28, 28) uint8, y labels and class_names, as the data loader writes them")
    return chosen


def drawings_dataset(drawings: dict[str, list], recipe: str) -> DrawingDataset:
    """Render the drawings into a dataset; it travels with the training job and is removed with it."""
    return from_drawings(drawings, recipe)


def queue_panel(job: Job, queue: JobQueue) -> None:
    """A queued job: its place in the queue, and a Cancel button."""
    ahead = job.position or 0
    running = f" ({job.running_now} training{'s' if job.running_now != 1 else ''} running now)"
    st.info(f"⏳ Waiting in the queue: {'yours is next' if ahead == 0 else f'{ahead} ahead of yours'}{running}. "
            f"Waiting for {job.waited:.0f} s. This page updates by itself; you can use the other pages meanwhile "
            "and come back, even after reloading the page.")
    cancel_button(job, queue)


def cancel_button(job: Job, queue: JobQueue) -> None:
    if st.button("Cancel training", disabled=job.cancel_requested, key="cancel_training"):
        queue.cancel(job.id)
        st.toast("Cancelled." if job.state == "queued" else "Stopping after the current batch...")


def progress_panel(job: Job, queue: JobQueue) -> None:
    """Live progress: bar, time, curves and a Cancel button (redrawn every second by the caller's fragment)."""
    progress = job.progress
    if progress is None:
        st.progress(0.0, text="Preparing the data and the network...")
        st.caption(f"{job.elapsed:.0f} s elapsed.")
    else:
        done = (progress.epoch - 1 + progress.batch / max(1, progress.batches)) / progress.epochs
        remaining = f", about {progress.remaining:.0f} s left" if progress.remaining is not None else ""
        st.progress(min(1.0, done), text=f"{progress.phase}: epoch {progress.epoch} of {progress.epochs}, "
                                         f"batch {progress.batch} of {progress.batches}")
        st.caption(f"{job.elapsed:.0f} s elapsed{remaining}. Latest: " +
                   ", ".join(f"{key} {value:.3f}" for key, value in progress.metrics.items()))
        left, right = st.columns(2)
        left.plotly_chart(history_chart(progress.history, "loss", "Loss"), key="live_loss")
        right.plotly_chart(history_chart(progress.history, "accuracy", "Accuracy"), key="live_accuracy")
    cancel_button(job, queue)


def results_panel(result: JobResult) -> None:
    """Test metrics (with a plain word when they are near chance), curves, and a confusion matrix whose cells
    show the drawings behind them."""
    evaluation = result.evaluation
    names = evaluation.class_names
    part = result.evaluated_on.capitalize()  # "Test", or "Validation" for a few drawings kept whole.
    columns = st.columns(3)
    columns[0].metric(f"{part} top-1", f"{evaluation.top1:.1%}")
    columns[1].metric(f"{part} top-3", f"{evaluation.top3:.1%}")
    columns[2].metric("Training time", f"{result.card.training_seconds:.0f} s")
    if warning := chance_warning(evaluation):
        st.warning(warning)
    left, right = st.columns(2)
    left.plotly_chart(history_chart(result.history, "loss", "Loss"), key="final_loss")
    right.plotly_chart(history_chart(result.history, "accuracy", "Accuracy"), key="final_accuracy")
    if result.evaluated_on == "validation":
        st.caption("Too few drawings to keep a test part: these figures come from the validation drawings.")
    st.write("Per-class accuracy: " + ", ".join(f"{name} {value:.0%}" for name, value in evaluation.per_class.items()))
    st.write("Confusion matrix: click a cell, or pick one below, to see the drawings behind it.")
    event = st.plotly_chart(confusion_heatmap(evaluation.confusion, names), on_select="rerun",
                            selection_mode="points", key="confusion")
    points = (event or {}).get("selection", {}).get("points", []) if isinstance(event, dict) else \
        getattr(getattr(event, "selection", None), "points", [])
    picked = (points[0]["y"], points[0]["x"]) if points else None
    columns = st.columns(2)
    true_name = columns[0].selectbox("True class", names, index=names.index(picked[0]) if picked else 0)
    default_guess = names.index(picked[1]) if picked else min(1, len(names) - 1)
    guess_name = columns[1].selectbox("Guessed as", names, index=default_guess)
    true_index, guess_index = names.index(true_name), names.index(guess_name)
    indices = np.flatnonzero((evaluation.labels == true_index) & (evaluation.predictions == guess_index))
    if len(indices) == 0:
        st.caption(f"No {result.evaluated_on} drawing in that cell.")
    else:
        strip = np.hstack(list(result.evaluated_images[indices[:10]]))
        st.plotly_chart(image_figure(strip, f"{len(indices)} {true_name} drawings guessed as {guess_name}",
                                     size=min(900, 90 * min(10, len(indices)))), key="cell_drawings")
