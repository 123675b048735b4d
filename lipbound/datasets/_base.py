"""The dataset interface: every dataset, generated or loaded from a user's files, is a
:class:`MultimodalDataset` of per-modality tensors, built by a function in :data:`DATASETS`.

>>> ds = load_dataset("synthetic", size="small", seed=0)
>>> ds.modality_names, tuple(ds.train["m0"].shape)
(('m0', 'm1'), (512, 6))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from ..errors import LipboundError

SIZES = ("small", "paper")


class UnknownDatasetError(LipboundError):
    """A dataset name that is not registered (the message lists the known ones)."""


@dataclass(frozen=True)
class ModalitySpec:
    """One modality: ``kind`` is ``"image"`` (shape ``(C, H, W)``), ``"series"`` (a window of a
    multichannel time series, shape ``(T, C)``) or ``"vector"`` (shape ``(d,)``)."""

    name: str
    kind: str
    shape: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.kind not in ("image", "series", "vector"):
            raise ValueError(f"modality kind must be image, series or vector, got {self.kind!r}")


@dataclass
class MultimodalDataset:
    """Per-modality train/test tensors (float32, first axis = sample; samples aligned across
    modalities) with their :class:`ModalitySpec` s and metadata (seed, size, generator, checksum)."""

    name: str
    modalities: tuple[ModalitySpec, ...]
    train: dict[str, torch.Tensor]
    test: dict[str, torch.Tensor]
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for split, data in (("train", self.train), ("test", self.test)):
            names = [m.name for m in self.modalities]
            if sorted(data) != sorted(names):
                raise ValueError(f"{self.name}: {split} has modalities {sorted(data)}, specs name {names}")
            ns = {k: v.shape[0] for k, v in data.items()}
            if len(set(ns.values())) != 1:
                raise ValueError(f"{self.name}: {split} modalities have different sample counts {ns}")
            for m in self.modalities:
                if tuple(data[m.name].shape[1:]) != m.shape:
                    raise ValueError(f"{self.name}: {split}/{m.name} has shape {tuple(data[m.name].shape[1:])}, "
                                     f"spec says {m.shape}")

    @property
    def modality_names(self) -> tuple[str, ...]:
        """The modality names, in order."""
        return tuple(m.name for m in self.modalities)


#: name -> builder ``(size, seed, cache_dir) -> MultimodalDataset``
DATASETS: dict[str, Callable[..., MultimodalDataset]] = {}


def register_dataset(name: str) -> Callable:
    """Decorator registering a dataset builder under ``name``."""

    def deco(fn: Callable[..., MultimodalDataset]) -> Callable[..., MultimodalDataset]:
        DATASETS[name] = fn
        return fn

    return deco


def load_dataset(name: str, *, size: str = "small", seed: int = 0, cache_dir=None) -> MultimodalDataset:
    """Build (or load from the cache) dataset ``name`` at ``size`` (``"small"`` or ``"paper"``).

    ``name`` may also be ``"folder:PATH"``: the user's data in folder ``PATH``
    (:func:`lipbound.datasets.load_folder`; ``size``, ``seed`` and ``cache_dir`` do not apply).
    """
    if isinstance(name, str) and name.startswith("folder:"):
        from ._folder import load_folder

        return load_folder(name[len("folder:"):])
    if name not in DATASETS:
        raise UnknownDatasetError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}, "
                                  "or folder:PATH for your own data")
    if size not in SIZES:
        raise LipboundError(f"size must be one of {SIZES}, got {size!r}")
    return DATASETS[name](size=size, seed=seed, cache_dir=cache_dir)


def _synthetic(name: str, dims: tuple[int, ...], size: str, seed: int) -> MultimodalDataset:
    from ..zoo import make_multimodal_data

    n_train, n_test = (512, 256) if size == "small" else (8192, 2048)
    tr = make_multimodal_data(n_train, dims, seed=seed, sample_seed=2 * seed + 1)
    te = make_multimodal_data(n_test, dims, seed=seed, sample_seed=2 * seed + 2)
    mods = tuple(ModalitySpec(f"m{i}", "vector", (d,)) for i, d in enumerate(dims))
    return MultimodalDataset(name, mods, {m.name: t for m, t in zip(mods, tr)},
                             {m.name: t for m, t in zip(mods, te)},
                             {"size": size, "seed": seed, "generator": "lipbound.zoo.make_multimodal_data"})


@register_dataset("synthetic")
def synthetic(size: str = "small", seed: int = 0, cache_dir=None) -> MultimodalDataset:
    """Two vector modalities (widths 6, 10) from shared factors
    (:func:`lipbound.zoo.make_multimodal_data`): 512/256 train/test samples (``small``) or
    8192/2048 (``paper``); cheap, so never cached."""
    return _synthetic("synthetic", (6, 10), size, seed)


@register_dataset("synthetic-3")
def synthetic3(size: str = "small", seed: int = 0, cache_dir=None) -> MultimodalDataset:
    """Three vector modalities (widths 6, 10, 8) from shared factors: the trimodal stand-in
    (Section 5.8) that needs no rendering; sizes as :func:`synthetic`."""
    return _synthetic("synthetic-3", (6, 10, 8), size, seed)
