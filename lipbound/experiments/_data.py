"""Datasets and corruptions as the experiments use them.

:func:`get_dataset` loads a dataset of :mod:`lipbound.datasets` (``synthetic-3``, three vector
modalities, is the trimodal stand-in of Section 5.8 that needs no rendering).
:func:`corruptions_for` lists the failure injections (Section 5.7) that apply to a modality: those
of :mod:`lipbound.datasets` for images and series, and for vector modalities lipbound's own
additive Gaussian noise (labelled ``vector-gaussian-noise``). :func:`corrupted_test_set` caches
corrupted test sets (in memory, and on disk when small).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np
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
    return x + severity * std * torch.randn(x.shape, generator=g, dtype=x.dtype).to(x.device)


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


# ------------------------------------------------------------------ the corrupted test sets' cache
#: corrupted test sets kept in memory by one process (on the device they were made on), in bytes
CORRUPTION_CACHE_BYTES = 2 * 2 ** 30
#: corrupted test sets of at most this many bytes are also kept on disk (larger ones, e.g. the
#: paper-size images, 0.4 GiB per corruption and seed, are not: the disk would fill up faster than
#: corrupting them again costs)
CORRUPTION_DISK_BYTES = 64 * 2 ** 20
#: bump when the cached files' layout changes
CORRUPTION_CACHE_FORMAT = 1

_MEM: OrderedDict[tuple, torch.Tensor] = OrderedDict()
_MEM_LOCK = threading.Lock()
_IMPL: list[str] = []


def _implementation() -> str:
    """sha256 of the source files that define the corruptions, so that a changed implementation
    never reads corrupted sets made by the old one."""
    if not _IMPL:
        from ..datasets import _corruptions

        h = hashlib.sha256()
        for f in (Path(_corruptions.__file__), Path(__file__)):
            h.update(f.read_bytes())
        _IMPL.append(h.hexdigest()[:16])
    return _IMPL[0]


def _identity(ds: MultimodalDataset, name: str) -> str:
    """The dataset's checksum (generated datasets carry one), else a hash of that test tensor."""
    cs = ds.meta.get("checksum") if isinstance(ds.meta, dict) else None
    if isinstance(cs, str) and cs:
        return f"{ds.name}:{cs[:24]}"
    t = ds.test[name].detach().to("cpu").contiguous()
    return f"{ds.name}:{hashlib.sha256(t.numpy().tobytes()).hexdigest()[:24]}:{tuple(t.shape)}:{t.dtype}"


def _remember(key: tuple, group: tuple, t: torch.Tensor) -> None:
    size = t.numel() * t.element_size()
    if size > CORRUPTION_CACHE_BYTES:
        return
    with _MEM_LOCK:
        used = sum(v.numel() * v.element_size() for v in _MEM.values())
        # make room from other (dataset, seed, device) groups, least recently used first; never evict
        # the group being filled (a run's corruptions are used in turn: evicting them cyclically would
        # leave nothing to reuse)
        for k in [k for k in _MEM if k[:1] + k[4:7] != group]:
            if used + size <= CORRUPTION_CACHE_BYTES:
                break
            v = _MEM.pop(k)
            used -= v.numel() * v.element_size()
        if used + size <= CORRUPTION_CACHE_BYTES:
            _MEM[key] = t


def clear_corruption_cache() -> None:
    """Forget the corrupted test sets held in memory (the files on disk stay)."""
    with _MEM_LOCK:
        _MEM.clear()


def _disk_path(cache_dir, key: tuple) -> Path:
    from ..datasets._cache import default_dataset_cache_dir
    from .._io import check_folder_path

    root = (check_folder_path(cache_dir, "the datasets' cache folder", "pass a folder") if cache_dir is not None
            else default_dataset_cache_dir())
    digest = hashlib.sha256(repr((key, CORRUPTION_CACHE_FORMAT)).encode()).hexdigest()[:16]
    ds_name = "".join(c if c.isalnum() or c in "._-" else "-" for c in key[0].split(":")[0])
    return root / "corrupted" / f"{ds_name}-{key[1]}-{key[2]}-seed{key[4]}-{digest}.npy"


def _read_disk(path: Path, shape: tuple, dtype: torch.dtype) -> torch.Tensor | None:
    side = path.with_name(path.name + ".sha256")
    try:
        blob = path.read_bytes()
        if side.read_text().strip() != hashlib.sha256(blob).hexdigest():
            return None
        import io

        a = np.load(io.BytesIO(blob), allow_pickle=False)
    except (OSError, ValueError):
        return None
    t = torch.from_numpy(np.ascontiguousarray(a))
    return t if tuple(t.shape) == tuple(shape) and t.dtype == dtype else None


def _write_disk(path: Path, t: torch.Tensor) -> None:
    import io

    from .._io import atomic_write_bytes, atomic_write_text

    buf = io.BytesIO()
    np.save(buf, t.detach().to("cpu").numpy(), allow_pickle=False)
    blob = buf.getvalue()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, blob)
        atomic_write_text(path.with_name(path.name + ".sha256"), hashlib.sha256(blob).hexdigest() + "\n")
    except OSError:  # a read-only or full cache: the set is simply made again next time
        pass


def corrupted_test_set(ds: MultimodalDataset, spec: ModalitySpec, corruption: str, *, seed: int,
                       severity: float = 1.0, device: torch.device | str = "cpu",
                       dtype: torch.dtype = torch.float32, cache_dir=None) -> torch.Tensor:
    """The test set of modality ``spec`` of ``ds`` with ``corruption`` (a name of
    :func:`corruptions_for`) applied at ``severity`` with ``seed``, on ``device`` in ``dtype``
    (the corruption runs there), cached per (dataset, modality, corruption, severity, seed,
    device type, dtype, implementation):

    * in memory, in this process, up to :data:`CORRUPTION_CACHE_BYTES` in all (least recently used
      sets of another dataset or seed make room; a set that does not fit is not kept);
    * on disk, under ``<dataset cache dir>/corrupted/`` (``cache_dir``, else
      :func:`lipbound.datasets.default_dataset_cache_dir`), for sets of at most
      :data:`CORRUPTION_DISK_BYTES`: ``.npy`` with a ``.sha256`` sidecar, written atomically; a file
      that fails its check is made again.

    The dataset is identified by its checksum (``ds.meta["checksum"]``, which the generated datasets
    carry) or else by a hash of that test tensor; the implementation by a hash of the corruptions'
    source, so a changed corruption never reads old sets. The returned tensor is shared: do not
    modify it in place.
    """
    device = torch.device(device)
    fn = corruptions_for(spec)[corruption]
    key = (_identity(ds, spec.name), spec.name, corruption, float(severity), int(seed), device.type, str(dtype),
           _implementation())
    group = key[:1] + key[4:7]
    with _MEM_LOCK:
        hit = _MEM.get(key)
        if hit is not None:
            _MEM.move_to_end(key)
    if hit is not None:
        return hit.to(device)
    x = ds.test[spec.name]
    nbytes = x.numel() * torch.empty((), dtype=dtype).element_size()
    path = _disk_path(cache_dir, key) if nbytes <= CORRUPTION_DISK_BYTES else None
    out = _read_disk(path, tuple(x.shape), dtype) if path is not None and path.exists() else None
    if out is not None:
        out = out.to(device)
    else:
        out = fn(x.to(device=device, dtype=dtype), severity=severity, seed=seed).to(device=device, dtype=dtype)
        if path is not None:
            _write_disk(path, out)
    _remember(key, group, out)
    return out
