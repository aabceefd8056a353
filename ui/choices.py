"""Turn what a student picks on the Train page into a ``TrainConfig`` (plain Python, unit-tested)."""

from __future__ import annotations

from model.config import TrainConfig

DATA_SOURCES = {"QuickDraw doodles": "quickdraw", "MNIST digits": "mnist", "My own drawings": "file"}
STARTS = {
    "From scratch": "scratch",
    "Feature extraction: keep a model's convolutional base, train a new classifier": "feature_extraction",
    "Fine-tuning: feature extraction, then also retrain the top convolutional block": "fine_tuning",
}
EXPLANATIONS = {
    "per_class": "More examples per class usually means better accuracy, and longer training.",
    "architecture": "The network's shape. 'book' is Chollet's MNIST convnet, 'lecture' has a wide dense layer "
                    "(most of its parameters), 'doodle' uses batch normalization and is the most accurate.",
    "epochs": "One epoch is one pass over the training drawings. Training stops early when the validation "
              "loss stops improving.",
    "batch_size": "How many drawings the network sees before each weight update.",
    "learning_rate": "The size of each weight update: too high and training jumps around, too low and it crawls.",
    "augment": "Shows the network randomly rotated, shifted and zoomed copies of the drawings, so that it "
               "learns the shape and not the exact position (never flipped for digits).",
    "dropout": "Randomly silences this share of the units before the classifier during training, which keeps "
               "the network from memorising the training drawings.",
    "start": "Starting from a trained model reuses what its convolutional base learned about strokes and shapes: "
             "it needs far fewer examples.",
    "data": "QuickDraw: doodles by people playing Google's game. MNIST: handwritten digits. Your own drawings: "
            "new classes you draw here, at least 10 each.",
    "format": "Bitmaps are Google's own 28x28 renderings. Strokes are the pen paths, drawn by this app's "
              "rasterizer exactly as your canvas drawings are.",
    "augment_strength": "How far the random rotations, shifts and zooms go.",
    "base": "The trained model whose convolutional base is reused.",
    "fine_tune_epochs": "Extra epochs after feature extraction, with the top convolutional block unfrozen and "
                        "a ten times lower learning rate, so that it adapts without forgetting.",
}
FORMATS = {"bitmap": "28x28 bitmaps", "strokes": "strokes"}


def default_format(classes: list[str], on_disk: dict[str, set[str]]) -> str:
    """The QuickDraw format to train on: bitmaps, unless only the stroke files of every class are at hand."""
    if classes and not set(classes) <= on_disk.get("bitmap", set()) and set(classes) <= on_disk.get("strokes", set()):
        return "strokes"
    return "bitmap"


def config_from_choices(data: str, classes: list[str], per_class: int, architecture: str, epochs: int,
                        batch_size: int, learning_rate: float, augment: bool, augment_strength: float,
                        dropout: float, start: str, base: str | None = None, dataset_file: str | None = None,
                        fine_tune_epochs: int = 5, seed: int = 0, data_format: str = "bitmap") -> TrainConfig:
    """Build the training settings from the page's labels and values; ValueError says what is missing."""
    if data not in DATA_SOURCES:
        raise ValueError(f"unknown data choice {data!r}")
    if start not in STARTS:
        raise ValueError(f"unknown starting point {start!r}")
    source, transfer = DATA_SOURCES[data], STARTS[start]
    if source == "file" and not dataset_file:
        raise ValueError("draw at least 10 examples of each of at least two classes first")
    if source != "file" and len(classes) < 2:
        raise ValueError("choose at least two classes")
    return TrainConfig(
        classes=list(classes), source=source, per_class=int(per_class), dataset_file=dataset_file,
        data_format=data_format if source == "quickdraw" else "bitmap",
        architecture=architecture, epochs=int(epochs), batch_size=int(batch_size),
        learning_rate=float(learning_rate), augment=bool(augment), augment_strength=float(augment_strength),
        dropout=float(dropout), transfer=transfer, base=base if transfer != "scratch" else None,
        fine_tune_epochs=int(fine_tune_epochs), seed=seed,
        # A few drawings per class get the trainer's small-data recipe (model.train.small_data_recipe).
    )
