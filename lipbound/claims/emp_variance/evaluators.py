"""Evaluators of ``emp-variance``: one fixed case per dataset of the chosen results, decided on every trial
with 95% intervals (how: :mod:`lipbound.claims.empirical._evaluators`)."""

from __future__ import annotations

from ..empirical._evaluators import Spec, make_evaluator, variance_decision

#: reading -> what applies and how a dataset is decided
SPECS = {
    "test-loss": Spec(*variance_decision("test_loss"),
                       method="per dataset: sd over trials of the final test loss, concat / sum, 95% F interval; "
                              "supported if below 1, not-supported if above 1"),
    "train-loss": Spec(*variance_decision("train_loss"),
                        method="per dataset: sd over trials of the final training loss, concat / sum, 95% F "
                               "interval; supported if below 1, not-supported if above 1"),
}

#: reading -> :class:`~lipbound.claims.Evaluator`
EVALUATORS = {r: make_evaluator(s) for r, s in SPECS.items()}
