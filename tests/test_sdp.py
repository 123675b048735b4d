"""LipSDP-Neuron / LipSDP-Layer and the post-solve verification (lipbound.bounds._sdp).

Soundness checks compare against exact constants of one-hidden-layer ReLU networks (max over all
activation patterns) and the spectral product; the verifier is attacked with perturbed multipliers
and a solver that fails or returns garbage.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lipbound.bounds import CertificateError, build_lmi, lipsdp, spectral_product, verify_certificate
from lipbound.bounds import _sdp

seeds = st.integers(min_value=0, max_value=2**31 - 2)

# Exact constants are computed in float64 from a few SVDs of <= 10 x 10 matrices: relative error
# below 1e-13. Comparisons allow RTOL = 1e-12, far below any real violation (a wrong factor,
# a skipped inflation of a solver's rho with tolerance 1e-8) and far above rounding.
RTOL = 1e-12


def relu_net(seed: int, n0: int, h: int, m: int) -> nn.Sequential:
    """One-hidden-layer ReLU net with W1 of full row rank (h <= n0), so all 2^h patterns occur."""
    g = torch.Generator().manual_seed(seed)
    net = nn.Sequential(nn.Linear(n0, h), nn.ReLU(), nn.Linear(h, m)).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.randn(h, n0, generator=g, dtype=torch.float64))
        net[2].weight.copy_(torch.randn(m, h, generator=g, dtype=torch.float64))
    assert int(torch.linalg.matrix_rank(net[0].weight)) == h
    return net


def exact_relu_1hidden(net: nn.Sequential) -> float:
    """max over D in {0,1}^h of ||W2 D W1||_2: the exact constant when every pattern is realizable
    (W1 full row rank: W1 x = b has a solution for every sign pattern of the pre-activations)."""
    W1 = net[0].weight.detach().numpy()
    W2 = net[2].weight.detach().numpy()
    best = 0.0
    for pat in itertools.product([0.0, 1.0], repeat=W1.shape[0]):
        best = max(best, float(np.linalg.norm(W2 @ (np.array(pat)[:, None] * W1), 2)))
    return best


@settings(max_examples=8)
@given(seed=seeds, n0=st.integers(2, 6), m=st.integers(1, 4), data=st.data())
def test_lipsdp_neuron_between_exact_and_product(seed, n0, m, data):
    h = data.draw(st.integers(1, n0))
    net = relu_net(seed, n0, h, m)
    exact = exact_relu_1hidden(net)
    r = lipsdp(net)
    sp, _ = spectral_product(net)
    assert r.kind == "certified-upper"
    assert exact <= r.value * (1 + RTOL), (exact, r.value)
    # the SDP's feasible set contains T = the product's certificate, so it is at most the product
    # (up to the verification's inflation, relative ~1e-12)
    assert r.value <= sp * (1 + 1e-6), (r.value, sp)
    rl = lipsdp(net, form="layer")
    assert exact <= rl.value * (1 + RTOL) and r.value <= rl.value * (1 + 1e-6)


@pytest.mark.slow
@settings(max_examples=1000)
@given(seed=seeds, n0=st.integers(2, 8), m=st.integers(1, 4), data=st.data())
def test_lipsdp_neuron_sound_many(seed, n0, m, data):
    h = data.draw(st.integers(1, n0))
    net = relu_net(seed, n0, h, m)
    assert exact_relu_1hidden(net) <= lipsdp(net).value * (1 + RTOL)


def test_verifier_inflates_solver_rho_and_is_exactly_feasible():
    net = relu_net(1, 5, 4, 3)
    Ws = [net[0].weight, net[2].weight]
    ts, rho_solver, _ = _sdp.solve_lipsdp(Ws, [(0.0, 1.0)], solver="CLARABEL")
    cert = verify_certificate(Ws, [(0.0, 1.0)], ts)
    M = build_lmi(Ws, [(0.0, 1.0)], [np.clip(t, 0, None) for t in ts], cert["rho_cert"])
    assert np.linalg.eigvalsh(M)[-1] <= -cert["error_bound"]
    assert cert["rho_cert"] > cert["rho0"]
    # at the un-inflated rho0 the matrix is only feasible up to rounding: its top eigenvalue is not
    # certifiably negative (that is why the inflation is needed)
    M0 = build_lmi(Ws, [(0.0, 1.0)], [np.clip(t, 0, None) for t in ts], cert["rho0"])
    assert np.linalg.eigvalsh(M0)[-1] > -cert["error_bound"]


def test_mutation_perturbed_multipliers_are_caught():
    """A 'certificate' reporting the solver's rho for perturbed multipliers would be unsound: the
    verifier must either reject them or return a rho at which the LMI is really feasible."""
    net = relu_net(3, 6, 5, 2)
    Ws = [net[0].weight, net[2].weight]
    ts, rho_solver, _ = _sdp.solve_lipsdp(Ws, [(0.0, 1.0)], solver="CLARABEL")
    rng = np.random.default_rng(0)
    caught = 0
    for _ in range(20):
        bad = [t * rng.uniform(0.5, 1.5, size=t.shape) for t in ts]
        # the unsound shortcut: the solver's rho with the perturbed multipliers
        lam = np.linalg.eigvalsh(build_lmi(Ws, [(0.0, 1.0)], bad, rho_solver))[-1]
        try:
            cert = verify_certificate(Ws, [(0.0, 1.0)], bad)
        except CertificateError:
            caught += 1
            continue
        lam_c = np.linalg.eigvalsh(build_lmi(Ws, [(0.0, 1.0)], bad, cert["rho_cert"]))[-1]
        assert lam_c <= -cert["error_bound"]
        if lam > 0:  # the shortcut would have been infeasible; the verifier raised rho
            caught += 1
            assert cert["rho_cert"] > rho_solver
    assert caught > 0  # the shortcut is wrong for perturbed multipliers, and we noticed


def test_negative_multipliers_are_clipped_and_infeasible_rejected():
    W0, W1 = np.eye(2), np.ones((1, 2))
    with pytest.raises(CertificateError, match="not negative definite"):
        verify_certificate([W0, W1], [(0.0, 1.0)], [np.array([-5.0, -5.0])])
    with pytest.raises(CertificateError, match="NaN"):
        verify_certificate([W0, W1], [(0.0, 1.0)], [np.array([np.nan, 1.0])])


def test_solver_failure_falls_back(monkeypatch):
    net = relu_net(2, 4, 3, 2)

    def boom(*a, **k):
        raise RuntimeError("simulated solver crash")

    monkeypatch.setattr(_sdp, "solve_lipsdp", boom)
    r = lipsdp(net)
    assert r.kind == "certified-upper" and r.solver == "none"
    assert "fell back to the spectral product" in r.status and "simulated solver crash" in r.status
    assert r.value == spectral_product(net)[0]


def test_solver_garbage_is_not_certified(monkeypatch):
    """A solver returning tiny multipliers and a tiny rho (garbage) must not yield that rho."""
    net = relu_net(4, 4, 3, 2)

    def garbage(Ws, slopes, **k):
        return [np.full(W.shape[0], 1e-6) for W in Ws[:-1]], 1e-9, "optimal"

    monkeypatch.setattr(_sdp, "solve_lipsdp", garbage)
    r = lipsdp(net, solvers=["CLARABEL", "SCS"])
    assert "verification failed" in r.status and "fell back" in r.status
    assert r.value >= exact_relu_1hidden(net)


def test_first_solver_fails_second_used(monkeypatch):
    net = relu_net(5, 4, 3, 2)
    real = _sdp.solve_lipsdp

    def flaky(Ws, slopes, *, solver, **k):
        if solver == "CLARABEL":
            raise RuntimeError("simulated")
        return real(Ws, slopes, solver=solver, **k)

    monkeypatch.setattr(_sdp, "solve_lipsdp", flaky)
    r = lipsdp(net, solvers=["CLARABEL", "SCS"])
    assert r.solver == "SCS" and "CLARABEL: solve failed" in r.status
    assert exact_relu_1hidden(net) <= r.value * (1 + RTOL)


def test_low_rank_reduction_same_bound():
    """A rank-2 first layer on 8 inputs: the reduced SDP is as tight as the full one (the constant
    is unchanged by the reduction) and both are verified on the original weights."""
    g = torch.Generator().manual_seed(0)
    net = nn.Sequential(nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 2)).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.randn(4, 2, generator=g, dtype=torch.float64)
                            @ torch.randn(2, 8, generator=g, dtype=torch.float64))
    red, full = lipsdp(net, reduce=True), lipsdp(net, reduce=False)
    assert red.details["reduced_input_dim"] == 2
    assert abs(red.value - full.value) <= 1e-4 * full.value  # both solved to ~1e-8; 1e-4 is loose


@pytest.mark.parametrize("act", [nn.Tanh(), nn.LeakyReLU(0.2), nn.GELU(), nn.Sigmoid(), nn.ELU()])
def test_other_activations_two_hidden_layers(act):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 6), act, nn.Linear(6, 5), act, nn.Linear(5, 2)).double()
    r = lipsdp(net)
    sp, _ = spectral_product(net)
    assert r.kind == "certified-upper" and "verified" in r.status
    assert r.value <= sp * (1 + 1e-6)
    from lipbound.bounds import jacobian_power_iteration

    lo, _ = jacobian_power_iteration(net, torch.randn(64, 4, dtype=torch.float64))
    assert float(lo.max()) <= r.value
