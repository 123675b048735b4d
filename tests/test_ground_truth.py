"""Ground truth (issue 4, item 5): on generated networks whose Lipschitz constant is computable
exactly (linear networks; one-hidden-layer ReLU/LeakyReLU networks with hidden width <= input dim),

    every lower bound  <=  exact  <=  every certified upper bound,

with zero violations. Hypothesis draws the shapes, the weight scale and a seed; the weights are
filled from the seed.

Slack: **none on the upper side**. The exact value is computed in float64 from the same weights
(relative error a few 1e-16 for these <= 16 x 16 products and SVDs), and every certified bound carries
margins far larger (``8 max(m, n) eps`` per layer norm, the LMI's rounding term for the SDPs), so a
certified value below the float64 exact value is a bug. **None for the library's lower bounds**
(power iteration, PGD): they are already deflated by ``1e-9`` relatively and ``1e-10 P`` absolutely.
The only allowance is for the *secant* evaluations ``||f(x) - f(y)|| / ||x - y||`` computed here:
each float64 evaluation of ``f`` errs by at most ``gamma (a + 1)``, where ``a`` bounds the norm of
every intermediate value (``a <- ||W_k|| a + ||b_k||`` from ``a = ||x||``; activations have
``|phi(u)| <= |u|``), with ``gamma = 1e-12`` (``n eps ~ 4e-15`` for n <= 16, times ``sqrt(n) <= 4`` for entrywise versus
spectral norms, with a 60x margin), so the secant may exceed the constant by twice that over
``||x - y||``.

The tightest ratios seen are printed (run with ``-s``).
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.func import jacrev

from lipbound.bounds import Ball, Box, bracket, exact_lipschitz, lipsdp, lipsdp_local, pgd_lower, spectral_product
from lipbound.errors import UnsupportedModuleError

GAMMA = 1e-12  # relative error budget of one float64 evaluation of f (see the module docstring)
UPPER_METHODS = ("spectral-product", "lipsdp-neuron", "lipsdp-layer")

# tightest ratios seen in this session: max lower/exact (<= 1) and max exact/upper (<= 1) per method
STATS: dict[str, float] = {}
COUNT = {"networks": 0}


@pytest.fixture(autouse=True, scope="module")
def _report_ratios(one_torch_thread):
    """One torch thread (tiny tensors); print the tightest ratios seen when the module ends."""
    yield
    if COUNT["networks"]:
        print(f"\nground truth: {COUNT['networks']} networks; tightest ratios: "
              + ", ".join(f"{k} = 1 {'+' if v > 1 else '-'} {abs(1 - v):.2e}" for k, v in sorted(STATS.items())))


def _note(key: str, ratio: float) -> None:
    STATS[key] = max(STATS.get(key, 0.0), ratio)


def make_net(kind: str, seed: int, dims: list[int], scale: float) -> nn.Sequential:
    """``kind`` 'linear' (Linear layers with ``dims``), 'relu' or 'leaky' (``dims = [n, h, m]``)."""
    g = torch.Generator().manual_seed(seed)
    lins = []
    for a, b in zip(dims[:-1], dims[1:]):
        lin = nn.Linear(a, b).double()
        with torch.no_grad():
            lin.weight.copy_(scale * torch.randn(b, a, generator=g, dtype=torch.float64) / math.sqrt(a))
            lin.bias.copy_(torch.randn(b, generator=g, dtype=torch.float64))
        lins.append(lin)
    if kind == "linear":
        net = nn.Sequential(*lins)
    else:
        act = nn.ReLU() if kind == "relu" else nn.LeakyReLU(0.1 + 0.8 * float(torch.rand(1, generator=g)))
        net = nn.Sequential(lins[0], act, lins[1])
    return net.requires_grad_(False)


def check_network(net: nn.Sequential, seed: int, *, sdp: bool = True, pgd: bool = False) -> None:
    n = net[0].in_features
    ex = exact_lipschitz(net)
    assert ex.exact and ex.witness is not None
    L = ex.value
    # the constant is attained: the Jacobian at the witness has norm L (float64 SVD, ~1e-15 relative)
    J = jacrev(net)(ex.witness).reshape(-1, n)
    assert abs(float(torch.linalg.matrix_norm(J, 2)) - L) <= 1e-12 * max(L, 1e-300)

    g = torch.Generator().manual_seed(seed)
    inputs = torch.cat([ex.witness.unsqueeze(0), 2 * torch.randn(15, n, generator=g, dtype=torch.float64)])
    methods = ["spectral-product", "power-iteration"] + (["lipsdp-neuron", "lipsdp-layer"] if sdp else [])
    b = bracket(net, inputs=inputs, methods=methods, seed=seed)
    for r in b.results:
        if r.kind == "certified-upper":
            assert r.value >= L, f"{r.method} = {r.value!r} < exact {L!r} ({r.status})"  # no slack
            if L > 0:
                _note(f"exact/{r.method}", L / r.value)
        else:
            assert r.value <= L, f"{r.method} = {r.value!r} > exact {L!r}"  # library deflation only
            if L > 0:
                _note(f"{r.method}/exact", r.value / L)
    if pgd:
        v, _ = pgd_lower(net, Box(-3.0, 3.0), (n,), starts=4, steps=10, iters=10, seed=seed)
        assert v <= L, f"pgd = {v!r} > exact {L!r}"
        if L > 0:
            _note("pgd/exact", v / L)

    # secant evaluation at the witness along the top right singular vector: the pattern's
    # pre-activations have margin >= 1/2 there, a step of 1/(4 ||W1||) keeps them, so the secant is
    # ||J d|| = L up to the evaluation error (allowance in the module docstring)
    _, _, Vh = torch.linalg.svd(J)
    d = Vh[0]
    w1 = float(torch.linalg.matrix_norm(net[0].weight.detach(), 2))
    t = 0.25 / max(w1, 1e-300)
    x, y = ex.witness, ex.witness + t * d
    with torch.no_grad():
        sec = float((net(y) - net(x)).norm() / (y - x).norm())
    a = float(torch.maximum(x.norm(), y.norm()))  # bound on every intermediate's norm: |phi(u)| <= |u|
    for lin in (m for m in net if isinstance(m, nn.Linear)):
        a = float(torch.linalg.matrix_norm(lin.weight.detach(), 2)) * a + float(lin.bias.norm())
    err = GAMMA * (a + 1.0)
    assert sec <= L + 2 * err / float((y - x).norm()), f"secant {sec!r} > exact {L!r}"
    if L > 0:
        _note("secant/exact", sec / L)
    COUNT["networks"] += 1


def _net_strategy():
    seeds = st.integers(0, 2**31 - 2)
    scales = st.sampled_from([0.1, 1.0, 10.0])
    linear = st.tuples(st.just("linear"), seeds, st.lists(st.integers(1, 6), min_size=2, max_size=4), scales)

    @st.composite
    def one_hidden(draw):
        n = draw(st.integers(1, 6))
        h = draw(st.integers(1, n))
        return draw(st.sampled_from(["relu", "leaky"])), draw(seeds), [n, h, draw(st.integers(1, 5))], draw(scales)

    return st.one_of(linear, one_hidden(), one_hidden())


def check_local(net: nn.Module, shape: tuple[int, ...]) -> None:
    """Local bounds against the exact constant L: on a ball around the witness small enough that the
    witness's activation pattern (margin >= 1/2) holds on it, the model is affine there with Jacobian
    norm L, so the local constant is exactly L and the certified local bound must be in
    [L, L (1 + 1e-9)] (its exact reduction: a certified SVD norm, ~1e-15 relative error plus the
    stated rounding allowance); on a ball of radius 3 it must be in [L, global LipSDP]: the witness
    is inside, and the global constant is L."""
    ex = exact_lipschitz(net, shape)
    L = ex.value
    Ws = [m for m in net.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    w1 = float(torch.linalg.matrix_norm(Ws[0].weight.detach().reshape(Ws[0].weight.shape[0], -1), 2))
    # a conv's operator norm is at most ||kernel as a matrix|| times sqrt(taps per input pixel); use
    # the exact unrolled norm through the spectral product's first factor instead
    first = spectral_product(nn.Sequential(Ws[0]), shape)[0] if isinstance(Ws[0], nn.Conv2d) else w1
    small = lipsdp_local(net, Ball(ex.witness, 0.25 / max(first, 1e-300)), shape)
    assert L <= small.value <= L * (1 + 1e-9), (L, small.value, small.status)
    big = lipsdp_local(net, Ball(ex.witness, 3.0), shape, global_bound=lipsdp(net, shape).value)
    assert L <= big.value, (L, big.value, big.status)
    _note("exact/lipsdp-local(r=3)", L / big.value if big.value > 0 else 1.0)
    COUNT["networks"] += 1


def make_conv_net(seed: int, c_out: int, relu: bool, m: int, scale: float) -> nn.Sequential:
    """Input (1, 4, 4); Conv2d(1, c_out, 3) (hidden 4 c_out <= 16 = input dim), then ReLU or nothing,
    Flatten, Linear(4 c_out, m): exact constants exist (the convolution is its exact matrix)."""
    g = torch.Generator().manual_seed(seed)
    conv = nn.Conv2d(1, c_out, 3).double()
    lin = nn.Linear(4 * c_out, m).double()
    with torch.no_grad():
        conv.weight.copy_(scale * torch.randn(conv.weight.shape, generator=g, dtype=torch.float64) / 3)
        conv.bias.copy_(torch.randn(c_out, generator=g, dtype=torch.float64))
        lin.weight.copy_(torch.randn(lin.weight.shape, generator=g, dtype=torch.float64) / math.sqrt(4 * c_out))
    layers = [conv] + ([nn.ReLU()] if relu else []) + [nn.Flatten(), lin]
    return nn.Sequential(*layers).requires_grad_(False)


@settings(max_examples=25)
@given(seed=st.integers(0, 2**31 - 2), c_out=st.integers(1, 4), relu=st.booleans(), m=st.integers(1, 4),
       scale=st.sampled_from([0.1, 1.0, 10.0]))
def test_ground_truth_convolutions(seed, c_out, relu, m, scale):
    """Convolutional networks with exact constants (the unrolled matrix): every certified upper bound
    (spectral product, LipSDP on the unrolled chain) >= exact >= the evaluated lower bounds, no
    slack; and the local bounds of :func:`check_local`."""
    net = make_conv_net(seed, c_out, relu, m, scale)
    shape = (1, 4, 4)
    ex = exact_lipschitz(net, shape)
    if not ex.exact:  # a rank-deficient convolution: its pattern maximum is only an upper bound
        return
    L = ex.value
    g = torch.Generator().manual_seed(seed)
    x = torch.cat([ex.witness.unsqueeze(0), torch.randn(15, *shape, generator=g, dtype=torch.float64)])
    b = bracket(net, input_shape=shape, inputs=x, methods=["spectral-product", "lipsdp-neuron", "power-iteration"])
    for r in b.results:
        if r.kind == "certified-upper":
            assert r.value >= L, f"{r.method} = {r.value!r} < exact {L!r} ({r.status})"
            _note(f"conv exact/{r.method}", L / r.value if r.value > 0 else 1.0)
        else:
            assert r.value <= L, f"{r.method} = {r.value!r} > exact {L!r}"
    if relu:
        check_local(net, shape)


@settings(max_examples=25)
@given(spec=_net_strategy())
def test_ground_truth_local(spec):
    """Local LipSDP at the witness of the exact constant (see :func:`check_local`)."""
    if spec[0] == "linear":
        return  # covered: a linear network is affine on every ball (tests/test_local_sdp.py)
    net = make_net(*spec)
    check_local(net, (net[0].in_features,))


def test_ground_truth_residual_linear_blocks():
    """x + V1 V0 x (LeakyReLU(1) is the identity): exact ||I + V1 V0||; every certified bound >= it,
    LipSDP equal to it to 1e-9, the evaluated lower bound <= it."""
    from lipbound.models import Residual

    g = torch.Generator().manual_seed(5)
    v0, v1 = nn.Linear(4, 7).double(), nn.Linear(7, 4).double()
    with torch.no_grad():
        v0.weight.copy_(torch.randn(7, 4, generator=g, dtype=torch.float64))
        v1.weight.copy_(torch.randn(4, 7, generator=g, dtype=torch.float64))
    net = nn.Sequential(Residual(nn.Sequential(v0, nn.LeakyReLU(1.0), v1))).requires_grad_(False)
    L = float(torch.linalg.matrix_norm(torch.eye(4, dtype=torch.float64) + v1.weight @ v0.weight, 2))
    b = bracket(net, inputs=torch.randn(16, 4, generator=g, dtype=torch.float64),
                methods=["spectral-product", "lipsdp-neuron", "power-iteration"])
    assert b["spectral-product"].value >= L and L <= b["lipsdp-neuron"].value <= L * (1 + 1e-9)
    assert b["power-iteration"].value <= L


@settings(max_examples=200)
@given(spec=_net_strategy())
def test_ground_truth_cheap_bounds(spec):
    """200 networks: spectral product, power iteration and secants against the exact constant."""
    check_network(make_net(*spec), spec[1], sdp=False)


@settings(max_examples=30)
@given(spec=_net_strategy())
def test_ground_truth_sdp(spec):
    """30 networks: also LipSDP-Neuron and LipSDP-Layer (one solve costs ~0.1-0.2 s here)."""
    check_network(make_net(*spec), spec[1], sdp=True)


@settings(max_examples=8)
@given(spec=_net_strategy())
def test_ground_truth_pgd(spec):
    """8 networks: projected gradient ascent over a box (about 1 s per network)."""
    check_network(make_net(*spec), spec[1], sdp=False, pgd=True)


@pytest.mark.slow
@settings(max_examples=3000)
@given(spec=_net_strategy())
def test_ground_truth_thousands(spec):
    """3000 networks, every certified upper bound (spectral product, LipSDP-Neuron, LipSDP-Layer),
    power iteration and secants."""
    check_network(make_net(*spec), spec[1], sdp=True)


@pytest.mark.slow
@settings(max_examples=300)
@given(spec=_net_strategy())
def test_ground_truth_pgd_hundreds(spec):
    """300 networks with PGD."""
    check_network(make_net(*spec), spec[1], sdp=False, pgd=True)


def test_exact_wide_input_16():
    """The largest case the enumeration takes: hidden width 16 = input dim, 65536 patterns."""
    net = make_net("relu", 7, [16, 16, 4], 1.0)
    check_network(net, 7, sdp=False)
    assert exact_lipschitz(net).patterns == 2**16


def test_exact_refusals():
    with pytest.raises(UnsupportedModuleError, match="hidden width 5 exceeds"):
        exact_lipschitz(make_net("relu", 0, [4, 5, 2], 1.0))
    with pytest.raises(UnsupportedModuleError, match="no exact constant for a hidden activation Tanh"):
        exact_lipschitz(nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 1)))
    with pytest.raises(UnsupportedModuleError, match="one hidden layer"):
        exact_lipschitz(nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 1)))
    net = make_net("relu", 1, [4, 3, 2], 1.0)
    with torch.no_grad():
        net[0].weight[2] = 2 * net[0].weight[1]  # rank 2 < h = 3
    with pytest.raises(UnsupportedModuleError, match="not certifiably of full row rank"):
        exact_lipschitz(net)
    up = exact_lipschitz(net, allow_upper=True)
    assert not up.exact and up.witness is None and "upper bound" in up.note
    assert up.value <= spectral_product(net, (4,))[0]


def test_exact_beats_product_bound_and_detects_a_wrong_constant():
    """|t| = relu(t) + relu(-t) in disguise (full-rank version): the exact value is strictly below the
    product bound, and a deliberately wrong "exact" value would be caught by the witness check."""
    net = nn.Sequential(nn.Linear(2, 2, bias=False), nn.ReLU(), nn.Linear(2, 1, bias=False)).double()
    net.requires_grad_(False)
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, 1.0]]))
        net[2].weight.copy_(torch.tensor([[1.0, 1.0]]))
    ex = exact_lipschitz(net)
    assert ex.value == pytest.approx(math.sqrt(2), rel=1e-15)
    assert spectral_product(net, (2,))[0] > 2.2
    J = jacrev(net)(ex.witness)
    assert float(torch.linalg.matrix_norm(J, 2)) == pytest.approx(math.sqrt(2), rel=1e-15)
