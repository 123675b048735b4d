r"""The one LipSDP description: a chain of weights with per-layer or per-neuron slope intervals,
multipliers, and the block-tridiagonal LMI they define, read by every backend.

For :math:`f(x) = W_\ell \varphi_\ell(W_{\ell-1} \cdots \varphi_1(W_0 x))` (notation of
:mod:`lipbound.bounds._sdp`), :func:`lmi_blocks` gives the diagonal and sub-diagonal blocks of
:math:`-M(\rho, T)` (or of :math:`|M|`, for rounding-error bounds), optionally congruence-scaled and
shifted. The dense verifier (:func:`~lipbound.bounds.verify_certificate`), the block-Cholesky
verifier (:func:`~lipbound.bounds.verify_certificate_banded`) and the barrier solver
(:func:`~lipbound.bounds.solve_barrier`) assemble their matrices from it; the first-order solver
differentiates the same blocks in torch (``lipbound.bounds._eigopt._schur``) and cvxpy poses them
symbolically (:func:`~lipbound.bounds.solve_lipsdp`). :class:`_Chain` is the reduced, scaled chain
the solvers work on. This module imports no solver, so the solver modules depend on it and not on
each other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from ..errors import LipboundError, NonFiniteError, ShapeMismatchError
from ._slopes import slope_coefficients


class CertificateError(LipboundError):
    """Multipliers that do not yield a verified certificate (the message says why)."""


def _as_np(Ws: Sequence) -> list[np.ndarray]:
    return [np.asarray(W.detach().cpu().numpy() if isinstance(W, torch.Tensor) else W, dtype=np.float64)
            for W in Ws]


#: multipliers times squared weight norms beyond this are a solver's garbage (and would overflow
#: the float64 error bounds): such a certificate is refused, never "verified"
MULTIPLIER_RANGE = 1e120


def checked_multipliers(Ws: Sequence[np.ndarray], ts) -> list[np.ndarray]:
    """Multipliers clipped at 0 as float64 arrays, after checking shapes, finiteness and range;
    raises :class:`CertificateError` otherwise (shared by both certificate checks).

    >>> checked_multipliers([np.eye(2), np.ones((1, 2))], [np.array([1e200, 1.0])])
    Traceback (most recent call last):
    ...
    lipbound.bounds._lmi.CertificateError: multipliers out of range (largest 1e+200, weights up to 1.4): the solver's answer is unusable
    """
    ts = [np.clip(np.asarray(t, dtype=np.float64).reshape(-1), 0.0, None) for t in ts]
    if len(ts) != len(Ws) - 1 or any(t.shape[0] != W.shape[0] for t, W in zip(ts, Ws[:-1])):
        raise CertificateError("multipliers do not match the hidden layer widths")
    if not all(np.isfinite(t).all() for t in ts):
        raise CertificateError("multipliers contain NaN or Inf")
    tmax = max((float(t.max()) for t in ts if t.size), default=0.0)
    wmax = max(float(np.abs(W).max()) * math.sqrt(max(W.shape)) for W in Ws)
    if tmax * max(wmax, 1.0) ** 2 > MULTIPLIER_RANGE:
        raise CertificateError(f"multipliers out of range (largest {tmax:.2g}, weights up to {wmax:.2g}): "
                               "the solver's answer is unusable")
    return ts


def _reduce_first_layer(W0: np.ndarray) -> np.ndarray:
    r"""Row-space reduction: :math:`W_0 = U S V^\top`, replace :math:`W_0` by :math:`U S`
    (:math:`x \mapsto V^\top x` is onto and 1-Lipschitz and :math:`f` only depends on it, so the
    constant is unchanged). Only used to pose the SDP; verification uses the original :math:`W_0`."""
    return _reduce_with_norm(W0)[0]


def _reduce_with_norm(W0: np.ndarray) -> tuple[np.ndarray, float]:
    """:func:`_reduce_first_layer` and the spectral norm of ``W0`` from the same SVD."""
    U, s, _ = np.linalg.svd(W0, full_matrices=False)
    r = max(int((s > s[0] * 1e-12).sum()) if s.size and s[0] > 0 else 1, 1)
    return U[:, :r] * s[:r], float(s[0]) if s.size else 0.0


class _Chain:
    """Float64 torch data of a chain, the last layer divided by ``scale`` so that rho is O(1)."""

    def __init__(self, Ws: Sequence[np.ndarray], slopes: Sequence[tuple[float, float]], reduce: bool):
        if len(Ws) < 2 or len(slopes) != len(Ws) - 1:
            raise ShapeMismatchError("need weights W_0..W_l (l >= 1) and one slope interval per hidden layer")
        for k, W in enumerate(Ws):
            if not np.isfinite(W).all():
                raise NonFiniteError(f"weight W_{k} holds NaN or Inf values")
            if k > 0 and W.shape[1] != Ws[k - 1].shape[0]:
                raise ShapeMismatchError(f"W_{k} has {W.shape[1]} columns but W_{k - 1} has {Ws[k - 1].shape[0]} rows")
        if reduce:
            W0, n0 = _reduce_with_norm(Ws[0])
        else:
            W0, n0 = Ws[0], float(np.linalg.norm(Ws[0], 2))
        scale = max(n0, 1e-300)
        for W in Ws[1:]:
            scale *= max(float(np.linalg.norm(W, 2)), 1e-300)
        self.scale = max(scale, 1e-300)
        mats = [W0, *Ws[1:-1], Ws[-1] / self.scale]
        self.mats = [torch.as_tensor(np.ascontiguousarray(W), dtype=torch.float64) for W in mats]
        self.hidden = [W.shape[0] for W in mats[:-1]]
        #: per-neuron (alpha beta, alpha + beta) of each hidden layer (numpy and torch)
        self.coef = slope_coefficients(slopes, self.hidden)
        self.tcoef = [(torch.from_numpy(p), torch.from_numpy(c)) for p, c in self.coef]


def lmi_blocks(Ws, slopes, ts, rho: float, c: float, absolute: bool, d: Sequence[float] | None = None, *,
               coef: Sequence | None = None):
    """Diagonal and sub-diagonal blocks of :math:`A = D(-M(\\rho, T))D - cI` (or of :math:`D|M|D + cI`
    with ``absolute``), :math:`D` = ``d[k]`` on block k (powers of two: exact scaling), in the order
    input, hidden 1, ..., hidden l; ``sub[k]`` couples block k+1 (rows) with block k. ``coef``: the
    per-neuron coefficients of :func:`~lipbound.bounds._slopes.slope_coefficients` when the caller
    has them (``slopes`` is then not read).

    This is the one description of the LMI: the dense matrix (:func:`dense_lmi`,
    :func:`~lipbound.bounds.build_lmi`), the block-Cholesky certificate and the barrier solver's
    :math:`F(\\rho, t) = -M(\\rho, T)` are all assembled from these blocks.

    >>> diag, sub = lmi_blocks([np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[1.0, 1.0]])], [(0.0, 1.0)],
    ...                        [np.array([2.0, 2.0])], 5.0, 0.0, False)
    >>> diag[0].tolist(), sub[0].tolist(), diag[1].tolist()
    ([[5.0, 0.0], [0.0, 5.0]], [[-2.0, -0.0], [-0.0, -4.0]], [[3.0, -1.0], [-1.0, 3.0]])
    """
    f = np.abs if absolute else (lambda v: v)
    sg = 1.0 if absolute else -1.0  # A = -M: flip signs of M's entries unless absolute
    W0 = f(Ws[0])
    coef = slope_coefficients(slopes, [t.shape[0] for t in ts]) if coef is None else coef
    p1, c1 = coef[0]
    n0 = W0.shape[1]
    diag = [(abs(rho) if absolute else rho) * np.eye(n0)]
    if p1.any():  # (a zero coefficient would add exact zeros: skip the n0 x n0 product)
        diag[0] = diag[0] + sg * (W0.T * (f(-2 * p1) * ts[0])) @ W0
    sub = [sg * (f(c1) * ts[0])[:, None] * W0]
    L = len(ts)
    for k in range(1, L + 1):  # hidden layer k
        Wk = f(Ws[k])
        D = sg * f(-2.0) * np.diag(ts[k - 1])
        if k < L:
            pk, ck = coef[k]
            if pk.any():
                D = D + sg * (Wk.T * (f(-2 * pk) * ts[k])) @ Wk
            sub.append(sg * (f(ck) * ts[k])[:, None] * Wk)
        else:
            D = D + sg * Wk.T @ Wk
        diag.append(D)
    if d is not None:  # one power of two per block, or per coordinate (arrays)
        dv = [np.broadcast_to(np.asarray(dk, dtype=np.float64), (Dk.shape[0],)) for Dk, dk in zip(diag, d)]
        diag = [Dk * np.outer(x, x) for Dk, x in zip(diag, dv)]
        sub = [B * np.outer(dv[k + 1], dv[k]) for k, B in enumerate(sub)]
    if c:
        diag = [Dk + (c if absolute else -c) * np.eye(Dk.shape[0]) for Dk in diag]
    return diag, sub


def dense_lmi(diag, sub) -> np.ndarray:
    """The dense symmetric matrix of block-tridiagonal ``diag`` / ``sub`` blocks (:func:`lmi_blocks`)."""
    sizes = [D.shape[0] for D in diag]
    off = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    A = np.zeros((off[-1], off[-1]))
    for k, D in enumerate(diag):
        A[off[k]:off[k + 1], off[k]:off[k + 1]] = D
    for k, B in enumerate(sub):  # sub[k]: block k+1 (rows) x block k
        A[off[k + 1]:off[k + 2], off[k]:off[k + 1]] = B
        A[off[k]:off[k + 1], off[k + 1]:off[k + 2]] = B.T
    return A
