"""Errors raised by lipbound. Every message names the offending object and the fix."""

from __future__ import annotations


class LipboundError(Exception):
    """Base class of every error lipbound raises on purpose. The command line prints its message and
    exits with :attr:`exit_code` (2, bad input, unless a subclass or instance says otherwise)."""

    exit_code: int = 2


class Terminated(BaseException):
    """SIGTERM arrived while a command ran (the command line exits 143 = 128 + SIGTERM)."""


class ShapeMismatchError(LipboundError, ValueError):
    """Tensors or modules whose sizes do not fit together (e.g. sum fusion of unequal latents)."""


class NonFiniteError(LipboundError, ValueError):
    """A parameter or input holds NaN or Inf values."""


class ModalityCountError(LipboundError, ValueError):
    """A model or fusion was given an unsupported number of modalities."""


class UnknownClaimError(LipboundError, KeyError):
    """A claim id (or reading name) that the ledger does not know."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "unknown claim"


class ModelMappingError(LipboundError, ValueError):
    """A saved or given model that cannot be loaded, or whose structure cannot be mapped to encoders,
    fusion and decoders lipbound can prove (the message names what is missing or unsupported)."""


class UnsupportedModuleError(LipboundError, TypeError):
    """A module type that an analysis does not handle."""


class MissingDependencyError(LipboundError, ImportError):
    """An optional dependency is not installed; the message gives the install command."""


def require(module: str, extra: str | None = None):
    """Import ``module`` or raise :class:`MissingDependencyError` with an install hint.

    >>> require("math").sqrt(4.0)
    2.0
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised with a fake module name in tests
        hint = f'pip install "lipbound[{extra}]"' if extra else f"pip install {module}"
        raise MissingDependencyError(
            f"the optional dependency {module!r} is not installed; install it with: {hint}"
        ) from exc


class OutputPathError(LipboundError, ValueError):
    """An output path lipbound cannot or must not write: a file where a folder is needed, a place it
    cannot write to, or a folder holding files that lipbound did not write."""


class ConfigurationError(LipboundError, ValueError):
    """An environment setting that names something unusable (``$LIPBOUND_CACHE`` pointing at a file,
    ``$LIPBOUND_RESULTS`` naming no results directory)."""


class DataUnavailableError(LipboundError, FileNotFoundError):
    """A data set the selected claims need (and lipbound does not ship) is absent, and the command
    was told to require it (``lipbound verify --require-data``)."""
