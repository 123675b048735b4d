"""The on-disk dataset cache: one ``.npz`` per (dataset, configuration, seed), written atomically,
with a sha256 sidecar; a corrupt or mismatched file is detected and regenerated with a
:class:`DatasetCacheWarning`.

Layout under ``cache_dir`` (default ``lipbound.zoo.default_cache_dir() / "datasets"``, i.e.
``$LIPBOUND_CACHE/datasets``)::

    <name>-<size>-seed<seed>-<key>.npz          arrays "train/<modality>", "test/<modality>", "meta"
    <name>-<size>-seed<seed>-<key>.npz.sha256   sha256 of the .npz bytes (hex)

``<key>`` hashes the full generation configuration (:func:`config_key`), so a changed
configuration never reads a stale file.
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._io import atomic_write_bytes, atomic_write_text, check_folder_path
from ._base import ModalitySpec, MultimodalDataset

#: bump when the generated data of an unchanged configuration changes
CACHE_FORMAT = 1


class DatasetCacheWarning(UserWarning):
    """A cached dataset file was missing its checksum, corrupt or mismatched, and was regenerated."""


def default_dataset_cache_dir() -> Path:
    """``lipbound.zoo.default_cache_dir() / "datasets"`` (honours ``$LIPBOUND_CACHE``); raises
    :class:`~lipbound.errors.ConfigurationError` when a file stands where that folder should be."""
    from ..zoo import default_cache_dir

    return check_folder_path(default_cache_dir() / "datasets", "the datasets' cache folder",
                             "move the file away or set $LIPBOUND_CACHE to another folder")


def config_key(config: dict[str, Any]) -> str:
    """A 16-hex-digit hash of a JSON-able configuration and :data:`CACHE_FORMAT`.

    >>> config_key({"a": 1}) == config_key({"a": 1}), config_key({"a": 1}) == config_key({"a": 2})
    (True, False)
    """
    blob = json.dumps({"config": config, "format": CACHE_FORMAT}, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def dataset_checksum(ds: MultimodalDataset) -> str:
    """sha256 (hex) of a dataset's tensors: modality names, kinds, shapes and float32 bytes, in
    order, train then test. Equal checksums mean bitwise-equal data.

    >>> from lipbound.datasets import load_dataset
    >>> a = dataset_checksum(load_dataset("synthetic", seed=0)); b = dataset_checksum(load_dataset("synthetic", seed=1))
    >>> len(a), a == dataset_checksum(load_dataset("synthetic", seed=0)), a == b
    (64, True, False)
    """
    h = hashlib.sha256()
    for split in ("train", "test"):
        data = getattr(ds, split)
        for m in ds.modalities:
            t = data[m.name].detach().to("cpu", torch.float32).contiguous()
            h.update(f"{split}/{m.name}/{m.kind}/{tuple(t.shape)};".encode())
            h.update(t.numpy().tobytes())
    return h.hexdigest()


def _to_bytes(ds: MultimodalDataset) -> bytes:
    arrays: dict[str, np.ndarray] = {}
    uint8_images = ds.meta.get("image_storage") == "uint8"
    for split in ("train", "test"):
        for m in ds.modalities:
            a = getattr(ds, split)[m.name].detach().cpu().numpy()
            if m.kind == "image" and uint8_images:  # exact: the values are k/255 in float32
                a = np.rint(a * 255.0).astype(np.uint8)
            arrays[f"{split}/{m.name}"] = a
    meta = {k: v for k, v in ds.meta.items() if k not in ("cache", "cache_file")}
    header = {"name": ds.name, "modalities": [[m.name, m.kind, list(m.shape)] for m in ds.modalities], "meta": meta}
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def _from_bytes(blob: bytes) -> MultimodalDataset:
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        header = json.loads(z["header"].tobytes().decode())
        mods = tuple(ModalitySpec(n, k, tuple(s)) for n, k, s in header["modalities"])
        splits: dict[str, dict[str, torch.Tensor]] = {"train": {}, "test": {}}
        for split in splits:
            for m in mods:
                a = z[f"{split}/{m.name}"]
                t = torch.from_numpy(a.astype(np.float32) / np.float32(255.0)) if a.dtype == np.uint8 \
                    else torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
                splits[split][m.name] = t
    return MultimodalDataset(header["name"], mods, splits["train"], splits["test"], header["meta"])


def cache_file(cache_dir: str | Path | None, name: str, size: str, seed: int, config: dict[str, Any]) -> Path:
    """The cache path of a dataset (see the module docstring)."""
    root = check_folder_path(cache_dir, "the datasets' cache folder", "pass a folder") if cache_dir is not None \
        else default_dataset_cache_dir()
    return root / f"{name}-{size}-seed{seed}-{config_key(config)}.npz"


def _read_cached(path: Path, config: dict[str, Any]) -> tuple[MultimodalDataset | None, str | None]:
    """The cached dataset, or ``None`` and why it cannot be used (``None, None``: no file)."""
    if not path.exists():
        return None, None
    side = path.with_name(path.name + ".sha256")
    if not side.exists():
        return None, f"its checksum file {side.name} is missing"
    blob = path.read_bytes()
    digest = hashlib.sha256(blob).hexdigest()
    if side.read_text().strip() != digest:
        return None, "its sha256 does not match the checksum file (corrupt or modified)"
    try:
        ds = _from_bytes(blob)
    except Exception as exc:  # a file that hashes right but does not parse: rewritten by hand
        return None, f"it cannot be read ({type(exc).__name__}: {exc})"
    if ds.meta.get("config") != config:
        return None, "it was generated with another configuration"
    return ds, None


def cached_build(name: str, size: str, seed: int, config: dict[str, Any], cache_dir: str | Path | None,
                 build: Callable[[], MultimodalDataset]) -> MultimodalDataset:
    """Load dataset ``name`` from the cache, or ``build()`` it and write the cache.

    ``build()`` must return a dataset whose ``meta["config"] == config``. The returned dataset's
    ``meta`` gains ``cache`` (``"hit"``, ``"miss"`` or ``"regenerated"``), ``cache_file`` and
    ``checksum`` (:func:`dataset_checksum`). A file that fails its sha256 check, cannot be parsed or
    holds another configuration is regenerated with a :class:`DatasetCacheWarning`.
    """
    path = cache_file(cache_dir, name, size, seed, config)
    ds, why = _read_cached(path, config)
    if ds is not None:
        ds.meta.update(cache="hit", cache_file=str(path))
        return ds
    if why is not None:
        warnings.warn(f"dataset cache {path} is unusable: {why}; regenerating it", DatasetCacheWarning,
                      stacklevel=3)
    ds = build()
    ds.meta["checksum"] = dataset_checksum(ds)
    blob = _to_bytes(ds)
    atomic_write_bytes(path, blob)
    atomic_write_text(path.with_name(path.name + ".sha256"), hashlib.sha256(blob).hexdigest() + "\n")
    ds.meta.update(cache="regenerated" if why is not None else "miss", cache_file=str(path))
    return ds
