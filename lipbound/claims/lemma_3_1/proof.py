r"""Symbolic proof of Lemma 3.1 (loss gradient w.r.t. decoder parameters), both readings.

``formula``: grad_{b_j} L - (-2 J_{b_j}D_j(z)^T (x_j - D_j(z))) simplifies to 0 for every j.
``locality``: grad_{b_j} ||x_k - D_k(z)||^2 = 0 for k != j.
Instance: :mod:`lipbound.claims._shared.autoencoder_sympy` (arbitrary differentiable encoders, fusion and decoders).
"""

from __future__ import annotations

import sys

from lipbound.claims._ledger import ProofResult
from lipbound.claims._shared.autoencoder_sympy import build, grad
from lipbound.claims._proofs import Steps, is_zero, main

SCOPE = "arbitrary differentiable E_i, U, D_j; M=2, input widths (2,1), fused width 2"


def prove_formula() -> ProofResult:
    ae = build("generic")
    steps = Steps()
    for j, bj in enumerate(ae.b):
        lhs = grad(ae.loss, bj)
        rhs = -2 * ae.dec[j].jacobian(bj).T * (ae.x[j] - ae.dec[j])
        steps.check(f"grad_b{j} L == -2 J^T r_{j}", is_zero(lhs - rhs))
    return steps.result(SCOPE)


def prove_locality() -> ProofResult:
    ae = build("generic")
    steps = Steps()
    for k, term in enumerate(ae.loss_terms):
        for j, bj in enumerate(ae.b):
            if j != k:
                steps.check(f"grad_b{j} ||x_{k} - D_{k}||^2 == 0", is_zero(grad(term, bj)))
    return steps.result(SCOPE)


PROOFS = {"formula": prove_formula, "locality": prove_locality}

if __name__ == "__main__":
    sys.exit(main(PROOFS, "lemma-3.1"))
