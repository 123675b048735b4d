r"""Symbolic proof of Eq. (3): for sum fusion, J_{a_i} z = J_{a_i} E_i and J_{a_i} E_k = 0 (k != i).

Instance: :mod:`lipbound.claims._shared.autoencoder_sympy` with ``fusion="sum"`` (arbitrary differentiable encoders).
"""

from __future__ import annotations

import sys

from lipbound.claims._ledger import ProofResult
from lipbound.claims._shared.autoencoder_sympy import build
from lipbound.claims._proofs import Steps, is_zero, main

SCOPE = "arbitrary differentiable encoders; M=2, latent widths (2,2), encoder parameter counts (2,1)"


def prove_formula() -> ProofResult:
    ae = build("sum")
    steps = Steps()
    for i, ai in enumerate(ae.a):
        steps.check(f"J_a{i} z == J_a{i} E_{i}", is_zero(ae.z.jacobian(ai) - ae.e[i].jacobian(ai)))
        for k, ek in enumerate(ae.e):
            if k != i:
                steps.check(f"J_a{i} E_{k} == 0", is_zero(ek.jacobian(ai)))
    return steps.result(SCOPE)


PROOFS = {"formula": prove_formula}

if __name__ == "__main__":
    sys.exit(main(PROOFS, "eq-3"))
