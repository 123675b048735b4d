"""Synthetic multimodal data, a small deterministic trainer, and a cached zoo of trained autoencoders.

>>> from lipbound.zoo import ZOO, load
>>> sorted(ZOO)[:2]
['attention-tanh', 'concat-relu']
"""

from ._data import make_factors, make_image_modality, make_multimodal_data
from ._train import TrainResult, train
from ._zoo import (
    TRAINER_FORMAT,
    ZOO,
    ZOO_GPU,
    DeviceUnavailableError,
    ZooCacheWarning,
    ZooSpec,
    build,
    cache_path,
    default_cache_dir,
    get_spec,
    load,
    load_all,
    spec_data,
    spec_key,
    state_dict_sha256,
)

__all__ = [
    "TRAINER_FORMAT",
    "ZOO",
    "ZOO_GPU",
    "DeviceUnavailableError",
    "TrainResult",
    "ZooCacheWarning",
    "ZooSpec",
    "build",
    "cache_path",
    "default_cache_dir",
    "get_spec",
    "load",
    "load_all",
    "make_factors",
    "make_image_modality",
    "make_multimodal_data",
    "spec_data",
    "spec_key",
    "state_dict_sha256",
    "train",
]
