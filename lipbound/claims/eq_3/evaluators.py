r"""Evaluators of Eq. (3): under sum fusion the Jacobian of the fused latent :math:`z` w.r.t. encoder
:math:`i`'s parameters is encoder :math:`i`'s own Jacobian (no other encoder depends on them)."""

from __future__ import annotations

from typing import Any

import torch

from .._cases import build_autoencoder, case_inputs, rel_err, sample_autoencoder_case
from .._ledger import Evaluator, Outcome
from .._shared.fusion_jacobian import FUSION_RTOL, case_label, fusion_jacobians, other_encoder_grads
from .._shared.zoo_cases import zoo_cases


def _eq3(case: dict[str, Any]) -> Outcome:
    model = build_autoencoder(case)
    xs = case_inputs(model, case)
    worst, off = 0.0, 0.0
    for i in range(model.num_modalities):
        jz, je = fusion_jacobians(model, xs, i)
        if jz.shape != je.shape:  # not a sum fusion of this encoder's width
            return Outcome(False, float("inf"), FUSION_RTOL, {**case, "shapes": [list(jz.shape), list(je.shape)]},
                           label=case_label(case))
        worst = max(worst, rel_err(jz, je))
        off = max(off, other_encoder_grads(model, xs, i))
    ok = worst <= FUSION_RTOL and off == 0.0
    cex = None if ok else {**case, "max_rel_err": worst, "max_cross_derivative": off}
    return Outcome(ok, worst, FUSION_RTOL, cex, label=case_label(case))


EVALUATORS = {
    "formula": Evaluator(
        sample=lambda rng, k: sample_autoencoder_case(rng, "sum"),
        evaluate=_eq3,
        method=(f"float64 jacrev of theta_Ei -> sum fusion vs jacrev of E_i, relative error <= {FUSION_RTOL:g}; "
                "autograd dE_k/dtheta_Ei (k != i) exactly 0"),
        fixed_cases=lambda fx: zoo_cases(fx, "sum"),
    ),
}

