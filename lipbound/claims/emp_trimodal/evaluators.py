"""Evaluators of ``emp-trimodal``: one fixed case per dataset of the chosen results, decided on every trial
with 95% intervals (how: :mod:`lipbound.claims.empirical._evaluators`)."""

from __future__ import annotations

from ..empirical._evaluators import HOW_RATIO, LOWER_BOUND_METHOD, Spec, att_lowest, make_evaluator, trimodal_only

#: reading -> what applies and how a dataset is decided
SPECS = {
    "lowest-test-loss": Spec(trimodal_only, att_lowest("model", "test_loss", "loss"),
                              f"datasets with >= 3 modalities, final test loss: attention below sum and concat; {HOW_RATIO}"),
    "lowest-lipschitz": Spec(trimodal_only, att_lowest("model", "lipschitz", "lower"),
                              f"datasets with >= 3 modalities, {LOWER_BOUND_METHOD}: attention below sum and concat; {HOW_RATIO}"),
}

#: reading -> :class:`~lipbound.claims.Evaluator`
EVALUATORS = {r: make_evaluator(s) for r, s in SPECS.items()}
