"""Inputs that used to give silent wrong answers or tracebacks now give one clear error naming the input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from data_loader import DataError, DrawingDataset, build_subset
from data_loader.__main__ import main as data_main
from data_loader.raster import render, render_many
from model.config import TrainConfig
from model.evaluate import CHANCE_MARGIN, Evaluation, chance_warning
from model.evaluate import main as evaluate_main
from model.predict import main as predict_main

HUGE = "9" * 400  # a JSON integer far beyond any float


@pytest.mark.parametrize("classes", ["cat,Cat,dog", "cat, dog ,DOG", "house plant,house  plant,cat",
                                     ["Cat", "cat "], "apple,APPLE"])
def test_train_config_refuses_classes_that_differ_only_in_case_or_spaces(classes) -> None:
    with pytest.raises(ValueError, match="more than once: .*(case and spaces do not count)"):
        TrainConfig(classes=classes)


def test_train_config_refuses_repeated_mnist_digits() -> None:
    with pytest.raises(ValueError, match="more than once: '7', '7'"):
        TrainConfig(classes="7, 7,1", source="mnist")
    assert TrainConfig(classes="7,1", source="mnist").classes == ["7", "1"]


def test_the_train_cli_refuses_duplicate_classes_before_training(capsys) -> None:
    from model.train import main as train_main

    assert train_main(["--classes", "cat,Cat,dog", "--per-class", "10", "--epochs", "1"]) == 1
    error = capsys.readouterr().err
    assert error == "error: classes given more than once: 'cat', 'Cat' (case and spaces do not count)\n"


def test_the_data_loader_refuses_duplicate_classes(data_root: Path, tmp_path: Path, capsys) -> None:
    with pytest.raises(DataError, match="'cat', 'CAT'"):
        build_subset("quickdraw", "cat,CAT", 5, root=data_root)
    with pytest.raises(DataError, match="'3', '3'"):
        build_subset("mnist", ["3", " 3"], 5, root=data_root)
    assert data_main(["--data-dir", str(data_root), "build", "--classes", "eye,Eye ", "--per-class", "5",
                      "--out", str(tmp_path / "x.npz")]) == 1
    assert "'eye', 'Eye'" in capsys.readouterr().err and not (tmp_path / "x.npz").exists()


def labelled_file(tmp_path: Path, labels: list, names: list[str]) -> Path:
    images = np.zeros((len(labels), 28, 28), np.uint8)
    images[:, 10:18, 10:18] = 255
    dataset = DrawingDataset(images, np.array(labels), names, "drawings", "canvas", "quickdraw")
    return dataset.save(tmp_path / "mine.npz")


def test_a_dataset_file_with_labels_outside_its_classes_is_refused_with_the_file_and_labels(tmp_path: Path) -> None:
    path = labelled_file(tmp_path, [0, 1, 2, 0, 1, 2, 5, 7, 7, -1], ["star", "ladder", "cloud"])
    with pytest.raises(DataError, match=r"mine\.npz: 4 drawings have labels \(-1, 5, 7\) outside the 3 classes"):
        DrawingDataset.load(path)
    from model.train import load_data

    config = TrainConfig(source="file", dataset_file=str(path))
    with pytest.raises(DataError, match="mine.npz"):
        load_data(config)  # The training never starts on a set that would lose drawings.


def test_a_dataset_file_with_repeated_class_names_or_fractional_labels_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="mine.npz: class names given more than once: 'star', 'Star'"):
        DrawingDataset.load(labelled_file(tmp_path, [0, 1], ["star", "Star"]))
    path = tmp_path / "fractional.npz"
    np.savez(path, x=np.zeros((2, 28, 28), np.uint8), y=np.array([0.5, 1.7]), class_names=np.array(["a", "b"]))
    with pytest.raises(DataError, match="fractional.npz: the labels must be whole numbers"):
        DrawingDataset.load(path)


def test_a_good_dataset_file_still_loads(tmp_path: Path) -> None:
    dataset = DrawingDataset.load(labelled_file(tmp_path, [0, 1, 2, 1], ["star", "ladder", "cloud"]))
    assert dataset.counts() == {"star": 1, "ladder": 2, "cloud": 1}


@pytest.mark.parametrize(("drawing", "message"), [
    ([[[True, False, 3], [4, 5, 6]]], "stroke 0 has a coordinate that is not a number: True"),
    ([[[0, 10], [0, 10]], [[1, 2], [3, False]]], "stroke 1 has a coordinate that is not a number: False"),
    ([[["12", 30], [4, 5]]], "stroke 0 has a coordinate that is not a number: '12'"),
    ([[np.array([True, False]), np.array([1, 2])]], "stroke 0 has a coordinate that is not a number: True"),
    ([[[10**400, 2], [4, 5]]], "stroke 0 has a coordinate too large to be a number"),
])
def test_booleans_text_and_overflowing_coordinates_are_refused(drawing, message) -> None:
    for recipe in ("quickdraw", "mnist"):
        with pytest.raises(ValueError, match=message):
            render(drawing, recipe)
    with pytest.raises(ValueError, match=f"drawing 1: {message}"):
        render_many([[[[0, 5], [0, 5]]], drawing])


def test_numpy_numbers_are_still_coordinates() -> None:
    plain = render([[[0, 40, 80], [0, 60, 10]]])
    assert np.array_equal(render([[np.array([0, 40, 80]), np.array([0.0, 60.0, 10.0])]]), plain)
    assert np.array_equal(render([[[np.int64(0), np.float32(40), 80], [0, np.int16(60), 10]]]), plain)


def bad_ndjson(tmp_path: Path) -> dict[str, Path]:
    good = json.dumps({"word": "cat", "key_id": "1", "drawing": [[[0, 255, 40], [0, 255, 90]]]})
    files = {"true/false": '{"word": "cat", "drawing": [[[true, false, 3], [4, 5, 6]]]}',
             "400 digits": '{"word": "cat", "drawing": [[[1, ' + HUGE + ", 3], [4, 5, 6]]]}"}
    paths = {}
    for number, (name, line) in enumerate(files.items()):
        paths[name] = tmp_path / f"bad{number}.ndjson"
        paths[name].write_text(f"{good}\n{line}\n")
    return paths


EXPECTED = {"true/false": "drawing 2: stroke 0 has a coordinate that is not a number: True",
            "400 digits": "drawing 2: stroke 0 has a coordinate too large to be a number"}


def test_rasterize_cli_names_the_file_and_drawing_of_a_bad_coordinate(tmp_path: Path, capsys) -> None:
    for name, path in bad_ndjson(tmp_path).items():
        assert data_main(["rasterize", str(path), "--out", str(tmp_path / "out.npy")]) == 1
        error = capsys.readouterr().err
        assert error.startswith(f"error: {path}, {EXPECTED[name]}") and error.count("\n") == 1, error
        assert not (tmp_path / "out.npy").exists()


def test_predict_cli_names_the_file_and_drawing_of_a_bad_coordinate(registry, tmp_path: Path, capsys) -> None:
    for name, path in bad_ndjson(tmp_path).items():
        assert predict_main(["--model", "quickdraw18", str(path)]) == 1
        captured = capsys.readouterr()
        assert captured.err.startswith(f"error: {path}, {EXPECTED[name]}") and captured.err.count("\n") == 1
        assert captured.out.count("\n") == 1, "the good first drawing is still classified"


def test_evaluate_on_raw_drawings_names_the_file_and_drawing_of_a_bad_coordinate(registry, tmp_path: Path,
                                                                                  capsys) -> None:
    raw = tmp_path / "data" / "quickdraw" / "raw"
    raw.mkdir(parents=True)
    bad_ndjson(tmp_path)["400 digits"].rename(raw / "cat.ndjson")
    assert evaluate_main(["--model", "quickdraw18", "--format", "raw", "--classes", "cat",
                          "--data-dir", str(tmp_path / "data")]) == 1
    error = capsys.readouterr().err
    assert error == f"error: {raw / 'cat.ndjson'}, {EXPECTED['400 digits']}\n"


@pytest.mark.parametrize(("options", "message"), [
    (["--per-class", "0"], "--per-class must be at least 1, got 0"),
    (["--per-class", "-3"], "--per-class must be at least 1, got -3"),
    (["--classes", ""], "--classes is empty"),
    (["--classes", " , "], "--classes is empty"),
    (["--classes", "cat,Cat"], "more than once: 'cat', 'Cat'"),
    (["--mistakes", "-2"], "--mistakes must be 0 or more, got -2"),
])
def test_evaluate_cli_refuses_values_it_used_to_replace_with_the_cards(registry, options: list, message: str,
                                                                      capsys) -> None:
    assert evaluate_main(["--model", "quickdraw18", *options]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: ") and message in error and error.count("\n") == 1, error


def evaluation(top1: float, classes: int, count: int = 100) -> Evaluation:
    """A real Evaluation whose top-1 accuracy is ``top1``: the first round(top1 * count) drawings are right."""
    labels = np.arange(count) % classes
    guesses = np.where(np.arange(count) < round(top1 * count), labels, (labels + 1) % classes)
    return Evaluation([f"class {index}" for index in range(classes)], labels, np.eye(classes)[guesses])


@pytest.mark.parametrize(("top1", "classes"), [(0.5, 2), (0.53, 2), (0.2, 2), (0.33, 3), (0.1, 10), (0.06, 18),
                                                (0.0, 5)])
def test_a_result_at_or_near_chance_says_so_with_likely_reasons(top1: float, classes: int) -> None:
    result = evaluation(top1, classes)
    assert result.top1 == pytest.approx(top1)
    warning = chance_warning(result)
    assert warning and f"Top-1 accuracy {top1:.0%}" in warning and f"{1 / classes:.0%} for {classes} classes" in warning
    assert "too few epochs" in warning and "too few drawings" in warning


@pytest.mark.parametrize(("top1", "classes"), [(0.6, 2), (0.45, 3), (0.9, 18), (0.12, 18)])
def test_a_result_clearly_above_chance_gives_no_warning(top1: float, classes: int) -> None:
    assert top1 > 1 / classes + CHANCE_MARGIN
    assert chance_warning(evaluation(top1, classes)) is None


def test_no_drawings_gives_no_chance_warning() -> None:
    assert chance_warning(Evaluation(["a", "b"], np.zeros(0, np.int64), np.zeros((0, 2)))) is None


def test_the_train_cli_prints_the_chance_warning_for_a_model_that_learned_nothing(registry, data_root: Path,
                                                                                  capsys) -> None:
    from model.train import main as train_main

    assert train_main(["--classes", "apple,eye", "--per-class", "30", "--epochs", "1", "--arch", "book",
                       "--learning-rate", "1e-9", "--data-dir", str(data_root), "--precision", "float32",
                       "--recipe", "standard"]) == 0
    out = capsys.readouterr().out
    assert "warning: Top-1 accuracy" in out and "no better than guessing at random (50% for 2 classes)" in out, out


def test_own_drawings_under_two_spellings_of_one_class_are_refused() -> None:
    from data_loader import from_drawings

    drawing = [[[0, 50, 90], [0, 80, 20]]]
    with pytest.raises(DataError, match="'star', 'Star '"):
        from_drawings({"star": [drawing], "Star ": [drawing]})
    assert from_drawings({"star": [drawing], "moon": [drawing]}).counts() == {"star": 1, "moon": 1}
