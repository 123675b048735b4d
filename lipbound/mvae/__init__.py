"""The companion paper (arXiv 2411.00522): a multimodal VAE on the real iCub robot data, KL weight
schedules, and the four KL-based modality measures, linked to Lipschitz brackets of the trained
encoder and decoder. See ``docs/mvae.md``.
"""

from ._data import (
    DIM,
    ENV_VAR,
    MODALITIES,
    MUTED,
    VARIANTS,
    DataNotFoundError,
    ICubData,
    data_dir,
    load_icub,
    modality_columns,
    mute,
    only,
)
from ._measures import ACTIVE_THRESHOLD, MEASURES, diagnostics, gaussian_kl, measure_means, per_sample_measures
from ._model import (
    DEFAULT_HIDDEN,
    LOGVAR_MAX,
    LOGVAR_MIN,
    MultimodalVAE,
    VAEConfig,
    gaussian_nll,
    latent_kl,
    single_thread,
    vae_loss,
)
from ._schedules import DECAY_FRACTION, SCHEDULES, beta, check_schedule, decay_epochs
from ._train import FORMAT, RunSpec, completed_runs, load_model, stability, train_all, train_run

__all__ = [
    "ACTIVE_THRESHOLD",
    "DECAY_FRACTION",
    "DEFAULT_HIDDEN",
    "DIM",
    "ENV_VAR",
    "FORMAT",
    "LOGVAR_MAX",
    "LOGVAR_MIN",
    "MEASURES",
    "MODALITIES",
    "MUTED",
    "SCHEDULES",
    "VARIANTS",
    "DataNotFoundError",
    "ICubData",
    "MultimodalVAE",
    "RunSpec",
    "VAEConfig",
    "beta",
    "check_schedule",
    "completed_runs",
    "data_dir",
    "decay_epochs",
    "diagnostics",
    "gaussian_kl",
    "gaussian_nll",
    "latent_kl",
    "load_icub",
    "load_model",
    "measure_means",
    "modality_columns",
    "mute",
    "only",
    "per_sample_measures",
    "single_thread",
    "stability",
    "train_all",
    "train_run",
    "vae_loss",
]
