"""Directed rounding of the certified norms, checked in exact arithmetic (fractions.Fraction).

The other soundness tests allow a relative error of 1e-12, so a certified value a few ulps too
small passes them. Here every rounding step and every inflation term is checked exactly:

* ``_up`` is the next float above its argument;
* ``linear_norm`` is at least ``s (1 + 8 max(m, n) eps)`` in exact arithmetic, ``s`` the float64 SVD
  norm it starts from, strictly above that product rounded to nearest, and at most 2 ulps above;
* ``conv_norm_upper`` equals the minimum over its grid sizes of the circulant norm (an independent
  dense circulant matrix, 1e-9), is at least the docstring's error terms above the DFT norm in exact
  arithmetic and at most the code's terms plus 2 ulps; a 1x1 kernel (exact norm |w|) is bounded
  strictly above |w| by the DFT allowance;
* ``linear_chain_norm`` adds exactly its stated allowance ``2.02 K eps || |W_l|...|W_0| ||_F`` and rounds
  up; on integer matrices (exact products) it is above the exact norm (checked by an exact LDL^T);
* ``spectral_product`` is at least the exact rational product of its rounded factors and strictly
  above the round-to-nearest product; ``layer_norms`` gives each factor;
* the lower bounds are deflated by exactly ``1e-9`` relatively and ``1e-10 x`` the spectral product.

Tolerances: exact comparisons have none; "at most 2 ulps above" allows the final round-to-nearest
(half an ulp) and the rounding up (one ulp); the circulant comparison allows 1e-9 relative (the
float64 SVD of a <= 600 x 600 matrix errs by ~1e-14, the certified margins are ~1e-13).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from exact_arith import fr, is_positive_definite, matmul, transpose
from lipbound.bounds import conv_norm_upper, jacobian_power_iteration, linear_norm, lipsdp, spectral_product
from lipbound.bounds._sdp import linear_chain_norm
from lipbound.bounds._spectral import _up, layer_norms
from lipbound.bounds._network import to_network

EPS = float(np.finfo(np.float64).eps)
seeds = st.integers(min_value=0, max_value=2**31 - 2)


def seeded(seed: int, build):
    """``build()`` with torch's global generator seeded by ``seed``, leaving the global state as it was
    (module initialisation draws from the global generator)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return build()


def F(x: float) -> Fraction:
    return Fraction(float(x))


def ulp(x: float) -> Fraction:
    return Fraction(math.ulp(x))


# ------------------------------------------------------------------------------------------- _up
@pytest.mark.parametrize("x", [0.0, -0.0, 5e-324, -5e-324, 1.0, -1.0, 0.1, 3.0, 1e-300, 1e300, -2.5,
                               float(np.finfo(np.float64).max) / 2])
def test_up_is_the_next_float(x):
    y = _up(x)
    assert F(y) > F(x) and y == math.nextafter(x, math.inf)


# ------------------------------------------------------------------------------------ linear_norm
def _check_linear_norm(W: np.ndarray) -> float:
    s = float(torch.linalg.matrix_norm(torch.from_numpy(W), ord=2))  # the float the library starts from
    r = linear_norm(torch.from_numpy(W))
    k = max(W.shape)
    exact = F(s) * (1 + 8 * k * F(EPS))  # s (1 + 8 max(m, n) eps), exactly
    assert F(r) >= exact, (r, float(exact))
    assert r > s * (1.0 + 8 * k * EPS)  # strictly above the round-to-nearest product: rounded up
    assert F(r) <= exact + 2 * ulp(r), (r, float(exact))  # and no more than that (2 ulps)
    return r


@settings(max_examples=25)
@given(m=st.integers(1, 9), n=st.integers(1, 9), seed=seeds, log_scale=st.floats(-3, 3))
def test_linear_norm_inflates_then_rounds_up(m, n, seed, log_scale):
    W = 10.0**log_scale * np.random.default_rng(seed).standard_normal((m, n))
    _check_linear_norm(W)


#: matrices with a known exact squared norm (rational): (matrix, ||W||^2)
KNOWN = [
    (np.diag([3.0, 0.25, -2.5]), Fraction(9)),  # diagonal with rational entries
    (np.array([[0.0, -1.5, 0.0, 0.0], [0.0, 0.0, 0.0, 0.75], [0.125, 0.0, 0.0, 0.0]]), Fraction(9, 4)),  # permutation-scaled
    (np.array([[0.1]]), Fraction(0.1) ** 2),
    (np.full((1, 7), 3.0), Fraction(63)),  # one row: sqrt(63); m != n, the inflation uses max(m, n) = 7
]


@pytest.mark.parametrize(("W", "norm_sq"), KNOWN, ids=["diag", "perm-scaled", "1x1", "row"])
def test_linear_norm_above_exact_norm_of_known_matrices(W, norm_sq):
    r = _check_linear_norm(W)
    assert F(r) ** 2 > norm_sq  # strictly above the exact norm, in exact arithmetic
    # and above it by the SVD allowance, up to the float64 SVD's own error (a few ulps of ||W||)
    assert F(r) ** 2 >= norm_sq * (1 + 8 * max(W.shape) * F(EPS) - 8 * F(EPS)) ** 2


def test_linear_norm_of_empty_and_4d_weights():
    assert linear_norm(torch.zeros(3, 0)) == 0.0
    W = np.random.default_rng(0).standard_normal((2, 3, 2, 2))  # (c_out, c_in, kh, kw): read as 2 x 12
    r = linear_norm(torch.from_numpy(W))
    s = float(torch.linalg.matrix_norm(torch.from_numpy(W.reshape(2, 12)), ord=2))
    assert F(r) >= F(s) * (1 + 8 * 12 * F(EPS)) and F(r) <= F(s) * (1 + 8 * 12 * F(EPS)) + 2 * ulp(r)


# ------------------------------------------------------------------------------------ convolutions
def circulant(K: np.ndarray, groups: int, dilation: tuple[int, int], N1: int, N2: int) -> np.ndarray:
    """Dense matrix of the circular multi-channel cross-correlation on an N1 x N2 torus (built entry
    by entry; no FFT): y[o, u] = sum_{c in o's group, a, b} K[o, c, a, b] x[c, (u + (a, b) * dilation) mod N]."""
    c_out, cig, kh, kw = K.shape
    cog = c_out // groups
    A = np.zeros((c_out, N1, N2, cig * groups, N1, N2))
    u1, u2 = np.arange(N1)[:, None], np.arange(N2)[None, :]
    for o in range(c_out):
        for ci in range(cig):
            c = (o // cog) * cig + ci
            for a in range(kh):
                for b in range(kw):
                    A[o, u1, u2, c, (u1 + a * dilation[0]) % N1, (u2 + b * dilation[1]) % N2] += K[o, ci, a, b]
    return A.reshape(c_out * N1 * N2, -1)


def conv_case(seed, cin_g, cout_g, groups, k, stride, pad, dil, H, W, transposed):
    cin, cout = cin_g * groups, cout_g * groups
    cls = nn.ConvTranspose2d if transposed else nn.Conv2d
    m = seeded(seed, lambda: cls(cin, cout, k, stride, pad, dilation=dil, groups=groups, bias=False).double())
    try:
        out = tuple(m(torch.zeros(1, cin, H, W, dtype=torch.float64)).shape[1:])
    except RuntimeError:
        return None
    return m, (cin, H, W), out


def _dft_pieces(K: torch.Tensor, N1: int, N2: int) -> tuple[float, float]:
    """The DFT norm (float64, as computed by the library) and sum_ab |K_ocab| in Frobenius norm."""
    Kh = torch.fft.fft2(K, s=(N1, N2))
    s = float(torch.linalg.matrix_norm(Kh.permute(2, 3, 0, 1), ord=2).max())
    return s, float(torch.linalg.matrix_norm(K.abs().sum(dim=(-2, -1))))


def check_conv(m, in_shape, out_shape, transposed):
    """The three checks of a conv layer's bound (see the module docstring)."""
    r = conv_norm_upper(m, in_shape, out_shape)
    Wt = m.weight.detach().numpy()
    groups, (dh, dw), (ph, pw) = m.groups, m.dilation, m.padding
    kh, kw = Wt.shape[-2:]
    keh, kew = (kh - 1) * dh + 1, (kw - 1) * dw + 1  # dilated kernel
    Hc, Wc = (out_shape if transposed else in_shape)[-2:]  # the conv (or adjoint conv) input grid
    n1, n2 = max(Hc + 2 * ph, keh), max(Wc + 2 * pw, kew)
    sizes = [(n1 + e, n2 + e) for e in range(3)]
    circ = [float(np.linalg.norm(circulant(Wt, groups, (dh, dw), *N), 2)) for N in sizes]
    # 1. the bound is the best circulant norm over the grid sizes, up to its ~1e-13 margins
    assert min(circ) * (1 - 1e-9) <= r <= min(circ) * (1 + 1e-9), (r, circ)
    # 2. it bounds the true operator (dense Jacobian of the layer, float64 SVD: 1e-12 covers its error)
    w = m.weight.detach()
    fn = (lambda x: nn.functional.conv_transpose2d(x, w, None, m.stride, m.padding, m.output_padding,
                                                   m.groups, m.dilation)) if transposed else \
        (lambda x: nn.functional.conv2d(x, w, None, m.stride, m.padding, m.dilation, m.groups))
    J = torch.func.jacrev(fn)(torch.zeros((1, *in_shape), dtype=torch.float64)).reshape(-1, math.prod(in_shape))
    true = float(torch.linalg.matrix_norm(J, ord=2))
    assert true <= r * (1 + 1e-12), (true, r)
    # 3. the margins, exactly: with s the DFT norm and E = || sum_ab |K_ocab| ||_F of each group's
    #    kernel Kg (floats as the library computes them), for the grid size giving the minimum,
    #    docstring: r >= s + 8 (kh kw + log2(N1 N2)) eps E + 8 max(c) eps s   (exact arithmetic)
    #    code:      s + 8 (kh kw + log2(N1 N2) + 2) eps E + 8 max(c) eps s <= r <= that + 2 ulp(r)
    #    and r is strictly above the same sum evaluated in float64 (rounded up, not to nearest)
    W64 = m.weight.detach().to(torch.float64)
    if (dh, dw) != (1, 1):
        Wd = W64.new_zeros(*W64.shape[:2], keh, kew)
        Wd[..., ::dh, ::dw] = W64
        W64 = Wd
    per = W64.shape[0] // groups
    kernels = [W64[g * per:(g + 1) * per] for g in range(groups)]
    lows, highs, floats = [], [], []
    for N1, N2 in sizes:
        lo_n, hi_n, fl_n = Fraction(0), Fraction(0), 0.0
        for Kg in kernels:
            s, E = _dft_pieces(Kg, N1, N2)
            lg = F(math.log2(N1 * N2))
            c = max(Kg.shape[:2])
            svd = 8 * c * F(EPS) * F(s)
            lo_n = max(lo_n, F(s) + 8 * (keh * kew + lg) * F(EPS) * F(E) + svd)
            hi_n = max(hi_n, F(s) + 8 * (keh * kew + lg + 2) * F(EPS) * F(E) + svd)
            fl_n = max(fl_n, s + 8 * (keh * kew + math.log2(N1 * N2) + 2) * EPS * E + 8 * c * EPS * s)
        lows.append(lo_n)
        highs.append(hi_n)
        floats.append(fl_n)
    assert F(r) >= min(lows), (r, float(min(lows)))
    assert min(highs) <= F(r) <= min(highs) + 2 * ulp(r), (r, float(min(highs)))
    assert r > min(floats), (r, min(floats))
    return r


@settings(max_examples=15)
@given(seed=seeds, cin_g=st.integers(1, 2), cout_g=st.integers(1, 2), groups=st.integers(1, 2),
       k=st.integers(1, 3), stride=st.integers(1, 2), pad=st.integers(0, 1), dil=st.integers(1, 2),
       H=st.integers(3, 5), W=st.integers(3, 5), transposed=st.booleans())
def test_conv_norm_is_the_circulant_norm_plus_stated_margins(seed, cin_g, cout_g, groups, k, stride, pad, dil, H,
                                                               W, transposed):
    case = conv_case(seed, cin_g, cout_g, groups, k, stride, pad, dil, H, W, transposed)
    if case is None:
        return
    check_conv(*case, transposed)


#: anisotropic kernels, dilations, strides and paddings, groups, a kernel larger than its channel
#: counts: (cls, c_in, c_out, kernel, stride, padding, dilation, groups, input H, W)
CONV_CASES = [
    (nn.Conv2d, 2, 2, (3, 2), (1, 2), (1, 0), (2, 1), 1, 6, 5),
    (nn.Conv2d, 2, 4, (2, 3), (2, 1), (0, 2), (1, 2), 2, 5, 6),
    (nn.Conv2d, 1, 1, (3, 3), 1, (2, 1), 1, 1, 4, 4),
    (nn.ConvTranspose2d, 2, 2, (3, 2), (2, 1), (1, 0), (1, 2), 2, 3, 4),
    (nn.ConvTranspose2d, 1, 3, (2, 3), 1, (0, 1), (2, 1), 1, 4, 3),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CONV_CASES)])
def test_conv_norm_anisotropic_cases(case):
    cls, cin, cout, k, s, p, d, g, H, W = case
    m = seeded(len(CONV_CASES) + H * W, lambda: cls(cin, cout, k, s, p, dilation=d, groups=g, bias=False).double())
    out = tuple(m(torch.zeros(1, cin, H, W, dtype=torch.float64)).shape[1:])
    check_conv(m, (cin, H, W), out, cls is nn.ConvTranspose2d)


def test_conv_grid_never_wraps_around():
    """A difference filter [1, -1] along the width on a 3 x 4 input: the true norm is 2 cos(pi/8)
    = 1.848 (a 3 x 4 bidiagonal matrix); circulant grids of width 4, 5, 6 give 2, 2 cos(pi/10) =
    1.902, 2, while a grid narrower than the input (3: 2 cos(pi/6) = 1.732) wraps around and would be
    below the true norm: the bound must use only grids at least as wide as the (padded) input."""
    m = nn.Conv2d(1, 1, (1, 2), bias=False).double()
    with torch.no_grad():
        m.weight.copy_(torch.tensor([[[[1.0, -1.0]]]]))
    r = conv_norm_upper(m, (1, 3, 4))
    assert 2 * math.cos(math.pi / 8) < r and abs(r - 2 * math.cos(math.pi / 10)) <= 1e-12


@pytest.mark.parametrize("shape", [(1, 4, 4), (1, 5, 3), (1, 8, 8)])
def test_one_by_one_conv_strictly_above_its_exact_norm(shape):
    """A 1x1 single-channel conv is x -> w x: norm |w| exactly, and its DFT is w exactly at every
    frequency. The bound must exceed |w| by at least the DFT allowance 8 (1 + log2 N) eps |w|
    (N = H W; floor(log2 N) keeps the comparison exact) plus the SVD allowance 8 eps |w|."""
    m = nn.Conv2d(1, 1, 1, bias=False).double()
    with torch.no_grad():
        m.weight.fill_(-0.3)
    r = conv_norm_upper(m, shape)
    N = shape[1] * shape[2]
    w = abs(F(-0.3))
    assert F(r) >= w * (1 + 8 * (1 + math.floor(math.log2(N))) * F(EPS) + 8 * F(EPS))
    assert r > float(w)


@pytest.mark.parametrize("kw", [dict(padding="same"), dict(padding=1, padding_mode="circular"),
                                dict(padding=1, padding_mode="reflect")])
def test_conv_norm_refuses_other_paddings(kw):
    from lipbound.errors import UnsupportedModuleError

    with pytest.raises(UnsupportedModuleError, match="use integer zero padding"):
        conv_norm_upper(nn.Conv2d(1, 1, 3, **kw), (1, 5, 5))


def test_conv_valid_padding_is_zero_padding():
    a = seeded(0, lambda: nn.Conv2d(2, 3, 3, padding="valid").double())
    b = nn.Conv2d(2, 3, 3, padding=0).double()
    with torch.no_grad():
        b.weight.copy_(a.weight)
    assert conv_norm_upper(a, (2, 6, 5)) == conv_norm_upper(b, (2, 6, 5))


def test_conv_transpose_needs_its_output_shape():
    with pytest.raises(ValueError, match="output shape"):
        conv_norm_upper(nn.ConvTranspose2d(1, 1, 3), (1, 4, 4))


# -------------------------------------------------------------------------------- linear chains
def _chain(seed, dims, integer=False):
    rng = np.random.default_rng(seed)
    if integer:
        return [rng.integers(-3, 4, size=(b, a)).astype(np.float64) for a, b in zip(dims[:-1], dims[1:])]
    return [rng.standard_normal((b, a)) for a, b in zip(dims[:-1], dims[1:])]


@settings(max_examples=25)
@given(seed=seeds, dims=st.lists(st.integers(1, 5), min_size=3, max_size=5))
def test_linear_chain_norm_adds_its_allowance_and_rounds_up(seed, dims):
    Ws = _chain(seed, dims)
    v, err = linear_chain_norm(Ws)
    P, A = Ws[0], np.abs(Ws[0])
    for W in Ws[1:]:
        P, A = W @ P, np.abs(W) @ A
    K = sum(W.shape[1] for W in Ws[1:])  # the inner dimensions of the products
    stated = 2.02 * K * EPS * float(np.linalg.norm(A))  # 2 x 1.01 K eps || |W_l|...|W_0| ||_F
    assert abs(err - stated) <= 1e-14 * stated, (err, stated)
    base = linear_norm(torch.from_numpy(np.ascontiguousarray(P)))  # certified norm of the computed product
    assert F(v) >= F(base) + F(err) and v > base + err  # exactly above, and rounded up
    assert F(v) <= F(base) + F(err) + 2 * ulp(v)


@settings(max_examples=15)
@given(seed=seeds, dims=st.lists(st.integers(1, 4), min_size=2, max_size=4))
def test_linear_chain_norm_above_the_exact_norm_of_integer_chains(seed, dims):
    """Small integer weights: every float64 product is exact, so ||P||_2 is the exact constant;
    v^2 I - P^T P must be positive definite in exact arithmetic (v strictly above ||P||)."""
    Ws = _chain(seed, dims, integer=True)
    v, _ = linear_chain_norm(Ws)
    P = fr(Ws[0])
    for W in Ws[1:]:
        P = matmul(fr(W), P)
    G = matmul(transpose(P), P)
    n = len(G)
    assert is_positive_definite([[(F(v) ** 2 if i == j else 0) - G[i][j] for j in range(n)] for i in range(n)])


def test_linear_chain_of_one_layer_is_its_norm():
    W = np.random.default_rng(1).standard_normal((3, 4))
    assert linear_chain_norm([W]) == (linear_norm(torch.from_numpy(W)), 0.0)


def test_lipsdp_of_a_linear_network_rounds_the_post_factor_up():
    """A linear chain followed by LeakyReLU(3): the bound is 3 x the chain norm, rounded up."""
    net = seeded(0, lambda: nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2), nn.LeakyReLU(3.0)).double())
    v, _ = linear_chain_norm([l.weight.detach().numpy() for l in (net[0], net[1])])
    r = lipsdp(net)
    assert r.solver == "none" and F(r.value) >= 3 * F(v) and r.value > 3.0 * v
    r1 = lipsdp(nn.Sequential(net[0], net[1], nn.ReLU()))
    assert r1.value == v  # post factor 1: nothing to round


# ---------------------------------------------------------------------------- spectral product
def _net(seed):
    return seeded(seed, lambda: nn.Sequential(nn.Linear(5, 7), nn.LeakyReLU(-1.75), nn.Linear(7, 4), nn.ELU(-2.5),
                                              nn.Flatten(), nn.Linear(4, 3)).double())


@settings(max_examples=10)
@given(seed=seeds)
def test_spectral_product_rounds_every_product_up(seed):
    net = _net(seed)
    value, rows = spectral_product(net)
    factors = [r["upper"] for r in rows]
    # each factor: the certified layer norm, the activation's largest |slope|, 1 for reshapes
    lin = [l for l in net if isinstance(l, nn.Linear)]
    assert factors == [linear_norm(lin[0].weight), 1.75, linear_norm(lin[1].weight), 2.5, 1.0,
                       linear_norm(lin[2].weight)]
    exact = math.prod(F(f) for f in factors)
    assert F(value) >= exact
    rn = 1.0
    for f in factors:
        rn = rn * f  # the same products rounded to nearest
    assert value > rn, (value, rn)
    assert F(value) <= exact * (1 + 4 * F(EPS)) ** len(factors)  # one rounding + one ulp per product


def test_layer_norms_of_a_conv_net_bracket_each_layer():
    net = seeded(0, lambda: nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Tanh(),
                                          nn.ConvTranspose2d(2, 1, 3, stride=2), nn.Flatten(), nn.Linear(81, 2)).double())
    rows = layer_norms(to_network(net, (1, 4, 4)))
    assert [r["kind"] for r in rows] == ["conv", "activation", "convT", "reshape", "linear"]
    assert rows[0]["upper"] == conv_norm_upper(net[0], (1, 4, 4))
    assert rows[2]["upper"] == conv_norm_upper(net[2], (2, 4, 4), (1, 9, 9))
    assert rows[1]["upper"] == 1.0 and rows[3]["upper"] == 1.0 and rows[3]["lower"] == 1.0
    assert rows[4]["upper"] == linear_norm(net[4].weight) and rows[4]["lower"] is None
    for r in (rows[0], rows[2]):
        assert 0.5 * r["upper"] < r["lower"] <= r["upper"]  # power iteration: a lower estimate, not far off


# ------------------------------------------------------------------------------ lower bounds
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("top", [3.0, 0.5])
def test_power_iteration_is_deflated_exactly_as_stated(batched, top):
    """J = diag(top, top / 3) everywhere: power iteration converges to ||J v|| = top (error
    (1/3)^100, and the float64 norm errs by ~1e-16). docs/bounds.md: the value is deflated by 1e-9
    relatively and 1e-10 x the spectral product absolutely; pinned to 1e-14 (a deflation of half
    that size, or none, or an inflation, is off by >= 5e-11)."""
    lin = nn.Linear(2, 2, bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[top, 0.0], [0.0, top / 3]], dtype=torch.float64))
    P = spectral_product(lin, (2,))[0]
    x = torch.randn(3, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)  # any inputs: J is constant
    vals, _ = jacobian_power_iteration(lin, x, batched=batched)
    expected = top * (1 - 1e-9) - 1e-10 * P
    assert torch.all((vals - expected).abs() <= 1e-14), (vals, expected)


def test_power_iteration_clamps_at_zero():
    zero = nn.Linear(2, 2, bias=False).double()
    with torch.no_grad():
        zero.weight.zero_()
    vals, _ = jacobian_power_iteration(zero, torch.ones(2, 2, dtype=torch.float64), scale=1.0)
    assert torch.all(vals == 0.0)
