r"""Symbolic checks for Theorem 3.1 (decoder gradient Lipschitz in the input), docs/claims/thm-3.1.md.

``our-bound``: the algebraic steps of the proof, checked by sympy on a symbolic instance (output
width 2, 3 parameters, M = 3): the three-term split of the gradient difference, the composition
bound for x -> z (concatenation and sum), the residual bound, and the arithmetic combining the
component bounds. Norm inequalities used between the steps (triangle inequality,
||A^T v|| <= ||A||_2 ||v||, mean-value on the convex X_B) are standard and not re-proved.

``paper-bound``: disproved on the ledger's witness (M = 1, E(x) = x, D(z) = tanh(z)/10 + 100, B = 1):
an exact difference quotient, evaluated to 50 digits, exceeds the paper's formula evaluated with
rational upper bounds on all of its components.
"""

from __future__ import annotations

import sys

import sympy as sp

from lipbound.claims._ledger import ProofResult
from lipbound.claims._proofs import Steps, is_nonnegative, is_zero, main

N, P, M = 2, 3, 3


def _mat(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda r, c: sp.Symbol(f"{name}_{r}{c}", real=True))


def _vec(name: str, rows: int) -> sp.Matrix:
    return sp.Matrix(rows, 1, lambda r, _: sp.Symbol(f"{name}_{r}", real=True))


def composition_steps(steps: Steps) -> None:
    """||z - z'|| <= L_z ||x - y||: concat (max L_i), sum (sqrt(sum L_i^2), Lagrange identity); residual bound."""
    lmax = sp.Symbol("Lmax", positive=True)
    us = sp.symbols("u0:3", nonnegative=True)
    a = sp.symbols("a0:3", nonnegative=True)  # a_i = ||x_i - y_i||
    ls = [lmax / (1 + u) for u in us]  # every L_i <= Lmax
    gap = lmax**2 * sp.Add(*[v**2 for v in a]) - sp.Add(*[li**2 * v**2 for li, v in zip(ls, a)])
    steps.check("concat: Lmax^2 sum a_i^2 - sum L_i^2 a_i^2 >= 0", is_nonnegative(sp.factor(sp.together(gap))))
    lv = sp.symbols("L0:3", nonnegative=True)
    lagrange = (sp.Add(*[v**2 for v in lv]) * sp.Add(*[v**2 for v in a]) - sp.Add(*[p * q for p, q in zip(lv, a)]) ** 2
                - sp.Add(*[(lv[i] * a[k] - lv[k] * a[i]) ** 2 for i in range(M) for k in range(i + 1, M)]))
    steps.check("sum: (sum L_i^2)(sum a_i^2) - (sum L_i a_i)^2 == sum_{i<k} (L_i a_k - L_k a_i)^2 (Lagrange)",
                is_zero(lagrange))
    b = sp.Symbol("B", positive=True)
    bk, uk = sp.symbols("b u", nonnegative=True)  # ||x_k|| = b <= B = b + u
    steps.check("||x_k|| <= B  =>  B^2 - ||x_k||^2 >= 0, so ||x||^2 <= M B^2",
                is_nonnegative(sp.expand((bk + uk) ** 2 - bk**2)))
    d0, ld, lz = sp.symbols("d0 L_D L_z", nonnegative=True)
    slack = sp.Symbol("s", nonnegative=True)  # ||x|| = sqrt(M) B - s, s >= 0 by the previous step
    res = b + d0 + ld * lz * sp.sqrt(M) * b - (b + d0 + ld * lz * (sp.sqrt(M) * b - slack))
    steps.check("R_j = B + ||D_j(z(0))|| + L_D L_z sqrt(M) B >= ||x_j|| + ||D_j(z(0))|| + L_D L_z ||x||",
                is_nonnegative(sp.expand(res)))


def prove_our_bound() -> ProofResult:
    steps = Steps()
    a, a2 = _mat("A", N, P), _mat("Ap", N, P)  # J_theta D_j at z and z'
    x, y, d, d2 = _vec("x", N), _vec("y", N), _vec("D", N), _vec("Dp", N)
    lhs = a.T * (x - d) - a2.T * (y - d2)
    rhs = (a - a2).T * (x - d) + a2.T * (x - y) - a2.T * (d - d2)
    steps.check("A^T(x_j - D) - A'^T(y_j - D') == (A - A')^T(x_j - D) + A'^T(x_j - y_j) - A'^T(D - D') (Eqs. 23-25)",
                is_zero(lhs - rhs))
    composition_steps(steps)
    g, lg, ld, lz, r, dist = sp.symbols("G L_gradD L_D L_z R delta", nonnegative=True)
    t1, t2, t3 = lg * lz * dist * r, g * dist, g * ld * lz * dist  # the three bounds, delta = ||x - y||
    k = 2 * (g * (1 + ld * lz) + lg * lz * r)
    steps.check("2 (t1 + t2 + t3) == K ||x - y|| with K = 2 (G (1 + L_D L_z) + L_gradD L_z R)",
                is_zero(2 * (t1 + t2 + t3) - k * dist))
    steps.check("K >= 0 (a Lipschitz constant)", is_nonnegative(k))
    return steps.result(f"symbolic instance n_j = {N}, p = {P}, M = {M}; norm inequalities standard")


# ----------------------------------------------------------------------------- the witness
def witness_model():
    """Exact g_D(x) of the witness (params W1 = 1, b1 = 0, W2 = 1/10, b2 = 100; E(x) = x)."""
    xs = sp.Symbol("x", real=True)
    v2, c2 = sp.Rational(1, 10), sp.Integer(100)
    u = xs  # z = x, u = W1 z + b1
    dz = v2 * sp.tanh(u) + c2
    jac = sp.Matrix([v2 * (1 - sp.tanh(u) ** 2) * xs, v2 * (1 - sp.tanh(u) ** 2), sp.tanh(u), 1])  # d/d(W1,b1,W2,b2)
    return xs, -2 * (xs - dz) * jac, dz


def _ratio(g, xs, h):
    diff = (g.subs(xs, h) - g.subs(xs, 0))
    return sp.sqrt(sum(e**2 for e in diff)) / h


def prove_paper_bound() -> ProofResult:
    """False: at x = 0, y = 1/1000 the exact quotient exceeds the paper's formula with certified components."""
    steps = Steps()
    xs, g, _ = witness_model()
    h = sp.Rational(1, 1000)
    ratio = _ratio(g, xs, h)
    # rational upper bounds of the components on Z = [-1, 1]: |tanh|, sech^2 <= 1, |2 sech^2 tanh| <= 4/(3 sqrt 3) < 77/100
    g_up = sp.sqrt(sp.Rational(1, 100) + sp.Rational(1, 100) + 1 + 1)  # ||J_theta D|| <= sqrt(v2^2 z^2 + v2^2 + 1 + 1)
    lgrad_up = sp.sqrt((sp.Rational(1, 10) * (1 + sp.Rational(77, 100))) ** 2 + sp.Rational(77, 1000) ** 2 + 1)
    l_d, lam, b = sp.Rational(1, 10), sp.Integer(1), sp.Integer(1)  # L_D = |W2 W1|; L_agg = sqrt(1) = 1, L_E = 1
    paper = 2 * (g_up + g_up * l_d * lam + lgrad_up * b * lam)
    steps.check("4/(3 sqrt 3) < 77/100 (bound on |d/dz sech^2 z|)", bool(4 / (3 * sp.sqrt(3)) < sp.Rational(77, 100)))
    verdict = sp.N(ratio - paper, 50) > 0
    steps.check(f"exact ratio {sp.N(ratio, 12)} > paper bound {sp.N(paper, 12)} (50 digits)", bool(verdict))
    ok = all(v for _, v in steps.steps)
    return ProofResult(False if ok else None, "witness M = 1, E(x) = x, D(z) = tanh(z)/10 + 100, B = 1; "
                       "exact expression evaluated to 50 digits", tuple(n for n, _ in steps.steps))


PROOFS = {"our-bound": prove_our_bound, "paper-bound": prove_paper_bound}

if __name__ == "__main__":
    sys.exit(main(PROOFS, "thm-3.1"))
