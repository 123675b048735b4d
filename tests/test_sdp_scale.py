"""The first-order LipSDP solver (``EIGOPT``, lipbound.bounds._eigopt) and the block-Cholesky verifier.

Tightness is measured against the interior-point solve of the same SDP (Clarabel, tolerance 1e-8);
soundness against exact constants (linear chains, one-hidden-layer ReLU networks with every
activation pattern realizable) and sampled lower bounds; the verifiers against each other and
against perturbed or garbage multipliers.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lipbound.bounds import (
    CertificateError,
    bracket,
    build_lmi,
    jacobian_power_iteration,
    lipsdp,
    sequential_multipliers,
    solve_eigopt,
    spectral_product,
    verify_certificate,
    verify_certificate_banded,
)
from lipbound.bounds import _eigopt
from lipbound.bounds._network import dense_chain, to_network
from lipbound.errors import NonFiniteError, ShapeMismatchError

seeds = st.integers(min_value=0, max_value=2**31 - 2)

# Exact constants below come from float64 SVDs of <= 8 x 8 matrices (relative error < 1e-13), and a
# certified value is rounded up after an inflation of ~1e-12: RTOL = 1e-12 separates rounding from
# any real violation.
RTOL = 1e-12
# EIGOPT vs Clarabel on the same SDP. Both values are certified upper bounds on sqrt(rho*), Clarabel
# within ~1e-8 of it; EIGOPT stops when its smoothed value (smoothing 1e-4 rho) decreases by less than
# 1e-6 over 10 iterations, and measured gaps are 1e-7..2e-6. TIGHT = 1e-3 is 500x that and 10x below
# the 1% target; the warm start alone is typically 10-40% above the optimum, so a solver that
# does not optimise fails it.
TIGHT = 1e-3
# A certified value can only be below Clarabel's certified value by Clarabel's own excess over the
# optimum (~1e-8 relative after verification): 1e-6 allows that, and catches an unsound verifier.
BELOW = 1e-6


def mlp(seed: int, dims: list[int], act=nn.ReLU) -> nn.Sequential:
    """A float64 MLP with standard normal weights scaled by 1/sqrt(fan-in), filled from ``seed``."""
    g = torch.Generator().manual_seed(seed)
    layers: list[nn.Module] = []
    for i in range(len(dims) - 1):
        lin = nn.Linear(dims[i], dims[i + 1]).double()
        with torch.no_grad():
            lin.weight.copy_(torch.randn(dims[i + 1], dims[i], generator=g, dtype=torch.float64) / dims[i] ** 0.5)
        layers.append(lin)
        if i < len(dims) - 2 and act is not None:
            layers.append(act())
    return nn.Sequential(*layers)


def exact_relu_1hidden(net: nn.Sequential) -> float:
    """max over D in {0,1}^h of ||W2 D W1||_2 (exact when W1 has full row rank: every pattern occurs)."""
    W1, W2 = net[0].weight.detach().numpy(), net[2].weight.detach().numpy()
    assert np.linalg.matrix_rank(W1) == W1.shape[0]
    return max(float(np.linalg.norm(W2 @ (np.array(p)[:, None] * W1), 2))
               for p in itertools.product([0.0, 1.0], repeat=W1.shape[0]))


ACTS = {"relu": nn.ReLU, "tanh": nn.Tanh, "leaky": lambda: nn.LeakyReLU(0.1)}


@settings(max_examples=6)
@given(seed=seeds, n0=st.integers(2, 6), widths=st.lists(st.integers(2, 6), min_size=1, max_size=3),
       m=st.integers(1, 3), act=st.sampled_from(sorted(ACTS)))
def test_eigopt_matches_clarabel(seed, n0, widths, m, act):
    net = mlp(seed, [n0, *widths, m], ACTS[act])
    ref = lipsdp(net, solvers=["CLARABEL"])
    ours = lipsdp(net, solvers=["EIGOPT"])
    assert ref.solver == "CLARABEL" and ours.solver == "EIGOPT" and ours.kind == "certified-upper"
    assert ours.value >= ref.value * (1 - BELOW), (ours.value, ref.value)
    assert ours.value <= ref.value * (1 + TIGHT), (ours.value, ref.value)


def test_eigopt_layer_form_matches_clarabel():
    net = mlp(11, [5, 7, 6, 2])
    ref, ours = lipsdp(net, form="layer", solvers=["CLARABEL"]), lipsdp(net, form="layer", solvers=["EIGOPT"])
    assert ref.value * (1 - BELOW) <= ours.value <= ref.value * (1 + TIGHT)
    assert lipsdp(net, solvers=["EIGOPT"]).value <= ours.value * (1 + 1e-9)  # neuron <= layer


def test_eigopt_improves_on_its_warm_start():
    """The optimiser must move: on this net the warm start is far (> 10%) above the optimum."""
    net = mlp(3, [6, 8, 8, 2])
    Ws, slopes, _ = dense_chain(to_network(net))
    start = verify_certificate(Ws, slopes, sequential_multipliers(Ws, slopes))["value"]
    ours = lipsdp(net, solvers=["EIGOPT"]).value
    assert ours < start / 1.1, (ours, start)


@settings(max_examples=6)
@given(seed=seeds, n0=st.integers(2, 6), m=st.integers(1, 3), data=st.data())
def test_eigopt_sound_against_exact_relu(seed, n0, m, data):
    h = data.draw(st.integers(1, n0))
    net = mlp(seed, [n0, h, m])
    exact = exact_relu_1hidden(net)
    r = lipsdp(net, solvers=["EIGOPT"])
    rb = lipsdp(net, form="decomposed")
    sp, _ = spectral_product(net)
    for v in (r.value, rb.value):
        assert exact <= v * (1 + RTOL), (exact, v)
        assert v <= sp * (1 + 1e-9)  # the warm start is at most the product; we only descend


@settings(max_examples=5)
@given(seed=seeds, dims=st.lists(st.integers(1, 5), min_size=3, max_size=4))
def test_linear_chain_sound(seed, dims):
    """Two or three Linear layers without activation: dense_chain puts slope [1, 1] between them;
    the SDP bound must be >= the exact constant ||W_l ... W_0|| (attained only as T -> infinity)."""
    net = mlp(seed, dims, act=None)
    exact = float(np.linalg.norm(np.linalg.multi_dot([l.weight.detach().numpy() for l in net][::-1]), 2))
    for form in ("neuron", "decomposed"):
        r = lipsdp(net, form=form, solvers=["EIGOPT"])
        assert r.kind == "certified-upper"
        assert exact <= r.value * (1 + RTOL), (form, exact, r.value)


def test_deep_net_above_sampled_lower_bound_and_verifiers_agree():
    net = mlp(5, [6, 10, 10, 10, 10, 3], nn.Tanh)
    dense = lipsdp(net, solvers=["EIGOPT"], verify="dense")
    banded = lipsdp(net, solvers=["EIGOPT"], verify="banded")
    assert dense.details["verification"] == "dense" and banded.details["verification"] == "banded"
    # same multipliers (deterministic solver), two independent certificates of them
    assert abs(banded.value / dense.value - 1) <= 1e-9
    x = torch.randn(256, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 3
    lo, _ = jacobian_power_iteration(net, x)
    assert float(lo.max()) <= min(dense.value, banded.value)
    assert dense.value <= spectral_product(net)[0]


def test_banded_verifier_on_perturbed_multipliers_is_dense_feasible():
    """Whatever rho the block-Cholesky verifier certifies must make M(rho) <= 0 by an independent
    dense eigenvalue check (up to that check's own rounding bound)."""
    net = mlp(7, [5, 6, 6, 2])
    Ws, slopes, _ = dense_chain(to_network(net))
    ts, _, _, _ = solve_eigopt(Ws, slopes)
    rng = np.random.default_rng(0)
    certified = 0
    for _ in range(15):
        bad = [t * rng.uniform(0.3, 1.7, size=t.shape) for t in ts]
        try:
            cert = verify_certificate_banded(Ws, slopes, bad)
        except CertificateError:
            continue
        certified += 1
        M = build_lmi(Ws, slopes, bad, cert["rho_cert"])
        Mabs = build_lmi(Ws, slopes, bad, cert["rho_cert"], absolute=True)
        err = 8 * M.shape[0] * np.finfo(float).eps * np.linalg.norm(Mabs)
        assert np.linalg.eigvalsh(M)[-1] <= err
        # and it is not far above the dense verifier's value for the same multipliers
        assert cert["value"] <= verify_certificate(Ws, slopes, bad)["value"] * (1 + 1e-9)
    assert certified > 0


def test_banded_verifier_rejects_infeasible_and_bad_multipliers():
    W0, W1 = np.eye(2), np.ones((1, 2))
    with pytest.raises(CertificateError, match="not negative definite"):
        verify_certificate_banded([W0, W1], [(0.0, 1.0)], [np.array([0.1, 0.1])])
    with pytest.raises(CertificateError, match="NaN"):
        verify_certificate_banded([W0, W1], [(0.0, 1.0)], [np.array([np.nan, 1.0])])
    with pytest.raises(CertificateError, match="widths"):
        verify_certificate_banded([W0, W1], [(0.0, 1.0)], [np.array([1.0])])


def test_nan_weights_are_refused():
    net = mlp(1, [3, 4, 2])
    with torch.no_grad():
        net[0].weight[0, 0] = float("nan")
    with pytest.raises(NonFiniteError):
        lipsdp(net, solvers=["EIGOPT"])
    W = net[0].weight.detach().numpy()
    with pytest.raises(NonFiniteError, match="W_0"):
        solve_eigopt([W, np.ones((2, 4))], [(0.0, 1.0)])
    with pytest.raises(ShapeMismatchError):
        solve_eigopt([np.ones((4, 3)), np.ones((2, 5))], [(0.0, 1.0)])


def test_failed_eigopt_falls_back(monkeypatch):
    net = mlp(2, [4, 3, 2])

    def boom(*a, **k):
        raise RuntimeError("simulated divergence")

    monkeypatch.setattr(_eigopt, "solve_eigopt", boom)
    r = lipsdp(net, form="decomposed")
    assert r.solver == "none" and "EIGOPT: solve failed" in r.status and "simulated divergence" in r.status
    assert r.value == spectral_product(net)[0]


def test_garbage_eigopt_multipliers_not_certified(monkeypatch):
    net = mlp(4, [4, 3, 2])

    def garbage(Ws, slopes, **k):
        return [np.full(W.shape[0], 1e-6) for W in Ws[:-1]], 1e-9, "converged", {
            "iterations": 0, "evaluations": 0, "rho_start": 1e-9}

    monkeypatch.setattr(_eigopt, "solve_eigopt", garbage)
    for verify in ("dense", "banded"):
        r = lipsdp(net, solvers=["EIGOPT"], verify=verify)
        assert "verification failed" in r.status and r.solver == "none"
        assert r.value >= exact_relu_1hidden(net)


def test_bracket_decomposed_method_and_bad_options():
    net = mlp(6, [3, 4, 4, 2])
    b = bracket(net, methods=["lipsdp-decomposed"])
    (r,) = b.results
    assert r.method == "lipsdp-decomposed" and r.solver == "EIGOPT" and r.details["verification"] == "banded"
    with pytest.raises(ValueError, match="form"):
        lipsdp(net, form="diagonal")
    with pytest.raises(ValueError, match="verify"):
        lipsdp(net, verify="trust-me")


@pytest.mark.slow
def test_eigopt_matches_clarabel_mid_size():
    """A 100-60-10 ReLU network (reduced LMI side 120, Clarabel's range): within 1% (the issue's
    target; measured gap ~1e-6)."""
    net = mlp(0, [100, 60, 10])
    ref, ours = lipsdp(net, solvers=["CLARABEL"]), lipsdp(net, solvers=["EIGOPT"])
    assert ref.value * (1 - BELOW) <= ours.value <= ref.value * (1 + 1e-2)


@pytest.mark.slow
@settings(max_examples=40)
@given(seed=seeds, n0=st.integers(2, 8), m=st.integers(1, 4), data=st.data())
def test_eigopt_sound_many(seed, n0, m, data):
    h = data.draw(st.integers(1, n0))
    net = mlp(seed, [n0, h, m])
    assert exact_relu_1hidden(net) <= lipsdp(net, form="decomposed").value * (1 + RTOL)
