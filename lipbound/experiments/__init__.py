"""The paper's experiments (Section 5): training harness with Lipschitz tracking (Sections 4.6,
5.3-5.6), sweeps on a local process pool or Ray, downstream failure detection (Section 5.7), and
the results directory that ``lipbound train`` / ``lipbound reproduce`` write (``docs/experiments.md``).

>>> from lipbound.experiments import plan
>>> len(plan("tiny", ablation=False))
18
"""

from ._build import SeriesDecoder, SeriesEncoder, build_model, modality_mse, param_norm
from ._config import (
    ALL_FUSIONS,
    ARCHITECTURES,
    MEDIUM_ARCH,
    PAPER_ARCH,
    PRESETS,
    SMALL_ARCH,
    Architecture,
    Preset,
    RunConfig,
    UnknownFusionError,
    UnknownPresetError,
    get_preset,
)
from ._data import corruptions_for, generated_datasets, get_dataset, known_datasets
from ._detect import Detector, detection_metrics, fit_detector
from ._harness import TRACK_BUDGET, RunResult, TrainingDivergedError, detect_run, read_jsonl, train_run, write_jsonl
from ._safety import ConfigMismatchError, CorruptCheckpointError, OutputFolderError, RunLockedError, check_out_dir
from ._sweep import (
    EXECUTORS,
    SweepInterrupted,
    SweepSummary,
    UnknownExecutorError,
    check_sweep,
    finalize,
    plan,
    run_one,
    run_sweep,
)
from ._tracking import power_lower, track

__all__ = [
    "ALL_FUSIONS",
    "ARCHITECTURES",
    "EXECUTORS",
    "MEDIUM_ARCH",
    "PAPER_ARCH",
    "PRESETS",
    "SMALL_ARCH",
    "TRACK_BUDGET",
    "Architecture",
    "ConfigMismatchError",
    "CorruptCheckpointError",
    "Detector",
    "OutputFolderError",
    "Preset",
    "RunConfig",
    "RunLockedError",
    "RunResult",
    "SeriesDecoder",
    "SeriesEncoder",
    "SweepInterrupted",
    "SweepSummary",
    "TrainingDivergedError",
    "UnknownExecutorError",
    "UnknownFusionError",
    "UnknownPresetError",
    "build_model",
    "check_out_dir",
    "check_sweep",
    "corruptions_for",
    "detect_run",
    "detection_metrics",
    "finalize",
    "fit_detector",
    "generated_datasets",
    "get_dataset",
    "get_preset",
    "known_datasets",
    "modality_mse",
    "param_norm",
    "plan",
    "power_lower",
    "read_jsonl",
    "run_one",
    "run_sweep",
    "track",
    "train_run",
    "write_jsonl",
]
