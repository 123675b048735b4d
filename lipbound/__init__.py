"""lipbound: executable, checked mathematics for the Lipschitz stability of multimodal autoencoders.

The paper encoded here is "Stabilizing Multimodal Autoencoders: A Theoretical and Empirical
Analysis of Fusion Strategies" (arXiv 2512.20749). See :mod:`lipbound.claims` for the claim ledger
and :mod:`lipbound.models` for the models every check runs on.
"""

from ._version import __version__
from .errors import (
    LipboundError,
    MissingDependencyError,
    ModalityCountError,
    NonFiniteError,
    ShapeMismatchError,
    UnknownClaimError,
    UnsupportedModuleError,
)

__all__ = [
    "LipboundError",
    "MissingDependencyError",
    "ModalityCountError",
    "NonFiniteError",
    "ShapeMismatchError",
    "UnknownClaimError",
    "UnsupportedModuleError",
    "__version__",
]
