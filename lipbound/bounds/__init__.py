"""Lipschitz brackets: certified upper bounds, sound lower bounds and the paper's estimator.

:func:`bracket` runs the methods and returns a :class:`Bracket` of :class:`BoundResult` s, each of
kind ``certified-upper``, ``lower`` or ``heuristic``; :func:`autoencoder_bounds` bounds every
submodule of a :class:`~lipbound.models.MultimodalAutoencoder` and the whole map;
:func:`exact_lipschitz` gives the exact constant of linear and one-hidden-layer ReLU networks (the
tests' ground truth); :func:`lipsdp_local` bounds the constant on a domain (per-neuron slopes
from :func:`local_slopes`); :func:`load_model` reads TorchScript / torch.export files (and :func:`as_loaded` such modules in
memory) as a :class:`LoadedModel` whose layers are proven standard (``docs/accepts.md``). See
``docs/bounds.md`` for the soundness policy.
"""

from ._bracket import (METHODS, REGISTRY, BoundMethod, attention_bound, attention_lipschitz, autoencoder_bounds,
                       bracket, default_methods)
from ._cli import ModelFileError
from ._import import LoadedModel, as_loaded, load_model
from ._barrier import solve_barrier
from ._eigopt import sequential_multipliers, solve_eigopt, verify_certificate_banded
from ._estimator import paper_estimator
from ._exact import ExactResult, exact_lipschitz
from ._local import LocalSlopes, local_slopes, preactivation_bounds
from ._localsdp import lipsdp_local
from ._lower import Ball, Box, jacobian_power_iteration, pgd_lower
from ._network import Layer, Network, slope_interval, to_network
from ._result import Bracket, BoundResult, SoundnessError
from ._sdp import CertificateError, auto_solvers, build_lmi, lipsdp, solve_lipsdp, verify_certificate
from ._spectral import conv_norm_lower, conv_norm_upper, linear_norm, spectral_product

__all__ = [
    "METHODS",
    "REGISTRY",
    "Ball",
    "Box",
    "Bracket",
    "BoundMethod",
    "BoundResult",
    "CertificateError",
    "ExactResult",
    "LoadedModel",
    "LocalSlopes",
    "Layer",
    "ModelFileError",
    "Network",
    "SoundnessError",
    "attention_bound",
    "attention_lipschitz",
    "auto_solvers",
    "as_loaded",
    "autoencoder_bounds",
    "bracket",
    "build_lmi",
    "conv_norm_lower",
    "conv_norm_upper",
    "default_methods",
    "exact_lipschitz",
    "jacobian_power_iteration",
    "linear_norm",
    "load_model",
    "lipsdp",
    "lipsdp_local",
    "local_slopes",
    "paper_estimator",
    "pgd_lower",
    "preactivation_bounds",
    "sequential_multipliers",
    "slope_interval",
    "solve_barrier",
    "solve_eigopt",
    "solve_lipsdp",
    "spectral_product",
    "to_network",
    "verify_certificate",
    "verify_certificate_banded",
]
