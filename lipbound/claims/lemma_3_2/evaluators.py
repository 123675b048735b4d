r"""Numeric evaluator for Lemma 3.2 (loss gradient w.r.t. encoder parameters).

Reading ``formula``:
:math:`\nabla_{\theta_{E_i}} L = -2 \sum_{j=1}^M (J_{\theta_{E_i}} z)^\top (J_z D_j(z))^\top (x_j - D_j(z))`,
assembled from :func:`torch.func.jacrev` Jacobians and compared with :func:`torch.autograd.grad`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.func import jacrev

from .._cases import GRAD_RTOL, build_autoencoder, case_inputs, fused_latent_fn, params_of, rel_err, sample_autoencoder_case
from .._ledger import Evaluator, Outcome
from .._shared.zoo_cases import zoo_cases


def encoder_gradient_formula(model, xs, i: int) -> dict[str, torch.Tensor]:
    r"""Lemma 3.2's right side, per parameter of encoder ``i``."""
    p = params_of(model.encoders[i])
    fz = fused_latent_fn(model, xs, i)
    jz = jacrev(fz)(p)  # name -> (dz, *shape)
    with torch.no_grad():
        z = fz(p).reshape(1, -1)
    v = torch.zeros(z.shape[-1], dtype=z.dtype)
    for j, dec in enumerate(model.decoders):
        jd = jacrev(lambda zz: dec(zz.reshape(1, -1)).reshape(-1))(z.reshape(-1))  # (out_j, dz)
        with torch.no_grad():
            r = (xs[j] - dec(z)).reshape(-1)
        v = v + jd.T @ r
    return {n: -2.0 * torch.tensordot(v, jz[n], dims=1) for n in p}


def _formula(case: dict[str, Any]) -> Outcome:
    model = build_autoencoder(case)
    xs = case_inputs(model, case)
    loss = model.loss(xs, reduction="sum")
    worst = 0.0
    for i, enc in enumerate(model.encoders):
        names = [n for n, _ in enc.named_parameters()]
        auto = torch.autograd.grad(loss, list(enc.parameters()), retain_graph=True)
        form = encoder_gradient_formula(model, xs, i)
        a = torch.cat([g.reshape(-1) for g in auto])
        f = torch.cat([form[n].reshape(-1) for n in names])
        worst = max(worst, rel_err(f, a))
    ok = worst <= GRAD_RTOL
    label = f"trained:{case['zoo']}" if "zoo" in case else f"generated:{case['fusion']}-{case['activation']}"
    return Outcome(ok, worst, GRAD_RTOL, None if ok else dict(case), label=label)


EVALUATORS = {
    "formula": Evaluator(
        sample=lambda rng, k: sample_autoencoder_case(rng),
        evaluate=_formula,
        method=f"float64 torch.func.jacrev formula (all decoders) vs torch.autograd.grad; max relative error <= {GRAD_RTOL:g}",
        fixed_cases=lambda fx: zoo_cases(fx, kind=None),
    ),
}
