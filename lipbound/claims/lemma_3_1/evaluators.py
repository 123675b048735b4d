r"""Numeric evaluators for Lemma 3.1 (loss gradient w.r.t. decoder parameters).

Reading ``formula``: :math:`\nabla_{\theta_{D_j}} L = -2\,(J_{\theta_{D_j}} D_j(z))^\top (x_j - D_j(z))`,
with :math:`L = \sum_k \lVert x_k - D_k(z)\rVert^2`. The right side is assembled from
:func:`torch.func.jacrev` Jacobians and compared with :func:`torch.autograd.grad` of the loss.

Reading ``locality``: for :math:`k \ne j`, :math:`\nabla_{\theta_{D_j}} \lVert x_k - D_k(z)\rVert^2 = 0`
exactly ("the sum vanishes").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.func import functional_call, jacrev

from .._cases import (
    EXACT,
    GRAD_RTOL,
    build_autoencoder,
    case_inputs,
    params_of,
    rel_err,
    sample_autoencoder_case,
)
from .._ledger import Evaluator, Outcome
from .._shared.zoo_cases import zoo_cases


def decoder_gradient_formula(model, xs, j: int) -> dict[str, torch.Tensor]:
    r"""Lemma 3.1's right side :math:`-2 (J_{\theta_{D_j}} D_j(z))^\top (x_j - D_j(z))`, per parameter."""
    with torch.no_grad():
        z = model.fuse(model.encode(xs))
    dec = model.decoders[j]
    p = params_of(dec)
    jac = jacrev(lambda q: functional_call(dec, q, (z,)))(p)
    with torch.no_grad():
        r = xs[j] - dec(z)
    return {n: -2.0 * torch.tensordot(r, jac[n], dims=r.ndim) for n in p}


def _formula(case: dict[str, Any]) -> Outcome:
    model = build_autoencoder(case)
    xs = case_inputs(model, case)
    loss = model.loss(xs, reduction="sum")
    worst = 0.0
    for j, dec in enumerate(model.decoders):
        names = [n for n, _ in dec.named_parameters()]
        auto = torch.autograd.grad(loss, list(dec.parameters()), retain_graph=True)
        form = decoder_gradient_formula(model, xs, j)
        a = torch.cat([g.reshape(-1) for g in auto])
        f = torch.cat([form[n].reshape(-1) for n in names])
        worst = max(worst, rel_err(f, a))
    ok = worst <= GRAD_RTOL
    return Outcome(ok, worst, GRAD_RTOL, None if ok else dict(case), label=_label(case))


def _locality(case: dict[str, Any]) -> Outcome:
    model = build_autoencoder(case)
    xs = case_inputs(model, case)
    recon = model(xs)
    worst = 0.0
    m = model.num_modalities
    for k in range(m):
        lk = (xs[k] - recon[k]).pow(2).sum()
        for j in range(m):
            if j == k:
                continue
            grads = torch.autograd.grad(lk, list(model.decoders[j].parameters()), retain_graph=True,
                                        allow_unused=True)
            for g in grads:
                if g is not None:
                    worst = max(worst, float(g.abs().max()))
    ok = worst == 0.0
    return Outcome(ok, worst, EXACT, None if ok else dict(case), label=_label(case))


def _label(case: dict[str, Any]) -> str:
    return f"trained:{case['zoo']}" if "zoo" in case else f"generated:{case['fusion']}-{case['activation']}"


def _sample(rng: np.random.Generator, index: int) -> dict[str, Any]:
    return sample_autoencoder_case(rng)


EVALUATORS = {
    "formula": Evaluator(
        sample=_sample,
        evaluate=_formula,
        method=f"float64 torch.func.jacrev formula vs torch.autograd.grad; max relative error <= {GRAD_RTOL:g}",
        fixed_cases=lambda fx: zoo_cases(fx, kind=None),
    ),
    "locality": Evaluator(
        sample=_sample,
        evaluate=_locality,
        method="float64 torch.autograd.grad of each ||x_k - D_k(z)||^2 w.r.t. other decoders; must be exactly 0",
        fixed_cases=lambda fx: zoo_cases(fx, kind=None),
    ),
}
