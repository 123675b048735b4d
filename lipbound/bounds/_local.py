r"""Sound pre-activation bounds and per-neuron slope intervals of a dense network on an input domain.

For a dense :class:`~lipbound.bounds.Network` (``Linear`` layers, reshapes, elementwise activations)
and a domain :math:`D` (a :class:`~lipbound.bounds.Box` or an L2 :class:`~lipbound.bounds.Ball`),

* :func:`preactivation_bounds` returns, for every activation layer, vectors :math:`l \le h` with
  :math:`l \le u(x) \le h` for every :math:`x \in D`, where :math:`u(x)` is the (flattened) input of
  that activation;
* :func:`local_slopes` turns them into per-neuron slope intervals aligned with the hidden positions of
  :func:`~lipbound.bounds._network.dense_chain`: for all :math:`x, y \in D` and every neuron :math:`i`,

  .. math::

      \alpha_i \le \frac{\varphi(u_i(x)) - \varphi(u_i(y))}{u_i(x) - u_i(y)} \le \beta_i .

  Since :math:`u_i(x), u_i(y) \in [l_i, h_i]` and the secant slope is the mean of
  :math:`\varphi'` between them (:math:`\varphi` is absolutely continuous), the range of
  :math:`\varphi'` over :math:`[l_i, h_i]` (almost everywhere) is such an interval. It is intersected
  with the activation's global interval, also sound. Merged consecutive activations
  :math:`\psi \circ \varphi` get the product interval (the composite's secant slope is the product
  of the two secant slopes, or 0), with :math:`\psi`'s pre-activation bounds the output bounds of
  :math:`\varphi`.

**Methods.** ``"interval"`` is interval bound propagation (IBP): an affine layer maps the box
:math:`[m - d, m + d]` into :math:`W m + b \pm |W| d`; on a ball the first affine layer is bounded
exactly, :math:`W c + b \pm r \|w_i\|_2`; an activation maps :math:`[l, h]` to its range on it
(monotone activations: :math:`[\varphi(l), \varphi(h)]`; GELU, and ELU or LeakyReLU with a negative
parameter, decrease then increase, so their minimum on an interval that meets the minimiser is
bounded by the global minimum). ``"crown"`` (Zhang et al., 2018) bounds each affine output that
feeds an activation by a backward pass: starting from :math:`\pm W_k`, it substitutes affine layers
exactly and relaxes ReLU / LeakyReLU neurons by two lines on :math:`[l_i, h_i]` (for a convex
neuron: the chord above, a line :math:`\lambda z` through the origin below, with :math:`\lambda` the
larger slope if :math:`h_i \ge -l_i` and the smaller otherwise; a concave one the other way round),
choosing for each coefficient the line that gives an upper bound, and concretises the final linear
form over the domain (:math:`\Lambda m + |\Lambda| d` on a box,
:math:`\Lambda c + r\|\lambda_i\|_2` on a ball). At any other activation (Tanh, Sigmoid, ELU, GELU)
the pass stops and concretises over the interval bounds of that activation's *output*: CROWN
restarts from the interval bounds of that layer. Every vector's CROWN-method bounds (affine outputs
and activation outputs alike) are intersected neuron by neuron with those of a separate
``"interval"`` pass, so ``"crown"`` is never looser than ``"interval"``.

**Soundness with rounding.** The bounds are about the real-valued chain computed from the model's
weights and biases read in float64 (exactly, from float32 or float64). All our arithmetic is float64
with round-to-nearest (unit roundoff :math:`u = 2^{-53}`), and every result is made one-sided:

* a sum of :math:`n` products computed in any order errs by at most
  :math:`\gamma_n \sum |\text{terms}|`, :math:`\gamma_k = k u / (1 - k u)` (Higham, *Accuracy and
  Stability of Numerical Algorithms*, 3.1); each matrix-vector bound adds
  :math:`3 \gamma_{n+2} (|W| |m| + |W| d + |b|)`-type slack, computed from the same
  magnitudes: one :math:`\gamma` for our own rounding, one for a float64 *evaluation* of the chain
  (so points evaluated by the model in float64, in any summation order, lie inside the bounds too),
  and the rest for the rounding of the slack itself; an absolute :math:`n \cdot 10^{-300}` covers
  underflow;
* in the backward pass every product of coefficient matrices, every added constant and the final
  concretisation add the same kind of slack, with the magnitudes of the intermediate vectors bounded
  by their (sound) interval bounds; the relaxation lines are made valid at both ends of
  :math:`[l_i, h_i]` with outward rounding (``nextafter`` after each rounded operation), so they are
  valid on the whole interval;
* a final sum of two floats is moved one float outward (``nextafter``), which covers one
  round-to-nearest error;
* activations and their derivatives are evaluated with torch in float64 (accurate to a few ulps) and
  widened by :math:`16u|y| + 4u|x| + 10^{-300}` (the :math:`4u|x|` covers the absolute error of
  GELU's :math:`1 + \operatorname{erf}` for negative inputs); GELU's global minimum is taken from a
  grid with step :math:`10^{-5}` minus :math:`10^{-9}` (the grid misses it by less than
  :math:`h^2/2`).

Only dense networks are taken: convolutional layers raise
:class:`~lipbound.errors.UnsupportedModuleError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from ..errors import NonFiniteError, ShapeMismatchError, UnsupportedModuleError
from ._lower import Ball, Box
from ._network import Network, dense_chain, to_network

__all__ = ["LocalSlopes", "local_slopes", "preactivation_bounds"]

U = 2.0 ** -53  # unit roundoff of float64
EPS = 2.0 ** -52
TINY = 1e-300
METHODS = ("crown", "interval")


def _gamma(k: int) -> float:
    return k * U / (1 - k * U)


def _up(x):
    return np.nextafter(x, np.inf)


def _dn(x):
    return np.nextafter(x, -np.inf)


def _grow(x, k: int = 4):
    """A float at least the nonnegative ``x`` computed with at most ``k`` roundings would be exactly."""
    return x * (1 + 4 * k * U) + TINY


# ----------------------------------------------------------------------------------------------
# the network as a chain of ops on flattened vectors


@dataclass
class _Op:
    kind: str  # "affine" or "act"
    layer: int  # index into net.layers
    W: np.ndarray | None = None
    b: np.ndarray | None = None
    module: nn.Module | None = None


def _ops(net: Network) -> list[_Op]:
    ops = []
    for i, l in enumerate(net.layers):
        if l.kind in ("conv", "convT"):
            from ._unroll import conv_bias, conv_matrix, unrollable

            why = unrollable(l.module, l.in_shape, l.out_shape)
            if why is not None:
                raise UnsupportedModuleError(
                    f"local bounds take Linear layers and convolutions they can unroll; layer {l.name!r} "
                    f"({type(l.module).__name__}) is not unrolled: {why}"
                )
            ops.append(_Op("affine", i, W=conv_matrix(l.module, l.in_shape, l.out_shape),
                           b=conv_bias(l.module, l.out_shape)))
        elif l.kind == "linear":
            W = l.module.weight.detach().to(torch.float64).cpu().numpy()
            b = (l.module.bias.detach().to(torch.float64).cpu().numpy() if l.module.bias is not None
                 else np.zeros(W.shape[0]))
            ops.append(_Op("affine", i, W=W, b=b))
        elif l.kind == "activation":
            ops.append(_Op("act", i, module=l.module))
        elif l.kind != "reshape":  # pragma: no cover - to_network makes no other kinds
            raise UnsupportedModuleError(f"layer {l.name!r} of kind {l.kind!r} is not supported")
    return ops


def _as_network(net) -> Network:
    if isinstance(net, Network):
        return net
    if isinstance(net, nn.Module):
        return to_network(net)
    raise UnsupportedModuleError(f"expected a Network or a torch.nn.Module, got {type(net).__name__}")


def _vec(v, shape: tuple[int, ...], what: str) -> np.ndarray:
    t = torch.as_tensor(v).detach().to(torch.float64).cpu()
    try:
        t = torch.broadcast_to(t, shape)
    except RuntimeError:
        raise ShapeMismatchError(f"the domain's {what} of shape {tuple(t.shape)} does not broadcast to the "
                                 f"input shape {shape}") from None
    out = t.reshape(-1).numpy().copy()
    if not np.isfinite(out).all():
        raise NonFiniteError(f"the domain's {what} holds NaN or Inf values")
    return out


@dataclass
class _Domain:
    lo: np.ndarray  # box hull
    hi: np.ndarray
    center: np.ndarray | None = None  # ball only
    radius: float | None = None


def _domain(domain, shape: tuple[int, ...]) -> _Domain:
    if isinstance(domain, Box):
        lo, hi = _vec(domain.low, shape, "low"), _vec(domain.high, shape, "high")
        if (lo > hi).any():
            raise ValueError("the box has low > high in some coordinate")
        return _Domain(lo, hi)
    if isinstance(domain, Ball):
        c = _vec(domain.center, shape, "center")
        r = float(domain.radius)
        if not (math.isfinite(r) and r >= 0):
            raise ValueError(f"the ball's radius must be finite and >= 0, got {r}")
        return _Domain(_dn(c - r), _up(c + r), c, r)
    raise TypeError(f"domain must be a Box or a Ball, got {type(domain).__name__}")


# ----------------------------------------------------------------------------------------------
# rigorous affine images


def _midrad(L: np.ndarray, H: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Floats ``m, d`` with ``[L, H]`` inside ``[m - d, m + d]`` exactly."""
    m = 0.5 * L + 0.5 * H  # no overflow; the halvings are exact unless subnormal (covered by d)
    d = _up(np.maximum(_up(H - m), _up(m - L)))
    return m, d


def _affine_box(W, b, L, H) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of ``W x + b`` over the box ``[L, H]``, also for a float64 evaluation."""
    n = W.shape[1]
    m, d = _midrad(L, H)
    aW = np.abs(W)
    cen = W @ m + b
    rad = aW @ d
    err = _grow(3 * _gamma(n + 2) * (aW @ np.abs(m) + rad + np.abs(b)) + n * TINY)
    r = _up(rad + err)
    return _dn(cen - r), _up(cen + r)


def _affine_ball(W, b, c, radius) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of ``W x + b`` over the ball ``||x - c|| <= radius`` (exact up to rounding slack)."""
    n = W.shape[1]
    aW = np.abs(W)
    cen = W @ c + b
    rad = _up(radius * np.sqrt((W * W).sum(axis=1)))
    err = _grow(3 * _gamma(n + 2) * (aW @ np.abs(c) + rad + np.abs(b)) + n * TINY)
    r = _up(rad + err)
    return _dn(cen - r), _up(cen + r)


# ----------------------------------------------------------------------------------------------
# activations: ranges, relaxations, derivative ranges


def _eval(module: nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return module(torch.as_tensor(x, dtype=torch.float64)).numpy()


def _widen(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 16 * U * np.abs(y) + 4 * U * np.abs(x) + TINY


@lru_cache(maxsize=None)
def _gelu_min(approximate: str) -> float:
    """A lower bound of GELU's global minimum (attained near -0.752, inside [-1, -0.5])."""
    x = np.linspace(-1.0, -0.5, 50_001)
    return float(_eval(nn.GELU(approximate=approximate), x).min()) - 1e-9


def _quasiconvex_min(module: nn.Module) -> tuple[float, float, float] | None:
    """``(p, q, m)`` if the activation decreases up to its minimiser (inside ``[p, q]``) and increases
    after it, with ``m`` a lower bound of its minimum; ``None`` if it is nondecreasing."""
    if isinstance(module, nn.GELU):
        return -1.0, -0.5, _gelu_min(module.approximate)
    if isinstance(module, nn.ELU) and float(module.alpha) < 0:
        return 0.0, 0.0, 0.0
    if isinstance(module, nn.LeakyReLU) and float(module.negative_slope) < 0:
        return 0.0, 0.0, 0.0
    return None


def _act_range(module: nn.Module, L: np.ndarray, H: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sound bounds on ``module(z)`` for ``z`` in ``[L, H]`` (real and float64-evaluated values)."""
    yl, yh = _eval(module, L), _eval(module, H)
    lo = np.minimum(yl - _widen(yl, L), yh - _widen(yh, H))
    hi = np.maximum(yl + _widen(yl, L), yh + _widen(yh, H))
    qc = _quasiconvex_min(module)
    if qc is not None:
        p, q, m = qc
        lo = np.where((L <= q) & (H >= p), np.minimum(lo, m), lo)
    if isinstance(module, (nn.Tanh,)):
        lo, hi = np.maximum(lo, -1.0), np.minimum(hi, 1.0)
    elif isinstance(module, nn.Sigmoid):
        lo, hi = np.maximum(lo, 0.0), np.minimum(hi, 1.0)
    elif isinstance(module, nn.ReLU):
        lo, hi = np.maximum(L, 0.0), np.maximum(H, 0.0)  # exact
    return lo, hi


def _pieces(module: nn.Module) -> tuple[float, float] | None:
    """Slopes ``(s_neg, s_pos)`` of a two-piece linear activation through 0 (ReLU, LeakyReLU)."""
    if isinstance(module, nn.ReLU):
        return 0.0, 1.0
    if isinstance(module, nn.LeakyReLU):
        return float(module.negative_slope), 1.0
    return None


def _relax(module: nn.Module, L: np.ndarray, H: np.ndarray):
    """Lines ``sl z + tl <= phi(z) <= su z + tu`` valid (exactly) for ``z`` in ``[L, H]``."""
    sn, sp = _pieces(module)
    n = L.shape[0]
    su, tu, sl, tl = np.empty(n), np.zeros(n), np.empty(n), np.zeros(n)
    neg, pos = H <= 0, L >= 0
    unst = ~(neg | pos)
    su[neg] = sl[neg] = sn
    su[pos] = sl[pos] = sp
    lo, hi = L[unst], H[unst]
    k = (sp * hi - sn * lo) / (hi - lo)  # chord slope (any value gives a valid line: t is fixed below)
    lam = np.where(hi >= -lo, sp, sn)  # CROWN's adaptive line through 0
    if sn <= sp:  # convex: chord above, lam z below (exact: sn <= lam <= sp)
        t1 = _up(_up(sn * lo) - _dn(k * lo))  # >= phi(lo) - k lo
        t2 = _up(_up(sp * hi) - _dn(k * hi))
        su[unst], tu[unst] = k, np.maximum(t1, t2)
        sl[unst] = lam
    else:  # concave: lam z above, chord below
        t1 = _dn(_dn(sn * lo) - _up(k * lo))
        t2 = _dn(_dn(sp * hi) - _up(k * hi))
        sl[unst], tl[unst] = k, np.minimum(t1, t2)
        su[unst] = lam
    return su, tu, sl, tl


def _deriv_range(module: nn.Module, L: np.ndarray, H: np.ndarray, glob: tuple[float, float]):
    """Per-neuron ``[a, b]`` containing phi' (a.e.) on ``[L, H]``, intersected with ``glob``."""
    pieces = _pieces(module)
    if pieces is not None:
        sn, sp = pieces
        a = np.where(H <= 0, sn, np.where(L >= 0, sp, min(sn, sp)))
        b = np.where(H <= 0, sn, np.where(L >= 0, sp, max(sn, sp)))
        return a, b  # exact
    tL, tH = torch.as_tensor(L), torch.as_tensor(H)
    if isinstance(module, (nn.Tanh, nn.Sigmoid)):  # phi' even, decreasing in |z|
        if isinstance(module, nn.Tanh):
            d = lambda t: (1.0 / torch.cosh(t) ** 2).numpy()  # noqa: E731 (relatively accurate)
        else:
            d = lambda t: (torch.sigmoid(t) * torch.sigmoid(-t)).numpy()  # noqa: E731
        x0 = np.clip(0.0, L, H)
        dL, dH, d0 = d(tL), d(tH), d(torch.as_tensor(x0))
        a = np.minimum(dL, dH) * (1 - 16 * U) - TINY
        b = d0 * (1 + 16 * U) + TINY
    elif isinstance(module, nn.ELU):  # 1 for z > 0, alpha e^z for z < 0
        al = float(module.alpha)
        e1 = al * np.exp(L)
        e2 = al * np.exp(np.minimum(H, 0.0))
        w1, w2 = 16 * U * np.abs(e1) + TINY, 16 * U * np.abs(e2) + TINY
        a = np.minimum(e1 - w1, e2 - w2)
        b = np.maximum(e1 + w1, e2 + w2)
        a = np.where(H > 0, np.minimum(a, 1.0), a)
        b = np.where(H > 0, np.maximum(b, 1.0), b)
        a = np.where(L >= 0, 1.0, a)
        b = np.where(L >= 0, 1.0, b)
    elif isinstance(module, nn.GELU) and module.approximate == "none":
        # phi'(z) = Phi(z) + z phi(z), extrema at +-sqrt(2) only
        def d(t):
            t = torch.as_tensor(t, dtype=torch.float64)
            cdf = 0.5 * (1 + torch.erf(t / math.sqrt(2)))
            return (cdf + t * torch.exp(-0.5 * t * t) / math.sqrt(2 * math.pi)).numpy()

        r2 = math.sqrt(2.0)
        vals = [d(L), d(H)]
        a, b = np.minimum(*vals), np.maximum(*vals)
        inside_p = (L <= r2 + 1e-6) & (H >= r2 - 1e-6)
        inside_m = (L <= -r2 + 1e-6) & (H >= -r2 - 1e-6)
        b = np.where(inside_p, np.maximum(b, float(d(r2))), b)
        a = np.where(inside_m, np.minimum(a, float(d(-r2))), a)
        a, b = a - 1e-12, b + 1e-12  # erf/exp errors are a few ulps of quantities below 2
    else:  # GELU(approximate='tanh'): the global interval
        a, b = np.full(L.shape, glob[0]), np.full(L.shape, glob[1])
    return np.maximum(a, glob[0]), np.minimum(b, glob[1])


# ----------------------------------------------------------------------------------------------
# the bounds of every vector of the chain


def _crown(ops: list[_Op], B: list[tuple[np.ndarray, np.ndarray]], t: int, dom: _Domain):
    """CROWN bounds of ``v_t = W v_{t-1} + b`` (op ``t`` affine), given sound bounds ``B`` of
    ``v_0 .. v_{t-1}``. Invariant: ``[v_t; -v_t] <= Lam v_s + c + e`` for every x in the domain."""
    op = ops[t - 1]
    W, b = op.W, op.b
    k = W.shape[0]
    Lam = np.vstack([W, -W])
    c = np.concatenate([b, -b])
    e = np.zeros(2 * k)
    s = t - 1
    V = [np.maximum(np.abs(lo), np.abs(hi)) for lo, hi in B]

    def add_c(c, g):  # c + g with its rounding error, and that error
        out = c + g
        return out, 2 * U * (np.abs(c) + np.abs(g))

    while True:
        if s == 0 and dom.center is not None:  # concretise over the ball
            n = Lam.shape[1]
            nrm = _up(dom.radius * np.sqrt((Lam * Lam).sum(axis=1)))
            h = Lam @ dom.center + nrm
            err = 3 * _gamma(n + 2) * (np.abs(Lam) @ np.abs(dom.center) + nrm) + n * TINY
            break
        src = ops[s - 1] if s > 0 else None
        if src is not None and src.kind == "affine":  # v_s = W v_{s-1} + b
            # Lam @ W and Lam @ b have inner dimension W.shape[0]; a float64 evaluation of W v + b
            # has inner dimension W.shape[1]
            n = max(src.W.shape)
            aL = np.abs(Lam)
            slack = 3 * _gamma(n + 2) * (aL @ (np.abs(src.W) @ V[s - 1] + np.abs(src.b))) + n * TINY
            c, ec = add_c(c, Lam @ src.b)
            Lam = Lam @ src.W
            e = _grow(e + slack + ec)
            s -= 1
            continue
        if src is not None and _pieces(src.module) is not None:  # v_s = phi(v_{s-1}), relaxed
            su, tu, sl, tl = _relax(src.module, *B[s - 1])
            pos = Lam >= 0
            Lp = np.where(pos, Lam * su, Lam * sl)
            tt = np.where(pos, Lam * tu, Lam * tl)
            n = Lam.shape[1]
            sn, sp = _pieces(src.module)
            aL = np.abs(Lam)
            slack = (2 * U * (np.abs(Lp) @ V[s - 1])  # rounding of Lam * s
                     + 2 * U * max(abs(sn), abs(sp)) * (aL @ V[s - 1])  # a float64 evaluation of phi
                     + 3 * _gamma(n + 2) * np.abs(tt).sum(axis=1) + n * TINY)
            c, ec = add_c(c, tt.sum(axis=1))
            Lam = Lp
            e = _grow(e + slack + ec)
            s -= 1
            continue
        # the input box, or an activation that is not relaxed: concretise over the box of v_s
        n = Lam.shape[1]
        m, d = _midrad(*B[s])
        aL = np.abs(Lam)
        rad = aL @ d
        h = Lam @ m + rad
        err = 3 * _gamma(n + 2) * (aL @ np.abs(m) + rad) + n * TINY
        break
    tot = _up(c + h)
    ub = _up(tot + _grow(e + err))
    return -ub[k:], ub[:k]


def _chain_bounds(net: Network, domain, method: str):
    """``(ops, B)``: the ops of the chain and sound bounds ``B[t]`` of every vector ``v_t``
    (``v_0`` the flattened input, ``v_t`` the output of op ``t``)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    net = _as_network(net)
    ops = _ops(net)
    dom = _domain(domain, tuple(net.in_shape))
    ibp = _chain_bounds(net, domain, "interval")[2] if method == "crown" else None
    B: list[tuple[np.ndarray, np.ndarray]] = [(dom.lo, dom.hi)]
    for t, op in enumerate(ops, start=1):
        if op.kind == "affine":
            if t == 1 and dom.center is not None:
                lo, hi = _affine_ball(op.W, op.b, dom.center, dom.radius)
            else:
                lo, hi = _affine_box(op.W, op.b, *B[t - 1])
            feeds_act = t < len(ops) and ops[t].kind == "act"
            if method == "crown" and feeds_act and not (t == 1 and dom.center is None):
                clo, chi = _crown(ops, B, t, dom)
                lo, hi = np.maximum(lo, clo), np.minimum(hi, chi)
        else:
            lo, hi = _act_range(op.module, *B[t - 1])
        if ibp is not None:  # both sound: never looser than "interval", at every vector of the chain
            lo, hi = np.maximum(lo, ibp[t][0]), np.minimum(hi, ibp[t][1])
        if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
            raise NonFiniteError(f"the bounds of layer {net.layers[op.layer].name!r} overflow float64")
        B.append((lo, hi))
    return net, ops, B


def preactivation_bounds(net, domain, *, method: str = "crown") -> list[tuple[np.ndarray, np.ndarray]]:
    r"""Sound bounds ``(lo, hi)`` on the flattened input of every activation layer, in layer order.

    ``net`` is a dense :class:`~lipbound.bounds.Network` (or a module :func:`~lipbound.bounds.to_network`
    reads with its default input shape); ``domain`` a :class:`~lipbound.bounds.Box` or
    :class:`~lipbound.bounds.Ball`; ``method`` ``"crown"`` (default) or ``"interval"`` (see the
    module docstring). For every ``x`` in the domain, the activation's input computed in exact
    arithmetic from the float64 weights, and also as evaluated in float64, lies in ``[lo, hi]``.

    >>> lin = nn.Linear(2, 2)
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.tensor([[1.0, 1.0], [1.0, -1.0]])); _ = lin.bias.zero_()
    >>> (lo, hi), = preactivation_bounds(to_network(nn.Sequential(lin, nn.ReLU())), Box(-1.0, 1.0))
    >>> [round(float(v), 9) for v in lo], [round(float(v), 9) for v in hi]
    ([-2.0, -2.0], [2.0, 2.0])
    >>> bool((lo <= -2.0).all() and (hi >= 2.0).all())  # rounded outward
    True
    """
    net, ops, B = _chain_bounds(net, domain, method)
    return [B[t - 1] for t, op in enumerate(ops, start=1) if op.kind == "act"]


@dataclass
class LocalSlopes:
    """Per-neuron slope intervals of a dense network on a domain (:func:`local_slopes`).

    Attributes:
        slopes: one ``(alpha, beta)`` pair of float64 arrays per hidden position of
            :func:`~lipbound.bounds._network.dense_chain` (same length and order as its ``slopes``).
        preactivation: the bounds of :func:`preactivation_bounds`, one pair per activation layer.
        method: ``"crown"`` or ``"interval"``.
        counts: per position, ``{"inactive": #[0, 0], "active": #[1, 1], "fixed": # other alpha == beta,
            "unstable": # alpha < beta}``.
    """

    slopes: list[tuple[np.ndarray, np.ndarray]]
    preactivation: list[tuple[np.ndarray, np.ndarray]]
    method: str
    counts: list[dict[str, int]] = field(default_factory=list)


def _product(x: tuple[np.ndarray, np.ndarray], y: tuple[np.ndarray, np.ndarray]):
    """Product interval, rounded outward unless every product is exact (a factor 0 or +-1)."""
    def trivial(v):
        return (v == 0) | (np.abs(v) == 1)

    prods = [x[0] * y[0], x[0] * y[1], x[1] * y[0], x[1] * y[1]]
    lo, hi = np.minimum.reduce(prods), np.maximum.reduce(prods)
    exact = (trivial(x[0]) & trivial(x[1])) | (trivial(y[0]) & trivial(y[1]))
    return np.where(exact, lo, _dn(lo)), np.where(exact, hi, _up(hi))


def _counts(a: np.ndarray, b: np.ndarray) -> dict[str, int]:
    inactive = int(((a == 0) & (b == 0)).sum())
    active = int(((a == 1) & (b == 1)).sum())
    fixed = int((a == b).sum()) - inactive - active
    return {"inactive": inactive, "active": active, "fixed": fixed, "unstable": int((a < b).sum())}


def local_slopes(net, domain, *, method: str = "crown") -> LocalSlopes:
    r"""Per-neuron slope intervals on ``domain``, aligned with ``dense_chain(net)[1]``.

    For every hidden position of the LipSDP chain and every neuron ``i``, ``slopes[p][0][i] <=``
    the secant slope of the (possibly merged) activation between the neuron's inputs at any two
    points of the domain ``<= slopes[p][1][i]``. An identity position (two consecutive Linear
    layers) gets ones; merged activations get the product of their intervals; each interval lies in
    the position's global interval of ``dense_chain``. Returns a :class:`LocalSlopes`.

    >>> lin = nn.Linear(2, 2)
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.eye(2)); _ = lin.bias.copy_(torch.tensor([5.0, -5.0]))
    >>> net = to_network(nn.Sequential(lin, nn.ReLU(), nn.Linear(2, 1)))
    >>> res = local_slopes(net, Ball(0.0, 1.0))
    >>> [a.tolist() for a in res.slopes[0]], res.counts
    ([[1.0, 0.0], [1.0, 0.0]], [{'inactive': 1, 'active': 1, 'fixed': 0, 'unstable': 0}])
    """
    net, ops, B = _chain_bounds(net, domain, method)
    glob = dense_chain(net)[1]
    pre_of = {}  # layer index -> bounds of its input
    for t, op in enumerate(ops, start=1):
        if op.kind == "act":
            pre_of[op.layer] = B[t - 1]
    out: list[tuple[np.ndarray, np.ndarray]] = []
    act = None
    have_w = False
    n = int(math.prod(net.in_shape))
    for i, l in enumerate(net.layers):  # mirrors dense_chain
        if l.kind == "reshape":
            continue
        if l.kind in ("linear", "conv", "convT"):
            if not have_w and act is not None:
                have_w = True
            if have_w:
                out.append(act if act is not None else (np.ones(n), np.ones(n)))
            act = None
            have_w = True
            n = int(math.prod(l.out_shape))
        else:
            here = _deriv_range(l.module, *pre_of[i], l.slopes)
            act = here if act is None else _product(act, here)
    if len(out) != len(glob):  # pragma: no cover - the loop mirrors dense_chain
        raise AssertionError("local slopes do not align with dense_chain")
    slopes = [(np.maximum(a, g[0]), np.minimum(b, g[1])) for (a, b), g in zip(out, glob)]
    pre = [B[t - 1] for t, op in enumerate(ops, start=1) if op.kind == "act"]
    return LocalSlopes(slopes, pre, method, [_counts(a, b) for a, b in slopes])
