r"""Numeric evaluators of ``mvae-kl-whole-vs-part``: random factorized Gaussians and trained models.

Sampled case: 2-5 modalities of widths 1-8, means and log-variances drawn from a seeded generator
in one of three families (``gaussian``: independent draws; ``near``: Q a small perturbation of P, so
the KLs are tiny and rounding matters most; ``one-block``: P and Q differ on one modality only).
Fixed cases: every run of :func:`~lipbound.claims.mvae._runs.ledger_runs`, all test samples and
all five modalities; they need the iCub data (``fixed_cases_data``), and without it the sampled
cases and the proof decide the readings.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ...mvae import gaussian_kl
from .._ledger import Evaluator, Outcome

#: "part <= whole" allows rounding: each per-dimension KL is a float64 expression of relative error
#: ~1e-15 (it may come out as -1e-17 instead of 0), and a sum of <= 40 of them adds ~40 ulps; we allow
#: 1e-12 * (1 + whole), far above that and far below any real violation (KLs of interest are >= 1e-6).
ORDER_TOL = 1e-12
#: additivity vs torch.distributions (a different float64 computation): relative 1e-10 plus absolute
#: 1e-12, because in the ``near`` family each term is a cancellation of O(1) numbers (var ratio - 1 -
#: log var ratio) with absolute rounding ~1e-15 per dimension, <= 40 dimensions
ADD_RTOL, ADD_ATOL = 1e-10, 1e-12
FAMILIES = ("gaussian", "near", "one-block")


def sample_case(rng: np.random.Generator, index: int) -> dict[str, Any]:
    m = int(rng.integers(2, 6))
    widths = [int(w) for w in rng.integers(1, 9, size=m)]
    return {"family": FAMILIES[index % len(FAMILIES)], "widths": widths, "seed": int(rng.integers(2**31)),
            "scale": float(10 ** rng.uniform(-1, 1))}


def case_gaussians(case: dict[str, Any]):
    """``(mu_p, lv_p, mu_q, lv_q, blocks)`` of a sampled case, float64, from its seed."""
    rng = np.random.default_rng(case["seed"])
    n = sum(case["widths"])
    s = case["scale"]
    mu_p, lv_p = rng.normal(0, s, n), rng.normal(0, 1, n)
    if case["family"] == "gaussian":
        mu_q, lv_q = rng.normal(0, s, n), rng.normal(0, 1, n)
    else:
        mu_q, lv_q = mu_p + rng.normal(0, 1e-4 * s, n), lv_p + rng.normal(0, 1e-4, n)
    bounds = np.cumsum([0, *case["widths"]])
    blocks = [np.arange(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    if case["family"] == "one-block":
        k = case["seed"] % len(blocks)
        keep = np.ones(n, dtype=bool)
        keep[blocks[k]] = False
        mu_q[keep], lv_q[keep] = mu_p[keep], lv_p[keep]
    return mu_p, lv_p, mu_q, lv_q, blocks


def _trained_cases(fixtures) -> list[dict[str, Any]]:
    """The ledger's trained runs on the iCub data the fixtures located (the runner leaves these cases
    out when it is absent); none under ``lipbound verify --zoo none`` (``--no-zoo``)."""
    from ..mvae._runs import ledger_runs

    folder = fixtures.data_folder("icub")
    if fixtures.zoo == "none" or folder is None:
        return []

    return [{"family": f"trained:{r.schedule}:seed{r.seed}", "run": k, "icub": str(folder)}
            for k, r in enumerate(ledger_runs(folder))]


def _pairs(case):
    """Yield (whole, part, label) arrays for a case: per sample for trained runs, per block for sampled ones."""
    if "run" in case:
        from ..mvae._runs import ledger_runs

        r = ledger_runs(case["icub"])[case["run"]]
        for kind in ("single", "precision"):
            for m in r.measures[f"{kind}-M"]:
                yield kind, r.measures[f"{kind}-all"][m], r.measures[f"{kind}-M"][m], m
    else:
        mu_p, lv_p, mu_q, lv_q, blocks = case_gaussians(case)
        kl = gaussian_kl(mu_p, lv_p, mu_q, lv_q)
        whole = np.array([kl.sum()])
        for k, b in enumerate(blocks):
            for kind in ("single", "precision"):
                yield kind, whole, np.array([kl[b].sum()]), f"block{k}"


def _order(kind: str):
    def evaluate(case):
        worst = (-np.inf, 0.0, 0.0, "")
        ok = True
        for k, whole, part, label in _pairs(case):
            if k != kind:
                continue
            slack = ORDER_TOL * (1 + np.abs(whole))
            bad = part > whole + slack
            ok &= not bad.any()
            ratio = np.where(whole > 0, part / np.where(whole > 0, whole, 1), 0.0)
            i = int(np.argmax(ratio))
            if ratio[i] > worst[0]:
                worst = (float(ratio[i]), float(part[i]), float(whole[i]), label)
        cex = None if ok else {**case, "modality": worst[3], "part": worst[1], "whole": worst[2]}
        return Outcome(bool(ok), worst[1], worst[2], cex, label=case["family"])
    return evaluate


def _additivity(case):
    mu_p, lv_p, mu_q, lv_q, blocks = case_gaussians(case)
    t = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
    p = torch.distributions.Independent(torch.distributions.Normal(t(mu_p), torch.exp(0.5 * t(lv_p))), 1)
    q = torch.distributions.Independent(torch.distributions.Normal(t(mu_q), torch.exp(0.5 * t(lv_q))), 1)
    whole = float(torch.distributions.kl_divergence(p, q))
    parts = sum(float(gaussian_kl(mu_p[b], lv_p[b], mu_q[b], lv_q[b]).sum()) for b in blocks)
    err, tol = abs(whole - parts), ADD_RTOL * abs(whole) + ADD_ATOL
    ok = err <= tol
    return Outcome(ok, err, tol, None if ok else {**case, "torch_kl": whole, "sum_of_parts": parts},
                   label=case["family"])


def _per_dim(case):
    worst_ratio, best = -np.inf, None
    ok = True
    for kind in ("single", "precision"):
        for k, whole, part, label in _pairs(case):
            if k != kind:
                continue
            if "run" in case:
                n_all, n_m = 28, len(range(*_slice(label)))
            else:
                n_all = sum(case["widths"])
                n_m = case["widths"][int(label[5:])]
            lhs, rhs = whole / n_all, part / n_m
            bad = rhs > lhs * (1 + ORDER_TOL) + ORDER_TOL
            ok &= not bad.any()
            ratio = np.where(lhs > 0, rhs / np.where(lhs > 0, lhs, 1), 0.0)
            i = int(np.argmax(ratio))
            if ratio[i] > worst_ratio:
                worst_ratio, best = float(ratio[i]), (float(rhs[i]), float(lhs[i]), label, kind)
    cex = None if ok else {**case, "modality": best[2], "measure": best[3], "part_per_dim": best[0], "whole_per_dim": best[1]}
    return Outcome(bool(ok), best[0], best[1], cex, label=case["family"])


def _slice(name: str):
    from ...mvae import MODALITIES

    s = MODALITIES[name]
    return s.start, s.stop


def witness_per_dim() -> dict[str, Any]:
    """Two one-dimensional modalities; P and Q differ only on the first (the ``one-block`` family, seed 0)."""
    return {"family": "one-block", "widths": [1, 1], "seed": 0, "scale": 1.0}


_M = "closed-form KL of factorized Gaussians in float64"
#: the trained-run fixed cases are drawn from the iCub data (lipbound.claims.mvae.ICUB)
_DATA = ("icub",)
EVALUATORS = {
    "additivity": Evaluator(sample=sample_case, evaluate=_additivity,
                            method=f"{_M}, summed per block, vs torch.distributions.kl_divergence of the joint; "
                                   f"|diff| <= {ADD_RTOL:g} |KL| + {ADD_ATOL:g}; ratio = |diff| / tolerance"),
    "single-whole-ge-part": Evaluator(sample=sample_case, evaluate=_order("single"), fixed_cases=_trained_cases,
                                      fixed_cases_data=_DATA,
                                      method=f"{_M}; part <= whole + {ORDER_TOL:g}(1 + whole); trained runs: every "
                                             "test sample and modality; ratio = part / whole"),
    "precision-whole-ge-part": Evaluator(sample=sample_case, evaluate=_order("precision"), fixed_cases=_trained_cases,
                                         fixed_cases_data=_DATA,
                                         method=f"{_M}; part <= whole + {ORDER_TOL:g}(1 + whole); trained runs: "
                                                "every test sample and modality; ratio = part / whole"),
    "per-dim-average": Evaluator(sample=sample_case, evaluate=_per_dim, fixed_cases=_trained_cases,
                                 fixed_cases_data=_DATA,
                                 witness=witness_per_dim,
                                 method=f"{_M}; refuted when part/|I_M| > whole/|A| beyond {ORDER_TOL:g} relative"),
}


#: reading whose witness -> the readings expected to hold that accept it (the witness lies in their
#: domain: a counterexample to the paper's reading is not one to lipbound's own); checked by
#: tests/test_witnesses.py
WITNESS_ACCEPTED_BY: dict[str, tuple[str, ...]] = {
    "per-dim-average": ("additivity", "single-whole-ge-part", "precision-whole-ge-part",),
}
