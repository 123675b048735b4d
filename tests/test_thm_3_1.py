"""Theorem 3.1 (decoder gradient Lipschitz in the input): property tests, soundness of the certified
components, the paper's bound against its witness, mutation tests, and an end-to-end check."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import torch
from hypothesis import given, settings, target
from hypothesis import strategies as st

from lipbound.claims import Fixtures
from lipbound.claims._ledger import Claim
from lipbound.claims._runner import check_claim
from lipbound.claims._shared import gradient_lipschitz as GL
from lipbound.claims.thm_3_1 import evaluators as T
from lipbound.claims.thm_3_1.statement import STATEMENT
from lipbound.claims.thm_3_1.proof import PROOFS
from strategies import autoencoder_cases

CLAIM = Claim(STATEMENT, T.EVALUATORS, PROOFS)


@st.composite
def smooth_cases(draw):
    case = draw(autoencoder_cases())
    case["activation"] = draw(st.sampled_from(GL.SMOOTH_ACTIVATIONS))
    case["B"] = case["input_scale"]
    return case


@settings(max_examples=12)
@given(case=smooth_cases())
def test_our_bound_holds(case):
    out = T.EVALUATORS["our-bound"].evaluate(case)
    target(out.ratio, label="sampled ratio / our bound")
    assert out.ok, out.counterexample
    assert out.ratio <= 1 + GL.GRADLIP_RTOL


@settings(max_examples=8)
@given(case=smooth_cases())
def test_certified_lipschitz_constants_are_upper_bounds(case):
    """L_Ei, L_Dj (certified) are never below a sampled Jacobian norm (a lower bound of the true constant)."""
    model = GL.build_case(case)
    rng = np.random.default_rng(case["input_seed"])
    for mod in list(model.encoders) + list(model.decoders):
        n = mod.net[0].in_features
        lip = GL.mlp_lipschitz(mod)
        for _ in range(5):
            v = torch.from_numpy(3 * rng.standard_normal(n))
            jac = torch.func.jacrev(lambda t: mod(t.reshape(1, -1)).reshape(-1))(v).detach().numpy()
            assert np.linalg.norm(jac, 2) <= lip


def test_gelu_slope_bound_is_rounded_up():
    """max |GELU'| = Phi(sqrt 2) + sqrt 2 phi(sqrt 2) = 1.12890..., computed in 50 digits; the slope bound
    the certified constants use (lipbound.bounds.slope_interval) is above it."""
    from lipbound.bounds import slope_interval

    lo, hi = slope_interval(torch.nn.GELU())
    gelu_max = max(abs(lo), abs(hi))
    with mpmath.workdps(50):
        s = mpmath.sqrt(2)
        exact = mpmath.ncdf(s) + s * mpmath.npdf(s)
        assert exact <= gelu_max
        assert abs(mpmath.ncdf(-s) - s * mpmath.npdf(-s)) < exact
    x = torch.linspace(-8, 8, 200001, dtype=torch.float64, requires_grad=True)
    (d,) = torch.autograd.grad(torch.nn.functional.gelu(x).sum(), x)
    assert float(d.abs().max()) <= gelu_max


def test_sampled_ratio_is_a_real_difference_quotient():
    """The reported ratio is recomputed from the reported pair, independently of the search."""
    case = {**T.WITNESS_BIG_BIAS}
    a = GL.analyse(case, "decoder")["per"][0]
    x, y = (np.array(v) for v in a["pair"])

    def g(v):  # -2 (x - D(x)) dD/dtheta, D(z) = v2 tanh(W1 z + b1) + c2 at W1 = 1, b1 = 0
        t = math.tanh(v[0])
        r = v[0] - (0.1 * t + 100.0)
        return -2 * r * np.array([0.1 * (1 - t * t) * v[0], 0.1 * (1 - t * t), t, 1.0])

    ratio = np.linalg.norm(g(x) - g(y)) / np.linalg.norm(x - y)
    assert math.isclose(ratio, a["ratio"], rel_tol=1e-8)


def test_paper_bound_fails_on_witness_independently():
    """mpmath, 50 digits: the quotient at (0, 1/1000) is ~201, above the paper's formula with generous components."""
    with mpmath.workdps(50):
        def g(v):
            t = mpmath.tanh(v)
            r = v - (mpmath.mpf(1) / 10 * t + 100)
            return [-2 * r * c for c in (mpmath.mpf(1) / 10 * (1 - t * t) * v, mpmath.mpf(1) / 10 * (1 - t * t), t, 1)]
        h = mpmath.mpf(1) / 1000
        ratio = mpmath.sqrt(sum((p - q) ** 2 for p, q in zip(g(h), g(mpmath.mpf(0))))) / h
        paper_generous = 2 * (2 + 2 * mpmath.mpf(1) / 10 + 2)  # G <= 2, L_gradD <= 2: larger than the true ones
        assert ratio > 10 * paper_generous
    out = T.EVALUATORS["paper-bound"].evaluate(T.WITNESS_BIG_BIAS)
    assert not out.ok and out.ratio > 10
    assert T.EVALUATORS["our-bound"].evaluate(T.WITNESS_BIG_BIAS).ok


SMALL = {"fusion": "concat", "M": 2, "in_dims": [3, 2], "latent_dims": [2, 3], "hidden": [4],
         "activation": "tanh", "init_seed": 1, "input_seed": 2, "input_scale": 1.0, "B": 1.0}


def test_mutation_residual_bound_replaced_by_B(monkeypatch):
    """Mutation: bounding the residual by B (the paper's step) must make our check fail on the witness."""
    real = GL._common

    def mutated(model, b):
        c = real(model, b)
        c["R"] = [b for _ in c["R"]]
        return c

    GL._analyse.cache_clear()
    monkeypatch.setattr(GL, "_common", mutated)
    try:
        assert not T.EVALUATORS["our-bound"].evaluate(T.WITNESS_BIG_BIAS).ok
    finally:
        GL._analyse.cache_clear()


@pytest.mark.parametrize("scale", [0.0, 0.05])
def test_mutation_wrong_latent_constant(monkeypatch, scale):
    """Mutation: a too-small L_z (dropping the encoder constants) must be caught on some case."""
    real = GL.latent_constants

    def mutated(model, b):
        c = real(model, b)
        c["L_z"] *= scale
        return c

    GL._analyse.cache_clear()
    monkeypatch.setattr(GL, "latent_constants", mutated)
    try:
        cases = [T.WITNESS_BIG_BIAS, SMALL] + [GL.sample_case(np.random.default_rng([7, k])) for k in range(6)]
        assert any(not T.EVALUATORS["our-bound"].evaluate(c).ok for c in cases)
    finally:
        GL._analyse.cache_clear()


def test_relu_is_not_drawn():
    assert "relu" not in GL.SMOOTH_ACTIVATIONS
    assert all(GL.sample_case(np.random.default_rng(k))["activation"] != "relu" for k in range(30))


def test_proofs():
    assert PROOFS["our-bound"]().proved is True
    assert PROOFS["paper-bound"]().proved is False


def test_check_claim_end_to_end():
    rows = {r.reading: r for r in check_claim(CLAIM, examples=4, with_fixed=False)}
    assert rows["our-bound"].status == "proved"
    assert rows["paper-bound"].status == "refuted"
    assert rows["paper-bound"].counterexample is not None


def test_trained_models():
    """The zoo's smooth MLP models (trained on first use, cached): our bound holds with B = 3."""
    cases = GL.trained_cases(Fixtures())
    assert {c["zoo"] for c in cases} == {"sum-tanh", "attention-tanh", "concat3-tanh"}
    for case in cases:
        assert T.EVALUATORS["our-bound"].evaluate(case).ok, case
