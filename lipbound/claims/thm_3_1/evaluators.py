r"""Numeric evaluators for Theorem 3.1 (Lipschitz constant of the decoder gradient in the input).

Each case: a model (generated smooth-activation MLP autoencoder, trained zoo model, or the ledger's
witness) and an input bound B. The measured value is the largest **sampled ratio**
:math:`\lVert g_{D_j}(x) - g_{D_j}(y) \rVert / \lVert x - y \rVert` over the searched pairs in
:math:`X_B` (a lower bound of :math:`\mathrm{Lip}(g_{D_j}; X_B)`), for the decoder j with the largest
ratio / bound. Components (see :mod:`._gradient_lipschitz`): **certified** :math:`L_{D_j}, L_{E_i},
L_{agg}, L_z, R_j`; **estimated** (sampled suprema over a pool that contains every measured pair)
:math:`G, L_{\nabla D}`.
"""

from __future__ import annotations

from typing import Any

from .._ledger import Evaluator
from .._shared.gradient_lipschitz import GRADLIP_RTOL, bound_outcome, sample_case, trained_cases

#: the ledger's witness: M = 1, E(x) = x, D(z) = 0.1 tanh(z) + 100, B = 1 (the residual is ~100 >> B)
WITNESS_BIG_BIAS: dict[str, Any] = {"witness": "big-output-bias", "B": 1.0, "v2": 0.1, "c2": 100.0}

_COMPONENTS = ("certified: L_D, L_Ei (products of float64 spectral norms x activation slope bounds, rounded up), "
               "L_agg (sum sqrt(M), concat 1, attention Thm 4.1 bound on the certified latent ball), L_z, "
               "residual bound R_j; estimated (sampled sup, lower bounds): G = sup ||J_theta D_j||_2, "
               "L_gradD = sup ratio of J_theta D_j over pool pairs")


def _method(which: str) -> str:
    return (f"sampled ratio ||g_Dj(x)-g_Dj(y)||/||x-y|| (Jacobian-guided pair search in X_B, float64 torch.func) "
            f"<= {which} bound, relative tolerance {GRADLIP_RTOL:g}; {_COMPONENTS}; generated smooth MLPs "
            "(tanh/sigmoid/gelu/elu; sum, concat, attention) and trained zoo models sum-tanh, attention-tanh, "
            "concat3-tanh with B = 3")


def _paper(case: dict[str, Any]):
    return bound_outcome(case, "decoder", "paper")


def _ours(case: dict[str, Any]):
    return bound_outcome(case, "decoder", "our")


EVALUATORS = {
    "paper-bound": Evaluator(sample=sample_case, evaluate=_paper, method=_method("paper's (recovered)"),
                             fixed_cases=trained_cases, witness=lambda: dict(WITNESS_BIG_BIAS)),
    "our-bound": Evaluator(sample=sample_case, evaluate=_ours, method=_method("our"), fixed_cases=trained_cases),
}


#: reading whose witness -> the readings expected to hold that accept it (the witness lies in their
#: domain: a counterexample to the paper's reading is not one to lipbound's own); checked by
#: tests/test_witnesses.py
WITNESS_ACCEPTED_BY: dict[str, tuple[str, ...]] = {
    "paper-bound": ("our-bound",),
}
