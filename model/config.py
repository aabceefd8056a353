"""``TrainConfig``: every choice of a training run, in one small dataclass built by the CLI and the Train page."""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass, field

SOURCES = ("quickdraw", "mnist", "file")
TRANSFERS = ("scratch", "feature_extraction", "fine_tuning")


@dataclass
class TrainConfig:
    """What to train on, which network, and how.

    ``source`` is ``quickdraw``, ``mnist`` or ``file`` (a dataset .npz written by the data loader, such as
    the user's own drawings, named by ``dataset_file``). ``transfer`` is ``scratch`` (a new network of
    ``architecture``), ``feature_extraction`` (freeze the convolutional base of ``base`` and train a new
    classifier) or ``fine_tuning`` (feature extraction, then ``fine_tune_epochs`` more epochs with the top
    convolutional block unfrozen and a ten times lower learning rate).
    """

    classes: list[str] = field(default_factory=list)
    source: str = "quickdraw"
    per_class: int = 1000
    data_format: str = "bitmap"
    dataset_file: str | None = None
    architecture: str = "doodle"
    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 2e-3
    augment: bool = False
    augment_strength: float = 0.5
    dropout: float = 0.3
    seed: int = 0
    base: str | None = None
    transfer: str = "scratch"
    fine_tune_epochs: int = 3
    validation_fraction: float = 0.1
    test_fraction: float = 0.1
    patience: int = 3
    data_dir: str | None = None
    name: str | None = None
    precision: str = "auto"

    def __post_init__(self) -> None:
        if isinstance(self.classes, str):
            self.classes = [name.strip() for name in self.classes.split(",") if name.strip()]
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first setting that makes no sense."""
        from data_loader.dataset import repeated_classes
        from model.architectures import TRAINABLE

        repeated = repeated_classes([str(name) for name in self.classes])
        checks = [
            (not repeated, f"classes given more than once: {'; '.join(repeated)} (case and spaces do not count)"),
            (self.source in SOURCES, f"source must be one of {', '.join(SOURCES)}, got {self.source!r}"),
            (self.source == "file" or len(self.classes) >= 2, "choose at least two classes"),
            (self.source != "file" or bool(self.dataset_file), "source 'file' needs a dataset file"),
            (self.source == "file" or self.per_class >= 1,
             f"drawings per class must be at least 1, got {self.per_class}"),
            (self.architecture in TRAINABLE, f"architecture must be one of {', '.join(TRAINABLE)}"),
            (1 <= self.epochs <= 500, f"epochs must be between 1 and 500, got {self.epochs}"),
            (1 <= self.batch_size <= 4096, f"batch size must be between 1 and 4096, got {self.batch_size}"),
            (0 < self.learning_rate < 1, f"learning rate must be between 0 and 1, got {self.learning_rate}"),
            (0 <= self.augment_strength <= 1, "augmentation strength must be between 0 and 1"),
            (0 <= self.dropout < 1, f"dropout must be at least 0 and below 1, got {self.dropout}"),
            (self.transfer in TRANSFERS, f"transfer must be one of {', '.join(TRANSFERS)}"),
            (self.transfer == "scratch" or bool(self.base), f"{self.transfer} needs a base model"),
            (0 <= self.fine_tune_epochs <= 500, "fine-tuning epochs must be between 0 and 500"),
            (0 < self.validation_fraction < 0.5, "the validation fraction must be between 0 and 0.5"),
            (0 <= self.test_fraction < 0.5, "the test fraction must be between 0 and 0.5"),
            (self.patience >= 1, "early-stopping patience must be at least 1 epoch"),
            (self.precision in ("auto", "float32", "mixed"), "precision must be auto, float32 or mixed"),
        ]
        for passed, message in checks:
            if not passed:
                raise ValueError(message)

    def to_dict(self) -> dict:
        return asdict(self)

    def command(self) -> str:
        """The command line that reproduces this training run."""
        parts = ["python", "-m", "model.train", "--source", self.source]
        if self.source == "file":
            parts += ["--dataset", str(self.dataset_file)]
        else:
            parts += ["--classes", ",".join(self.classes), "--per-class", str(self.per_class)]
        if self.source == "quickdraw":
            parts += ["--format", self.data_format]
        defaults = TrainConfig(classes=["a", "b"])
        options = [("architecture", "--arch"), ("epochs", "--epochs"), ("batch_size", "--batch-size"),
                   ("learning_rate", "--learning-rate"), ("dropout", "--dropout"), ("seed", "--seed"),
                   ("patience", "--patience"), ("validation_fraction", "--validation-fraction"),
                   ("test_fraction", "--test-fraction")]
        for attribute, flag in options:
            if attribute == "architecture" or getattr(self, attribute) != getattr(defaults, attribute):
                parts += [flag, str(getattr(self, attribute))]
        if self.augment:
            parts += ["--augment", "--augment-strength", str(self.augment_strength)]
        if self.transfer != "scratch":
            parts += ["--base", str(self.base), "--transfer", self.transfer]
            if self.transfer == "fine_tuning":
                parts += ["--fine-tune-epochs", str(self.fine_tune_epochs)]
        if self.precision != "auto":
            parts += ["--precision", self.precision]
        if self.name:
            parts += ["--name", self.name]
        return shlex.join(parts)
