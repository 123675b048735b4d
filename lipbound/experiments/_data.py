"""Datasets and corruptions as the experiments use them.

:func:`get_dataset` loads a dataset of :mod:`lipbound.datasets` (``synthetic-3``, three vector
modalities, is the trimodal stand-in of Section 5.8 that needs no rendering).
:func:`corruptions_for` lists the failure injections (Section 5.7) that apply to a modality: those
of :mod:`lipbound.datasets` for images and series, and for vector modalities lipbound's own
additive Gaussian noise (labelled ``vector-gaussian-noise``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..datasets import DATASETS, IMAGE_CORRUPTIONS, SERIES_CORRUPTIONS, ModalitySpec, MultimodalDataset, corrupt
from ..datasets import load_dataset

def known_datasets() -> tuple[str, ...]:
    """Every dataset name :func:`get_dataset` accepts."""
    return tuple(sorted(DATASETS))


def generated_datasets() -> tuple[str, ...]:
    """The generated (simulated) datasets: every registered one except ``synthetic`` and loaders of
    real files (a builder with a true ``needs_files`` attribute, or a name starting with ``real``)."""
    out = []
    for name, fn in sorted(DATASETS.items()):
        if name.startswith("synthetic") or name.startswith("real") or getattr(fn, "needs_files", False):
            continue
        out.append(name)
    return tuple(out) if out else ("synthetic", "synthetic-3")


def get_dataset(name: str, *, size: str = "small", seed: int = 0, cache_dir=None) -> MultimodalDataset:
    """:func:`lipbound.datasets.load_dataset` (registered names, or ``folder:PATH``).

    >>> ds = get_dataset("synthetic-3")
    >>> ds.modality_names
    ('m0', 'm1', 'm2')
    >>> get_dataset("nope")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lipbound.datasets._base.UnknownDatasetError: unknown dataset 'nope'; known: ...synthetic-3...
    """
    return load_dataset(name, size=size, seed=seed, cache_dir=cache_dir)


def _vector_noise(x: torch.Tensor, *, severity: float = 1.0, seed: int = 0) -> torch.Tensor:
    """Additive Gaussian noise of standard deviation ``severity`` times the per-feature std."""
    g = torch.Generator().manual_seed(int(seed))
    std = x.std(dim=0, keepdim=True).clamp_min(1e-6)
    return x + severity * std * torch.randn(x.shape, generator=g, dtype=x.dtype)


def corruptions_for(spec: ModalitySpec) -> dict[str, Callable[..., torch.Tensor]]:
    """``name -> fn(x, *, severity, seed)`` for the failure injections that apply to ``spec``:
    :data:`lipbound.datasets.IMAGE_CORRUPTIONS` / ``SERIES_CORRUPTIONS`` for image and series
    modalities, lipbound's additive noise ``vector-gaussian-noise`` for vector modalities.

    >>> sorted(corruptions_for(ModalitySpec("m0", "vector", (6,))))
    ['vector-gaussian-noise']
    """
    found = {"image": IMAGE_CORRUPTIONS, "series": SERIES_CORRUPTIONS}.get(spec.kind)
    if found:
        return {name: (lambda x, *, severity=1.0, seed=0, _n=name: corrupt(_n, x, severity=severity, seed=seed))
                for name in found}
    return {"vector-gaussian-noise": _vector_noise}
