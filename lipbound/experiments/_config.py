"""Run configurations and sweep presets (Section 5.3: Adam, batch 64, MSE; Sections 5.4-5.9)."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ..errors import LipboundError


class UnknownPresetError(LipboundError):
    """A sweep preset name that is not defined (the message lists the known ones)."""


class UnknownFusionError(LipboundError):
    """A fusion name that :data:`lipbound.models.FUSIONS` does not know."""


#: the registered fusions of :mod:`lipbound.models`, in the order the sweeps use
ALL_FUSIONS: tuple[str, ...] = ("sum", "concat", "attention", "attention-scaled", "attention-regularized",
                                "attention-regularized-scaled")


@dataclass(frozen=True)
class Architecture:
    """Widths of the encoders/decoders built for every modality (:func:`build_model`).

    ``small`` is for CPU runs; ``paper`` follows Section 5.3 (sensor MLP n-64-128-128-256-256-288,
    image convolutions 3-256-128-64-32-32-32, latent 288, two-layer attention score network of 288).
    """

    latent_dim: int = 16
    hidden: tuple[int, ...] = (32, 32)
    channels: tuple[int, ...] = (8, 8)
    attention_projection: str = "linear"


SMALL_ARCH = Architecture()
PAPER_ARCH = Architecture(latent_dim=288, hidden=(64, 128, 128, 256, 256), channels=(256, 128, 64, 32, 32, 32),
                          attention_projection="mlp2")
#: Section 5.3 on small images: the paper's sensor MLP widths, latent 288 and two-layer attention
#: network of 288 exactly; the image encoder keeps the kernel (5), stride (2), padding (1) and ReLU but
#: has four convolutions (32 -> 15 -> 7 -> 3 -> 1 pixels: six stride-2 layers need images of at
#: least 125 pixels) with channels 32-16-16-16 instead of 256-128-64-32-32-32 (the paper's first
#: layers cost over 100 MFLOP per 32-pixel image and sample; these about 1.5)
MEDIUM_ARCH = Architecture(latent_dim=288, hidden=(64, 128, 128, 256, 256), channels=(32, 16, 16, 16),
                           attention_projection="mlp2")
#: architecture name -> :class:`Architecture` (``RunConfig.arch``)
ARCHITECTURES: dict[str, Architecture] = {"small": SMALL_ARCH, "medium": MEDIUM_ARCH, "paper": PAPER_ARCH}


@dataclass(frozen=True)
class RunConfig:
    """One training run: a fusion on a dataset, one trial, one lambda.

    Attributes:
        dataset: a name of :data:`lipbound.datasets.DATASETS` (or ``synthetic-3``, see
            :func:`lipbound.experiments.get_dataset`), or ``folder:PATH`` for a user's dataset folder
            (``lipbound train`` stores ``PATH`` absolute; see :func:`dataset_label`).
        fusion: a name of :data:`lipbound.models.FUSIONS`.
        trial: trial index; the model and batch-order seed is ``seed + trial``.
        lam: the L2 weight :math:`\\lambda` of the attention score matrices (Section 4.5.2, Eq. 7);
            ``None`` keeps the fusion's default (0 for sum/concat/attention, ``1e-3`` for the
            regularised variants). Only attention fusions take it.
        epochs, batch_size, lr: Adam training (Section 5.3: batch 64).
        size: dataset size (``small`` or ``paper``).
        data_seed: the dataset's seed (the same for all trials).
        seed: base seed of model initialisation and shuffling.
        track_every: Lipschitz tracking period in epochs (plus the final epoch), or ``0`` for the
            automatic schedule that keeps tracking within 15% of the training time (the final
            epoch is tracked if nothing was before), or ``-1`` for no tracking.
        track_inputs: number of test samples the lower bound and the estimator use.
        device: ``cpu`` or ``cuda``.
        arch: ``small``, ``medium`` or ``paper`` (:data:`ARCHITECTURES`).
        detect: run failure detection (Section 5.7) after training.
        patience: early stopping: stop after the first epoch that ends ``patience`` epochs without
            an improvement of the test loss (the model's, summed over modalities) by more than
            ``min_delta`` relative to the best so far (the epoch-0 loss counts); ``0`` (the
            default) never stops early. The last epoch trained is tracked and recorded
            (``done.json``: ``epochs_trained``, ``stopped_early``); a run that stopped early is
            finished.
        min_delta: the relative improvement that counts for ``patience``: epoch ``e`` improves
            when its test loss is below ``best * (1 - min_delta)``; in [0, 1).
        min_epochs: no early stop before this epoch. On lipbound's generated data the loss first
            falls to that of predicting the training mean and stays there for tens of epochs (a
            plateau every fusion leaves later, at a different epoch) before it falls again: a rule
            that stops at the first plateau compares models that have learned only the mean.
    """

    dataset: str
    fusion: str
    trial: int = 0
    lam: float | None = None
    epochs: int = 5
    batch_size: int = 64
    lr: float = 1e-3
    size: str = "small"
    data_seed: int = 0
    seed: int = 0
    track_every: int = 0
    track_inputs: int = 16
    device: str = "cpu"
    arch: str = "small"
    detect: bool = True
    patience: int = 0
    min_delta: float = 0.0
    min_epochs: int = 0

    def __post_init__(self) -> None:
        from ..models import FUSIONS

        if self.fusion not in FUSIONS:
            raise UnknownFusionError(f"unknown fusion {self.fusion!r}; known: {', '.join(ALL_FUSIONS)}")
        if self.lam is not None:
            if not (isinstance(self.lam, (int, float)) and math.isfinite(self.lam) and self.lam >= 0):
                raise LipboundError(f"lambda must be a finite non-negative number, got {self.lam!r}")
            if not self.fusion.startswith("attention"):
                raise LipboundError(f"lambda (L2 of the attention scores) does not apply to {self.fusion} fusion")
        for name in ("epochs", "batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise LipboundError(f"{name} must be a positive integer, got {v!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise LipboundError(f"lr must be a finite positive number, got {self.lr!r}")
        if isinstance(self.min_epochs, bool) or not isinstance(self.min_epochs, int) or self.min_epochs < 0:
            raise LipboundError(f"min_epochs must be a non-negative integer, got {self.min_epochs!r}")
        if isinstance(self.patience, bool) or not isinstance(self.patience, int) or self.patience < 0:
            raise LipboundError(f"patience must be a non-negative integer (0: no early stopping), got {self.patience!r}")
        if (isinstance(self.min_delta, bool) or not isinstance(self.min_delta, (int, float))
                or not math.isfinite(self.min_delta) or not 0 <= self.min_delta < 1):
            raise LipboundError(f"min_delta must be a relative improvement in [0, 1), got {self.min_delta!r}")
        if self.arch not in ARCHITECTURES:
            raise LipboundError(f"arch must be one of {', '.join(ARCHITECTURES)}, got {self.arch!r}")
        if self.device not in ("cpu", "cuda") and not self.device.startswith("cuda:"):
            raise LipboundError(f"device must be cpu or cuda, got {self.device!r}")

    @property
    def dataset_label(self) -> str:
        """The dataset's name in run ids, records and file names: :func:`dataset_label`."""
        return dataset_label(self.dataset)

    @property
    def run_id(self) -> str:
        """``<dataset label>__<fusion>__lam<lam>__t<trial>`` (``lamdef`` for the fusion's default);
        safe as a file name."""
        lam = "def" if self.lam is None else f"{self.lam:g}"
        return f"{self.dataset_label}__{self.fusion}__lam{lam}__t{self.trial}"

    @property
    def run_seed(self) -> int:
        """The seed of this trial's initial weights and batch order: ``seed + trial``."""
        return int(self.seed) + int(self.trial)

    @property
    def architecture(self) -> Architecture:
        return ARCHITECTURES[self.arch]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunConfig:
        return cls(**d)

    @staticmethod
    def stored(d: Any) -> Any:
        """A configuration dict as stored by an earlier lipbound (``done.json``, checkpoints), with
        the fields added since then set to their defaults (:data:`ADDED_FIELDS`), so that a run
        stored before a field existed compares equal to the same run asked for now; anything
        other than a dict is returned as it is.

        >>> RunConfig.stored({"dataset": "synthetic"})["patience"]
        0
        """
        if not isinstance(d, dict):
            return d
        return {**{k: v for k, v in ADDED_FIELDS.items() if k not in d}, **d}

    def with_(self, **kw) -> RunConfig:
        return replace(self, **kw)


#: fields added to :class:`RunConfig` after results were first stored, with the value that gives
#: the behaviour of a run stored without them (see :meth:`RunConfig.stored`)
ADDED_FIELDS: dict[str, Any] = {"patience": 0, "min_delta": 0.0, "min_epochs": 0}


def dataset_label(name: str) -> str:
    """``name`` itself for a registered dataset; for ``folder:PATH`` ``folder-<folder name>`` with
    every character other than letters, digits, ``.``, ``_`` and ``-`` replaced by ``-`` (and no
    ``__``, the separator of run ids), so that run ids are safe file names. Two folders of the same
    name give the same run id; their configurations differ (the full path), so a results folder
    refuses the second one instead of mixing them.

    >>> dataset_label("synthetic"), dataset_label("folder:/data/my station/"), dataset_label("folder:")
    ('synthetic', 'folder-my-station', 'folder-data')
    """
    if not name.startswith("folder:"):
        return name
    from pathlib import PurePath

    base = PurePath(name[len("folder:"):]).name
    safe = re.sub(r"_{2,}", "_", re.sub(r"[^A-Za-z0-9._-]+", "-", base)).strip("-.") or "data"
    return f"folder-{safe}"


def folder_dataset(name: str) -> str:
    """``folder:PATH`` with ``PATH`` made absolute (``~`` expanded, symbolic links resolved), so that a
    run's configuration names the same data from any working directory; other names unchanged.

    Raises:
        DatasetFolderError: ``PATH`` is not an existing folder.
    """
    if not name.startswith("folder:"):
        return name
    from pathlib import Path

    from ..datasets import DatasetFolderError

    raw = name[len("folder:"):]
    path = Path(raw).expanduser()
    if not raw or not path.is_dir():
        raise DatasetFolderError(f"dataset folder {raw!r} (from --dataset {name}) does not exist or is not a folder; "
                                 "see docs/datasets.md for the layout")
    return f"folder:{path.resolve()}"


@dataclass(frozen=True)
class Preset:
    """A sweep: datasets x fusions x trials (and a lambda ablation), with the run settings.

    ``datasets=None`` means every generated dataset registered in :data:`lipbound.datasets.DATASETS`
    (all but ``synthetic`` and the real-data loaders); ``ablation`` is ``(fusion, lambdas, datasets)``
    (Section 5.9) or ``None``.
    """

    name: str
    datasets: tuple[str, ...] | None
    fusions: tuple[str, ...]
    trials: int
    epochs: int
    size: str = "small"
    arch: str = "small"
    ablation: tuple[str, tuple[float, ...], tuple[str, ...] | None] | None = None
    description: str = ""
    run: dict[str, Any] = field(default_factory=dict)


#: lambdas of the ablation: the paper spans nine decades (Section 5.9; the endpoints were lost in
#: the recovered text); the presets take one value per decade or two
PAPER_LAMBDAS = tuple(10.0 ** k for k in range(-8, 2))
#: the ``medium`` preset's ablation: both ends of the paper's nine decades and every other decade
MEDIUM_LAMBDAS = (1e-8, 1e-6, 1e-4, 1e-2, 1.0, 10.0)
#: the ``medium`` preset's epoch cap (its runs stop earlier when the test loss plateaus)
MEDIUM_MAX_EPOCHS = 150
#: the ``medium`` preset's first epoch at which a run may stop early: on its datasets every fusion sits
#: at the mean predictor's loss for tens of epochs (up to about 90 in our probes) before it learns more
MEDIUM_MIN_EPOCHS = 100

PRESETS: dict[str, Preset] = {
    "tiny": Preset(
        "tiny", ("synthetic", "synthetic-3"), ("sum", "concat", "attention-regularized-scaled"), trials=3, epochs=3,
        ablation=("attention-regularized-scaled", (1e-4, 1e-2, 1.0), ("synthetic",)),
        description="seconds on a CPU: the vector datasets only, Lipschitz tracked at the last epoch only "
                    "(used by the claim ledger when no results exist)",
        run={"track_every": 10**6, "track_inputs": 16}),
    "smoke": Preset(
        "smoke", None, ALL_FUSIONS, trials=3, epochs=4,
        ablation=("attention-regularized-scaled", (1e-4, 1e-2, 1.0), None),
        description="all fusions x all generated datasets x 3 trials, small images; minutes on a 2-core CPU"),
    "medium": Preset(
        "medium", None, ALL_FUSIONS, trials=5, epochs=MEDIUM_MAX_EPOCHS, arch="medium",
        ablation=("attention-regularized-scaled", MEDIUM_LAMBDAS, ("pick-and-place",)),
        description="the CPU preset, faithful to Sections 5.3-5.9 but for the image size: every fusion x every "
                    "generated dataset (the trimodal one included) x 5 trials (half the paper's 10), Section 5.3's "
                    "MLP, latent and attention widths with a 4-layer image encoder for 32-pixel images, Adam, "
                    "batch 64, trained until the test loss plateaus (no improvement of 0.5% in 20 epochs, not "
                    f"before epoch {MEDIUM_MIN_EPOCHS}, at most {MEDIUM_MAX_EPOCHS}), detection after training, "
                    "and the lambda ablation over nine decades (6 values); about 75 minutes with 2 workers on a "
                    "quiet 2-core CPU (benchmarks/RESULTS.md)",
        run={"patience": 20, "min_delta": 0.005, "min_epochs": MEDIUM_MIN_EPOCHS}),
    "paper": Preset(
        "paper", None, ALL_FUSIONS, trials=10, epochs=100, size="paper", arch="paper",
        ablation=("attention-regularized-scaled", PAPER_LAMBDAS, None),
        description="paper size (Section 5.3: 10 trials, paper architectures and image size); for a GPU"),
}


def get_preset(name: str) -> Preset:
    """The preset ``name``; raises :class:`UnknownPresetError` naming the known presets.

    >>> get_preset("smoke").trials
    3
    >>> get_preset("huge")
    Traceback (most recent call last):
    ...
    lipbound.experiments._config.UnknownPresetError: unknown preset 'huge'; known presets: tiny, smoke, medium, paper
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise UnknownPresetError(f"unknown preset {name!r}; known presets: {', '.join(PRESETS)}") from None
