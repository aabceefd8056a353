"""Inside the network: activations, filters, filter patterns, Grad-CAM and a convolution playground."""

import numpy as np
import streamlit as st

from model.convolution import KERNELS, PADDINGS, convolve, parse_kernel, pool
from model.introspection import activations, first_layer_filters, grad_cam
from ui.cache import filter_patterns
from ui.canvas import drawing_canvas
from ui.charts import image_figure, map_grid
from ui.models import model_switcher
from ui.navigation import page, start_page

start_page(page("Inside the network"))
st.title("🔬 Inside the network")
predictor = model_switcher()
if predictor is None:
    st.stop()
model = predictor.model

strokes = st.session_state.get("drawing") or []
with st.expander("Your drawing" + (" (from the Draw page)" if strokes else ": draw one here"), expanded=not strokes):
    drawn_here = drawing_canvas("inside_canvas", predictor.card.recipe, size=280)
strokes = drawn_here or strokes
if not strokes:
    st.info("Draw something above (or on the Draw page) to look inside the network.")
    st.stop()
image, ranking = predictor.classify_strokes(strokes, top_k=3)
st.write("The network's guess: " + ", ".join(f"**{name}** {p:.0%}" for name, p in ranking))

tab_maps, tab_filters, tab_cam, tab_playground = st.tabs(
    ["Activations", "Filters", "Grad-CAM", "Convolution playground"])

with tab_maps:
    st.write("Every convolution and pooling layer turns its input into a stack of feature maps. Early layers "
             "respond to edges and strokes; deeper ones to larger parts, at lower resolution.")
    left, right = st.columns([1, 4])
    left.plotly_chart(image_figure(image, "Model input 28x28", size=180), config={"displayModeBar": False})
    with right:
        for layer in activations(model, image):
            st.plotly_chart(map_grid(layer.array, f"{layer.name} ({layer.type}), output {layer.output_shape}"),
                            config={"displayModeBar": False})

with tab_filters:
    kernels = first_layer_filters(model)
    st.write(f"The first layer's {kernels.shape[-1]} learned {kernels.shape[0]}x{kernels.shape[1]} kernels:")
    st.plotly_chart(map_grid(kernels[:, :, 0, :], "First-layer filters"), config={"displayModeBar": False})
    conv_layers = [layer.name for layer in model.layers if "Conv" in type(layer).__name__]
    layer_name = st.selectbox("Layer for filter patterns", conv_layers, index=len(conv_layers) - 1)
    asked = (predictor.card.name, predictor.card.created, layer_name)
    if st.button("Find what 8 of its filters respond to (gradient ascent)"):
        st.session_state["patterns_for"] = asked
    if st.session_state.get("patterns_for") == asked:
        st.plotly_chart(map_grid(filter_patterns(*asked), f"Inputs that excite filters of {layer_name}"),
                        config={"displayModeBar": False})

with tab_cam:
    target = st.selectbox("Class to explain", predictor.class_names,
                          index=predictor.class_names.index(ranking[0][0]))
    heat = grad_cam(model, image, predictor.class_names.index(target))
    st.plotly_chart(image_figure(image, f"Where the network sees '{target}'", heat, size=320),
                    config={"displayModeBar": False})
    st.caption("Grad-CAM weighs the last convolution's feature maps by how much they raise the class score.")

with tab_playground:
    preset = st.selectbox("Kernel", [*KERNELS, "typed in"])
    typed = st.text_area("Kernel (3 rows of 3 numbers)", "\n".join(
        " ".join(f"{value:g}" for value in row) for row in KERNELS.get(preset, KERNELS["edge detector"])),
        disabled=preset != "typed in")
    columns = st.columns(3)
    stride = columns[0].slider("Stride", 1, 3, 1)
    padding = columns[1].radio("Padding", PADDINGS, horizontal=True)
    pool_size = columns[2].slider("Pooling window", 2, 4, 2)
    try:
        kernel = parse_kernel(typed) if preset == "typed in" else np.array(KERNELS[preset])
        step = convolve(image / 255.0, kernel, stride, padding)
    except ValueError as error:
        st.error(str(error))
        st.stop()
    st.markdown(f"Output size: **{step.formula}** (n = 28, p = {step.padding_pixels}, k = 3, s = {stride}). "
                "Red is positive, blue negative, white zero.")
    shown = st.columns(4)
    shown[0].plotly_chart(image_figure(image, "Input 28x28", size=200), config={"displayModeBar": False})
    shown[1].plotly_chart(image_figure(step.output, f"Convolved {step.output.shape[0]}x{step.output.shape[1]}",
                                       size=200, colorscale="signed"), config={"displayModeBar": False})
    for column, mode in zip(shown[2:], ("max", "average"), strict=True):
        pooled = pool(step.output, pool_size, mode)
        column.plotly_chart(image_figure(pooled, f"{mode} pool {pooled.shape[0]}x{pooled.shape[1]}", size=200,
                                         colorscale="signed"), config={"displayModeBar": False})
