"""Theorem 3.3 (sum vs concatenation), every reading: property tests, counterexample search, exact witnesses."""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import pytest
import sympy as sp
from hypothesis import HealthCheck, find, given, settings, target
from hypothesis import strategies as st

from independent import exact_constants, mp_constants, numpy_constants
from lipbound.claims import Fixtures
from lipbound.claims import get_claim
from lipbound.claims.thm_3_3 import evaluators as T
from strategies import bounds_cases, linear_cases

CLAIM = "thm-3.3"
EV = get_claim(CLAIM).evaluators


def rid(reading: str) -> str:
    return f"{CLAIM}::{reading}"


HOLDING = {"true-separate": "separate", "concat-le-l2": None, "sum-subadditive": None}


@pytest.mark.parametrize("reading", list(HOLDING), ids=rid)
@given(data=st.data())
def test_holding_readings_on_linear_encoders(reading, data):
    case = data.draw(linear_cases(HOLDING[reading]))
    out = EV[reading].evaluate(case)
    target(out.ratio, label="measured/bound")  # push toward tight cases
    assert out.ok, out.counterexample
    assert out.ratio <= 1 + T.NORM_RTOL


@given(case=linear_cases())
def test_constants_agree_with_independent_numpy(case):
    """lipbound's exact constants equal a from-scratch numpy computation (1e-12 relative: both are
    LAPACK SVDs of the same matrices, assembled differently)."""
    mats = T.linear_matrices(case)
    ours = T.lipschitz_constants(mats, case["setting"])
    ref = numpy_constants(mats, case["setting"])
    for key in ("cat", "sum"):
        assert math.isclose(ours[key], ref[key], rel_tol=1e-12, abs_tol=1e-300)


@pytest.mark.parametrize("reading", ["proof-bounds", "proof-bounds-equality"], ids=rid)
@given(case=bounds_cases())
def test_proof_bound_readings(reading, case):
    out = EV[reading].evaluate(case)
    target(out.ratio)
    assert out.ok, out.counterexample


@given(case=bounds_cases())
def test_proof_bounds_equality_independently(case):
    """Recompute the equality condition with Fractions, independent of the evaluator."""
    if case["family"] == "network":
        return
    ls = [Fraction(n, d) for n, d in zip(case["num"], case["den"])]
    if case["family"] in ("one-nonzero", "all-zero", "equal", "wide-range"):
        ls = [Fraction(v) for v in T.proof_bounds(case)]
    equal = sum(ls) ** 2 == sum(v * v for v in ls)
    assert equal == (sum(v != 0 for v in ls) <= 1)


# --------------------------------------------------------------------------- refuted readings
REFUTED = {
    "true-shared": lambda: linear_cases("shared"),
    "true-separate-equality": lambda: linear_cases("separate"),
    "concat-equals-l2": lambda: linear_cases(),
}


def independently_violates(reading: str, cex: dict) -> bool:
    """Does the counterexample violate the reading, recomputed in 50-digit arithmetic (mpmath)?"""
    c = mp_constants(cex["matrices"], cex["setting"])
    with mpmath.workdps(50):
        if reading == "true-shared":
            return c["cat"] > c["sum"] * (1 + mpmath.mpf("1e-6"))
        if reading == "true-separate-equality":
            nonzero = sum(1 for m in cex["matrices"] if any(v != 0 for row in m for v in row))
            return abs(c["cat"] - c["sum"]) <= mpmath.mpf("1e-30") * c["sum"] and nonzero >= 2
        if reading == "concat-equals-l2":
            l2 = mpmath.sqrt(sum(v**2 for v in c["L"]))
            return abs(c["cat"] - l2) > mpmath.mpf("1e-6") * l2
    raise KeyError(reading)


@pytest.mark.parametrize("reading", list(REFUTED), ids=rid)
def test_hypothesis_finds_counterexample(reading):
    """Hypothesis searches the case space for a violation; the one it finds is re-checked independently."""
    ev = EV[reading]
    case = find(REFUTED[reading](), lambda c: not ev.evaluate(c).ok,
                settings=settings(max_examples=2000, derandomize=True, database=None,
                                  suppress_health_check=list(HealthCheck)))
    out = ev.evaluate(case)
    assert not out.ok
    assert independently_violates(reading, out.counterexample)


def test_witnesses_violate_exactly():
    """The ledger's witnesses, in exact rational arithmetic."""
    c = exact_constants(T.witness_shared()["matrices"], "shared")
    assert c["cat"] == sp.sqrt(2)
    assert c["sum"] == 0
    c = exact_constants(T.witness_separate_equality()["matrices"], "separate")
    assert c["cat"] == c["sum"] == 1 and c["L"] == [1, 1]
    c = exact_constants(T.witness_concat_l2()["matrices"], "separate")
    assert c["cat"] == 1 and c["sum"] == sp.sqrt(2)


def test_shared_reading_fails_for_anticorrelated_encoders():
    """The family the docs name: A_2 = rho A_1 + sqrt(1 - rho^2) G with rho near -1."""
    case = {"setting": "shared", "family": "correlated", "M": 2, "out_dim": 3, "in_dims": [3, 3],
            "rho": -0.99, "seed": 5}
    out = EV["true-shared"].evaluate(case)
    assert not out.ok and independently_violates("true-shared", out.counterexample)


def test_trained_encoders_pointwise():
    """True-separate on the trained zoo encoders' Jacobians (the pointwise form implies the global one)."""
    cases = T._trained_cases(Fixtures(), "separate")
    assert cases, "the zoo has no MLP models"
    for case in cases:
        for reading in ("true-separate", "concat-le-l2", "sum-subadditive"):
            out = EV[reading].evaluate(case)
            assert out.ok, (reading, case)


# ------------------------------------------------------------------ Theorem 3.3 in the Frobenius norm (Section 3.4)


@given(case=linear_cases("separate"))
def test_frobenius_separate_is_always_an_equality(case):
    """blockdiag(A_i) and [A_1 ... A_M] have the same entries: both Frobenius norms are
    sqrt(sum_i ||A_i||_F^2) (numpy, from the matrices alone), so the reading holds with ratio 1."""
    import numpy as np

    out = EV["frobenius-separate"].evaluate(case)
    target(out.ratio, label="fro_cat/fro_sum")
    assert out.ok
    mats = T.linear_matrices(case)
    both = math.sqrt(sum(float((np.asarray(a) ** 2).sum()) for a in mats))
    assert out.measured == pytest.approx(both, rel=1e-12) and out.bound == pytest.approx(both, rel=1e-12)
    nonzero = sum(1 for a in mats if np.any(a != 0))
    assert EV["frobenius-separate-equality"].evaluate(case).ok is (nonzero < 2 or both == 0.0)


def test_frobenius_shared_goes_either_way():
    import numpy as np

    case = find(linear_cases("shared"), lambda c: not EV["frobenius-shared"].evaluate(c).ok,
                settings=settings(max_examples=500, derandomize=True, database=None,
                                  suppress_health_check=list(HealthCheck)))
    mats = [np.asarray(a) for a in T.linear_matrices(case)]
    assert np.linalg.norm(np.vstack(mats)) > np.linalg.norm(sum(mats)) * (1 + 1e-6)  # numpy, independently
    same = {"setting": "shared", "family": "witness", "matrices": [[[1.0, 2.0]], [[1.0, 2.0]]]}
    out = EV["frobenius-shared"].evaluate(same)  # A_1 = A_2: sqrt(2) ||A|| <= 2 ||A||
    assert out.ok and out.ratio == pytest.approx(math.sqrt(2) / 2)
    w = [sp.Matrix(a).applyfunc(sp.nsimplify) for a in T.witness_shared()["matrices"]]  # exact rationals
    assert sp.Matrix.vstack(*w).norm() == 2 and (w[0] + w[1]).norm() == 0
