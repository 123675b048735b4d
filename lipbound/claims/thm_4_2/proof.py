r"""Symbolic checks for Theorem 4.2's readings (Lipschitz constant of the attention Jacobian).

``our-bound``: the second directional derivative splits as
d^2 f[h, v]_i = dalpha_i[v] h_i + dalpha_i[h] v_i + x_i d^2 alpha_i[h, v], with
dalpha_i[v] = (1/M)((W_i v_i)^T u + p_i^T W v) and d^2 alpha_i[h, v] = (1/M)((W_i h_i)^T W v + (W_i v_i)^T W h)
(checked on a symbolic instance M = 2, d = k = 2); the three terms are then bounded by
(w_max R/M)(U + sigma), (w_max R/M)(U + sigma) and 2 R sigma w_max / M (triangle inequality,
submultiplicativity, ||h|| = ||v|| = 1), summing to (2 R w_max / M)(U + 2 sigma).
``homogeneity``: f(x; tW) = t^2 f(x; W), f(cx; W) = c^3 f(x; W).
``cubic-in-w``: for every C > 0 the scalar witness (M = 2, W_i = t, R = 1) with t = 2/C has
Lip(J) >= |d^2 f_1/dx_1^2 (1, 1)| = 4 t^2 = 16/C^2 > C t^3 = 8/C^2.
``linear-in-M`` (a growth-rate reading: the paper's C_M, linear in M, is a constant of its bound): with
W_i = 1 (scalars), Lip(J) >= 4 at M = 2 while lipbound's bound at M = 16 is 3 < 16, so the linear growth
is not attained and the bound is loose in M (the verdict is ``loose``, not ``refuted``).
"""

from __future__ import annotations

import sys

import sympy as sp

from lipbound.claims._ledger import ProofResult
from lipbound.claims._shared.attention_sympy import attention, divisor, instance, stacked
from lipbound.claims._proofs import Steps, is_zero, main


def prove_our_bound() -> ProofResult:
    ws, xs, f = instance()
    m = len(ws)
    steps = Steps()
    hs = [sp.Matrix(2, 1, lambda a, _b, i=i: sp.Symbol(f"h{i}_{a}", real=True)) for i in range(m)]
    vs = [sp.Matrix(2, 1, lambda a, _b, i=i: sp.Symbol(f"v{i}_{a}", real=True)) for i in range(m)]
    x, h, v = stacked(xs), stacked(hs), stacked(vs)
    jac = f.jacobian(x)
    # directional derivative of J along v, applied to h
    djv = sum((jac.diff(x[a]) * v[a] for a in range(x.rows)), sp.zeros(*jac.shape)) * h
    ps = [w * xi for w, xi in zip(ws, xs)]
    u = sum(ps[1:], ps[0])
    wv = sum((w * vi for w, vi in zip(ws, vs)), sp.zeros(2, 1))
    wh = sum((w * hi for w, hi in zip(ws, hs)), sp.zeros(2, 1))
    blocks = []
    for i in range(m):
        da_v = ((ws[i] * vs[i]).T * u + ps[i].T * wv)[0, 0] / m
        da_h = ((ws[i] * hs[i]).T * u + ps[i].T * wh)[0, 0] / m
        d2a = ((ws[i] * hs[i]).T * wv + (ws[i] * vs[i]).T * wh)[0, 0] / m
        blocks.append(da_v * hs[i] + da_h * vs[i] + xs[i] * d2a)
    steps.check("dJ(x)[v] h == three-term decomposition", is_zero(djv - sp.Matrix.vstack(*blocks)))
    r, w, uu, s = sp.symbols("R w_max U sigma", positive=True)
    total = 2 * (w * r / m) * (uu + s) + 2 * r * s * w / m
    steps.check("term bounds sum to (2 R w_max / M)(U + 2 sigma)", is_zero(total - 2 * r * w / m * (uu + 2 * s)))
    return steps.result("decomposition on a symbolic instance M = 2, d = k = 2; norm bounds standard")


def prove_homogeneity() -> ProofResult:
    ws, xs, f = instance()
    t, c = sp.symbols("t c", positive=True)
    steps = Steps()
    steps.check("f(x; tW) == t^2 f(x; W)", is_zero(attention([t * w for w in ws], xs) - t**2 * f))
    steps.check("f(cx; W) == c^3 f(x; W)", is_zero(attention(ws, [c * x for x in xs]) - c**3 * f))
    return steps.result("symbolic instance M = 2, d = k = 2")


def _witness_second_derivative(t):
    x1, x2 = sp.symbols("x1 x2", real=True)
    f1 = t**2 * x1**2 * (x1 + x2) / 2  # alpha_1 x_1 with W_1 = W_2 = t (scalars)
    return sp.diff(f1, x1, 2).subs({x1: 1, x2: 1})


def refute_cubic_in_w() -> ProofResult:
    steps = Steps()
    c = sp.Symbol("C", positive=True)
    t = 2 / c
    lower = _witness_second_derivative(t)  # a lower bound of Lip(J) on B_1 (an entry of dJ[e_1])
    gap = sp.simplify(lower - c * t**3 * 1)
    steps.check(f"Lip(J) <= C W_max^3 R for every C > 0: but at t = 2/C the witness has {sp.simplify(lower)} "
                f"> C t^3 = {sp.simplify(c * t**3)}", not bool(gap.is_positive))
    return steps.result("exact witness family: M = 2 scalar modalities, W_i = 2/C, R = 1, any C > 0")


def refute_linear_in_m() -> ProofResult:
    steps = Steps()
    low2 = _witness_second_derivative(sp.Integer(1))  # Lip(J) at M = 2 is at least 4
    m = 16
    u, sigma = sp.Integer(m), sp.sqrt(m)  # W_i = 1: S = 16, sigma = ||[1 ... 1]|| = 4, U = min(16, 4 * 4)
    up16 = 2 * 1 * 1 / sp.Integer(m) * (u + 2 * sigma)
    steps.check(f"Lip(J)(16) >= 4 Lip(J)(2): but Lip(J)(16) <= {up16} < 4 x {low2}", not bool(up16 < 4 * low2))
    return steps.result("exact witness: scalar modalities with W_i = 1, R = 1, M = 2 vs M = 16")


PROOFS = {
    "our-bound": prove_our_bound,
    "homogeneity": prove_homogeneity,
    "cubic-in-w": refute_cubic_in_w,
    "linear-in-M": refute_linear_in_m,
}



# ----------------------------------------------------------------------------- the j != i readings
# Definition 4.1 with alpha_i = (1/c) sum_{j != i} s_ij, c = M - 1 ("others") or M ("others-over-M").
J_NE_I = ("others", "others-over-M")


def prove_our_bound_under(pairs: str) -> ProofResult:
    ws, xs, f = instance(2, 2, 2, pairs)
    m = len(ws)
    c = divisor(m, pairs)
    steps = Steps()
    hs = [sp.Matrix(2, 1, lambda a, _b, i=i: sp.Symbol(f"h{i}_{a}", real=True)) for i in range(m)]
    vs = [sp.Matrix(2, 1, lambda a, _b, i=i: sp.Symbol(f"v{i}_{a}", real=True)) for i in range(m)]
    x, h, v = stacked(xs), stacked(hs), stacked(vs)
    jac = f.jacobian(x)
    djv = sum((jac.diff(x[a]) * v[a] for a in range(x.rows)), sp.zeros(*jac.shape)) * h
    ps = [w * xi for w, xi in zip(ws, xs)]
    blocks = []
    for i in range(m):
        r = sum((ps[j] for j in range(m) if j != i), sp.zeros(2, 1))  # sum_{j != i} p_j
        wv = sum((ws[j] * vs[j] for j in range(m) if j != i), sp.zeros(2, 1))
        wh = sum((ws[j] * hs[j] for j in range(m) if j != i), sp.zeros(2, 1))
        da_v = ((ws[i] * vs[i]).T * r + ps[i].T * wv)[0, 0] / c
        da_h = ((ws[i] * hs[i]).T * r + ps[i].T * wh)[0, 0] / c
        d2a = ((ws[i] * hs[i]).T * wv + (ws[i] * vs[i]).T * wh)[0, 0] / c
        blocks.append(da_v * hs[i] + da_h * vs[i] + xs[i] * d2a)
    steps.check(f"dJ(x)[v] h == three-term decomposition with sums over j != i (pairs={pairs})",
                is_zero(djv - sp.Matrix.vstack(*blocks)))
    r_, w, uu, s = sp.symbols("R w_max U' sigma", positive=True)
    cc = sp.Symbol("c", positive=True)
    total = 2 * (w * r_ / cc) * (uu + s) + 2 * r_ * s * w / cc
    steps.check("term bounds sum to (2 R w_max / c)(U' + 2 sigma)", is_zero(total - 2 * r_ * w / cc * (uu + 2 * s)))
    return steps.result(f"decomposition on a symbolic instance M = 2, d = k = 2, pairs={pairs!r}; norm bounds standard "
                        "(||sum_(j != i) W_j v_j|| <= sigma ||v||, ||sum_(j != i) p_j|| <= R U')")


def prove_homogeneity_under(pairs: str) -> ProofResult:
    ws, xs, f = instance(2, 2, 2, pairs)
    t, c = sp.symbols("t c", positive=True)
    steps = Steps()
    steps.check(f"f(x; tW) == t^2 f(x; W) (pairs={pairs})", is_zero(attention([t * w for w in ws], xs, pairs) - t**2 * f))
    steps.check(f"f(cx; W) == c^3 f(x; W) (pairs={pairs})", is_zero(attention(ws, [c * x for x in xs], pairs) - c**3 * f))
    return steps.result(f"symbolic instance M = 2, d = k = 2; pairs={pairs!r}")


def _witness_second_derivative_under(t, pairs: str):
    x1, x2 = sp.symbols("x1 x2", real=True)
    f1 = attention([sp.Matrix([[t]])] * 2, [sp.Matrix([x1]), sp.Matrix([x2])], pairs)[0]
    return sp.diff(f1, x1, 2).subs({x1: 1, x2: 1})


def refute_cubic_in_w_under(pairs: str) -> ProofResult:
    steps = Steps()
    cst = sp.Symbol("C", positive=True)
    c = divisor(2, pairs)
    t = 1 / (c * cst)
    steps.check(f"witness second derivative d^2 f_1/dx_1^2 (1, 1) == 2 t^2 / {c} (pairs={pairs})",
                is_zero(_witness_second_derivative_under(sp.Symbol("t", positive=True), pairs)
                        - 2 * sp.Symbol("t", positive=True) ** 2 / c))
    lower = _witness_second_derivative_under(t, pairs)
    gap = sp.simplify(lower - cst * t**3)
    steps.check(f"Lip(J) <= C W_max^3 R for every C > 0: but at t = 1/({c} C) the witness has {sp.simplify(lower)} "
                f"> C t^3 = {sp.simplify(cst * t**3)}", not bool(gap.is_positive))
    return steps.result(f"exact witness family: M = 2 scalar modalities, W_i = 1/(c C), R = 1, any C > 0; pairs={pairs!r}")


def refute_linear_in_m_under(pairs: str) -> ProofResult:
    steps = Steps()
    low2 = _witness_second_derivative_under(sp.Integer(1), pairs)  # Lip(J) at M = 2 is at least this
    m = 16
    u, sigma = sp.Integer(m - 1), sp.sqrt(m)  # W_i = 1: U' = min(S - w_min, sigma sqrt(M-1)) = min(15, 4 sqrt 15) = 15
    up16 = 2 * sp.Integer(1) / divisor(m, pairs) * (u + 2 * sigma)
    steps.check(f"Lip(J)(16) >= 4 Lip(J)(2): but Lip(J)(16) <= {up16} < 4 x {low2} (pairs={pairs})",
                not bool(up16 < 4 * low2))
    return steps.result(f"exact witness: scalar modalities with W_i = 1, R = 1, M = 2 vs M = 16; pairs={pairs!r}")


for _p in J_NE_I:
    PROOFS[f"our-bound-{_p}"] = lambda p=_p: prove_our_bound_under(p)
    PROOFS[f"homogeneity-{_p}"] = lambda p=_p: prove_homogeneity_under(p)
    PROOFS[f"cubic-in-w-{_p}"] = lambda p=_p: refute_cubic_in_w_under(p)
    PROOFS[f"linear-in-M-{_p}"] = lambda p=_p: refute_linear_in_m_under(p)

if __name__ == "__main__":
    sys.exit(main(PROOFS, "thm-4.2"))
