"""Evaluators of ``emp-detection``: one fixed case per dataset of the chosen results, decided on every trial
with 95% intervals (how: :mod:`lipbound.claims.empirical._evaluators`)."""

from __future__ import annotations

from ..empirical._evaluators import HOW_DIFFERENCE, Spec, det_applies, det_both, det_youden, make_evaluator

#: reading -> what applies and how a dataset is decided
SPECS = {
    "youden": Spec(det_applies, det_youden,
                    "per trial, mean over corruptions of TPR - FPR (kPCA + Mahalanobis, 95th percentile): attention "
                    f"above sum and above concat; {HOW_DIFFERENCE}"),
    "tpr-and-fpr": Spec(det_applies, det_both,
                         f"per trial mean TPR above and mean FPR below those of sum and of concat; {HOW_DIFFERENCE}"),
}

#: reading -> :class:`~lipbound.claims.Evaluator`
EVALUATORS = {r: make_evaluator(s) for r, s in SPECS.items()}
