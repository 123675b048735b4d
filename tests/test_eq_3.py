"""Eq. (3) (sum fusion Jacobian w.r.t. encoder parameters)."""

from __future__ import annotations

import pytest
from hypothesis import given

from lipbound.claims import get_claim
from strategies import SMALL_CONCAT_CASE, autoencoder_cases

EV = get_claim("eq-3").evaluators["formula"]


@pytest.mark.parametrize("reading", ["formula"], ids=lambda r: f"eq-3::{r}")
@given(case=autoencoder_cases("sum"))
def test_eq_3(reading, case):
    out = EV.evaluate(case)
    assert out.ok, out.counterexample


def test_eq_3_fails_for_concatenation():
    """eq-3's check on a concatenation model (M = 2) reports a violation: Eq. 3 is about the sum."""
    assert not EV.evaluate(SMALL_CONCAT_CASE).ok
