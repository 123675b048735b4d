r"""The multimodal autoencoder of Section 3.1 and its loss (Eq. 2)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..errors import ShapeMismatchError
from ._checks import check_finite, check_finite_tensor, check_modality_count
from ._fusion import Fusion, make_fusion


def _latent_dim(encoder: nn.Module, i: int) -> int:
    for attr in ("latent_dim", "out_features"):
        if hasattr(encoder, attr):
            return int(getattr(encoder, attr))
    raise ShapeMismatchError(
        f"encoder {i} ({type(encoder).__name__}) does not say its latent width: give it a "
        "`latent_dim` attribute or pass latent_dims=... to MultimodalAutoencoder"
    )


def reconstruction_loss(
    inputs: Sequence[torch.Tensor], outputs: Sequence[torch.Tensor], reduction: str = "mean"
) -> torch.Tensor:
    r"""The paper's loss (Eq. 2): :math:`L = \sum_{j=1}^{M} \lVert x_j - D_j(z) \rVert_2^2` per sample.

    Each modality's squared error is summed over all of its entries; ``reduction`` combines the
    per-sample losses over the batch (``"mean"``, ``"sum"`` or ``"none"``). Dimension 0 of an input
    with two or more dimensions is the batch; a 1-D input is one sample. An unbatched sample of a
    multi-dimensional modality (e.g. one ``(C, H, W)`` image) must be given a batch dimension of 1,
    as this function cannot tell it from a batch; :meth:`MultimodalAutoencoder.loss` does that itself.

    >>> x = [torch.ones(2, 3), torch.zeros(2, 1)]
    >>> y = [torch.zeros(2, 3), torch.ones(2, 1)]
    >>> reconstruction_loss(x, y)
    tensor(4.)
    """
    if len(inputs) != len(outputs):
        raise ShapeMismatchError(f"loss: {len(inputs)} inputs but {len(outputs)} reconstructions")
    per_sample = None
    for j, (x, y) in enumerate(zip(inputs, outputs)):
        if x.shape != y.shape:
            raise ShapeMismatchError(
                f"loss: modality {j} input has shape {tuple(x.shape)}, reconstruction {tuple(y.shape)}"
            )
        err = (x - y).pow(2)
        term = err.flatten(start_dim=1).sum(dim=1) if x.ndim > 1 else err.sum()
        per_sample = term if per_sample is None else per_sample + term
    if reduction == "none":
        return per_sample
    if reduction == "sum":
        return per_sample.sum()
    if reduction == "mean":
        return per_sample.mean()
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


class MultimodalAutoencoder(nn.Module):
    r"""Multimodal autoencoder :math:`x_j \mapsto D_j(U(E_1(x_1), \dots, E_M(x_M)))` (Section 3.1).

    Args:
        encoders: M modules; encoder i maps a batch of modality-i inputs to ``(batch, d_i)``.
        fusion: a :class:`~lipbound.models.Fusion` built for ``(d_1, ..., d_M)``, or the name of a
            registered fusion (``"sum"``, ``"concat"``, ``"attention"``) to build one.
        decoders: M modules; decoder j maps ``(batch, fusion.output_dim)`` to modality j's shape.
        latent_dims: the widths ``d_i`` when the encoders do not expose ``latent_dim``.
        fusion_kwargs: keyword arguments for the fusion when it is given by name.

    Raises:
        ModalityCountError: fewer than one modality, or different numbers of encoders and decoders.
        ShapeMismatchError: latent widths that the fusion cannot take, or a decoder whose input
            width differs from the fused width.
        NonFiniteError: NaN or Inf in any parameter.

    >>> from lipbound.models import MLPEncoder, MLPDecoder
    >>> encs = [MLPEncoder(3, 2, hidden=(4,)), MLPEncoder(5, 2, hidden=(4,))]
    >>> decs = [MLPDecoder(2, 3, hidden=(4,)), MLPDecoder(2, 5, hidden=(4,))]
    >>> model = MultimodalAutoencoder(encs, "sum", decs)
    >>> [r.shape for r in model([torch.zeros(7, 3), torch.zeros(7, 5)])]
    [torch.Size([7, 3]), torch.Size([7, 5])]
    """

    def __init__(
        self,
        encoders: Sequence[nn.Module],
        fusion: Fusion | str,
        decoders: Sequence[nn.Module],
        *,
        latent_dims: Sequence[int] | None = None,
        fusion_kwargs: dict | None = None,
    ) -> None:
        super().__init__()
        encoders, decoders = list(encoders), list(decoders)
        check_modality_count(len(encoders), what="MultimodalAutoencoder (encoders)")
        if len(decoders) != len(encoders):
            from ..errors import ModalityCountError

            raise ModalityCountError(
                f"MultimodalAutoencoder needs one decoder per modality: got {len(encoders)} encoders "
                f"and {len(decoders)} decoders"
            )
        dims = tuple(latent_dims) if latent_dims is not None else tuple(
            _latent_dim(e, i) for i, e in enumerate(encoders)
        )
        if len(dims) != len(encoders):
            raise ShapeMismatchError(f"latent_dims has {len(dims)} entries for {len(encoders)} encoders")
        if isinstance(fusion, str):
            fusion = make_fusion(fusion, dims, **(fusion_kwargs or {}))
        elif fusion_kwargs:
            raise ValueError("fusion_kwargs only apply when the fusion is given by name")
        if not isinstance(fusion, Fusion):
            raise TypeError(f"fusion must be a lipbound Fusion or a registered name, got {type(fusion).__name__}")
        if tuple(fusion.latent_dims) != dims:
            raise ShapeMismatchError(
                f"{fusion.name} fusion was built for latent widths {fusion.latent_dims}, "
                f"but the encoders produce {dims}"
            )
        for j, dec in enumerate(decoders):
            width = getattr(dec, "in_features", None)
            if width is not None and int(width) != fusion.output_dim:
                raise ShapeMismatchError(
                    f"decoder {j} takes inputs of width {width}, but {fusion.name} fusion of "
                    f"latents {dims} outputs width {fusion.output_dim}"
                )
        self.encoders = nn.ModuleList(encoders)
        self.fusion = fusion
        self.decoders = nn.ModuleList(decoders)
        self.latent_dims = dims
        self.validate()

    @property
    def num_modalities(self) -> int:
        """M, the number of modalities."""
        return len(self.encoders)

    def validate(self) -> None:
        """Raise :class:`~lipbound.errors.NonFiniteError` if any weight is NaN or Inf."""
        for i, e in enumerate(self.encoders):
            check_finite(e, name=f"encoder {i}")
        check_finite(self.fusion, name=f"{self.fusion.name} fusion")
        for j, d in enumerate(self.decoders):
            check_finite(d, name=f"decoder {j}")

    def _check_inputs(self, xs: Sequence[torch.Tensor]) -> None:
        if len(xs) != self.num_modalities:
            raise ShapeMismatchError(f"model has M = {self.num_modalities} modalities, got {len(xs)} inputs")
        for i, (x, e) in enumerate(zip(xs, self.encoders)):
            shape = getattr(e, "in_shape", None)
            if shape is not None and tuple(x.shape[-len(shape):]) != tuple(shape):
                raise ShapeMismatchError(
                    f"modality {i} input has shape {tuple(x.shape)}, encoder {i} expects (..., "
                    f"{', '.join(map(str, shape))})"
                )

    def encode(self, xs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """The latents :math:`E_i(x_i)`, one per modality."""
        self._check_inputs(xs)
        return [e(x) for e, x in zip(self.encoders, xs)]

    def fuse(self, latents: Sequence[torch.Tensor]) -> torch.Tensor:
        """The fused latent :math:`z = U(E_1(x_1), \\dots, E_M(x_M))`."""
        return self.fusion(latents)

    def decode(self, z: torch.Tensor) -> list[torch.Tensor]:
        """The reconstructions :math:`D_j(z)`, one per modality."""
        return [d(z) for d in self.decoders]

    def forward(self, xs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        return self.decode(self.fuse(self.encode(xs)))

    def loss(self, xs: Sequence[torch.Tensor], reduction: str = "mean", check: bool = False) -> torch.Tensor:
        """:func:`reconstruction_loss` of this model on inputs ``xs`` (Eq. 2).

        ``xs`` is a batch (dimension 0 of every input) or one unbatched sample (every input has
        exactly its encoder's ``in_shape``); an unbatched sample's loss is a scalar for every
        ``reduction``.
        """
        if check:
            for i, x in enumerate(xs):
                check_finite_tensor(x, name=f"modality {i} input")
        outs = self(xs)
        shapes = [getattr(e, "in_shape", None) for e in self.encoders]
        if all(s is not None and x.ndim == len(s) for x, s in zip(xs, shapes)):
            # one unbatched sample: give it a batch of 1 so (C, H, W) inputs are not read as C samples
            if reduction not in ("mean", "sum", "none"):
                raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
            return reconstruction_loss(
                [x.unsqueeze(0) for x in xs], [y.unsqueeze(0) for y in outs], reduction="none"
            )[0]
        return reconstruction_loss(xs, outs, reduction=reduction)
