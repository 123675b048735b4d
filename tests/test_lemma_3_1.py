"""Lemma 3.1 (decoder gradient): property tests on generated models of every fusion, and a mutation test."""

from __future__ import annotations

import pytest
from hypothesis import given, target
from hypothesis import strategies as st

from lipbound.claims import get_claim
from lipbound.claims.lemma_3_1 import evaluators as lemma_3_1
from strategies import FUSIONS, SMALL_CONCAT_CASE, autoencoder_cases


@pytest.mark.parametrize("reading", ["formula", "locality"], ids=lambda r: f"lemma-3.1::{r}")
@pytest.mark.parametrize("fusion", FUSIONS)
@given(data=st.data())
def test_lemma_3_1(fusion, reading, data):
    case = data.draw(autoencoder_cases(fusion))
    out = get_claim("lemma-3.1").evaluators[reading].evaluate(case)
    target(out.measured, label="relative error")
    assert out.ok, out.counterexample


def test_lemma_3_1_detects_a_wrong_factor(monkeypatch):
    """lemma-3.1: halving the formula (a missing factor 2) is caught."""
    right = lemma_3_1.decoder_gradient_formula
    monkeypatch.setattr(lemma_3_1, "decoder_gradient_formula",
                        lambda *a: {k: 0.5 * v for k, v in right(*a).items()})
    assert not lemma_3_1.EVALUATORS["formula"].evaluate(SMALL_CONCAT_CASE).ok
