"""Evaluators of ``emp-convergence``: one fixed case per dataset of the chosen results, decided on every trial
with 95% intervals (how: :mod:`lipbound.claims.empirical._evaluators`)."""

from __future__ import annotations

from ..empirical._evaluators import HOW_DIFFERENCE, HOW_RATIO, Spec, att_fastest, att_lowest, bimodal_or_more, make_evaluator

#: reading -> what applies and how a dataset is decided
SPECS = {
    "fastest": Spec(bimodal_or_more, att_fastest,
                     "per trial, the interpolated epoch at which the training loss reaches the worst fusion's final "
                     f"trial-mean level (a trial that never does: one epoch after its last); {HOW_DIFFERENCE}"),
    "lowest-train-loss": Spec(bimodal_or_more, att_lowest("model", "train_loss", "loss"),
                               f"final training loss: attention below sum and concat; {HOW_RATIO}"),
    "lowest-test-loss": Spec(bimodal_or_more, att_lowest("model", "test_loss", "loss"),
                              f"final test loss: attention below sum and concat; {HOW_RATIO}"),
}

#: reading -> :class:`~lipbound.claims.Evaluator`
EVALUATORS = {r: make_evaluator(s) for r, s in SPECS.items()}
