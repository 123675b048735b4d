"""Lemma 3.3 (concatenation Jacobian: block sparsity)."""

from __future__ import annotations

import pytest
from hypothesis import given

from lipbound.claims import get_claim
from strategies import SMALL_CONCAT_CASE, autoencoder_cases

EV = get_claim("lemma-3.3").evaluators["formula"]


@pytest.mark.parametrize("reading", ["formula"], ids=lambda r: f"lemma-3.3::{r}")
@given(case=autoencoder_cases("concat"))
def test_lemma_3_3(reading, case):
    out = EV.evaluate(case)
    assert out.ok, out.counterexample


def test_lemma_3_3_fails_for_attention():
    """Block sparsity does not hold for attention fusion (its blocks couple): the check says so."""
    assert not EV.evaluate(dict(SMALL_CONCAT_CASE, fusion="attention")).ok
