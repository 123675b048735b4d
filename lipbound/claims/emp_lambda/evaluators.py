"""Evaluators of ``emp-lambda``: one fixed case per dataset of the chosen results, decided on every trial
with 95% intervals (how: :mod:`lipbound.claims.empirical._evaluators`)."""

from __future__ import annotations

from ..empirical._evaluators import ABLATION_FUSION, LOWER_BOUND_METHOD, Spec, lam_applies, lam_decreasing, lam_interior, make_evaluator

#: reading -> what applies and how a dataset is decided
SPECS = {
    "interior-optimum": Spec(lam_applies, lam_interior,
                              f"{ABLATION_FUSION}: min over interior lambdas of the trial-mean {LOWER_BOUND_METHOD} minus its "
                              "smaller value at the two ends; 95% paired bootstrap interval over trials (seed 0); "
                              "supported if below 0, not-supported if above 0"),
    "param-norm-decreasing": Spec(lam_applies, lam_decreasing,
                                   f"{ABLATION_FUSION}: largest log ratio of consecutive trial-mean parameter norms "
                                   "(increasing lambda); 95% paired bootstrap interval over trials (seed 0); "
                                   "supported if below 0, not-supported if above 0"),
}

#: reading -> :class:`~lipbound.claims.Evaluator`
EVALUATORS = {r: make_evaluator(s) for r, s in SPECS.items()}
