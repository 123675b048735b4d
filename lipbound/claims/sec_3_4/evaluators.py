r"""Numeric evaluators for the Section 3.4 claim that the gradient of the fused latent w.r.t. encoder
:math:`i`'s parameters is equally Lipschitz under sum and concatenation.

With the same encoders and parameters, :math:`J_{\theta_{E_i}} z_{cat}` is
:math:`J_{\theta_{E_i}} z_{sum}` padded with zero rows, so every singular value and the Frobenius norm
agree (reading ``jacobian-norms-equal``), and so do difference quotients of the two Jacobian maps
(reading ``lipschitz-equal``), w.r.t. :math:`\theta_{E_i}` and w.r.t. the input.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ...models import ConcatFusion, SumFusion
from .._cases import build_autoencoder, case_inputs, flat_param_jacobian, fused_latent_fn, params_of, sample_autoencoder_case
from .._ledger import Evaluator, Outcome
from .._shared.zoo_cases import zoo_cases

#: Both Jacobians are the same float64 numbers (one of them zero-padded); their SVDs run on
#: matrices with identical nonzero rows, so the norms agree to a few unit roundoffs. 1e-12 relative.
NORM_EQ_RTOL = 1e-12


def _pair(model):
    dims = model.latent_dims
    return SumFusion(dims).double(), ConcatFusion(dims).double()


def _rel(a: float, b: float) -> float:
    s = max(abs(a), abs(b))
    return 0.0 if s == 0.0 else abs(a - b) / s


def _jac(model, xs, i, fusion, p):
    fn = fused_latent_fn(model, xs, i, fusion=fusion)
    return flat_param_jacobian(fn, p)


def _label(case: dict[str, Any]) -> str:
    return f"trained:{case['zoo']}" if "zoo" in case else f"generated:{case['activation']}"


def _norms_equal(case: dict[str, Any]) -> Outcome:
    model = build_autoencoder(case)
    xs = case_inputs(model, case)
    fsum, fcat = _pair(model)
    worst = 0.0
    for i, enc in enumerate(model.encoders):
        p = params_of(enc)
        js, jc = _jac(model, xs, i, fsum, p), _jac(model, xs, i, fcat, p)
        for ord_ in (2, "fro"):
            worst = max(worst, _rel(float(torch.linalg.matrix_norm(js, ord=ord_)),
                                    float(torch.linalg.matrix_norm(jc, ord=ord_))))
    ok = worst <= NORM_EQ_RTOL
    return Outcome(ok, worst, NORM_EQ_RTOL, None if ok else {**case, "max_rel_diff": worst}, label=_label(case))


def _lipschitz_equal(case: dict[str, Any]) -> Outcome:
    model = build_autoencoder(case)
    xs = case_inputs(model, case)
    fsum, fcat = _pair(model)
    rng = np.random.default_rng(case["input_seed"] + 7)
    worst = 0.0
    for i, enc in enumerate(model.encoders):
        p = params_of(enc)
        step = 10.0 ** rng.uniform(-3, 0)
        q = {n: v + step * torch.from_numpy(rng.standard_normal(tuple(v.shape))) for n, v in p.items()}
        dtheta = float(torch.cat([(q[n] - p[n]).reshape(-1) for n in p]).norm())
        xs2 = list(xs)
        xs2[i] = xs[i] + step * torch.from_numpy(rng.standard_normal(tuple(xs[i].shape)))
        dx = float((xs2[i] - xs[i]).norm())
        for fusion_pair in [(fsum, fcat)]:
            fs, fc = fusion_pair
            # quotient w.r.t. parameters
            qs = float(torch.linalg.matrix_norm(_jac(model, xs, i, fs, p) - _jac(model, xs, i, fs, q), 2)) / dtheta
            qc = float(torch.linalg.matrix_norm(_jac(model, xs, i, fc, p) - _jac(model, xs, i, fc, q), 2)) / dtheta
            worst = max(worst, _rel(qs, qc))
            # quotient w.r.t. encoder i's input
            qs = float(torch.linalg.matrix_norm(_jac(model, xs, i, fs, p) - _jac(model, xs2, i, fs, p), 2)) / dx
            qc = float(torch.linalg.matrix_norm(_jac(model, xs, i, fc, p) - _jac(model, xs2, i, fc, p), 2)) / dx
            worst = max(worst, _rel(qs, qc))
    ok = worst <= NORM_EQ_RTOL
    return Outcome(ok, worst, NORM_EQ_RTOL, None if ok else {**case, "max_rel_diff": worst}, label=_label(case))


def _sample(rng: np.random.Generator, index: int) -> dict[str, Any]:
    return sample_autoencoder_case(rng, "sum")


def _trained(fixtures) -> list[dict[str, Any]]:
    cases = zoo_cases(fixtures, kind="mlp")
    if not cases:
        return []
    from ...zoo import get_spec

    # the sum needs equal latent widths; zoo models with unequal widths are skipped
    return [c for c in cases if len(set(get_spec(c["zoo"]).latent_dims)) == 1]


EVALUATORS = {
    "jacobian-norms-equal": Evaluator(
        sample=_sample, evaluate=_norms_equal,
        method=f"float64 jacrev of theta_Ei -> z under sum and concat fusion of the same encoders; spectral and "
               f"Frobenius norms equal to relative {NORM_EQ_RTOL:g}",
        fixed_cases=_trained),
    "lipschitz-equal": Evaluator(
        sample=_sample, evaluate=_lipschitz_equal,
        method=f"difference quotients ||J(a) - J(b)||_2 / ||a - b|| in theta_Ei and in x_i, sum vs concat, equal to "
               f"relative {NORM_EQ_RTOL:g}",
        fixed_cases=_trained),
}
