r"""Numeric evaluators for Theorem 3.2 (Lipschitz constant of the encoder gradient in the input) and the
paragraph after it (encoder constant exceeds decoder constant).

As for Theorem 3.1 (:mod:`.thm_3_1`): the measured value is the largest sampled ratio of
:math:`g_{E_i}` over the searched pairs in :math:`X_B`. Components: **certified** :math:`L_{D_j},
L_{E_i}, L_{agg}, L_z, R_j`; **estimated** (sampled suprema over a pool containing every measured
pair) :math:`G_z = \sup \lVert J_{\theta_{E_i}} z \rVert`, :math:`L_{G_z}` and
:math:`L_{\nabla D_j}` (Lipschitz constant of :math:`z \mapsto J_z D_j`).

``encoder-exceeds-decoder`` compares sampled lower bounds (estimates) of both constants:
measured = :math:`\max_j` est. :math:`\mathrm{Lip}(g_{D_j})`, bound = :math:`\min_i` est.
:math:`\mathrm{Lip}(g_{E_i})`; the counterexample also carries both our bounds and says whether the
decoder's sampled value exceeds even our upper bound for the encoder ("decisive").
"""

from __future__ import annotations

from typing import Any

from .._ledger import Evaluator
from .._shared.gradient_lipschitz import GRADLIP_RTOL, bound_outcome, exceeds_outcome, sample_case, trained_cases
from ..thm_3_1.evaluators import WITNESS_BIG_BIAS

#: exact witness against encoder-exceeds-decoder: M = 1, E(x) = x, D(z) = z / 100, B = 1; there
#: g_E = g_D / 100 identically (lipbound/claims/thm_3_2/proof.py)
WITNESS_SMALL_DECODER: dict[str, Any] = {"witness": "small-decoder", "B": 1.0, "eps": 0.01}

_COMPONENTS = ("certified: L_Dj, L_Ei (products of float64 spectral norms x activation slope bounds, rounded up), "
               "L_agg, L_z, residual bounds R_j; estimated (sampled sup, lower bounds): G_z = sup ||J_theta_Ei z||_2, "
               "L_Gz, L_gradDj = sup ratio of J_z D_j over pool pairs")
_MODELS = ("generated smooth MLPs (tanh/sigmoid/gelu/elu; sum, concat, attention) and trained zoo models sum-tanh, "
           "attention-tanh, concat3-tanh with B = 3")


def _method(which: str) -> str:
    return (f"sampled ratio ||g_Ei(x)-g_Ei(y)||/||x-y|| (Jacobian-guided pair search in X_B, float64 torch.func) "
            f"<= {which} bound, relative tolerance {GRADLIP_RTOL:g}; {_COMPONENTS}; {_MODELS}")


def _paper(case: dict[str, Any]):
    return bound_outcome(case, "encoder", "paper")


def _ours(case: dict[str, Any]):
    return bound_outcome(case, "encoder", "our")


EVALUATORS = {
    "paper-bound": Evaluator(sample=sample_case, evaluate=_paper, method=_method("paper's (recovered)"),
                             fixed_cases=trained_cases, witness=lambda: dict(WITNESS_BIG_BIAS)),
    "our-bound": Evaluator(sample=sample_case, evaluate=_ours, method=_method("our"), fixed_cases=trained_cases),
    "encoder-exceeds-decoder": Evaluator(
        sample=sample_case, evaluate=exceeds_outcome,
        method=("max_j sampled Lip(g_Dj) <= min_i sampled Lip(g_Ei) (both estimates: sampled lower bounds from the "
                "same pair search; our bounds for both reported beside them, 'decisive' when the decoder's sampled "
                f"value exceeds our encoder bound); {_MODELS}"),
        fixed_cases=trained_cases, witness=lambda: dict(WITNESS_SMALL_DECODER)),
}


#: reading whose witness -> the readings expected to hold that accept it (the witness lies in their
#: domain: a counterexample to the paper's reading is not one to lipbound's own); checked by
#: tests/test_witnesses.py
WITNESS_ACCEPTED_BY: dict[str, tuple[str, ...]] = {
    "paper-bound": ("our-bound",),
    "encoder-exceeds-decoder": ("our-bound",),
}
