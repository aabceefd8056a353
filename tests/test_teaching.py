"""Tests for the teaching pieces: the playground's output pixel, the charts of the teaching pages, and the
within-epoch training points behind the Train page's curves."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from model.convolution import KERNELS, convolve, output_pixel
from ui.charts import (
    history_chart,
    image_figure,
    map_grid,
    parameter_bars,
    pixel_image,
    png_data_uri,
    ranking_html,
)


def real_drawing(data_root: Path) -> np.ndarray:
    return np.load(data_root / "quickdraw" / "numpy_bitmap" / "fish.npy", mmap_mode="r")[0].reshape(28, 28) / 255.0


@pytest.mark.parametrize(("stride", "padding"), [(1, "valid"), (1, "same"), (2, "same"), (3, "valid")])
def test_every_output_pixel_is_the_sum_of_its_nine_products(data_root: Path, stride: int, padding: str) -> None:
    image = real_drawing(data_root)
    kernel = np.array(KERNELS["Sobel vertical edges"])
    output = convolve(image, kernel, stride, padding).output
    for row in range(output.shape[0]):
        for column in range(output.shape[1]):
            pixel = output_pixel(image, kernel, row, column, stride, padding)
            assert pixel.window.shape == pixel.products.shape == (3, 3)
            np.testing.assert_allclose(pixel.products, pixel.window * kernel)
            assert pixel.total == pytest.approx(output[row, column], abs=1e-12)
            top, left = pixel.top, pixel.left
            inside = image[max(top, 0): top + 3, max(left, 0): left + 3]
            assert pixel.window[max(-top, 0):, max(-left, 0):][: inside.shape[0], : inside.shape[1]] == \
                pytest.approx(inside)


def test_the_padding_of_a_corner_pixel_is_zeros() -> None:
    image = np.ones((28, 28))
    pixel = output_pixel(image, np.ones((3, 3)), 0, 0, padding="same")
    assert (pixel.top, pixel.left) == (-1, -1)
    assert pixel.window[0].tolist() == [0, 0, 0] and pixel.window[:, 0].tolist() == [0, 0, 0]
    assert pixel.total == 4.0


def test_a_pixel_outside_the_output_is_refused_with_the_output_size() -> None:
    with pytest.raises(ValueError, match=r"the output is 26x26; pick a row in 0..25"):
        output_pixel(np.zeros((28, 28)), np.ones((3, 3)), 26, 0)


def test_map_grid_tiles_are_square_numbered_above_and_share_one_key() -> None:
    maps = np.random.default_rng(0).normal(size=(7, 7, 12))
    figure = map_grid(maps, "test", columns=8)
    heatmap = figure.data[0]
    mosaic, channels = np.asarray(heatmap.z, float), np.asarray(heatmap.customdata)
    assert len(figure.data) == 1 and heatmap.colorbar.title.text == "activation", "one colour scale, with a key"
    assert heatmap.zmin == -heatmap.zmax == pytest.approx(-np.abs(maps).max()), "signed maps centre on zero"
    assert figure.layout.yaxis.scaleanchor == "x", "square pixels"
    for channel in range(12):
        rows, columns = np.nonzero(channels == channel)
        assert np.ptp(rows) + 1 == np.ptp(columns) + 1, f"map {channel} is square"
        tile = mosaic[channels == channel].reshape(np.ptp(rows) + 1, -1)
        step = tile.shape[0] // 7  # Small maps are drawn with several mosaic cells per value.
        np.testing.assert_allclose(tile[::step, ::step], maps[..., channel])
    labels = [(annotation.text, annotation.x, annotation.y) for annotation in figure.layout.annotations]
    assert [text for text, _, _ in labels] == [str(index) for index in range(12)]
    for text, x, y in labels:  # Each number sits in the empty band just above its own map.
        band = mosaic[max(0, int(y) - 2): int(y) + 1, int(x) + 1: int(x) + 4]
        assert np.isnan(band).all(), f"number {text} would cover part of a map"
        assert channels[int(y) + 1, int(x) + 1] == int(text)
    phone = map_grid(np.zeros((3, 3, 4)), "filters", key_title="weight", signed=True)
    assert phone.data[0].colorbar.title.text == "weight" and phone.data[0].colorbar.orientation == "h"


def test_grad_cam_figure_has_opacity_strokes_on_top_and_a_key() -> None:
    image = np.zeros((28, 28))
    image[10:12, 4:20] = 255
    heat = np.random.default_rng(1).random((28, 28))
    figure = image_figure(image, "cam", heat, overlay_opacity=0.8, strokes_on_top=True, key_title="influence")
    base, overlay, strokes = figure.data
    assert overlay.opacity == 0.8 and overlay.showscale and overlay.colorbar.title.text == "influence"
    ink = np.asarray(strokes.z, float)
    assert np.isfinite(ink[10:12, 4:20]).all() and np.isnan(ink[0]).all(), "only the strokes are drawn on top"


def test_history_chart_draws_within_epoch_points_and_accuracy_on_zero_to_one() -> None:
    history = {"loss": [1.2], "accuracy": [0.55], "val_loss": [1.0], "val_accuracy": [0.61]}
    points = [(step / 4, 2.0 - step * 0.2, 0.2 + step * 0.1) for step in range(1, 5)]
    accuracy = history_chart(history, "accuracy", "Accuracy", points)
    training, validation = accuracy.data
    assert list(training.x) == [0.25, 0.5, 0.75, 1.0] and list(training.y) == pytest.approx([0.3, 0.4, 0.5, 0.6])
    assert list(validation.x) == [1] and list(validation.y) == [0.61]
    assert training.line.color != validation.line.color and validation.marker.size >= 8, "both lines visible"
    assert tuple(accuracy.layout.yaxis.range) == (0, 1.02) and accuracy.layout.yaxis.tickformat == ".0%"
    assert accuracy.layout.xaxis.range[0] == 0 and accuracy.layout.xaxis.range[1] >= 1
    assert accuracy.layout.legend.orientation == "h" and accuracy.layout.legend.y < 0, "legend below the plot"
    loss = history_chart(history, "loss", "Loss", points)
    assert list(loss.data[0].y) == pytest.approx([1.8, 1.6, 1.4, 1.2]) and loss.layout.yaxis.rangemode == "tozero"
    plain = history_chart(history, "loss", "Loss")
    assert list(plain.data[0].x) == [1], "without within-epoch points, one point per epoch"


def test_parameter_bars_keep_the_network_order() -> None:
    names = ["conv1", "bn1", "conv2", "dense1", "predictions"]
    figure = parameter_bars(names, [288, 128, 9216, 4000, 100], ["convolutional", "other", "convolutional",
                                                                 "dense", "dense"], "per layer")
    assert list(figure.layout.xaxis.categoryarray) == names and figure.layout.xaxis.categoryorder == "array"


def test_training_records_points_within_each_epoch(data_root: Path) -> None:
    from model.config import TrainConfig
    from model.train import TrainingControl, train

    reports = []
    control = TrainingControl(reports.append, batch_interval=1)
    config = TrainConfig(classes=["apple", "eye"], per_class=120, architecture="book", epochs=2, batch_size=8,
                         data_dir=str(data_root), precision="float32")
    train(config, control)
    points = reports[-1].batch_history
    positions = [position for position, _, _ in points]
    assert positions == sorted(positions) and 0 < positions[0] < 1 and positions[-1] == pytest.approx(2.0)
    # Keras runs 8 steps per call here (steps_per_execution), so a point every 8 batches of about 20.
    assert sum(position < 1 for position in positions) >= 2, "points inside the first epoch, not just its end"
    assert all(np.isfinite(loss) and 0 <= accuracy <= 1 for _, loss, accuracy in points)
    assert reports[0].batch_history == points[: len(reports[0].batch_history)], "each report has the points so far"


def test_a_badly_typed_kernel_says_what_is_wrong() -> None:
    from model.convolution import parse_kernel

    np.testing.assert_array_equal(parse_kernel("0 -1 0\n-1, 5, -1\n0 -1 0"), KERNELS["sharpen"])
    with pytest.raises(ValueError, match="3 rows of 3 numbers, got 2 rows holding 2, 1"):
        parse_kernel("1 2\n3")
    with pytest.raises(ValueError, match="numbers only"):
        parse_kernel("1 2 3\n4 five 6\n7 8 9")


def test_pixel_image_enlarges_each_pixel_into_a_sharp_square(data_root: Path) -> None:
    image = real_drawing(data_root)  # 0-1 floats.
    big = pixel_image(image, scale=8)
    assert big.shape == (224, 224) and big.dtype == np.uint8
    expected = np.rint(image * 255).astype(np.uint8)
    np.testing.assert_array_equal(big[::8, ::8], expected)
    np.testing.assert_array_equal(big[7::8, 7::8], expected)
    np.testing.assert_array_equal(pixel_image(expected[..., None], scale=2)[1::2, ::2], expected)
    with pytest.raises(ValueError, match="2-D image"):
        pixel_image(np.zeros((2, 3, 4)))


def test_png_data_uri_holds_exactly_the_enlarged_pixels(data_root: Path) -> None:
    import base64
    import io

    from PIL import Image

    big = pixel_image(real_drawing(data_root))
    uri = png_data_uri(big)
    assert uri.startswith("data:image/png;base64,")
    decoded = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))
    np.testing.assert_array_equal(decoded, big)
    assert len(uri) < 4000  # A drawing's picture is small enough to travel inside every stroke's message.
    with pytest.raises(ValueError, match="2-D uint8 image"):
        png_data_uri(np.zeros((28, 28)))


def test_ranking_html_draws_one_bar_per_guess_and_escapes_class_names() -> None:
    html = ranking_html([("cat", 0.62), ("<script>alert(1)</script>", 0.3), ("dog", 1.7)])
    assert re.findall(r'<progress value="([0-9.]+)"', html) == ["0.6200", "0.3000", "1.0000"]
    assert ">cat 62%<" in html and "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; 30%" in html
