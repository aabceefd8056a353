"""Model downloads on the Models page: a format choice, a button that prepares the zip, a download button.

Each zip (the exported model file, its card with the verification figures, a short README) is made once per
saved version of a model and kept in the registry's exports folder (``model.export.export_archive``), so a
second click, or another person asking for the same format, downloads it at once.
"""

from __future__ import annotations

import streamlit as st

from data_loader import DataError
from model.export import FORMATS, ExportError, existing_archive, export_archive
from model.registry import ModelEntry, RegistryError
from ui.models import registry

FORMAT_LABELS = {
    "keras": "Keras (.keras file, for Python and Keras)",
    "savedmodel": "TensorFlow SavedModel (for TensorFlow Serving)",
    "tflite": "LiteRT / TFLite float32 (phones, microcontrollers)",
    "tflite-int8": "LiteRT / TFLite full-integer int8 (4x smaller, uint8 in and out)",
    "onnx": "ONNX (onnxruntime, onnxruntime-web in a browser)",
}


def export_downloads(entry: ModelEntry) -> None:
    """Draw the download controls for one model: choose a format, prepare its zip once, download it."""
    columns = st.columns([3, 2])
    export_format = columns[0].selectbox("Download format", FORMATS, format_func=FORMAT_LABELS.__getitem__,
                                         key=f"export_format_{entry.name}")
    models = registry()
    archive = existing_archive(entry, export_format, models)
    if archive is None and columns[1].button("Prepare download", key=f"export_{entry.name}",
                                             help="Exports the model and checks the file against the Keras model "
                                                  "on its held-out drawings (a few seconds to a minute)"):
        try:
            with st.spinner(f"Exporting {entry.name} as {export_format} and verifying it..."):
                archive = export_archive(entry, export_format, models)
        except (ExportError, RegistryError, DataError, OSError) as error:
            st.error(f"Cannot export {entry.name} as {export_format}: {error}")
            return
    if archive is not None:
        columns[1].download_button(f"Download {archive.name}", archive.read_bytes(), file_name=archive.name,
                                   mime="application/zip", key=f"download_{entry.name}_{export_format}")
