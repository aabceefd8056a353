"""Command line for the data loader: ``python -m data_loader info|build|rasterize``.

Every error ends the command with one readable line on standard error and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

from data_loader import mnist, quickdraw
from data_loader.dataset import SOURCES, build_subset
from data_loader.errors import DataError
from data_loader.files import publish
from data_loader.settings import DATA_DIR_VARIABLE, data_dir


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    parser = _parser()
    arguments = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return arguments.run(arguments)
    except (DataError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _info(arguments: argparse.Namespace) -> int:
    root = data_dir(arguments.data_dir)
    print(f"data root: {root} (set {DATA_DIR_VARIABLE} or --data-dir to change it)")
    labels = {"bitmap": "numpy_bitmap (28x28 bitmaps)", "strokes": "binary (simplified strokes)",
              "raw": "raw (timed strokes)"}
    for data_format, counts in quickdraw.available(root).items():
        total = sum(count for count in counts.values() if count > 0)
        print(f"\nquickdraw/{labels[data_format]}: {len(counts)} categories, {total:,} drawings")
        for name, count in counts.items():
            print(f"  {name}: {'DAMAGED' if count < 0 else f'{count:,}'}")
    print("\nmnist:")
    for line in mnist.describe(root):
        print(f"  {line}")
    return 0


def _build(arguments: argparse.Namespace) -> int:
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        dataset = build_subset(arguments.source, arguments.classes, arguments.per_class, arguments.format,
                               arguments.seed, arguments.data_dir)
    for message in dataset.warnings:
        print(f"warning: {message}", file=sys.stderr)
    dataset.save(arguments.out)
    counts = ", ".join(f"{name} {count}" for name, count in dataset.counts().items())
    print(f"wrote {len(dataset):,} drawings to {arguments.out} ({counts})")
    return 0


def _rasterize(arguments: argparse.Namespace) -> int:
    drawings = [record["drawing"] for record in quickdraw.read_ndjson(arguments.input)]
    if not drawings:
        raise DataError(f"{arguments.input} holds no drawings")
    # Raw and simplified drawings are rendered in batches of their own kind (much faster than one by one),
    # then put back in file order.
    simplified = np.array([quickdraw.is_simplified(drawing) for drawing in drawings])
    images = np.empty((len(drawings), 784), np.uint8)
    for kind in (True, False):
        indices = np.flatnonzero(simplified == kind)
        rendered = quickdraw.render_file_drawings(arguments.input, [drawings[index] for index in indices],
                                                  simplified=bool(kind), numbers=list(indices + 1))
        images[indices] = rendered.reshape(len(indices), 784)
    _save_npy(images, Path(arguments.out))
    print(f"rendered {len(images):,} drawings to {arguments.out}")
    return 0


def _save_npy(array: np.ndarray, path: Path) -> None:
    """Write a .npy file atomically: a temporary file in the same folder, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as output:
            np.save(output, array)
        publish(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m data_loader", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help=f"data root (default: ${DATA_DIR_VARIABLE} or ~/.cache/doodle-lab)")
    commands = parser.add_subparsers(dest="command", required=True)
    info = commands.add_parser("info", help="list the categories and drawing counts in the data root")
    info.set_defaults(run=_info)
    build = commands.add_parser("build", help="build an N-class subset and write it as .npz")
    build.add_argument("--source", choices=SOURCES, default="quickdraw")
    build.add_argument("--classes", required=True, help='comma-separated, e.g. "cat,house plant,train" or "0,1,7"')
    build.add_argument("--per-class", type=int, default=500, help="drawings per class (default 500)")
    build.add_argument("--format", choices=quickdraw.FORMATS, default="bitmap", help="QuickDraw format")
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("--out", required=True, help="output .npz file")
    build.set_defaults(run=_build)
    rasterize = commands.add_parser("rasterize", help="render every drawing of an ndjson file to (N, 784) uint8")
    rasterize.add_argument("input", help="raw or simplified QuickDraw .ndjson file")
    rasterize.add_argument("--out", required=True, help="output .npy file")
    rasterize.set_defaults(run=_rasterize)
    for sub in (info, build, rasterize):
        sub.add_argument("--data-dir", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


if __name__ == "__main__":
    sys.exit(main())
