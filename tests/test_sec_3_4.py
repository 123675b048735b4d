"""Section 3.4: the fusion Jacobian w.r.t. encoder parameters is equally Lipschitz under sum and concat."""

from __future__ import annotations

import pytest
from hypothesis import given

from lipbound.claims import get_claim
from lipbound.claims.sec_3_4 import evaluators as sec_3_4
from lipbound.models import ConcatFusion, SumFusion
from strategies import autoencoder_cases

EV = get_claim("sec-3.4").evaluators


@pytest.mark.parametrize("reading", list(EV), ids=lambda r: f"sec-3.4::{r}")
@given(case=autoencoder_cases("sum"))
def test_sec_3_4(reading, case):
    out = EV[reading].evaluate(case)
    assert out.ok, out.counterexample


def test_sec_3_4_detects_a_scaled_concat(monkeypatch):
    """If the concatenation were scaled (not a zero padding), the norms would differ: the check fails."""

    class Scaled(ConcatFusion):
        def fuse(self, latents):
            return 1.5 * super().fuse(latents)

    monkeypatch.setattr(sec_3_4, "_pair", lambda m: (SumFusion(m.latent_dims).double(), Scaled(m.latent_dims).double()))
    case = {"fusion": "sum", "M": 2, "in_dims": [2, 3], "latent_dims": [2, 2], "hidden": [3], "activation": "tanh",
            "init_seed": 3, "input_seed": 4, "input_scale": 1.0}
    assert not EV["jacobian-norms-equal"].evaluate(case).ok
    assert not EV["lipschitz-equal"].evaluate(case).ok
