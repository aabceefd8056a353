"""Inside the network: activations layer by layer, filters, filter patterns, Grad-CAM and a convolution playground."""

import zlib

import numpy as np
import streamlit as st

from model.convolution import KERNELS, PADDINGS, convolve, output_pixel, parse_kernel, pool
from ui.canvas import drawing_canvas
from ui.charts import image_figure, map_grid, mark_cell
from ui.navigation import page, start_page
from ui.warmup import wait_for_warm_up

MAPS_AT_ONCE = 32
STATIC = {"displayModeBar": False}

start_page(page("Inside the network"))
st.title("🔬 Inside the network")
wait_for_warm_up(blocking_steps=3)  # TensorFlow, the models and the first activations.

# Only once TensorFlow is loaded, so that a cold server shows the title and the warm-up notice at once.
from model.introspection import (  # noqa: E402
    activations,
    feature_map_layers,
    first_layer_filters,
    grad_cam,
    last_conv_layer_name,
)
from ui.cache import filter_patterns  # noqa: E402
from ui.models import model_switcher  # noqa: E402

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


def products_table(pixel, kernel: np.ndarray) -> str:
    """The nine products of an output pixel as a markdown table: input value × weight = product."""
    lines = ["| | left | middle | right |", "|---|---|---|---|"]
    for index, name in enumerate(("top", "middle", "bottom")):
        cells = [f"{value:.2f} × {weight:g} = **{product + 0.0:.2f}**" for value, weight, product
                 in zip(pixel.window[index], kernel[index], pixel.products[index], strict=True)]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def step_layer(names: list[str], offset: int) -> None:
    """Move the layer picker one layer back or forward (a button's callback, before the picker is drawn)."""
    position = names.index(st.session_state.get("layer", names[0])) + offset
    st.session_state["layer"] = names[min(max(position, 0), len(names) - 1)]


with tab_maps:
    st.write("Each layer turns its input into a stack of feature maps, one per channel. Step through the "
             "network: early layers respond to edges and strokes; deeper ones to larger parts, at lower resolution.")
    layers = activations(model, image)
    names = [layer.name for layer in layers]
    if st.session_state.get("layer") not in names:  # Another model, or the first visit.
        st.session_state["layer"] = names[0]
    with st.container(horizontal=True, vertical_alignment="bottom", wrap=False):  # Stays one row on a phone.
        st.button("◀", key="layer_back", on_click=step_layer, args=(names, -1), help="Previous layer")
        chosen = st.select_slider("Layer", names, key="layer", width="stretch")
        st.button("▶", key="layer_forward", on_click=step_layer, args=(names, 1), help="Next layer")
    position = names.index(chosen)
    layer = layers[position]
    height, width, channels = layer.output_shape
    st.markdown(f"**{layer.name}** ({layer.type}), layer {position + 1} of {len(layers)}: output "
                f"**{height}×{width}×{channels}** ({channels} maps of {height}×{width} pixels).")
    st.markdown(layer.change)
    shown = channels
    if channels > MAPS_AT_ONCE:
        show_all = st.toggle(f"Show all {channels} maps", key="all_maps")
        shown = channels if show_all else MAPS_AT_ONCE
        st.caption(f"Showing {shown} of {channels} maps" + ("." if show_all else ": switch on "
                   f"“Show all {channels} maps” to see the rest."))
    left, right = st.columns([1, 4])
    left.plotly_chart(image_figure(image, "Model input 28x28", size=180), config=STATIC)
    right.plotly_chart(map_grid(layer.array[..., :shown], f"{layer.name}: maps 0-{shown - 1}",
                                key_title=f"{layer.name} output (one scale for all its maps)"), config=STATIC)

with tab_filters:
    kernels = first_layer_filters(model)
    size = f"{kernels.shape[0]}×{kernels.shape[1]}"
    st.write(f"The first convolution's {kernels.shape[-1]} learned {size} kernels, one square per filter:")
    st.plotly_chart(map_grid(kernels[:, :, 0, :], "First-layer filters", key_title="weight", signed=True),
                    config=STATIC)
    st.caption("Red weights add the pixel under them, blue ones subtract it, white ones ignore it: a filter "
               "with a red row above a blue row finds the top edges of strokes.")
    candidates = feature_map_layers(model)
    default = last_conv_layer_name(model)
    layer_name = st.selectbox("Layer for filter patterns", candidates,
                              index=candidates.index(default) if default in candidates else len(candidates) - 1)
    count = st.radio("Filters", [8, 16, 32], horizontal=True, key="pattern_count")
    asked = (predictor.card.name, predictor.card.created, layer_name, count)
    if st.button(f"Find what {count} of its filters respond to (gradient ascent)"):
        st.session_state["patterns_for"] = asked
    if st.session_state.get("patterns_for") == asked:
        st.plotly_chart(map_grid(filter_patterns(*asked), f"Inputs that excite filters of {layer_name}",
                                 key_title="ink (each tile stretched to its own range)", colorscale="gray"),
                        config=STATIC)
        st.info("Each square is a drawing made from scratch to make one filter respond as strongly as it can: "
                "the stroke pattern that filter looks for, small edges and stripes in the first layers, larger "
                "and more complex shapes deeper in. A grey square is a filter that faint noise never wakes.")
        st.caption("Regularised gradient ascent: climb the filter's mean output on a small image first, then "
                   "on larger ones (octaves), shifting the image at random (jitter) and blurring it now and "
                   "then, with a small price on ink.")

with tab_cam:
    target = st.selectbox("Class to explain", predictor.class_names,
                          index=predictor.class_names.index(ranking[0][0]))
    controls = st.columns(2)
    opacity = controls[0].slider("Heat opacity", 0.0, 1.0, 0.6, 0.05, key="cam_opacity")
    strokes_on_top = controls[1].toggle("Draw the strokes on top", True, key="cam_strokes")
    heat = grad_cam(model, image, predictor.class_names.index(target))
    st.plotly_chart(image_figure(image, f"Where the network sees '{target}'", heat, size=320,
                                 overlay_opacity=opacity, strokes_on_top=strokes_on_top,
                                 key_title="how much it raises the class"), config=STATIC)
    st.caption("Grad-CAM weighs the last convolution's feature maps by how much they raise the class score: "
               "bright areas raised it most, dark ones not at all. The drawing's strokes are drawn in cyan.")

with tab_playground:
    controls = st.columns([1, 1])
    preset = controls[0].selectbox("Start from a kernel", list(KERNELS), key="preset")
    original = "\n".join(" ".join(f"{value:g}" for value in row) for row in KERNELS[preset])
    typed = controls[1].text_area("Kernel: 3 rows of 3 numbers (edit it)", original, key=f"kernel_{preset}")
    columns = st.columns(3)
    stride = columns[0].slider("Stride", 1, 3, 1)
    padding = columns[1].radio("Padding", PADDINGS, horizontal=True)
    pool_size = columns[2].slider("Pooling window", 2, 4, 2)
    try:
        kernel = parse_kernel(typed)
        step = convolve(image / 255.0, kernel, stride, padding)
    except ValueError as error:
        st.error(f"{error}. Edit the kernel above: three lines of three numbers, e.g. `0 -1 0`.")
        st.stop()
    if not np.allclose(kernel, KERNELS[preset]):
        st.caption(f"Your edited {preset} kernel.")
    st.markdown(f"Output size: **{step.formula}** (n = 28, p = {step.padding_pixels}, k = 3, s = {stride}). "
                "Red is positive, blue negative, white zero.")
    rows, cols = step.output.shape
    st.markdown("**Pick an output pixel** to see how it is computed:")
    picks = st.columns(2)
    strongest = np.unravel_index(int(np.argmax(np.abs(step.output))), step.output.shape)  # A telling default.
    drawing_id = zlib.crc32(image.tobytes())  # A new drawing or output size starts again at its strongest pixel.
    row = picks[0].slider("Output row", 0, rows - 1, int(strongest[0]), key=f"pixel_row_{rows}_{drawing_id}")
    column = picks[1].slider("Output column", 0, cols - 1, int(strongest[1]), key=f"pixel_column_{cols}_{drawing_id}")
    pixel = output_pixel(image / 255.0, kernel, row, column, stride, padding)
    shown = st.columns(4)
    shown[0].plotly_chart(mark_cell(image_figure(image / 255.0, "Input 28x28", size=200), pixel.top, pixel.left, 3),
                          config=STATIC)
    shown[1].plotly_chart(mark_cell(image_figure(step.output, f"Convolved {rows}x{cols}", size=200,
                                                 colorscale="signed"), row, column, 1), config=STATIC)
    for place, mode in zip(shown[2:], ("max", "average"), strict=True):
        pooled = pool(step.output, pool_size, mode)
        place.plotly_chart(image_figure(pooled, f"{mode} pool {pooled.shape[0]}x{pooled.shape[1]}", size=200,
                                        colorscale="signed"), config=STATIC)
    st.markdown("The 3×3 window of the input under the kernel (input value × kernel weight = product):")
    st.markdown(products_table(pixel, kernel))
    padded = min(pixel.top, pixel.left) < 0 or max(pixel.top, pixel.left) + 3 > image.shape[0]
    st.markdown(f"Output pixel (row {row}, column {column}) = sum of the nine products = **{pixel.total:.3f}** "
                f"(the window starts at input row {pixel.top}, column {pixel.left}"
                + ("; cells outside the drawing are the zero padding)." if padded else ")."))
