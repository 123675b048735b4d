r"""Symbolic checks for Theorem 3.2 (encoder gradient Lipschitz in the input), docs/claims/thm-3.2.md.

``our-bound``: the three-term split of P^T Q^T r - P'^T Q'^T r' (symbolic matrices: latent width 2,
output width 2, 3 parameters), the residual difference, the composition steps shared with Theorem
3.1, and the arithmetic combining the component bounds (M = 3 decoders).

``paper-bound``: disproved on the witness of Theorem 3.1 (exact quotient vs the paper's formula with
rational upper bounds on its components).

``encoder-exceeds-decoder``: reversed exactly on the linear witness E(x) = x, D(z) = z/100, B = 1,
where g_E = g_D / 100 identically and Lip(g_D) = 2 (99/100) sqrt 5 > 0. The paper says "typically", so
this shows the order is not universal; the reading is a tendency, reported ``not-supported`` with how
often it held over the cases.
"""

from __future__ import annotations

import sys

import sympy as sp

from lipbound.claims._ledger import ProofResult
from lipbound.claims._proofs import Steps, is_nonnegative, is_zero, main
from lipbound.claims.thm_3_1.proof import _mat, _vec, composition_steps

DZ, N, P, M = 2, 2, 3, 3


def prove_our_bound() -> ProofResult:
    steps = Steps()
    pm, pm2 = _mat("P", DZ, P), _mat("Pp", DZ, P)  # J_theta_Ei z at x, y
    q, q2 = _mat("Q", N, DZ), _mat("Qp", N, DZ)  # J_z D_j at z, z'
    x, y, d, d2 = _vec("x", N), _vec("y", N), _vec("D", N), _vec("Dp", N)
    r, r2 = x - d, y - d2
    lhs = pm.T * q.T * r - pm2.T * q2.T * r2
    rhs = (pm - pm2).T * q.T * r + pm2.T * (q - q2).T * r + pm2.T * q2.T * (r - r2)
    steps.check("P^T Q^T r - P'^T Q'^T r' == (P-P')^T Q^T r + P'^T (Q-Q')^T r + P'^T Q'^T (r - r')", is_zero(lhs - rhs))
    steps.check("r - r' == (x_j - y_j) - (D_j(z) - D_j(z'))", is_zero((r - r2) - ((x - y) - (d - d2))))
    composition_steps(steps)
    lgz, gz, lz, dist = sp.symbols("L_Gz G_z L_z delta", nonnegative=True)
    lds, hs, rs = (sp.symbols(f"{n}0:{M}", nonnegative=True) for n in ("L_D", "H", "R"))
    terms = sp.Add(*[lgz * dist * lds[j] * rs[j]  # ||P - P'|| ||Q|| ||r||
                     + gz * hs[j] * lz * dist * rs[j]  # ||P'|| ||Q - Q'|| ||r||
                     + gz * lds[j] * (1 + lds[j] * lz) * dist for j in range(M)])  # ||P'|| ||Q'|| ||r - r'||
    k = 2 * sp.Add(*[lgz * lds[j] * rs[j] + gz * hs[j] * lz * rs[j] + gz * lds[j] * (1 + lds[j] * lz) for j in range(M)])
    steps.check("2 sum_j (three term bounds) == K ||x - y||", is_zero(2 * terms - k * dist))
    steps.check("K >= 0", is_nonnegative(k))
    return steps.result(f"symbolic instance d_z = {DZ}, n_j = {N}, p = {P}, M = {M}; norm inequalities standard")


def prove_paper_bound() -> ProofResult:
    """False on the witness M = 1, E(x) = w x + b (w = 1, b = 0), D(z) = tanh(z)/10 + 100, B = 1."""
    steps = Steps()
    xs = sp.Symbol("x", real=True)
    v2, c2 = sp.Rational(1, 10), sp.Integer(100)
    q = v2 * (1 - sp.tanh(xs) ** 2)  # D'(z) at z = x
    g = -2 * (xs - v2 * sp.tanh(xs) - c2) * q * sp.Matrix([xs, 1])  # gradient wrt (w, b)
    h = sp.Rational(1, 1000)
    diff = g.subs(xs, h) - g.subs(xs, 0)
    ratio = sp.sqrt(sum(e**2 for e in diff)) / h
    gz, l_d, lam, b, l_gz = sp.sqrt(2), v2, sp.Integer(1), sp.Integer(1), sp.Integer(1)  # ||[x,1]|| <= sqrt 2
    l_grad = v2 * sp.Rational(77, 100)  # |d/dz (sech^2 z)/10| <= 4/(3 sqrt 3)/10 < 0.077
    paper = 2 * (gz * l_d * (1 + l_d * lam) + b * (gz * l_grad * lam + l_d * l_gz))
    steps.check("4/(3 sqrt 3) < 77/100", bool(4 / (3 * sp.sqrt(3)) < sp.Rational(77, 100)))
    steps.check(f"exact ratio {sp.N(ratio, 12)} > paper bound {sp.N(paper, 12)} (50 digits)",
                bool(sp.N(ratio - paper, 50) > 0))
    ok = all(v for _, v in steps.steps)
    return ProofResult(False if ok else None, "witness M = 1, E(x) = x, D(z) = tanh(z)/10 + 100, B = 1; "
                       "exact expression evaluated to 50 digits", tuple(n for n, _ in steps.steps))


def prove_encoder_exceeds_decoder() -> ProofResult:
    """False: E(x) = w x + b, D(z) = v z + c at w = 1, b = 0, v = 1/100, c = 0: g_E = v g_D exactly."""
    steps = Steps()
    xs, w, b, v, c = sp.symbols("x w b v c", real=True)
    z = w * xs + b
    loss = (xs - (v * z + c)) ** 2
    at = {w: 1, b: 0, v: sp.Rational(1, 100), c: 0}
    g_e = sp.Matrix([sp.diff(loss, w), sp.diff(loss, b)]).subs(at)
    g_d = sp.Matrix([sp.diff(loss, v), sp.diff(loss, c)]).subs(at)
    steps.check("g_E(x) == g_D(x) / 100 for all x", is_zero(g_e - g_d / 100))
    dg = sp.diff(g_d, xs).subs(xs, 1)  # Lip(g_D; [-1, 1]) >= ||g_D'(1)|| > 0
    steps.check("||g_D'(1)|| == 2 (99/100) sqrt 5 > 0", is_zero(sp.sqrt(sum(e**2 for e in dg)) - 2 * sp.Rational(99, 100) * sp.sqrt(5)))
    ok = all(v_ for _, v_ in steps.steps)
    return ProofResult(False if ok else None, "exact witness M = 1, linear E(x) = x, D(z) = z/100, B = 1: "
                       "Lip(g_E) = Lip(g_D)/100 < Lip(g_D)", tuple(n for n, _ in steps.steps))


PROOFS = {"our-bound": prove_our_bound, "paper-bound": prove_paper_bound,
          "encoder-exceeds-decoder": prove_encoder_exceeds_decoder}

if __name__ == "__main__":
    sys.exit(main(PROOFS, "thm-3.2"))
