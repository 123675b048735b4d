r"""Fusion (aggregation) modules :math:`z = U(E_1(x_1), \dots, E_M(x_M))`.

Every fusion is a :class:`Fusion`: it is built for a fixed list of latent widths, reports the
width of the fused vector, and maps a list of M latents of shape ``(..., d_i)`` to one tensor of
shape ``(..., output_dim)``. New fusions plug in with :func:`register_fusion`; the claim checks and
:class:`~lipbound.models.MultimodalAutoencoder` only use this interface.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from ..errors import ShapeMismatchError
from ._checks import check_latents, check_modality_count


class Fusion(nn.Module):
    """Base class of fusion modules.

    Subclasses set :attr:`name`, implement :meth:`fuse` and may override :meth:`output_width`.

    Attributes:
        latent_dims: the widths :math:`d_1, \\dots, d_M` of the latents this fusion was built for.
        output_dim: the width of the fused latent :math:`z`.
    """

    name: str = "fusion"
    #: smallest number of modalities the fusion is defined for
    min_modalities: int = 1

    def __init__(self, latent_dims: Sequence[int]) -> None:
        super().__init__()
        dims = tuple(int(d) for d in latent_dims)
        check_modality_count(len(dims), minimum=self.min_modalities, what=f"{self.name} fusion")
        if any(d < 1 for d in dims):
            raise ShapeMismatchError(f"{self.name} fusion: latent widths must be positive, got {dims}")
        self.latent_dims = dims
        self.output_dim = self.output_width(dims)

    @property
    def num_modalities(self) -> int:
        """M, the number of fused latents."""
        return len(self.latent_dims)

    def output_width(self, latent_dims: tuple[int, ...]) -> int:
        """Width of the fused latent; concatenation by default."""
        return sum(latent_dims)

    def fuse(self, latents: Sequence[torch.Tensor]) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, latents: Sequence[torch.Tensor]) -> torch.Tensor:
        check_latents(latents, self.latent_dims, what=f"{self.name} fusion")
        return self.fuse(list(latents))

    def extra_repr(self) -> str:
        return f"latent_dims={self.latent_dims}, output_dim={self.output_dim}"


FUSIONS: dict[str, type[Fusion]] = {}


def register_fusion(name: str) -> Callable[[type[Fusion]], type[Fusion]]:
    """Class decorator adding a :class:`Fusion` subclass to :data:`FUSIONS` under ``name``."""

    def deco(cls: type[Fusion]) -> type[Fusion]:
        if name in FUSIONS and FUSIONS[name] is not cls:
            raise ValueError(f"a fusion named {name!r} is already registered ({FUSIONS[name].__name__})")
        cls.name = name
        FUSIONS[name] = cls
        return cls

    return deco


def make_fusion(name: str, latent_dims: Sequence[int], **kwargs) -> Fusion:
    """Build the registered fusion ``name`` for latents of widths ``latent_dims``.

    >>> make_fusion("concat", [2, 3]).output_dim
    5
    >>> make_fusion("mean", [2, 2])
    Traceback (most recent call last):
    ...
    ValueError: unknown fusion 'mean'; registered fusions: attention, concat, sum
    """
    try:
        cls = FUSIONS[name]
    except KeyError:
        raise ValueError(f"unknown fusion {name!r}; registered fusions: {', '.join(sorted(FUSIONS))}") from None
    return cls(latent_dims, **kwargs)


@register_fusion("sum")
class SumFusion(Fusion):
    r"""Summation fusion :math:`z = \sum_{i=1}^M E_i(x_i)` (Section 3.2, Eq. 3).

    All latents must have the same width; the fused width is that width.

    >>> f = SumFusion([2, 2])
    >>> f([torch.ones(2), 2 * torch.ones(2)])
    tensor([3., 3.])
    >>> SumFusion([2, 3])
    Traceback (most recent call last):
    ...
    lipbound.errors.ShapeMismatchError: sum fusion needs equal latent widths, got (2, 3): make every encoder's latent_dim the same, or use concat fusion
    """

    def __init__(self, latent_dims: Sequence[int]) -> None:
        dims = tuple(int(d) for d in latent_dims)
        if len(set(dims)) > 1:
            raise ShapeMismatchError(
                f"sum fusion needs equal latent widths, got {dims}: make every encoder's latent_dim "
                "the same, or use concat fusion"
            )
        super().__init__(dims)

    def output_width(self, latent_dims: tuple[int, ...]) -> int:
        return latent_dims[0]

    def fuse(self, latents: Sequence[torch.Tensor]) -> torch.Tensor:
        out = latents[0]
        for z in latents[1:]:
            out = out + z
        return out


@register_fusion("concat")
class ConcatFusion(Fusion):
    r"""Vertical concatenation :math:`z = [E_1(x_1); \dots; E_M(x_M)]` (Lemma 3.3).

    >>> ConcatFusion([1, 2])([torch.ones(1), torch.zeros(2)])
    tensor([1., 0., 0.])
    """

    def fuse(self, latents: Sequence[torch.Tensor]) -> torch.Tensor:
        return torch.cat(list(latents), dim=-1)


@register_fusion("attention")
class AttentionFusion(Fusion):
    r"""Pairwise-averaged bilinear attention fusion (Definition 4.1).

    .. math::

        s_{ij} = (W_i x_i)^\top (W_j x_j), \qquad
        \alpha_i = \frac{1}{M} \sum_{j=1}^{M} s_{ij}, \qquad
        f(x) = [\alpha_1 x_1; \dots; \alpha_M x_M].

    Each :math:`W_i` maps :math:`\mathbb{R}^{d_i}` to a common score space of width ``proj_dim``
    (default: the smallest latent width). The sum over :math:`j` includes :math:`j = i`. Needs
    :math:`M \ge 2` (with one modality the "fusion" is the cubic map :math:`x \mapsto \|Wx\|^2 x`).

    >>> f = AttentionFusion([2, 2])
    >>> f([torch.ones(2), torch.ones(2)]).shape
    torch.Size([4])
    """

    min_modalities = 2

    def __init__(self, latent_dims: Sequence[int], proj_dim: int | None = None) -> None:
        super().__init__(latent_dims)
        k = int(proj_dim) if proj_dim is not None else min(self.latent_dims)
        if k < 1:
            raise ShapeMismatchError(f"attention fusion: proj_dim must be positive, got {proj_dim}")
        self.proj_dim = k
        self.weights = nn.ParameterList(
            [nn.Parameter(torch.randn(k, d) / math.sqrt(d)) for d in self.latent_dims]
        )

    def scores(self, latents: Sequence[torch.Tensor]) -> torch.Tensor:
        r"""The score matrix :math:`S_{ij} = (W_i x_i)^\top (W_j x_j)`, shape ``(..., M, M)``."""
        proj = torch.stack([z @ w.T for z, w in zip(latents, self.weights)], dim=-2)
        return proj @ proj.transpose(-1, -2)

    def fuse(self, latents: Sequence[torch.Tensor]) -> torch.Tensor:
        alpha = self.scores(latents).mean(dim=-1)  # (..., M): alpha_i = (1/M) sum_j s_ij
        return torch.cat([alpha[..., i : i + 1] * z for i, z in enumerate(latents)], dim=-1)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", proj_dim={self.proj_dim}"
