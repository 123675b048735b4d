"""Hypothesis strategies: the claims' case spaces (drawn through their own seeded samplers) and a seed strategy."""

from __future__ import annotations

from hypothesis import strategies as st

from lipbound.claims._cases import case_strategy, sample_autoencoder_case
from lipbound.claims.thm_3_3.evaluators import sample_bounds_case, sample_linear_case

seeds = st.integers(min_value=0, max_value=2**31 - 2)


# The case spaces of the claims are defined once, by the evaluators' seeded samplers; the tests draw
# from the same spaces (hypothesis draws the seed: lipbound.claims._cases.case_strategy).
def autoencoder_cases(fusion: str | None = None):
    """A generated autoencoder case (``sample_autoencoder_case``)."""
    return case_strategy(sample_autoencoder_case, fusion=fusion)


def linear_cases(setting: str | None = None):
    """A linear-encoder case for Theorem 3.3 (``sample_linear_case``)."""
    return case_strategy(sample_linear_case, setting=setting)


def bounds_cases():
    """Nonnegative rational L_i (or an Eq. 39 ``network`` family) for the proof-bounds readings
    (``sample_bounds_case``)."""
    return case_strategy(sample_bounds_case)


#: a fixed small concatenation case used by the mutation tests ("the check can fail")
SMALL_CONCAT_CASE = {"fusion": "concat", "M": 2, "in_dims": [3, 2], "latent_dims": [2, 3], "hidden": [4],
                     "activation": "tanh", "init_seed": 1, "input_seed": 2, "input_scale": 1.0}
FUSIONS = ["sum", "concat", "attention"]


def attention_weight_cases():
    """A weights case for Theorems 4.1/4.2 (``sample_weights_case``)."""
    from lipbound.claims._shared.attention_cases import sample_weights_case

    return case_strategy(sample_weights_case)
