"""Datasets and corruptions as the experiments use them.

:func:`get_dataset` loads a dataset of :mod:`lipbound.datasets`, plus ``synthetic-3``: three
vector modalities from shared factors (:func:`lipbound.zoo.make_multimodal_data`), the trimodal
stand-in of Section 5.8 that needs no rendering. :func:`corruptions_for` lists the failure
injections (Section 5.7) that apply to a modality: those of :mod:`lipbound.datasets` for images
and series when that module provides them, and for vector modalities lipbound's own additive
Gaussian noise (labelled ``vector-gaussian-noise``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..datasets import DATASETS, ModalitySpec, MultimodalDataset, UnknownDatasetError, load_dataset

#: datasets the experiments build themselves (not in :data:`lipbound.datasets.DATASETS`)
LOCAL_DATASETS = ("synthetic-3",)


def _synthetic3(size: str, seed: int) -> MultimodalDataset:
    from ..zoo import make_multimodal_data

    n_train, n_test = (512, 256) if size == "small" else (8192, 2048)
    dims = (6, 10, 8)
    tr = make_multimodal_data(n_train, dims, seed=seed, sample_seed=2 * seed + 1)
    te = make_multimodal_data(n_test, dims, seed=seed, sample_seed=2 * seed + 2)
    mods = tuple(ModalitySpec(f"m{i}", "vector", (d,)) for i, d in enumerate(dims))
    return MultimodalDataset("synthetic-3", mods, {m.name: t for m, t in zip(mods, tr)},
                             {m.name: t for m, t in zip(mods, te)},
                             {"size": size, "seed": seed, "generator": "lipbound.zoo.make_multimodal_data (3 modalities)"})


def known_datasets() -> tuple[str, ...]:
    """Every dataset name :func:`get_dataset` accepts."""
    return tuple(sorted(DATASETS)) + LOCAL_DATASETS


def generated_datasets() -> tuple[str, ...]:
    """The generated (simulated) datasets: every registered one except ``synthetic`` and loaders of
    real files (a builder with a true ``needs_files`` attribute, or a name starting with ``real``)."""
    out = []
    for name, fn in sorted(DATASETS.items()):
        if name == "synthetic" or name.startswith("real") or getattr(fn, "needs_files", False):
            continue
        out.append(name)
    return tuple(out) if out else ("synthetic", "synthetic-3")


def get_dataset(name: str, *, size: str = "small", seed: int = 0, cache_dir=None) -> MultimodalDataset:
    """:func:`lipbound.datasets.load_dataset`, plus the local ``synthetic-3``.

    >>> ds = get_dataset("synthetic-3")
    >>> ds.modality_names
    ('m0', 'm1', 'm2')
    >>> get_dataset("nope")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lipbound.datasets._base.UnknownDatasetError: unknown dataset 'nope'; known: ...synthetic-3
    """
    if name == "synthetic-3":
        return _synthetic3(size, seed)
    if name not in DATASETS:
        raise UnknownDatasetError(f"unknown dataset {name!r}; known: {', '.join(known_datasets())}")
    return load_dataset(name, size=size, seed=seed, cache_dir=cache_dir)


def _vector_noise(x: torch.Tensor, *, severity: float = 1.0, seed: int = 0) -> torch.Tensor:
    """Additive Gaussian noise of standard deviation ``severity`` times the per-feature std."""
    g = torch.Generator().manual_seed(int(seed))
    std = x.std(dim=0, keepdim=True).clamp_min(1e-6)
    return x + severity * std * torch.randn(x.shape, generator=g, dtype=x.dtype)


def corruptions_for(spec: ModalitySpec) -> dict[str, Callable[..., torch.Tensor]]:
    """``name -> fn(x, *, severity, seed)`` for the failure injections that apply to ``spec``.

    Image and series corruptions come from :mod:`lipbound.datasets` (``IMAGE_CORRUPTIONS``,
    ``SERIES_CORRUPTIONS``) when it provides them; vector modalities (and, while that module has
    no corruptions, every modality) get lipbound's additive noise ``vector-gaussian-noise``.
    """
    from .. import datasets as ds

    table = {"image": getattr(ds, "IMAGE_CORRUPTIONS", None), "series": getattr(ds, "SERIES_CORRUPTIONS", None)}
    found = table.get(spec.kind)
    corrupt = getattr(ds, "corrupt", None)
    if found and corrupt is not None:
        return {name: (lambda x, *, severity=1.0, seed=0, _n=name: corrupt(_n, x, severity=severity, seed=seed))
                for name in found}
    return {"vector-gaussian-noise": _vector_noise}
