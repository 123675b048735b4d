r"""Symbolic proofs (and exact disproofs) for the readings of Theorem 3.3.

Held readings are proved from the algebraic steps of their arguments (docs/claims/thm-3.3.md),
each step checked by sympy; refuted readings get their ledger witness evaluated in exact rational
arithmetic (exact singular values), so the refutation does not rest on floating point.
"""

from __future__ import annotations

import itertools
import sys

import sympy as sp

from lipbound.claims._ledger import ProofResult
from lipbound.claims._proofs import Steps, is_nonnegative, is_zero, main

MAX_M = 5


def _cross(ls):
    return 2 * sp.Add(*[ls[i] * ls[j] for i, j in itertools.combinations(range(len(ls)), 2)])


def prove_proof_bounds() -> ProofResult:
    """(sum L)^2 - sum L^2 = 2 sum_{i<j} L_i L_j >= 0 for L_i >= 0; both sides >= 0, so sqrt is monotone."""
    steps = Steps()
    for m in range(1, MAX_M + 1):
        ls = sp.symbols(f"L0:{m}", nonnegative=True)
        s1, s2 = sp.Add(*ls), sp.Add(*[v**2 for v in ls])
        steps.check(f"M={m}: (sum L)^2 - sum L^2 == 2 sum_(i<j) L_i L_j", is_zero(s1**2 - s2 - _cross(ls)))
        steps.check(f"M={m}: 2 sum_(i<j) L_i L_j >= 0", is_nonnegative(_cross(ls)))
        steps.check(f"M={m}: sum L >= 0 and sum L^2 >= 0", bool(is_nonnegative(s1)) and bool(is_nonnegative(s2)))
    return steps.result(f"L_i >= 0, M = 1..{MAX_M}")


def prove_proof_bounds_equality() -> ProofResult:
    """Equality iff the cross term vanishes; checked on every zero pattern (positive L_i on the support)."""
    steps = Steps()
    for m in range(1, MAX_M + 1):
        ls = sp.symbols(f"L0:{m}", positive=True)
        for support in itertools.product([False, True], repeat=m):
            vals = [v if keep else 0 for v, keep in zip(ls, support)]
            cross = _cross(vals)
            k = sum(support)
            verdict = is_zero(cross) if k <= 1 else cross.is_positive
            steps.check(f"M={m}, support size {k}: cross term {'== 0' if k <= 1 else '> 0'}", verdict)
    return steps.result(f"L_i >= 0, M = 1..{MAX_M}, all 2^M zero patterns")


def prove_true_separate() -> ProofResult:
    """Lip(f_cat) = max_i L_i <= Lip(f_sum) (separate inputs), from three checked steps (M = 3):

    1. sum_i L_i^2 a_i^2 <= Lmax^2 sum_i a_i^2, writing L_i = Lmax / (1 + u_i), u_i >= 0 (L_i = 0 trivial);
    2. perturbing only block i: ||f_cat(x) - f_cat(y)||^2 = ||E_i(x_i) - E_i(y_i)||^2, ||x - y|| = ||x_i - y_i||;
    3. perturbing only block i: f_sum(x) - f_sum(y) = E_i(x_i) - E_i(y_i), so Lip(f_sum) >= L_i.
    """
    steps = Steps()
    m = 3
    lmax = sp.Symbol("Lmax", positive=True)
    us = sp.symbols("u0:3", nonnegative=True)
    a = sp.symbols("a0:3", nonnegative=True)
    gap = lmax**2 * sp.Add(*[v**2 for v in a]) - sp.Add(*[(lmax / (1 + u)) ** 2 * v**2 for u, v in zip(us, a)])
    steps.check("Lmax^2 sum a_i^2 - sum L_i^2 a_i^2 >= 0", is_nonnegative(sp.factor(sp.together(gap))))
    # blocks: two-dimensional outputs with arbitrary encoders of scalar inputs
    xs, ys = sp.symbols("x0:3", real=True), sp.symbols("y0:3", real=True)
    enc = [(sp.Function(f"E{i}_0"), sp.Function(f"E{i}_1")) for i in range(m)]

    def cat(v):
        return sp.Matrix([f(v[i]) for i in range(m) for f in enc[i]])

    def summ(v):
        return sp.Matrix([sp.Add(*[enc[i][c](v[i]) for i in range(m)]) for c in range(2)])

    for i in range(m):
        y_only_i = [ys[k] if k == i else xs[k] for k in range(m)]
        d_cat = cat(xs) - cat(y_only_i)
        d_i = sp.Matrix([f(xs[i]) - f(ys[i]) for f in enc[i]])
        steps.check(f"block {i}: ||f_cat(x)-f_cat(y)||^2 == ||E_{i}(x_{i})-E_{i}(y_{i})||^2",
                    is_zero((d_cat.T * d_cat)[0, 0] - (d_i.T * d_i)[0, 0]))
        dx = sp.Matrix(xs) - sp.Matrix(y_only_i)
        steps.check(f"block {i}: ||x-y||^2 == (x_{i}-y_{i})^2", is_zero((dx.T * dx)[0, 0] - (xs[i] - ys[i]) ** 2))
        steps.check(f"block {i}: f_sum(x)-f_sum(y) == E_{i}(x_{i})-E_{i}(y_{i})",
                    is_zero(summ(xs) - summ(y_only_i) - d_i))
    return steps.result("arbitrary encoders; the three steps checked for M = 3 (the argument is the same for any M)")


def prove_concat_le_l2() -> ProofResult:
    """||f_cat(x)-f_cat(y)||^2 = sum ||D_i||^2 <= sum L_i^2 a_i^2 <= (sum L_i^2)(sum a_i^2) (separate) and
    sum L_i^2 a^2 = (sum L_i^2) a^2 (shared), with a_i = ||x_i - y_i||."""
    steps = Steps()
    for m in range(1, MAX_M + 1):
        ls = sp.symbols(f"L0:{m}", nonnegative=True)
        a = sp.symbols(f"a0:{m}", nonnegative=True)
        gap = sp.Add(*[v**2 for v in ls]) * sp.Add(*[v**2 for v in a]) - sp.Add(*[l**2 * v**2 for l, v in zip(ls, a)])
        steps.check(f"M={m}: (sum L^2)(sum a^2) - sum L^2 a^2 >= 0", is_nonnegative(sp.expand(gap)))
    return steps.result(f"M = 1..{MAX_M}; shared setting is the identity a_i = a")


def prove_sum_subadditive() -> ProofResult:
    """Triangle inequality from Lagrange's identity (n = 3), and ||x_i - y_i|| <= ||x - y||."""
    steps = Steps()
    u, v = sp.symbols("u0:3", real=True), sp.symbols("v0:3", real=True)
    uu, vv, uv = (sum(p * q for p, q in zip(a, b)) for a, b in ((u, u), (v, v), (u, v)))
    lagrange = sp.Add(*[(u[i] * v[j] - u[j] * v[i]) ** 2 for i, j in itertools.combinations(range(3), 2)])
    steps.check("Lagrange: |u|^2 |v|^2 - (u.v)^2 == sum_(i<j) (u_i v_j - u_j v_i)^2", is_zero(uu * vv - uv**2 - lagrange))
    steps.check("sum of squares >= 0", is_nonnegative(lagrange))
    nu, nv = sp.symbols("nu nv", nonnegative=True)  # |u|, |v|
    steps.check("(|u|+|v|)^2 - |u+v|^2 == 2(|u||v| - u.v), with |u+v|^2 = |u|^2 + |v|^2 + 2 u.v",
                is_zero((nu + nv) ** 2 - (nu**2 + nv**2 + 2 * uv) - 2 * (nu * nv - uv)))
    b = sp.symbols("b0:3", nonnegative=True)  # block norms ||x_k - y_k||
    steps.check("||x-y||^2 - ||x_i-y_i||^2 == sum_(k != i) ||x_k-y_k||^2 >= 0", is_nonnegative(b[1] ** 2 + b[2] ** 2))
    return steps.result("vectors in R^3 (Lagrange's identity); blocks M = 3; induction over M is the usual argument")


def _exact_norm(mat: sp.Matrix) -> sp.Expr:
    if mat.rows == 0 or mat.cols == 0:
        return sp.Integer(0)
    eig = (mat.T * mat).eigenvals()
    return sp.sqrt(max(eig, key=lambda e: float(e)))


def exact_constants(mats: list[list[list]], setting: str) -> dict[str, sp.Expr]:
    """Exact Lip(f_cat), Lip(f_sum), L_i of linear encoders with rational entries (sympy)."""
    ms = [sp.Matrix(m).applyfunc(sp.nsimplify) for m in mats]
    if setting == "separate":
        cat, summ = sp.diag(*ms), sp.Matrix.hstack(*ms)
    else:
        cat, summ = sp.Matrix.vstack(*ms), sum(ms[1:], ms[0])
    ls = [_exact_norm(m) for m in ms]
    return {"cat": _exact_norm(cat), "sum": _exact_norm(summ), "L": ls,
            "l2": sp.sqrt(sp.Add(*[v**2 for v in ls]))}


def _refute(witness, predicate, what: str) -> ProofResult:
    from lipbound.claims.thm_3_3 import evaluators as ev

    w = witness()
    c = exact_constants(w["matrices"], w["setting"])
    steps = Steps()
    violated = bool(predicate(c))
    # a disproof: the step "the statement holds on the witness" is False
    steps.check(f"{what} on the witness {w['matrices']} ({w['setting']}): exact values "
                f"Lip(f_cat)={c['cat']}, Lip(f_sum)={c['sum']}, L={c['L']}", not violated)
    return steps.result("exact rational witness")


def refute_separate_equality() -> ProofResult:
    def violated(c):
        nonzero = sum(1 for v in c["L"] if v != 0)
        return sp.simplify(c["cat"] - c["sum"]) == 0 and nonzero >= 2
    from lipbound.claims.thm_3_3.evaluators import witness_separate_equality
    return _refute(witness_separate_equality, violated, "'equality only if at most one nonconstant encoder'")


def refute_shared() -> ProofResult:
    from lipbound.claims.thm_3_3.evaluators import witness_shared
    return _refute(witness_shared, lambda c: (c["cat"] - c["sum"]).is_positive, "'Lip(f_cat) <= Lip(f_sum)'")


def refute_concat_equals_l2() -> ProofResult:
    from lipbound.claims.thm_3_3.evaluators import witness_concat_l2
    return _refute(witness_concat_l2, lambda c: sp.simplify(c["cat"] - c["l2"]) != 0, "'Lip(f_cat) == sqrt(sum L_i^2)'")


def _fro(m: sp.Matrix) -> sp.Expr:
    return sp.sqrt(sum(e**2 for e in m))


def prove_frobenius_separate() -> ProofResult:
    """||blockdiag(J_1, J_2, J_3)||_F^2 == ||[J_1 J_2 J_3]||_F^2 for symbolic blocks of widths 1, 2, 3 (the
    same entries, rearranged, plus zeros): equality, hence <=."""
    steps = Steps()
    blocks = [sp.Matrix(2, n, sp.symbols(f"a{i}_0:{2 * n}", real=True)) for i, n in enumerate((1, 2, 3))]
    cat, summ = sp.diag(*blocks), sp.Matrix.hstack(*blocks)
    sq = lambda m: sp.Add(*[e**2 for e in m])  # noqa: E731
    steps.check("||blockdiag(J_i)||_F^2 == ||[J_1 J_2 J_3]||_F^2 == sum_i ||J_i||_F^2 (M = 3, 2 x 1, 2 x 2, 2 x 3)",
                is_zero(sq(cat) - sq(summ)))
    steps.check("... == sum_i ||J_i||_F^2", is_zero(sq(summ) - sp.Add(*[sq(b) for b in blocks])))
    return steps.result("symbolic blocks, M = 3 (the identity is entrywise, the same for every M and shape)")


def refute_frobenius_separate_equality() -> ProofResult:
    from lipbound.claims.thm_3_3.evaluators import witness_concat_l2

    steps = Steps()
    ms = [sp.Matrix(m) for m in witness_concat_l2()["matrices"]]
    cat, summ = _fro(sp.diag(*ms)), _fro(sp.Matrix.hstack(*ms))
    steps.check(f"witness A_1 = A_2 = [1]: ||J f_cat||_F == ||J f_sum||_F == {cat}", is_zero(cat - summ))
    steps.check("two nonzero Jacobians", sum(1 for m in ms if any(e != 0 for e in m)) == 2)
    steps.check("the reading: equality only if at most one J_i != 0", False)
    return steps.result("exact witness A_1 = A_2 = [1], separate inputs")


def refute_frobenius_shared() -> ProofResult:
    from lipbound.claims.thm_3_3.evaluators import witness_shared

    steps = Steps()
    ms = [sp.Matrix(m).applyfunc(sp.nsimplify) for m in witness_shared()["matrices"]]
    cat, summ = _fro(sp.Matrix.vstack(*ms)), _fro(ms[0] + ms[1])
    steps.check("witness A_1 = I_2, A_2 = -I_2: ||[A_1; A_2]||_F == 2", is_zero(cat - 2))
    steps.check("||A_1 + A_2||_F == 0", is_zero(summ))
    steps.check("the reading: ||J f_cat||_F <= ||J f_sum||_F", bool(cat <= summ))
    return steps.result("exact witness A_1 = I_2, A_2 = -I_2, shared input")


PROOFS = {
    "proof-bounds": prove_proof_bounds,
    "proof-bounds-equality": prove_proof_bounds_equality,
    "true-separate": prove_true_separate,
    "true-separate-equality": refute_separate_equality,
    "true-shared": refute_shared,
    "concat-equals-l2": refute_concat_equals_l2,
    "concat-le-l2": prove_concat_le_l2,
    "sum-subadditive": prove_sum_subadditive,
    "frobenius-separate": prove_frobenius_separate,
    "frobenius-separate-equality": refute_frobenius_separate_equality,
    "frobenius-shared": refute_frobenius_shared,
}

if __name__ == "__main__":
    sys.exit(main(PROOFS, "thm-3.3"))
