"""Build the multimodal autoencoder of Section 5.3 for a dataset's modalities.

Per modality kind: ``image`` (C, H, W) -> :class:`~lipbound.models.ConvEncoder` and its mirrored
:class:`~lipbound.models.ConvDecoder` (sigmoid output, images in [0, 1]); ``series`` (T, C) ->
:class:`SeriesEncoder` (flatten + MLP, the paper's "n-64-128-128-256-256-288" sensor branch on the
flattened window) and :class:`SeriesDecoder`; ``vector`` (d,) -> MLP encoder/decoder. Every part
is a chain of layers that :mod:`lipbound.bounds` can bound, so each can be tracked during training.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ..datasets import ModalitySpec
from ..models import ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder, MultimodalAutoencoder, make_fusion
from ._config import Architecture


class SeriesEncoder(nn.Sequential):
    """Flatten a ``(T, C)`` window and encode it with an MLP (``T*C -> hidden -> latent_dim``).

    >>> enc = SeriesEncoder((5, 2), latent_dim=3, hidden=(4,))
    >>> enc(torch.zeros(7, 5, 2)).shape
    torch.Size([7, 3])
    """

    def __init__(self, shape: Sequence[int], latent_dim: int, hidden: Sequence[int]) -> None:
        t, c = (int(v) for v in shape)
        super().__init__(nn.Flatten(start_dim=-2), MLPEncoder(t * c, latent_dim, hidden=tuple(hidden)))
        self.in_shape = (t, c)
        self.latent_dim = int(latent_dim)


class SeriesDecoder(nn.Sequential):
    """Decode a fused latent into a ``(T, C)`` window (MLP to ``T*C``, then unflatten).

    >>> dec = SeriesDecoder(3, (5, 2), hidden=(4,))
    >>> dec(torch.zeros(7, 3)).shape
    torch.Size([7, 5, 2])
    """

    def __init__(self, in_features: int, shape: Sequence[int], hidden: Sequence[int]) -> None:
        t, c = (int(v) for v in shape)
        super().__init__(MLPDecoder(in_features, t * c, hidden=tuple(hidden)), nn.Unflatten(-1, (t, c)))
        self.in_features = int(in_features)
        self.out_shape = (t, c)


def _encoder(spec: ModalitySpec, arch: Architecture) -> nn.Module:
    if spec.kind == "image":
        c, h, w = spec.shape
        return ConvEncoder((h, w), in_channels=c, channels=arch.channels, latent_dim=arch.latent_dim)
    if spec.kind == "series":
        return SeriesEncoder(spec.shape, arch.latent_dim, arch.hidden)
    return MLPEncoder(spec.shape[0], arch.latent_dim, hidden=arch.hidden)


def _decoder(spec: ModalitySpec, enc: nn.Module, width: int, arch: Architecture) -> nn.Module:
    if spec.kind == "image":
        return ConvDecoder.mirror(enc, width, final_activation="sigmoid")
    if spec.kind == "series":
        return SeriesDecoder(width, spec.shape, tuple(reversed(arch.hidden)))
    return MLPDecoder(width, spec.shape[0], hidden=tuple(reversed(arch.hidden)))


def build_model(modalities: Sequence[ModalitySpec], fusion: str, arch: Architecture, *, lam: float | None = None,
                seed: int = 0) -> MultimodalAutoencoder:
    """The autoencoder for ``modalities`` with ``fusion``; weights drawn after ``torch.manual_seed(seed)``.

    ``lam`` sets the attention fusions' L2 weight (Eq. 7); the attention score network is linear
    (``small``) or two layers of ``latent_dim`` features (``paper``, Section 5.3).

    >>> from lipbound.datasets import ModalitySpec
    >>> m = build_model([ModalitySpec("a", "vector", (3,)), ModalitySpec("b", "series", (4, 2))], "concat",
    ...                 Architecture(latent_dim=2, hidden=(4,)))
    >>> [tuple(y.shape) for y in m([torch.zeros(5, 3), torch.zeros(5, 4, 2)])]
    [(5, 3), (5, 4, 2)]
    """
    torch.manual_seed(int(seed))
    encs = [_encoder(s, arch) for s in modalities]
    dims = [arch.latent_dim] * len(encs)
    kwargs: dict = {}
    if fusion.startswith("attention"):
        kwargs["projection"] = arch.attention_projection
        if lam is not None:
            kwargs["l2"] = float(lam)
    fus = make_fusion(fusion, dims, **kwargs)
    decs = [_decoder(s, e, fus.output_dim, arch) for s, e in zip(modalities, encs)]
    return MultimodalAutoencoder(encs, fus, decs)


def modality_mse(inputs: Sequence[torch.Tensor], outputs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    r"""Per-modality mean squared error :math:`\frac{1}{n d_j}\sum \lVert x_j - D_j(z) \rVert^2`.

    The training loss is their sum (Section 5.3's MSE per modality, summed over modalities); Eq. 2
    sums squared errors instead of averaging them, which weighs a 3x64x64 image 12288 times as
    much as one sensor value, so the harness uses the per-modality mean.

    >>> [float(v) for v in modality_mse([torch.ones(2, 3)], [torch.zeros(2, 3)])]
    [1.0]
    """
    return [(x - y).pow(2).mean() for x, y in zip(inputs, outputs)]


def param_norm(module: nn.Module) -> float:
    """Euclidean norm of all parameters of ``module`` (0 when it has none)."""
    sq = sum(float(p.detach().double().pow(2).sum()) for p in module.parameters())
    return math.sqrt(sq)
