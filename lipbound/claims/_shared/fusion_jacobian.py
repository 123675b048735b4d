r"""What the evaluators of Eq. (3) (sum fusion) and Lemma 3.3 (concatenation) share: the Jacobian of the
fused latent :math:`z` w.r.t. encoder :math:`i`'s parameters, and the tolerance they compare it with."""

from __future__ import annotations

from typing import Any

import torch
from torch.func import functional_call

from .._cases import flat_param_jacobian, fused_latent_fn, params_of

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


def other_encoder_grads(model, xs, i: int) -> float:
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


def case_label(case: dict[str, Any]) -> str:
    return f"trained:{case['zoo']}" if "zoo" in case else f"generated:{case['fusion']}-{case['activation']}"
