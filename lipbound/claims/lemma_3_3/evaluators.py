r"""Evaluators of Lemma 3.3: under concatenation the Jacobian of the fused latent :math:`z` w.r.t.
encoder :math:`i`'s parameters is block sparse: encoder :math:`i`'s Jacobian in block :math:`i`, zero elsewhere."""

from __future__ import annotations

from typing import Any

import torch

from .._cases import build_autoencoder, case_inputs, rel_err, sample_autoencoder_case
from .._ledger import Evaluator, Outcome
from .._shared.fusion_jacobian import FUSION_RTOL, case_label, fusion_jacobians, other_encoder_grads
from .._shared.zoo_cases import zoo_cases


def _lemma33(case: dict[str, Any]) -> Outcome:
    model = build_autoencoder(case)
    xs = case_inputs(model, case)
    dims = model.latent_dims
    worst, off = 0.0, 0.0
    for i in range(model.num_modalities):
        jz, je = fusion_jacobians(model, xs, i)
        start = sum(dims[:i])
        if jz.shape != (sum(dims), je.shape[1]):
            return Outcome(False, float("inf"), FUSION_RTOL, {**case, "shape": list(jz.shape)}, label=case_label(case))
        worst = max(worst, rel_err(jz[start : start + dims[i]], je))
        mask = torch.ones(jz.shape[0], dtype=torch.bool)
        mask[start : start + dims[i]] = False
        if mask.any():
            off = max(off, float(jz[mask].abs().max()))
    ok = worst <= FUSION_RTOL and off == 0.0
    cex = None if ok else {**case, "max_rel_err": worst, "max_off_block": off}
    return Outcome(ok, worst, FUSION_RTOL, cex, label=case_label(case))


EVALUATORS = {
    "formula": Evaluator(
        sample=lambda rng, k: sample_autoencoder_case(rng, "concat"),
        evaluate=_lemma33,
        method=(f"float64 jacrev of theta_Ei -> concat fusion: block i vs jacrev of E_i (relative error <= "
                f"{FUSION_RTOL:g}), all other rows exactly 0, shape (sum d_k, p_i)"),
        fixed_cases=lambda fx: zoo_cases(fx, "concat"),
    ),
}

