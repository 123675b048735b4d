"""Local bounds (``lipbound.bounds._local``): pre-activation bounds and per-neuron slope intervals.

Random small dense networks (ReLU, LeakyReLU, Tanh, Sigmoid, ELU, GELU; one to three hidden blocks,
some with two stacked activations, some Linear-Linear, some with a leading or trailing activation;
biases; float64) on random boxes and balls:

* soundness: the pre-activations of many sampled points, box corners and ball boundary points,
  evaluated layer by layer in float64, all lie within the bounds (zero violations), for both methods;
* secant slopes of the (merged) activation at every LipSDP position, between pairs of sampled points,
  lie in the per-neuron intervals (up to the float64 error of evaluating them), which lie in the
  global ones; the list aligns with ``dense_chain``;
* "crown" bounds lie inside the "interval" ones, strictly tighter on a stated example;
* stated exact cases: stable ReLU neurons near a point, an identity position, conv refused, and a
  one-layer box bound that is attained at a corner up to rounding slack (the slack is not loose).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

from lipbound.bounds import Ball, Box, to_network
from lipbound.bounds._local import LocalSlopes, local_slopes, preactivation_bounds
from lipbound.bounds._network import dense_chain
from lipbound.errors import UnsupportedModuleError

from strategies import seeds

pytestmark = pytest.mark.usefixtures("one_torch_thread")

EPS = float(np.finfo(np.float64).eps)
ACTS = {
    "relu": nn.ReLU, "leaky": lambda: nn.LeakyReLU(0.1), "leaky_neg": lambda: nn.LeakyReLU(-0.3),
    "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "elu": nn.ELU, "gelu": nn.GELU,
    "gelu_tanh": lambda: nn.GELU(approximate="tanh"),
}


@st.composite
def dense_cases(draw):
    """An architecture (list of layer tokens), its input width, a domain kind and seeds/scales."""
    d_in = draw(st.integers(1, 4))
    tokens: list[tuple] = []
    if draw(st.booleans()) and draw(st.booleans()):
        tokens.append(("act", draw(st.sampled_from(sorted(ACTS)))))  # leading activation
    for _ in range(draw(st.integers(1, 3))):
        tokens.append(("linear", draw(st.integers(1, 6))))
        kind = draw(st.sampled_from(["act", "act", "act", "two", "none"]))
        if kind in ("act", "two"):
            tokens.append(("act", draw(st.sampled_from(sorted(ACTS)))))
        if kind == "two":
            tokens.append(("act", draw(st.sampled_from(sorted(ACTS)))))
        if draw(st.booleans()) and draw(st.booleans()):
            tokens.append(("identity",))
    tokens.append(("linear", draw(st.integers(1, 3))))
    if draw(st.booleans()) and draw(st.booleans()):
        tokens.append(("act", draw(st.sampled_from(sorted(ACTS)))))  # trailing activation
    return {"d_in": d_in, "tokens": tokens, "seed": draw(seeds),
            "domain": draw(st.sampled_from(["box", "ball"])),
            "wscale": draw(st.sampled_from([0.5, 1.0, 2.0])),
            "xscale": draw(st.sampled_from([0.01, 0.3, 1.0, 3.0]))}


def build(case) -> tuple[nn.Module, object]:
    g = torch.Generator().manual_seed(case["seed"])
    layers, width = [], case["d_in"]
    for tok in case["tokens"]:
        if tok[0] == "linear":
            lin = nn.Linear(width, tok[1]).double()
            with torch.no_grad():
                lin.weight.copy_(case["wscale"] * torch.randn(tok[1], width, generator=g, dtype=torch.float64)
                                 / math.sqrt(width))
                lin.bias.copy_(torch.randn(tok[1], generator=g, dtype=torch.float64))
            layers.append(lin)
            width = tok[1]
        elif tok[0] == "act":
            layers.append(ACTS[tok[1]]())
        else:
            layers.append(nn.Identity())
    model = nn.Sequential(*layers)
    c = torch.randn(case["d_in"], generator=g, dtype=torch.float64)
    s = case["xscale"]
    if case["domain"] == "box":
        w = s * torch.rand(case["d_in"], generator=g, dtype=torch.float64)
        dom = Box(c - w, c + w)
    else:
        dom = Ball(c, s)
    return model, dom


def sample_points(dom, d: int, n: int = 400, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = dom.sample(n, (d,), g)
    if isinstance(dom, Box):
        lo, hi = torch.as_tensor(dom.low), torch.as_tensor(dom.high)
        corners = torch.tensor(list(itertools.product([False, True], repeat=d)))
        # lo + (hi - lo) * t can round past hi: clamp into the box; corners exactly
        x = torch.cat([torch.minimum(torch.maximum(x, lo), hi), torch.where(corners, hi, lo)])
    else:
        v = torch.randn(200, d, generator=g, dtype=torch.float64)
        v = v / v.norm(dim=1, keepdim=True)
        x = torch.cat([x, torch.as_tensor(dom.center) + dom.radius * v])
    return x


def trace(net, x: torch.Tensor):
    """Float64 layer-by-layer evaluation: the inputs of every activation, and for every LipSDP
    position (found independently of the code under test) its (input, output) pair."""
    pre, pos = [], []
    v = x
    group_in, seen_linear = None, False
    with torch.no_grad():
        for l in net.layers:
            if l.kind == "activation":
                pre.append(v)
                if group_in is None:
                    group_in = v
            if l.kind == "linear":
                if seen_linear or group_in is not None:
                    pos.append((v if group_in is None else group_in, v))
                group_in, seen_linear = None, True
            v = l.module(v)
    return pre, pos


@given(case=dense_cases())
@settings(max_examples=150)
def test_bounds_sound_and_crown_inside_interval(case):
    model, dom = build(case)
    net = to_network(model, (case["d_in"],))
    x = sample_points(dom, case["d_in"])
    pre, _ = trace(net, x)
    bi = preactivation_bounds(net, dom, method="interval")
    bc = preactivation_bounds(net, dom, method="crown")
    assert len(bi) == len(bc) == len(pre) == sum(l.kind == "activation" for l in net.layers)
    for u, (li, hi_), (lc, hc) in zip(pre, bi, bc):
        u = u.numpy()
        assert li.dtype == np.float64 and li.shape == hi_.shape == (u.shape[1],)
        assert int(((u < lc) | (u > hc)).sum()) == 0
        assert int(((u < li) | (u > hi_)).sum()) == 0
        assert (lc >= li).all() and (hc <= hi_).all()
        assert (lc <= hc).all()


@given(case=dense_cases(), method=st.sampled_from(["crown", "interval"]))
@settings(max_examples=120)
def test_secant_slopes_in_local_intervals(case, method):
    model, dom = build(case)
    net = to_network(model, (case["d_in"],))
    res = local_slopes(net, dom, method=method)
    assert isinstance(res, LocalSlopes) and res.method == method
    glob = dense_chain(net)[1]
    assert len(res.slopes) == len(glob) == len(res.counts)
    x = sample_points(dom, case["d_in"], n=150, seed=1)
    _, pos = trace(net, x)
    assert len(pos) == len(glob)
    g = torch.Generator().manual_seed(2)
    i, j = torch.randint(0, x.shape[0], (2, 600), generator=g)
    for (a, b), (ga, gb), (uin, uout), cnt in zip(res.slopes, glob, pos, res.counts):
        assert a.shape == b.shape == (uin.shape[1],)
        assert (a >= ga).all() and (b <= gb).all() and (a <= b).all()
        assert sum(cnt.values()) == a.shape[0]
        ux, uy, ox, oy = uin[i].numpy(), uin[j].numpy(), uout[i].numpy(), uout[j].numpy()
        du = ux - uy
        ok = np.abs(du) > 1e-4
        s = np.where(ok, (ox - oy) / np.where(ok, du, 1.0), 0.0)
        tol = 64 * EPS * (1 + np.abs(ox) + np.abs(oy) + np.abs(ux) + np.abs(uy)) / np.where(ok, np.abs(du), 1.0)
        bad = ok & ((s < a - tol) | (s > b + tol))
        assert int(bad.sum()) == 0, (s[bad], np.broadcast_to(a, s.shape)[bad], np.broadcast_to(b, s.shape)[bad])


def _two_layer_relu():
    l1, l2, l3 = nn.Linear(2, 2), nn.Linear(2, 1), nn.Linear(1, 1)
    with torch.no_grad():
        l1.weight.copy_(torch.tensor([[1.0, 1.0], [1.0, -1.0]]))
        l1.bias.zero_()
        l2.weight.copy_(torch.tensor([[1.0, 1.0]]))
        l2.bias.zero_()
    return to_network(nn.Sequential(l1, nn.ReLU(), l2, nn.ReLU(), l3))


def test_crown_strictly_tighter_on_two_layer_relu():
    """z2 = relu(x1 + x2) + relu(x1 - x2) on [-1, 1]^2: the true range is [0, 2]; IBP gives [0, 4];
    CROWN's chords relu(z) <= (z + 2) / 2 give z2 <= x1 + 2 <= 3."""
    net = _two_layer_relu()
    dom = Box(-1.0, 1.0)
    (_, _), (li, hi) = preactivation_bounds(net, dom, method="interval")
    (_, _), (lc, hc) = preactivation_bounds(net, dom, method="crown")
    assert hi[0] >= 4.0 and abs(hi[0] - 4.0) < 1e-12
    assert 3.0 <= hc[0] < 3.0 + 1e-12
    assert li[0] <= 0.0 and lc[0] <= 0.0 and lc[0] >= -1e-12
    assert local_slopes(net, dom).counts == [{"inactive": 0, "active": 0, "fixed": 0, "unstable": 2},
                                             {"inactive": 0, "active": 0, "fixed": 0, "unstable": 1}]


def test_crown_tighter_on_a_ball():
    """The same network on the unit ball: the first layer is exact (each unit in [-sqrt 2, sqrt 2]), so
    IBP gives z2 <= 2 sqrt 2, and CROWN's chords give z2 <= x1 + sqrt 2 <= 1 + sqrt 2."""
    net = _two_layer_relu()
    dom = Ball(torch.zeros(2, dtype=torch.float64), 1.0)
    (_, _), (_, hi) = preactivation_bounds(net, dom, method="interval")
    (_, _), (_, hc) = preactivation_bounds(net, dom, method="crown")
    assert abs(hi[0] - 2 * math.sqrt(2)) < 1e-12
    assert abs(hc[0] - (1 + math.sqrt(2))) < 1e-12 and hc[0] >= 1 + math.sqrt(2)


@given(seed=seeds, width=st.integers(1, 6), depth=st.integers(1, 3), leaky=st.booleans())
@settings(max_examples=25)
def test_stable_relus_give_exact_slopes(seed, width, depth, leaky):
    """A ball of radius 1e-9 around x0 where every pre-activation is at least 1e-3 from 0: each neuron's
    interval is exactly [1, 1] (active) or [0, 0] / [a, a] (inactive), as its sign at x0 says."""
    a = 0.1 if leaky else 0.0
    g = torch.Generator().manual_seed(seed)
    layers, w = [], 3
    for _ in range(depth):
        lin = nn.Linear(w, width).double()
        with torch.no_grad():
            lin.weight.copy_(torch.randn(width, w, generator=g, dtype=torch.float64))
            lin.bias.copy_(torch.randn(width, generator=g, dtype=torch.float64))
        layers += [lin, nn.LeakyReLU(a) if leaky else nn.ReLU()]
        w = width
    layers.append(nn.Linear(w, 2).double())
    net = to_network(nn.Sequential(*layers))
    x0 = torch.randn(1, 3, generator=g, dtype=torch.float64)
    pre, _ = trace(net, x0)
    assume(all(float(u.abs().min()) > 1e-3 for u in pre))
    res = local_slopes(net, Ball(x0[0], 1e-9))
    assert len(res.slopes) == depth
    for (lo, hi), u, cnt in zip(res.slopes, pre, res.counts):
        want = np.where(u[0].numpy() > 0, 1.0, a)
        assert (lo == want).all() and (hi == want).all()
        assert cnt["unstable"] == 0 and cnt["active"] == int((u[0] > 0).sum())
        assert cnt["inactive" if not leaky else "fixed"] == int((u[0] < 0).sum())


def test_identity_position_gets_ones():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2)).double()
    net = to_network(model)
    res = local_slopes(net, Box(-1.0, 1.0))
    assert len(res.slopes) == len(dense_chain(net)[1]) == 2
    a, b = res.slopes[0]
    assert a.shape == (4,) and (a == 1.0).all() and (b == 1.0).all()
    assert res.counts[0] == {"inactive": 0, "active": 4, "fixed": 0, "unstable": 0}
    assert res.slopes[1][0].shape == (5,)


def test_leading_and_merged_activations():
    """A leading ReLU uses the domain as its pre-activation bounds; ReLU then Tanh is one merged
    position whose interval is the product; a trailing activation has no position."""
    model = nn.Sequential(nn.ReLU(), nn.Linear(2, 3), nn.ReLU(), nn.Tanh(), nn.Linear(3, 1), nn.Sigmoid())
    net = to_network(model.double(), (2,))
    res = local_slopes(net, Box(torch.tensor([0.5, -2.0]), torch.tensor([1.0, -1.0])))
    assert len(res.slopes) == len(dense_chain(net)[1]) == 2
    a, b = res.slopes[0]
    assert a.tolist() == [1.0, 0.0] and b.tolist() == [1.0, 0.0]
    assert len(res.preactivation) == 4
    lo, hi = res.preactivation[0]
    assert (lo <= [0.5, -2.0]).all() and (hi >= [1.0, -1.0]).all()
    a, b = res.slopes[1]
    assert (a >= 0).all() and (b <= 1).all()


def test_one_layer_box_bound_is_attained_up_to_slack():
    """On a box, the first layer's bound is exact: a corner attains it up to the rounding slack."""
    g = torch.Generator().manual_seed(7)
    lin = nn.Linear(4, 5).double()
    with torch.no_grad():
        lin.weight.copy_(torch.randn(5, 4, generator=g, dtype=torch.float64))
        lin.bias.copy_(torch.randn(5, generator=g, dtype=torch.float64))
    net = to_network(nn.Sequential(lin, nn.ReLU(), nn.Linear(5, 1).double()))
    dom = Box(-0.5, 2.0)
    corners = -0.5 + 2.5 * torch.tensor(list(itertools.product([0.0, 1.0], repeat=4)), dtype=torch.float64)
    with torch.no_grad():
        z = lin(corners).numpy()
    for method in ("crown", "interval"):
        ((lo, hi),) = preactivation_bounds(net, dom, method=method)
        assert (lo <= z.min(0)).all() and (hi >= z.max(0)).all()
        assert np.abs(hi - z.max(0)).max() < 1e-12 and np.abs(lo - z.min(0)).max() < 1e-12


def test_conv_refused():
    """Convolutions are unrolled into their exact matrices (tests/test_conv_sdp.py); one that is not
    (non-zero padding mode) is refused by name."""
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect"), nn.ReLU(), nn.Flatten(),
                          nn.Linear(50, 2))
    net = to_network(model, (1, 5, 5))
    with pytest.raises(UnsupportedModuleError, match="'0'.*Conv2d"):
        preactivation_bounds(net, Box(0.0, 1.0))
    with pytest.raises(UnsupportedModuleError, match="Conv2d"):
        local_slopes(net, Ball(0.0, 1.0))


def test_bad_method_refused():
    with pytest.raises(ValueError, match="method"):
        preactivation_bounds(_two_layer_relu(), Box(-1.0, 1.0), method="deeppoly")


@given(seed=seeds, act=st.sampled_from(["tanh", "sigmoid", "elu", "gelu", "leaky_neg"]))
@settings(max_examples=30)
def test_small_ball_slopes_are_tight(seed, act):
    """On a ball of radius 1e-7 the interval of each neuron holds the derivative at the centre's
    pre-activation and is narrower than 1e-4 (the intervals are local, not the global ones)."""
    g = torch.Generator().manual_seed(seed)
    lin = nn.Linear(3, 4).double()
    with torch.no_grad():
        lin.weight.copy_(torch.randn(4, 3, generator=g, dtype=torch.float64))
        lin.bias.copy_(torch.randn(4, generator=g, dtype=torch.float64))
    phi = ACTS[act]()
    net = to_network(nn.Sequential(lin, phi, nn.Linear(4, 1).double()))
    x0 = torch.randn(3, generator=g, dtype=torch.float64)
    with torch.no_grad():
        u = lin(x0)
    assume(float(u.abs().min()) > 1e-3)  # away from the kinks of ELU / LeakyReLU
    uu = u.clone().requires_grad_(True)
    (d,) = torch.autograd.grad(phi(uu).sum(), uu)
    ((a, b),) = local_slopes(net, Ball(x0, 1e-7)).slopes
    d = d.numpy()
    assert (a <= d).all() and (d <= b).all()
    assert (b - a).max() < 1e-4
