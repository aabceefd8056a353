"""Model anatomy: where a network's parameters are, layer by layer, and how famous networks compare."""

import streamlit as st

from ui.charts import parameter_bars, share_bars, share_pie
from ui.navigation import page, start_page
from ui.warmup import wait_for_warm_up


def shape_text(shape) -> str:
    """An output shape without the batch axis, as 28×28×32 (a layer with several outputs lists them all)."""
    if shape is None:
        return "several"
    if shape and isinstance(shape[0], tuple):
        return ", ".join(shape_text(part) for part in shape)
    return "×".join(str(size) for size in shape)


start_page(page("Model anatomy"))
st.title("🧮 Model anatomy")
wait_for_warm_up(blocking_steps=2)  # TensorFlow and the models; the famous networks follow.

# Only once TensorFlow is loaded, so that a cold server shows the title and the warm-up notice at once.
from model.architectures import ARCHITECTURES, REFERENCE, TRAINABLE  # noqa: E402
from model.introspection import parameter_breakdown, parameter_notes, parameter_summary  # noqa: E402
from ui.cache import architecture_figures  # noqa: E402
from ui.models import model_switcher  # noqa: E402

predictor = model_switcher()

if predictor is not None:
    model = predictor.model
    rows = parameter_breakdown(model)
    summary = parameter_summary(model)
    st.subheader(f"{predictor.card.name}: {predictor.card.architecture} network")
    metrics = [("Total parameters", summary["total"], ""), ("Trainable", summary["trainable"], "")]
    if summary["moving_statistics"]:
        metrics.append(("Non-trainable", summary["moving_statistics"], "batch-norm moving statistics"))
    if summary["frozen"]:
        metrics.append(("Frozen", summary["frozen"], "in layers set not to train"))
    columns = st.columns(len(metrics) + 1)
    for column, (label, count, meaning) in zip(columns, metrics, strict=False):
        column.metric(label, f"{count:,}", help=meaning or None)
        if meaning:
            column.caption(meaning)
    columns[-1].metric("In dense layers", f"{summary['dense_share']:.0%}")
    st.markdown(f"All **{len(rows)} layers**, in the network's order:")
    st.table([{"layer": row.name, "type": row.type, "output shape": shape_text(row.output_shape),
               "parameters": f"{row.parameters:,}", "how the count comes about": row.formula} for row in rows],
             hide_index=True)
    for note in parameter_notes(model):
        st.caption(note)
    weighted = [row for row in rows if row.parameters]
    left, right = st.columns([2, 1])
    left.plotly_chart(parameter_bars([row.name for row in weighted], [row.parameters for row in weighted],
                                     [row.kind for row in weighted], "Parameters per layer, input to output"))
    right.plotly_chart(share_pie({kind: summary[kind] for kind in ("convolutional", "dense", "other")},
                                 "Convolutional vs dense"))

st.subheader("Compare architectures")
chosen = st.multiselect("Networks", [*TRAINABLE, *REFERENCE], default=["book", "lecture", "doodle", "vgg16",
                                                                          "inception_v3"])
table = []
for name in chosen:
    figures = architecture_figures(name)
    summary = figures["summary"]
    table.append({"network": name, "input": figures["input"], "parameters": f"{summary['total']:,}",
                  "dense share": f"{summary['dense_share']:.1%}",
                  "convolutional share": f"{summary['convolutional_share']:.1%}",
                  "about": ARCHITECTURES[name].description})
if table:
    st.table(table, hide_index=True)
    st.plotly_chart(share_bars({name: architecture_figures(name)["summary"] for name in chosen},
                               "Where each network keeps its parameters"))
st.caption("VGG16 keeps about 89% of its 138,357,544 parameters in its last dense layers; InceptionV3 and "
           "ResNet50 end in global average pooling, so their dense layer is small.")
