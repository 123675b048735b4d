r"""Numeric evaluators for Theorem 4.1 (Lipschitz constant of the attention map on :math:`B_R`).

Lower bounds are evaluations: :math:`\lVert J(x^*)\rVert_2` at a feasible point found by projected
gradient ascent (:func:`~lipbound.claims.section4._attention.lower_lipschitz`), so
``lower <= Lip(f; B_R)`` always. Upper bounds are the closed forms, proved in ``proofs/thm_4_1.py``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .._ledger import Evaluator, Outcome
from ._attention import PAPER_41_CONSTANT, attention_map, lower_lipschitz, norm_constants, paper41_bound, thm41_bound
from ._cases import case_weights, sample_weights_case, serial

#: Relative tolerance for "lower <= bound": the lower bound is a float64 SVD of an autograd Jacobian
#: (relative error ~1e-14), the bound a few float64 SVD norms (~1e-15); 1e-9 is far above both.
BOUND_RTOL = 1e-9
#: Homogeneity identities f(cx) = c^3 f(x): the same float64 operations on scaled numbers, ~1e-15.
IDENTITY_RTOL = 1e-12
#: Ascent effort per case (starts x steps); enough to reach the corners where the sup sits in the
#: tight families, small enough for 50 cases per reading in seconds.
STARTS, STEPS = 6, 50


def _lower(ws, radius, seed):
    return lower_lipschitz(ws, radius, n_starts=STARTS, steps=STEPS, seed=seed)


def _cex(case, ws, **extra):
    return {**{k: v for k, v in case.items() if k != "weights"}, "weights": serial(ws), **extra}


def _our_bound(case):
    ws = case_weights(case)
    low, x = _lower(ws, case["R"], case["seed"])
    up = thm41_bound(ws, case["R"])
    ok = low <= up * (1 + BOUND_RTOL)
    return Outcome(ok, low, up, None if ok else _cex(case, ws, x=x.tolist()), label=case["family"])


def _paper_bound(case):
    ws = case_weights(case)
    low, x = _lower(ws, case["R"], case["seed"])
    up = paper41_bound(ws, case["R"])
    ok = low <= up * (1 + BOUND_RTOL)
    return Outcome(ok, low, up, None if ok else _cex(case, ws, x=x.tolist()), label=case["family"])


def _quadratic_in_r(case):
    ws = case_weights(case)
    rng = np.random.default_rng(case["seed"] + 1)
    n = sum(w.shape[1] for w in ws)
    x = torch.from_numpy(rng.standard_normal(n))
    c = float(rng.uniform(0.2, 5.0))
    a, b = attention_map(ws, c * x), c**3 * attention_map(ws, x)
    err = float((a - b).norm() / max(float(b.norm()), 1e-300))
    ok = err <= IDENTITY_RTOL
    return Outcome(ok, err, IDENTITY_RTOL, None if ok else _cex(case, ws, c=c), label=case["family"])


def _linear_in_w(case):
    """Violated when a certified upper bound of Lip at W, times t, is below a lower bound at tW."""
    ws = case_weights(case)
    t = float(np.random.default_rng(case["seed"] + 2).uniform(2.0, 4.0))
    low_t, _ = _lower([t * w for w in ws], case["R"], case["seed"])
    up_1 = thm41_bound(ws, case["R"])
    ok = not (low_t > t * up_1 * (1 + BOUND_RTOL))
    cex = None if ok else _cex(case, ws, t=t, lower_at_tW=low_t, certified_upper_at_W=up_1,
                               linear_prediction_max=t * up_1)
    return Outcome(ok, low_t, t * up_1, cex, label=case["family"])


def _scaled_to(case, q):
    """The case's weights rescaled so that sqrt(10) R^2 W_max^2 = q."""
    ws = case_weights(case)
    wmax = norm_constants(ws)["w_max"]
    if wmax == 0.0:
        return ws
    s = math.sqrt(q / (PAPER_41_CONSTANT * case["R"] ** 2)) / wmax
    return [s * w for w in ws]


def _regime_below(case):
    q = float(np.random.default_rng(case["seed"] + 3).uniform(0.3, 0.999))
    ws = _scaled_to(case, q)
    up = thm41_bound(ws, case["R"])
    ok = up < 1.0
    return Outcome(ok, up, 1.0, None if ok else _cex(case, ws, premise=q), label=case["family"])


def _regime_above(case):
    """Violated when the premise sqrt(10) R^2 omega > 1 holds but a certified bound shows Lip < 1."""
    q = float(np.random.default_rng(case["seed"] + 4).uniform(1.0001, 1.5))
    ws = case_weights(case) if "weights" in case else _scaled_to(case, q)
    premise = paper41_bound(ws, case["R"])
    up = thm41_bound(ws, case["R"])
    ok = not (premise > 1.0 and up < 1.0)
    cex = None if ok else _cex(case, ws, premise_sqrt10_R2_omega=premise, certified_upper=up)
    return Outcome(ok, up, 1.0, cex, label=case.get("family", "witness"))


def witness_regime_above() -> dict[str, Any]:
    """M = 2 scalar modalities, W_1 = W_2 = sqrt(0.32), R = 1: sqrt(10) * 0.32 > 1 but Lip <= 3 * 0.32 = 0.96."""
    w = math.sqrt(0.32)
    return {"family": "witness", "R": 1.0, "seed": 0, "weights": [[[w]], [[w]]]}


def witness_linear_in_w() -> dict[str, Any]:
    """M = 2 scalar modalities with W_i = 1, R = 1: Lip = 3 exactly (bracket closes), and at t = 2 it is 12, not 6."""
    return {"family": "witness", "R": 1.0, "seed": 0, "weights": [[[1.0]], [[1.0]]]}


_M = (f"projected gradient ascent ({STARTS} starts x {STEPS} steps) for a lower bound ||J(x*)||_2 "
      f"(float64 jacrev), against the closed-form bound; relative tolerance {BOUND_RTOL:g}")

EVALUATORS = {
    "our-bound": Evaluator(sample=sample_weights_case, evaluate=_our_bound,
                           method=_M + "; ratio = lower / lipbound's certified bound"),
    "paper-bound": Evaluator(sample=sample_weights_case, evaluate=_paper_bound,
                             method=_M + "; ratio = lower / (sqrt(10) R^2 W_max^2)"),
    "quadratic-in-R": Evaluator(sample=sample_weights_case, evaluate=_quadratic_in_r,
                                method=f"f(cx) == c^3 f(x) at sampled x, relative {IDENTITY_RTOL:g}"),
    "linear-in-w": Evaluator(sample=sample_weights_case, evaluate=_linear_in_w,
                             method="lower bound at tW (ascent) vs t x certified upper bound at W, t in [2, 4]",
                             witness=witness_linear_in_w),
    "regime-below": Evaluator(sample=sample_weights_case, evaluate=_regime_below,
                              method="weights scaled so sqrt(10) R^2 W_max^2 in (0.3, 1); certified bound < 1 required"),
    "regime-above": Evaluator(sample=sample_weights_case, evaluate=_regime_above,
                              method="weights scaled so sqrt(10) R^2 W_max^2 in (1, 1.5); a certified bound < 1 refutes",
                              witness=witness_regime_above),
}
