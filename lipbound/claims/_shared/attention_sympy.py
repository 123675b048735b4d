"""A symbolic instance of the attention map (Definition 4.1) shared by the Section 4 proofs:
M modalities of width d, score width k, every weight entry and input coordinate a real symbol."""

from __future__ import annotations

import sympy as sp


def instance(m: int = 2, d: int = 2, k: int = 2, pairs: str = "all"):
    """Symbols ``(ws, xs, f)``: weights W_i (k x d), inputs x_i (d x 1), and the stacked output f
    (under the reading ``pairs`` of Definition 4.1's average)."""
    ws = [sp.Matrix(k, d, lambda a, b, i=i: sp.Symbol(f"w{i}_{a}{b}", real=True)) for i in range(m)]
    xs = [sp.Matrix(d, 1, lambda a, _b, i=i: sp.Symbol(f"x{i}_{a}", real=True)) for i in range(m)]
    return ws, xs, attention(ws, xs, pairs)


def divisor(m: int, pairs: str = "all") -> int:
    """The normaliser of alpha_i: M - 1 for the reading ``"others"``, else M."""
    return m - 1 if pairs == "others" else m


def attention(ws, xs, pairs: str = "all") -> sp.Matrix:
    """Definition 4.1's map; ``pairs``: ``"all"`` alpha_i = (1/M) sum_j s_ij (j = i included), ``"others"``
    (1/(M-1)) sum_{j != i} s_ij, ``"others-over-M"`` (1/M) sum_{j != i} s_ij."""
    m = len(ws)
    ps = [w * x for w, x in zip(ws, xs)]
    c = divisor(m, pairs)
    alphas = [sum(((ps[i].T * ps[j])[0, 0] for j in range(m) if pairs == "all" or j != i), sp.Integer(0)) / c
              for i in range(m)]
    return sp.Matrix.vstack(*[a * x for a, x in zip(alphas, xs)])


def stacked(xs) -> sp.Matrix:
    return sp.Matrix.vstack(*xs)
