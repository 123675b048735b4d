r"""LipSDP-Neuron by a second-order barrier method on the chain's own structure (solver ``BARRIER``).

**Statement.** With the notation of :mod:`lipbound.bounds._sdp` and :mod:`lipbound.bounds._eigopt`
(first layer reduced to its row space, last layer scaled so that :math:`\rho = O(1)`), write
:math:`F(\rho, t) = -M(\rho, T) = \rho E_0 + F_0 + \sum_i t_i B_i`, one term per hidden neuron
:math:`i` (layer :math:`k`, row :math:`w_i` of :math:`W_{k-1}`, unit vector :math:`e_i` of its
coordinate):

.. math::

    B_i = U_i C_i U_i^\top, \quad U_i = [e_i,\ w_i], \quad
    C_i = \begin{bmatrix} 2 & -(\alpha_i+\beta_i) \\ -(\alpha_i+\beta_i) & 2\alpha_i\beta_i\end{bmatrix},

:math:`E_0` the identity on the input block and :math:`F_0 = -W_\ell^\top W_\ell` on the last hidden
block. LipSDP-Neuron is :math:`\min \rho` subject to :math:`F(\rho, t) \succeq 0`, :math:`t \ge 0`.

**Algorithm.** The primal log-barrier path (Nesterov and Nemirovski; Boyd and Vandenberghe,
*Convex Optimization*, 11.6): for decreasing :math:`\mu`, Newton's method on

.. math::

    \phi_\mu(\rho, t) = \rho/\mu - \log\det F(\rho, t) - [\textstyle\sum_i \log t_i],

(the bracket only when some :math:`\alpha_k\beta_k \ne 0`: otherwise :math:`F \succ 0` already
forces :math:`t > 0`), from the strictly feasible start given by the closed-form sequential
multipliers (:func:`~lipbound.bounds.sequential_multipliers`, the kind of point ECLipsE-Fast
computes, a certificate by itself) and :math:`\rho` just above its :math:`\lambda_{\max}(S)`. With
:math:`X = F^{-1}` and :math:`G_{ij} = U_i^\top X U_j` the gradient is
:math:`\operatorname{tr}(X B_i) = \operatorname{tr}(C_i G_{ii})` and the Hessian
:math:`\operatorname{tr}(X B_i X B_j) = \operatorname{tr}(C_i G_{ij} C_j G_{ji})`, formed for all pairs at
once from three :math:`n_h \times n_h` matrices (:math:`E^\top X E`, :math:`E^\top X W`,
:math:`W^\top X W`, where :math:`W` holds the rows :math:`w_i` as columns and is block sparse). When
:math:`\alpha_1\beta_1 = 0` (ReLU, tanh, sigmoid first activations) the input block of :math:`F` is
:math:`\rho I` and is eliminated by its Schur complement: every factorisation has side
:math:`n_h = \sum_k n_k` and the input-block quantities are carried as :math:`W_0^\top v` with
:math:`n_1`-vectors :math:`v` (Gram matrix :math:`W_0 W_0^\top`). The Newton step for a new
:math:`\mu` is affine in :math:`1/\mu`, so one factorisation of the Hessian chooses the next
:math:`\mu` (the largest decrease whose Newton decrement stays at ``target``); the step length is the
best of :math:`1, 1/2, 1/4, \dots` (one Cholesky factorisation each).

**Stopping: a dual bound.** As in dual-scaling methods (Benson, Ye and Zhang 2000), the Newton step
:math:`\Delta` gives :math:`Z = \mu(X - X\,\Delta F\,X)`, which satisfies the dual's equality
constraints :math:`\operatorname{tr}(E_0 Z) = 1`, :math:`\operatorname{tr}(B_i Z) = -\mu(t_i-\Delta t_i)/t_i^2`
(or 0 without the bracket); it is dual feasible iff :math:`x - \Delta` is strictly feasible
(:math:`X(F - \Delta F)X = X F(x - \Delta) X`: one more Cholesky factorisation), and then
:math:`\operatorname{tr}(W_\ell^\top W_\ell Z)` is a lower bound on :math:`\rho^\star`, at gap
:math:`\rho - \text{lb} = \mu\,(N - \operatorname{tr}(\Delta F X) + [\sum_i (1 - \Delta t_i/t_i)])`,
an :math:`O(n_h)` formula. The solver stops when that gap is below ``gap_tol`` times the bound, so
the reported accuracy with respect to the SDP optimum is measured, not assumed (up to rounding in
the Newton solve: it is a diagnostic, not a certificate). Some 20-40 Newton steps on one- and
two-hidden-layer networks, more on deep ones.

**Soundness does not depend on any of this**: only the multipliers :math:`t` leave this module; they
are verified in float64 by :func:`~lipbound.bounds.verify_certificate` or
:func:`~lipbound.bounds.verify_certificate_banded`, and the barrier's :math:`\rho` is a diagnostic.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np

from ._lmi import dense_lmi, lmi_blocks


def _structure(chain):
    """Per-neuron data of the reduced, scaled chain: block offsets, layer index of each neuron, and
    the coefficients (p, q, s) of :math:`C_i` per neuron."""
    mats = [W.numpy() for W in chain.mats]
    hidden = chain.hidden
    r = mats[0].shape[1]
    offs = np.concatenate([[0, r], r + np.cumsum(hidden)]).astype(int)
    layer = np.concatenate([np.full(h, k) for k, h in enumerate(hidden)])
    q = np.concatenate([-c for _, c in chain.coef])
    s = np.concatenate([2 * p for p, _ in chain.coef])
    return mats, offs, layer, q, s


def _assemble(mats, offs, coef, rho, ts, hidden_only: bool = False):
    """Dense :math:`F(\rho, t) = -M(\rho, T)` of side :math:`N` (reduced, scaled), or only its hidden
    block (side :math:`n_h`, without the input block's terms), from the one block description
    :func:`~lipbound.bounds._lmi.lmi_blocks`."""
    diag, sub = lmi_blocks(mats, None, ts, rho, 0.0, False, coef=coef)
    return dense_lmi(diag[1:], sub[1:]) if hidden_only else dense_lmi(diag, sub)


def _chol(F):
    from scipy.linalg import cholesky

    try:
        return cholesky(F, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return None


def solve_barrier(Ws, slopes, *, reduce: bool = True, gap_tol: float = 1e-4, max_iter: int = 200,
                  target: float = 8.0, center_tol: float = 1.0, rho_slack: float = 0.005, mu0_factor: float = 0.5,
                  elim_input: bool = True, point_weight: float = 1e6,
                  time_limit: float | None = None, init: Sequence[np.ndarray] | None = None,
                  ) -> tuple[list[np.ndarray], float, str, dict]:
    r"""Minimise :math:`\rho` subject to :math:`F(\rho, t) \succeq 0, t \ge 0` (LipSDP-Neuron) by the
    barrier path; returns ``(multipliers, rho (unverified, original scale), status, info)`` like
    :func:`~lipbound.bounds.solve_eigopt`.

    ``gap_tol``: stop when the dual bound shows the barrier's :math:`\rho` within ``gap_tol``
    (relative) of the optimum :math:`\rho^\star` (the multipliers' own :math:`\lambda_{\max}(S)` is
    at most that :math:`\rho`); ``target``: the Newton decrement (squared) that each decrease of
    :math:`\mu` aims at; ``center_tol``: the decrement below which a point counts as centred;
    ``rho_slack``: the start's :math:`\rho` is :math:`(1 + s)\lambda_{\max}(S(t_0))` with :math:`s` = ``rho_slack``;
    ``mu0_factor``: the first :math:`\mu` is the one that makes the start most central, at most
    ``mu0_factor`` :math:`\rho/\nu` (a larger one first pulls :math:`\rho` up);
    ``elim_input``: eliminate the input block when :math:`\alpha_1\beta_1 = 0` (same iterates, smaller
    matrices); ``max_iter`` bounds the Newton steps, ``time_limit`` (seconds) the wall time (the
    multipliers reached are returned, status ``time_limit``); ``init`` replaces the sequential warm
    start. ``point_weight``: a neuron whose interval is a point, :math:`\alpha_i = \beta_i` (affine
    on a local domain; per-neuron slopes come from :func:`~lipbound.bounds.local_slopes`), has
    :math:`C_i = 2(1, -\alpha_i)^\top(1, -\alpha_i) \succeq 0`, and the optimum wants
    :math:`t_i \to \infty`, which would ruin both the Newton systems and the float64 verification.
    Such multipliers are *fixed* at ``point_weight`` times their layer's warm-start value (feasible:
    :math:`B_i \succeq 0` only adds to :math:`F`) and only the others are optimised; the optimum of
    that restricted problem exceeds the SDP's by :math:`O(1/w)` relatively, :math:`w` = ``point_weight`` (a
    looser bound, never an unsound one). ``info`` holds ``dual_bound`` (a lower bound on :math:`\rho^\star`, original scale; exact
    up to rounding), ``gap_bound`` (:math:`\nu\mu` at the last centre), the Newton step count and the
    start's :math:`\rho`.

    >>> W0, W1 = np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[1.0, 1.0]])
    >>> ts, rho, status, info = solve_barrier([W0, W1], [(0.0, 1.0)])
    >>> status, abs(rho - 5.0) < 1e-3 * 5.0, info["dual_bound"] <= 5.0 <= rho  # exact constant sqrt(5)
    ('converged', True, True)
    """
    from ._eigopt import _sequential_taus
    from ._lmi import _as_np, _Chain
    from ._slopes import point_mask

    t_start = time.perf_counter()
    Ws = _as_np(Ws)
    chain = _Chain(Ws, slopes, reduce)
    mats, offs, layer, q, s = _structure(chain)
    slopes_ = chain.coef
    L = len(chain.hidden)
    N, r = int(offs[-1]), int(offs[1])
    nh = N - r
    # with alpha_k beta_k = 0 in every layer, F > 0 implies t > 0 (each t_i appears alone, doubled,
    # on the diagonal), so the barrier on t would be redundant: it is only used otherwise
    tbar = 1.0 if any(p.any() for p, _ in chain.coef) else 0.0
    if init is None:
        t = np.concatenate([np.full(h, max(tau, 1e-300)) for tau, h in zip(_sequential_taus(chain), chain.hidden)])
    else:
        t = np.concatenate([np.maximum(np.asarray(x, dtype=np.float64).reshape(-1) / chain.scale**2, 1e-300)
                            for x in init])
    if t.shape[0] != nh:
        raise ValueError("the initial multipliers do not match the hidden layer widths")
    # point intervals: multipliers fixed (B_i >= 0 there, so raising t_i keeps F > 0)
    point = point_mask(slopes, chain.hidden)
    t[point] *= point_weight
    free = np.flatnonzero(~point)
    sel = np.concatenate([[0], 1 + free])  # rho and the free multipliers in the Newton systems
    nu = float(N + tbar * free.size)
    hidden = chain.hidden
    hoffs = offs[1:] - r  # offsets of the layers inside the hidden coordinates

    def split(tv):
        return [tv[hoffs[k]:hoffs[k + 1]] for k in range(L)]

    def lam_max_schur(tv):
        """lambda_max(S(t)) by the Schur complement on the hidden block (the start's value and a
        diagnostic; soundness never depends on it)."""
        from scipy.linalg import solve_triangular

        ts_ = split(tv)
        Lq = _chol(_assemble(mats, offs, slopes_, 0.0, ts_, hidden_only=True))
        if Lq is None:
            return math.inf
        p1, c1_ = slopes_[0]
        C = np.zeros((nh, r))
        C[: hidden[0]] = (c1_ * ts_[0])[:, None] * mats[0]
        Y = solve_triangular(Lq, C, lower=True, check_finite=False)
        S = Y.T @ Y
        if p1.any():
            S -= (mats[0].T * (2 * p1 * ts_[0])) @ mats[0]
        return float(np.linalg.eigvalsh((S + S.T) / 2)[-1])

    rho_start = lam_max_schur(t)
    if not math.isfinite(rho_start):
        raise ValueError("the warm start is infeasible (Q(T) is not negative definite)")
    rho = rho_start + max(rho_slack * abs(rho_start), 1e-12)
    mu = None
    best = {"rho": rho_start, "t": t.copy()}

    # with alpha_1 beta_1 = 0 the input block of F is rho I: eliminate it (Schur complement), so
    # that every factorisation has side n_h instead of r + n_h; c1: alpha + beta per neuron of layer 1
    c1 = slopes_[0][1]
    elim = not slopes_[0][0].any() and elim_input
    W0 = mats[0]
    Gam = W0 @ W0.T if elim else None  # n_1 x n_1
    b1 = slice(0, hidden[0])  # layer 1 inside the hidden coordinates

    def barrier(rho_, tv):
        """(-log det F - sum log t, Cholesky factor of F (or of its Schur complement F' on the
        hidden block when eliminating)), or (inf, None) outside the domain."""
        if rho_ <= 0 or not np.all(tv > 0):
            return math.inf, None
        if elim:
            F = _assemble(mats, offs, slopes_, 0.0, split(tv), hidden_only=True)
            u1 = c1 * tv[b1]
            F[b1, b1] -= (1.0 / rho_) * (u1[:, None] * Gam * u1[None, :])
            extra = r * math.log(rho_)
        else:
            F = _assemble(mats, offs, slopes_, rho_, split(tv))
            extra = 0.0
        Lc = _chol(F)
        if Lc is None:
            return math.inf, None
        logdet = 2.0 * float(np.sum(np.log(np.diag(Lc)))) + extra
        return -logdet - (tbar * float(np.sum(np.log(tv))) if tbar else 0.0), Lc

    def system(rho_, tv, Lc):
        """Hessian of -log det F (variables rho, t) and the gradient of -log det F - sum log t."""
        Xi, info_ = dpotri(Lc, lower=1)
        if info_ != 0:
            return None, None
        X = np.tril(Xi) + np.tril(Xi, -1).T
        if elim:  # X is the hidden block of F^{-1}; block-0 quantities are W0^T (n_1-vectors)
            Y = X
            u1 = c1 * tv[b1]  # the first layer's (alpha + beta) t, per neuron
            al = (1.0 / rho_) * (u1[:, None] * Y[:, b1].T)  # X_{0h} = W0^T al   (n_1 x n_h)
            G = u1[:, None] * Y[b1, b1] * u1[None, :]
            GG = G @ Gam
            Bm = np.empty((nh, nh))
            Bm[:, b1] = (Gam @ al).T
            be = np.empty((hidden[0], nh))  # X_{00} W0^T... = W0^T be (block-0 rows of X Wt)
            be[:, b1] = (1.0 / rho_**2) * GG
            be[:, b1][np.diag_indices(hidden[0])] += 1.0 / rho_
            for k in range(1, L):
                cols = slice(hoffs[k], hoffs[k + 1])
                Bm[:, cols] = Y[:, hoffs[k - 1]:hoffs[k]] @ mats[k].T
                be[:, cols] = al[:, hoffs[k - 1]:hoffs[k]] @ mats[k].T
            A = Y
            Cm = np.empty((nh, nh))
            Cm[b1, :] = Gam @ be
            for k in range(1, L):
                Cm[hoffs[k]:hoffs[k + 1], :] = mats[k] @ Bm[hoffs[k - 1]:hoffs[k], :]
            Ga = Bm[:, b1].T  # Gam @ al (Gam symmetric)
            Gb = Cm[b1, :]  # Gam @ be
            ee, ew, ww = np.sum(al * Ga, 0), np.sum(al * Gb, 0), np.sum(be * Gb, 0)
            trG = float(np.sum(GG.diagonal()))
            h_rr = r / rho_**2 + 2 / rho_**3 * trG + 1 / rho_**4 * float(np.sum(GG * GG.T))
            tr00 = r / rho_ + trG / rho_**2
        else:
            XW = np.empty((N, nh))  # X @ Wt, Wt: column of neuron i = row w_i in the previous block
            for k in range(L):
                XW[:, hoffs[k]:hoffs[k + 1]] = X[:, offs[k]:offs[k + 1]] @ mats[k].T
            A = X[r:, r:]
            Bm = XW[r:, :]
            Cm = np.empty((nh, nh))
            for k in range(L):
                Cm[hoffs[k]:hoffs[k + 1], :] = mats[k] @ XW[offs[k]:offs[k + 1], :]
            X00 = X[:r, :r]
            Pe = X[r:, :r]
            Pw = XW[:r, :].T
            ee, ew, ww = np.sum(Pe * Pe, 1), np.sum(Pe * Pw, 1), np.sum(Pw * Pw, 1)
            h_rr = float(np.sum(X00 * X00))
            tr00 = float(np.trace(X00))
        p = 2.0
        # H = Y00 o Y00^T + K + K^T + Y11 o Y11^T, K = Y01 o Y10^T, with (rows scaled per neuron)
        # Y00 = pA + q Bm^T, Y01 = p Bm + q Cm, Y10 = qA + s Bm^T, Y11 = q Bm + s Cm; in place, and
        # without the s terms when every alpha_k beta_k = 0 (these n_h x n_h passes cost as much as
        # a matrix product)
        qc, sc = q[:, None], s[:, None]
        H = np.multiply(Bm.T, qc)
        H += p * A  # Y00
        Y = np.multiply(Cm, qc)
        Y += p * Bm  # Y01
        Z = np.multiply(A, qc)  # Y10
        if tbar:
            Z += sc * Bm.T
        K = np.multiply(Y, Z.T)
        H *= H.T  # numpy buffers overlapping operands
        H += K
        H += K.T
        np.multiply(Bm, qc, out=Y)  # Y11
        if tbar:
            Y += sc * Cm
        Y *= Y.T
        H += Y
        Hf = np.empty((nh + 1, nh + 1))
        Hf[1:, 1:] = H
        Hf[1:, 1:][np.diag_indices(nh)] += tbar / tv**2
        g_t = p * np.diag(A) + 2 * q * np.diag(Bm) + s * np.diag(Cm)
        Hf[0, 0] = h_rr
        Hf[0, 1:] = Hf[1:, 0] = p * ee + 2 * q * ew + s * ww
        g = np.concatenate([[-tr00], -g_t - tbar / tv])
        if free.size < nh:  # fixed multipliers: drop their rows and columns
            return Hf[np.ix_(sel, sel)], g[sel]
        return Hf, g

    from scipy.linalg.lapack import dpotri

    fb, Lc = barrier(rho, t)
    newton, status, gap_bound = 0, "max_iter", math.inf
    lower = -math.inf  # best dual lower bound on rho* (scaled)
    centres = 0
    while newton < max_iter:
        if time_limit is not None and time.perf_counter() - t_start > time_limit:
            status = "time_limit"
            break
        Hf, g0 = system(rho, t, Lc)
        if Hf is None:
            status = "inverse failed"
            break
        # Jacobi-scaled Cholesky of the Hessian (multipliers of deep networks span many orders of
        # magnitude); the Hessian does not depend on mu, so a centre's factor serves the next mu too
        dsc = 1.0 / np.sqrt(np.maximum(np.diag(Hf), 1e-300))
        from scipy.linalg import cho_factor, cho_solve

        try:
            Hc = cho_factor(Hf * dsc[:, None] * dsc[None, :], lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            status = "singular Hessian"
            break
        newton += 1
        # the Newton step for barrier weight a = 1/mu is -H^{-1}(a e_rho + g0); its decrement is a
        # quadratic in a, so the next mu is chosen from this one factorisation
        e = np.zeros(sel.size)
        e[0] = 1.0
        u = dsc * cho_solve(Hc, e * dsc, check_finite=False)
        v = dsc * cho_solve(Hc, g0 * dsc, check_finite=False)
        eu, ev, gv = float(u[0]), float(v[0]), float(g0 @ v)
        if mu is None:  # the most central weight for the start
            mu = 1.0 / max(-ev / eu, 1e-300) if eu > 0 and -ev > 0 else 0.1 * rho / nu
            mu = min(mu, mu0_factor * rho / nu)  # not above the gap the start can have
        a = 1.0 / mu
        dec2 = a * a * eu + 2 * a * ev + gv
        if not math.isfinite(dec2):
            status = "non-finite Newton step"
            break
        if dec2 <= center_tol:
            # (approximately) centred: decrease mu as far as the target decrement allows (the
            # larger root of the quadratic)
            centres += 1
            gap_bound = nu * mu  # the barrier's own bound at an exact centre (a diagnostic only)
            disc = ev * ev - eu * (gv - target)
            a_new = (-ev + math.sqrt(max(disc, 0.0))) / eu if eu > 0 else a * 2
            a = min(max(a_new, a * 1.01), a * 1e3)
            mu = 1.0 / a
            dec2 = a * a * eu + 2 * a * ev + gv
        step_f = -(a * u + v)
        step = np.zeros(nh + 1)
        step[sel] = step_f
        # dual bound (as in dual-scaling methods): Z = mu (X - X dF X), dF the step's change of F,
        # satisfies the dual's equality constraints, and Z >= 0 with <B_i, Z> <= 0 iff the point
        # x - step is feasible (X(F - dF)X = X F(x - step) X); its objective is a lower bound on
        # rho*, and the gap rho - lb = mu (N - tr(dF X) + sum_i (1 - dt_i / t_i)) costs O(n_h)
        tf = t[free]
        g_t = -(g0[1:] + tbar / tf)
        trdfx = step_f[0] * (-g0[0]) + float(step_f[1:] @ g_t)
        lb = rho - mu * (N - trdfx + tbar * float(np.sum(1.0 - step_f[1:] / tf)))
        # its feasibility costs a factorisation: checked when it would stop the solver (and every
        # 5th step, so that a run stopped early still reports a bound)
        if lb > lower and (rho - lb <= gap_tol * lb or newton % 5 == 0):
            if np.all(t - step[1:] > 0) and math.isfinite(barrier(rho - step[0], t - step[1:])[0]):
                lower = lb
        if lower > 0 and rho - lower <= gap_tol * lower:
            status = "converged"
            break
        # line search on the barrier along the Newton direction, staying strictly feasible: the
        # best of alpha = 1, 1/2, 1/4, ... (a factorisation of side n_h each, cheap next to the
        # Newton system), stopping once the values increase again
        def value(al):
            fv, Lv = barrier(rho + al * step[0], t + al * step[1:])
            return ((rho + al * step[0]) / mu + fv if math.isfinite(fv) else math.inf), Lv

        f0 = rho / mu + fb
        alpha, fn, Ln = None, math.inf, None
        al = 1.0
        for _ in range(60):
            fv, Lv = value(al)
            if fv < fn:
                alpha, fn, Ln = al, fv, Lv
                if al == 1.0 and fv <= f0 - 0.25 * dec2:  # a full step with sufficient decrease
                    break
            elif alpha is not None:
                break
            al *= 0.5
        if alpha is None or not fn < f0:
            status = "line search failed"
            break
        fn -= (rho + alpha * step[0]) / mu
        rho, t, fb, Lc = rho + alpha * step[0], t + alpha * step[1:], fn, Ln

    # the multipliers at the end of the path; lambda_max(S(t)) <= rho at any feasible point
    final = lam_max_schur(t)
    if final < best["rho"]:
        best = {"rho": final, "t": t.copy()}
    ts = [x * chain.scale**2 for x in split(best["t"])]
    info = {"iterations": newton, "newton_steps": newton, "centres": centres, "rho_start": rho_start * chain.scale**2,
            "gap_bound": gap_bound * chain.scale**2, "dual_bound": lower * chain.scale**2,
            "barrier_rho": rho * chain.scale**2, "fixed_multipliers": int(point.sum()),
            "seconds": time.perf_counter() - t_start, "lmi_side": N}
    return ts, best["rho"] * chain.scale**2, status, info
