r"""Numeric evaluators for Theorem 4.2 (Lipschitz constant of the attention Jacobian on :math:`B_R`)
and the scaling measurements of its docs page (:func:`scaling_table`).

Lower bounds are evaluations :math:`\lVert dJ(x^*)[v^*]\rVert_2` at a feasible point and a unit
direction found by projected ascent, re-evaluated with ``jvp(jacrev(f))`` of the true map, so
``lower <= Lip(J; B_R)``.

The readings ending in ``-others`` / ``-others-over-M`` are the same statements for the j != i readings
of Definition 4.1 (:math:`\alpha_i = \tfrac1c \sum_{j \ne i} s_{ij}`, :math:`c = M - 1` / :math:`M`), with
the map, the ascent and lipbound's bound (:func:`~lipbound.claims._shared.attention.thm42_bound` with
``pairs``) of that reading.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch.func import jacrev, jvp

from .._ledger import Evaluator, Outcome
from .._shared.attention import attention_map, lower_jacobian_lipschitz, norm_constants, thm42_bound
from .._shared.attention_cases import case_weights, sample_weights_case, serial

BOUND_RTOL = 1e-9  # as in thm_4_1: float64 SVDs, errors ~1e-14
IDENTITY_RTOL = 1e-12
STARTS, STEPS = 4, 30
#: The generous constant used to make the paper's "C_M W_max^3 R" concrete: C_M = 1000 M.
C_PER_MODALITY = 1000.0


#: refutations need any valid lower bound, not the best one: a short ascent suffices
REFUTE_STEPS = 8


def _lower(ws, radius, seed, steps=STEPS, pairs="all"):
    return lower_jacobian_lipschitz(ws, radius, n_starts=STARTS, steps=steps, seed=seed, pairs=pairs)


def _cex(case, ws, **extra):
    return {**{k: v for k, v in case.items() if k != "weights"}, "weights": serial(ws), **extra}


def _our_bound(case, pairs="all"):
    ws = case_weights(case)
    low, x, v = _lower(ws, case["R"], case["seed"], pairs=pairs)
    up = thm42_bound(ws, case["R"]) if pairs == "all" else thm42_bound(ws, case["R"], pairs)
    ok = low <= up * (1 + BOUND_RTOL)
    return Outcome(ok, low, up, None if ok else _cex(case, ws, x=x.tolist(), v=v.tolist()), label=case["family"])


def _homogeneity(case, pairs="all"):
    ws = case_weights(case)
    rng = np.random.default_rng(case["seed"] + 1)
    x = torch.from_numpy(rng.standard_normal(sum(w.shape[1] for w in ws)))
    t, c = float(rng.uniform(0.2, 5.0)), float(rng.uniform(0.2, 5.0))
    fx = attention_map(ws, x, pairs)
    errs = [float((attention_map([t * w for w in ws], x, pairs) - t**2 * fx).norm()
                  / max(float(fx.norm()) * t**2, 1e-300)),
            float((attention_map(ws, c * x, pairs) - c**3 * fx).norm() / max(float(fx.norm()) * c**3, 1e-300))]
    err = max(errs)
    ok = err <= IDENTITY_RTOL
    return Outcome(ok, err, IDENTITY_RTOL, None if ok else _cex(case, ws, t=t, c=c), label=case["family"])


def _second_derivative_norm(ws, x, v, pairs="all") -> float:
    return float(torch.linalg.matrix_norm(jvp(jacrev(lambda y: attention_map(ws, y, pairs)), (x,), (v,))[1], ord=2))


def _cubic_in_w(case, pairs="all"):
    """With C_M = 1000 M, shrink the weights until the cubic bound falls below a measured value."""
    ws = case_weights(case)
    low, x, v = _lower(ws, case["R"], case["seed"], steps=REFUTE_STEPS, pairs=pairs)
    wmax = norm_constants(ws)["w_max"]
    if low == 0.0 or wmax == 0.0:
        return Outcome(True, 0.0, 1.0, label=case["family"])
    c_m = C_PER_MODALITY * len(ws)
    t = low / (2 * c_m * wmax**3 * case["R"])
    low_t = _second_derivative_norm([t * w for w in ws], x, v, pairs)  # an evaluation at the scaled weights
    bound_t = c_m * (t * wmax) ** 3 * case["R"]
    ok = low_t <= bound_t * (1 + BOUND_RTOL)
    cex = None if ok else _cex(case, ws, C_M=c_m, t=t, lower_at_tW=low_t, cubic_bound_at_tW=bound_t,
                               x=x.tolist(), v=v.tolist())
    return Outcome(ok, low_t, bound_t, cex, label=case["family"])


def unit_norm_weights(m: int, k: int, d: int, seed: int) -> list[torch.Tensor]:
    """M random k x d matrices, each scaled to spectral norm 1."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(m):
        a = rng.standard_normal((k, d))
        out.append(torch.tensor(a / np.linalg.norm(a, 2), dtype=torch.float64))
    return out


def _linear_in_m(case, pairs="all"):
    """Violated when the certified bound at 8 M is below 4 x a lower bound at M (unit-norm weights)."""
    m0, k, d, r = case["M"], case["k"], max(case["dims"]), case["R"]
    big = unit_norm_weights(8 * m0, k, d, case["seed"])
    low, _, _ = _lower(big[:m0], r, case["seed"], steps=REFUTE_STEPS, pairs=pairs)
    up_big = thm42_bound(big, r) if pairs == "all" else thm42_bound(big, r, pairs)
    ok = not (up_big < 4 * low * (1 - BOUND_RTOL))
    cex = None if ok else {"M": m0, "k": k, "d": d, "R": r, "seed": case["seed"], "lower_at_M": low,
                           "certified_upper_at_8M": up_big, "linear_growth_needs_at_least": 4 * low}
    return Outcome(ok, 4 * low, up_big, cex, label=f"M={m0}->{8 * m0}")


def scaling_table(seed: int = 0, k: int = 4, d: int = 4, radius: float = 1.0) -> dict[str, list[dict[str, float]]]:
    """Measured Lip(J) (lower bound, ascent with 6 starts x 50 steps) and lipbound's bound as the
    weights are scaled by t (M = 3) and as M grows (unit-norm weights), with fitted log-log slopes."""
    base = unit_norm_weights(3, k, d, seed)
    rows_t = []
    for t in (0.25, 0.5, 1.0, 2.0, 4.0):
        ws = [t * w for w in base]
        low = lower_jacobian_lipschitz(ws, radius, n_starts=6, steps=50, seed=seed)[0]
        rows_t.append({"t": t, "lower": low, "our_bound": thm42_bound(ws, radius), "W_max^3 R": t**3 * radius})
    rows_m = []
    for m in (2, 4, 8, 16, 32):
        ws = unit_norm_weights(m, k, d, seed)
        low = lower_jacobian_lipschitz(ws, radius, n_starts=6, steps=50, seed=seed)[0]
        rows_m.append({"M": m, "lower": low, "our_bound": thm42_bound(ws, radius)})

    def slope(xs, ys):
        return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])

    return {"t": rows_t, "M": rows_m,
            "slope_t": slope([r["t"] for r in rows_t], [r["lower"] for r in rows_t]),
            "slope_M": slope([r["M"] for r in rows_m], [r["lower"] for r in rows_m])}


def scaling_markdown(seed: int = 0) -> str:
    """The scaling tables of docs/claims/thm-4.2.md, as Markdown."""
    tab = scaling_table(seed)
    lines = ["| t | lower bound of Lip(J) | lipbound's bound | paper's form W_max^3 R (C_M = 1) |", "|---|---|---|---|"]
    lines += [f"| {r['t']:g} | {r['lower']:.6g} | {r['our_bound']:.6g} | {r['W_max^3 R']:.6g} |" for r in tab["t"]]
    lines += ["", f"Fitted log-log slope of the lower bound in t: **{tab['slope_t']:.4f}** (the paper's form: 3).", "",
              "| M | lower bound of Lip(J) | lipbound's bound |", "|---|---|---|"]
    lines += [f"| {r['M']} | {r['lower']:.6g} | {r['our_bound']:.6g} |" for r in tab["M"]]
    lines += ["", f"Fitted log-log slope of the lower bound in M: **{tab['slope_M']:.4f}** (linear growth: 1)."]
    return "\n".join(lines)


_M = (f"projected ascent ({STARTS} starts x {STEPS} steps) over x in B_R and unit v for a lower bound "
      f"||dJ(x*)[v*]||_2 (float64 jvp of jacrev), against the closed-form bound; relative tolerance {BOUND_RTOL:g}")

EVALUATORS = {
    "our-bound": Evaluator(sample=sample_weights_case, evaluate=_our_bound, method=_M),
    "homogeneity": Evaluator(sample=sample_weights_case, evaluate=_homogeneity,
                             method=f"f(x; tW) == t^2 f(x; W) and f(cx) == c^3 f(x), relative {IDENTITY_RTOL:g}"),
    "cubic-in-w": Evaluator(sample=sample_weights_case, evaluate=_cubic_in_w,
                            method=(f"C_M = {C_PER_MODALITY:g} M; weights shrunk by t = lower/(2 C_M W_max^3 R); "
                                    "measured ||dJ[v]|| at tW vs C_M (t W_max)^3 R")),
    "linear-in-M": Evaluator(sample=sample_weights_case, evaluate=_linear_in_m,
                             method="unit-norm weights: lower bound at M (ascent) vs certified bound at 8M"),
}



def witness_cubic_in_w() -> dict[str, Any]:
    """M = 2 scalar modalities, W_i = 1, R = 1 (the family of ``lipbound/claims/thm_4_2/proof.py``): shrunk by t, the
    measured second derivative ~ t^2 exceeds 1000 M t^3."""
    return {"family": "witness", "M": 2, "k": 1, "dims": [1, 1], "R": 1.0, "seed": 0, "weights": [[[1.0]], [[1.0]]]}


def witness_linear_in_m() -> dict[str, Any]:
    """Scalar modalities with unit weights (W_i = +-1), R = 1: a lower bound at M = 2 against the certified
    bound at M = 16."""
    return {"family": "witness", "M": 2, "k": 1, "dims": [1, 1], "R": 1.0, "seed": 0}


#: the j != i readings of Definition 4.1, as reading-name suffixes
J_NE_I = ("others", "others-over-M")
for _p in J_NE_I:
    _r = f" (pairs={_p!r}: the map, Jacobian and bound of that reading of Definition 4.1)"
    EVALUATORS[f"our-bound-{_p}"] = Evaluator(sample=sample_weights_case, evaluate=lambda case, p=_p: _our_bound(case, p),
                                              method=_M + _r)
    EVALUATORS[f"homogeneity-{_p}"] = Evaluator(
        sample=sample_weights_case, evaluate=lambda case, p=_p: _homogeneity(case, p),
        method=f"f(x; tW) == t^2 f(x; W) and f(cx) == c^3 f(x), relative {IDENTITY_RTOL:g}" + _r)
    EVALUATORS[f"cubic-in-w-{_p}"] = Evaluator(
        sample=sample_weights_case, evaluate=lambda case, p=_p: _cubic_in_w(case, p),
        method=(f"C_M = {C_PER_MODALITY:g} M; weights shrunk by t = lower/(2 C_M W_max^3 R); "
                "measured ||dJ[v]|| at tW vs C_M (t W_max)^3 R" + _r), witness=witness_cubic_in_w)
    EVALUATORS[f"linear-in-M-{_p}"] = Evaluator(
        sample=sample_weights_case, evaluate=lambda case, p=_p: _linear_in_m(case, p),
        method="unit-norm weights: lower bound at M (ascent) vs certified bound at 8M" + _r, witness=witness_linear_in_m)

__all__ = ["EVALUATORS", "scaling_markdown", "scaling_table", "unit_norm_weights", "math"]


if __name__ == "__main__":  # python -m lipbound.claims.thm_4_2.evaluators  -> the docs page's tables
    print(scaling_markdown(seed=0))
