"""Lemma 4.1 (attention Jacobian blocks): property tests of every reading, the paper's self-block
counterexample, the symbolic proofs, and mutation tests showing the checks can fail."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings, target
from hypothesis import strategies as st

from lipbound.claims import Claim, check_claim
from lipbound.claims.lemma_4_1 import evaluators as L
from lipbound.claims.lemma_4_1.statement import STATEMENT
from lipbound.claims.lemma_4_1.proof import PROOFS
from strategies import attention_weight_cases, seeds

EV = L.EVALUATORS
CLAIM = Claim(STATEMENT, EV, PROOFS)


def rid(r):
    return f"lemma-4.1::{r}"


@st.composite
def jacobian_cases(draw, regularized: bool = False):
    case = {**draw(attention_weight_cases()), "x_seed": draw(seeds)}
    if regularized:
        case.update(spectral_norm=draw(st.booleans()), scale_scores=draw(st.booleans()),
                    x_scales=[10 ** draw(st.floats(-3, 3)) for _ in range(case["M"])])
    return case


@pytest.mark.parametrize("reading", ["blocks", "paper-cross-block"], ids=rid)
@given(case=jacobian_cases())
def test_closed_forms_match_autograd(reading, case):
    out = EV[reading].evaluate(case)
    target(out.measured, label="relative block error")
    assert out.ok, out.counterexample


@given(case=jacobian_cases(regularized=True))
def test_regularized_chain_rule(case):
    out = EV["regularized"].evaluate(case)
    target(out.measured, label="relative block error")
    assert out.ok, out.counterexample


@given(case=jacobian_cases())
def test_paper_self_block_misses_the_s_ii_term(case):
    """Wherever W_i^T W_i x_i != 0 the recovered Eq. 5 is off by exactly (1/M) x_i (W_i^T W_i x_i)^T."""
    ws, xs = L.case_weights(case), L.case_inputs(case)
    auto = L.autograd_blocks(L.build_fusion(ws), xs)
    paper = L.jacobian_blocks(ws, xs, self_term=False)
    m = len(ws)
    for i in range(m):
        missing = torch.outer(xs[i], ws[i].T @ ws[i] @ xs[i]) / m
        np.testing.assert_allclose((auto[i][i] - paper[i][i]).numpy(), missing.numpy(),
                                   atol=1e-10 * L.magnitude(ws, xs))


def test_paper_self_block_witness_by_finite_differences():
    """M = 2 scalars, W = 1, x = (1, 1): f_1(a, b) = a (a^2 + a b) / 2, df_1/da = (3a^2 + 2ab)/2 = 5/2."""
    f1 = lambda a, b: a * (a * a + a * b) / 2  # noqa: E731
    h = 1e-6
    fd = (f1(1 + h, 1.0) - f1(1 - h, 1.0)) / (2 * h)
    assert abs(fd - 2.5) < 1e-8
    out = EV["paper-self-block"].evaluate(L.witness_paper_self_block())
    assert not out.ok and out.counterexample["relative_block_error"] > 1e-2


def test_mutation_dropping_the_doubled_s_ii_term_is_caught(monkeypatch):
    """lemma-4.1: the `blocks` check fails when the closed form forgets the second s_ii copy."""
    right = L.jacobian_blocks
    monkeypatch.setattr(L, "jacobian_blocks", lambda ws, xs, self_term=True: right(ws, xs, self_term=False))
    case = {"family": "gaussian", "M": 3, "k": 2, "dims": [2, 3, 1], "scale": 1.0, "R": 1.0, "seed": 5, "x_seed": 6}
    assert not EV["blocks"].evaluate(case).ok
    reg = {**case, "spectral_norm": True, "scale_scores": True, "x_scales": [0.1, 10.0, 1.0]}
    assert not EV["regularized"].evaluate(reg).ok


def test_mutation_missing_normalization_projection_is_caught(monkeypatch):
    """The `regularized` check fails when the chain rule omits the projection (I - xhat xhat^T)."""
    monkeypatch.setattr(L, "regularized_blocks", lambda f, xs: L.jacobian_blocks(
        [w.detach() for w in f.effective_weights()], [x / x.norm() for x in xs]))
    case = {"family": "gaussian", "M": 2, "k": 2, "dims": [2, 3], "scale": 1.0, "R": 1.0, "seed": 5, "x_seed": 6,
            "spectral_norm": True, "scale_scores": False, "x_scales": [1.0, 1.0]}
    assert not EV["regularized"].evaluate(case).ok


def test_proofs():
    assert PROOFS["blocks"]().proved is True
    assert PROOFS["paper-cross-block"]().proved is True
    assert PROOFS["regularized"]().proved is True
    res = PROOFS["paper-self-block"]()
    assert res.proved is False and any("FAILED" in s for s in res.steps)


def test_check_claim_end_to_end():
    rows = {r.reading: r for r in check_claim(CLAIM, examples=10, seed=0)}
    assert {k: r.status for k, r in rows.items()} == {
        "blocks": "proved", "paper-cross-block": "proved", "paper-self-block": "refuted", "regularized": "proved",
        **{f"{r}-{p}": "proved" for p in ("others", "others-over-M")
           for r in ("blocks", "paper-self-block", "regularized")}}
    assert all(not r.unexpected for r in rows.values())
    cex = rows["paper-self-block"].counterexample
    assert cex["relative_block_error"] > L.JAC_RTOL
    CLAIM.validate()


# ----------------------------------------------------------------------------- j != i readings of Definition 4.1
J_NE_I = ("others", "others-over-M")


@pytest.mark.parametrize("reading", [f"{r}-{p}" for p in J_NE_I for r in ("blocks", "paper-self-block")], ids=rid)
@settings(max_examples=10)
@given(case=jacobian_cases())
def test_closed_forms_match_autograd_under_j_ne_i(reading, case):
    """Lemma 4.1 under alpha_i = (1/c) sum_{j != i} s_ij: the closed form (no s_ii term) and Eq. 5 read with
    the sum over j != i equal jacrev of AttentionFusion(pairs=...)."""
    out = EV[reading].evaluate(case)
    target(out.measured, label="relative block error")
    assert out.ok, out.counterexample


@pytest.mark.parametrize("pairs", J_NE_I, ids=lambda p: rid(f"regularized-{p}"))
@settings(max_examples=10)
@given(case=jacobian_cases(regularized=True))
def test_regularized_chain_rule_under_j_ne_i(pairs, case):
    out = EV[f"regularized-{pairs}"].evaluate(case)
    assert out.ok, out.counterexample


@pytest.mark.parametrize("pairs", J_NE_I, ids=lambda p: rid(f"paper-self-block-{p}"))
def test_eq5_under_j_ne_i_on_the_witness_by_finite_differences(pairs):
    """The witness refuting paper-self-block (M = 2 scalars, W = 1, x = (1, 1)) under the j != i readings:
    central differences of the module give J_11 = 2 / c, which is Eq. 5 with the sum over j != i (and the
    j = i closed form, 5/2 under 'all', does not)."""
    c = 1.0 if pairs == "others" else 2.0
    one = torch.ones(1, 1, dtype=torch.float64)
    f = L.build_fusion([one, one], pairs=pairs)
    h = 1e-6
    x = [torch.ones(1, dtype=torch.float64), torch.ones(1, dtype=torch.float64)]
    with torch.no_grad():
        fd = (f([x[0] + h, x[1]])[0] - f([x[0] - h, x[1]])[0]) / (2 * h)
    assert abs(float(fd) - 2.0 / c) < 1e-8
    blk = L.jacobian_blocks([one, one], x, pairs=pairs)[0][0]
    assert float(blk) == 2.0 / c
    assert EV[f"paper-self-block-{pairs}"].evaluate(L.witness_paper_self_block()).ok
    assert not EV["paper-self-block"].evaluate(L.witness_paper_self_block()).ok


@pytest.mark.parametrize("pairs", J_NE_I, ids=lambda p: rid(f"blocks-{p}"))
def test_j_ne_i_checks_can_fail(pairs):
    """The j != i closed form against the module of another reading fails, in both directions, and the
    'all' closed form against the j != i module fails: the readings are told apart."""
    case = {"family": "gaussian", "M": 3, "k": 2, "dims": [2, 3, 1], "scale": 1.0, "R": 1.0, "seed": 5, "x_seed": 6}
    other = "others-over-M" if pairs == "others" else "others"
    assert not L._compare(case, lambda f, ws, xs: L.jacobian_blocks(ws, xs, pairs=pairs), switches={"pairs": other}).ok
    assert not L._compare(case, lambda f, ws, xs: L.jacobian_blocks(ws, xs), switches={"pairs": pairs}).ok
    assert not L._compare(case, lambda f, ws, xs: L.jacobian_blocks(ws, xs, pairs=pairs)).ok
    assert EV[f"blocks-{pairs}"].evaluate(case).ok


def test_proofs_under_j_ne_i():
    for p in J_NE_I:
        for r in ("blocks", "paper-self-block", "regularized"):
            res = PROOFS[f"{r}-{p}"]()
            assert res.proved is True, res.steps
