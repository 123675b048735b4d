"""Section 4.5 (regularised attention): the unit-sphere bound, the scale-free composed map's
counterexample and its 1/r growth, the L2 step, and the training readings; mutation tests."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, target
from hypothesis import strategies as st

from lipbound.claims import Claim, check_claim, check_reading
from lipbound.claims.sec_4_5 import evaluators as S
from lipbound.claims.sec_4_5.statement import STATEMENT
from lipbound.claims.sec_4_5.proof import PROOFS
from strategies import attention_weight_cases, seeds

EV = S.EVALUATORS
CLAIM = Claim(STATEMENT, EV, PROOFS)


def rid(r):
    return f"sec-4.5::{r}"


@st.composite
def cases(draw):
    return {**draw(attention_weight_cases()), "scale_scores": draw(st.booleans()), "x_seed": draw(seeds)}


@settings(max_examples=10)
@given(case=cases())
def test_unit_spectral_bound(case):
    out = EV["unit-spectral-bound"].evaluate(case)
    target(out.ratio, label="lower/bound")
    assert out.ok, out.counterexample


@given(case=cases())
def test_bound_is_three_c_squared(case):
    f, ws = S.effective(case)
    if any(float(w.abs().max()) == 0.0 for w in S.case_weights(case)):
        return
    assert math.isclose(S.general_bound(ws), S.unit_constant(f.proj_dim, f.scale), rel_tol=1e-12)


def test_unit_bound_attained_by_scalars():
    """M = 2 scalar modalities: ||J(1, 1)|| = 3 = 3c^2, with raw weights of any scale."""
    case = {"family": "scalar", "M": 2, "k": 1, "dims": [1, 1], "scale": 7.0, "R": 1.0, "seed": 3,
            "scale_scores": False, "x_seed": 1}
    out = EV["unit-spectral-bound"].evaluate(case)
    assert out.ok and out.ratio > 0.999


def test_unit_bound_mutation_is_caught(monkeypatch):
    """A bound two times too small (the 2 w_max sum w term dropped) is violated."""
    monkeypatch.setattr(S, "general_bound", lambda ws: sum(float(torch.linalg.matrix_norm(w, ord=2)) ** 2
                                                            for w in ws) / len(ws))
    case = {"family": "scalar", "M": 2, "k": 1, "dims": [1, 1], "scale": 1.0, "R": 1.0, "seed": 3,
            "scale_scores": False, "x_seed": 1}
    assert not EV["unit-spectral-bound"].evaluate(case).ok


@given(case=cases())
def test_composed_map_is_scale_invariant_and_grows_like_one_over_r(case):
    f, _ = S.effective(case)
    rng = np.random.default_rng(case["x_seed"])
    xs = [torch.from_numpy(rng.standard_normal(d)) for d in case["dims"]]
    c = float(10 ** rng.uniform(-4, 4))
    with torch.no_grad():
        a, b = f(xs), f([c * x for x in xs])
    np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-10, atol=1e-12 * max(1.0, float(a.abs().max())))
    growth = S.local_growth(f, xs, radii=(1.0, 1e-2, 1e-4))
    np.testing.assert_allclose(growth, growth[0], rtol=1e-8, atol=1e-12)


def test_composed_witness_checked_with_numpy():
    """Independent numpy check of the witness: outputs sqrt(3/2) apart, inputs sqrt(2) 1e-6 apart."""
    def g(x1, x2):
        xs = [v / np.linalg.norm(v) for v in (x1, x2)]
        u = xs[0] + xs[1]
        return np.concatenate([(x @ u) / 2 * x for x in xs])

    e = 1e-6
    x, y = (np.array([e, 0.0]), np.array([1.0, 0.0])), (np.array([0.0, e]), np.array([1.0, 0.0]))
    dist = np.linalg.norm(g(*x) - g(*y))
    assert math.isclose(dist, math.sqrt(1.5), rel_tol=1e-12)
    out = EV["composed-scale-free"].evaluate(S.witness_composed())
    assert not out.ok and math.isclose(out.measured, dist / (math.sqrt(2) * e), rel_tol=1e-9)


def test_composed_check_can_hold():
    """The check is not vacuous: far from 0 (block norms 1) the same difference quotient is below 3."""
    case = {**S.witness_composed(), "x": [[1.0, 0.0], [1.0, 0.0]], "y": [[0.999, 0.0447], [1.0, 0.0]]}
    assert EV["composed-scale-free"].evaluate(case).ok


@given(case=cases())
def test_l2_step(case):
    assert EV["l2-step-preserves-ratios"].evaluate(case).ok


def test_l2_step_mutation(monkeypatch):
    """A normalisation that is not homogeneous, W / (||W||_2 + 1), fails the invariance check."""
    monkeypatch.setattr(S, "spectral_normalize", lambda w: w / (torch.linalg.matrix_norm(w, ord=2) + 1.0))
    assert not EV["l2-step-preserves-ratios"].evaluate(
        {"family": "gaussian", "M": 2, "k": 2, "dims": [2, 2], "scale": 1.0, "R": 1.0, "seed": 0}).ok


def test_top_singular_value_after_training():
    assert check_reading(CLAIM, "spectral-top-singular-value", examples=6, seed=0).status == "holds"


@pytest.mark.slow
def test_l2_spectral_reading_on_the_seed_study():
    """The tendency decided on the real seed study (30 pairs of trainings): a status that is a tendency's
    (never refuted), every lambda a case, each case's data recorded."""
    row = check_reading(CLAIM, "l2-spectral-singular-values", examples=0, seed=0)
    assert row.kind == "tendency" and row.status in ("holds", "not-supported", "not-proven") and row.cases == 3
    if row.counterexample is not None:
        assert len(row.counterexample["srank_0"]) == len(S.SRANK_SEEDS)


def test_training_mutation_is_caught(monkeypatch):
    """An unnormalised top singular value is caught by the sigma_1 check; the seed study decides both
    ways: stable ranks lowered by lambda on every seed are supported, raised on every seed opposite,
    and half up half down inconclusive."""
    monkeypatch.setattr(S, "_trained", lambda case: ([[1.5, 0.2]], [[1.0, 0.1]]))
    assert not EV["spectral-top-singular-value"].evaluate({"lam": 0.1}).ok

    def fake(factor):
        def tsv(seed, lam, dims, k, n=64, epochs=5):
            second = 0.5 * (factor(seed) if lam > 0 else 1.0) * (1 + 0.01 * seed)
            return [[1.0, second, 0.1], [1.0, second, 0.2]]
        return tsv

    monkeypatch.setattr(S, "trained_singular_values", fake(lambda seed: 0.8))
    out = EV["l2-spectral-singular-values"].evaluate({"lam": 0.1})
    assert out.ok and out.decided and out.measured < 1
    monkeypatch.setattr(S, "trained_singular_values", fake(lambda seed: 1.25))
    out = EV["l2-spectral-singular-values"].evaluate({"lam": 0.1})
    assert not out.ok and out.decided and "opposite" in out.label
    monkeypatch.setattr(S, "trained_singular_values", fake(lambda seed: 1.25 if seed % 2 else 0.8))
    assert not EV["l2-spectral-singular-values"].evaluate({"lam": 0.1}).decided


def test_proofs():
    assert PROOFS["unit-spectral-bound"]().proved is True
    assert PROOFS["l2-step-preserves-ratios"]().proved is True
    assert PROOFS["composed-scale-free"]().proved is False


def test_check_claim_end_to_end():
    rows = {r.reading: r for r in check_claim(CLAIM, examples=20, seed=0)}
    assert rows["unit-spectral-bound"].status == "proved"
    assert rows["composed-scale-free"].status == "refuted"
    assert rows["l2-step-preserves-ratios"].status == "proved"
    assert rows["spectral-top-singular-value"].status == "holds"
    CLAIM.validate()


# ----------------------------------------------------------------------------- j != i readings of Definition 4.1
J_NE_I = ("others", "others-over-M")


@pytest.mark.parametrize("pairs", J_NE_I, ids=lambda p: rid(f"unit-spectral-bound-{p}"))
@settings(max_examples=5)
@given(case=cases())
def test_unit_spectral_bound_under_j_ne_i(pairs, case):
    """The fusion with pairs, spectral normalisation and normalised inputs: the ascent's lower bound stays
    under Theorem 4.1's bound for the reading at R = 1, which with equal effective norms c is at most
    (2 + sqrt(M/(M-1))) c^2 ('others') or (2(M-1) + sqrt(M(M-1)))/M c^2 ('others-over-M')."""
    out = EV[f"unit-spectral-bound-{pairs}"].evaluate(case)
    assert out.ok, out.counterexample
    _, ws = S.effective(case, pairs)
    m, c2 = len(ws), S.unit_constant(ws[0].shape[0], case["scale_scores"]) / 3
    cap = (2 + math.sqrt(m / (m - 1))) * c2 if pairs == "others" else (2 * (m - 1) + math.sqrt(m * (m - 1))) / m * c2
    assert S.unit_bound(ws, pairs) <= cap * (1 + 1e-12)


@pytest.mark.parametrize("pairs", J_NE_I, ids=lambda p: rid(f"composed-scale-free-{p}"))
def test_composed_witness_under_j_ne_i_checked_with_numpy(pairs):
    """W_i = I_2, x = (1e-6 e_1, e_1), y = (1e-6 e_2, e_1): under j != i g(x) - g(y) = (1/c)(e_1; e_1) by
    hand (alpha_1 = alpha_2 = xhat_1 . xhat_2 / c), so the quotient is 1e6 / c."""
    c = 1.0 if pairs == "others" else 2.0
    ev = EV[f"composed-scale-free-{pairs}"]
    case = ev.witness()
    out = ev.evaluate(case)
    assert not out.ok
    xs = [np.array(v) / np.linalg.norm(v) for v in case["x"]]
    ys = [np.array(v) / np.linalg.norm(v) for v in case["y"]]

    def g(zs):
        a = float(zs[0] @ zs[1]) / c
        return np.concatenate([a * zs[0], a * zs[1]])

    diff = np.linalg.norm(g(xs) - g(ys)) / np.linalg.norm(np.concatenate(case["x"]) - np.concatenate(case["y"]))
    assert math.isclose(out.measured, diff, rel_tol=1e-9) and math.isclose(diff, 1e6 / c, rel_tol=1e-9)


def test_proofs_under_j_ne_i():
    for p in J_NE_I:
        assert PROOFS[f"unit-spectral-bound-{p}"]().proved is True
        res = PROOFS[f"composed-scale-free-{p}"]()
        assert res.proved is False and res.steps[-1].startswith("FAILED")
