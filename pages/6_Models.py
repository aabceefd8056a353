"""Models: every model in the registry with its card; activate, rename or delete them."""

import streamlit as st

from model.registry import RegistryError
from ui.cache import clear_model_caches
from ui.exports import export_downloads
from ui.models import SESSION_MODEL, forget_model_choice, model_switcher, registry, use_model
from ui.navigation import page, start_page

start_page(page("Models"))
st.title("🗂️ Models")
model_switcher()
models = registry()
active = models.active_name()
st.write(f"The active model (everyone's default) is **{active}**. Bundled models cannot be renamed or deleted.")

for entry in models.entries():
    card = entry.card
    label = f"{entry.name}{' · active' if entry.name == active else ''}{' · bundled' if entry.bundled else ''}"
    with st.expander(label, expanded=entry.name == active):
        st.write(card.summary())
        st.write(f"**Classes:** {', '.join(card.class_names)}")
        if card.metrics:
            metrics = card.metrics
            st.write(f"**Test:** top-1 {metrics.get('test_top1', 0):.1%}, top-3 {metrics.get('test_top3', 0):.1%}"
                     f" on {metrics.get('test_count', 0):,} drawings")
        st.caption(f"Created {card.created} on {card.device}; {card.parameters:,} parameters; rendering recipe "
                   f"{card.recipe}. Reproduce: `{card.command}`")
        export_downloads(entry)
        columns = st.columns(3)
        if columns[0].button("Activate", key=f"activate_{entry.name}", disabled=entry.name == active):
            try:
                models.activate(entry.name)
            except (RegistryError, OSError) as error:
                st.error(f"Cannot activate {entry.name}: {error}")
            else:
                use_model(entry.name)
                st.rerun()
        if not entry.bundled:
            new_name = columns[1].text_input("New name", entry.name, key=f"name_{entry.name}")
            if columns[1].button("Rename", key=f"rename_{entry.name}"):
                try:
                    models.rename(entry.name, new_name.strip())
                except (RegistryError, OSError) as error:
                    st.error(f"Cannot rename {entry.name}: {error}")
                else:
                    if st.session_state.get(SESSION_MODEL) == entry.name:  # This session follows it.
                        use_model(new_name.strip())
                    else:
                        clear_model_caches()
                    st.rerun()
            if columns[2].button("Delete", key=f"delete_{entry.name}"):
                try:
                    models.delete(entry.name)
                except (RegistryError, OSError) as error:
                    st.error(f"Cannot delete {entry.name}: {error}")
                else:
                    if st.session_state.get(SESSION_MODEL) == entry.name:
                        forget_model_choice()
                    else:
                        clear_model_caches()
                    st.rerun()
