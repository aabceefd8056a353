"""Model anatomy: where a network's parameters are, layer by layer, and how famous networks compare."""

import streamlit as st

from model.architectures import ARCHITECTURES, REFERENCE, TRAINABLE, build
from model.introspection import CONVOLUTION_TYPES, DENSE_TYPES, parameter_breakdown, parameter_summary
from ui.charts import parameter_bars, share_pie
from ui.models import model_switcher

st.set_page_config(page_title="Model anatomy · Doodle Lab", page_icon="🧮", layout="wide")
st.title("🧮 Model anatomy")
predictor = model_switcher()


def kind_of(layer_type: str) -> str:
    if layer_type in {kind.__name__ for kind in CONVOLUTION_TYPES}:
        return "convolutional"
    return "dense" if layer_type in {kind.__name__ for kind in DENSE_TYPES} else "other"


@st.cache_data(show_spinner="Building the network without weights to count its parameters...")
def architecture_figures(name: str) -> dict:
    """Totals and per-layer counts of one named architecture (the model itself is not kept)."""
    network = build(name)
    summary = parameter_summary(network)
    layers = [(row.name, row.parameters, kind_of(row.type)) for row in parameter_breakdown(network) if row.parameters]
    return {"summary": summary, "layers": layers, "input": str(ARCHITECTURES[name].input_shape)}


if predictor is not None:
    model = predictor.model
    rows = parameter_breakdown(model)
    summary = parameter_summary(model)
    st.subheader(f"{predictor.card.name}: {predictor.card.architecture} network")
    columns = st.columns(4)
    columns[0].metric("Total parameters", f"{summary['total']:,}")
    columns[1].metric("Trainable", f"{summary['trainable']:,}")
    columns[2].metric("Frozen", f"{summary['non_trainable']:,}")
    columns[3].metric("In dense layers", f"{summary['dense_share']:.0%}")
    st.dataframe([{"layer": row.name, "type": row.type, "output shape": str(row.output_shape),
                   "parameters": row.parameters, "how the count comes about": row.formula} for row in rows],
                 hide_index=True, width="stretch")
    left, right = st.columns([2, 1])
    weighted = [row for row in rows if row.parameters]
    left.plotly_chart(parameter_bars([row.name for row in weighted], [row.parameters for row in weighted],
                                     [kind_of(row.type) for row in weighted], "Parameters per layer"))
    right.plotly_chart(share_pie({kind: summary[kind] for kind in ("convolutional", "dense", "other")},
                                 "Convolutional vs dense"))
    st.caption("A convolution's count does not depend on the image size: k×k×inputs×filters + filters biases. "
               "A dense layer's does: every input connects to every unit, so Flatten after a large map is costly.")

st.subheader("Compare architectures")
chosen = st.multiselect("Networks", [*TRAINABLE, *REFERENCE], default=["book", "lecture", "doodle", "vgg16",
                                                                          "inception_v3"])
table = []
for name in chosen:
    figures = architecture_figures(name)
    summary = figures["summary"]
    table.append({"network": name, "input": figures["input"], "parameters": summary["total"],
                  "dense share": f"{summary['dense_share']:.1%}",
                  "convolutional share": f"{summary['convolutional_share']:.1%}",
                  "about": ARCHITECTURES[name].description})
st.dataframe(table, hide_index=True, width="stretch")
st.caption("VGG16 keeps about 89% of its 138 million parameters in its last dense layers; InceptionV3 and "
           "ResNet50 end in global average pooling, so their dense layer is small.")
