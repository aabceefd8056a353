"""Export a saved model for other runtimes, each export verified against the Keras model when it is made.

Formats: ``keras`` (the ``.keras`` file with its card), ``savedmodel`` (TensorFlow SavedModel), ``tflite``
(float32 LiteRT), ``tflite-int8`` (full-integer LiteRT: uint8 input and output, calibrated on drawings from
the model's own training data) and ``onnx``. An export is a folder holding the model file, ``card.json``
(the model's card with an ``export`` section: file size, input and output, verification figures) and a
short ``README.md`` saying how to load it. Verification runs the exported file in its own runtime
(Keras, TensorFlow, ``ai-edge-litert``, ``onnxruntime``) on the held-out test part that the model's
training kept aside, rebuilt from its card as ``model.evaluate`` does: a float format must agree with Keras
on every top-1 and within 1e-4 in every probability; ``tflite-int8`` may lose at most 1 point of top-1
accuracy. A failed verification raises ``ExportError`` and leaves nothing behind: every export is
written to a hidden temporary folder beside its destination and renamed into place once verified.

``browser_model`` gives the app an ONNX file for the browser (onnxruntime-web), exported on first use and
cached in the registry folder under ``exports/<name>-<hash of the card's creation time>/``, so a model
saved again under the same name is exported again. ``cached_export`` does the same for any format and
``export_archive`` zips a cached export for a download.

Command line: ``python -m model.export --model NAME --format FORMAT --out FOLDER``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import sys
import tempfile
import threading
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data_loader.files import umask
from model.registry import ModelEntry, Registry, RegistryError, _resolve, load_model

FORMATS = ("keras", "savedmodel", "tflite", "tflite-int8", "onnx")
FILE_NAMES = {"keras": "model.keras", "savedmodel": "saved_model", "tflite": "model.tflite",
              "tflite-int8": "model_int8.tflite", "onnx": "model.onnx"}
FLOAT_TOLERANCE = 1e-4
INT8_MAX_LOSS = 0.01
CALIBRATION_COUNT = 500
EXPORTS_FOLDER = "exports"
ONNX_INPUT = "drawing"
ONNX_OUTPUT = "probabilities"
_BATCH = 256


class ExportError(ValueError):
    """An export cannot be made: a bad request, missing data, or an exported file that fails verification."""


@dataclass
class Drawings:
    """Real drawings to verify (or calibrate) an export with: uint8 images, their labels when known, and a
    sentence saying where they come from."""

    images: np.ndarray
    labels: np.ndarray | None
    description: str


# ----------------------------------------------------------------------------------------------- public API


def export_model(entry_or_name: ModelEntry | str, export_format: str, out: str | os.PathLike[str],
                 registry: Registry | None = None, data_dir: str | None = None, download: bool = True,
                 calibration_count: int = CALIBRATION_COUNT, limit: int | None = None) -> Path:
    """Export a model in one format into the new folder ``out``, verify it, and return the folder.

    ``out`` must not exist yet (or be an empty folder). The held-out drawings come from the data folder
    (``data_dir``, default DOODLE_DATA_DIR); ``download=False`` uses only what is on disk and, for float
    formats, falls back to the raw drawings in ``quickdraw/raw`` when the held-out part is not there.
    ``limit`` verifies on the first ``limit`` held-out drawings only (tests). Raises ``ExportError``.
    """
    check_format(export_format)
    out = Path(out).expanduser()
    check_destination(out)
    registry = registry or Registry()
    model, card = load_model(entry_or_name, registry)
    entry = _resolve(entry_or_name, registry)
    drawings = verification_drawings(card, data_dir, download, need_labels=export_format == "tflite-int8")
    if limit:
        drawings = Drawings(drawings.images[:limit], None if drawings.labels is None else drawings.labels[:limit],
                            drawings.description)
    calibration = training_drawings(card, data_dir, download, calibration_count) \
        if export_format == "tflite-int8" else None
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".exporting", dir=out.parent))
    try:
        file = staging / FILE_NAMES[export_format]
        with _CONVERTING:
            try:
                _WRITERS[export_format](model, entry, file, calibration)
            except Exception as error:  # The converters raise many kinds of errors for a model they cannot convert.
                raise ExportError(f"the {export_format} converter failed on {card.name!r} ({error})") from error
            section = verify(model, file, export_format, drawings)
        section["calibration"] = calibration.description if calibration else None
        record = {**json.loads(card.to_json()), "export": section}
        (staging / "card.json").write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8")
        (staging / "README.md").write_text(readme(card, export_format, section), encoding="utf-8")
        os.chmod(staging, 0o777 & ~umask())  # mkdtemp makes it owner-only.
        try:
            os.rename(staging, out)
        except OSError as error:
            raise ExportError(f"cannot put the export at {out} ({error}); was it made meanwhile?") from error
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def browser_model(entry_or_name: ModelEntry | str, registry: Registry | None = None) -> Path:
    """The model's ONNX file for the browser: float32 input (N, 28, 28, 1) from 0 to 1 named ``drawing``,
    softmax probabilities out named ``probabilities``. Exported and verified on first use, then cached in the
    registry folder; several sessions asking at once export it once."""
    return cached_export(entry_or_name, "onnx", registry) / FILE_NAMES["onnx"]


def cached_export(entry_or_name: ModelEntry | str, export_format: str, registry: Registry | None = None,
                  data_dir: str | None = None) -> Path:
    """The folder of a verified export of the model, made on first use under the registry's exports folder.

    The first call of many at once exports (under a file lock); the others wait and reuse its result. Only
    drawings already on disk are used (nothing is downloaded from inside the app).
    """
    check_format(export_format)
    registry = registry or Registry()
    entry = _resolve(entry_or_name, registry)
    folder = registry.folder / EXPORTS_FOLDER / export_key(entry) / export_format
    if (folder / "card.json").is_file():
        return folder
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ExportError(f"cannot create the exports folder {folder.parent} ({error})") from error
    with _locked(folder.parent / f".{export_format}.lock"):
        if not (folder / "card.json").is_file():
            _remove_leftovers(folder.parent)
            export_model(entry, export_format, folder, registry, data_dir, download=False)
            remove_stale_exports(registry)
    return folder


def export_archive(entry_or_name: ModelEntry | str, export_format: str, registry: Registry | None = None,
                   data_dir: str | None = None) -> Path:
    """A zip of the model's cached export in one format (model file, card.json, README.md), made once."""
    registry = registry or Registry()
    entry = _resolve(entry_or_name, registry)
    archive = existing_archive(entry, export_format, registry)
    if archive is not None:
        return archive
    folder = cached_export(entry, export_format, registry, data_dir)
    archive = _archive_path(entry, export_format, registry)
    handle, temporary = tempfile.mkstemp(prefix=f".{archive.name}.", dir=folder.parent)
    try:
        with os.fdopen(handle, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as bundle:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    bundle.write(path, f"{entry.name}-{export_format}/{path.relative_to(folder)}")
        os.chmod(temporary, 0o666 & ~umask())
        os.replace(temporary, archive)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return archive


def existing_archive(entry: ModelEntry, export_format: str, registry: Registry | None = None) -> Path | None:
    """The zip ``export_archive`` made earlier for this saved version of the model, or None."""
    archive = _archive_path(entry, check_format(export_format), registry or Registry())
    return archive if archive.is_file() else None


def _archive_path(entry: ModelEntry, export_format: str, registry: Registry) -> Path:
    return registry.folder / EXPORTS_FOLDER / export_key(entry) / f"{entry.name}-{export_format}.zip"


def export_key(entry: ModelEntry) -> str:
    """The exports subfolder of one saved version of a model: its name and a hash of its card's creation time."""
    digest = hashlib.sha256(f"{entry.name}\n{entry.card.created}".encode()).hexdigest()[:12]
    return f"{entry.name}-{digest}"


def check_format(export_format: str) -> str:
    if export_format not in FORMATS:
        raise ExportError(f"unknown export format {export_format!r}; choose one of {', '.join(FORMATS)}")
    return export_format


def check_destination(out: Path) -> None:
    """Refuse a destination that exists (unless an empty folder) or whose parent cannot be written."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out} already exists: choose a new folder for the export")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ExportError(f"cannot create the folder {out.parent} for the export ({error})") from error
    if not os.access(out.parent, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write the export into {out.parent}: permission denied")


# --------------------------------------------------------------------------------------------- drawings


def verification_drawings(card, data_dir: str | None = None, download: bool = True,
                          need_labels: bool = False) -> Drawings:
    """The held-out drawings of the model's training, rebuilt from its card (as ``model.evaluate`` does).

    Without ``download``, a held-out part that is not on disk is replaced by the raw drawings in
    ``quickdraw/raw`` (labelled when they are of the model's classes), unless ``need_labels`` asks for the
    held-out part itself.
    """
    from data_loader import DataError

    try:
        splits = _rebuilt_splits(card, data_dir, download)
        from model.train import held_out_part

        part, held_out = held_out_part(splits)
        labels = np.array([card.class_names.index(held_out.class_names[label]) for label in held_out.y], np.int64)
        return Drawings(held_out.x, labels, f"the {len(labels):,} drawings of the held-out {part} part")
    except (DataError, OSError, ValueError) as error:
        reason = str(error)
    if need_labels:
        raise ExportError(f"the held-out drawings of {card.name!r} cannot be rebuilt from its card ({reason})")
    return _raw_drawings(card, data_dir, reason)


def training_drawings(card, data_dir: str | None = None, download: bool = True,
                      count: int = CALIBRATION_COUNT) -> Drawings:
    """``count`` drawings chosen at random (seed 0) from the model's own training part, rebuilt from its card."""
    from data_loader import DataError

    try:
        train = _rebuilt_splits(card, data_dir, download).train
    except (DataError, OSError, ValueError) as error:
        raise ExportError(f"full-integer quantization calibrates on the training drawings of {card.name!r}, and "
                          f"they cannot be rebuilt from its card ({error})") from error
    chosen = np.sort(np.random.default_rng(0).choice(len(train), size=min(count, len(train)), replace=False))
    return Drawings(train.x[chosen], None, f"{len(chosen):,} drawings chosen at random from the training part")


def _rebuilt_splits(card, data_dir: str | None, download: bool):
    from data_loader import DataError, build_splits
    from data_loader import data_dir as resolve
    from model.evaluate import held_out_split

    source = card.data.get("source")
    if source not in ("quickdraw", "mnist"):
        raise DataError(f"its data ({source or 'unknown'}) is not a QuickDraw or MNIST subset")
    settings = held_out_split(card, source, card.class_names)
    if not download and not _on_disk(source, card.class_names, settings["format"], resolve(data_dir)):
        raise DataError(f"its data files are not all in {resolve(data_dir)}")
    with warnings.catch_warnings():  # "taking all N" is expected when rebuilding the training's subset.
        warnings.simplefilter("ignore")
        return build_splits(source, card.class_names, settings["per_class"], settings["format"], settings["seed"],
                            data_dir, settings["validation_fraction"], settings["test_fraction"])


def _on_disk(source: str, classes: list[str], data_format: str, root: Path) -> bool:
    from data_loader import mnist, quickdraw

    if source == "mnist":
        return (mnist.mnist_dir(root) / mnist.TEST_IMAGES).is_file() or \
            any(path.is_file() for path in mnist.keras_cache_paths(root))
    return all(quickdraw.file_path(root, name, data_format).is_file() for name in classes)


def _raw_drawings(card, data_dir: str | None, reason: str) -> Drawings:
    """Every raw drawing in ``quickdraw/raw``, rendered with the model's recipe; labelled when all are of its
    classes."""
    from data_loader import data_dir as resolve
    from data_loader.quickdraw import read_ndjson
    from data_loader.raster import render_many

    folder = resolve(data_dir) / "quickdraw" / "raw"
    drawings, words = [], []
    for path in sorted(folder.glob("*.ndjson")) if folder.is_dir() else []:
        for record in read_ndjson(path):
            drawings.append(record["drawing"])
            words.append(path.stem)
    if not drawings:
        raise ExportError(f"no drawings to verify {card.name!r} with: its held-out part cannot be rebuilt "
                          f"({reason}) and {folder} holds no raw drawings")
    labels = np.array([card.class_names.index(word) for word in words], np.int64) \
        if all(word in card.class_names for word in words) else None
    return Drawings(render_many(drawings, card.recipe), labels,
                    f"the {len(drawings):,} raw drawings of {folder} (the held-out part is not available: {reason})")


# ---------------------------------------------------------------------------------------------- writers


def _called(model):
    """The model after one call: Keras' ONNX export refuses a model that was never called."""
    model(np.zeros((1, 28, 28, 1), np.float32), training=False)
    return model


def _write_keras(model, entry: ModelEntry, file: Path, calibration: Drawings | None) -> None:
    shutil.copyfile(entry.model_path, file)


def _write_savedmodel(model, entry: ModelEntry, file: Path, calibration: Drawings | None) -> None:
    with _quiet():
        _called(model).export(str(file), format="tf_saved_model", verbose=False)


def _write_tflite(model, entry: ModelEntry, file: Path, calibration: Drawings | None) -> None:
    with _quiet():
        _called(model).export(str(file), format="litert", verbose=False)


def _write_tflite_int8(model, entry: ModelEntry, file: Path, calibration: Drawings | None) -> None:
    """Full-integer quantization from a temporary SavedModel, calibrated on the training drawings."""
    import tensorflow as tf

    saved = file.parent / ".calibration_saved_model"
    _write_savedmodel(model, entry, saved, None)
    images = calibration.images.astype(np.float32)[..., np.newaxis] / 255.0
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([image[np.newaxis]] for image in images)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.uint8
    converter.inference_output_type = tf.uint8
    with _quiet():
        file.write_bytes(converter.convert())
    shutil.rmtree(saved)


def _write_onnx(model, entry: ModelEntry, file: Path, calibration: Drawings | None) -> None:
    """Keras' ONNX export, with the input named ``drawing`` and the output ``probabilities``."""
    import onnx

    with _quiet():
        _called(model).export(str(file), format="onnx", verbose=False)
    graph = onnx.load(str(file))
    graph.graph.input[0].name, old = ONNX_INPUT, graph.graph.input[0].name
    renames = {old: ONNX_INPUT, graph.graph.output[0].name: ONNX_OUTPUT}
    for node in graph.graph.node:
        node.input[:] = [renames.get(name, name) for name in node.input]
        node.output[:] = [renames.get(name, name) for name in node.output]
    graph.graph.output[0].name = ONNX_OUTPUT
    onnx.checker.check_model(graph)
    onnx.save(graph, str(file))


# One conversion at a time in a process: the converters import and trace TensorFlow, tf2onnx and LiteRT
# lazily, which two threads must not do at once (two sessions asking for two models' browser files, say),
# and each conversion keeps the cores busy anyway.
_CONVERTING = threading.Lock()
_WRITERS: dict[str, Callable] = {"keras": _write_keras, "savedmodel": _write_savedmodel, "tflite": _write_tflite,
                                 "tflite-int8": _write_tflite_int8, "onnx": _write_onnx}


# ---------------------------------------------------------------------------------------------- runners


def run_export(file: Path, export_format: str, images: np.ndarray) -> np.ndarray:
    """Class probabilities (N, classes) of an exported file, run in its own runtime, for uint8 (N, 28, 28)
    images."""
    inputs = images.astype(np.float32)[..., np.newaxis] / 255.0
    if export_format == "keras":
        import keras

        from model.predict import batch_probabilities

        return batch_probabilities(keras.saving.load_model(file, compile=False, safe_mode=True), images)
    if export_format == "savedmodel":
        import tensorflow as tf

        loaded = tf.saved_model.load(str(file))  # Keep the object: its variables live as long as it does.
        return np.concatenate([np.asarray(loaded.serve(tf.constant(chunk))) for chunk in _chunks(inputs)])
    if export_format == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(file), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        return np.concatenate([session.run(None, {name: chunk})[0] for chunk in _chunks(inputs)])
    return _run_litert(file, images if export_format == "tflite-int8" else inputs)


def _run_litert(file: Path, inputs: np.ndarray) -> np.ndarray:
    """Run a LiteRT file with ai-edge-litert; uint8 models get quantized input and dequantized output."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(file))
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.resize_tensor_input(source["index"], [_BATCH, 28, 28, 1])
    interpreter.allocate_tensors()
    parts = []
    for chunk in _chunks(inputs[..., np.newaxis] if inputs.ndim == 3 else inputs):
        batch = np.zeros((_BATCH, 28, 28, 1), source["dtype"])
        if source["dtype"] == np.uint8:
            scale, zero = source["quantization"]
            chunk = np.clip(np.round(chunk.astype(np.float32) / 255.0 / scale + zero), 0, 255)
        batch[: len(chunk)] = chunk
        interpreter.set_tensor(source["index"], batch)
        interpreter.invoke()
        output = interpreter.get_tensor(target["index"])[: len(chunk)]
        if target["dtype"] == np.uint8:
            scale, zero = target["quantization"]
            output = (output.astype(np.float32) - zero) * scale
        parts.append(output.astype(np.float32))
    return np.concatenate(parts)


def _chunks(array: np.ndarray) -> Iterator[np.ndarray]:
    for start in range(0, len(array), _BATCH):
        yield np.ascontiguousarray(array[start : start + _BATCH])


# --------------------------------------------------------------------------------------------- verifying


def verify(model, file: Path, export_format: str, drawings: Drawings) -> dict:
    """Compare an exported file with the Keras model on real drawings; return the figures, or raise
    ``ExportError`` when the export does not meet its rule."""
    from model.predict import batch_probabilities

    expected = batch_probabilities(model, drawings.images)
    try:
        found = run_export(file, export_format, drawings.images)
    except Exception as error:  # Each runtime raises its own kinds of errors for a file it cannot run.
        raise ExportError(f"the {export_format} export does not run ({error})") from error
    if found.shape != expected.shape:
        raise ExportError(f"the {export_format} export gives {found.shape} outputs, Keras {expected.shape}")
    agreement = float(np.mean(found.argmax(axis=1) == expected.argmax(axis=1)))
    difference = float(np.max(np.abs(found - expected)))
    figures = {"drawings": len(drawings.images), "verified_on": drawings.description,
               "top1_agreement": round(agreement, 6), "max_probability_difference": difference}
    if drawings.labels is not None:
        keras_top1 = float(np.mean(expected.argmax(axis=1) == drawings.labels))
        export_top1 = float(np.mean(found.argmax(axis=1) == drawings.labels))
        figures.update(keras_top1=round(keras_top1, 6), export_top1=round(export_top1, 6),
                       top1_change_points=round(100 * (export_top1 - keras_top1), 3))
    if export_format == "tflite-int8":
        figures["rule"] = f"top-1 accuracy at most {100 * INT8_MAX_LOSS:g} point below the Keras model's"
        if figures["keras_top1"] - figures["export_top1"] > INT8_MAX_LOSS:
            raise ExportError(f"the tflite-int8 export loses {-figures['top1_change_points']:.2f} points of top-1 "
                              f"accuracy (at most {100 * INT8_MAX_LOSS:g} allowed) on {drawings.description}")
    else:
        figures["rule"] = f"the same top-1 as Keras on every drawing, probabilities within {FLOAT_TOLERANCE:g}"
        if agreement < 1.0 or difference > FLOAT_TOLERANCE:
            raise ExportError(f"the {export_format} export differs from the Keras model: top-1 agreement "
                              f"{agreement:.4%}, largest probability difference {difference:.2g} (allowed "
                              f"{FLOAT_TOLERANCE:g}) on {drawings.description}")
    return {"format": export_format, "file": FILE_NAMES[export_format], "bytes": _size(file),
            "made": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), **_interface(export_format),
            "tools": _tools(export_format), "verification": {**figures, "passed": True}}


def _interface(export_format: str) -> dict:
    if export_format == "tflite-int8":
        return {"input": "uint8 (N, 28, 28, 1), 0 = background, 255 = ink (scale 1/255, zero point 0)",
                "output": "uint8 (N, classes): probability = value x output scale (see the README)"}
    names = f" named {ONNX_INPUT!r}" if export_format == "onnx" else ""
    output = f" named {ONNX_OUTPUT!r}" if export_format == "onnx" else ""
    return {"input": f"float32 (N, 28, 28, 1){names}, 0 = background, 1 = ink",
            "output": f"float32 (N, classes) softmax probabilities{output}, in the order of class_names"}


def _tools(export_format: str) -> dict:
    from importlib.metadata import PackageNotFoundError, version

    names = {"keras": ["keras"], "savedmodel": ["keras", "tensorflow-cpu", "tensorflow"],
             "tflite": ["keras", "ai-edge-litert"], "tflite-int8": ["tensorflow-cpu", "tensorflow", "ai-edge-litert"],
             "onnx": ["keras", "tf2onnx", "onnx", "onnxruntime"]}[export_format]
    found = {}
    for name in names:
        with contextlib.suppress(PackageNotFoundError):
            found[name] = version(name)
    return found


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(item.stat().st_size for item in path.rglob("*")
                                                          if item.is_file())


def readme(card, export_format: str, section: dict) -> str:
    """A short README for an export: what it is, how to load it, how it was verified."""
    figures = section["verification"]
    accuracy = (f" Top-1 accuracy: Keras {figures['keras_top1']:.2%}, this export {figures['export_top1']:.2%}."
                if "export_top1" in figures else "")
    usage = {
        "keras": "import keras\nmodel = keras.saving.load_model('model.keras')\n"
                 "probabilities = model.predict(images)  # float32 (N, 28, 28, 1), 0..1",
        "savedmodel": "import tensorflow as tf\nmodel = tf.saved_model.load('saved_model')\n"
                      "probabilities = model.serve(tf.constant(images))  # float32 (N, 28, 28, 1), 0..1",
        "tflite": "from ai_edge_litert.interpreter import Interpreter\n"
                  "interpreter = Interpreter(model_path='model.tflite')\ninterpreter.allocate_tensors()\n"
                  "source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]\n"
                  "interpreter.set_tensor(source['index'], image)  # float32 (1, 28, 28, 1), 0..1\n"
                  "interpreter.invoke()\nprobabilities = interpreter.get_tensor(target['index'])",
        "tflite-int8": "from ai_edge_litert.interpreter import Interpreter\n"
                       "interpreter = Interpreter(model_path='model_int8.tflite')\ninterpreter.allocate_tensors()\n"
                       "source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]\n"
                       "interpreter.set_tensor(source['index'], image)  # uint8 (1, 28, 28, 1), 0..255\n"
                       "interpreter.invoke()\nscale, zero = target['quantization']\n"
                       "probabilities = (interpreter.get_tensor(target['index']).astype('float32') - zero) * scale",
        "onnx": "import onnxruntime\nsession = onnxruntime.InferenceSession('model.onnx')\n"
                "probabilities = session.run(None, {'drawing': images})[0]  # float32 (N, 28, 28, 1), 0..1\n"
                "# In a browser, onnxruntime-web: ort.InferenceSession.create('model.onnx'), input 'drawing'",
    }[export_format]
    return (f"# {card.name} ({export_format})\n\n{card.summary()}.\n\nClasses, in output order: "
            f"{', '.join(card.class_names)}.\n\nInput: {section['input']}; a drawing is rendered to 28x28 with the "
            f"`{card.recipe}` recipe of Doodle Lab (data_loader/raster.py).\nOutput: {section['output']}.\n\n"
            f"```python\n{usage}\n```\n\nVerified when exported against the Keras model on "
            f"{figures['verified_on']}: top-1 agreement {figures['top1_agreement']:.2%}, largest probability "
            f"difference {figures['max_probability_difference']:.2g}.{accuracy} Rule: {figures['rule']}.\n"
            "card.json holds the model card with these figures under `export`.\n")


# ------------------------------------------------------------------------------------------------ helpers


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (between processes and threads alike) while the block runs."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock; the atomic rename still keeps every export whole.
        yield
        return
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_leftovers(folder: Path, older_than: float = 3600) -> None:
    """Remove temporary export folders and files that an interrupted export left behind."""
    import time

    for path in folder.glob(".*"):
        if path.name.endswith(".lock") or time.time() - path.stat().st_mtime < older_than:
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def remove_stale_exports(registry: Registry, older_than: float = 3600) -> list[Path]:
    """Remove the cached exports of models that were deleted, renamed or saved again (once they are older than
    ``older_than`` seconds, so that an export being made for a model saved a moment ago is left alone)."""
    import time

    exports = registry.folder / EXPORTS_FOLDER
    current = {export_key(entry) for entry in registry.entries()}
    removed = []
    for path in exports.iterdir() if exports.is_dir() else []:
        try:
            stale = path.is_dir() and not path.name.startswith(".") and path.name not in current \
                and time.time() - path.stat().st_mtime > older_than
        except OSError:
            continue
        if stale:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the converters' warnings about deprecated numpy names and unused optimizer state."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def main(argv: list[str] | None = None) -> int:
    """Export a model from the command line and print where it went and how it verified."""
    parser = argparse.ArgumentParser(prog="python -m model.export", description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a registry name, a model folder or a .keras file")
    parser.add_argument("--format", required=True, help=f"one of {', '.join(FORMATS)}")
    parser.add_argument("--out", required=True, help="a new folder for the model file, card.json and README.md")
    parser.add_argument("--data-dir", help="data root for the held-out drawings (default: $DOODLE_DATA_DIR)")
    parser.add_argument("--calibration", type=int, default=CALIBRATION_COUNT,
                        help="training drawings that calibrate tflite-int8")
    arguments = parser.parse_args(argv)
    from data_loader import DataError

    try:
        out = export_model(arguments.model, arguments.format, arguments.out, data_dir=arguments.data_dir,
                           calibration_count=arguments.calibration)
    except (ExportError, RegistryError, DataError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    section = json.loads((out / "card.json").read_text(encoding="utf-8"))["export"]
    print(json.dumps({"out": str(out), **{key: section[key] for key in ("format", "file", "bytes")},
                      "verification": section["verification"]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
