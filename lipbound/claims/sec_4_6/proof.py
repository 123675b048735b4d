r"""Symbolic checks for Section 4.6 / Algorithm 1 / Eq. 8 (the paper's Lipschitz estimator).

``frobenius-sandwich``: with singular values s_1 >= ... >= s_k >= 0 (k = min(m, n), written
s_i = s_{i+1} + d_i with d_i >= 0), s_1^2 <= sum s_i^2 <= k s_1^2 for every k from 1 to 5 (sympy's
assumption system on the expanded polynomials); ||J||_F^2 = tr(J^T J) = the sum of the eigenvalues
of J^T J and det(J^T J) = 0 for a symbolic 2 x 3 J (at most min(m, n) nonzero singular values); both
sides attained (rank one u v^T; the identity).
``lower-bound``, ``consistent``: the identity of R^2 has J = I_2 everywhere, ||I_2||_F = sqrt(2) and
||I_2||_2 = 1, so every estimate, and its limit, is sqrt(2) > 1 = Lip (disproved, exactly).
``upper-bound``: f(x) = relu(x_1) + 5 relu(x_2 - 10) has gradient (1, 5) at (1, 11), so
Lip >= sqrt(26); on {x_2 < 10} its gradient is (H(x_1), 0), of norm <= 1; the witness's 64 samples,
read as exact rationals, all have x_2 < 10, so the estimate is <= 1 < sqrt(26) (disproved).
``gradient-lipschitz-relu``: for relu on R, J(delta) - J(-delta) = 1 for every delta > 0, so
Algorithm 1's ratio 1 / (2 delta + eps) tends to 1/eps (to infinity with eps = 0), and no finite L_g
satisfies 1 <= L_g * 2 delta at delta = 1 / (4 L_g) (disproved).
``converges-to-sup-frobenius`` has no symbolic part (a limit of a random maximum; the argument is on
the claim's page).
"""

from __future__ import annotations

import sys

import sympy as sp

from lipbound.claims._ledger import ProofResult
from lipbound.claims._proofs import Steps, is_nonnegative, is_zero, main


def _spectral(mat: sp.Matrix) -> sp.Expr:
    """||mat||_2 from the exact eigenvalues of mat^T mat."""
    return sp.sqrt(max((mat.T * mat).eigenvals(), key=lambda e: sp.N(e)))


def prove_frobenius_sandwich() -> ProofResult:
    steps = Steps()
    for k in range(1, 6):
        d = sp.symbols(f"d1:{k + 1}", nonnegative=True)  # d_i = s_i - s_{i+1} >= 0, and s_k = d_k
        s = [sum(d[i:]) for i in range(k)]
        fro2 = sum(si**2 for si in s)
        steps.check(f"k = {k}: sum s_i^2 - s_1^2 >= 0", is_nonnegative(sp.expand(fro2 - s[0] ** 2)))
        steps.check(f"k = {k}: k s_1^2 - sum s_i^2 >= 0", is_nonnegative(sp.expand(k * s[0] ** 2 - fro2)))
    J = sp.Matrix(2, 3, sp.symbols("j0:6", real=True))
    G = J.T * J
    lam = sp.Symbol("lambda")
    poly = sp.Poly(G.charpoly(lam).as_expr(), lam)
    steps.check("2 x 3 J: sum of squared entries == tr(J^T J) == sum of the eigenvalues of J^T J",
                is_zero(sum(e**2 for e in J) + poly.coeff_monomial(lam**2)))
    steps.check("2 x 3 J: det(J^T J) == 0 (at most min(m, n) = 2 nonzero singular values)", is_zero(G.det()))
    u, v = sp.Matrix(sp.symbols("u0:2", real=True)), sp.Matrix(sp.symbols("v0:2", real=True))
    R = u * v.T
    steps.check("rank one u v^T: ||.||_F^2 == (u.u)(v.v), an eigenvalue of (u v^T)^T (u v^T)",
                is_zero((R.T * R) * v - (u.dot(u) * v.dot(v)) * v) is True
                and is_zero(sum(e**2 for e in R) - u.dot(u) * v.dot(v)))
    steps.check("identity I_3: ||.||_F == sqrt(3) ||.||_2 (the right side is attained)",
                is_zero(sp.sqrt(sum(e**2 for e in sp.eye(3))) - sp.sqrt(3) * _spectral(sp.eye(3))))
    return steps.result("singular-value inequalities for every min(m, n) from 1 to 5; the trace identity and the "
                        "rank on a symbolic 2 x 3 J; attainment on symbolic rank one 2 x 2 and on I_3")


def _identity_steps(steps: Steps) -> tuple[sp.Expr, sp.Expr]:
    x = sp.Matrix(sp.symbols("x1 x2", real=True))
    J = x.jacobian(x)
    steps.check("f(x) = x on R^2: J(x) == I_2 at every x", is_zero(J - sp.eye(2)))
    fro, spec = sp.sqrt(sum(e**2 for e in J)), _spectral(J)
    steps.check("||I_2||_F == sqrt(2)", is_zero(fro - sp.sqrt(2)))
    steps.check("Lip(f) == ||I_2||_2 == 1", is_zero(spec - 1))
    return fro, spec


def prove_lower_bound() -> ProofResult:
    steps = Steps()
    fro, spec = _identity_steps(steps)
    steps.check("the reading: hat L = sqrt(2) <= Lip = 1", bool(fro <= spec))
    return steps.result("exact witness: the identity of R^2 (every sample gives sqrt(2))")


def prove_consistent() -> ProofResult:
    steps = Steps()
    fro, spec = _identity_steps(steps)
    n = sp.Symbol("N", positive=True, integer=True)
    steps.check("hat L_N == sqrt(2) for every N >= 1, so lim hat L_N == sqrt(2)",
                is_zero(sp.limit(fro + 0 * n, n, sp.oo) - sp.sqrt(2)))
    steps.check("the reading: lim hat L_N == Lip(f)", is_zero(fro - spec))
    return steps.result("exact witness: the identity of R^2")


def prove_upper_bound() -> ProofResult:
    from lipbound.claims.sec_4_6.evaluators import WITNESS_FAR_KINK, samples_of

    steps = Steps()
    x1, x2 = sp.symbols("x1 x2", real=True)
    f = sp.Max(0, x1) + 5 * sp.Max(0, x2 - 10)
    grad = sp.Matrix([sp.diff(f, x1), sp.diff(f, x2)])
    at = grad.subs({x1: 1, x2: 11})
    steps.check("gradient at (1, 11) == (1, 5), so Lip(f) >= sqrt(26)", is_zero(at - sp.Matrix([1, 5])))
    below = grad.subs(x2, sp.Symbol("t", negative=True) + 10)  # any x_2 < 10
    steps.check("on {x_2 < 10} the gradient is (H(x_1), 0): norm <= 1",
                is_zero(below[1]) is True and bool(sp.Abs(below[0].subs(x1, 1)) <= 1)
                and bool(sp.Abs(below[0].subs(x1, -1)) <= 1))
    xs = samples_of(WITNESS_FAR_KINK).numpy()
    steps.check(f"the witness's {len(xs)} samples all have x_2 < 10 (exact rationals)",
                all(sp.Rational(float(v)) < 10 for v in xs[:, 1]))
    est = sp.Integer(1)  # every sample's gradient norm is at most 1
    steps.check("the reading: Lip(f) <= hat L, with Lip(f) >= sqrt(26) and hat L <= 1", bool(sp.sqrt(26) <= est))
    return steps.result("exact witness f(x) = relu(x_1) + 5 relu(x_2 - 10) with its 64 Gaussian samples (seed 0)")


def prove_gradient_lipschitz_relu() -> ProofResult:
    steps = Steps()
    x = sp.Symbol("x", real=True)
    delta, eps, L = (sp.Symbol(s, positive=True) for s in ("delta", "epsilon", "L_g"))
    J = sp.diff(sp.Max(0, x), x)
    jump = J.subs(x, delta) - J.subs(x, -delta)
    steps.check("relu on R: J(delta) - J(-delta) == 1 for every delta > 0", is_zero(jump - 1))
    steps.check("Algorithm 1's ratio 1 / (2 delta + eps) -> 1 / eps as delta -> 0+",
                is_zero(sp.limit(jump / (2 * delta + eps), delta, 0, "+") - 1 / eps))
    steps.check("with eps = 0 the ratio 1 / (2 delta) -> oo", sp.limit(jump / (2 * delta), delta, 0, "+") == sp.oo)
    steps.check("the reading: |J(delta) - J(-delta)| <= L_g * 2 delta at delta = 1 / (4 L_g), any L_g > 0",
                bool(sp.simplify(jump.subs(delta, 1 / (4 * L)) - L * 2 / (4 * L)) <= 0))
    return steps.result("exact witness relu on R, symbolic delta, eps and L_g")


PROOFS = {
    "upper-bound": prove_upper_bound,
    "lower-bound": prove_lower_bound,
    "frobenius-sandwich": prove_frobenius_sandwich,
    "consistent": prove_consistent,
    "gradient-lipschitz-relu": prove_gradient_lipschitz_relu,
}

if __name__ == "__main__":
    sys.exit(main(PROOFS, "sec-4.6"))
