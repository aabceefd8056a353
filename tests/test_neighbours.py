"""Nearest neighbours in a network's penultimate-layer features: itself first, its own class around it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from data_loader import DataError
from model.architectures import build
from model.neighbours import build_index, feature_layer_name, features, index_from_dataset, training_drawings
from model.registry import BUNDLED_DIR, load_model


def test_the_feature_layer_is_the_one_before_the_classifier() -> None:
    assert feature_layer_name(build("doodle", 3)) == "global_pool"
    assert feature_layer_name(build("book", 3, dropout=0.5)) == "dense1", "dropout is skipped"
    assert feature_layer_name(build("lecture", 3)) == "dense1"


def test_features_are_unit_vectors(tiny_training) -> None:
    vectors = features(tiny_training.model, tiny_training.splits.train.x[:5])
    assert vectors.shape == (5, 64)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_a_training_drawing_finds_itself_then_its_own_class(tiny_training) -> None:
    train = tiny_training.splits.train
    index = index_from_dataset(tiny_training.model, train)
    same_class = []
    for position in range(0, len(train), 9):
        found = index.search(tiny_training.model, train.x[position], k=6)
        assert found[0].position == position and found[0].similarity == pytest.approx(1.0, abs=1e-4)
        assert found[0].class_name == train.class_names[train.y[position]]
        assert [item.similarity for item in found] == sorted((item.similarity for item in found), reverse=True)
        same_class.append(np.mean([item.class_name == found[0].class_name for item in found[1:]]))
    assert np.mean(same_class) > 0.8, "the closest drawings in the network's eyes are mostly of the same class"


def test_the_bundled_model_index_is_its_own_training_split(data_root: Path) -> None:
    model, card = load_model(str(BUNDLED_DIR / "quickdraw18"))
    sample = training_drawings(card, per_class=15, root=data_root)
    assert sample.class_names == card.class_names and sample.counts() == {name: 15 for name in card.class_names}
    index = build_index(model, card, per_class=15, root=data_root)
    assert len(index) == 15 * 18 and index.layer == "global_pool" and index.vectors.shape == (270, 128)
    for position in (0, 100, 269):
        found = index.search(model, index.images[position], k=5)
        assert found[0].position == position
        assert found[0].class_name == card.class_names[index.labels[position]]
    votes = index.class_votes(index.search(model, index.images[100], k=10))
    assert votes[0][0] == card.class_names[index.labels[100]] and sum(count for _, count in votes) == 10


def test_a_model_of_someones_own_drawings_cannot_be_searched(tiny_training) -> None:
    import dataclasses

    card = dataclasses.replace(tiny_training.card, data={**tiny_training.card.data, "source": "drawings"})
    with pytest.raises(DataError, match="trained on drawings made in the app, which the data folder does not hold"):
        training_drawings(card)


def test_the_index_is_kept_on_disk_and_a_damaged_copy_is_rebuilt(tiny_training, data_root: Path,
                                                                  tmp_path: Path) -> None:
    import dataclasses

    model, card = tiny_training.model, tiny_training.card
    first = build_index(model, card, per_class=20, root=data_root, cache_folder=tmp_path)
    [cached] = list(tmp_path.iterdir())
    assert cached.suffix == ".npz" and len(first) == 60
    again = build_index(model, card, per_class=20, root=data_root, cache_folder=tmp_path)
    np.testing.assert_array_equal(again.vectors, first.vectors)
    np.testing.assert_array_equal(again.images, first.images)
    assert again.search(model, first.images[7], k=1)[0].position == 7
    cached.write_bytes(cached.read_bytes()[:100])
    rebuilt = build_index(model, card, per_class=20, root=data_root, cache_folder=tmp_path)
    np.testing.assert_array_equal(rebuilt.vectors, first.vectors)
    assert np.load(cached)["vectors"].shape == first.vectors.shape, "the damaged copy was replaced"
    other = build_index(model, dataclasses.replace(card, created="2027-01-01T00:00:00+00:00"), per_class=20,
                        root=data_root, cache_folder=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 2 and len(other) == 60, "a re-saved model gets its own index"
