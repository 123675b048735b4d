"""Lemma 3.2 (encoder gradient): property tests on generated models of every fusion, and a mutation test."""

from __future__ import annotations

import pytest
from hypothesis import given, target
from hypothesis import strategies as st

from lipbound.claims import get_claim
from lipbound.claims.lemma_3_2 import evaluators as lemma_3_2
from strategies import FUSIONS, SMALL_CONCAT_CASE, autoencoder_cases


@pytest.mark.parametrize("fusion", FUSIONS, ids=lambda f: f"lemma-3.2::formula-{f}")
@given(data=st.data())
def test_lemma_3_2(fusion, data):
    case = data.draw(autoencoder_cases(fusion))
    out = get_claim("lemma-3.2").evaluators["formula"].evaluate(case)
    target(out.measured, label="relative error")
    assert out.ok, out.counterexample


def test_lemma_3_2_detects_a_missing_decoder(monkeypatch):
    """lemma-3.2: keeping only decoder 0's term (a 'local' encoder gradient) is caught."""
    right = lemma_3_2.encoder_gradient_formula

    def local_only(model, xs, i):
        # targets equal to the reconstructions zero every residual but decoder 0's
        recon = model(xs)
        return right(model, [xs[0]] + [r.detach() for r in recon[1:]], i)

    monkeypatch.setattr(lemma_3_2, "encoder_gradient_formula", local_only)
    assert not lemma_3_2.EVALUATORS["formula"].evaluate(SMALL_CONCAT_CASE).ok
