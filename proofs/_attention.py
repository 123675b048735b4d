"""A symbolic instance of the attention map (Definition 4.1) shared by the Section 4 proofs:
M modalities of width d, score width k, every weight entry and input coordinate a real symbol."""

from __future__ import annotations

import sympy as sp


def instance(m: int = 2, d: int = 2, k: int = 2):
    """Symbols ``(ws, xs, f)``: weights W_i (k x d), inputs x_i (d x 1), and the stacked output f."""
    ws = [sp.Matrix(k, d, lambda a, b, i=i: sp.Symbol(f"w{i}_{a}{b}", real=True)) for i in range(m)]
    xs = [sp.Matrix(d, 1, lambda a, _b, i=i: sp.Symbol(f"x{i}_{a}", real=True)) for i in range(m)]
    return ws, xs, attention(ws, xs)


def attention(ws, xs) -> sp.Matrix:
    m = len(ws)
    ps = [w * x for w, x in zip(ws, xs)]
    u = sum(ps[1:], ps[0])
    alphas = [(p.T * u)[0, 0] / m for p in ps]
    return sp.Matrix.vstack(*[a * x for a, x in zip(alphas, xs)])


def stacked(xs) -> sp.Matrix:
    return sp.Matrix.vstack(*xs)
