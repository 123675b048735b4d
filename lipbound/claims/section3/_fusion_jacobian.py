r"""Numeric evaluators for Eq. (3) (sum fusion) and Lemma 3.3 (concatenation): the Jacobian of the
fused latent :math:`z` w.r.t. encoder :math:`i`'s parameters."""

from __future__ import annotations

from typing import Any

import torch
from torch.func import functional_call

from .._cases import (
    EXACT,
    build_autoencoder,
    case_inputs,
    flat_param_jacobian,
    fused_latent_fn,
    params_of,
    rel_err,
    sample_autoencoder_case,
)
from .._ledger import Evaluator, Outcome
from ._zoo_cases import zoo_cases

#: The fused Jacobian and the encoder's own Jacobian go through different torch graphs (sum adds
#: constants, cat copies) but the same floating-point operations on encoder i, so they agree to
#: roundoff; 1e-12 relative is a thousand unit roundoffs.
FUSION_RTOL = 1e-12


def fusion_jacobians(model, xs, i: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(J_{theta_Ei} z, J_{theta_Ei} E_i)`` as matrices ``(dz, p_i)`` and ``(d_i, p_i)``."""
    p = params_of(model.encoders[i])
    jz = flat_param_jacobian(fused_latent_fn(model, xs, i), p)
    je = flat_param_jacobian(lambda q: functional_call(model.encoders[i], q, (xs[i],)).reshape(-1), p)
    return jz, je


def _other_encoder_grads(model, xs, i: int) -> float:
    """Largest |d E_k / d theta_Ei| entry over k != i (autograd; unused parameters count as 0)."""
    worst = 0.0
    params = list(model.encoders[i].parameters())
    for k, (e, x) in enumerate(zip(model.encoders, xs)):
        if k == i:
            continue
        out = e(x).reshape(-1)
        for a in range(out.numel()):
            gs = torch.autograd.grad(out[a], params, retain_graph=True, allow_unused=True)
            worst = max([worst] + [float(g.abs().max()) for g in gs if g is not None])
    return worst


def _label(case: dict[str, Any]) -> str:
    return f"trained:{case['zoo']}" if "zoo" in case else f"generated:{case['fusion']}-{case['activation']}"


def _eq3(case: dict[str, Any]) -> Outcome:
    model = build_autoencoder(case)
    xs = case_inputs(model, case)
    worst, off = 0.0, 0.0
    for i in range(model.num_modalities):
        jz, je = fusion_jacobians(model, xs, i)
        if jz.shape != je.shape:  # not a sum fusion of this encoder's width
            return Outcome(False, float("inf"), FUSION_RTOL, {**case, "shapes": [list(jz.shape), list(je.shape)]},
                           label=_label(case))
        worst = max(worst, rel_err(jz, je))
        off = max(off, _other_encoder_grads(model, xs, i))
    ok = worst <= FUSION_RTOL and off == 0.0
    cex = None if ok else {**case, "max_rel_err": worst, "max_cross_derivative": off}
    return Outcome(ok, worst, FUSION_RTOL, cex, label=_label(case))


def _lemma33(case: dict[str, Any]) -> Outcome:
    model = build_autoencoder(case)
    xs = case_inputs(model, case)
    dims = model.latent_dims
    worst, off = 0.0, 0.0
    for i in range(model.num_modalities):
        jz, je = fusion_jacobians(model, xs, i)
        start = sum(dims[:i])
        if jz.shape != (sum(dims), je.shape[1]):
            return Outcome(False, float("inf"), FUSION_RTOL, {**case, "shape": list(jz.shape)}, label=_label(case))
        worst = max(worst, rel_err(jz[start : start + dims[i]], je))
        mask = torch.ones(jz.shape[0], dtype=torch.bool)
        mask[start : start + dims[i]] = False
        if mask.any():
            off = max(off, float(jz[mask].abs().max()))
    ok = worst <= FUSION_RTOL and off == 0.0
    cex = None if ok else {**case, "max_rel_err": worst, "max_off_block": off}
    return Outcome(ok, worst, FUSION_RTOL, cex, label=_label(case))


EQ3_EVALUATORS = {
    "formula": Evaluator(
        sample=lambda rng, k: sample_autoencoder_case(rng, "sum"),
        evaluate=_eq3,
        method=(f"float64 jacrev of theta_Ei -> sum fusion vs jacrev of E_i, relative error <= {FUSION_RTOL:g}; "
                "autograd dE_k/dtheta_Ei (k != i) exactly 0"),
        fixed_cases=lambda: zoo_cases("sum"),
    ),
}

LEMMA33_EVALUATORS = {
    "formula": Evaluator(
        sample=lambda rng, k: sample_autoencoder_case(rng, "concat"),
        evaluate=_lemma33,
        method=(f"float64 jacrev of theta_Ei -> concat fusion: block i vs jacrev of E_i (relative error <= "
                f"{FUSION_RTOL:g}), all other rows exactly 0, shape (sum d_k, p_i)"),
        fixed_cases=lambda: zoo_cases("concat"),
    ),
}

# EXACT is re-exported for symmetry with the other evaluators' exact-zero checks
__all__ = ["EQ3_EVALUATORS", "EXACT", "LEMMA33_EVALUATORS", "fusion_jacobians"]
