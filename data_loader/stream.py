"""Streaming QuickDraw drawings from the data folder, for training sets larger than memory.

A ``DrawingStream`` reads the categories' files in place: the ``.npy`` bitmaps memory-mapped, the ``.bin``
stroke files indexed once by record offsets and rendered as they are read. Nothing is loaded up front but
one integer per drawing (its index in its file), so memory stays flat as the data grows.

Which part a drawing belongs to (train, validation or test) is decided by a hash of its category, its
index in the file and the seed (``part_codes``): no drawing has to be read to split, the same seed always
gives the same parts, and the parts never share a drawing.

An epoch (``epoch_blocks``) is balanced across classes: every class gives the same number of drawings (the
mean of the classes' training counts), taken from a fresh random permutation of its training drawings that
carries on from one epoch to the next, so that a large class shows all its drawings over a few epochs and a
small one repeats. The classes are interleaved round by round in a random order, and each block of rounds
is shuffled (a bounded shuffle buffer); everything follows from the seed and the epoch number. This module
uses numpy only: the trainer wraps the blocks in a ``tf.data`` pipeline.
"""

from __future__ import annotations

import mmap
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from data_loader import quickdraw
from data_loader.dataset import DrawingDataset, parse_classes
from data_loader.errors import DataError
from data_loader.raster import render_many
from data_loader.settings import data_dir

PARTS = ("train", "validation", "test")
_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def _mix(values: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a fast, well-spread 64-bit hash of each value (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = values.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def part_codes(category: str, indices: np.ndarray, seed: int, validation_fraction: float,
               test_fraction: float) -> np.ndarray:
    """The part of each drawing of a category by its index in the file: 0 train, 1 validation, 2 test.

    A drawing's part depends only on (category, index, seed), so it is the same whatever else is read,
    and the fractions hold on average (each drawing falls in a part with that probability).
    """
    if not 0 <= validation_fraction < 1 or not 0 <= test_fraction < 1 or validation_fraction + test_fraction >= 1:
        raise ValueError("validation and test fractions must be in [0, 1) and leave room for training data")
    key = _mix(np.array([zlib.crc32(category.encode("utf-8")) ^ (int(seed) << 32) & 0xFFFFFFFFFFFFFFFF], np.uint64))
    with np.errstate(over="ignore"):
        hashed = _mix(np.asarray(indices, np.uint64) ^ key)
    uniform = (hashed >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    return np.where(uniform < test_fraction, 2, np.where(uniform < test_fraction + validation_fraction, 1, 0)
                    ).astype(np.int8)


class _BitmapFile:
    """One category's ``.npy`` bitmaps, memory-mapped; pages read are released after each block."""

    def __init__(self, path: Path) -> None:
        self.array = quickdraw.open_bitmaps(path)
        self.path = path

    def __len__(self) -> int:
        return int(self.array.shape[0])

    def read(self, indices: np.ndarray) -> np.ndarray:
        order = np.argsort(indices, kind="stable")
        images = np.empty((len(indices), 28, 28), np.uint8)
        images[order] = np.asarray(self.array[indices[order]]).reshape(-1, 28, 28)
        _release(self.array)
        return images


class _StrokeFile:
    """One category's ``.bin`` stroke file: record offsets found once, drawings parsed and rendered on demand."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with open(path, "rb") as handle:
            try:
                self.map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            except ValueError as error:
                raise DataError(f"{path} is empty; delete it to download again") from error
        self.offsets = self._index()

    def _index(self) -> np.ndarray:
        offsets, offset, size, header = [], 0, len(self.map), struct.Struct("<Q2sbIH")
        try:
            while offset < size:
                offsets.append(offset)
                strokes = header.unpack_from(self.map, offset)[4]
                offset += header.size
                for _ in range(strokes):
                    offset += 2 + 2 * struct.unpack_from("<H", self.map, offset)[0]
        except struct.error as error:
            raise DataError(f"{self.path} is not a valid QuickDraw binary file (drawing {len(offsets)} is damaged: "
                            f"{error}); delete it to download again") from error
        if offset != size:
            raise DataError(f"{self.path} ends in the middle of a drawing; delete it to download again")
        _release(self.map)
        return np.array(offsets, np.int64)

    def __len__(self) -> int:
        return len(self.offsets)

    def _drawing(self, offset: int) -> list[tuple]:
        strokes = struct.unpack_from("<H", self.map, offset + 15)[0]
        offset += 17
        drawing = []
        for _ in range(strokes):
            points = struct.unpack_from("<H", self.map, offset)[0]
            xs = self.map[offset + 2 : offset + 2 + points]
            ys = self.map[offset + 2 + points : offset + 2 + 2 * points]
            drawing.append((list(xs), list(ys)))
            offset += 2 + 2 * points
        return drawing

    def read(self, indices: np.ndarray) -> np.ndarray:
        drawings = [self._drawing(int(self.offsets[index])) for index in indices]
        _release(self.map)
        return render_many(drawings, "quickdraw", simplified=True)


def _release(mapped) -> None:
    """Drop the pages of a file mapping from this process (they stay in the system's file cache), so that
    reading a whole category does not count against the process's memory."""
    handle = getattr(mapped, "_mmap", mapped)
    if isinstance(handle, mmap.mmap) and hasattr(handle, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
        handle.madvise(mmap.MADV_DONTNEED)


class DrawingStream:
    """The drawings of some QuickDraw categories, split by hash and read from their files as needed."""

    def __init__(self, classes: str | list[str], data_format: str = "bitmap", per_class: int = 0, seed: int = 0,
                 validation_fraction: float = 0.1, test_fraction: float = 0.1,
                 root: str | Path | None = None) -> None:
        if data_format not in quickdraw.FORMATS:
            raise DataError(f"unknown QuickDraw format {data_format!r}; choose one of {', '.join(quickdraw.FORMATS)}")
        if isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 0:
            raise DataError(f"drawings per class must be a whole number (0 for all), got {per_class!r}")
        self.class_names = [quickdraw.check_category(name) for name in parse_classes(classes)]
        self.data_format, self.seed = data_format, int(seed)
        self.validation_fraction, self.test_fraction = validation_fraction, test_fraction
        self.files, self.origins = [], {}
        self.indices: dict[str, list[np.ndarray]] = {part: [] for part in PARTS}
        root_path = data_dir(root)
        for name in self.class_names:
            path = quickdraw.ensure_file(root_path, name, data_format)
            source = _BitmapFile(path) if data_format == "bitmap" else _StrokeFile(path)
            self.files.append(source)
            self.origins[name] = str(path)
            taken = np.arange(len(source) if per_class == 0 else min(per_class, len(source)), dtype=np.int64)
            codes = part_codes(name, taken, seed, validation_fraction, test_fraction)
            for code, part in enumerate(PARTS):
                self.indices[part].append(taken[codes == code])
        self._permutations: dict[int, tuple[int, np.ndarray]] = {}

    def counts(self, part: str) -> dict[str, int]:
        """How many drawings of each class the part holds."""
        return {name: int(len(members)) for name, members in zip(self.class_names, self.indices[part], strict=True)}

    def per_class_per_epoch(self) -> int:
        """How many training drawings each class gives per epoch: the mean of the classes' training counts."""
        counts = [len(members) for members in self.indices["train"]]
        if min(counts) == 0:
            empty = [name for name, count in zip(self.class_names, counts, strict=True) if count == 0]
            raise DataError(f"no training drawings for {', '.join(empty)}: ask for more drawings per class")
        return int(round(float(np.mean(counts))))

    def epoch_size(self, batch_size: int) -> int:
        """Drawings per training epoch, rounded down to whole batches (at least one batch)."""
        total = self.per_class_per_epoch() * len(self.class_names)
        return max(batch_size, total // batch_size * batch_size)

    def _positions(self, label: int, start: int, count: int) -> np.ndarray:
        """Training indices of one class at positions ``start``.. of its endless chain of permutations."""
        members = self.indices["train"][label]
        positions = start + np.arange(count, dtype=np.int64)
        cycles = positions // len(members)
        chosen = np.empty(count, np.int64)
        for cycle in np.unique(cycles):
            cached = self._permutations.get(label)
            if cached is None or cached[0] != cycle:
                cached = (int(cycle), np.random.default_rng([self.seed, label, int(cycle)]).permutation(len(members)))
                self._permutations[label] = cached
            here = cycles == cycle
            chosen[here] = members[cached[1][positions[here] % len(members)]]
        return chosen

    def epoch_blocks(self, epoch: int, batch_size: int, rounds: int = 64) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The training drawings of one epoch as (uint8 images (n, 28, 28), int32 labels) blocks.

        Each block holds ``rounds`` rounds of one drawing per class (classes in a random order per round),
        shuffled within the block; the epoch holds ``epoch_size(batch_size)`` drawings in all.
        """
        epoch, classes = int(epoch), len(self.class_names)
        per_class, remaining = self.per_class_per_epoch(), self.epoch_size(batch_size)
        rng = np.random.default_rng([self.seed, 1_000_003, epoch])
        done = 0
        while remaining > 0:
            take = min(rounds, -(-remaining // classes))
            grid = np.empty((take, classes, 28, 28), np.uint8)
            for label in range(classes):
                positions = self._positions(label, epoch * per_class + done, take)
                grid[:, label] = self.files[label].read(positions)
            order = np.argsort(rng.random((take, classes)), axis=1)
            labels = order.reshape(-1).astype(np.int32)
            images = grid[np.repeat(np.arange(take), classes), labels]
            shuffle = rng.permutation(len(labels))[:remaining]
            remaining -= len(shuffle)
            done += take
            yield images[shuffle], labels[shuffle]

    def part_blocks(self, part: str, block: int = 1024, limit_per_class: int | None = None
                    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """A held-out part in file order, class after class, as (images, int32 labels) blocks."""
        for label, members in enumerate(self.indices[part]):
            members = members[:limit_per_class] if limit_per_class is not None else members
            for start in range(0, len(members), block):
                chosen = members[start : start + block]
                yield self.files[label].read(chosen), np.full(len(chosen), label, np.int32)

    def load(self, part: str, limit_per_class: int | None = None) -> DrawingDataset:
        """Read a part (up to ``limit_per_class`` drawings of each class) into memory as a ``DrawingDataset``."""
        blocks = list(self.part_blocks(part, limit_per_class=limit_per_class))
        images = np.concatenate([images for images, _ in blocks]) if blocks else np.zeros((0, 28, 28), np.uint8)
        labels = np.concatenate([labels for _, labels in blocks]).astype(np.int64) if blocks else np.zeros(0, np.int64)
        return DrawingDataset(images, labels, list(self.class_names), "quickdraw", self.data_format, "quickdraw",
                              dict(self.origins))
