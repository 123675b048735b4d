r"""Symbolic proof of Lemma 4.1 (Jacobian blocks of the attention map), every reading.

``blocks``: on symbolic instances (every weight entry and input coordinate a real symbol; M = 2 and
M = 3, widths d = k = 2) each block of sympy's Jacobian of Definition 4.1 equals
:math:`\delta_{ik}\alpha_i I + x_i g_{ik}^\top`, :math:`g_{ik} = \tfrac1M(W_k^\top p_i + \delta_{ik} W_i^\top u)`.
``paper-cross-block``: the same for the blocks k != i, in the paper's form (1/M) x_i (W_k^T W_i x_i)^T.
``paper-self-block``: the recovered Eq. 5 differs from sympy's self-block by (1/M) x_i (W_i^T p_i)^T,
which is not identically zero; at the exact witness (M = 2 scalars, W = 1, x = (1, 1)) the true
block is 5/2 and Eq. 5 gives 2: the reading is disproved (False).
``regularized``: d(x/||x||)/dx = (I - xhat xhat^T)/||x|| for d = 2 and 3 (x != 0), and the chain rule
on a symbolic instance M = 2, d = 2, k = 1 (the effective weights W' are symbols: spectral
normalisation and scaling only change W, not the dependence on x).

The j != i readings of Definition 4.1 (``-others``: alpha_i = (1/(M-1)) sum_{j != i} s_ij;
``-others-over-M``: (1/M) sum_{j != i} s_ij): ``blocks-*`` each block of sympy's Jacobian equals
delta_ik alpha_i I + x_i g_ik^T with g_ik = (1/c) W_k^T p_i (k != i), g_ii = (1/c) W_i^T sum_{j != i} p_j
(M = 2, 3; d = k = 2); ``paper-self-block-*`` the self-blocks equal Eq. 5 read with the sum over j != i
and divisor c, and at the witness that refutes ``paper-self-block`` (M = 2 scalars, W = 1, x = (1, 1)) the
true block equals it; ``regularized-*`` the chain rule as for ``regularized``, on the j != i map.
"""

from __future__ import annotations

import sys

import sympy as sp

from lipbound.claims._ledger import ProofResult
from lipbound.claims._shared.attention_sympy import attention, divisor, instance, stacked
from lipbound.claims._proofs import Steps, is_zero, main

INSTANCES = ((2, 2, 2), (3, 2, 2))  # (M, d, k)
SCOPE = "symbolic weights and inputs, M = 2 and M = 3, d = k = 2; the argument is the product rule for any M, d_i, k"


def closed_block(ws, xs, i: int, k: int, *, self_term: bool = True) -> sp.Matrix:
    """Lemma 4.1's block (i, k); ``self_term=False`` is the self-block as recovered from the paper."""
    m = len(ws)
    ps = [w * x for w, x in zip(ws, xs)]
    u = sum(ps[1:], ps[0])
    g = ws[k].T * ps[i] / m
    if k == i:
        g = ws[i].T * u / m + (g if self_term else sp.zeros(*g.shape))
    blk = xs[i] * g.T
    if k == i:
        blk += (ps[i].T * u)[0, 0] / m * sp.eye(xs[i].rows)
    return blk


def closed_block_others(ws, xs, i: int, k: int, pairs: str) -> sp.Matrix:
    """Block (i, k) under a j != i reading: delta_ik alpha_i I + x_i g_ik^T, g_ik = (1/c) W_k^T p_i (k != i),
    g_ii = (1/c) W_i^T sum_{j != i} p_j (Eq. 5 with the definition's index set)."""
    m = len(ws)
    c = divisor(m, pairs)
    ps = [w * x for w, x in zip(ws, xs)]
    rest = sum((ps[j] for j in range(m) if j != i), sp.zeros(*ps[i].shape))
    g = ws[i].T * rest / c if k == i else ws[k].T * ps[i] / c
    blk = xs[i] * g.T
    if k == i:
        blk += (ps[i].T * rest)[0, 0] / c * sp.eye(xs[i].rows)
    return blk


def _jacobian_blocks(m, d, k, pairs="all"):
    ws, xs, f = instance(m, d, k, pairs)
    jac = f.jacobian(stacked(xs))
    return ws, xs, lambda i, c: jac[i * d:(i + 1) * d, c * d:(c + 1) * d]


def prove_blocks() -> ProofResult:
    steps = Steps()
    for m, d, k in INSTANCES:
        ws, xs, block = _jacobian_blocks(m, d, k)
        for i in range(m):
            for c in range(m):
                steps.check(f"M={m}: J_{i}{c} == closed form", is_zero(block(i, c) - closed_block(ws, xs, i, c)))
    return steps.result(SCOPE)


def prove_paper_cross_block() -> ProofResult:
    steps = Steps()
    for m, d, k in INSTANCES:
        ws, xs, block = _jacobian_blocks(m, d, k)
        for i in range(m):
            for c in range(m):
                if c != i:
                    paper = xs[i] * (ws[c].T * ws[i] * xs[i]).T / m
                    steps.check(f"M={m}: J_{i}{c} == (1/M) x_i (W_k^T W_i x_i)^T", is_zero(block(i, c) - paper))
    return steps.result(SCOPE)


def prove_paper_self_block() -> ProofResult:
    steps = Steps()
    ws, xs, block = _jacobian_blocks(2, 2, 2)
    missing = xs[0] * (ws[0].T * ws[0] * xs[0]).T / 2
    diff = block(0, 0) - closed_block(ws, xs, 0, 0, self_term=False)
    steps.check("J_00 - Eq.5 == (1/M) x_0 (W_0^T W_0 x_0)^T", is_zero(diff - missing))
    # the reading: Eq. 5 is the self-block, i.e. the difference vanishes identically
    steps.check("J_00 - Eq.5 == 0 identically", is_zero(diff))
    one = sp.Matrix([[1]])
    wit_ws, wit_xs = [one, one], [one, one]
    f = attention(wit_ws, [sp.Matrix([sp.Symbol("a", real=True)]), sp.Matrix([sp.Symbol("b", real=True)])])
    true = sp.diff(f[0], sp.Symbol("a", real=True)).subs({sp.Symbol("a", real=True): 1, sp.Symbol("b", real=True): 1})
    paper = closed_block(wit_ws, wit_xs, 0, 0, self_term=False)[0, 0]
    steps.check(f"witness M=2, W=1, x=(1,1): J_11 = {true} equals Eq. 5's {paper}", is_zero(true - paper))
    # two refuting steps: the self block fails as an identity and on its exact witness
    return steps.result("symbolic instance M = 2, d = k = 2, and the exact scalar witness", refuting_steps=2)


def prove_regularized() -> ProofResult:
    steps = Steps()
    for d in (2, 3):
        x = sp.Matrix(d, 1, lambda a, _b: sp.Symbol(f"x_{a}", real=True))
        n = sp.sqrt((x.T * x)[0, 0])
        jac = (x / n).jacobian(x)
        steps.check(f"d={d}: d(x/||x||)/dx == (I - xhat xhat^T)/||x||", is_zero(jac - (sp.eye(d) - x * x.T / n**2) / n))
    ws, xs, _ = instance(2, 2, 1)
    norms = [sp.sqrt((x.T * x)[0, 0]) for x in xs]
    xh = [x / n for x, n in zip(xs, norms)]
    g = attention(ws, xh)
    jac = g.jacobian(stacked(xs))
    ok: list[bool | None] = []
    for i in range(2):
        for c in range(2):
            proj = (sp.eye(2) - xh[c] * xh[c].T) / norms[c]
            ok.append(is_zero(jac[2 * i:2 * i + 2, 2 * c:2 * c + 2] - closed_block(ws, xh, i, c) * proj))
    steps.check("M=2, d=2, k=1: dg_i/dx_k == J^f_ik(xhat; W') (I - xhat_k xhat_k^T)/||x_k||",
                False if False in ok else (True if all(v is True for v in ok) else None))
    return steps.result("normalisation Jacobian for d = 2, 3; chain rule on a symbolic instance M = 2, d = 2, k = 1")


def prove_blocks_under(pairs: str) -> ProofResult:
    steps = Steps()
    for m, d, k in INSTANCES:
        ws, xs, block = _jacobian_blocks(m, d, k, pairs)
        for i in range(m):
            for c in range(m):
                steps.check(f"M={m}, pairs={pairs}: J_{i}{c} == closed form (no s_ii term)",
                            is_zero(block(i, c) - closed_block_others(ws, xs, i, c, pairs)))
    return steps.result(SCOPE + f"; pairs={pairs!r}")


def prove_paper_self_block_under(pairs: str) -> ProofResult:
    steps = Steps()
    for m, d, k in INSTANCES:
        ws, xs, block = _jacobian_blocks(m, d, k, pairs)
        c = divisor(m, pairs)
        for i in range(m):
            rest = sum((ws[j] * xs[j] for j in range(m) if j != i), sp.zeros(k, 1))
            alpha = ((ws[i] * xs[i]).T * rest)[0, 0] / c
            eq5 = alpha * sp.eye(d) + xs[i] * (ws[i].T * rest).T / c
            steps.check(f"M={m}, pairs={pairs}: J_{i}{i} == alpha_i I + (1/c) x_i (W_i^T sum_(j != i) W_j x_j)^T",
                        is_zero(block(i, i) - eq5))
    a, b = sp.symbols("a b", real=True)
    one = sp.Matrix([[1]])
    f = attention([one, one], [sp.Matrix([a]), sp.Matrix([b])], pairs)
    true = sp.diff(f[0], a).subs({a: 1, b: 1})
    eq5 = closed_block_others([one, one], [one, one], 0, 0, pairs)[0, 0]
    steps.check(f"witness of paper-self-block (M=2, W=1, x=(1,1)): J_11 = {true} equals Eq. 5's {eq5}", is_zero(true - eq5))
    return steps.result(SCOPE + f"; pairs={pairs!r}; and the scalar witness")


def prove_regularized_under(pairs: str) -> ProofResult:
    steps = Steps()
    ws, xs, _ = instance(2, 2, 1)
    norms = [sp.sqrt((x.T * x)[0, 0]) for x in xs]
    xh = [x / n for x, n in zip(xs, norms)]
    jac = attention(ws, xh, pairs).jacobian(stacked(xs))
    ok: list[bool | None] = []
    for i in range(2):
        for c in range(2):
            proj = (sp.eye(2) - xh[c] * xh[c].T) / norms[c]
            ok.append(is_zero(jac[2 * i:2 * i + 2, 2 * c:2 * c + 2] - closed_block_others(ws, xh, i, c, pairs) * proj))
    steps.check(f"M=2, d=2, k=1, pairs={pairs}: dg_i/dx_k == J^f_ik(xhat; W') (I - xhat_k xhat_k^T)/||x_k||",
                False if False in ok else (True if all(v is True for v in ok) else None))
    return steps.result(f"chain rule on a symbolic instance M = 2, d = 2, k = 1; pairs={pairs!r}")


PROOFS = {"blocks": prove_blocks, "paper-cross-block": prove_paper_cross_block,
          "paper-self-block": prove_paper_self_block, "regularized": prove_regularized}
for _p in ("others", "others-over-M"):
    PROOFS[f"blocks-{_p}"] = lambda p=_p: prove_blocks_under(p)
    PROOFS[f"paper-self-block-{_p}"] = lambda p=_p: prove_paper_self_block_under(p)
    PROOFS[f"regularized-{_p}"] = lambda p=_p: prove_regularized_under(p)

if __name__ == "__main__":
    sys.exit(main(PROOFS, "lemma-4.1"))
