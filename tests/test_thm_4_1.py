"""Theorem 4.1 (attention Lipschitz constant): our bound and the paper's, tightness, scaling, regimes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, find, given, settings, target

from lipbound.claims import Claim, check_reading
from lipbound.claims._shared import attention as A
from lipbound.claims.thm_4_1 import evaluators as thm_4_1
from lipbound.claims.thm_4_1.statement import STATEMENT
from lipbound.models import AttentionFusion
from strategies import attention_weight_cases

EV = thm_4_1.EVALUATORS
CLAIM = Claim(STATEMENT, EV, {})


def rid(r):
    return f"thm-4.1::{r}"


@pytest.mark.parametrize("reading", ["our-bound", "paper-bound"], ids=rid)
@settings(max_examples=15)
@given(case=attention_weight_cases())
def test_bounds_hold(reading, case):
    out = EV[reading].evaluate(case)
    target(out.ratio, label="lower/bound")
    assert out.ok, out.counterexample


@given(case=attention_weight_cases())
def test_our_bound_never_above_papers(case):
    ws = thm_4_1.case_weights(case)
    assert A.thm41_bound(ws, case["R"]) <= A.paper41_bound(ws, case["R"]) * (1 + 1e-12)


@pytest.mark.parametrize("reading", ["quadratic-in-R", "regime-below"], ids=rid)
@given(case=attention_weight_cases())
def test_identity_and_regime(reading, case):
    out = EV[reading].evaluate(case)
    assert out.ok, out.counterexample


def numpy_jacobian_norm(ws, x, eps=1e-6):
    """||J(x)||_2 by central differences in numpy (independent of torch and of the closed form)."""
    ws = [np.asarray(w, dtype=float) for w in ws]
    dims = [w.shape[1] for w in ws]

    def f(v):
        xs = np.split(v, np.cumsum(dims)[:-1])
        ps = [w @ xi for w, xi in zip(ws, xs)]
        u = sum(ps)
        return np.concatenate([(p @ u) / len(ws) * xi for p, xi in zip(ps, xs)])

    n = len(x)
    jac = np.stack([(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in np.eye(n)], axis=1)
    return float(np.linalg.norm(jac, 2))


def test_closed_form_and_model_agree():
    g = torch.Generator().manual_seed(0)
    ws = [torch.randn(3, d, generator=g, dtype=torch.float64) for d in (2, 3)]
    fusion = AttentionFusion([2, 3], proj_dim=3).double()
    with torch.no_grad():
        for p, w in zip(fusion.weights, ws):
            p.copy_(w)
    x = torch.randn(5, generator=g, dtype=torch.float64)
    assert torch.allclose(A.attention_map(ws, x), fusion([x[:2], x[2:]]), rtol=1e-13, atol=0)
    jac = torch.func.jacrev(lambda v: A.attention_map(ws, v))(x)
    assert torch.allclose(A.jacobian_closed(ws, x), jac, rtol=1e-12, atol=1e-14)


def test_scalar_witness_bracket_closes():
    """M = 2 scalar modalities, W_i = 1, R = 1: lower bound 3 == lipbound's bound 3 (the bound is attained)."""
    ws = [torch.ones(1, 1, dtype=torch.float64)] * 2
    low, x = A.lower_lipschitz(ws, 1.0, n_starts=4, steps=60, seed=0)
    assert math.isclose(low, 3.0, rel_tol=1e-9) and math.isclose(A.thm41_bound(ws, 1.0), 3.0, rel_tol=1e-12)
    assert math.isclose(numpy_jacobian_norm([[[1.0]], [[1.0]]], x.numpy()), 3.0, rel_tol=1e-6)


@pytest.mark.parametrize("reading", ["linear-in-w", "regime-above"], ids=rid)
def test_refuted_readings(reading):
    """The ledger's own search refutes the reading; the counterexample is re-checked independently."""
    row = check_reading(CLAIM, reading, examples=10, seed=0)
    assert row.status == "refuted"
    cex = row.counterexample
    ws = [np.asarray(w) for w in cex["weights"]]
    # independent certified upper bound from the closed form, in numpy
    w = [np.linalg.norm(a, 2) for a in ws]
    sigma = np.linalg.norm(np.hstack(ws), 2)
    m = len(ws)
    ours = cex["R"] ** 2 / m * (2 * max(w) * min(sum(w), sigma * math.sqrt(m)) + sigma * math.sqrt(sum(v * v for v in w)))
    if reading == "regime-above":
        assert math.sqrt(10) * cex["R"] ** 2 * max(w) ** 2 > 1 > ours
    else:
        assert cex["lower_at_tW"] > cex["t"] * ours


def test_search_finds_regime_above_counterexample():
    ev = EV["regime-above"]
    case = find(attention_weight_cases(), lambda c: not ev.evaluate(c).ok,
                settings=settings(max_examples=300, derandomize=True, database=None,
                                  suppress_health_check=list(HealthCheck)))
    assert not ev.evaluate(case).ok


def test_wrong_bound_is_caught(monkeypatch):
    """Halving lipbound's bound makes the check fail on the tight scalar case."""
    monkeypatch.setattr(thm_4_1, "thm41_bound", lambda ws, r: 0.5 * A.thm41_bound(ws, r))
    case = {"family": "scalar", "M": 2, "k": 1, "dims": [1, 1], "scale": 1.0, "R": 1.0, "seed": 3}
    assert not EV["our-bound"].evaluate(case).ok


SUP = 3 / math.sqrt(10)  # sup over weights of Lip(f; B_R) / (sqrt(10) R^2 W_max^2), Theorem 4.1
#: The evaluator's ratio on the attaining family is a float64 jacrev SVD at the known maximiser over the
#: float64 bound: agreement to 1e-12 relative.
SUP_RTOL = 1e-12
#: The weight search is a finite local ascent (3 starts x 40 steps), not a solver with a guarantee, so
#: its test compares it with the input-only ascent on the same cases instead of demanding an absolute
#: distance to the supremum: it must close at least this share of the gap the input-only ascent leaves
#: (measured on verify's seed 0, 20 cases: 0.8095 without it, 0.9414 with it, 95% of the gap to 0.9487).
GAP_CLOSED = 0.75


@pytest.mark.parametrize("w,radius", [(1.5, 2.0), (0.3, 0.5), (4.0, 1.0)])
def test_supremum_closed_form_on_attaining_family(w, radius):
    """W_i = w a b_i^T: the evaluator's ratio is 3/sqrt(10) and lipbound's is 1 (both bounds attained)."""
    case = {**thm_4_1.attaining_case(), "weights": thm_4_1.attaining_weights(w), "R": radius}
    case["x"] = [radius / 2.0 * v for v in thm_4_1.attaining_case()["x"]]
    out = EV["paper-bound"].evaluate(case)
    assert out.ok and math.isclose(out.ratio, SUP, rel_tol=SUP_RTOL), out.ratio
    assert math.isclose(out.measured, 3 * w**2 * radius**2, rel_tol=SUP_RTOL)
    assert math.isclose(EV["our-bound"].evaluate(case).ratio, 1.0, rel_tol=SUP_RTOL)
    # independent: numpy central differences at the corner
    assert math.isclose(numpy_jacobian_norm(case["weights"], np.array(case["x"])), 3 * w**2 * radius**2, rel_tol=1e-6)


def test_supremum_is_an_upper_limit():
    """No case exceeds 3/sqrt(10): lipbound's bound is at most 3 R^2 w_max^2 (a bug there would show here)."""
    row = check_reading(CLAIM, "paper-bound", examples=8, seed=1)
    assert row.counterexample is None and row.tightest_ratio <= SUP * (1 + 1e-9)


def test_search_reaches_supremum(monkeypatch):
    """The sampled cases alone (no fixed case; verify's seed 0, 20 cases): the weight search closes at
    least GAP_CLOSED of the gap that projected ascent over inputs alone leaves below 3/sqrt(10), and
    never passes the supremum. Without the weight search (WSTEPS = 0) the gap closed is 0, so this fails."""
    row = check_reading(CLAIM, "paper-bound", examples=20, seed=0, with_fixed=False)
    monkeypatch.setattr(thm_4_1, "WSTEPS", 0)
    plain = check_reading(CLAIM, "paper-bound", examples=20, seed=0, with_fixed=False)
    assert row.counterexample is None and plain.counterexample is None
    assert plain.tightest_ratio <= row.tightest_ratio <= SUP * (1 + 1e-9)
    closed = (row.tightest_ratio - plain.tightest_ratio) / (SUP - plain.tightest_ratio)
    assert closed >= GAP_CLOSED, (plain.tightest_ratio, row.tightest_ratio, closed)


def test_weight_search_keeps_family():
    """The weight search stays in the case's family (scalar 1 x 1, orthogonal zero pattern, rank one)."""
    from lipbound.claims._shared.attention_cases import family_parametrization

    for fam, dims, k in [("orthogonal", [2, 3, 2], 3), ("low-rank", [2, 3], 2)]:
        case = {"family": fam, "M": len(dims), "k": k, "dims": dims, "scale": 1.0, "R": 1.0, "seed": 4}
        ws = thm_4_1.case_weights(case)
        params, build = family_parametrization(case, ws)
        out, _ = A.ratio_ascent(params, build, 1.0, A.paper41_bound_t, n_starts=2, steps=10, seed=0)
        for w0, w1 in zip(ws, out):
            assert w1.shape == w0.shape
            if fam == "orthogonal":
                assert torch.all(w1[w0 == 0] == 0)
            else:
                assert torch.linalg.matrix_rank(w1) <= 1


# ----------------------------------------------------------------------------- j != i readings of Definition 4.1
J_NE_I = ("others", "others-over-M")


def numpy_bound_others(ws, radius, pairs):
    """lipbound's Theorem 4.1 bound for a j != i reading, recomputed in numpy from its formula:
    (R^2/c)(2V + T), V = max_i w_i min(S - w_i, sigma sqrt(M-1)),
    T = min(sigma sqrt(sum w^2), sqrt((sum w^2)^2 - sum w^4))."""
    ws = [np.asarray(w, dtype=float) for w in ws]
    m = len(ws)
    w = [np.linalg.norm(a, 2) for a in ws]
    sigma = np.linalg.norm(np.hstack(ws), 2)
    s, l2 = sum(w), math.sqrt(sum(v * v for v in w))
    v = max(wi * min(s - wi, sigma * math.sqrt(m - 1)) for wi in w)
    t = min(sigma * l2, math.sqrt(l2**4 - sum(x**4 for x in w)))
    return radius**2 / (m - 1 if pairs == "others" else m) * (2 * v + t)


@pytest.mark.parametrize("reading", [f"{r}-{p}" for p in J_NE_I for r in ("our-bound", "paper-bound")], ids=rid)
@settings(max_examples=5)
@given(case=attention_weight_cases())
def test_bounds_hold_under_j_ne_i(reading, case):
    out = EV[reading].evaluate(case)
    target(out.ratio, label="lower/bound")
    assert out.ok, out.counterexample


@pytest.mark.parametrize("reading", [f"{r}-{p}" for p in J_NE_I for r in ("quadratic-in-R", "regime-below")], ids=rid)
@settings(max_examples=10)
@given(case=attention_weight_cases())
def test_identity_and_regime_under_j_ne_i(reading, case):
    out = EV[reading].evaluate(case)
    assert out.ok, out.counterexample


@pytest.mark.parametrize("pairs", J_NE_I, ids=lambda p: rid(f"our-bound-{p}"))
def test_j_ne_i_map_and_bound(pairs):
    """attention_map(pairs) is the module's output with that pairs, its bound matches the numpy formula,
    and a bound with the wrong divisor (M for 'others', M - 1 for 'others-over-M') is caught on scalars
    (M = 2, W = 1: Lip >= ||J(1, 1)|| = 3 / c)."""
    g = torch.Generator().manual_seed(1)
    ws = [torch.randn(2, d, generator=g, dtype=torch.float64) for d in (2, 3, 1)]
    f = AttentionFusion([2, 3, 1], proj_dim=2, pairs=pairs).double()
    with torch.no_grad():
        for p, w in zip(f.weights, ws):
            p.copy_(w)
        x = torch.randn(6, generator=g, dtype=torch.float64)
        torch.testing.assert_close(A.attention_map(ws, x, pairs), f(list(torch.split(x, [2, 3, 1]))), rtol=1e-13, atol=0)
    assert math.isclose(A.thm41_bound(ws, 1.5, pairs), numpy_bound_others(ws, 1.5, pairs), rel_tol=1e-12)
    scalar = {"family": "scalar", "M": 2, "k": 1, "dims": [1, 1], "scale": 1.0, "R": 1.0, "seed": 3,
              "weights": [[[1.0]], [[1.0]]]}
    assert EV[f"our-bound-{pairs}"].evaluate(scalar).ok
    wrong = "others-over-M" if pairs == "others" else "others"
    low = float(torch.linalg.matrix_norm(torch.func.jacrev(lambda v: A.attention_map(
        [torch.ones(1, 1, dtype=torch.float64)] * 2, v, pairs))(torch.ones(2, dtype=torch.float64)), ord=2))
    assert math.isclose(low, 3.0 / (1 if pairs == "others" else 2), rel_tol=1e-12)
    if pairs == "others":  # M / (M - 1) = 2: the bound with divisor M is below the corner value
        assert A.thm41_bound([torch.ones(1, 1, dtype=torch.float64)] * 2, 1.0, wrong) < low
    assert A.thm41_bound([torch.ones(1, 1, dtype=torch.float64)] * 2, 1.0, pairs) >= low


@pytest.mark.parametrize("pairs", J_NE_I, ids=lambda p: rid(f"regime-above-{p}"))
def test_regime_above_under_j_ne_i_is_refuted_on_its_witness(pairs):
    """The witness: sqrt(10) R^2 W_max^2 > 1, and the numpy-recomputed bound of the reading is < 1."""
    ev = EV[f"regime-above-{pairs}"]
    case = ev.witness()
    out = ev.evaluate(case)
    assert not out.ok and out.counterexample
    ws = [np.asarray(w) for w in case["weights"]]
    assert math.sqrt(10) * max(np.linalg.norm(a, 2) for a in ws) ** 2 > 1 > numpy_bound_others(ws, 1.0, pairs)
    # the witness's own corner value stays below 1 (a lower bound, consistent with the certificate)
    m = len(ws)
    x = torch.ones(m, dtype=torch.float64)
    low = float(torch.linalg.matrix_norm(torch.func.jacrev(lambda v: A.attention_map(
        [torch.tensor(w, dtype=torch.float64) for w in case["weights"]], v, pairs))(x), ord=2))
    assert low < 1.0


@pytest.mark.parametrize("pairs", J_NE_I, ids=lambda p: rid(f"linear-in-w-{p}"))
def test_linear_in_w_under_j_ne_i_is_refuted(pairs):
    row = check_reading(CLAIM, f"linear-in-w-{pairs}", examples=3, seed=0)
    assert row.status == "refuted"
    cex = row.counterexample
    assert cex["lower_at_tW"] > cex["t"] * cex["certified_upper_at_W"]
