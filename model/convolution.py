"""The convolution lesson in plain numpy: one 3x3 kernel slid over a drawing, then max and average pooling.

This is what a ``Conv2D`` layer does for one filter, spelled out so that a student can change the kernel,
the stride and the padding and see the output and its size: (n + 2p - k) / s + 1. ``output_pixel`` opens
one output pixel up, as CNN Explainer does: the window of the input under the kernel, the nine products
and their sum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KERNELS: dict[str, list[list[float]]] = {
    "edge detector": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    "blur": [[1 / 9] * 3] * 3,
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "Sobel horizontal edges": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "Sobel vertical edges": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
}
PADDINGS = ("valid", "same")


@dataclass
class ConvolutionStep:
    """The output of one convolution and the arithmetic of its size."""

    output: np.ndarray
    padding_pixels: int
    formula: str


def parse_kernel(text: str) -> np.ndarray:
    """Read a 3x3 kernel typed as three rows of three numbers (commas or spaces between them)."""
    rows = [row.replace(",", " ").split() for row in text.strip().splitlines() if row.strip()]
    if len(rows) != 3 or any(len(row) != 3 for row in rows):
        counts = ", ".join(str(len(row)) for row in rows) or "none"
        raise ValueError(f"the kernel must be 3 rows of 3 numbers, got {len(rows)} rows holding {counts}")
    try:
        kernel = np.array([[float(value) for value in row] for row in rows], dtype=np.float64)
    except ValueError as error:
        raise ValueError(f"the kernel must hold numbers only ({error})") from error
    if kernel.shape != (3, 3):
        raise ValueError(f"the kernel must be 3 rows of 3 numbers, got {len(rows)} rows")
    return kernel


def output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """(n + 2p - k) / s + 1, rounded down, as Keras computes it."""
    return (size + 2 * padding - kernel) // stride + 1


def convolve(image: np.ndarray, kernel: np.ndarray, stride: int = 1, padding: str = "valid") -> ConvolutionStep:
    """Slide ``kernel`` over ``image`` (cross-correlation, like Keras) with the given stride and padding.

    ``same`` pads with zeros so that a stride of 1 keeps the size; ``valid`` does not pad.
    """
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    if image.ndim != 2 or kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1]:
        raise ValueError("convolve takes a 2-D image and a square 2-D kernel")
    if stride < 1:
        raise ValueError(f"the stride must be at least 1, got {stride}")
    if padding not in PADDINGS:
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    size, k = image.shape[0], kernel.shape[0]
    pad = (k - 1) // 2 if padding == "same" else 0
    padded = np.pad(image, pad)
    out = output_size(size, k, stride, pad)
    if out < 1:
        raise ValueError(f"a {k}x{k} kernel with stride {stride} does not fit in a {size}x{size} image")
    windows = np.lib.stride_tricks.sliding_window_view(padded, (k, k))[::stride, ::stride][:out, :out]
    result = np.einsum("ijkl,kl->ij", windows, kernel)
    formula = f"({size} + 2×{pad} − {k}) / {stride} + 1 = {out}"
    return ConvolutionStep(result, pad, formula)


@dataclass(frozen=True)
class OutputPixel:
    """One output pixel of a convolution taken apart: the input window, the products and their sum.

    ``top`` and ``left`` are where the window starts in the input's own coordinates; with "same"
    padding they can be -1, and the window's cells outside the input hold the padding zeros.
    """

    row: int
    column: int
    top: int
    left: int
    window: np.ndarray
    products: np.ndarray
    total: float


def output_pixel(image: np.ndarray, kernel: np.ndarray, row: int, column: int, stride: int = 1,
                 padding: str = "valid") -> OutputPixel:
    """Take apart the output pixel (row, column) of ``convolve(image, kernel, stride, padding)``."""
    step = convolve(image, kernel, stride, padding)
    rows, columns = step.output.shape
    if not (0 <= row < rows and 0 <= column < columns):
        raise ValueError(f"the output is {rows}x{columns}; pick a row in 0..{rows - 1} and a column in "
                         f"0..{columns - 1}, not ({row}, {column})")
    kernel = np.asarray(kernel, dtype=np.float64)
    k, pad = kernel.shape[0], step.padding_pixels
    padded = np.pad(np.asarray(image, dtype=np.float64), pad)
    window = padded[row * stride: row * stride + k, column * stride: column * stride + k]
    products = window * kernel
    return OutputPixel(row, column, row * stride - pad, column * stride - pad, window, products,
                       float(products.sum()))


def pool(feature_map: np.ndarray, size: int = 2, mode: str = "max") -> np.ndarray:
    """Max or average pooling with a square window and a stride equal to its size (Keras' default)."""
    if mode not in ("max", "average"):
        raise ValueError(f"pooling mode must be 'max' or 'average', got {mode!r}")
    if size < 1:
        raise ValueError(f"the pooling window must be at least 1, got {size}")
    rows, columns = (dimension // size for dimension in feature_map.shape)
    if rows == 0 or columns == 0:
        raise ValueError(f"a {size}x{size} pooling window does not fit in a {feature_map.shape} map")
    blocks = feature_map[: rows * size, : columns * size].reshape(rows, size, columns, size)
    return blocks.max(axis=(1, 3)) if mode == "max" else blocks.mean(axis=(1, 3))
