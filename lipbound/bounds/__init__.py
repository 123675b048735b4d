"""Lipschitz brackets: certified upper bounds, sound lower bounds and the paper's estimator.

:func:`bracket` runs the methods and returns a :class:`Bracket` of :class:`BoundResult` s, each of
kind ``certified-upper``, ``lower`` or ``heuristic``; :func:`autoencoder_bounds` bounds every
submodule of a :class:`~lipbound.models.MultimodalAutoencoder` and the whole map. See
``docs/bounds.md`` for the soundness policy.
"""

from ._bracket import METHODS, attention_bound, attention_lipschitz, autoencoder_bounds, bracket
from ._estimator import paper_estimator
from ._lower import Ball, Box, jacobian_power_iteration, pgd_lower
from ._network import Layer, Network, slope_interval, to_network
from ._result import Bracket, BoundResult, SoundnessError
from ._sdp import CertificateError, build_lmi, lipsdp, solve_lipsdp, verify_certificate
from ._spectral import conv_norm_lower, conv_norm_upper, linear_norm, spectral_product

__all__ = [
    "METHODS",
    "Ball",
    "Box",
    "Bracket",
    "BoundResult",
    "CertificateError",
    "Layer",
    "Network",
    "SoundnessError",
    "attention_bound",
    "attention_lipschitz",
    "autoencoder_bounds",
    "bracket",
    "build_lmi",
    "conv_norm_lower",
    "conv_norm_upper",
    "jacobian_power_iteration",
    "linear_norm",
    "lipsdp",
    "paper_estimator",
    "pgd_lower",
    "slope_interval",
    "solve_lipsdp",
    "spectral_product",
    "to_network",
    "verify_certificate",
]
