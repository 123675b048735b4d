"""Local LipSDP (lipbound.bounds._localsdp) and per-neuron slopes in the engine, against ground truth.

Ground truth on a domain D: the norm of the model's own Jacobian at points of D is a lower bound on
the local constant (the local bound must never be below it: zero violations), and where the model
is affine on D (every ReLU stable) the local constant is exactly the Jacobian's norm at any point.
Tolerances: 1e-9 relative where the bound is an exact norm with its rounding allowance (float64
products of a few hundred terms err by ~1e-14); 1e-3 relative between two SDP solvers (the
BARRIER's stopping rule is a 1e-4 gap, Clarabel's 1e-8, and its point multipliers are fixed at
1e6 times their layer's scale, an O(1e-6) restriction).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, target
from hypothesis import strategies as st
from torch import nn

from lipbound.bounds import Ball, Box, BoundResult, Bracket, SoundnessError, bracket, lipsdp
from lipbound.bounds._localsdp import lipsdp_local
from lipbound.bounds._sdp import solve_lipsdp, verify_certificate


def _net(seed: int, widths: list[int], bias_scale: float = 1.0) -> nn.Sequential:
    g = torch.Generator().manual_seed(seed)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        lin = nn.Linear(a, b).double()
        with torch.no_grad():
            lin.weight.copy_(torch.randn(b, a, generator=g, dtype=torch.float64) / math.sqrt(a))
            lin.bias.copy_(bias_scale * torch.randn(b, generator=g, dtype=torch.float64))
        layers.append(lin)
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _jac_norms(net: nn.Module, xs: torch.Tensor) -> torch.Tensor:
    jac = torch.func.vmap(torch.func.jacrev(net))(xs)
    return torch.linalg.matrix_norm(jac, 2)


@settings(max_examples=25)
@given(seed=st.integers(0, 10_000), depth=st.integers(1, 2), width=st.integers(2, 10), n0=st.integers(1, 5),
       log_r=st.floats(-3, 0.5), ball=st.booleans())
def test_local_bound_is_never_below_a_jacobian_norm_in_the_domain(seed, depth, width, n0, log_r, ball):
    """Every sampled ||J(x)||, x in D (float64, the model's own Jacobian), is at most the local
    certified bound; the bound with the global one given is never above it."""
    net = _net(seed, [n0] + [width] * depth + [2])
    g = torch.Generator().manual_seed(seed)
    c = torch.randn(n0, generator=g, dtype=torch.float64)
    r = 10.0 ** log_r
    dom = Ball(c, r) if ball else Box(c - r, c + r)
    glob = lipsdp(net).value
    loc = lipsdp_local(net, dom, global_bound=glob)
    xs = dom.sample(256, (n0,), g)
    worst = float(_jac_norms(net, xs).max())
    assert loc.kind == "certified-local-upper"
    assert worst <= loc.value, (worst, loc.value, loc.status)
    assert loc.value <= glob
    target(worst / max(loc.value, 1e-300), label="tightness")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_affine_on_the_domain_gives_the_exact_jacobian_norm(seed):
    """A ball small enough that no ReLU changes state: the map is affine there and the bound is
    ||J(c)|| to 1e-9 relative (the exact reduction, no SDP)."""
    net = _net(seed, [4, 12, 12, 3])
    c = torch.randn(4, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    loc = lipsdp_local(net, Ball(c, 1e-6))
    exact = float(_jac_norms(net, c[None])[0])
    assert all(n["unstable"] == 0 for n in loc.details["neurons"]), loc.details
    assert exact <= loc.value <= exact * (1 + 1e-9), (exact, loc.value)
    assert loc.status.startswith("exact")


def test_a_layer_off_on_the_domain_makes_the_constant_zero():
    net = _net(0, [3, 5, 2])
    with torch.no_grad():
        net[0].bias.fill_(-100.0)  # every hidden ReLU off near the origin
    loc = lipsdp_local(net, Box(-1.0, 1.0))
    assert loc.value == 0.0 and loc.status.startswith("exact")
    xs = Box(-1.0, 1.0).sample(64, (3,), torch.Generator().manual_seed(0))
    assert float(_jac_norms(net, xs).max()) == 0.0


def test_a_linear_network_gets_its_norm_locally_too():
    net = nn.Sequential(nn.Linear(4, 6), nn.Linear(6, 2)).double()
    W = (net[1].weight @ net[0].weight).detach()
    exact = float(torch.linalg.matrix_norm(W, 2))
    loc = lipsdp_local(net, Ball(0.0, 1.0))
    assert exact <= loc.value <= exact * (1 + 1e-9)


def test_local_bound_closes_the_bracket_at_small_radii():
    """Against PGD on the same ball: at radius 1e-2 around a point of a 10-64-64-5 ReLU net the
    certified local bound is within 10% of the lower bound (measured 1.03), while the global LipSDP
    bound is more than twice it (measured 2.6x)."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 5))
    c = torch.randn(10)
    b = bracket(net, domain=Ball(c, 1e-2), methods=["lipsdp-neuron", "lipsdp-local", "pgd"])
    lo, loc, glob = b["pgd"].value, b["lipsdp-local"].value, b["lipsdp-neuron"].value
    assert lo <= loc <= 1.1 * lo, (lo, loc)
    assert glob > 2 * lo
    assert b.best_local_upper == loc


def test_bracket_runs_the_local_method_by_default_on_a_domain():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Linear(6, 2))
    b = bracket(net, domain=Ball(0.0, 0.5))
    assert [r.method for r in b.results] == ["spectral-product", "lipsdp-neuron", "lipsdp-local", "pgd",
                                             "paper-estimator"]
    assert b["pgd"].value <= b["lipsdp-local"].value <= b["lipsdp-neuron"].value
    assert b["pgd"].details["on_domain"] is True


def test_soundness_check_compares_domain_lower_bounds_with_the_local_upper_bound():
    up = BoundResult("lipsdp-local", "certified-local-upper", 1.0, 0.0)
    with pytest.raises(SoundnessError):
        Bracket([up, BoundResult("pgd", "lower", 1.5, 0.0, details={"on_domain": True})])
    # a lower bound found outside the domain may exceed a local upper bound
    Bracket([up, BoundResult("power-iteration", "lower", 1.5, 0.0)])


# ------------------------------------------------------------------ per-neuron slopes in the engine
def _chain(seed, widths):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((b, a)) for a, b in zip(widths[:-1], widths[1:])]


@pytest.mark.parametrize("solver", ["BARRIER", "CLARABEL", "EIGOPT"])
def test_per_neuron_slopes_equal_to_the_layer_give_the_layer_bound(solver):
    Ws = _chain(0, [4, 7, 5, 2])
    per_layer = [(0.0, 1.0), (0.1, 1.0)]
    per_neuron = [(np.zeros(7), np.ones(7)), (np.full(5, 0.1), np.ones(5))]
    a = verify_certificate(Ws, per_layer, solve_lipsdp(Ws, per_layer, solver=solver)[0])["value"]
    b = verify_certificate(Ws, per_neuron, solve_lipsdp(Ws, per_neuron, solver=solver)[0])["value"]
    assert abs(a / b - 1) <= 1e-6, (a, b)


@pytest.mark.parametrize("seed", range(4))
def test_point_intervals_are_certified_and_agree_across_solvers(seed):
    """Mixed [0, 0] / [1, 1] / [0, 1] neurons: BARRIER (point multipliers fixed) and Clarabel agree
    to 1e-3, both verified, and both are at least the largest ||W2 D2 W1 D1 W0|| over the activation
    patterns the intervals allow (the exact constant of the chain with these slopes is one of them)."""
    rng = np.random.default_rng(seed)
    Ws = _chain(seed, [4, 8, 6, 3])
    masks = [rng.integers(0, 3, 8), rng.integers(0, 3, 6)]  # 0 off, 1 on, 2 either

    def sl(m):
        return np.where(m == 1, 1.0, 0.0), np.where(m == 0, 0.0, 1.0)

    slopes = [sl(m) for m in masks]
    vals = {s: verify_certificate(Ws, slopes, solve_lipsdp(Ws, slopes, solver=s)[0])["value"]
            for s in ("BARRIER", "CLARABEL")}
    assert abs(vals["BARRIER"] / vals["CLARABEL"] - 1) <= 1e-3, vals
    best = 0.0
    free = [np.flatnonzero(m == 2) for m in masks]
    for _ in range(2000):
        ds = []
        for m, f in zip(masks, free):
            d = (m == 1).astype(float)
            d[f] = rng.integers(0, 2, f.size)
            ds.append(np.diag(d))
        best = max(best, np.linalg.norm(Ws[2] @ ds[1] @ Ws[1] @ ds[0] @ Ws[0], 2))
    assert best <= min(vals.values()), (best, vals)


_LOCAL_ACTS = {"relu": nn.ReLU, "leaky2": lambda: nn.LeakyReLU(2.0), "leaky": lambda: nn.LeakyReLU(0.1),
               "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU, "elu": nn.ELU}


@st.composite
def mixed_chains(draw):
    """Dense chains with any supported activation, an optional leading activation, merged
    (consecutive) activations and consecutive Linear layers, from a drawn seed."""
    n = draw(st.integers(1, 4))
    g = torch.Generator().manual_seed(draw(st.integers(0, 10_000)))
    parts: list[nn.Module] = []
    act = st.sampled_from(sorted(_LOCAL_ACTS))
    if draw(st.booleans()):
        parts.append(_LOCAL_ACTS[draw(act)]())
    width = n
    for _ in range(draw(st.integers(1, 3))):
        h = draw(st.integers(1, 6))
        lin = nn.Linear(width, h).double()
        with torch.no_grad():
            lin.weight.copy_(torch.randn(h, width, generator=g, dtype=torch.float64) / math.sqrt(width))
            lin.bias.copy_(torch.randn(h, generator=g, dtype=torch.float64))
        parts.append(lin)
        for _ in range(draw(st.integers(0, 2))):  # 0: consecutive Linear layers; 2: merged activations
            parts.append(_LOCAL_ACTS[draw(act)]())
        width = h
    parts.append(nn.Linear(width, 2).double())
    return nn.Sequential(*parts), n, g


@settings(max_examples=20)
@given(c=mixed_chains(), log_r=st.floats(-2, 0.5), ball=st.booleans())
def test_local_bound_covers_the_jacobian_for_every_activation_layout(c, log_r, ball):
    """Zero violations of sampled ||J(x)|| <= certified local bound, for every supported activation,
    merged activations, consecutive Linear layers and a leading activation."""
    net, n, g = c
    centre = torch.randn(n, generator=g, dtype=torch.float64)
    r = 10.0 ** log_r
    dom = Ball(centre, r) if ball else Box(centre - r, centre + r)
    loc = lipsdp_local(net, dom, (n,))
    xs = dom.sample(256, (n,), g)
    worst = float(_jac_norms(net, xs).max())
    target(worst / max(loc.value, 1e-300), label="tightness")
    assert worst <= loc.value, (worst, loc.value, loc.status)
