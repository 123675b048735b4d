"""Evaluators of ``emp-lipschitz``: one fixed case per dataset of the chosen results, decided on every trial
with 95% intervals (how: :mod:`lipbound.claims.empirical._evaluators`)."""

from __future__ import annotations

from ..empirical._evaluators import HOW_RATIO, LOWER_BOUND_METHOD, Spec, att_lowest, bimodal_or_more, make_evaluator

#: reading -> what applies and how a dataset is decided
SPECS = {
    "lower-bound": Spec(bimodal_or_more, att_lowest("model", "lipschitz", "lower"),
                         f"{LOWER_BOUND_METHOD}: attention below sum and below concat; {HOW_RATIO}"),
    "paper-estimator": Spec(bimodal_or_more, att_lowest("model", "lipschitz", "heuristic"),
                             f"paper estimator (heuristic) of the whole model: attention below sum and concat; {HOW_RATIO}"),
    "ten-times": Spec(bimodal_or_more, att_lowest("model", "lipschitz", "heuristic", 10.0),
                       f"10 x paper estimator of attention below sum and concat; {HOW_RATIO}"),
}

#: reading -> :class:`~lipbound.claims.Evaluator`
EVALUATORS = {r: make_evaluator(s) for r, s in SPECS.items()}
