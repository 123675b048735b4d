r"""Slope intervals of a LipSDP chain, per layer or per neuron, as the coefficients every backend uses.

The quadratic constraint of a neuron whose activation is slope-restricted to
:math:`[\alpha_i, \beta_i]` (its secant slopes lie there) enters LipSDP through two numbers only,

.. math::

    p_i = \alpha_i \beta_i, \qquad c_i = \alpha_i + \beta_i,

(the block :math:`\begin{bmatrix}-2p_i t_i & c_i t_i\\ c_i t_i & -2t_i\end{bmatrix}`). A global bound
gives every neuron of a layer the activation's interval; a *local* bound (on an input domain) gives
each neuron the range of its activation's slopes over its pre-activation interval
(:mod:`lipbound.bounds._local`), e.g. :math:`[0, 0]` for a ReLU that is off on the whole domain and
:math:`[1, 1]` for one that is on. :func:`slope_coefficients` turns either description into
per-neuron arrays so that the dense and banded verifiers, the cvxpy problem, the barrier and the
first-order solver read one description.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ShapeMismatchError


def _as_vector(v, n: int, what: str) -> np.ndarray:
    arr = np.asarray(v, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(n, float(arr))
    arr = arr.reshape(-1)
    if arr.shape[0] != n:
        raise ShapeMismatchError(f"{what} has {arr.shape[0]} entries for a layer of {n} neurons")
    return arr


def slope_coefficients(slopes: Sequence, widths: Sequence[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    r"""Per-neuron :math:`(p, c) = (\alpha\beta, \alpha + \beta)` for each hidden layer.

    ``slopes``: one ``(alpha, beta)`` per hidden layer, each a number (the whole layer) or an array
    of the layer's width (one interval per neuron); ``widths``: the hidden widths.

    >>> [(p.tolist(), c.tolist()) for p, c in slope_coefficients([(0.0, 1.0), ([1, 0], [1, 1])], [1, 2])]
    [([0.0], [1.0]), ([1.0, 0.0], [2.0, 1.0])]
    """
    if len(slopes) != len(widths):
        raise ShapeMismatchError(f"{len(slopes)} slope intervals for {len(widths)} hidden layers")
    out = []
    for k, ((a, b), n) in enumerate(zip(slopes, widths)):
        av = _as_vector(a, n, f"alpha of hidden layer {k + 1}")
        bv = _as_vector(b, n, f"beta of hidden layer {k + 1}")
        if not (np.isfinite(av).all() and np.isfinite(bv).all()) or np.any(av > bv):
            raise ShapeMismatchError(f"hidden layer {k + 1}: slope intervals must be finite with alpha <= beta")
        out.append((av * bv, av + bv))
    return out


def point_mask(slopes: Sequence, widths: Sequence[int]) -> np.ndarray:
    r"""One boolean per hidden neuron (layers concatenated): True where the interval is a point
    :math:`\alpha_i = \beta_i` (the neuron is affine on the domain: its constraint only holds with
    an unbounded multiplier, see :func:`~lipbound.bounds.solve_barrier`).

    >>> point_mask([([1.0, 0.0], [1.0, 1.0])], [2]).tolist()
    [True, False]
    """
    out = []
    for (a, b), n in zip(slopes, widths):
        out.append(_as_vector(a, n, "alpha") == _as_vector(b, n, "beta"))
    return np.concatenate(out) if out else np.zeros(0, dtype=bool)


def is_per_layer(slopes: Sequence) -> bool:
    """True when every interval is a pair of numbers (one per layer), as the global bounds give."""
    return all(np.ndim(a) == 0 and np.ndim(b) == 0 for a, b in slopes)


def is_linear(slopes: Sequence) -> bool:
    r"""True when every neuron's interval is the point :math:`[1, 1]` (the chain is linear)."""
    return all(np.all(np.asarray(a) == 1.0) and np.all(np.asarray(b) == 1.0) for a, b in slopes)


__all__ = ["is_linear", "is_per_layer", "point_mask", "slope_coefficients"]
