"""Exact rational arithmetic for the soundness tests (fractions.Fraction; no lipbound code).

Every float64 is a rational number, so ``Fraction(x)`` is exact, and sums, products and the
LDL^T elimination below are exact: a matrix declared positive definite here is positive definite.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np

Mat = list[list[Fraction]]


def fr(A) -> Mat:
    """A float array as a matrix of exact rationals."""
    A = np.atleast_2d(np.asarray(A, dtype=np.float64))
    return [[Fraction(float(v)) for v in row] for row in A]


def matmul(A: Mat, B: Mat) -> Mat:
    Bt = list(zip(*B))
    return [[sum((a * b for a, b in zip(row, col)), Fraction(0)) for col in Bt] for row in A]


def transpose(A: Mat) -> Mat:
    return [list(r) for r in zip(*A)]


def is_positive_definite(A: Mat) -> bool:
    """Exact test of a symmetric rational matrix: LDL^T without pivoting; a symmetric matrix is
    positive definite iff every pivot of this elimination is positive (Sylvester's criterion:
    pivot k is the ratio of the leading principal minors of orders k and k-1)."""
    n = len(A)
    A = [row[:] for row in A]
    for i in range(n):
        for j in range(n):
            if A[i][j] != A[j][i]:
                raise ValueError("not symmetric")
    for k in range(n):
        p = A[k][k]
        if p <= 0:
            return False
        for i in range(k + 1, n):
            f = A[i][k] / p
            if f:
                for j in range(k + 1, n):
                    A[i][j] -= f * A[k][j]
    return True


def lmi_exact(Ws: Sequence, slopes: Sequence[tuple[float, float]], ts: Sequence, rho, absolute: bool = False) -> Mat:
    r"""The LipSDP matrix :math:`M(\rho, T)` in exact arithmetic, assembled from its definition
    (docs/bounds.md, lipbound/bounds/_sdp.py) rather than from lipbound's code.

    Variables :math:`v = (x_0, z_1, \dots, z_\ell)`, :math:`y_k = W_{k-1} z_{k-1}` (:math:`z_0 = x_0`):

    .. math::

        v^\top M v = -\rho\|x_0\|^2 + \|W_\ell z_\ell\|^2 + \sum_{k=1}^{\ell}
          \big(-2\alpha_k\beta_k\, y_k^\top T_k y_k + 2(\alpha_k+\beta_k)\, z_k^\top T_k y_k - 2 z_k^\top T_k z_k\big).

    With ``absolute`` every coefficient and weight is replaced by its absolute value term by term
    (the companion :math:`|M|` that bounds the rounding error of forming :math:`M`; ``rho`` enters as
    :math:`|\rho|`).
    """
    f = abs if absolute else (lambda v: v)
    W = [fr(np.abs(w) if absolute else w) for w in (np.asarray(w, dtype=np.float64) for w in Ws)]
    dims = [len(W[0][0])] + [len(w) for w in W[:-1]]  # n_0, n_1, ..., n_l
    off = [0]
    for d in dims:
        off.append(off[-1] + d)
    N = off[-1]
    M = [[Fraction(0)] * N for _ in range(N)]
    r = Fraction(float(rho))
    for i in range(dims[0]):
        M[i][i] += f(-r)
    for k in range(1, len(W)):  # hidden layer k: y_k = W_{k-1} z_{k-1}
        a, b = (Fraction(float(s)) for s in slopes[k - 1])
        t = [Fraction(float(v)) for v in np.asarray(ts[k - 1], dtype=np.float64).reshape(-1)]
        Wk = W[k - 1]  # n_k x n_{k-1}
        p, q = off[k - 1], off[k]  # block of z_{k-1}, block of z_k
        caa, cab, cbb = f(-2 * a * b), f(a + b), f(Fraction(-2))
        for u in range(dims[k]):
            tu = t[u]
            # -2ab t_u (W_u . z_{k-1})^2
            for i in range(dims[k - 1]):
                for j in range(dims[k - 1]):
                    M[p + i][p + j] += caa * tu * Wk[u][i] * Wk[u][j]
            # 2 (a + b) t_u z_{k,u} (W_u . z_{k-1})  (split symmetrically)
            for i in range(dims[k - 1]):
                M[q + u][p + i] += cab * tu * Wk[u][i]
                M[p + i][q + u] += cab * tu * Wk[u][i]
            M[q + u][q + u] += cbb * tu
    Wl = W[-1]
    q = off[-2]
    for i in range(dims[-1]):
        for j in range(dims[-1]):
            M[q + i][q + j] += sum((Wl[o][i] * Wl[o][j] for o in range(len(Wl))), Fraction(0))
    return M


def negate(A: Mat) -> Mat:
    return [[-v for v in row] for row in A]


def to_float(A: Mat) -> np.ndarray:
    return np.array([[float(v) for v in row] for row in A])
