"""Independent re-checks of reported counterexamples: no lipbound code, only numpy and sympy.

A counterexample row of Theorem 3.3 carries the encoder matrices; these functions recompute the
Lipschitz constants of the fused linear maps from scratch, in float64 (numpy) and exactly (sympy,
entries converted to rationals).
"""

from __future__ import annotations

import numpy as np
import sympy as sp


def numpy_constants(mats, setting):
    ms = [np.asarray(m, dtype=float) for m in mats]
    if setting == "separate":
        rows = sum(m.shape[0] for m in ms)
        cols = sum(m.shape[1] for m in ms)
        cat = np.zeros((rows, cols))
        r = c = 0
        for m in ms:
            cat[r : r + m.shape[0], c : c + m.shape[1]] = m
            r, c = r + m.shape[0], c + m.shape[1]
        summ = np.concatenate(ms, axis=1)
    else:
        cat = np.concatenate(ms, axis=0)
        summ = sum(ms)
    sv = lambda a: float(np.linalg.svd(a, compute_uv=False)[0]) if a.size else 0.0  # noqa: E731
    ls = [sv(m) for m in ms]
    return {"cat": sv(cat), "sum": sv(summ), "L": ls}


def exact_constants(mats, setting):
    """Exact constants for tiny witnesses (sympy eigenvalues of the Gram matrix, rational entries)."""
    ms = [sp.Matrix(m).applyfunc(lambda v: sp.Rational(repr(float(v)))) for m in mats]
    if setting == "separate":
        cat, summ = sp.diag(*ms), sp.Matrix.hstack(*ms)
    else:
        cat, summ = sp.Matrix.vstack(*ms), sum(ms[1:], ms[0])

    def norm(a):
        eig = (a.T * a).eigenvals()
        return sp.sqrt(max(eig, key=lambda e: float(sp.re(sp.N(e, 30)))))

    return {"cat": norm(cat), "sum": norm(summ), "L": [norm(m) for m in ms]}


def mp_constants(mats, setting, dps=50):
    """Constants in 50-digit arithmetic (mpmath SVD), independent of LAPACK; any size."""
    import mpmath

    with mpmath.workdps(dps):
        ms = [mpmath.matrix([[mpmath.mpf(repr(float(v))) for v in row] for row in m]) for m in mats]

        def block(parts, how):
            if how == "diag":
                rows = sum(p.rows for p in parts); cols = sum(p.cols for p in parts)
                out = mpmath.zeros(rows, cols); r = c = 0
                for p in parts:
                    for i in range(p.rows):
                        for j in range(p.cols):
                            out[r + i, c + j] = p[i, j]
                    r, c = r + p.rows, c + p.cols
                return out
            if how == "h":
                rows = parts[0].rows; cols = sum(p.cols for p in parts)
                out = mpmath.zeros(rows, cols); c = 0
                for p in parts:
                    for i in range(p.rows):
                        for j in range(p.cols):
                            out[i, c + j] = p[i, j]
                    c += p.cols
                return out
            if how == "v":
                rows = sum(p.rows for p in parts); cols = parts[0].cols
                out = mpmath.zeros(rows, cols); r = 0
                for p in parts:
                    for i in range(p.rows):
                        for j in range(p.cols):
                            out[r + i, j] = p[i, j]
                    r += p.rows
                return out
            out = parts[0].copy()
            for p in parts[1:]:
                out += p
            return out

        def norm(a):
            return max(mpmath.svd_r(a, compute_uv=False)) if a.rows and a.cols else mpmath.mpf(0)

        if setting == "separate":
            cat, summ = block(ms, "diag"), block(ms, "h")
        else:
            cat, summ = block(ms, "v"), block(ms, "sum")
        return {"cat": norm(cat), "sum": norm(summ), "L": [norm(m) for m in ms]}
