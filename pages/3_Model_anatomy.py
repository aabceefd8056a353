"""Model anatomy: where a network's parameters are, layer by layer, and how famous networks compare."""

import streamlit as st

from model.architectures import ARCHITECTURES, REFERENCE, TRAINABLE
from model.introspection import parameter_breakdown, parameter_summary
from ui.cache import architecture_figures
from ui.charts import parameter_bars, share_bars, share_pie
from ui.models import model_switcher
from ui.navigation import page, start_page

start_page(page("Model anatomy"))
st.title("🧮 Model anatomy")
predictor = model_switcher()

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
                                     [row.kind for row in weighted], "Parameters per layer"))
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
if chosen:
    st.plotly_chart(share_bars({name: architecture_figures(name)["summary"] for name in chosen},
                               "Where each network keeps its parameters"))
st.caption("VGG16 keeps about 89% of its 138 million parameters in its last dense layers; InceptionV3 and "
           "ResNet50 end in global average pooling, so their dense layer is small.")
