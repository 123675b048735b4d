"""Loading a user's own multimodal data (e.g. the paper's real datasets, which are not downloadable
here) from a folder of per-modality NumPy arrays.

Layout (either form)::

    DIR/<modality>.npy                  all samples; the last ``test_fraction`` become the test split
    DIR/train/<modality>.npy            explicit splits
    DIR/test/<modality>.npy
    DIR/modalities.json                 optional

Each array's first axis is the sample axis, aligned across modalities (row ``i`` of every file is
the same sample). Without ``modalities.json`` the kind follows the array's rank: 4 -> ``image``
``(N, C, H, W)``, 3 -> ``series`` ``(N, T, C)``, 2 -> ``vector`` ``(N, d)``; the modalities are
taken in file-name order. ``modalities.json`` fixes order and kinds:
``{"modalities": [{"name": "camera", "kind": "image"}, {"name": "joints", "kind": "series"}]}``.
``uint8`` images are scaled to [0, 1]; every array is converted to float32.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..errors import LipboundError
from ._base import ModalitySpec, MultimodalDataset
from ._cache import dataset_checksum

_KIND_OF_RANK = {4: "image", 3: "series", 2: "vector"}


class DatasetFolderError(LipboundError, ValueError):
    """A dataset folder that does not follow the documented layout (the message says what to fix)."""


def _load_array(path: Path) -> np.ndarray:
    try:
        a = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise DatasetFolderError(f"{path}: not a readable .npy array ({type(exc).__name__}: {exc})") from exc
    if not isinstance(a, np.ndarray) or a.dtype.kind not in "fiub" or a.ndim < 2:
        raise DatasetFolderError(f"{path}: need a numeric array with a sample axis and at least one more axis, "
                                 f"got dtype {a.dtype}, shape {a.shape}")
    return a


def _to_tensor(a: np.ndarray, kind: str, path: Path) -> torch.Tensor:
    if kind == "image" and a.dtype == np.uint8:
        t = torch.from_numpy(a.astype(np.float32) / np.float32(255.0))
    else:
        t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    if not bool(torch.isfinite(t).all()):
        raise DatasetFolderError(f"{path}: holds NaN or Inf values")
    return t


def _split_files(folder: Path) -> dict[str, dict[str, Path]]:
    if (folder / "train").is_dir() or (folder / "test").is_dir():
        out = {}
        for split in ("train", "test"):
            d = folder / split
            files = {p.stem: p for p in sorted(d.glob("*.npy"))} if d.is_dir() else {}
            if not files:
                raise DatasetFolderError(f"{folder}: has a train/ or test/ folder, so it needs both, each with "
                                         f"<modality>.npy files; {d} has none")
            out[split] = files
        if sorted(out["train"]) != sorted(out["test"]):
            raise DatasetFolderError(f"{folder}: train/ has modalities {sorted(out['train'])}, test/ has "
                                     f"{sorted(out['test'])}; they must match")
        return out
    files = {p.stem: p for p in sorted(folder.glob("*.npy"))}
    if not files:
        raise DatasetFolderError(f"{folder}: no <modality>.npy files (nor train/ and test/ folders); see "
                                 "docs/datasets.md for the layout")
    return {"all": files}


def load_folder(path: str | Path, *, test_fraction: float = 0.2, name: str | None = None) -> MultimodalDataset:
    """Load a dataset folder (module docstring for the layout).

    Args:
        path: the folder.
        test_fraction: with a flat layout, the share of samples (the last ones, so windows taken
            from one recording in time order do not leak across the split) that form the test set.
        name: the dataset's name (default: the folder's name).

    Raises:
        DatasetFolderError: missing folder or files, unreadable arrays, modalities with different
            sample counts, a ``modalities.json`` that does not match the files, bad kinds or shapes.

    >>> import tempfile, numpy as np, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> np.save(d / "camera.npy", np.zeros((10, 3, 8, 8), np.uint8)); np.save(d / "joints.npy", np.ones((10, 5, 4)))
    >>> ds = load_folder(d)
    >>> [(m.name, m.kind, m.shape) for m in ds.modalities], ds.meta["n_train"], ds.meta["n_test"]
    ([('camera', 'image', (3, 8, 8)), ('joints', 'series', (5, 4))], 8, 2)
    """
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise DatasetFolderError(f"dataset folder {folder} does not exist or is not a folder")
    if not 0.0 < test_fraction < 1.0:
        raise DatasetFolderError(f"test_fraction must be in (0, 1), got {test_fraction}")
    files = _split_files(folder)
    names = sorted(next(iter(files.values())))
    kinds: dict[str, str] = {}
    spec_file = folder / "modalities.json"
    if spec_file.exists():
        try:
            entries = json.loads(spec_file.read_text())["modalities"]
            kinds = {e["name"]: e["kind"] for e in entries}
            order = [e["name"] for e in entries]
        except Exception as exc:
            raise DatasetFolderError(f"{spec_file}: expected {{\"modalities\": [{{\"name\": ..., \"kind\": ...}}, "
                                     f"...]}} ({type(exc).__name__}: {exc})") from exc
        if sorted(order) != names:
            raise DatasetFolderError(f"{spec_file} names modalities {order}, the folder has files for {names}")
        names = order
    arrays = {split: {m: _load_array(f[m]) for m in names} for split, f in files.items()}
    for split, data in arrays.items():
        counts = {m: a.shape[0] for m, a in data.items()}
        if len(set(counts.values())) != 1:
            raise DatasetFolderError(f"{folder}: the modalities of {split!r} have different sample counts {counts}; "
                                     "row i of every file must be the same sample")
    specs = []
    first = next(iter(arrays.values()))
    for m in names:
        a = first[m]
        kind = kinds.get(m) or _KIND_OF_RANK.get(a.ndim)
        if kind not in ("image", "series", "vector"):
            raise DatasetFolderError(f"{folder}: modality {m!r} has kind {kind!r} / rank {a.ndim}; use an "
                                     "array of rank 2 (vector), 3 (series) or 4 (image), or name the kind in "
                                     "modalities.json")
        want = {"image": 4, "series": 3, "vector": 2}[kind]
        if a.ndim != want:
            raise DatasetFolderError(f"{folder}: modality {m!r} is declared {kind} (rank {want}), its array has "
                                     f"shape {a.shape}")
        specs.append(ModalitySpec(m, kind, tuple(a.shape[1:])))
    tensors = {split: {s.name: _to_tensor(arrays[split][s.name], s.kind, files[split][s.name]) for s in specs}
               for split in arrays}
    if "all" in tensors:
        n = next(iter(tensors["all"].values())).shape[0]
        n_test = int(round(test_fraction * n))
        if n_test < 1 or n_test >= n:
            raise DatasetFolderError(f"{folder}: {n} samples cannot be split with test_fraction={test_fraction}")
        train = {k: v[: n - n_test] for k, v in tensors["all"].items()}
        test = {k: v[n - n_test:] for k, v in tensors["all"].items()}
    else:
        train, test = tensors["train"], tensors["test"]
    try:
        ds = MultimodalDataset(name or folder.name, tuple(specs), train, test)
    except ValueError as exc:  # e.g. train and test shapes differ
        raise DatasetFolderError(f"{folder}: {exc}") from exc
    ds.meta.update({"name": ds.name, "source": str(folder), "generator": "lipbound.datasets.load_folder",
                    "layout": "flat" if "all" in tensors else "train/test",
                    "n_train": int(next(iter(train.values())).shape[0]),
                    "n_test": int(next(iter(test.values())).shape[0])})
    ds.meta["checksum"] = dataset_checksum(ds)
    return ds


#: loaders of data a user has on disk, by name: ``LOADERS["folder"](path)``
LOADERS = {"folder": load_folder}
