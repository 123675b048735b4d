r"""Exact Lipschitz constants where they are computable: the ground truth of the property tests
(issue 4, item 5).

Two families of networks have a constant that a finite computation gives exactly (Euclidean norms):

* **linear networks** :math:`f(x) = W_k \cdots W_1 x + c` (``Linear`` layers, reshapes,
  ``Identity``): :math:`\operatorname{Lip}(f) = \|W_k \cdots W_1\|_2`;
* **one-hidden-layer ReLU / LeakyReLU networks** :math:`f(x) = W_2\,\varphi(W_1 x + b_1) + b_2`
  with :math:`W_1 \in \mathbb R^{h \times n}`, hidden width :math:`h \le n \le 16`, and
  :math:`W_1` of full row rank :math:`h`:

  .. math::

      \operatorname{Lip}(f) = \max_{D \in \mathcal D} \|W_2 D W_1\|_2, \qquad
      \mathcal D = \{\operatorname{diag}(d) : d_i \in \{\alpha, 1\}\},

  over all :math:`2^h` activation patterns (:math:`\alpha = 0` for ReLU, the negative slope for
  LeakyReLU).

**Why the maximum over patterns is the constant.** :math:`f` is continuous and piecewise affine:
off the hyperplanes :math:`\{(W_1 x + b_1)_i = 0\}` (a null set) it is differentiable with Jacobian
:math:`W_2 D(x) W_1`, where :math:`D(x)_{ii} = 1` if :math:`(W_1 x + b_1)_i > 0` and :math:`\alpha`
otherwise. For a Lipschitz function on :math:`\mathbb R^n` the constant equals the essential
supremum of :math:`\|J_f(x)\|_2` (Rademacher; integrate the Jacobian along segments, shifted
off the null set), so :math:`\operatorname{Lip}(f) \le \max_{D} \|W_2 D W_1\|_2`. Conversely each
pattern :math:`d` is *realised on an open set* when :math:`W_1` has full row rank: put
:math:`z_i = +1` if :math:`d_i = 1` and :math:`z_i = -1` otherwise; :math:`W_1 x = z - b_1` has a
solution :math:`x^\ast` (the rows are independent, so :math:`W_1` maps onto
:math:`\mathbb R^h`), every pre-activation at :math:`x^\ast` is :math:`\pm 1 \ne 0`, hence
:math:`f` is affine with Jacobian :math:`W_2 D W_1` on a neighbourhood of :math:`x^\ast` and
:math:`\operatorname{Lip}(f) \ge \|W_2 D W_1\|_2`. So the maximum is attained: it *is* the constant.

**Rank-deficient first layers.** If :math:`\operatorname{rank} W_1 < h`, some patterns may be
unrealisable (e.g. two equal rows can never have opposite signs): the maximum over patterns is then
still an upper bound (every realised Jacobian is one of the :math:`W_2 D W_1`) but possibly not
attained. :func:`exact_lipschitz` refuses such networks (``UnsupportedModuleError``) unless
``allow_upper=True``, in which case the result is labelled ``exact=False`` ("pattern maximum, an
upper bound that may not be attained").

Full row rank is decided rigorously for the float64 weights: the computed smallest singular value
differs from the true one by at most :math:`p\,\varepsilon\,\sigma_{\max}` (backward stability of the
SVD, Weyl), with :math:`p = 8\max(h, n)` as in :func:`~lipbound.bounds.linear_norm`; we call
:math:`W_1` full rank only if :math:`\hat\sigma_{\min} > 2p\,\varepsilon\,\hat\sigma_{\max}`.

**Rounding.** The value is computed in float64 from the model's weights: products of at most
16 x 16 matrices and an SVD, relative error a small multiple of :math:`10^{-15}`. It is "exact" in
that sense; the certified bounds carry margins (:math:`8\max(m,n)\varepsilon` per layer and more),
far above it, so the property tests compare them with no slack.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..errors import UnsupportedModuleError
from ._network import Network, to_network

#: Largest hidden width of a one-hidden-layer network that :func:`exact_lipschitz` enumerates
#: (``2**16 = 65536`` patterns).
MAX_PATTERN_WIDTH = 16
_EPS = float(np.finfo(np.float64).eps)


@dataclass
class ExactResult:
    """An exact Lipschitz constant (Euclidean norms) and how it was obtained.

    Attributes:
        value: the constant (float64).
        method: ``"linear"`` (spectral norm of the weight product) or ``"patterns"`` (maximum over
            activation patterns).
        exact: ``True`` if ``value`` is the constant; ``False`` only for ``allow_upper=True`` on a
            rank-deficient first layer (then it is an upper bound that may not be attained).
        note: a sentence saying why.
        patterns: number of activation patterns enumerated (0 for linear networks).
        witness: an input where the Jacobian's norm is ``value`` (for ``exact`` results; ``None``
            otherwise): the point :math:`x^\ast` of the module docstring for the maximising pattern,
            whose pre-activations were checked (in float64) to be at least 1/2 in absolute value, or
            the zero input of a linear network.
    """

    value: float
    method: str
    exact: bool
    note: str
    patterns: int = 0
    witness: torch.Tensor | None = None


def _affine_and_acts(net: Network) -> tuple[list[torch.Tensor], list[tuple[int, nn.Module]]]:
    """Float64 weights of the Linear layers and, between them, the activations (with positions)."""
    Ws: list[torch.Tensor] = []
    acts: list[tuple[int, nn.Module]] = []
    for layer in net.layers:
        if layer.kind == "linear":
            Ws.append(layer.module.weight.detach().to(torch.float64).cpu())
        elif layer.kind in ("conv", "convT"):  # the exact matrix of the convolution (copied weights)
            from ._unroll import conv_matrix

            Ws.append(torch.from_numpy(conv_matrix(layer.module, layer.in_shape, layer.out_shape)))
        elif layer.kind == "reshape":
            continue
        elif layer.kind == "activation":
            acts.append((len(Ws), layer.module))
        else:
            raise UnsupportedModuleError(
                f"no exact constant for layer {layer.name!r} ({type(layer.module).__name__}): exact "
                "constants are computed for linear networks and one-hidden-layer ReLU/LeakyReLU networks"
            )
    return Ws, acts


def _product(Ws: list[torch.Tensor], n: int) -> torch.Tensor:
    P = torch.eye(n, dtype=torch.float64)
    for W in Ws:
        P = W @ P
    return P


def exact_lipschitz(model: nn.Module | Network, input_shape: tuple[int, ...] | None = None, *,
                    allow_upper: bool = False) -> ExactResult:
    r"""The exact Lipschitz constant of a linear or one-hidden-layer ReLU/LeakyReLU network
    (convolutions count as the affine layers they are, read as their exact matrices).

    See the module docstring for the argument. Raises
    :class:`~lipbound.errors.UnsupportedModuleError` for other architectures, for hidden widths
    above ``min(input dim, 16)`` and (unless ``allow_upper``) for a rank-deficient first layer.

    >>> lin = nn.Sequential(nn.Linear(2, 2, bias=False), nn.Linear(2, 1, bias=False))
    >>> with torch.no_grad():
    ...     _ = lin[0].weight.copy_(torch.tensor([[3.0, 0.0], [0.0, 1.0]]))
    ...     _ = lin[1].weight.copy_(torch.tensor([[1.0, 1.0]]))
    >>> exact_lipschitz(lin).value  # || [3, 1] ||
    3.1622776601683795
    >>> relu = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1, bias=False))
    >>> with torch.no_grad():
    ...     _ = relu[0].weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, 1.0]]))
    ...     _ = relu[2].weight.copy_(torch.tensor([[1.0, 1.0]]))
    >>> r = exact_lipschitz(relu)  # pattern (0, 1): ||[-1, 1]|| = sqrt 2 < ||W2|| ||W1|| = 2.288
    >>> round(r.value, 12), r.method, r.patterns, r.exact
    (1.414213562373, 'patterns', 4, True)
    >>> with torch.no_grad():  # rows [1, 0] and [-1, 0]: pattern (1, 1) is never realised
    ...     _ = relu[0].weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]))
    >>> exact_lipschitz(relu)
    Traceback (most recent call last):
    ...
    lipbound.errors.UnsupportedModuleError: the first layer (h = 2) is not certifiably of full row rank (smallest singular value 0): some activation patterns may be unrealisable, so the maximum over patterns is an upper bound, not the constant; pass allow_upper=True to get it labelled as such
    >>> r = exact_lipschitz(relu, allow_upper=True)  # relu(t) + relu(-t) = |t|: constant 1
    >>> r.value, r.exact
    (1.0, False)
    """
    net = model if isinstance(model, Network) else to_network(model, input_shape)
    n = int(np.prod(net.in_shape))
    Ws, acts = _affine_and_acts(net)
    if not Ws:
        if acts:
            raise UnsupportedModuleError("no exact constant for a network of activations without Linear layers")
        return ExactResult(1.0, "linear", True, "reshapes only: an isometry")
    if not acts:
        val = float(torch.linalg.matrix_norm(_product(Ws, n), ord=2))
        return ExactResult(val, "linear", True, "linear network: spectral norm of the float64 weight product",
                           witness=torch.zeros(net.in_shape, dtype=torch.float64))
    if len(Ws) != 2 or len(acts) != 1 or acts[0][0] != 1:
        raise UnsupportedModuleError(
            "no exact constant for this architecture: exact constants are computed for linear networks "
            "and networks Linear -> ReLU/LeakyReLU -> Linear (one hidden layer); got "
            + " -> ".join(type(l.module).__name__ for l in net.layers if l.kind != "reshape")
        )
    act = acts[0][1]
    if isinstance(act, nn.ReLU):
        alpha = 0.0
    elif isinstance(act, nn.LeakyReLU):
        alpha = float(act.negative_slope)
    else:
        raise UnsupportedModuleError(
            f"no exact constant for a hidden activation {type(act).__name__}: only ReLU and LeakyReLU "
            "(two slopes, finitely many linear pieces)"
        )
    W1, W2 = Ws
    h = W1.shape[0]
    if h > min(n, MAX_PATTERN_WIDTH):
        raise UnsupportedModuleError(
            f"hidden width {h} exceeds min(input dim {n}, {MAX_PATTERN_WIDTH}): the pattern enumeration "
            "needs hidden width <= input dim <= 16 (full row rank makes every pattern realisable)"
        )
    s = torch.linalg.svdvals(W1)
    p = 8 * max(W1.shape)
    full_rank = bool(s.numel() == h and float(s[-1]) > 2 * p * _EPS * float(s[0]))
    if not full_rank and not allow_upper:
        raise UnsupportedModuleError(
            f"the first layer (h = {h}) is not certifiably of full row rank (smallest singular value "
            f"{float(s[-1]):.3g}): some activation patterns may be unrealisable, so the maximum over patterns "
            "is an upper bound, not the constant; pass allow_upper=True to get it labelled as such"
        )
    value, best = _pattern_max(W1, W2, alpha)
    witness = None
    if full_rank:
        first = next(l for l in net.layers if l.kind in ("linear", "conv", "convT"))
        if first.kind == "linear":
            b1 = (first.module.bias.detach().to(torch.float64).cpu() if first.module.bias is not None
                  else torch.zeros(h, dtype=torch.float64))
        else:
            from ._unroll import conv_bias

            b1 = torch.from_numpy(conv_bias(first.module, first.out_shape))
        z = torch.where(best > 0, 1.0, -1.0).to(torch.float64)
        x = torch.linalg.pinv(W1) @ (z - b1)
        pre = W1 @ x + b1
        if bool((pre * z >= 0.5).all()):  # the pattern is active with margin: J(x) = W2 D W1 exactly
            witness = x.reshape(net.in_shape)
    if full_rank:
        note = (f"maximum of ||W2 D W1|| over all 2^{h} activation patterns; W1 has full row rank, so every "
                "pattern is realised on an open set")
    else:
        note = ("pattern maximum over all 2^{h} patterns; W1 is rank deficient, so this is an upper bound "
                "that may not be attained").replace("{h}", str(h))
    return ExactResult(value, "patterns", full_rank, note, 2**h, witness)


def _pattern_max(W1: torch.Tensor, W2: torch.Tensor, alpha: float, chunk: int = 4096) -> tuple[float, torch.Tensor]:
    """max over d in {alpha, 1}^h of ||W2 diag(d) W1||_2 (float64, in chunks of patterns), and the
    maximising on/off pattern."""
    h = W1.shape[0]
    best, arg = -1.0, torch.zeros(h)
    bits = torch.arange(h)
    for start in range(0, 2**h, chunk):
        idx = torch.arange(start, min(start + chunk, 2**h))
        on = ((idx.unsqueeze(1) >> bits) & 1).to(torch.float64)  # (c, h)
        d = alpha + (1.0 - alpha) * on
        J = (W2.unsqueeze(0) * d.unsqueeze(1)) @ W1  # (c, m, n)
        norms = torch.linalg.matrix_norm(J, ord=2)
        k = int(torch.argmax(norms))
        if float(norms[k]) > best:
            best, arg = float(norms[k]), on[k]
    return best, arg
