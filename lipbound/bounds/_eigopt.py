r"""LipSDP as an eigenvalue optimisation: a first-order solver that never forms the LMI.

**Statement.** With the notation of :mod:`lipbound.bounds._sdp`, split
:math:`M(\rho, T) = \begin{bmatrix} -\rho I + C_{00}(T) & C_{01}(T)^\top \\ C_{01}(T) & Q(T)\end{bmatrix}`.
On the open convex set :math:`\mathcal D = \{T \ge 0 \text{ diagonal} : Q(T) \prec 0\}` the Schur
complement gives :math:`M(\rho, T) \preceq 0 \iff \rho \ge \lambda_{\max}(S(T))`,
:math:`S(T) = C_{00}(T) + C_{01}(T)^\top (-Q(T))^{-1} C_{01}(T)`, so LipSDP-Neuron
(Fazlyab et al. 2019, their Theorem 2) is

.. math::

    \rho^\star = \min_{T \in \mathcal D} \; r(T), \qquad r(T) = \lambda_{\max}\big(S(T)\big).

**Why convex.** :math:`C_{00}`, :math:`C_{01}` and :math:`Q` are affine in :math:`T`, and
:math:`(Y, X) \mapsto Y^\top X^{-1} Y` is jointly matrix-convex on :math:`X \succ 0` (its epigraph
:math:`\{Z \succeq Y^\top X^{-1} Y\}` is the LMI :math:`\begin{bmatrix} X & Y \\ Y^\top & Z\end{bmatrix}
\succeq 0`), so :math:`S` is matrix-convex in :math:`T` and :math:`\lambda_{\max}` (convex and
monotone) of it is convex. Every sublevel set is the projection of the SDP's feasible set, which is
why the minimum equals the SDP's optimum (when the SDP's optimum has :math:`Q \prec 0`; at
:math:`Q \preceq 0`, singular, it is an infimum).

**Structure.** :math:`-Q` is block tridiagonal over the hidden layers, so
:math:`(-Q)^{-1}` is never formed: a backward block Cholesky elimination
:math:`P_\ell = D_\ell`, :math:`P_k = D_k - B_k P_{k+1}^{-1} B_k^\top` costs
:math:`O(\sum_k n_k^3)` (not :math:`O((\sum_k n_k)^3)`), and :math:`S = C_{00} + Z^\top Z` with
:math:`Z = L_1^{-1} C_{01}`, :math:`P_1 = L_1 L_1^\top`, is :math:`r \times r` where :math:`r` is the
rank of the first layer after the row-space reduction (:math:`r \le n_1`).

**Algorithm.** :math:`T_k = \operatorname{diag}(e^{s_k})` (positivity for free), the smoothed
objective :math:`f_\mu = \mu \log \sum_i e^{\lambda_i(S)/\mu} \in [r, r + \mu \log n]` with
:math:`\mu` decreasing from :math:`10^{-2}` to :math:`10^{-4}` times the current value, gradients by
torch autograd in float64, L-BFGS with an Armijo backtracking line search that treats
:math:`T \notin \mathcal D` (a failed Cholesky) as :math:`+\infty`. The start is a feasible scalar
sequential choice (:func:`sequential_multipliers`, of the kind of ECLipsE-Fast, run from the output
layer backwards), whose value is at most the product of the spectral norms.

**Soundness does not depend on any of this**: the returned multipliers go through
:func:`~lipbound.bounds.verify_certificate` (dense float64 eigenvalues) or
:func:`verify_certificate_banded` (block Cholesky with a rounding-error bound); the optimiser's
value is reported only as a diagnostic.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import torch

from ._lmi import _Chain, lmi_blocks
from ._spectral import EPS, _up


def _schur(chain: _Chain, ts: Sequence[torch.Tensor]) -> torch.Tensor | None:
    """:math:`S(T)` by backward block elimination; ``None`` when :math:`Q(T) \\not\\prec 0`."""
    mats, coef = chain.mats, chain.tcoef
    L = len(ts)
    Wl = mats[-1]
    P = torch.diag(2 * ts[-1]) - Wl.T @ Wl
    Lc, info = torch.linalg.cholesky_ex(P)
    if int(info) != 0:
        return None
    for k in range(L - 1, 0, -1):  # hidden layer k (1-based) from hidden k+1
        p, c = coef[k]
        Wk, tn = mats[k], ts[k]
        D = torch.diag(2 * ts[k - 1])
        if chain.coef[k][0].any():
            D = D + (Wk.T * (2 * p * tn)) @ Wk
        Y = torch.linalg.solve_triangular(Lc, (c * tn)[:, None] * Wk, upper=False)
        P = D - Y.T @ Y
        Lc, info = torch.linalg.cholesky_ex(P)
        if int(info) != 0:
            return None
    p1, c1 = coef[0]
    W0 = mats[0]
    Z = torch.linalg.solve_triangular(Lc, (c1 * ts[0])[:, None] * W0, upper=False)
    S = Z.T @ Z
    if chain.coef[0][0].any():
        S = S - (W0.T * (2 * p1 * ts[0])) @ W0
    return (S + S.T) / 2


def sequential_multipliers(Ws, slopes, *, reduce: bool = True) -> list[np.ndarray]:
    r"""Feasible scalar multipliers :math:`T_k = \tau_k I`, chosen layer by layer from the output.

    :math:`P_\ell = 2\tau_\ell I - R_\ell` with :math:`R_\ell = W_\ell^\top W_\ell`, and for
    :math:`k < \ell`: :math:`R_k = \tau_{k+1}^2 W_k^\top C_k P_{k+1}^{-1} C_k W_k - 2\tau_{k+1} W_k^\top P_k' W_k`
    with :math:`C_k = \operatorname{diag}(\alpha_i + \beta_i)`, :math:`P_k' = \operatorname{diag}(\alpha_i\beta_i)`
    (the layer's neurons),
    :math:`P_k = 2\tau_k I - R_k`, with :math:`\tau_k = \lambda_{\max}(R_k)` (so :math:`P_k \succeq \tau_k I`;
    for one neuron per layer this is the optimal scalar and gives exactly the product of norms).
    Returned in the original scale, one array per hidden layer (a warm start; never a bound by itself).

    >>> W0, W1 = np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[1.0, 1.0]])
    >>> [t.tolist() for t in sequential_multipliers([W0, W1], [(0.0, 1.0)])]
    [[2.0, 2.0]]
    """
    from ._lmi import _as_np

    chain = _Chain(_as_np(Ws), slopes, reduce)
    return [np.full(h, tau * chain.scale**2) for tau, h in zip(_sequential_taus(chain), chain.hidden)]


def _sequential_taus(chain: _Chain) -> list[float]:
    """The scalars of :func:`sequential_multipliers` in the chain's scaled units."""
    mats = [W.numpy() for W in chain.mats]
    L = len(chain.hidden)
    taus = [0.0] * L
    R = mats[-1].T @ mats[-1]
    floor = 1e-12
    for k in range(L, 0, -1):  # hidden layer k (1-based)
        lam = float(np.linalg.eigvalsh((R + R.T) / 2)[-1]) if R.size else 0.0
        taus[k - 1] = max(lam, floor)
        P = 2 * taus[k - 1] * np.eye(R.shape[0]) - R
        if k > 1:
            p, c = chain.coef[k - 1]
            Wk = mats[k - 1]
            tau = taus[k - 1]
            Wc = c[:, None] * Wk
            R = tau**2 * (Wc.T @ np.linalg.solve(P, Wc))
            if p.any():
                R = R - tau * ((Wk.T * (2 * p)) @ Wk)
    return taus


def solve_eigopt(Ws, slopes, *, form: str = "neuron", reduce: bool = True, max_iter: int = 3000,
                 mus: Sequence[float] = (1e-2, 1e-3, 1e-4), memory: int = 20, rtol: float = 1e-6,
                 time_limit: float | None = None, init: Sequence[np.ndarray] | None = None,
                 num_threads: int | None = 1, layer_first: bool = False,
                 ) -> tuple[list[np.ndarray], float, str, dict]:
    r"""Minimise :math:`\lambda_{\max}(S(T))` over diagonal :math:`T > 0` (``form="neuron"``) or
    :math:`T_k = t_k I` (``form="layer"``).

    Returns ``(multipliers, rho (unverified, original scale), status, info)``; the multipliers are
    in the original scale, one array per hidden layer, ready for verification. ``max_iter`` bounds
    the L-BFGS iterations over all smoothing stages, ``time_limit`` (seconds) the wall time; a stage
    ends when the smoothed value decreased by less than ``rtol`` relatively over 10 iterations;
    ``init`` replaces the warm start of :func:`sequential_multipliers`. ``num_threads`` sets torch's
    thread count during the solve (the blocks are small: one thread avoids oversubscription on a
    busy machine; ``None`` keeps torch's setting). ``layer_first`` (neuron form only) first solves
    the layer form (one multiplier per layer, few variables: fast progress on deep networks) for up
    to 40% of ``time_limit`` and ``max_iter``, and starts the neuron form from its optimum.

    >>> W0, W1 = np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[1.0, 1.0]])
    >>> ts, rho, status, info = solve_eigopt([W0, W1], [(0.0, 1.0)])
    >>> abs(rho - 5.0) < 1e-3   # exact constant sqrt(5): LipSDP is exact for this network
    True
    """
    if form not in ("neuron", "layer"):
        raise ValueError(f"form must be 'neuron' or 'layer', got {form!r}")
    threads = torch.get_num_threads()
    if num_threads:
        torch.set_num_threads(num_threads)
    try:
        if layer_first and form == "neuron":
            t0 = time.perf_counter()
            tl = None if time_limit is None else 0.4 * time_limit
            init, _, st1, info1 = _solve(Ws, slopes, "layer", reduce, max(1, int(0.4 * max_iter)), mus, memory,
                                         rtol, tl, init)
            rest = None if time_limit is None else max(time_limit - (time.perf_counter() - t0), 0.0)
            ts, rho, st, info = _solve(Ws, slopes, form, reduce, max_iter - info1["iterations"], mus, memory,
                                       rtol, rest, init)
            info["iterations"] += info1["iterations"]
            info["evaluations"] += info1["evaluations"]
            info["rho_start"] = info1["rho_start"]
            info["layer_stage"] = {"status": st1, "stages": info1["stages"]}
            info["seconds"] = time.perf_counter() - t0
            return ts, rho, st, info
        return _solve(Ws, slopes, form, reduce, max_iter, mus, memory, rtol, time_limit, init)
    finally:
        torch.set_num_threads(threads)


def _solve(Ws, slopes, form, reduce, max_iter, mus, memory, rtol, time_limit, init):
    from ._lmi import _as_np

    t_start = time.perf_counter()
    Ws = _as_np(Ws)
    chain = _Chain(Ws, slopes, reduce)
    if init is None:
        start = [np.full(h, max(tau, 1e-300)) for tau, h in zip(_sequential_taus(chain), chain.hidden)]
    else:
        start = [np.maximum(np.asarray(t, dtype=np.float64).reshape(-1) / chain.scale**2, 1e-300) for t in init]
    sizes = chain.hidden if form == "neuron" else [1] * len(chain.hidden)
    if form == "neuron":
        x0 = np.concatenate([np.log(t) for t in start])
    else:
        x0 = np.array([np.log(t.max()) for t in start])
    offs = np.concatenate([[0], np.cumsum(sizes)]).astype(int)

    def unpack(x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for k, h in enumerate(chain.hidden):
            s = x[offs[k]:offs[k + 1]]
            out.append(torch.exp(s) if form == "neuron" else torch.exp(s).expand(h))
        return out

    best = {"rho": math.inf, "x": None}
    evals = [0]

    def fg(x: torch.Tensor, mu: float, grad: bool = True):
        evals[0] += 1
        xx = x.detach().clone().requires_grad_(grad)
        with torch.set_grad_enabled(grad):
            S = _schur(chain, unpack(xx))
            if S is None:
                return math.inf, None
            lam = torch.linalg.eigvalsh(S)
            rho = float(lam[-1].detach())
            if not math.isfinite(rho):
                return math.inf, None
            if rho < best["rho"]:
                best["rho"], best["x"] = rho, x.detach().clone()
            f = mu * torch.logsumexp(lam / mu, 0)
            if not grad:
                return float(f.detach()), None
            f.backward()
        return float(f.detach()), xx.grad.detach()

    x = torch.as_tensor(x0, dtype=torch.float64)
    f0, _ = fg(x, 1.0, grad=False)
    if not math.isfinite(f0):
        raise ValueError("the warm start is infeasible (Q(T) is not negative definite)")
    rho0 = best["rho"]
    it_total = 0
    status = "max_iter"
    stages = []
    for rel_mu in mus:
        mu = max(rel_mu * best["rho"], 1e-300)
        x = best["x"].clone()
        f, g = fg(x, mu)
        S_hist: list[torch.Tensor] = []
        Y_hist: list[torch.Tensor] = []
        hist = [f]
        stage_it = 0
        while it_total < max_iter:
            if time_limit is not None and time.perf_counter() - t_start > time_limit:
                status = "time_limit"
                break
            # L-BFGS two-loop recursion
            q = g.clone()
            alphas = []
            for s_, y_ in zip(reversed(S_hist), reversed(Y_hist)):
                a_ = float(s_ @ q) / float(y_ @ s_)
                alphas.append(a_)
                q -= a_ * y_
            if Y_hist:
                q *= float(S_hist[-1] @ Y_hist[-1]) / float(Y_hist[-1] @ Y_hist[-1])
            else:
                q *= min(1.0, 1.0 / max(float(g.abs().max()), 1e-300))
            for (s_, y_), a_ in zip(zip(S_hist, Y_hist), reversed(alphas)):
                b_ = float(y_ @ q) / float(y_ @ s_)
                q += (a_ - b_) * s_
            d = -q
            slope = float(g @ d)
            if not slope < 0:  # not a descent direction: restart from the gradient
                S_hist.clear()
                Y_hist.clear()
                d = -g * min(1.0, 1.0 / max(float(g.abs().max()), 1e-300))
                slope = float(g @ d)
                if not slope < 0:
                    break
            step, accepted = 1.0, False
            for _ in range(40):
                fn, gn = fg(x + step * d, mu)
                if math.isfinite(fn) and fn <= f + 1e-4 * step * slope:
                    accepted = True
                    break
                step *= 0.5
            if not accepted:
                break
            xn = x + step * d
            s_, y_ = xn - x, gn - g
            if float(s_ @ y_) > 1e-12 * float(s_ @ s_) ** 0.5 * float(y_ @ y_) ** 0.5:
                S_hist.append(s_)
                Y_hist.append(y_)
                if len(S_hist) > memory:
                    S_hist.pop(0)
                    Y_hist.pop(0)
            x, f, g = xn, fn, gn
            it_total += 1
            stage_it += 1
            hist.append(f)
            if len(hist) > 10 and hist[-11] - f <= rtol * abs(f):
                break
        stages.append({"mu_rel": rel_mu, "iterations": stage_it, "rho": best["rho"]})
        if status == "time_limit" or it_total >= max_iter:
            break
    else:
        status = "converged"
    ts = [t.detach().numpy() * chain.scale**2 for t in unpack(best["x"])]
    info = {"iterations": it_total, "evaluations": evals[0], "rho_start": rho0 * chain.scale**2,
            "stages": stages, "seconds": time.perf_counter() - t_start, "form": form}
    return ts, best["rho"] * chain.scale**2, status, info


#: the blocks' former name in this module (tests and the mutation benchmark name it)
_abs_blocks = lmi_blocks


def _block_cholesky(diag, sub):
    """Cholesky of a symmetric block tridiagonal matrix (input block last, eliminated from the
    output end); returns ``(ok, sum of squares of the factor's entries)``."""
    from scipy.linalg import cholesky, solve_triangular

    fro2 = 0.0
    n = len(diag)
    P = diag[-1]
    for k in range(n - 1, -1, -1):
        try:  # reads the lower triangle only
            Lk = cholesky(P, lower=True, check_finite=True)
        except np.linalg.LinAlgError:
            return False, fro2
        fro2 += float(np.sum(Lk * Lk))
        if k == 0:
            break
        Y = solve_triangular(Lk, sub[k - 1], lower=True)  # sub[k-1]: block k (rows) x block k-1
        fro2 += float(np.sum(Y * Y))
        P = diag[k - 1] - Y.T @ Y
    return True, fro2


def verify_certificate_banded(Ws, slopes, ts, *, max_tries: int = 40, per_neuron: bool = False) -> dict:
    r"""Certify :math:`M(\rho, T) \preceq 0` by a block Cholesky factorisation, without forming
    :math:`M` (for LMIs whose dense eigenvalues would be too slow).

    Computes, for a margin :math:`c > 0`, the Cholesky factor :math:`R` of the float64 matrix
    :math:`\hat A = \mathrm{fl}(D(-M(\rho, T))D - cI)`, :math:`D` a block scaling by powers of two
    (exact in floating point; a congruence, so :math:`-M \succeq 0 \iff D(-M)D \succeq 0`) that
    brings every block's diagonal to the order of :math:`\rho` (block tridiagonal, so :math:`R` is block
    bidiagonal and costs :math:`O(\sum_k n_k^3)`). If it succeeds, :math:`R^\top R = \hat A + \Delta`
    with :math:`|\Delta| \le \gamma_{N+1} |R^\top||R|` (Demmel 1989; Higham, *Accuracy and
    Stability*, Thm 10.3, any summation order), so
    :math:`\|\Delta\|_2 \le \gamma_{N+1}\|R\|_F^2`; and :math:`\|\hat A - (D(-M)D - cI)\|_2 \le e_f =
    8N\varepsilon\,\|D|M|D\|_F + 2\varepsilon c` (forming the entries, as in
    :func:`~lipbound.bounds.verify_certificate`). Then

    .. math::

        D(-M(\rho, T))D \succeq \big(c - 4(N+1)\varepsilon\|R\|_F^2 - e_f\big) I \succeq 0

    whenever the bracket is nonnegative (:math:`4(N+1)\varepsilon \ge \gamma_{N+1}` with a factor
    of ~4 to spare for blocked BLAS and the computation of :math:`\|R\|_F^2`). :math:`\rho` starts at
    :math:`c + \lambda_{\max}(S_c)` (the Schur complement with :math:`-Q - cI`) and :math:`c, \rho`
    grow until the check passes. Returns the keys of :func:`~lipbound.bounds.verify_certificate`
    (``lambda_max_M`` is ``None``: no eigenvalue of :math:`M` is computed) plus ``margin``.
    ``per_neuron``: one power of two per coordinate instead of per block (for per-neuron slopes,
    whose multipliers of affine neurons are orders of magnitude above their neighbours'; the
    same argument, :math:`D` still diagonal); the scales are then returned as
    ``neuron_scales_log2``, one list per block.

    >>> W0, W1 = np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[1.0, 1.0]])
    >>> from lipbound.bounds import verify_certificate
    >>> cert = verify_certificate_banded([W0, W1], [(0.0, 1.0)], [np.array([2.0, 2.0])])
    >>> dense = verify_certificate([W0, W1], [(0.0, 1.0)], [np.array([2.0, 2.0])])
    >>> math.sqrt(5.0) <= dense["value"] <= cert["value"] <= dense["value"] * (1 + 1e-12)
    True
    """
    from ._lmi import CertificateError, _as_np, checked_multipliers

    Ws = _as_np(Ws)
    ts = checked_multipliers(Ws, ts)
    N = Ws[0].shape[1] + sum(t.shape[0] for t in ts)
    # exact power-of-two block scaling D (congruence: -M >= 0 iff D(-M)D >= 0) so that every block
    # of the scaled matrix has a diagonal of the order of rho; multipliers of deep networks span
    # many orders of magnitude and a uniform margin c would otherwise swamp the small blocks
    dg, sb = lmi_blocks(Ws, slopes, ts, 0.0, 0.0, absolute=False)
    try:
        rho_hat = _schur_lam_max(dg, sb)
    except np.linalg.LinAlgError:
        raise CertificateError("the certificate's block Q is not negative definite: the multipliers "
                               "are infeasible") from None
    dg, _ = lmi_blocks(Ws, slopes, ts, 0.0, 0.0, absolute=True)
    m = [float(np.max(np.abs(np.diag(Dk)))) for Dk in dg]
    rho_hat = rho_hat if rho_hat > 0 else max(max(m), 1e-300)
    if per_neuron:
        d = [np.ones(dg[0].shape[0])] + [
            np.array([2.0 ** round(0.5 * math.log2(rho_hat / x)) if x > 0 else 1.0 for x in np.abs(np.diag(Dk))])
            for Dk in dg[1:]]
    else:
        d = [1.0] + [2.0 ** round(0.5 * math.log2(rho_hat / mk)) if mk > 0 else 1.0 for mk in m[1:]]
    # size the margin from the scale of the scaled matrix: ||R||_F^2 ~ trace(A) and ||M||_F
    dg, sb = lmi_blocks(Ws, slopes, ts, rho_hat, 0.0, absolute=True, d=d)
    scale_ = math.sqrt(sum(float(np.sum(D * D)) for D in dg) + 2 * sum(float(np.sum(B * B)) for B in sb))
    trace = sum(float(np.trace(D)) for D in dg)
    c = max(16 * (N + 1) * EPS * (trace + scale_), 1e-300)
    rho = None
    delta = 0.0
    last = "not attempted"
    for _ in range(max_tries):
        # rho: the Schur complement on the input block of D(-M)D - cI, plus c, plus a small margin
        dgq, sbq = lmi_blocks(Ws, slopes, ts, 0.0, c, absolute=False, d=d)
        ok, _ = _block_cholesky(dgq[1:], sbq[1:])
        if not ok:
            c *= 4
            last = "the block Q - cI is not negative definite"
            if c > 1e300:
                break
            continue
        lam = _schur_lam_max(dgq, sbq)  # lambda_max(S_c) + c
        rho_try = max(lam, 0.0) + c + delta
        rho = rho_try if rho is None else max(rho, rho_try)
        dg, sb = lmi_blocks(Ws, slopes, ts, rho, c, absolute=False, d=d)
        ok, fro2 = _block_cholesky(dg, sb)
        dga, sba = lmi_blocks(Ws, slopes, ts, rho, 0.0, absolute=True, d=d)
        mabs = math.sqrt(sum(float(np.sum(D * D)) for D in dga) + 2 * sum(float(np.sum(B * B)) for B in sba))
        need = 4 * (N + 1) * EPS * fro2 + 8 * N * EPS * mabs + 2 * EPS * c
        if ok and c >= need * (1 + 1e-6):
            return {"rho0": max(lam - c, 0.0), "rho_cert": rho, "value": _up(math.sqrt(rho)), "lambda_max_Q": None,
                    "lambda_max_M": None, "error_bound": need, "margin": c, "method": "block-cholesky",
                    **({"neuron_scales_log2": [np.round(np.log2(x)).astype(int).tolist() for x in d]} if per_neuron
                       else {"block_scales_log2": [int(round(math.log2(x))) for x in d]})}
        if not ok:
            last = "the Cholesky factorisation of -M(rho) - cI failed"
            delta = max(2 * delta, 1e-12 * max(rho, 1e-300), 2 * c)
        else:
            last = f"margin {c:.3g} below the error bound {need:.3g}"
            c = 2 * need
    raise CertificateError(f"could not certify by block Cholesky: {last}")


def _schur_np(diag, sub) -> np.ndarray:
    """For the blocks of :math:`A(0) = -M(0, T) - cI`: minus the Schur complement of :math:`A(0)` on
    the input block, i.e. :math:`cI + S_c` with :math:`S_c = C_{00} + C_{01}^\\top(-Q - cI)^{-1}C_{01}`."""
    from scipy.linalg import cholesky, solve_triangular

    n = len(diag)
    P = diag[-1]
    for k in range(n - 1, 0, -1):
        Lk = cholesky((P + P.T) / 2, lower=True)
        Y = solve_triangular(Lk, sub[k - 1], lower=True)
        P = diag[k - 1] - Y.T @ Y
        if k == 1:
            return (-(P + P.T) / 2)
    return -diag[0]


def _schur_lam_max(diag, sub) -> float:
    r""":math:`\lambda_{\max}` of :func:`_schur_np`'s matrix. When the input block is a multiple
    :math:`dI` of the identity (:math:`\alpha_1\beta_1 = 0`) and wider than the first hidden layer, it
    is :math:`\lambda_{\max}(YY^\top) - d` with :math:`Y` of :math:`n_1` rows, not an eigenvalue
    problem of the input's size (an estimate either way: the certificate is the Cholesky check)."""
    from scipy.linalg import cholesky, solve_triangular

    D0 = diag[0]
    n0, n1 = D0.shape[0], sub[0].shape[0]
    d = float(D0[0, 0]) if n0 else 0.0
    if len(diag) < 2 or n0 <= n1 or np.count_nonzero(D0 - d * np.eye(n0)):
        return float(np.linalg.eigvalsh(_schur_np(diag, sub))[-1])
    P = diag[-1]
    for k in range(len(diag) - 1, 1, -1):
        Lk = cholesky((P + P.T) / 2, lower=True)
        Y = solve_triangular(Lk, sub[k - 1], lower=True)
        P = diag[k - 1] - Y.T @ Y
    Y = solve_triangular(cholesky((P + P.T) / 2, lower=True), sub[0], lower=True)
    G = Y @ Y.T
    return float(np.linalg.eigvalsh((G + G.T) / 2)[-1]) - d
