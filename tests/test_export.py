"""Model export: every format made and verified for a small real model, the browser model's cache, the
download zips, bad inputs, and the Models page's download."""

from __future__ import annotations

import dataclasses
import json
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from model import export
from model.export import FORMATS, ExportError, browser_model, export_archive, export_model, run_export


@pytest.fixture(scope="module")
def saved(tiny_training, tmp_path_factory: pytest.TempPathFactory, data_root: Path):
    """The shared tiny training (3 QuickDraw classes, 150 drawings each) saved in a registry of its own."""
    from model.registry import Registry

    registry = Registry(tmp_path_factory.mktemp("export_registry"))
    entry = registry.save(tiny_training.model, dataclasses.replace(tiny_training.card, name="tiny"))
    return registry, entry


@pytest.fixture(scope="module")
def held_out(saved, data_root: Path):
    """The held-out drawings of the tiny model, rebuilt from its card, and the Keras probabilities for them."""
    from model.predict import batch_probabilities
    from model.registry import load_model

    registry, entry = saved
    model, card = load_model(entry, registry)
    drawings = export.verification_drawings(card, str(data_root))
    return drawings, batch_probabilities(model, drawings.images)


@pytest.mark.parametrize("export_format", FORMATS)
def test_each_format_is_exported_verified_and_described(saved, held_out, data_root: Path, tmp_path: Path,
                                                        export_format: str) -> None:
    registry, entry = saved
    drawings, expected = held_out
    out = export_model(entry, export_format, tmp_path / "out", registry, str(data_root), calibration_count=300)
    file = out / export.FILE_NAMES[export_format]
    card = json.loads((out / "card.json").read_text(encoding="utf-8"))
    section = card["export"]
    assert card["class_names"] == entry.card.class_names
    assert section["format"] == export_format and section["bytes"] == export._size(file) > 10_000
    figures = section["verification"]
    assert figures["passed"] and figures["drawings"] == len(drawings.images) == sum(entry.card.data["test_counts"]
                                                                                    .values())
    assert "held-out test part" in figures["verified_on"]
    assert export_format in (out / "README.md").read_text(encoding="utf-8")
    found = run_export(file, export_format, drawings.images)  # Run again, independently of the export's check.
    assert figures["top1_agreement"] == pytest.approx(np.mean(found.argmax(1) == expected.argmax(1)))
    if export_format == "tflite-int8":
        assert section["calibration"].startswith("300 drawings")
        keras_top1, int8_top1 = np.mean(expected.argmax(1) == drawings.labels), np.mean(found.argmax(1) ==
                                                                                        drawings.labels)
        assert keras_top1 - int8_top1 <= export.INT8_MAX_LOSS
        assert figures["export_top1"] == pytest.approx(int8_top1)
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_path=str(file))
        assert interpreter.get_input_details()[0]["dtype"] == np.uint8
        assert interpreter.get_output_details()[0]["dtype"] == np.uint8
    else:
        assert np.array_equal(found.argmax(1), expected.argmax(1))
        assert np.max(np.abs(found - expected)) <= export.FLOAT_TOLERANCE
        assert figures["max_probability_difference"] == pytest.approx(np.max(np.abs(found - expected)), abs=1e-7)
    if export_format == "keras":  # The folder is a model folder the app can load, card and all.
        from model.registry import load_model

        assert load_model(out, registry)[1].class_names == entry.card.class_names


def test_a_failed_verification_raises_and_leaves_nothing(saved, data_root: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    registry, entry = saved
    monkeypatch.setattr(export, "FLOAT_TOLERANCE", -1.0)  # No export can be that close: verification must fail.
    with pytest.raises(ExportError, match="differs from the Keras model"):
        export_model(entry, "tflite", tmp_path / "out", registry, str(data_root), limit=20)
    assert list(tmp_path.iterdir()) == []


def test_browser_model_is_made_once_shared_and_remade_for_a_resaved_model(saved, data_root: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import onnxruntime

    registry, entry = saved
    monkeypatch.setenv("DOODLE_DATA_DIR", str(data_root))
    paths: list[Path] = []
    threads = [threading.Thread(target=lambda: paths.append(browser_model("tiny", registry))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(paths) == 2 and paths[0] == paths[1] and paths[0].is_file()
    assert paths[0].is_relative_to(registry.folder / "exports")
    assert [path.name for path in paths[0].parent.parent.iterdir() if not path.name.startswith(".")] == ["onnx"]
    session = onnxruntime.InferenceSession(str(paths[0]), providers=["CPUExecutionProvider"])
    assert [item.name for item in session.get_inputs()] == ["drawing"]
    probabilities = session.run(["probabilities"], {"drawing": np.zeros((2, 28, 28, 1), np.float32)})[0]
    assert probabilities.shape == (2, 3) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)

    made = paths[0].stat().st_mtime_ns
    assert browser_model(entry, registry) == paths[0] and paths[0].stat().st_mtime_ns == made

    import keras

    model = keras.saving.load_model(entry.model_path)
    registry.delete("tiny")
    resaved = registry.save(model, dataclasses.replace(entry.card, created="2030-01-01T00:00:00+00:00"))
    again = browser_model(resaved, registry)
    assert again != paths[0] and again.is_file()


def test_a_download_zip_holds_the_model_card_and_readme_and_is_made_once(saved, data_root: Path) -> None:
    registry, entry = saved
    archive = export_archive(entry, "tflite", registry, str(data_root))
    with zipfile.ZipFile(archive) as bundle:
        names = sorted(bundle.namelist())
        card = json.loads(bundle.read("tiny-tflite/card.json"))
    assert names == ["tiny-tflite/README.md", "tiny-tflite/card.json", "tiny-tflite/model.tflite"]
    assert card["export"]["verification"]["passed"]
    made = archive.stat().st_mtime_ns
    assert export_archive(entry, "tflite", registry) == archive and archive.stat().st_mtime_ns == made


def test_without_the_held_out_files_float_exports_verify_on_the_raw_drawings(saved, data_root: Path,
                                                                             tmp_path: Path) -> None:
    (tmp_path / "quickdraw").mkdir()
    (tmp_path / "quickdraw" / "raw").symlink_to(data_root / "quickdraw" / "raw")
    card = saved[1].card
    drawings = export.verification_drawings(card, str(tmp_path), download=False)
    assert "raw drawings" in drawings.description and len(drawings.images) > 200 and drawings.labels is None
    with pytest.raises(ExportError, match="cannot be rebuilt"):
        export.verification_drawings(card, str(tmp_path), download=False, need_labels=True)


def test_bad_inputs_get_clear_errors_and_write_nothing(saved, tmp_path: Path, capsys) -> None:
    from model.registry import RegistryError

    registry, entry = saved
    with pytest.raises(ExportError, match="unknown export format 'pdf'; choose one of keras"):
        export_model(entry, "pdf", tmp_path / "a", registry)
    with pytest.raises(RegistryError, match="no model named 'nothing'"):
        export_model("nothing", "onnx", tmp_path / "b", registry)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("keep me")
    with pytest.raises(ExportError, match="already exists"):
        export_model(entry, "onnx", tmp_path / "taken", registry)
    (tmp_path / "plain").write_text("a file, not a folder")
    with pytest.raises(ExportError, match="cannot create the folder"):
        export_model(entry, "onnx", tmp_path / "plain" / "out", registry)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["plain", "taken"]
    assert (tmp_path / "taken" / "file").read_text() == "keep me"

    assert export.main(["--model", "nothing", "--format", "onnx", "--out", str(tmp_path / "c")]) == 1
    assert "error: no model named 'nothing'" in capsys.readouterr().err
    assert export.main(["--model", str(entry.folder), "--format", "zip", "--out", str(tmp_path / "c")]) == 1
    assert "unknown export format 'zip'" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


def test_the_command_line_exports_a_model_folder(saved, data_root: Path, tmp_path: Path, capsys) -> None:
    registry, entry = saved
    arguments = ["--model", str(entry.folder), "--format", "onnx", "--out", str(tmp_path / "onnx"),
                 "--data-dir", str(data_root)]
    assert export.main(arguments) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["out"] == str(tmp_path / "onnx") and printed["verification"]["passed"]
    assert printed["bytes"] == (tmp_path / "onnx" / "model.onnx").stat().st_size


def test_models_page_offers_a_download_of_each_format(registry, tiny_training) -> None:
    from streamlit.testing.v1 import AppTest

    from ui.exports import FORMAT_LABELS

    registry.save(tiny_training.model, dataclasses.replace(tiny_training.card, name="tiny"))
    app = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "pages" / "6_Models.py"), default_timeout=240)
    app.run()
    assert not app.exception
    choice = app.selectbox(key="export_format_tiny")
    assert choice.options == [FORMAT_LABELS[name] for name in FORMATS]
    assert not app.get("download_button")  # Nothing is exported before someone asks.
    choice.select_index(FORMATS.index("tflite-int8")).run()
    app.button(key="export_tiny").click().run()
    assert not app.exception and not app.error
    assert len(list((registry.folder / "exports").rglob("tiny-tflite-int8.zip"))) == 1
    labels = [element.proto.label for element in app.get("download_button")]
    assert labels == ["Download tiny-tflite-int8.zip"]


def test_stale_exports_are_removed_once_old(saved, tmp_path: Path) -> None:
    import os

    registry, entry = saved
    exports = registry.folder / "exports"
    gone, fresh = exports / "deleted-0123456789ab", exports / "saved-just-now-0123456789ab"
    for folder in (gone, fresh):
        (folder / "onnx").mkdir(parents=True)
    os.utime(gone, (0, 0))
    current = exports / export.export_key(registry.get("tiny") if "tiny" in registry.names() else entry)
    current.mkdir(parents=True, exist_ok=True)
    os.utime(current, (0, 0))
    assert export.remove_stale_exports(registry) == [gone]
    assert fresh.is_dir() and current.is_dir()


def test_a_predictor_guesses_with_the_verified_onnx_file_and_refuses_another_models(saved, held_out, data_root: Path,
                                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                                      tmp_path: Path) -> None:
    """The server's fast path gives the Keras model's guesses on real held-out drawings; a file of another model
    is refused with a clear message and the predictor keeps using TensorFlow."""
    from model.predict import Predictor

    registry, entry = saved
    monkeypatch.setenv("DOODLE_DATA_DIR", str(data_root))
    drawings, keras_probabilities = held_out
    predictor = Predictor.load("tiny", registry)
    assert predictor.runtime == "tensorflow"
    predictor.use_onnx(browser_model("tiny", registry))
    assert predictor.runtime == "onnxruntime"
    found = np.concatenate([predictor.probabilities(image) for image in drawings.images[:60]])
    np.testing.assert_allclose(found, keras_probabilities[:60], atol=1e-4)
    assert predictor.probabilities(drawings.images[:5]).shape == (5, 3), "batches still go through Keras"

    other = dataclasses.replace(entry.card, name="other", created="2031-01-01T00:00:00+00:00")
    import keras

    model = keras.saving.load_model(entry.model_path)
    model.get_layer(model.layers[-1].name).set_weights(
        [weights[..., ::-1] for weights in model.layers[-1].get_weights()])  # The classes in reverse order.
    registry.save(model, other)
    fresh = Predictor.load("tiny", registry)
    with pytest.raises(ValueError, match="does not agree with the model"):
        fresh.use_onnx(browser_model("other", registry))
    with pytest.raises(ValueError, match="not an ONNX model"):
        fresh.use_onnx(tmp_path / "missing.onnx")
    assert fresh.runtime == "tensorflow" and "not an ONNX model" in fresh.onnx_problem
    registry.delete("other")


def _publish_and_guess() -> None:
    """An app script: publish the tiny model's browser file, then check which runtime the predictors use."""
    import os
    import shutil
    from pathlib import Path

    import streamlit as st

    from model.predict import Predictor
    from model.registry import Registry
    from ui import live_canvas

    folder, kept = Path(os.environ["TEST_STATIC_MODELS"]), live_canvas.MODELS
    live_canvas.MODELS = folder
    try:
        registry = Registry(Path(os.environ["TEST_REGISTRY"]))
        predictor = Predictor.load("tiny", registry)
        source = live_canvas.model_source(predictor)
        st.session_state["before"] = [bool(source.get("missing")), predictor.runtime]
        shutil.copyfile(os.environ["TEST_ONNX"], folder / source["id"])
        st.session_state["after"] = ["missing" in live_canvas.model_source(predictor), predictor.runtime]
        stranger = Predictor.load("tiny", registry)
        (folder / source["id"]).write_bytes(b"not a model")
        live_canvas.model_source(stranger)
        st.session_state["stranger"] = [stranger.runtime, "not an ONNX model" in (stranger.onnx_problem or "")]
    finally:
        live_canvas.MODELS = kept


def test_the_server_guesses_with_the_browsers_file_once_it_is_there(saved, data_root: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """ui.live_canvas hands the published browser file to the session's predictor; a file that does not load is
    refused once, and that predictor keeps guessing with TensorFlow."""
    from streamlit.testing.v1 import AppTest

    registry, _ = saved
    monkeypatch.setenv("DOODLE_DATA_DIR", str(data_root))
    monkeypatch.setenv("TEST_ONNX", str(browser_model("tiny", registry)))
    monkeypatch.setenv("TEST_REGISTRY", str(registry.folder))
    monkeypatch.setenv("TEST_STATIC_MODELS", str(tmp_path))
    app = AppTest.from_function(_publish_and_guess, default_timeout=120).run()
    assert not app.exception, [item.value for item in app.exception]
    assert app.session_state["before"] == [True, "tensorflow"], "nothing to use before the file is published"
    assert app.session_state["after"] == [False, "onnxruntime"]
    assert app.session_state["stranger"] == ["tensorflow", True]
