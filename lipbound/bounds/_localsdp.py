r"""Local LipSDP: a certified bound on the Lipschitz constant of a dense network *on a domain*.

**Statement.** Let :math:`D` be a convex input set (a :class:`~lipbound.bounds.Box` or an L2
:class:`~lipbound.bounds.Ball`) and :math:`[\alpha_i, \beta_i]` per-neuron slope intervals valid on
:math:`D` (:func:`~lipbound.bounds.local_slopes`: every secant slope of neuron :math:`i` between
two points of :math:`D` lies there). Then the incremental quadratic constraints of LipSDP
(:mod:`lipbound.bounds._sdp`) hold for every pair :math:`x, y \in D` with these per-neuron
intervals, so a verified certificate :math:`M(\rho, T) \preceq 0` built from them gives

.. math::

    \|f(x) - f(y)\| \le \sqrt{\rho}\, \|x - y\| \qquad (x, y \in D),

the *local* Lipschitz constant on :math:`D`. It is never above the global one, which uses the wider
intervals (the reported value is the smaller of the two when both are computed). This is the
local bound of ECLipsE-Gen-Local (arXiv 2510.05261): heterogeneous slopes from propagated
pre-activation bounds, solved here as LipSDP-Neuron.

**Exact reductions before the solve** (no arithmetic on weights, so the certificate is about the
model's own numbers):

* a neuron with :math:`\alpha_i = \beta_i = 0` (off on the whole domain) is constant there: its row
  of :math:`W_{k-1}` and column of :math:`W_k` are removed; a layer left empty makes :math:`f`
  constant on :math:`D`, local constant 0;
* if every remaining interval is a point, :math:`f` is affine on :math:`D` with linear part
  :math:`W_\ell \operatorname{diag}(\alpha^{(\ell)}) W_{\ell-1} \cdots \operatorname{diag}(\alpha^{(1)}) W_0`,
  whose norm (with its rounding allowance, :func:`~lipbound.bounds._sdp.linear_chain_norm`) is the
  exact local constant;
* otherwise the barrier solver fixes the multipliers of the point intervals
  (:func:`~lipbound.bounds.solve_barrier`, ``point_weight``) and the certificate is verified in
  float64 like every other (dense eigenvalues while the LMI side is at most
  :data:`~lipbound.bounds._sdp.DENSE_FALLBACK_MAX`, block Cholesky with one scale per coordinate
  beyond).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from ._local import local_slopes
from ._lower import Ball, Box
from ._network import Network, dense_chain, to_network
from ._result import BoundResult
from ._sdp import (CLARABEL_MAX_PSD, DENSE_FALLBACK_MAX, CertificateError, _as_np, linear_chain_norm, solve_lipsdp,
                   verify_certificate)
from ._spectral import _up


def _prune_inactive(Ws: list[np.ndarray], slopes: list[tuple[np.ndarray, np.ndarray]]):
    """Remove neurons whose interval is [0, 0]; returns ``(Ws, slopes, removed per layer)`` or
    ``None`` when a whole layer is removed (the map is constant on the domain)."""
    Ws = list(Ws)
    out, removed = [], []
    for k, (a, b) in enumerate(slopes):
        keep = ~((a == 0) & (b == 0))
        removed.append(int((~keep).sum()))
        if not keep.any():
            return None
        Ws[k] = Ws[k][keep]
        Ws[k + 1] = Ws[k + 1][:, keep]
        out.append((a[keep], b[keep]))
    return Ws, out, removed


def lipsdp_local(model, domain: Box | Ball, input_shape: tuple[int, ...] | None = None, *,
                 relaxation: str = "crown", solvers=None, point_weight: float = 1e6,
                 global_bound: float | None = None, time_limit: float | None = None) -> BoundResult:
    r"""Certified bound on the Lipschitz constant of ``model`` restricted to ``domain``
    (kind ``"certified-local-upper"``: it holds for pairs of inputs in the domain only).

    ``relaxation``: how pre-activation bounds are propagated (``"crown"`` or ``"interval"``,
    :func:`~lipbound.bounds.preactivation_bounds`); ``solvers``: tried in order (default
    ``BARRIER``, then ``CLARABEL`` for small LMIs); ``global_bound``: a certified global bound
    already computed (the result is never above it); ``point_weight``: see
    :func:`~lipbound.bounds.solve_barrier`. ``input_shape`` defaults to the model's own, else to
    the shape of the domain's centre (or lower corner) when it is a tensor.

    >>> torch.manual_seed(0) and None
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> loc = lipsdp_local(net, Ball(torch.ones(3), 0.01))
    >>> from lipbound.bounds import lipsdp
    >>> loc.kind, loc.value <= lipsdp(net).value
    ('certified-local-upper', True)
    """
    t0 = time.perf_counter()
    if input_shape is None and not isinstance(model, Network):  # the domain's own shape, if it has one
        ref = torch.as_tensor(domain.center if isinstance(domain, Ball) else domain.low)
        input_shape = tuple(ref.shape) if ref.ndim > 0 else None
    net = model if isinstance(model, Network) else to_network(model, input_shape)
    if any(l.kind == "residual" for l in net.layers):  # no pre-activation bounds through x + f(x) yet
        from ._sdp import lipsdp

        glob = lipsdp(net, solvers=solvers, time_limit=time_limit)
        value = glob.value if global_bound is None else min(glob.value, global_bound)
        return BoundResult("lipsdp-local", "certified-local-upper", value, time.perf_counter() - t0, glob.solver,
                           "the local bound does not take residual blocks yet: the global bound is reported "
                           f"(valid on the domain); {glob.status}", {"fallback": glob.method,
                                                                     "domain": _describe(domain)})
    Ws_t, _, post = dense_chain(net)
    Ws = _as_np(Ws_t)
    loc = local_slopes(net, domain, method=relaxation)
    details = {"relaxation": relaxation, "domain": _describe(domain), "neurons": loc.counts,
               "post_factor": post, "global_bound": global_bound}

    def result(value: float, solver: str, status: str, **extra) -> BoundResult:
        if global_bound is not None and global_bound < value:
            status += f"; the global bound {global_bound:.6g} is smaller and is reported"
            value = global_bound
        return BoundResult("lipsdp-local", "certified-local-upper", value, time.perf_counter() - t0, solver, status,
                           {**details, **extra})

    pruned = _prune_inactive(Ws, loc.slopes) if loc.slopes else (Ws, [], [])
    if pruned is None:
        return result(0.0, "none", "exact: a hidden layer is off on the whole domain, so the model is constant there")
    Ws, slopes, removed = pruned
    details["inactive_removed"] = removed
    if all(np.array_equal(a, b) for a, b in slopes):  # affine on the domain: the norm is exact
        mats = [Ws[0]]
        for (a, _), W in zip(slopes, Ws[1:]):
            mats += [np.diag(a), W]
        v, err = linear_chain_norm(mats)
        return result(v if post == 1.0 else _up(v * post), "none",
                      "exact: every neuron is affine on the domain; the norm of the linear part by SVD",
                      rounding_allowance=err)
    n_full = Ws[0].shape[1] + sum(W.shape[0] for W in Ws[:-1])
    notes = []
    for solver in solvers or ["BARRIER", "CLARABEL"]:
        if solver == "CLARABEL" and n_full > CLARABEL_MAX_PSD:
            notes.append(f"CLARABEL: skipped (LMI side {n_full} > {CLARABEL_MAX_PSD})")
            continue
        ts_ = time.perf_counter()
        try:
            opts = {"point_weight": point_weight} if solver == "BARRIER" else None
            if time_limit is not None and solver == "BARRIER":
                opts["time_limit"] = max(time_limit - (ts_ - t0), 1.0)
            info: dict = {}
            ts, rho_s, status = solve_lipsdp(Ws, slopes, solver=solver, options=opts, info=info)
        except Exception as exc:  # noqa: BLE001 - any solver failure means: try the next one
            notes.append(f"{solver}: solve failed ({type(exc).__name__}: {exc})")
            continue
        solve_s = time.perf_counter() - ts_
        try:
            if n_full <= DENSE_FALLBACK_MAX:
                cert, used = verify_certificate(Ws, slopes, ts), "dense"
            else:
                from ._eigopt import verify_certificate_banded

                cert, used = verify_certificate_banded(Ws, slopes, ts, per_neuron=True), "banded (per coordinate)"
        except CertificateError as exc:
            notes.append(f"{solver}: status {status}; verification failed ({exc})")
            continue
        st = f"solver status {status}; certificate verified in float64 ({used})"
        if notes:
            st += f" (after: {'; '.join(notes)})"
        return result(_up(cert["value"] * post), solver, st, solver_rho=rho_s, rho_cert=cert["rho_cert"],
                      solve_seconds=solve_s, verification=used, lmi_side=n_full, point_weight=point_weight,
                      sdp_dual_rho=info.get("dual_bound"), notes=notes)
    from ._sdp import lipsdp

    glob = lipsdp(net, time_limit=time_limit)
    return result(glob.value, glob.solver, "no verified local certificate (" + "; ".join(notes)
                  + "); the global LipSDP bound is reported", fallback="lipsdp-neuron", notes=notes)


def _describe(domain) -> dict:
    """A JSON-able summary of a domain."""
    def summary(v):
        t = torch.as_tensor(v, dtype=torch.float64)
        return float(t) if t.numel() == 1 else {"shape": list(t.shape), "min": float(t.min()), "max": float(t.max())}

    if isinstance(domain, Ball):
        return {"kind": "ball", "center": summary(domain.center), "radius": float(domain.radius)}
    return {"kind": "box", "low": summary(domain.low), "high": summary(domain.high)}


__all__ = ["lipsdp_local"]

