"""Multimodal datasets for the paper's experiments (Section 5): generated scenes and loaders for
the real datasets, one interface (:class:`MultimodalDataset`), one registry (:data:`DATASETS`),
and the failure injection of Section 5.7 (:func:`corrupt`).

The generated robot datasets (``pick-and-place``, ``welding-single``, ``welding-dual``,
``robomnist``) need MuJoCo with a headless OpenGL back end (``MUJOCO_GL=egl`` is set when unset;
see :mod:`lipbound.datasets._sim`), or, on request and labelled, a NumPy rasteriser
(``renderer="procedural"``). Importing this package imports neither MuJoCo nor scikit-learn.
Users' own data: :func:`load_folder` (``load_dataset("folder:PATH")``).
"""

from ._base import (
    DATASETS,
    SIZES,
    ModalitySpec,
    MultimodalDataset,
    UnknownDatasetError,
    load_dataset,
    register_dataset,
)
from ._corruptions import CHUNK_BYTES, IMAGE_CORRUPTIONS, SERIES_CORRUPTIONS, CorruptionError, chunk_plan, corrupt
from ._cache import DatasetCacheWarning, cache_file, dataset_checksum, default_dataset_cache_dir
from ._folder import LOADERS, DatasetFolderError, load_folder
from ._pick_and_place import pick_and_place
from ._robomnist import csi_amplitude, robomnist, stroke_order
from ._sim import RendererUnavailableError, sliding_windows, window_ends
from ._welding import welding_dual, welding_single

__all__ = [
    "CHUNK_BYTES",
    "CorruptionError",
    "DATASETS",
    "DatasetCacheWarning",
    "DatasetFolderError",
    "IMAGE_CORRUPTIONS",
    "LOADERS",
    "ModalitySpec",
    "MultimodalDataset",
    "RendererUnavailableError",
    "SERIES_CORRUPTIONS",
    "SIZES",
    "UnknownDatasetError",
    "cache_file",
    "chunk_plan",
    "corrupt",
    "csi_amplitude",
    "dataset_checksum",
    "default_dataset_cache_dir",
    "load_dataset",
    "load_folder",
    "pick_and_place",
    "register_dataset",
    "robomnist",
    "sliding_windows",
    "stroke_order",
    "welding_dual",
    "welding_single",
    "window_ends",
]
