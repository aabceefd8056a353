"""Models: compare every model; use one in your session, make one the default for everyone, rename or delete
one (after a confirmation); damaged model folders are listed with what is wrong with them, and can be deleted."""

import streamlit as st

from model.registry import RegistryError
from ui.navigation import page, start_page
from ui.teacher import forget_key, key_required, refuse, teacher_allows
from ui.warmup import wait_for_warm_up

start_page(page("Models"))
st.title("🗂️ Models")
wait_for_warm_up(blocking_steps=2)  # TensorFlow and the models, loaded once, by the warm-up's thread.
from ui.cache import clear_model_caches  # noqa: E402

# Only once TensorFlow is loaded: two threads importing it at once can break both imports.
from ui.exports import export_downloads  # noqa: E402
from ui.models import (  # noqa: E402
    SESSION_MODEL,
    comparison,
    current_model_name,
    forget_model_choice,
    model_switcher,
    registry,
    saved_date,
    saved_here,
    use_model,
)

model_switcher()
models = registry()
try:
    entries, damaged = models.listing()
except OSError as error:
    st.error(f"The model registry {models.folder} cannot be read ({error}).")
    st.stop()
active, in_use = models.active_name(), current_model_name(models, [entry.name for entry in entries])
st.write(f"Everyone's default is **{active}**; your session uses **{in_use}**. \"Use in my session\" switches only "
         "you; \"Make this the default for everyone\" changes what every new session starts with. Bundled models "
         "cannot be renamed or deleted.")
teacher = teacher_allows("make a model the default or change a model saved by someone else", "models")
if key_required():
    st.caption("A teacher key is set: making a model the default, and renaming or deleting a model saved in "
               "another session, ask for it. Your own models are yours to rename and delete.")


def allowed(needs_key: bool, action: str) -> bool:
    """Whether an action may go ahead now; says why not when it needs the teacher key and lacks it."""
    if not needs_key or teacher:
        return True
    refuse(action)
    return False


def done(needs_key: bool) -> None:
    """After a change: forget the teacher key it used, and redraw the page."""
    if needs_key:
        forget_key("models")
    st.rerun()


def delete_button(name: str, needs_key: bool, column=st) -> None:
    """A "Delete…" popover whose button deletes ``name`` for good: opening it and confirming are two steps."""
    with column.popover("Delete…", width="stretch"):
        st.write(f"Delete **{name}** for everyone? This cannot be undone.")
        if not st.button(f"Yes, delete {name}", key=f"delete_{name}", type="primary"):
            return
        if not allowed(needs_key, f"delete a model saved in another session ({name})"):
            return
        try:
            models.delete(name)
        except (RegistryError, OSError) as error:
            st.error(f"Cannot delete {name}: {error}")
            return
        if st.session_state.get(SESSION_MODEL) == name:
            forget_model_choice()
        else:
            clear_model_caches()
        done(needs_key)


st.subheader("Compare")
st.dataframe(comparison(entries), hide_index=True, width="stretch")

for entry in entries:
    card, others = entry.card, key_required() and not saved_here(entry)
    label = f"{entry.name}{' · active' if entry.name == active else ''}{' · bundled' if entry.bundled else ''}"
    with st.expander(label, expanded=entry.name == in_use):
        st.write(card.summary())
        saver = "Bundled with the app" if entry.bundled else f"Saved by {card.saved_by or 'someone unnamed'}" + (
            " in this session" if saved_here(entry) else "")
        accuracy = card.metrics.get("test_top1")
        st.write(f"**{saver}** on {saved_date(entry)}"
                 + (f" · test top-1 **{accuracy:.1%}**" if accuracy is not None else " · not tested"))
        st.write(f"**Classes:** {', '.join(card.class_names)}")
        if "test_top3" in card.metrics:
            st.write(f"**Test:** top-3 {card.metrics['test_top3']:.1%} on {card.metrics.get('test_count', 0):,} "
                     "drawings")
        st.caption(f"Created {card.created} on {card.device}; {card.parameters:,} parameters; rendering recipe "
                   f"{card.recipe}. Reproduce: `{card.command}`")
        export_downloads(entry)
        actions = st.columns(2)
        if actions[0].button("Use in my session", key=f"use_{entry.name}", disabled=entry.name == in_use,
                             width="stretch"):
            use_model(entry.name)
            st.rerun()
        if actions[1].button("Make this the default for everyone", key=f"activate_{entry.name}",
                             disabled=entry.name == active, width="stretch") \
                and allowed(key_required(), "make a model the default"):
            try:
                models.activate(entry.name)
            except (RegistryError, OSError) as error:
                st.error(f"Cannot make {entry.name} the default: {error}")
            else:
                use_model(entry.name)
                done(key_required())
        if entry.bundled:
            continue
        columns = st.columns([3, 1, 1], vertical_alignment="bottom")
        new_name = columns[0].text_input("New name", entry.name, key=f"name_{entry.name}")
        if columns[1].button("Rename", key=f"rename_{entry.name}", width="stretch") \
                and new_name.strip() != entry.name \
                and allowed(others, f"rename a model saved in another session ({entry.name})"):
            try:
                models.rename(entry.name, new_name.strip())
            except (RegistryError, OSError) as error:
                st.error(f"Cannot rename {entry.name}: {error}")
            else:
                if st.session_state.get(SESSION_MODEL) == entry.name:  # This session follows it.
                    use_model(new_name.strip())
                else:
                    clear_model_caches()
                done(others)
        delete_button(entry.name, others, columns[2])

if damaged:
    st.subheader("Damaged models")
    st.write("These model folders cannot be used, and no page uses them. Delete them here, or repair the file named.")
    for broken in damaged:
        st.error(f"`{broken.name}` cannot be used: {broken.problem}")
        if not broken.bundled:
            delete_button(broken.name, key_required(), st.columns(4)[0])
