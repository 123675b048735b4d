"""Theorem 3.2 (encoder gradient Lipschitz in the input) and the paragraph after it: property tests,
the paper's bound against its witness, the encoder-exceeds-decoder counterexamples (re-checked
independently), mutation tests and an end-to-end check."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, target
from hypothesis import strategies as st

from lipbound.claims import Fixtures
from lipbound.claims._ledger import Claim
from lipbound.claims._runner import check_claim
from lipbound.claims._shared import gradient_lipschitz as GL
from lipbound.claims.thm_3_2 import evaluators as T
from lipbound.claims.thm_3_2.statement import STATEMENT
from lipbound.claims.thm_3_2.proof import PROOFS
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


def test_paper_bound_fails_on_witness():
    out = T.EVALUATORS["paper-bound"].evaluate(T.EVALUATORS["paper-bound"].witness())
    assert not out.ok and out.ratio > 10


def _linear_grads(x: float, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Independent formulas for E(x) = w x + b, D(z) = v z + c at w = 1, b = 0, v = eps, c = 0."""
    r = x - eps * x
    return -2 * eps * r * np.array([x, 1.0]), -2 * r * np.array([x, 1.0])  # (g_E wrt w, b), (g_D wrt v, c)


def test_small_decoder_witness_independently():
    """g_E = eps g_D: the decoder constant is 1/eps times the encoder constant (numpy, no lipbound)."""
    eps = T.WITNESS_SMALL_DECODER["eps"]
    xs = np.linspace(-1, 1, 2001)
    ge = np.array([_linear_grads(x, eps)[0] for x in xs])
    gd = np.array([_linear_grads(x, eps)[1] for x in xs])
    lip_e = np.max(np.linalg.norm(np.diff(ge, axis=0), axis=1) / np.diff(xs))
    lip_d = np.max(np.linalg.norm(np.diff(gd, axis=0), axis=1) / np.diff(xs))
    assert math.isclose(lip_d, 2 * (1 - eps) * math.sqrt(5), rel_tol=1e-3)
    assert lip_e < lip_d / 50
    out = T.EVALUATORS["encoder-exceeds-decoder"].evaluate(T.WITNESS_SMALL_DECODER)
    assert not out.ok and out.counterexample["decisive"]


@settings(max_examples=6, database=None)
@given(case=smooth_cases())
def test_encoder_exceeds_decoder_outcome_is_consistent(case):
    """The reading's sides are exactly the sampled ratios of the two analyses (no hidden scaling)."""
    out = T.EVALUATORS["encoder-exceeds-decoder"].evaluate(case)
    dec, enc = GL.analyse(case, "decoder"), GL.analyse(case, "encoder")
    assert out.measured == max(p["ratio"] for p in dec["per"])
    assert out.bound == min(p["ratio"] for p in enc["per"])
    assert out.ok == (out.measured <= out.bound)


def test_encoder_exceeds_decoder_fails_on_generated_models():
    """Small inputs (B = 0.1): the decoder's bias gradient -2 r_j keeps Lip(g_D) near 2, the encoder's shrinks."""
    case = {"fusion": "sum", "M": 2, "in_dims": [2, 3], "latent_dims": [2, 2], "hidden": [3], "activation": "tanh",
            "init_seed": 3, "input_seed": 4, "input_scale": 0.1, "B": 0.1}
    out = T.EVALUATORS["encoder-exceeds-decoder"].evaluate(case)
    assert not out.ok
    assert out.measured > 1.0  # a sampled lower bound of Lip(g_D)


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
        assert not T.EVALUATORS["our-bound"].evaluate(T.EVALUATORS["paper-bound"].witness()).ok
    finally:
        GL._analyse.cache_clear()


def test_mutation_no_encoder_sensitivity(monkeypatch):
    """Mutation: L_Gz = 0 and L_z = 0 (ignoring how the encoder Jacobian and z move with x) must be caught."""
    real = GL.latent_constants

    def mutated(model, b):
        c = real(model, b)
        c["L_z"] = 0.0
        return c

    real_q = GL._max_quotient
    GL._analyse.cache_clear()
    monkeypatch.setattr(GL, "latent_constants", mutated)
    monkeypatch.setattr(GL, "_max_quotient", lambda vals, args: 0.0)
    try:
        assert not T.EVALUATORS["our-bound"].evaluate(T.EVALUATORS["paper-bound"].witness()).ok
    finally:
        monkeypatch.setattr(GL, "_max_quotient", real_q)
        GL._analyse.cache_clear()


def test_proofs():
    assert PROOFS["our-bound"]().proved is True
    assert PROOFS["paper-bound"]().proved is False
    assert PROOFS["encoder-exceeds-decoder"]().proved is False


def test_check_claim_end_to_end():
    rows = {r.reading: r for r in check_claim(CLAIM, examples=4, with_fixed=False)}
    assert rows["our-bound"].status == "proved"
    assert rows["paper-bound"].status == "refuted"
    # a tendency ("typically"): reversed cases make it not-supported, with how often it held
    ex = rows["encoder-exceeds-decoder"]
    assert ex.status == "not-supported" and ex.kind == "tendency"
    held = ex.counterexample["held_on"]
    assert set(held["by_source"]) == {"sampled"} and held["cases"] == 4 and held["held"] < 4
    assert "of 4 sampled cases" in ex.detail


def test_trained_models():
    for case in GL.trained_cases(Fixtures()):
        assert T.EVALUATORS["our-bound"].evaluate(case).ok, case


@pytest.mark.slow
def test_check_claim_full_default():
    rows = {r.reading: r for r in check_claim(CLAIM)}
    assert rows["our-bound"].status == "proved" and rows["paper-bound"].status == "refuted"
