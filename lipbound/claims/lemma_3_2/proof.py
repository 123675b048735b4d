r"""Symbolic proof of Lemma 3.2 (loss gradient w.r.t. encoder parameters).

``formula``: grad_{a_i} L == -2 sum_j (J_{a_i} z)^T (J_z D_j)^T (x_j - D_j(z)), where J_z D_j is
differentiated w.r.t. placeholder symbols zeta and then evaluated at zeta = z. Instance:
:mod:`lipbound.claims._shared.autoencoder_sympy` with an arbitrary differentiable fusion U.
"""

from __future__ import annotations

import sys

import sympy as sp

from lipbound.claims._ledger import ProofResult
from lipbound.claims._shared.autoencoder_sympy import build, grad
from lipbound.claims._proofs import Steps, is_zero, main

SCOPE = "arbitrary differentiable E_i, fusion U, D_j; M=2, input widths (2,1), latent widths (2,2), fused width 2"


def prove_formula() -> ProofResult:
    ae = build("generic")
    steps = Steps()
    sub = dict(zip(ae.zeta, ae.z))
    for i, ai in enumerate(ae.a):
        lhs = grad(ae.loss, ai)
        jaz = ae.z.jacobian(ai)
        rhs = sp.zeros(len(ai), 1)
        for j in range(len(ae.dec)):
            jzd = ae.dec_zeta[j].jacobian(ae.zeta).subs(sub)
            rhs += -2 * jaz.T * jzd.T * (ae.x[j] - ae.dec[j])
        steps.check(f"grad_a{i} L == -2 sum_j (J_a{i} z)^T (J_z D_j)^T r_j", is_zero(lhs - rhs))
    return steps.result(SCOPE)


PROOFS = {"formula": prove_formula}

if __name__ == "__main__":
    sys.exit(main(PROOFS, "lemma-3.2"))
