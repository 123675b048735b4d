"""Input validation shared by the model code: finiteness and shapes, with messages that name the culprit."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..errors import ModalityCountError, NonFiniteError, ShapeMismatchError


def check_finite(module: nn.Module, *, name: str = "model") -> None:
    """Raise :class:`~lipbound.errors.NonFiniteError` if any parameter or buffer of ``module`` is NaN or Inf.

    >>> import torch
    >>> lin = torch.nn.Linear(2, 2)
    >>> check_finite(lin)
    >>> with torch.no_grad():
    ...     lin.weight[0, 0] = float("nan")
    >>> check_finite(lin, name="encoder 0")
    Traceback (most recent call last):
    ...
    lipbound.errors.NonFiniteError: encoder 0 has non-finite values in parameter 'weight' (1 NaN, 0 Inf of 4 entries); re-initialise or reload the weights
    """
    tensors = list(module.named_parameters()) + list(module.named_buffers())
    for pname, tensor in tensors:
        if not torch.is_floating_point(tensor) and not torch.is_complex(tensor):
            continue
        finite = torch.isfinite(tensor)
        if not bool(finite.all()):
            n_nan = int(torch.isnan(tensor).sum())
            n_inf = int(torch.isinf(tensor).sum())
            kind = "parameter" if any(pname == p for p, _ in module.named_parameters()) else "buffer"
            raise NonFiniteError(
                f"{name} has non-finite values in {kind} {pname!r} "
                f"({n_nan} NaN, {n_inf} Inf of {tensor.numel()} entries); "
                "re-initialise or reload the weights"
            )


def check_finite_tensor(x: torch.Tensor, *, name: str) -> None:
    """Raise :class:`~lipbound.errors.NonFiniteError` if tensor ``x`` holds NaN or Inf."""
    if not bool(torch.isfinite(x).all()):
        raise NonFiniteError(
            f"{name} holds non-finite values ({int(torch.isnan(x).sum())} NaN, "
            f"{int(torch.isinf(x).sum())} Inf of {x.numel()} entries)"
        )


def check_modality_count(m: int, *, minimum: int = 1, what: str = "a multimodal model") -> None:
    """Raise :class:`~lipbound.errors.ModalityCountError` unless ``m >= minimum``."""
    if m < minimum:
        raise ModalityCountError(
            f"{what} needs at least {minimum} modalit{'y' if minimum == 1 else 'ies'}, got M = {m}"
        )


def check_latents(latents: Sequence[torch.Tensor], latent_dims: Sequence[int], *, what: str) -> None:
    """Check that ``latents`` are M tensors of shape ``(..., d_i)`` with a common batch shape."""
    if len(latents) != len(latent_dims):
        raise ShapeMismatchError(
            f"{what} was built for M = {len(latent_dims)} modalities but received {len(latents)} latents"
        )
    batch = None
    for i, (z, d) in enumerate(zip(latents, latent_dims)):
        if z.ndim < 1 or z.shape[-1] != d:
            raise ShapeMismatchError(
                f"{what}: latent {i} has shape {tuple(z.shape)}, expected last dimension {d}"
            )
        if batch is None:
            batch = z.shape[:-1]
        elif z.shape[:-1] != batch:
            raise ShapeMismatchError(
                f"{what}: latent {i} has batch shape {tuple(z.shape[:-1])}, latent 0 has {tuple(batch)}"
            )
