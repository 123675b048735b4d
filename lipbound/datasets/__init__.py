"""Multimodal datasets for the paper's experiments (Section 5): generated scenes and loaders for
the real datasets, one interface (:class:`MultimodalDataset`), one registry (:data:`DATASETS`)."""

from ._base import (
    DATASETS,
    SIZES,
    ModalitySpec,
    MultimodalDataset,
    UnknownDatasetError,
    load_dataset,
    register_dataset,
)

__all__ = [
    "DATASETS",
    "SIZES",
    "ModalitySpec",
    "MultimodalDataset",
    "UnknownDatasetError",
    "load_dataset",
    "register_dataset",
]
