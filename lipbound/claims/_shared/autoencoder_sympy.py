"""A symbolic multimodal autoencoder with *arbitrary* differentiable components (sympy undefined
functions), shared by the gradient proofs of Lemma 3.1, Lemma 3.2, Eq. 3 and Lemma 3.3.

Instance: M = 2 modalities with input widths (2, 1), latent widths (2, 2), encoder parameter
counts (2, 1), fused width 2 and decoder parameter counts (2, 1). Every encoder component
E_ik(x_i; a_i), fusion component U_l(e_1, e_2) and decoder component D_jk(z; b_j) is an unknown
differentiable function, so an identity proved here holds for every choice of networks and every
fusion of these widths (sum, concatenation restricted to width 2, attention, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

IN_DIMS = (2, 1)
LATENT_DIMS = (2, 2)
ENC_PARAMS = (2, 1)
DEC_PARAMS = (2, 1)
FUSED = 2


@dataclass
class SymbolicAutoencoder:
    x: list[sp.Matrix]           # inputs x_i
    a: list[list[sp.Symbol]]     # encoder parameters theta_Ei
    b: list[list[sp.Symbol]]     # decoder parameters theta_Dj
    e: list[sp.Matrix]           # latents E_i(x_i; a_i)
    zeta: list[sp.Symbol]        # placeholders for the fused latent
    z: sp.Matrix                 # fused latent U(e_1, e_2)
    dec_zeta: list[sp.Matrix]    # D_j(zeta; b_j) as functions of the placeholders
    dec: list[sp.Matrix]         # D_j(z; b_j)
    loss_terms: list[sp.Expr]    # ||x_j - D_j(z)||^2

    @property
    def loss(self) -> sp.Expr:
        return sp.Add(*self.loss_terms)


def build(fusion: str = "generic") -> SymbolicAutoencoder:
    """The instance above. ``fusion`` is ``"generic"`` (unknown U), ``"sum"`` or ``"concat"``."""
    x = [sp.Matrix(sp.symbols(f"x{i}_0:{n}", real=True)) for i, n in enumerate(IN_DIMS)]
    a = [list(sp.symbols(f"a{i}_0:{n}", real=True)) for i, n in enumerate(ENC_PARAMS)]
    e = [
        sp.Matrix([sp.Function(f"E{i}_{k}")(*x[i], *a[i]) for k in range(d)])
        for i, d in enumerate(LATENT_DIMS)
    ]
    if fusion == "generic":
        args = [*e[0], *e[1]]
        z = sp.Matrix([sp.Function(f"U_{l}")(*args) for l in range(FUSED)])
    elif fusion == "sum":
        z = e[0] + e[1]
    elif fusion == "concat":
        z = e[0].col_join(e[1])
    else:
        raise ValueError(fusion)
    zeta = list(sp.symbols(f"zeta0:{z.rows}", real=True))
    b = [list(sp.symbols(f"b{j}_0:{n}", real=True)) for j, n in enumerate(DEC_PARAMS)]
    dec_zeta = [
        sp.Matrix([sp.Function(f"D{j}_{k}")(*zeta, *b[j]) for k in range(n)]) for j, n in enumerate(IN_DIMS)
    ]
    sub = dict(zip(zeta, z))
    dec = [d.subs(sub) for d in dec_zeta]
    loss_terms = [((x[j] - dec[j]).T * (x[j] - dec[j]))[0, 0] for j in range(len(IN_DIMS))]
    return SymbolicAutoencoder(x, a, b, e, zeta, z, dec_zeta, dec, loss_terms)


def grad(expr: sp.Expr, params: list[sp.Symbol]) -> sp.Matrix:
    """Column vector of partial derivatives."""
    return sp.Matrix([sp.diff(expr, p) for p in params])
