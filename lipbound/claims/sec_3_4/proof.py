r"""Symbolic proof of the Section 3.4 claim (sum and concat give equally Lipschitz fusion Jacobians).

With the same (arbitrary differentiable) encoders, J_cat = J_{a_i} z_cat and J_sum = J_{a_i} z_sum
satisfy J_cat^T J_cat == J_sum^T J_sum, hence the same singular values (spectral norm) and the same
trace (Frobenius norm): reading ``jacobian-norms-equal``. For two parameter points a, a' (and two
inputs), J_cat(a) - J_cat(a') is the zero-padded J_sum(a) - J_sum(a'), so the Gram identity holds for
differences too and every difference quotient agrees: reading ``lipschitz-equal``.
"""

from __future__ import annotations

import sys

import sympy as sp

from lipbound.claims._ledger import ProofResult
from lipbound.claims._shared.autoencoder_sympy import build
from lipbound.claims._proofs import Steps, is_zero, main

SCOPE = "arbitrary differentiable encoders; M=2, latent widths (2,2), encoder parameter counts (2,1)"


def _jacobians(i: int):
    s, c = build("sum"), build("concat")
    return s, c, s.z.jacobian(s.a[i]), c.z.jacobian(c.a[i])


def prove_norms() -> ProofResult:
    steps = Steps()
    for i in range(2):
        _, _, js, jc = _jacobians(i)
        steps.check(f"J_cat^T J_cat == J_sum^T J_sum (encoder {i})", is_zero(jc.T * jc - js.T * js))
    return steps.result(SCOPE)


def prove_lipschitz() -> ProofResult:
    steps = Steps()
    for i in range(2):
        s, c, js, jc = _jacobians(i)
        # a second parameter point and a second input for encoder i, with fresh symbols
        params = s.a[i] + list(s.x[i])
        primed = [sp.Symbol(p.name + "_p", real=True) for p in params]
        shift = dict(zip(params, primed))
        ds = js - js.subs(shift)
        dc = jc - jc.subs(shift)
        steps.check(f"(dJ_cat)^T dJ_cat == (dJ_sum)^T dJ_sum (encoder {i}, parameters and input moved)",
                    is_zero(dc.T * dc - ds.T * ds))
    return steps.result(SCOPE)


PROOFS = {"jacobian-norms-equal": prove_norms, "lipschitz-equal": prove_lipschitz}

if __name__ == "__main__":
    sys.exit(main(PROOFS, "sec-3.4"))
