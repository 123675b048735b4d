r"""Symbolic checks for Section 4.5 (regularised attention).

``unit-spectral-bound``: Theorem 4.1's identities (``lipbound.claims.thm_4_1.proof.prove_our_bound``: J = D + X G and
the Gram identities behind ||D||, ||X||, ||G||), then the arithmetic of the specialisation R = 1,
w_i = c: (1/M)(2c (Mc) + M c^2) = 3c^2, and c = k^{-1/4} gives 3/sqrt(k); the loosening steps
U <= S and sigma <= sqrt(sum w_i^2) are the triangle and Cauchy-Schwarz inequalities.
``composed-scale-free``: g(t x) = g(x) for a symbol t > 0 on an instance M = 2, d = k = 2 (exact
identity), and the exact witness: the difference quotient sqrt(3/2) / (sqrt(2) eps) exceeds 3 for
small eps and tends to infinity as eps -> 0+, so the reading is disproved (False).
``l2-step-preserves-ratios``: (1 - 2 eta lambda) W / ||(1 - 2 eta lambda) W|| = W / ||W|| for
0 < 2 eta lambda < 1 (absolute homogeneity of the norm), and the squared singular values of tW
are t^2 times those of W (characteristic polynomial of (tW)^T (tW), 2 x 2 symbolic W).
The training readings have no symbolic part.
"""

from __future__ import annotations

import sys

import sympy as sp

from lipbound.claims._ledger import ProofResult
from lipbound.claims._shared.attention_sympy import attention, instance
from lipbound.claims._proofs import Steps, is_zero, main


def prove_unit_spectral_bound() -> ProofResult:
    from lipbound.claims.thm_4_1.proof import prove_our_bound

    steps = Steps()
    base = prove_our_bound()
    steps.check("Theorem 4.1's identities (lipbound/claims/thm_4_1/proof.py, our-bound)", base.proved)
    m, c, k = sp.Symbol("M", positive=True), sp.Symbol("c", positive=True), sp.Symbol("k", positive=True)
    bound = (2 * c * (m * c) + m * c**2) / m
    steps.check("(1/M)(2 c * M c + M c^2) == 3 c^2", is_zero(bound - 3 * c**2))
    steps.check("c = k^(-1/4): 3 c^2 == 3 / sqrt(k)", is_zero((3 * c**2).subs(c, k ** sp.Rational(-1, 4)) - 3 / sp.sqrt(k)))
    # attained: scalar modalities, W' = 1, at x = (1, 1): J = [[5/2, 1/2], [1/2, 5/2]] has norm 3
    a, b = sp.symbols("a b", real=True)
    one = sp.Matrix([[1]])
    f = attention([one, one], [sp.Matrix([a]), sp.Matrix([b])])
    jac = f.jacobian(sp.Matrix([a, b])).subs({a: 1, b: 1})
    steps.check("scalar corner: ||J(1, 1)||_2 == 3 (the bound is attained)",
                is_zero(sp.sqrt(max(jac.T.multiply(jac).eigenvals())) - 3))
    return steps.result("identities on M = 2, d = k = 2 (Theorem 4.1) plus the arithmetic for any M, k; "
                        "norm inequalities are the standard ones cited")


def prove_composed_scale_free() -> ProofResult:
    steps = Steps()
    ws, xs, _ = instance(2, 2, 2)
    t = sp.Symbol("t", positive=True)
    unit = lambda v: v / sp.sqrt((v.T * v)[0, 0])  # noqa: E731
    g = attention(ws, [unit(x) for x in xs])
    g_t = attention(ws, [unit(t * x) for x in xs])
    steps.check("g(t x) == g(x) for t > 0 (M = 2, d = k = 2)", is_zero(g_t - g))
    eps = sp.Symbol("epsilon", positive=True)
    eye = sp.eye(2)
    e1, e2 = sp.Matrix([1, 0]), sp.Matrix([0, 1])
    gx = attention([eye, eye], [e1, e1])  # normalised x = (eps e1, e1)
    gy = attention([eye, eye], [e2, e1])  # normalised y = (eps e2, e1)
    quotient = (gx - gy).norm() / (sp.sqrt(2) * eps)
    steps.check("witness: ||g(x) - g(y)|| == sqrt(3/2)", is_zero((gx - gy).norm() - sp.sqrt(sp.Rational(3, 2))))
    steps.check("witness quotient -> oo as eps -> 0+", sp.limit(quotient, eps, 0, "+") == sp.oo)
    steps.check("the reading: quotient <= 3 at eps = 1e-6", bool(quotient.subs(eps, sp.Rational(1, 10**6)) <= 3))
    return steps.result("exact identity on M = 2, d = k = 2, and the exact witness W_i = I_2")


def prove_l2_step() -> ProofResult:
    steps = Steps()
    n = sp.Symbol("n", positive=True)  # ||W||_2 > 0
    w = sp.Matrix(2, 2, sp.symbols("w0:4", real=True))
    q = sp.Symbol("q", positive=True)  # q = 1 - 2 eta lambda, positive for 0 < 2 eta lambda < 1
    steps.check("SN(q W) == q W / (q ||W||) == SN(W) (absolute homogeneity, q = 1 - s > 0)", is_zero(q * w / (q * n) - w / n))
    lam = sp.Symbol("lambda")
    tw = (q * w).T * (q * w)
    lhs = tw.charpoly(lam).as_expr()
    rhs = (q**4 * (w.T * w).charpoly(lam).as_expr()).subs(lam, lam / q**2)
    steps.check("squared singular values of qW are q^2 times those of W (charpoly)", is_zero(sp.expand(lhs - rhs)))
    return steps.result("exact, any W (homogeneity); singular values on a symbolic 2 x 2 W")


PROOFS = {"unit-spectral-bound": prove_unit_spectral_bound, "composed-scale-free": prove_composed_scale_free,
          "l2-step-preserves-ratios": prove_l2_step}



# ----------------------------------------------------------------------------- the j != i readings
# Definition 4.1 with alpha_i = (1/c) sum_{j != i} s_ij, c = M - 1 ("others") or M ("others-over-M").
J_NE_I = ("others", "others-over-M")


def prove_unit_spectral_bound_under(pairs: str) -> ProofResult:
    from lipbound.claims.thm_4_1.proof import prove_our_bound_under

    steps = Steps()
    steps.check(f"Theorem 4.1's identities for pairs={pairs} (lipbound/claims/thm_4_1/proof.py, our-bound-{pairs})",
                prove_our_bound_under(pairs).proved)
    m, c0 = sp.Symbol("M", positive=True), sp.Symbol("c", positive=True)
    div = m - 1 if pairs == "others" else m
    # every w_i = c0: V <= c0 (S - c0) = (M - 1) c0^2, T <= sqrt((M c0^2)^2 - M c0^4) = c0^2 sqrt(M (M - 1))
    bound = (2 * (m - 1) * c0**2 + c0**2 * sp.sqrt(m * (m - 1))) / div
    want = c0**2 * (2 + sp.sqrt(m / (m - 1))) if pairs == "others" else c0**2 * (2 * (m - 1) + sp.sqrt(m * (m - 1))) / m
    steps.check(f"(1/c)(2 (M-1) c^2 + c^2 sqrt(M(M-1))) == {want}", is_zero((bound - want).subs(m, sp.Symbol("M", integer=True,
                                                                                                           positive=True) + 1)))
    return steps.result(f"Theorem 4.1's identities for pairs={pairs!r} plus the arithmetic for any M")


def prove_composed_scale_free_under(pairs: str) -> ProofResult:
    steps = Steps()
    ws, xs, _ = instance(2, 2, 2, pairs)
    t = sp.Symbol("t", positive=True)
    unit = lambda v: v / sp.sqrt((v.T * v)[0, 0])  # noqa: E731
    g = attention(ws, [unit(x) for x in xs], pairs)
    g_t = attention(ws, [unit(t * x) for x in xs], pairs)
    steps.check(f"g(t x) == g(x) for t > 0 (M = 2, d = k = 2, pairs={pairs})", is_zero(g_t - g))
    eps = sp.Symbol("epsilon", positive=True)
    eye = sp.eye(2)
    e1, e2 = sp.Matrix([1, 0]), sp.Matrix([0, 1])
    gx = attention([eye, eye], [e1, e1], pairs)  # normalised x = (eps e1, e1)
    gy = attention([eye, eye], [e2, e1], pairs)  # normalised y = (eps e2, e1)
    quotient = (gx - gy).norm() / (sp.sqrt(2) * eps)
    steps.check("witness quotient -> oo as eps -> 0+", sp.limit(quotient, eps, 0, "+") == sp.oo)
    bound = 2 + sp.sqrt(2) if pairs == "others" else (2 + sp.sqrt(2)) / 2  # the reading's bound for this witness
    steps.check(f"the reading: quotient <= {bound} at eps = 1e-6", bool(quotient.subs(eps, sp.Rational(1, 10**6)) <= bound))
    return steps.result(f"exact identity on M = 2, d = k = 2, and the exact witness W_i = I_2; pairs={pairs!r}")


for _p in J_NE_I:
    PROOFS[f"unit-spectral-bound-{_p}"] = lambda p=_p: prove_unit_spectral_bound_under(p)
    PROOFS[f"composed-scale-free-{_p}"] = lambda p=_p: prove_composed_scale_free_under(p)

if __name__ == "__main__":
    sys.exit(main(PROOFS, "sec-4.5"))
