"""Hypothesis strategies: draw small shapes and a seed; tensors are filled from the seed by numpy/torch."""

from __future__ import annotations

from hypothesis import strategies as st

from lipbound.claims._cases import ACTIVATIONS
from lipbound.claims.section3.thm_3_3 import BOUND_FAMILIES, LINEAR_FAMILIES

seeds = st.integers(min_value=0, max_value=2**31 - 2)


@st.composite
def autoencoder_cases(draw, fusion: str | None = None):
    """A generated autoencoder case (same dict layout as ``sample_autoencoder_case``)."""
    fusion = fusion or draw(st.sampled_from(["sum", "concat", "attention"]))
    m = draw(st.integers(2 if fusion == "attention" else 1, 3))
    in_dims = draw(st.lists(st.integers(1, 5), min_size=m, max_size=m))
    if fusion == "sum":
        latent_dims = [draw(st.integers(1, 4))] * m
    else:
        latent_dims = draw(st.lists(st.integers(1, 4), min_size=m, max_size=m))
    return {
        "fusion": fusion,
        "M": m,
        "in_dims": in_dims,
        "latent_dims": latent_dims,
        "hidden": draw(st.lists(st.integers(2, 6), min_size=0, max_size=2)),
        "activation": draw(st.sampled_from(ACTIVATIONS)),
        "init_seed": draw(seeds),
        "input_seed": draw(seeds),
        "input_scale": draw(st.sampled_from([0.1, 1.0, 3.0])),
    }


@st.composite
def linear_cases(draw, setting: str | None = None, families=LINEAR_FAMILIES):
    """A linear-encoder case for Theorem 3.3 (same dict layout as ``sample_linear_case``)."""
    setting = setting or draw(st.sampled_from(["separate", "shared"]))
    family = draw(st.sampled_from(families))
    m = draw(st.integers(2, 4))
    if setting == "shared" or family == "correlated":
        in_dims = [draw(st.integers(1, 4))] * m
    else:
        in_dims = draw(st.lists(st.integers(1, 4), min_size=m, max_size=m))
    return {
        "setting": setting,
        "family": family,
        "M": m,
        "out_dim": draw(st.integers(1, 4)),
        "in_dims": in_dims,
        "rho": draw(st.floats(-1.0, 1.0)),
        "seed": draw(seeds),
    }


@st.composite
def bounds_cases(draw):
    """Nonnegative rational L_i (or an Eq. 39 ``network`` family) for the proof-bounds readings."""
    m = draw(st.integers(1, 6))
    return {
        "family": draw(st.sampled_from(BOUND_FAMILIES)),
        "num": draw(st.lists(st.integers(0, 10**6), min_size=m, max_size=m)),
        "den": draw(st.lists(st.integers(1, 10**6), min_size=m, max_size=m)),
        "seed": draw(seeds),
    }


#: a fixed small concatenation case used by the mutation tests ("the check can fail")
SMALL_CONCAT_CASE = {"fusion": "concat", "M": 2, "in_dims": [3, 2], "latent_dims": [2, 3], "hidden": [4],
                     "activation": "tanh", "init_seed": 1, "input_seed": 2, "input_scale": 1.0}
FUSIONS = ["sum", "concat", "attention"]


@st.composite
def attention_weight_cases(draw):
    """A weights case for Theorems 4.1/4.2 (same dict layout as ``sample_weights_case``)."""
    from lipbound.claims.section4._cases import FAMILIES

    fam = draw(st.sampled_from(FAMILIES))
    m = draw(st.integers(2, 4))
    k = 1 if fam == "scalar" else draw(st.integers(1, 4))
    dims = [1] * m if fam == "scalar" else draw(st.lists(st.integers(1, 4), min_size=m, max_size=m))
    return {"family": fam, "M": m, "k": k, "dims": dims, "scale": draw(st.floats(0.1, 3.0)),
            "R": draw(st.sampled_from([0.5, 1.0, 2.0])), "seed": draw(seeds)}
