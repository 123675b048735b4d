r"""LipSDP-Neuron and LipSDP-Layer (Fazlyab et al., 2019) with post-solve verification.

For :math:`f(x) = W_\ell \varphi_\ell(W_{\ell-1} \cdots \varphi_1(W_0 x))` with activations of layer
:math:`k` slope-restricted to :math:`[\alpha_k, \beta_k]`, write :math:`v = (x_0, z_1, \dots, z_\ell)`
(input and post-activations) and :math:`y_k = W_{k-1} z_{k-1}`. For diagonal :math:`T_k \succeq 0`
every pair of trajectories satisfies the incremental quadratic constraints

.. math::

    q_k = \begin{bmatrix}\Delta y_k\\ \Delta z_k\end{bmatrix}^\top
          \begin{bmatrix}-2\alpha_k\beta_k T_k & (\alpha_k+\beta_k) T_k\\
          (\alpha_k+\beta_k) T_k & -2 T_k\end{bmatrix}
          \begin{bmatrix}\Delta y_k\\ \Delta z_k\end{bmatrix} \ge 0,

so if the quadratic form :math:`M(\rho, T) = -\rho\, E_0^\top E_0 + E_\ell^\top W_\ell^\top W_\ell E_\ell
+ \sum_k (\text{the } q_k \text{ form})` is negative semidefinite, then
:math:`\|W_\ell \Delta z_\ell\|^2 \le \rho \|\Delta x_0\|^2 - \sum_k q_k \le \rho\|\Delta x_0\|^2`, i.e.
:math:`\operatorname{Lip}(f) \le \sqrt\rho`. LipSDP-Neuron takes diagonal :math:`T_k`, LipSDP-Layer
:math:`T_k = \lambda_k I`.

**Verification.** Split :math:`M = \begin{bmatrix} -\rho I + C_{00} & C_{01}^\top \\ C_{01} & Q\end{bmatrix}`
(input block first; :math:`Q` does not depend on :math:`\rho`). If :math:`Q \prec 0`, the Schur
complement gives :math:`M(\rho,T) \preceq 0 \iff \rho \ge \lambda_{\max}(S)` with
:math:`S = C_{00} - C_{01}^\top Q^{-1} C_{01}`. After each solve we clip :math:`T \ge 0`, check
:math:`\lambda_{\max}(Q) < -e`, compute :math:`\rho_0 = \max(\lambda_{\max}(S), 0)` in float64 on the
**original** (unreduced) weights, and increase :math:`\rho` until

.. math::

    \hat\lambda_{\max}\big(M(\rho_\text{cert}, T)\big) + e \le 0, \qquad
    e = 8 N \varepsilon \,\big\| |M|(\rho_\text{cert}, T) \big\|_F,

where :math:`|M|` is built from :math:`|W_k|`, :math:`|\alpha_k|, |\beta_k|` (it bounds the rounding
error of forming :math:`M`, :math:`\gamma_N |M|`, and the symmetric eigensolver's backward error,
a small multiple of :math:`N\varepsilon\|M\|_2 \le N\varepsilon \||M|\|_F`). The certified bound is
:math:`\sqrt{\rho_\text{cert}}` rounded up. The solver's :math:`\rho` is never used.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ._lmi import (MULTIPLIER_RANGE, CertificateError, _as_np, _reduce_first_layer, _reduce_with_norm,  # noqa: F401
                   checked_multipliers, dense_lmi, lmi_blocks)
from ._network import Network, dense_chain, to_network
from ._result import BoundResult
from ._slopes import is_linear, is_per_layer, slope_coefficients
from ._spectral import EPS, _up, spectral_product


def _blocks(Ws, slopes, ts, absolute=False):
    """Return (C00, C01 first block (n1 x n0), Q) of M(0, T); with ``absolute`` the entrywise
    absolute-value version used for the rounding-error bound. ``slopes`` per layer or per neuron
    (:func:`~lipbound.bounds._slopes.slope_coefficients`). Read off
    :func:`~lipbound.bounds._lmi.lmi_blocks` (which holds :math:`-M`, or :math:`|M|`)."""
    diag, sub = lmi_blocks(Ws, slopes, ts, 0.0, 0.0, absolute)
    sg = 1.0 if absolute else -1.0
    return sg * diag[0], sg * sub[0], sg * dense_lmi(diag[1:], sub[1:])


def build_lmi(Ws, slopes, ts, rho: float, absolute: bool = False) -> np.ndarray:
    r"""The dense float64 matrix :math:`M(\rho, T)` (or its absolute-value companion :math:`|M|`)."""
    Ws = _as_np(Ws)
    C00, C01, Q = _blocks(Ws, slopes, ts, absolute)
    n0, n1 = Ws[0].shape[1], Ws[0].shape[0]
    N = n0 + Q.shape[0]
    M = np.zeros((N, N))
    M[:n0, :n0] = C00 + (abs(rho) if absolute else -rho) * np.eye(n0)
    M[n0:n0 + n1, :n0] = C01
    M[:n0, n0:n0 + n1] = C01.T
    M[n0:, n0:] = Q
    return M


def linear_chain_norm(Ws: Sequence[np.ndarray]) -> tuple[float, float]:
    r"""Certified upper bound on :math:`\|W_\ell \cdots W_0\|_2` and the rounding allowance in it.

    The product is formed in float64; each product :math:`\mathrm{fl}(AB)` errs by at most
    :math:`\gamma_k |A||B|` entrywise (:math:`k` the inner dimension), so the whole chain errs by at
    most :math:`\gamma_K |W_\ell| \cdots |W_0|` to first order, :math:`K` the sum of the inner
    dimensions; we add twice that in Frobenius norm to the certified SVD norm of the computed
    product (:func:`~lipbound.bounds.linear_norm`). This is the exact constant of a network of
    Linear layers, up to that allowance.

    >>> v, err = linear_chain_norm([np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[1.0, 1.0]])])
    >>> math.sqrt(5.0) <= v <= math.sqrt(5.0) * (1 + 1e-12)
    True
    """
    from ._spectral import linear_norm

    P, A = Ws[0], np.abs(Ws[0])
    K = 0
    for W in Ws[1:]:
        K += W.shape[1]
        P, A = W @ P, np.abs(W) @ A
    err = 2.0 * 1.01 * K * EPS * float(np.linalg.norm(A))
    v = linear_norm(torch.from_numpy(np.ascontiguousarray(P)))  # already rounded up
    return (_up(v + err) if err > 0 else v), err


def verify_certificate(Ws, slopes, ts, *, max_doublings: int = 60) -> dict:
    r"""Turn multipliers ``ts`` (one array per hidden layer) into a verified :math:`\rho`.

    Returns ``{"rho0", "rho_cert", "value", "lambda_max_Q", "lambda_max_M", "error_bound"}`` where
    ``value = sqrt(rho_cert)`` rounded up is a certified bound on the Lipschitz constant of the chain
    ``Ws``/``slopes``; raises :class:`CertificateError` when no :math:`\rho` can be certified.

    >>> W0, W1 = np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[1.0, 1.0]])
    >>> cert = verify_certificate([W0, W1], [(0.0, 1.0)], [np.array([2.0, 2.0])])
    >>> cert["value"] >= math.sqrt(5.0)   # exact constant: ||W1 W0|| = sqrt(5)
    True
    >>> verify_certificate([W0, W1], [(0.0, 1.0)], [np.array([0.1, 0.1])])
    Traceback (most recent call last):
    ...
    lipbound.bounds._lmi.CertificateError: the certificate's block Q is not negative definite (largest eigenvalue 1.8 > -7.8e-15): the multipliers are infeasible
    """
    Ws = _as_np(Ws)
    ts = checked_multipliers(Ws, ts)
    C00, C01, Q = _blocks(Ws, slopes, ts)
    _, _, Qabs = _blocks(Ws, slopes, ts, absolute=True)
    nq = Q.shape[0]
    eQ = 8 * max(nq, 1) * EPS * float(np.linalg.norm(Qabs))
    lam_q = float(np.linalg.eigvalsh(Q)[-1])
    if not lam_q < -eQ:
        raise CertificateError(
            f"the certificate's block Q is not negative definite (largest eigenvalue {lam_q:.2g} > "
            f"{-eQ:.2g}): the multipliers are infeasible"
        )
    # S = C00 - C01^T Q^{-1} C01 = C00 + Y^T Y with -Q = L L^T, Y = L^{-1} [C01; 0]
    from scipy.linalg import solve_triangular

    L = np.linalg.cholesky(-Q)
    pad = np.zeros((nq, C01.shape[1]))
    pad[: C01.shape[0]] = C01
    Y = solve_triangular(L, pad, lower=True)
    S = C00 + Y.T @ Y
    rho0 = max(float(np.linalg.eigvalsh((S + S.T) / 2)[-1]), 0.0)
    N = Ws[0].shape[1] + nq
    delta = None
    rho = rho0
    for _ in range(max_doublings):
        Mabs = build_lmi(Ws, slopes, ts, rho, absolute=True)
        err = 8 * N * EPS * float(np.linalg.norm(Mabs))
        if delta is None:
            delta = 2 * err
            rho = rho0 + delta
            continue
        lam = float(np.linalg.eigvalsh(build_lmi(Ws, slopes, ts, rho))[-1])
        if lam + err <= 0:
            return {"rho0": rho0, "rho_cert": rho, "value": _up(math.sqrt(rho)), "lambda_max_Q": lam_q,
                    "lambda_max_M": lam, "error_bound": err}
        delta *= 4
        rho = rho0 + delta
    raise CertificateError(f"could not certify: lambda_max(M) stays above -{err:.2g} after inflation")


def _solver_available(name: str) -> bool:
    import cvxpy as cp

    return name in cp.installed_solvers()


def default_solvers() -> list[str]:
    """Clarabel, then SCS, then MOSEK when installed (the fallback order)."""
    out = [s for s in ("CLARABEL", "SCS") if _solver_available(s)]
    if _solver_available("MOSEK"):
        out.append("MOSEK")
    return out


#: solver options: tolerances stated so they can be reported (soundness never depends on them)
SOLVER_OPTIONS = {
    "CLARABEL": {"tol_gap_abs": 1e-8, "tol_gap_rel": 1e-8, "tol_feas": 1e-8},
    "SCS": {"eps_abs": 1e-6, "eps_rel": 1e-6, "max_iters": 20_000},
    "MOSEK": {},
    # first-order eigenvalue optimisation (lipbound.bounds._eigopt): smoothing levels relative to
    # rho, stage stopping rule, iteration cap; the verified value never depends on them
    "EIGOPT": {"mus": (1e-2, 1e-3, 1e-4), "rtol": 1e-6, "max_iter": 3000},
    # second-order barrier method (lipbound.bounds._barrier): stop when its dual bound shows rho
    # within gap_tol (relative) of the SDP optimum, i.e. the bound within about gap_tol / 2
    "BARRIER": {"gap_tol": 1e-4, "max_iter": 200},
}

#: largest side of the matrices the BARRIER solver factors and inverts densely at every Newton step
#: (the hidden widths summed, plus the reduced input width unless the first activation has
#: alpha beta = 0); beyond it EIGOPT is used
BARRIER_MAX_SIDE = 3000

#: EIGOPT options of ``form="decomposed"``: layer form first, then neuron form, within a time budget
#: (the multipliers reached are verified whatever the solver's status; override with ``options``)
DECOMPOSED_OPTIONS = {"layer_first": True, "time_limit": 90.0}

#: largest LMI side SCS is tried on automatically (it took > 2.5 min at side 512; name it to force it)
SCS_MAX_PSD = 600

#: largest LMI side verified by dense float64 eigenvalues; above it, block Cholesky
#: (:func:`~lipbound.bounds.verify_certificate_banded`: on 784-256-10, side 1040, the dense check
#: took 0.3 s and the block Cholesky 0.1 s; a dense eigvalsh at side 4900 took 13 s)
DENSE_VERIFY_MAX = 512

#: largest LMI side on which a failed block-Cholesky verification is retried densely
DENSE_FALLBACK_MAX = 2500


#: largest LMI side Clarabel is given (its dense PSD scaling block grows like N^4: N = 200 is ~3 GB)
CLARABEL_MAX_PSD = 150


def solve_lipsdp(Ws, slopes, *, form: str = "neuron", solver: str = "CLARABEL", reduce: bool = True,
                 options: dict | None = None, info: dict | None = None) -> tuple[list[np.ndarray], float, str]:
    """Pose and solve LipSDP; returns ``(multipliers, solver rho (unverified, rescaled), status)``.

    ``solver="BARRIER"`` runs the second-order barrier method of
    :func:`~lipbound.bounds.solve_barrier` (neuron form only; ``options`` go to it, and ``info``, a
    dict, receives its diagnostics, among them ``dual_bound``, a lower bound on the SDP's optimal
    rho); ``solver="EIGOPT"`` the first-order eigenvalue optimisation of
    :func:`~lipbound.bounds.solve_eigopt`; no cvxpy problem is formed for either. Any other name is
    a cvxpy solver.
    """
    if solver == "BARRIER":
        from ._barrier import solve_barrier

        if form != "neuron":
            raise ValueError("the BARRIER solver solves LipSDP-Neuron only")
        opts = dict(SOLVER_OPTIONS["BARRIER"])
        opts.update(options or {})
        ts, rho, status, binfo = solve_barrier(Ws, slopes, reduce=reduce, **opts)
        if info is not None:
            info.update(binfo)
        gap = rho / binfo["dual_bound"] - 1 if binfo["dual_bound"] > 0 else math.inf
        return ts, rho, (f"{status} ({binfo['newton_steps']} Newton steps, start rho {binfo['rho_start']:.6g}, "
                         f"relative gap to the SDP optimum <= {gap:.1e})")
    if solver == "EIGOPT":
        from ._eigopt import solve_eigopt

        opts = dict(SOLVER_OPTIONS["EIGOPT"])
        opts.update(options or {})
        ts, rho, status, info = solve_eigopt(Ws, slopes, form=form, reduce=reduce, **opts)
        return ts, rho, (f"{status} ({info['iterations']} L-BFGS iterations, {info['evaluations']} "
                         f"evaluations, start rho {info['rho_start']:.6g})")
    import cvxpy as cp

    Ws = _as_np(Ws)
    W0 = _reduce_first_layer(Ws[0]) if reduce else Ws[0]
    # scale the last layer so rho is O(1): rho and T are both homogeneous of degree 2 in W_l
    scale = 1.0
    for W in Ws:
        scale *= max(np.linalg.norm(W, 2), 1e-300)
    scale = max(scale, 1e-300)
    Wl = Ws[-1] / scale
    mats = [W0, *Ws[1:-1], Wl]
    hid = [W.shape[0] for W in mats[:-1]]
    rho = cp.Variable(nonneg=True)
    if form == "neuron":
        tv = [cp.Variable(h, nonneg=True) for h in hid]
        T = [cp.diag(t) for t in tv]
    elif form == "layer":
        tv = [cp.Variable(nonneg=True) for _ in hid]
        T = [t * np.eye(h) for t, h in zip(tv, hid)]
    else:
        raise ValueError(f"form must be 'neuron' or 'layer', got {form!r}")
    dims = [mats[0].shape[1], *hid]
    L = len(dims)
    blocks = [[None] * L for _ in range(L)]
    for i in range(L):
        for j in range(L):
            blocks[i][j] = np.zeros((dims[i], dims[j]))
    coef = slope_coefficients(slopes, hid)
    if form == "neuron":  # diag(p t) and diag(c t), per neuron
        Tp = [cp.diag(cp.multiply(p, t)) for (p, _), t in zip(coef, tv)]
        Tc = [cp.diag(cp.multiply(c, t)) for (_, c), t in zip(coef, tv)]
    else:
        Tp = [t * np.diag(p) for (p, _), t in zip(coef, tv)]
        Tc = [t * np.diag(c) for (_, c), t in zip(coef, tv)]
    blocks[0][0] = -rho * np.eye(dims[0])
    if np.any(coef[0][0] != 0):
        blocks[0][0] = blocks[0][0] - 2 * (mats[0].T @ Tp[0] @ mats[0])
    blocks[1][0] = Tc[0] @ mats[0]
    blocks[0][1] = blocks[1][0].T
    for k in range(1, L):
        d = -2 * T[k - 1]
        if k < L - 1:
            Wk = mats[k]
            if np.any(coef[k][0] != 0):
                d = d - 2 * (Wk.T @ Tp[k] @ Wk)
            blocks[k + 1][k] = Tc[k] @ Wk
            blocks[k][k + 1] = blocks[k + 1][k].T
        else:
            d = d + mats[-1].T @ mats[-1]
        blocks[k][k] = d
    M = cp.bmat(blocks)
    prob = cp.Problem(cp.Minimize(rho), [(M + M.T) / 2 << 0])
    opts = dict(SOLVER_OPTIONS.get(solver, {}))
    opts.update(options or {})
    prob.solve(solver=solver, **opts)
    if tv[0].value is None:
        raise CertificateError(f"{solver} returned no multipliers (status {prob.status})")
    if form == "neuron":
        ts = [np.asarray(t.value, dtype=np.float64) * scale**2 for t in tv]
    else:
        ts = [np.full(h, float(t.value)) * scale**2 for t, h in zip(tv, hid)]
    rho_s = float(rho.value) * scale**2 if rho.value is not None else math.nan
    return ts, rho_s, str(prob.status)


def auto_solvers(n_psd: int, form: str = "neuron", n_barrier: int | None = None) -> list[str]:
    """The fallback order ``solvers=None`` uses for an LMI of side ``n_psd`` (after the first-layer
    reduction): for the neuron form the second-order ``BARRIER`` solver while its matrices (side
    ``n_barrier``, default ``n_psd``) fit :data:`BARRIER_MAX_SIDE`; then Clarabel (interior point)
    while it fits in memory, then the first-order ``EIGOPT``, then SCS while it is fast enough,
    then MOSEK when installed.

    >>> auto_solvers(20)[:3], auto_solvers(20, "layer")[:2], auto_solvers(5000)[0]
    (['BARRIER', 'CLARABEL', 'EIGOPT'], ['CLARABEL', 'EIGOPT'], 'EIGOPT')
    """
    out = [s for s in default_solvers()
           if not (s == "CLARABEL" and n_psd > CLARABEL_MAX_PSD or s == "SCS" and n_psd > SCS_MAX_PSD)]
    out.insert(1 if out[:1] == ["CLARABEL"] else 0, "EIGOPT")
    if form == "neuron" and (n_psd if n_barrier is None else n_barrier) <= BARRIER_MAX_SIDE:
        out.insert(0, "BARRIER")
    return out


def _time_option(solver: str, seconds: float, options: dict | None) -> dict:
    """The option that stops ``solver`` after ``seconds`` (keeping a smaller one already given)."""
    if solver in ("EIGOPT", "BARRIER"):
        given = (options or {}).get("time_limit")
        return {"time_limit": seconds if given is None else min(float(given), seconds)}
    if solver == "CLARABEL":
        return {"time_limit": seconds}
    if solver == "SCS":
        return {"time_limit_secs": seconds}
    if solver == "MOSEK":
        return {"mosek_params": {"MSK_DPAR_OPTIMIZER_MAX_TIME": seconds}}
    return {}


def lipsdp(model: nn.Module | Network, input_shape: tuple[int, ...] | None = None, *, form: str = "neuron",
           solvers: Sequence[str] | None = None, reduce: bool = True, verify: str = "auto",
           options: dict | None = None, time_limit: float | None = None) -> BoundResult:
    r"""Certified LipSDP bound of a dense network, verified in float64; falls back through
    ``solvers`` and finally to the spectral product.

    ``form``: ``"neuron"`` (diagonal multipliers), ``"layer"`` (one per layer) or ``"decomposed"``
    (LipSDP-Neuron solved by ``EIGOPT`` on the block-tridiagonal structure, layer form first, within
    the time budget of :data:`DECOMPOSED_OPTIONS`, and verified by block Cholesky: no dense LMI is
    ever formed; for deep networks). ``solvers=None`` picks by size
    (:func:`auto_solvers`: the second-order ``"BARRIER"`` solver of
    :func:`~lipbound.bounds.solve_barrier` first for the neuron form); ``"EIGOPT"`` is the
    first-order solver of :func:`~lipbound.bounds.solve_eigopt`. ``verify``: ``"dense"`` (:func:`verify_certificate`),
    ``"banded"`` (:func:`~lipbound.bounds.verify_certificate_banded`) or ``"auto"`` (dense up to
    side :data:`DENSE_VERIFY_MAX`, and a failed block check retried densely up to
    :data:`DENSE_FALLBACK_MAX`). ``options`` go to ``EIGOPT`` (:func:`~lipbound.bounds.solve_eigopt`).
    ``time_limit`` (seconds) is the budget of all solves together (each solver gets what is left;
    EIGOPT stops at it with status ``time_limit`` and its best multipliers are verified as usual);
    verification is not counted, and solvers left without time are skipped, said in the status.

    >>> torch.manual_seed(0) and None
    >>> net = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    >>> r = lipsdp(net)
    >>> r.kind, r.solver, r.value <= spectral_product(net)[0]
    ('certified-upper', 'BARRIER', True)
    >>> r2 = lipsdp(net, solvers=["CLARABEL"])
    >>> r2.solver, abs(r2.value / r.value - 1) < 1e-4
    ('CLARABEL', True)
    """
    t0 = time.perf_counter()
    if form not in ("neuron", "layer", "decomposed"):
        raise ValueError(f"form must be 'neuron', 'layer' or 'decomposed', got {form!r}")
    if verify not in ("auto", "dense", "banded"):
        raise ValueError(f"verify must be 'auto', 'dense' or 'banded', got {verify!r}")
    method = f"lipsdp-{form}"
    if form == "decomposed":
        form, verify = "neuron", "banded"
        solvers = ["EIGOPT"] if solvers is None else solvers
        options = {**DECOMPOSED_OPTIONS, **(options or {})}
    net = model if isinstance(model, Network) else to_network(model, input_shape)
    Ws, slopes, post = dense_chain(net)
    notes: list[str] = []
    if is_linear(slopes):  # a purely linear map: its norm is exact, no SDP needed
        v, err = linear_chain_norm(_as_np(Ws))
        return BoundResult(method, "certified-upper", v if post == 1.0 else _up(v * post), time.perf_counter() - t0,
                           "none",
                           "linear network: exact operator norm of the product by SVD (no SDP)",
                           {"post_factor": post, "rounding_allowance": err})
    n_psd = Ws[1:][0].shape[1] + sum(W.shape[0] for W in Ws[1:-1]) if len(Ws) > 1 else 0
    n_psd += min(Ws[0].shape) if reduce else Ws[0].shape[1]
    n_full = Ws[0].shape[1] + sum(W.shape[0] for W in Ws[:-1])
    per_neuron = not is_per_layer(slopes)  # residual carriers: block Cholesky with one scale per coordinate
    auto_verify = verify == "auto"
    if auto_verify:
        verify = "dense" if n_full <= DENSE_VERIFY_MAX else "banded"
    p1 = slope_coefficients(slopes, [W.shape[0] for W in Ws[:-1]])[0][0]
    n_barrier = sum(W.shape[0] for W in Ws[:-1]) + (0 if not np.any(p1) else n_psd - Ws[1:][0].shape[1])
    for solver in list(solvers) if solvers is not None else auto_solvers(n_psd, form, n_barrier):
        if solver == "BARRIER" and (form != "neuron" or n_barrier > BARRIER_MAX_SIDE):
            notes.append("BARRIER: skipped (" + (f"{form} form" if form != "neuron" else
                                                 f"matrix side {n_barrier} > {BARRIER_MAX_SIDE}") + ")")
            continue
        if solver == "CLARABEL" and n_psd > CLARABEL_MAX_PSD:
            # Clarabel factors a dense KKT block of size (N(N+1)/2)^2 for an N x N PSD cone: at
            # N = 512 that is tens of GB and it aborts the process (not catchable), so skip it
            notes.append(f"CLARABEL: skipped (PSD block {n_psd} > {CLARABEL_MAX_PSD})")
            continue
        ts_ = time.perf_counter()
        opts = options if solver == "EIGOPT" else None
        if time_limit is not None:
            left = time_limit - (ts_ - t0)
            if left <= 0:
                notes.append(f"{solver}: skipped (time limit {time_limit:g} s reached)")
                continue
            opts = {**(opts or {}), **_time_option(solver, left, opts)}
        try:
            sinfo: dict = {}
            ts, rho_s, status = solve_lipsdp(Ws, slopes, form=form, solver=solver, reduce=reduce, options=opts,
                                             info=sinfo)
        except Exception as exc:  # noqa: BLE001 - any solver failure means: try the next one
            notes.append(f"{solver}: solve failed ({type(exc).__name__}: {exc})")
            continue
        solve_s = time.perf_counter() - ts_
        from ._eigopt import verify_certificate_banded

        used = verify
        try:
            if verify == "dense":
                try:
                    cert = verify_certificate(Ws, slopes, ts)
                except CertificateError as exc:
                    # the dense check's error bound is uniform over the matrix; the block check
                    # rescales blocks exactly, so it can certify multipliers of very unequal scales
                    notes.append(f"{solver}: dense verification failed ({exc}); trying block Cholesky")
                    used = "banded"
                    cert = verify_certificate_banded(Ws, slopes, ts, per_neuron=per_neuron)
            else:
                try:
                    cert = verify_certificate_banded(Ws, slopes, ts, per_neuron=per_neuron)
                except CertificateError as exc:
                    if not auto_verify or n_full > DENSE_FALLBACK_MAX:
                        raise
                    notes.append(f"{solver}: block Cholesky verification failed ({exc}); trying dense")
                    used = "dense"
                    cert = verify_certificate(Ws, slopes, ts)
        except CertificateError as exc:
            notes.append(f"{solver}: status {status}; verification failed ({exc})")
            continue
        value = _up(cert["value"] * post)
        infl = cert["rho_cert"] / rho_s - 1 if rho_s and math.isfinite(rho_s) and rho_s > 0 else math.nan
        details = {
            "solver_rho": rho_s, "rho_verified": cert["rho0"], "rho_cert": cert["rho_cert"],
            "inflation": infl, "lambda_max_M": cert["lambda_max_M"], "error_bound": cert["error_bound"],
            "tolerance": {**SOLVER_OPTIONS.get(solver, {}), **(opts or {})}, "time_limit": time_limit,
            "solve_seconds": solve_s,
            "verify_seconds": time.perf_counter() - ts_ - solve_s, "verification": used,
            "post_factor": post, "lmi_side": n_full,
            # the solver's lower bound on the SDP's optimal rho (BARRIER: from its dual point; a
            # statement about the solver's accuracy, not about the Lipschitz constant)
            "sdp_dual_rho": sinfo.get("dual_bound"),
            "gap_to_sdp_optimum": (value / (math.sqrt(sinfo["dual_bound"]) * post) - 1
                                   if (sinfo.get("dual_bound") or 0) > 0 else None),
            "reduced_input_dim": int(np.linalg.matrix_rank(Ws[0].numpy())) if reduce else None,
            "notes": notes,
        }
        st = f"solver status {status}; certificate verified in float64 ({used})"
        if notes:
            st += f" (after: {'; '.join(notes)})"
        return BoundResult(method, "certified-upper", value, time.perf_counter() - t0, solver, st, details)
    value, rows = spectral_product(net)
    return BoundResult(
        method, "certified-upper", value, time.perf_counter() - t0, "none",
        "no verified SDP certificate; fell back to the spectral product: " + "; ".join(notes),
        {"fallback": "spectral-product", "notes": notes},
    )
