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


def _registered_names() -> str:
    """'registered fusions: a, b; variants: c, d': a variant is a subclass of another registered fusion."""
    classes = set(FUSIONS.values())
    variants = sorted(n for n, c in FUSIONS.items() if any(c is not o and issubclass(c, o) for o in classes))
    base = sorted(n for n in FUSIONS if n not in variants)
    return f"registered fusions: {', '.join(base)}" + (f"; variants: {', '.join(variants)}" if variants else "")


def make_fusion(name: str, latent_dims: Sequence[int], **kwargs) -> Fusion:
    """Build the registered fusion ``name`` for latents of widths ``latent_dims``.

    >>> make_fusion("concat", [2, 3]).output_dim
    5
    >>> make_fusion("mean", [2, 2])
    Traceback (most recent call last):
    ...
    ValueError: unknown fusion 'mean'; registered fusions: attention, concat, sum; variants: attention-regularized, attention-regularized-scaled, attention-scaled
    """
    try:
        cls = FUSIONS[name]
    except KeyError:
        raise ValueError(f"unknown fusion {name!r}; {_registered_names()}") from None
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


#: Inputs are divided by ``max(||x_i||, NORMALIZE_EPS)`` when ``normalize_inputs`` is on, and weights
#: by ``max(||W||_2, SPECTRAL_EPS)`` when ``spectral_norm`` is on. Far below any norm a trained latent
#: or weight has (~1e-3 and up) and far above float32/float64 underflow, so it only matters for an
#: (almost) exactly zero vector or matrix, which it maps to zero instead of NaN.
NORMALIZE_EPS = 1e-12
SPECTRAL_EPS = 1e-12

PROJECTIONS: tuple[str, ...] = ("linear", "mlp2")
#: the readings of Definition 4.1's average :math:`\alpha_i` (``pairs`` of :class:`AttentionFusion`):
#: ``"all"`` :math:`\tfrac1M \sum_{j=1}^M s_{ij}` (:math:`j = i` included), ``"others"``
#: :math:`\tfrac1{M-1} \sum_{j \ne i} s_{ij}`, ``"others-over-M"`` :math:`\tfrac1M \sum_{j \ne i} s_{ij}`
PAIRS: tuple[str, ...] = ("all", "others", "others-over-M")


def spectral_normalize(w: torch.Tensor, eps: float = SPECTRAL_EPS) -> torch.Tensor:
    r""":math:`W / \max(\lVert W \rVert_2, \varepsilon)` with the exact spectral norm (differentiable).

    The largest singular value comes from :func:`torch.linalg.matrix_norm` with ``ord=2`` (an SVD),
    not from power iteration: the score matrices are small (at most a few hundred columns), an SVD
    costs little, and the result has spectral norm exactly 1 up to rounding. Power iteration, as in
    :func:`torch.nn.utils.spectral_norm`, *under*-estimates :math:`\lVert W \rVert_2` after finitely
    many steps, so the normalised matrix could have norm above 1 and a bound computed from
    "norm 1" would not be certified; it also keeps a state vector that differs between train and eval.

    >>> w = torch.tensor([[3.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    >>> spectral_normalize(w)
    tensor([[1.0000, 0.0000],
            [0.0000, 0.3333]], dtype=torch.float64)
    >>> spectral_normalize(torch.zeros(2, 2)).abs().sum().item()
    0.0
    """
    return w / torch.linalg.matrix_norm(w, ord=2).clamp_min(eps)


@register_fusion("attention")
class AttentionFusion(Fusion):
    r"""Pairwise-averaged bilinear attention fusion (Definition 4.1), with the switchable parts of
    Section 4.5 (regularised attention) and a two-layer score network (Section 5.3).

    **Plain attention** (the default, Definition 4.1):

    .. math::

        s_{ij} = (W_i x_i)^\top (W_j x_j), \qquad
        \alpha_i = \frac{1}{M} \sum_{j=1}^{M} s_{ij}, \qquad
        f(x) = [\alpha_1 x_1; \dots; \alpha_M x_M].

    Each :math:`W_i` maps :math:`\mathbb{R}^{d_i}` to a common score space of width
    :math:`k` = ``proj_dim`` (default: the smallest latent width). By default (``pairs="all"``) the
    sum over :math:`j` includes :math:`j = i`. Needs :math:`M \ge 2` (with one modality the "fusion"
    is the cubic map :math:`x \mapsto \|Wx\|^2 x`).

    **Which pairs are averaged** (``pairs``). Definition 4.1's text calls :math:`\alpha_i` the average
    of modality :math:`i`'s pairwise interactions, "how strongly modality :math:`i` aligns with the
    other modalities", and the proof of Lemma 4.1 (Appendix C.1) treats :math:`W_j x_j` as independent
    of :math:`x_i` for every :math:`j` in the sum; the recovered text does not show the index set.
    Three readings are available:

    .. math::

        \alpha_i^{\text{all}} = \frac1M \sum_{j=1}^{M} s_{ij}, \qquad
        \alpha_i^{\text{others}} = \frac1{M-1} \sum_{j \ne i} s_{ij}, \qquad
        \alpha_i^{\text{others-over-M}} = \frac1M \sum_{j \ne i} s_{ij}.

    ``"all"`` is the default and lipbound's reading everywhere else; the other two drop the
    self-score :math:`s_{ii} = \lVert W_i x_i \rVert^2` (with the switches below, :math:`s_{ij}` is
    the switched score). The Section 4 claims are checked under each (``docs/claims/lemma-4.1.md``).

    **Switches** (Section 4.5.1), applied in this order:

    * ``normalize_inputs``: :math:`\hat x_i = x_i / \max(\lVert x_i \rVert_2, \varepsilon)`
      (:data:`NORMALIZE_EPS` by default). A zero latent maps to the zero vector, so its output block
      and its scores are 0, with finite gradients. The normalised inputs replace the raw ones
      *everywhere*, in the scores **and** in the output blocks, :math:`f_i = \alpha_i \hat x_i`: the
      paper applies "the normalized transformations to the normalized inputs", and the map it then
      bounds is Definition 4.1's map on unit vectors (Theorem 4.1 with :math:`R = 1`), i.e.
      :math:`x \mapsto f(\hat x)`.
    * ``spectral_norm``: :math:`\tilde W_i = W_i / \lVert W_i \rVert_2` (exact spectral norm, see
      :func:`spectral_normalize`); with ``projection="mlp2"`` each layer is normalised.
    * ``scale``: scores divided by :math:`\sqrt{k}`, :math:`k` = ``proj_dim`` the width of the
      score space in which the dot product is taken (the :math:`d_k` of Vaswani et al.):
      :math:`s_{ij} = (\tilde W_i \hat x_i)^\top (\tilde W_j \hat x_j) / \sqrt{k}`.
    * ``l2`` (:math:`\lambda \ge 0`): :meth:`regularization_loss` returns
      :math:`\lambda \sum_i \lVert W_i \rVert_F^2` of the raw parameters (Section 4.5.2, Eq. 7);
      :func:`lipbound.zoo.train` adds it to the training loss.
    * ``projection``: ``"linear"`` (:math:`\phi_i(x) = W_i x`) or ``"mlp2"``,
      :math:`\phi_i(x) = W^{(2)}_i \operatorname{relu}(W^{(1)}_i x)` with ``hidden`` features
      (default ``proj_dim``; Section 5.3: "two layers of 288 features"); the scores use
      :math:`\phi_i` in place of :math:`W_i x_i`.

    For the linear projection, :meth:`effective_weights` returns the matrices
    :math:`W'_i = \tilde W_i / k^{1/4}` (or :math:`\tilde W_i` without scaling) for which
    :math:`s_{ij} = (W'_i \hat x_i)^\top (W'_j \hat x_j)`: the fusion *is* plain attention with
    weights :math:`W'_i` applied to :math:`\hat x`, which is what the Section 4 bounds are about.

    Args:
        latent_dims: the widths :math:`d_1, \dots, d_M` (:math:`M \ge 2`).
        proj_dim: the score width :math:`k \ge 1`.
        normalize_inputs: unit-normalise the latents (``None``: the class default, :attr:`DEFAULTS`,
            which the registered variants change; likewise for the next four).
        spectral_norm: divide each score matrix by its exact spectral norm.
        scale: divide the scores by :math:`\sqrt{k}`.
        l2: :math:`\lambda \ge 0` of :meth:`regularization_loss`.
        projection: ``"linear"`` or ``"mlp2"``.
        hidden: hidden width of ``"mlp2"`` (default ``proj_dim``).
        eps: the :math:`\varepsilon` of the input normalisation.
        pairs: which scores :math:`\alpha_i` averages (:data:`PAIRS`): ``"all"`` (default),
            ``"others"`` or ``"others-over-M"``.

    Raises:
        ModalityCountError: :math:`M < 2`.
        ShapeMismatchError: a non-positive width, ``proj_dim`` or ``hidden``.
        ValueError: a negative or non-finite ``l2``, an unknown ``projection`` or ``pairs``, or ``eps <= 0``.

    >>> f = AttentionFusion([2, 2])
    >>> f([torch.ones(2), torch.ones(2)]).shape
    torch.Size([4])
    >>> g = AttentionFusion([2, 3], proj_dim=2, normalize_inputs=True, spectral_norm=True).double()
    >>> out = g([torch.zeros(2, dtype=torch.float64), torch.ones(3, dtype=torch.float64)])
    >>> out[:2].tolist()   # the zero latent: its block is exactly zero
    [0.0, 0.0]
    >>> AttentionFusion([2, 2], l2=-1.0)
    Traceback (most recent call last):
    ...
    ValueError: attention fusion: l2 (lambda) must be a finite non-negative number, got -1.0
    >>> xs = [torch.ones(1, dtype=torch.float64), 2 * torch.ones(1, dtype=torch.float64)]
    >>> for p in ("all", "others", "others-over-M"):   # W_1 = W_2 = 1: s = [[1, 2], [2, 4]]
    ...     f = AttentionFusion([1, 1], proj_dim=1, pairs=p).double()
    ...     _ = [w.data.fill_(1.0) for w in f.weights]
    ...     print(p, f(xs).tolist())
    all [1.5, 6.0]
    others [2.0, 4.0]
    others-over-M [1.0, 2.0]
    """

    min_modalities = 2
    #: defaults of the switches; the registered variants (``attention-scaled``, ...) override them
    DEFAULTS: dict = {"normalize_inputs": False, "spectral_norm": False, "scale": False, "l2": 0.0,
                      "projection": "linear"}

    def __init__(self, latent_dims: Sequence[int], proj_dim: int | None = None, *,
                 normalize_inputs: bool | None = None, spectral_norm: bool | None = None,
                 scale: bool | None = None, l2: float | None = None, projection: str | None = None,
                 hidden: int | None = None, eps: float = NORMALIZE_EPS, pairs: str = "all") -> None:
        super().__init__(latent_dims)
        given = {"normalize_inputs": normalize_inputs, "spectral_norm": spectral_norm, "scale": scale,
                 "l2": l2, "projection": projection}
        opts = {**self.DEFAULTS, **{key: v for key, v in given.items() if v is not None}}
        k = int(proj_dim) if proj_dim is not None else min(self.latent_dims)
        if k < 1:
            raise ShapeMismatchError(f"{self.name} fusion: proj_dim must be positive, got {proj_dim}")
        lam = opts["l2"]
        if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not math.isfinite(lam) or lam < 0:
            raise ValueError(f"{self.name} fusion: l2 (lambda) must be a finite non-negative number, got {lam!r}")
        if opts["projection"] not in PROJECTIONS:
            raise ValueError(f"{self.name} fusion: unknown projection {opts['projection']!r}; "
                             f"choose one of {', '.join(PROJECTIONS)}")
        if not (isinstance(eps, (int, float)) and math.isfinite(eps) and eps > 0):
            raise ValueError(f"{self.name} fusion: eps must be a finite positive number, got {eps!r}")
        if pairs not in PAIRS:
            raise ValueError(f"{self.name} fusion: unknown pairs {pairs!r}; choose one of {', '.join(PAIRS)}")
        self.pairs = str(pairs)
        self.proj_dim = k
        self.normalize_inputs = bool(opts["normalize_inputs"])
        self.spectral_norm = bool(opts["spectral_norm"])
        self.scale = bool(opts["scale"])
        self.l2 = float(lam)
        self.projection = str(opts["projection"])
        self.eps = float(eps)
        if self.projection == "linear":
            if hidden is not None:
                raise ValueError(f"{self.name} fusion: hidden={hidden} only applies to projection='mlp2'")
            self.hidden = None
            self.weights = nn.ParameterList(
                [nn.Parameter(torch.randn(k, d) / math.sqrt(d)) for d in self.latent_dims]
            )
        else:
            h = int(hidden) if hidden is not None else k
            if h < 1:
                raise ShapeMismatchError(f"{self.name} fusion: hidden must be positive, got {hidden}")
            self.hidden = h
            # weights[i] is the first layer W1_i (h x d_i), weights2[i] the second W2_i (k x h)
            self.weights = nn.ParameterList(
                [nn.Parameter(torch.randn(h, d) / math.sqrt(d)) for d in self.latent_dims]
            )
            self.weights2 = nn.ParameterList(
                [nn.Parameter(torch.randn(k, h) / math.sqrt(h)) for _ in self.latent_dims]
            )

    # ------------------------------------------------------------------ the parts
    def _w(self, w: torch.Tensor) -> torch.Tensor:
        return spectral_normalize(w) if self.spectral_norm else w

    def normalized(self, latents: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        r"""The latents the scores and outputs use: :math:`\hat x_i = x_i / \max(\lVert x_i\rVert, \varepsilon)`
        when ``normalize_inputs`` is on, else the latents themselves."""
        if not self.normalize_inputs:
            return list(latents)
        return [torch.nn.functional.normalize(z, dim=-1, eps=self.eps) for z in latents]

    def projections(self, latents: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        r""":math:`\phi_i(\hat x_i)` (``linear``: :math:`\tilde W_i \hat x_i`), before the score scaling."""
        xs = self.normalized(latents)
        if self.projection == "linear":
            return [z @ self._w(w).T for z, w in zip(xs, self.weights)]
        return [torch.relu(z @ self._w(w1).T) @ self._w(w2).T for z, w1, w2 in zip(xs, self.weights, self.weights2)]

    def scores(self, latents: Sequence[torch.Tensor]) -> torch.Tensor:
        r"""The score matrix :math:`S_{ij} = \phi_i(\hat x_i)^\top \phi_j(\hat x_j) / \sqrt{k}^{[\mathrm{scale}]}`,
        shape ``(..., M, M)``; for plain attention :math:`(W_i x_i)^\top (W_j x_j)`."""
        proj = torch.stack(self.projections(latents), dim=-2)
        s = proj @ proj.transpose(-1, -2)
        return s / math.sqrt(self.proj_dim) if self.scale else s

    @property
    def alpha_divisor(self) -> int:
        r"""The normaliser of :math:`\alpha_i`: :math:`M - 1` for ``pairs="others"``, else :math:`M`."""
        return self.num_modalities - 1 if self.pairs == "others" else self.num_modalities

    def coefficients(self, latents: Sequence[torch.Tensor]) -> torch.Tensor:
        r"""The coefficients :math:`\alpha_i`, shape ``(..., M)``, under the fusion's ``pairs`` reading."""
        s = self.scores(latents)
        if self.pairs == "all":
            return s.mean(dim=-1)  # alpha_i = (1/M) sum_j s_ij
        m = self.num_modalities
        off = s.masked_fill(torch.eye(m, dtype=torch.bool, device=s.device), 0.0)  # s_ii -> exactly 0
        return off.sum(dim=-1) / self.alpha_divisor  # (1/(M-1) or 1/M) sum_{j != i} s_ij

    def fuse(self, latents: Sequence[torch.Tensor]) -> torch.Tensor:
        xs = self.normalized(latents)
        alpha = self.coefficients(latents)  # (..., M)
        return torch.cat([alpha[..., i : i + 1] * z for i, z in enumerate(xs)], dim=-1)

    # ------------------------------------------------------------------ analysis hooks
    def effective_weights(self) -> list[torch.Tensor]:
        r"""The matrices :math:`W'_i` with :math:`s_{ij} = (W'_i \hat x_i)^\top (W'_j \hat x_j)` exactly
        (in exact arithmetic): :math:`W'_i = \tilde W_i\, k^{-1/4}` with scaling, :math:`\tilde W_i`
        without (:math:`\tilde W_i = W_i / \lVert W_i \rVert_2` under spectral normalisation, else
        :math:`W_i`). Differentiable (not detached). Linear projection only.

        >>> f = AttentionFusion([2, 2], proj_dim=4, spectral_norm=True, scale=True)
        >>> [round(float(torch.linalg.matrix_norm(w.detach(), ord=2)), 6) for w in f.effective_weights()]
        [0.707107, 0.707107]
        """
        if self.projection != "linear":
            from ..errors import UnsupportedModuleError

            raise UnsupportedModuleError(
                f"{self.name} fusion: effective_weights() needs projection='linear'; with "
                f"projection={self.projection!r} the scores are not bilinear in the inputs"
            )
        c = self.proj_dim ** -0.25 if self.scale else 1.0
        return [self._w(w) * c for w in self.weights]

    def regularization_loss(self) -> torch.Tensor:
        r""":math:`\lambda \sum_i \lVert W_i \rVert_F^2` over the raw score parameters (both layers for
        ``mlp2``), Section 4.5.2; a zero tensor (not connected to the parameters) when :math:`\lambda = 0`.

        >>> f = AttentionFusion([1, 1], proj_dim=1, l2=0.5)
        >>> with torch.no_grad():
        ...     _ = f.weights[0].fill_(2.0), f.weights[1].fill_(1.0)
        >>> f.regularization_loss()
        tensor(2.5000, grad_fn=<MulBackward0>)
        """
        params = list(self.weights) + (list(self.weights2) if self.projection == "mlp2" else [])
        ref = params[0]
        if self.l2 == 0.0:
            return torch.zeros((), dtype=ref.dtype, device=ref.device)
        return self.l2 * sum(p.pow(2).sum() for p in params)

    def extra_repr(self) -> str:
        parts = [super().extra_repr(), f"proj_dim={self.proj_dim}"]
        for key in ("normalize_inputs", "spectral_norm", "scale"):
            if getattr(self, key):
                parts.append(f"{key}=True")
        if self.l2:
            parts.append(f"l2={self.l2:g}")
        if self.projection != "linear":
            parts.append(f"projection={self.projection!r}, hidden={self.hidden}")
        if self.pairs != "all":
            parts.append(f"pairs={self.pairs!r}")
        return ", ".join(parts)


@register_fusion("attention-scaled")
class ScaledAttentionFusion(AttentionFusion):
    r"""Definition 4.1 with scores divided by :math:`\sqrt{k}` (``scale=True``).

    >>> make_fusion("attention-scaled", [2, 2]).scale
    True
    """

    DEFAULTS = {**AttentionFusion.DEFAULTS, "scale": True}


#: the default :math:`\lambda` of the regularised variants (Section 5.9 finds the best region of its
#: nine-decade sweep in the low :math:`10^{-3}`-ish range; the recovered text lost the exact value)
DEFAULT_L2 = 1e-3


@register_fusion("attention-regularized")
class RegularizedAttentionFusion(AttentionFusion):
    r"""Section 4.5's regularised attention without score scaling: unit-normalised inputs,
    spectrally normalised :math:`W_i`, and :math:`\lambda \sum_i \lVert W_i\rVert_F^2`
    (:data:`DEFAULT_L2`) in the training loss.

    >>> f = make_fusion("attention-regularized", [2, 3])
    >>> f.normalize_inputs, f.spectral_norm, f.scale, f.l2
    (True, True, False, 0.001)
    """

    DEFAULTS = {**AttentionFusion.DEFAULTS, "normalize_inputs": True, "spectral_norm": True, "l2": DEFAULT_L2}


@register_fusion("attention-regularized-scaled")
class RegularizedScaledAttentionFusion(AttentionFusion):
    r"""Section 4.5 in full: normalised inputs, spectral normalisation, :math:`1/\sqrt{k}` scaling, L2.

    >>> make_fusion("attention-regularized-scaled", [2, 2]).scale
    True
    """

    DEFAULTS = {**RegularizedAttentionFusion.DEFAULTS, "scale": True}
