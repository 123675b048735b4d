"""Residual blocks x + f(x) (lipbound.models.Residual) in the bounds.

Ground truth: a residual block whose body is linear (LeakyReLU(1) is the identity, so its slope
interval is the point [1, 1]) is the linear map I + V_1 V_0, whose norm is exact; the LipSDP rewrite
(a wider chain carrying x beside the body, every matrix a copy of I or of a weight) must give that
norm to 1e-9 relatively (a float64 SVD of a product of a few small matrices errs by ~1e-15). For
ReLU/tanh bodies the evaluated lower bounds must not exceed the certified ones, and LipSDP must not
exceed the spectral product's 1 + Lip(f) rule.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings, target
from hypothesis import strategies as st
from torch import nn

from lipbound.bounds import Ball, Box, bracket, lipsdp, lipsdp_local, spectral_product, to_network
from lipbound.bounds._accept import engine_forward
from lipbound.errors import ShapeMismatchError, UnsupportedModuleError
from lipbound.models import Residual


def _lin(a: int, b: int, g: torch.Generator) -> nn.Linear:
    lin = nn.Linear(a, b).double()
    with torch.no_grad():
        lin.weight.copy_(torch.randn(b, a, generator=g, dtype=torch.float64) / math.sqrt(a))
        lin.bias.copy_(torch.randn(b, generator=g, dtype=torch.float64))
    return lin


@settings(max_examples=20)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 6), h=st.integers(1, 8), blocks=st.integers(1, 3))
def test_linear_residual_blocks_get_the_exact_norm(seed, n, h, blocks):
    """prod_b (I + V1_b V0_b): LipSDP's rewrite is linear and its norm is exact."""
    g = torch.Generator().manual_seed(seed)
    mods, exact = [], torch.eye(n, dtype=torch.float64)
    for _ in range(blocks):
        v0, v1 = _lin(n, h, g), _lin(h, n, g)
        mods.append(Residual(nn.Sequential(v0, nn.LeakyReLU(1.0), v1)))
        exact = (torch.eye(n, dtype=torch.float64) + v1.weight @ v0.weight) @ exact
    net = nn.Sequential(*mods)
    want = float(torch.linalg.matrix_norm(exact.detach(), 2))
    r = lipsdp(net, (n,))
    assert want <= r.value <= want * (1 + 1e-9), (want, r.value)
    assert r.value <= spectral_product(net, (n,))[0] * (1 + 1e-12)


@settings(max_examples=8)
@given(seed=st.integers(0, 10_000), act=st.sampled_from([nn.ReLU, nn.Tanh]))
def test_residual_nets_lower_bounds_never_exceed_lipsdp(seed, act):
    g = torch.Generator().manual_seed(seed)
    net = nn.Sequential(_lin(4, 6, g), nn.ReLU(),
                        Residual(nn.Sequential(_lin(6, 10, g), act(), _lin(10, 6, g))), nn.ReLU(),
                        Residual(nn.Sequential(_lin(6, 6, g), nn.ReLU(), _lin(6, 6, g), act(), _lin(6, 6, g))),
                        _lin(6, 2, g))
    x = torch.randn(64, 4, generator=g, dtype=torch.float64)
    b = bracket(net, inputs=x, domain=Ball(x[0], 1.0))
    up = b["lipsdp-neuron"]
    assert up.solver != "none"  # a verified SDP certificate, not the fallback
    assert max(b["power-iteration"].value, b["pgd"].value) <= up.value <= b["spectral-product"].value * (1 + 1e-9)
    with torch.no_grad():
        assert torch.allclose(engine_forward(to_network(net), x), net(x), rtol=1e-12, atol=1e-12)


def test_what_the_sdp_does_not_read_is_refused_by_name():
    g = torch.Generator().manual_seed(0)
    trailing = nn.Sequential(Residual(nn.Sequential(_lin(3, 4, g), nn.ReLU(), _lin(4, 3, g), nn.ReLU())))
    one = nn.Sequential(Residual(nn.Sequential(_lin(3, 3, g))))
    for net, word in ((trailing, "does not end with an affine layer"), (one, "one affine layer")):
        assert not to_network(net, (3,)).sdp_ready
        with pytest.raises(UnsupportedModuleError, match=word):
            lipsdp(net, (3,))
        assert [r.method for r in bracket(net, input_shape=(3,)).results] == ["spectral-product"]
    with pytest.raises(ShapeMismatchError, match="Residual"):  # x + f(x) with f: R^3 -> R^4
        to_network(nn.Sequential(Residual(nn.Sequential(_lin(3, 4, g)))), (3,))

    class Doubled(Residual):
        def forward(self, x):
            return x + 2 * self.body(x)

    with pytest.raises(UnsupportedModuleError, match="defines forward"):
        to_network(nn.Sequential(Doubled(nn.Sequential(_lin(3, 4, g), nn.ReLU(), _lin(4, 3, g)))), (3,))


def test_spectral_product_uses_one_plus_the_body():
    g = torch.Generator().manual_seed(1)
    body = nn.Sequential(_lin(3, 5, g), nn.ReLU(), _lin(5, 3, g))
    inner = spectral_product(body, (3,))[0]
    v = spectral_product(nn.Sequential(Residual(body)), (3,))[0]
    assert 1 + inner <= v <= (1 + inner) * (1 + 1e-12)


def test_local_bound_of_a_residual_net_reports_the_global_one():
    g = torch.Generator().manual_seed(2)
    net = nn.Sequential(Residual(nn.Sequential(_lin(3, 5, g), nn.ReLU(), _lin(5, 3, g))))
    loc = lipsdp_local(net, Ball(torch.zeros(3, dtype=torch.float64), 0.1))
    assert loc.kind == "certified-local-upper" and "residual" in loc.status
    assert loc.value == lipsdp(net).value


def test_an_activation_before_the_first_block_is_kept():
    """LeakyReLU(2) (slope 1 for x > 0, 2 for x < 0) before a linear residual block: on the negative
    orthant the Jacobian is 2 (I + V1 V0), so the constant is at least twice ||I + V1 V0||; the chain
    must keep the activation (an identity first layer) and LipSDP must be at least that, and at least
    the lower bound evaluated there."""
    g = torch.Generator().manual_seed(7)
    v0, v1 = _lin(3, 5, g), _lin(5, 3, g)
    net = nn.Sequential(nn.LeakyReLU(2.0), Residual(nn.Sequential(v0, nn.LeakyReLU(1.0), v1)))
    A = torch.eye(3, dtype=torch.float64) + v1.weight.detach() @ v0.weight.detach()
    at_least = 2 * float(torch.linalg.matrix_norm(A, 2))
    r = lipsdp(net, (3,))
    assert r.value >= at_least, (r.value, at_least)
    x = -torch.rand(8, 3, generator=g, dtype=torch.float64) - 0.1  # the negative orthant
    b = bracket(net, input_shape=(3,), inputs=x, methods=["lipsdp-neuron", "power-iteration"])
    assert at_least * (1 - 1e-6) <= b["power-iteration"].value <= r.value


_ACTS = {"relu": nn.ReLU, "leaky2": lambda: nn.LeakyReLU(2.0), "tanh": nn.Tanh, "gelu": nn.GELU}


@st.composite
def residual_chains(draw):
    """Random chains of width n mixing Linear layers, activations (some with slopes above 1) and
    residual blocks, with or without a leading activation, from a drawn seed."""
    n = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 10_000))
    g = torch.Generator().manual_seed(seed)
    parts = []
    if draw(st.booleans()):
        parts.append(_ACTS[draw(st.sampled_from(sorted(_ACTS)))]())
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["linear", "act", "res1", "res2"]))
        if kind == "linear":
            parts.append(_lin(n, n, g))
        elif kind == "act":
            parts.append(_ACTS[draw(st.sampled_from(sorted(_ACTS)))]())
        else:
            h = draw(st.integers(1, 5))
            a1 = _ACTS[draw(st.sampled_from(sorted(_ACTS)))]()
            body = [_lin(n, h, g), a1, _lin(h, n, g)] if kind == "res1" else \
                [_lin(n, h, g), a1, _lin(h, h, g), _ACTS[draw(st.sampled_from(sorted(_ACTS)))](), _lin(h, n, g)]
            parts.append(Residual(nn.Sequential(*body)))
    parts.append(_lin(n, 2, g))
    return nn.Sequential(*parts), n, seed


@settings(max_examples=25)
@given(c=residual_chains())
def test_random_residual_chains_never_certify_below_an_evaluated_lower_bound(c):
    """Zero violations: every lower bound (power iteration, PGD on a box; evaluated on the model)
    is at most LipSDP (no slack). LipSDP is also at most the spectral product up to 1e-4 relative:
    the SDP's optimum is at most the product, and the certified value exceeds the optimum by at most
    the barrier's stopping gap (1e-4 on rho) plus the float64 inflation (~1e-9 here); when the SDP
    gains nothing (one hidden neuron) the two meet within that."""
    net, n, seed = c
    g = torch.Generator().manual_seed(seed)
    x = 2 * torch.randn(32, n, generator=g, dtype=torch.float64)
    b = bracket(net, input_shape=(n,), inputs=x, domain=Box(-2.0, 2.0),
                methods=["spectral-product", "lipsdp-neuron", "power-iteration", "pgd"])
    up = b["lipsdp-neuron"].value
    lo = max(b["power-iteration"].value, b["pgd"].value)
    target(lo / up, label="lower / lipsdp")
    assert lo <= up, (lo, up, b["lipsdp-neuron"].status)
    assert up <= b["spectral-product"].value * (1 + 1e-4), (up, b["spectral-product"].value)
