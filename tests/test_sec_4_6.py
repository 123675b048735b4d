"""Section 4.6 / Algorithm 1 / Eq. 8 (the paper's Lipschitz estimator) against exact constants:
property tests on linear maps and one-hidden-layer ReLU networks (hypothesis, steered toward tight
cases with ``hypothesis.target``), an independent numpy re-computation of the estimate and of the
constants, the witnesses, the kink probe, determinism and JSON-safety, and mutation tests showing
each check can fail."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, find, given, settings, target
from hypothesis import strategies as st

from lipbound.bounds import exact_lipschitz, paper_estimator
from lipbound.claims import case_rng, check_reading, get_claim
from lipbound.claims.sec_4_6 import evaluators as S

EV = S.EVALUATORS
CLAIM = get_claim("sec-4.6")
seeds = st.integers(min_value=0, max_value=2**31 - 2)


def cases(families=S.FAMILIES, n_samples=(8, 16, 64)):
    """The evaluator's case space (:func:`make_case`), drawn by hypothesis: small shapes and a seed."""
    return st.builds(lambda fam, n, m, h, seed, k: S.make_case(fam, n, m, h, seed, n_samples=k),
                     st.sampled_from(families), st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), seeds,
                     st.sampled_from(n_samples))


# ------------------------------------------------------------------ an independent numpy computation


def numpy_jacobians(case):
    """The Jacobian at each of the case's samples, from the weights (numpy only)."""
    xs = S.samples_of(case).numpy()
    if "W" in case:
        W = np.asarray(case["W"])
        return [W for _ in xs]
    W1, b1, W2 = (np.asarray(case[k]) for k in ("W1", "b1", "W2"))
    return [(W2 * (W1 @ x + b1 > 0)) @ W1 for x in xs]


def numpy_lipschitz(case):
    """Exact constant: spectral norm (linear) or the maximum over all activation patterns (numpy SVD)."""
    if "W" in case:
        return float(np.linalg.norm(np.asarray(case["W"]), 2))
    W1, W2 = np.asarray(case["W1"]), np.asarray(case["W2"])
    h = W1.shape[0]
    return max(float(np.linalg.norm((W2 * np.array([(p >> i) & 1 for i in range(h)])) @ W1, 2))
               for p in range(2**h))


@settings(max_examples=15)
@given(case=cases())
def test_estimate_and_constant_agree_with_numpy(case):
    est = S._estimate(case)["lipschitz"]
    assert est == pytest.approx(max(np.linalg.norm(J) for J in numpy_jacobians(case)), rel=1e-12, abs=1e-300)
    assert S.exact_constants(case)["lip"] == pytest.approx(numpy_lipschitz(case), rel=1e-12)


# ------------------------------------------------------------------ properties against exact constants


@settings(max_examples=20)
@given(case=cases())
def test_estimate_at_most_sqrt_min_dim_times_lipschitz(case):
    """frobenius-sandwich's consequence: hat L <= sqrt(min(m, n)) Lip, for every case; steered toward
    equality (equal singular values at a maximising sample)."""
    est, lip = S._estimate(case)["lipschitz"], S.exact_constants(case)["lip"]
    k = min(case["m"], case["n"])
    ratio = est / (math.sqrt(k) * lip) if lip > 0 else 0.0
    target(ratio, label="hat L / (sqrt(min(m,n)) Lip)")
    assert ratio <= 1 + S.RTOL


@settings(max_examples=20)
@given(case=cases(families=("linear", "equal-sv", "rank-one")))
def test_linear_maps_lie_between_lip_and_sqrt_rank_lip(case):
    """Linear maps: the estimate is ||W||_F at every sample, so Lip <= hat L <= sqrt(rank W) Lip."""
    est, lip = S._estimate(case)["lipschitz"], S.exact_constants(case)["lip"]
    rank = int(np.linalg.matrix_rank(np.asarray(case["W"])))
    target(est / lip, label="hat L / Lip")
    assert lip <= est * (1 + S.RTOL) and est <= math.sqrt(rank) * lip * (1 + S.RTOL)
    if case["family"] == "equal-sv":  # the right side is attained
        assert est == pytest.approx(math.sqrt(rank) * lip, rel=1e-12)


@settings(max_examples=20)
@given(case=cases(families=("relu-scalar", "relu", "relu-far", "linear")).filter(lambda c: c["m"] == 1))
def test_scalar_outputs_give_a_sound_lower_bound(case):
    """m = 1: ||J||_F = ||J||_2, so hat L <= Lip for every sample set (steered toward equality)."""
    est, lip = S._estimate(case)["lipschitz"], S.exact_constants(case)["lip"]
    target(est / lip, label="hat L / Lip")
    assert est <= lip * (1 + S.RTOL)


@settings(max_examples=6)
@given(case=cases(families=S.CONVERGENCE_FAMILIES, n_samples=(1024,)).filter(lambda c: c["family"] != "relu-cone" or c["n"] >= 2))
def test_converges_to_sup_frobenius(case):
    out = EV["converges-to-sup-frobenius"].evaluate(case)
    assert out.ok, out.counterexample
    seq = S.estimate_sequence(case)
    assert seq == sorted(seq)  # a running maximum over nested samples
    # and the limit is S_F, not Lip: they agree only when a maximising Jacobian is rank one
    c = S.exact_constants(case)
    assert c["sup_fro"] >= c["lip"] * (1 - S.RTOL)


def test_the_limit_is_not_lip_where_the_maximising_jacobian_has_rank_two():
    case = S.make_case("equal-sv", 3, 2, 1, 5, n_samples=1024)
    seq, c = S.estimate_sequence(case), S.exact_constants(case)
    assert seq[-1] == pytest.approx(c["sup_fro"], rel=1e-12) and seq[-1] == pytest.approx(math.sqrt(2) * c["lip"], rel=1e-12)
    assert not EV["consistent"].evaluate(case).ok and EV["converges-to-sup-frobenius"].evaluate(case).ok


# ------------------------------------------------------------------ searches for the failing readings


@pytest.mark.parametrize(("reading", "families"), [
    ("upper-bound", ("relu-far", "relu", "relu-scalar")),
    ("lower-bound", ("linear", "equal-sv", "relu")),
    ("gradient-lipschitz-relu", ("relu", "relu-scalar")),
], ids=lambda v: v if isinstance(v, str) else "")
def test_search_finds_a_violation_and_numpy_confirms_it(reading, families):
    """hypothesis.find (derandomized, fixed budget) finds a case the reading fails on; the estimate
    and the constant of the case are re-computed with numpy alone."""
    case = find(cases(families=families), lambda c: not EV[reading].evaluate(c).ok,
                settings=settings(max_examples=200, derandomize=True, database=None,
                                  suppress_health_check=list(HealthCheck)))
    est = max(float(np.linalg.norm(J)) for J in numpy_jacobians(case))
    lip = numpy_lipschitz(case)
    if reading == "upper-bound":
        assert est < lip * (1 - 1e-6)
    elif reading == "lower-bound":
        assert est > lip * (1 + 1e-6)
    else:  # a ReLU unit whose kink makes J jump by ||W2[:, i]|| ||W1[i, :]|| > 0
        W1, W2 = np.asarray(case["W1"]), np.asarray(case["W2"])
        assert float((np.linalg.norm(W2, axis=0) * np.linalg.norm(W1, axis=1)).max()) > 0


# ------------------------------------------------------------------ the witnesses


def test_far_kink_witness():
    w = S.WITNESS_FAR_KINK
    xs = S.samples_of(w).numpy()
    assert xs[:, 1].max() < 10 and (xs[:, 0] > 0).any()  # no sample reaches the steep region
    assert S._estimate(w)["lipschitz"] == 1.0
    assert S.exact_constants(w)["lip"] == pytest.approx(math.sqrt(26), rel=1e-15)
    out = EV["upper-bound"].evaluate(w)
    assert not out.ok and out.ratio == pytest.approx(math.sqrt(26))
    # the same network is no counterexample to the readings expected to hold
    assert EV["frobenius-sandwich"].evaluate(w).ok


def test_identity_witness():
    w = S.WITNESS_IDENTITY
    assert S._estimate(w)["lipschitz"] == pytest.approx(math.sqrt(2), rel=1e-15)
    assert S.exact_constants(w) == {"lip": 1.0, "sup_fro": pytest.approx(math.sqrt(2), rel=1e-15)}
    for r in ("lower-bound", "consistent"):
        assert not EV[r].evaluate(w).ok
    for r in ("frobenius-sandwich", "converges-to-sup-frobenius"):
        assert EV[r].evaluate(w).ok


def test_relu_witness_ratio_grows_like_one_over_delta():
    p = S.kink_probe(S.WITNESS_RELU)
    for d, r in zip(p["deltas"], p["ratios"]):
        assert r == pytest.approx(1 / (2 * d + S.EPS), rel=1e-12)
    assert p["ratios"][-1] / p["ratios"][0] > 0.99e5  # five decades closer, five decades larger
    assert all(j == pytest.approx(1.0, rel=1e-12) for j in p["jumps"])


def test_the_estimators_gradient_figure_on_a_straddling_pair_is_jump_over_distance():
    relu = S.build_model(S.WITNESS_RELU)
    for d in (1e-2, 1e-4, 1e-7):
        out = paper_estimator(relu, torch.tensor([[-d], [d]], dtype=torch.float64))
        assert out["gradient_lipschitz"] == pytest.approx(1 / (2 * d + 1e-8), rel=1e-12)


def test_linear_maps_pass_the_gradient_check():
    out = EV["gradient-lipschitz-relu"].evaluate(S.make_case("linear", 3, 2, 1, 7))
    assert out.ok and out.measured == 0.0


# ------------------------------------------------------------------ determinism, JSON, mutations


@pytest.mark.parametrize("reading", [r.name for r in CLAIM.statement.readings])
def test_cases_are_deterministic_and_json_safe(reading):
    ev = EV[reading]
    a = ev.sample(case_rng(3, "sec-4.6", reading, 5), 5)
    b = ev.sample(case_rng(3, "sec-4.6", reading, 5), 5)
    assert a == b and json.loads(json.dumps(a, allow_nan=False)) == a
    o1, o2 = ev.evaluate(a), ev.evaluate(b)
    assert (o1.ok, o1.measured, o1.bound) == (o2.ok, o2.measured, o2.bound)
    for case in (a, *([ev.witness()] if ev.witness else [])):
        out = ev.evaluate(case)
        if out.counterexample is not None:
            json.dumps(out.counterexample, allow_nan=False)


def test_mutation_spectral_estimator_is_a_lower_bound(monkeypatch):
    """Replacing the Frobenius norm by the spectral norm (the sound sampled lower bound) makes the
    identity pass lower-bound: the check decides on the norm the estimator uses."""
    def spectral_estimator(model, xs, **kw):
        J = torch.func.vmap(torch.func.jacrev(lambda x: model(x.unsqueeze(0)).squeeze(0)))(xs).detach()
        return {"lipschitz": float(torch.linalg.matrix_norm(J.reshape(xs.shape[0], -1, xs.shape[1]), ord=2).max())}

    assert not EV["lower-bound"].evaluate(S.WITNESS_IDENTITY).ok
    monkeypatch.setattr(S, "paper_estimator", spectral_estimator)
    assert EV["lower-bound"].evaluate(S.WITNESS_IDENTITY).ok


def test_mutation_an_estimate_above_sup_frobenius_fails_convergence(monkeypatch):
    real = S.paper_estimator
    monkeypatch.setattr(S, "paper_estimator", lambda *a, **k: {**real(*a, **k), "lipschitz": 1.01 * real(*a, **k)["lipschitz"]})
    out = EV["converges-to-sup-frobenius"].evaluate(S.WITNESS_IDENTITY)
    assert not out.ok and out.counterexample["below"] is False


def test_exact_constants_refuse_rank_deficient_first_layers():
    case = {**S.WITNESS_RELU, "n": 2, "h": 2, "W1": [[1.0, 0.0], [2.0, 0.0]], "b1": [0.0, 0.0], "W2": [[1.0, 1.0]]}
    with pytest.raises(Exception, match="full row rank"):
        S.exact_constants(case)
    assert exact_lipschitz(S.build_model(S.WITNESS_RELU), (1,)).value == 1.0


def test_the_ledger_rows():
    rows = {r: check_reading(CLAIM, r, examples=4, seed=0) for r in ("lower-bound", "frobenius-sandwich")}
    assert rows["lower-bound"].status == "refuted" and rows["lower-bound"].counterexample
    assert rows["frobenius-sandwich"].status == "proved"
