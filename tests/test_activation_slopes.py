"""Slope intervals of every supported activation over its whole parameter range, and the chains
LipSDP reads (``dense_chain``: merged activations, identity first layer, trailing post factor).

A slope interval ``[alpha, beta]`` is sound when every secant slope ``(phi(u) - phi(v)) / (u - v)``
lies in it. The tests evaluate ``phi`` in float64 (torch) on a dense grid of points (fine near 0 and
near the GELU extrema at +-sqrt(2), coarse up to +-40, and far tails up to +-1e5), take every pair
(pairs straddling 0 and tail-to-tail pairs included), and require every secant slope to lie in the
interval up to its float64 evaluation error; and the interval must not be loose: each endpoint is
within 1e-3 (relative to the interval's size) of the grid's extreme secant slope, for activations
whose extreme slopes the grid approaches (all of them: the extremes are attained or approached at
0, at +-sqrt(2), or in the tails).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import torch
from hypothesis import given, settings, target
from hypothesis.control import currently_in_test_context
from hypothesis import strategies as st
from torch import nn

from lipbound.bounds import slope_interval, to_network
from lipbound.bounds._network import dense_chain

EPS = float(np.finfo(np.float64).eps)


def _grid() -> np.ndarray:
    r2 = math.sqrt(2.0)
    pts = [np.linspace(-40.0, 40.0, 321), np.linspace(-3.0, 3.0, 241),
           r2 + np.linspace(-0.05, 0.05, 21), -r2 + np.linspace(-0.05, 0.05, 21),
           np.array([1e-6, -1e-6, 1e-3, -1e-3, 100.0, -100.0, 1e3, -1e3, 1e5, -1e5])]
    return np.unique(np.concatenate(pts))


GRID = _grid()


def secant_slopes(act: nn.Module) -> tuple[np.ndarray, np.ndarray]:
    """All secant slopes over pairs of GRID points, and each one's float64 error allowance.

    Error: torch's float64 activations (exp, tanh, erf) are within a few ulps of the true value,
    i.e. |phi_hat(u) - phi(u)| <= 4 eps |phi(u)| (4 ulps, generous); the subtraction and the division
    by u - v (exact: both grid points are floats and |u - v| is far from underflow; Sterbenz does not
    apply in general, so one more rounding) add 2 eps |slope|. Hence
    tol = 8 eps (|phi(u)| + |phi(v)|) / |u - v| + 4 eps |slope| bounds the error of each slope.
    """
    x = torch.as_tensor(GRID, dtype=torch.float64)
    with torch.no_grad():
        y = act(x).numpy()
    u, v = np.triu_indices(len(GRID), k=1)
    du = GRID[u] - GRID[v]
    s = (y[u] - y[v]) / du
    tol = 8 * EPS * (np.abs(y[u]) + np.abs(y[v])) / np.abs(du) + 4 * EPS * np.abs(s)
    return s, tol


def check_interval(act: nn.Module) -> tuple[float, float]:
    lo, hi = slope_interval(act)
    assert lo <= hi, (act, lo, hi)
    s, tol = secant_slopes(act)
    below, above = (lo - tol) - s, s - (hi + tol)
    if currently_in_test_context():  # push the drawn parameters toward a violation
        target(float(max(below.max(), above.max())), label="worst violation of the slope interval")
    assert below.max() <= 0, f"{act}: secant slope {s[below.argmax()]} below alpha = {lo}"
    assert above.max() <= 0, f"{act}: secant slope {s[above.argmax()]} above beta = {hi}"
    # not absurdly loose: the grid comes within 1e-3 (relative to the interval's scale) of each
    # extreme slope (attained at 0-/0+, at +-sqrt(2) with grid step 0.005, or in the tails, where
    # the secants of sigmoid/tanh/ELU/GELU underflow to exactly 0 or 1)
    scale = max(1.0, abs(lo), abs(hi))
    assert lo >= s.min() - 1e-3 * scale, (act, lo, s.min())
    assert hi <= s.max() + 1e-3 * scale, (act, hi, s.max())
    return lo, hi


#: every activation, with parameters over their whole range: LeakyReLU negative slope negative,
#: zero, in (0, 1), one and above one; ELU alpha negative, zero, small, one and above one
ACTIVATIONS = [
    nn.ReLU(), nn.Tanh(), nn.Sigmoid(), nn.GELU(), nn.GELU(approximate="tanh"),
    *(nn.LeakyReLU(a) for a in (-2.0, -0.5, 0.0, 0.01, 0.3, 1.0, 2.5)),
    *(nn.ELU(a) for a in (-2.0, -0.5, 0.0, 0.05, 1.0, 2.0, 3.5)),
]


@pytest.mark.parametrize("act", ACTIVATIONS, ids=[repr(a) for a in ACTIVATIONS])
def test_interval_contains_every_secant_and_is_tight(act):
    check_interval(act)


#: the exact intervals of the piecewise-linear and exponential activations (docs/bounds.md)
EXACT = [(nn.ReLU(), (0.0, 1.0)), (nn.Tanh(), (0.0, 1.0)), (nn.Sigmoid(), (0.0, 0.25)),
         (nn.LeakyReLU(-0.5), (-0.5, 1.0)), (nn.LeakyReLU(0.0), (0.0, 1.0)), (nn.LeakyReLU(0.3), (0.3, 1.0)),
         (nn.LeakyReLU(2.5), (1.0, 2.5)), (nn.ELU(-2.0), (-2.0, 1.0)), (nn.ELU(0.0), (0.0, 1.0)),
         (nn.ELU(0.05), (0.0, 1.0)), (nn.ELU(3.5), (0.0, 3.5))]


@pytest.mark.parametrize(("act", "expected"), EXACT, ids=[repr(a) for a, _ in EXACT])
def test_exact_intervals(act, expected):
    assert slope_interval(act) == expected


@settings(max_examples=25)
@given(a=st.floats(-5.0, 5.0, allow_nan=False))
def test_leaky_relu_any_slope(a):
    lo, hi = check_interval(nn.LeakyReLU(a))
    assert (lo, hi) == (min(a, 1.0), max(a, 1.0))


@settings(max_examples=25)
@given(alpha=st.floats(-5.0, 5.0, allow_nan=False))
def test_elu_any_alpha(alpha):
    """ELU(x) = x (x > 0), alpha (e^x - 1) (x <= 0): slopes 1 and alpha e^x in (0, alpha] or
    [alpha, 0), so the interval is [min(0, alpha, 1), max(0, alpha, 1)]; a negative alpha makes
    the largest |slope| |alpha| (a mutant certifying about 1 where the slope is about 2 fails here)."""
    lo, hi = check_interval(nn.ELU(alpha))
    assert (lo, hi) == (min(0.0, alpha, 1.0), max(0.0, alpha, 1.0))


def _s_exact(x):
    """Slope of the exact GELU x Phi(x): Phi(x) + x phi(x), in mpmath (30 digits)."""
    return mpmath.ncdf(x) + x * mpmath.npdf(x)


def _s_tanh(x):
    """Slope of GELU(approximate='tanh') 0.5 x (1 + tanh(k (x + 0.044715 x^3))), k = sqrt(2/pi), in mpmath."""
    k = mpmath.sqrt(2 / mpmath.pi)
    return mpmath.diff(lambda t: t / 2 * (1 + mpmath.tanh(k * (t + mpmath.mpf("0.044715") * t**3))), x)


def test_gelu_exact_endpoints_are_the_extrema_rounded_outward_by_1e9():
    """The slope's extrema are at +-sqrt(2) (s' = phi(x)(2 - x^2)); docs/bounds.md states they are
    rounded outward by 1e-9. Compared with 30-digit values: the float64 evaluation in the library
    errs by ~1e-16, so the offsets must be 1e-9 to within 1e-14 (a smaller rounding, e.g. 5e-10,
    or none, fails)."""
    with mpmath.workdps(30):
        r2 = mpmath.sqrt(2)
        lo_true, hi_true = _s_exact(-r2), _s_exact(r2)
    lo, hi = slope_interval(nn.GELU())
    assert abs(float(lo_true - lo) - 1e-9) <= 1e-14, float(lo_true - lo)
    assert abs(float(hi - hi_true) - 1e-9) <= 1e-14, float(hi - hi_true)


def test_gelu_tanh_endpoints_are_the_extrema_rounded_outward_by_1e6():
    """Extrema of the tanh approximation's slope found by mpmath (root of s'), 30 digits. The library
    takes a grid with step 1e-4 (misses an extremum by at most h^2 * max|s''| / 8 < 1e-8) and rounds
    outward by 1e-6: the offsets must be 1e-6 within [-1e-8, 1e-14]."""
    with mpmath.workdps(30):
        ds = lambda t: mpmath.diff(_s_tanh, t)  # noqa: E731
        x_hi = mpmath.findroot(ds, 1.4)
        x_lo = mpmath.findroot(ds, -1.4)
        lo_true, hi_true = _s_tanh(x_lo), _s_tanh(x_hi)
    with torch.no_grad():  # the library's grid needs autograd: it must enable it itself
        lo, hi = slope_interval(nn.GELU(approximate="tanh"))
    off_lo, off_hi = float(lo_true - lo), float(hi - hi_true)
    assert 1e-6 - 1e-8 <= off_lo <= 1e-6 + 1e-14, off_lo
    assert 1e-6 - 1e-8 <= off_hi <= 1e-6 + 1e-14, off_hi


def test_gelu_tanh_endpoints_come_from_the_documented_grid():
    """The docstring's procedure: the slope on linspace(-10, 10, 200001) (step 1e-4), extremes
    rounded outward by 1e-6. The slope is evaluated here from its closed form
    s(x) = (1 + t)/2 + x (1 - t^2) k (1 + 3c x^2) / 2, t = tanh(k (x + c x^3)), not by autograd;
    both are float64 evaluations of the same function at the same points (~1e-16 apart), so the
    endpoints must match to 1e-14 (another grid moves the extremes by ~1e-10)."""
    k, c = math.sqrt(2.0 / math.pi), 0.044715
    x = torch.linspace(-10, 10, 200_001, dtype=torch.float64).numpy()
    t = np.tanh(k * (x + c * x**3))
    s = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * c * x * x)
    with torch.no_grad():
        lo, hi = slope_interval(nn.GELU(approximate="tanh"))
    assert abs(lo - (s.min() - 1e-6)) <= 1e-14 and abs(hi - (s.max() + 1e-6)) <= 1e-14, (lo, s.min(), hi, s.max())


def test_unsupported_activation_is_refused():
    from lipbound.errors import UnsupportedModuleError

    with pytest.raises(UnsupportedModuleError, match="Softplus is not a supported activation"):
        slope_interval(nn.Softplus())


# ------------------------------------------------------------------------------------ dense_chain
def _lin(i, o, seed):
    g = torch.Generator().manual_seed(seed)
    lin = nn.Linear(i, o).double()
    with torch.no_grad():
        lin.weight.copy_(torch.randn(o, i, generator=g, dtype=torch.float64))
    return lin


def _chain(model, shape):
    Ws, slopes, post = dense_chain(to_network(model, shape))
    return [W.numpy() for W in Ws], slopes, post


def test_dense_chain_keeps_weights_and_slopes():
    l0, l1, l2 = _lin(3, 4, 0), _lin(4, 5, 1), _lin(5, 2, 2)
    Ws, slopes, post = _chain(nn.Sequential(l0, nn.ELU(-2.0), l1, nn.Tanh(), l2), (3,))
    assert len(Ws) == 3 and all(np.array_equal(W, l.weight.detach().numpy()) for W, l in zip(Ws, (l0, l1, l2)))
    assert slopes == [(-2.0, 1.0), (0.0, 1.0)] and post == 1.0


def test_dense_chain_two_linears_get_identity_slopes():
    l0, l1 = _lin(3, 4, 0), _lin(4, 2, 1)
    Ws, slopes, post = _chain(nn.Sequential(l0, nn.Flatten(), l1), (3,))
    assert len(Ws) == 2 and slopes == [(1.0, 1.0)] and post == 1.0


def test_dense_chain_leading_activation_gets_identity_first_layer():
    l0 = _lin(6, 2, 0)
    Ws, slopes, post = _chain(nn.Sequential(nn.LeakyReLU(-0.5), nn.Flatten(), l0), (2, 3))
    assert len(Ws) == 2 and np.array_equal(Ws[0], np.eye(6)) and np.array_equal(Ws[1], l0.weight.detach().numpy())
    assert slopes == [(-0.5, 1.0)] and post == 1.0


def test_dense_chain_trailing_activations_go_into_post():
    l0 = _lin(3, 2, 0)
    _, slopes, post = _chain(nn.Sequential(l0, nn.ELU(-3.0)), (3,))
    assert slopes == [] and post == 3.0  # max |slope| of [-3, 1]
    _, _, post = _chain(nn.Sequential(l0, nn.LeakyReLU(0.5), nn.ELU(2.0)), (3,))
    assert post == 2.0  # [0.5, 1] x [0, 2] -> [0, 2]
    Ws, slopes, post = _chain(nn.Sequential(nn.Sigmoid(), nn.Tanh()), (4,))  # no Linear at all
    assert len(Ws) == 1 and np.array_equal(Ws[0], np.eye(4)) and slopes == [] and post == 0.25


#: pairs of consecutive activations, their merged interval (products of the endpoints: the composite's
#: secant is the product of the two secants) stated by hand
MERGED = [
    ((nn.LeakyReLU(-0.5), nn.ELU(2.0)), (-1.0, 2.0)),  # [-0.5, 1] x [0, 2]
    ((nn.ELU(-2.0), nn.LeakyReLU(3.0)), (-6.0, 3.0)),  # [-2, 1] x [1, 3]
    ((nn.Sigmoid(), nn.LeakyReLU(-1.0)), (-0.25, 0.25)),  # [0, 1/4] x [-1, 1]
    ((nn.LeakyReLU(2.0), nn.LeakyReLU(-0.5)), (-1.0, 2.0)),  # [1, 2] x [-0.5, 1]
    ((nn.LeakyReLU(-2.0), nn.LeakyReLU(-3.0)), (-3.0, 6.0)),  # [-2, 1] x [-3, 1]: the max is alpha1 alpha2
    ((nn.LeakyReLU(-2.0), nn.ELU(3.0)), (-6.0, 3.0)),  # [-2, 1] x [0, 3]: the min is alpha1 beta2
]


@pytest.mark.parametrize(("acts", "expected"), MERGED, ids=[f"{a!r}-{b!r}" for (a, b), _ in MERGED])
def test_dense_chain_merges_consecutive_activations(acts, expected):
    l0, l1 = _lin(3, 4, 0), _lin(4, 2, 1)
    _, slopes, post = _chain(nn.Sequential(l0, *acts, l1), (3,))
    assert slopes == [expected] and post == 1.0
    # sound: every secant slope of the composite lies in the merged interval
    s, tol = secant_slopes(nn.Sequential(*acts))
    assert (s >= expected[0] - tol).all() and (s <= expected[1] + tol).all()
