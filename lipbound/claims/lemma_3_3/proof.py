r"""Symbolic proof of Lemma 3.3: for concatenation, J_{a_i} z has shape (d_1 + d_2) x p_i, block i
equal to J_{a_i} E_i and exact zeros elsewhere.

Instance: :mod:`lipbound.claims._shared.autoencoder_sympy` with ``fusion="concat"`` (arbitrary differentiable encoders).
"""

from __future__ import annotations

import sys

from lipbound.claims._ledger import ProofResult
from lipbound.claims._shared.autoencoder_sympy import LATENT_DIMS, build
from lipbound.claims._proofs import Steps, is_zero, main

SCOPE = "arbitrary differentiable encoders; M=2, latent widths (2,2), encoder parameter counts (2,1)"


def prove_formula() -> ProofResult:
    ae = build("concat")
    steps = Steps()
    for i, ai in enumerate(ae.a):
        jz = ae.z.jacobian(ai)
        steps.check(f"shape of J_a{i} z is ({sum(LATENT_DIMS)}, {len(ai)})", jz.shape == (sum(LATENT_DIMS), len(ai)))
        for k, dk in enumerate(LATENT_DIMS):
            lo = sum(LATENT_DIMS[:k])
            block = jz[lo : lo + dk, :]
            if k == i:
                steps.check(f"block {k} of J_a{i} z == J_a{i} E_{i}", is_zero(block - ae.e[i].jacobian(ai)))
            else:
                steps.check(f"block {k} of J_a{i} z == 0", is_zero(block))
    return steps.result(SCOPE)


PROOFS = {"formula": prove_formula}

if __name__ == "__main__":
    sys.exit(main(PROOFS, "lemma-3.3"))
