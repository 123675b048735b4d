r"""The pairwise-averaged bilinear attention map as a function of its weights, its Jacobian in closed
form (Lemma 4.1), lipbound's bounds for Theorems 4.1 and 4.2, the paper's reconstructed bounds, and
sound lower bounds by projected gradient ascent.

Every function takes ``pairs``, the reading of Definition 4.1's average (:data:`PAIRS`):
``"all"`` (:math:`\alpha_i = \tfrac1M p_i^\top u`, the default), ``"others"``
(:math:`\alpha_i = \tfrac1{M-1} p_i^\top (u - p_i)`) or ``"others-over-M"``
(:math:`\alpha_i = \tfrac1M p_i^\top (u - p_i)`). With :math:`c` the divisor (:func:`divisor`) and
:math:`e = 0` for ``"all"``, :math:`e = 1` otherwise, :math:`\alpha_i = \tfrac1c (p_i^\top u - e\,
\lVert p_i\rVert^2)` and :math:`\partial\alpha_i/\partial x_k = \tfrac1c (W_k^\top p_i + \delta_{ik}
W_i^\top u - 2 e\, \delta_{ik} W_i^\top p_i)`: for :math:`e = 1` the self-score term drops out,
:math:`\partial\alpha_i/\partial x_i = \tfrac1c W_i^\top \sum_{j \ne i} p_j` and
:math:`\partial\alpha_i/\partial x_k = \tfrac1c W_k^\top p_i` (:math:`k \ne i`).

Notation: weights :math:`W_i \in \mathbb{R}^{k \times d_i}` (the *effective* weights, i.e. after any
spectral normalisation and score scaling), :math:`p_i = W_i x_i`, :math:`u = \sum_j p_j`,
:math:`\alpha_i = \tfrac1M p_i^\top u`, :math:`f(x)_i = \alpha_i x_i`. Input set
:math:`B_R = \{x : \lVert x_i \rVert \le R \ \forall i\}` (a product of balls, convex). Norm
constants: :math:`w_i = \lVert W_i \rVert_2`, :math:`w_{\max} = \max_i w_i`, :math:`S = \sum_i w_i`,
:math:`\sigma = \lVert [W_1 \cdots W_M] \rVert_2`, :math:`U = \min(S, \sigma\sqrt{M})` (so that
:math:`\lVert u \rVert \le R\,U` on :math:`B_R`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch.func import jacrev, jvp

#: Reconstructed constant of the paper's Theorem 4.1 bound ``C * R^2 * W_max^2``: the proof's
#: Step 5 gives sum_i ||Δf_i||^2 <= 2 W^4 R^4 (4 ||Δ||^2 + M ā^2) <= 10 W^4 R^4 ||Δ||^2.
PAPER_41_CONSTANT = math.sqrt(10.0)

#: the readings of Definition 4.1's average (as :data:`lipbound.models._fusion.PAIRS`)
PAIRS: tuple[str, ...] = ("all", "others", "others-over-M")


def divisor(m: int, pairs: str = "all") -> int:
    r"""The normaliser :math:`c` of :math:`\alpha_i`: :math:`M - 1` for ``"others"``, else :math:`M`."""
    if pairs not in PAIRS:
        raise ValueError(f"unknown pairs {pairs!r}; choose one of {', '.join(PAIRS)}")
    return m - 1 if pairs == "others" else m


def _coefficient(ps, i: int, pairs: str):
    r""":math:`c\,\alpha_i`: :math:`p_i^\top \sum_j p_j` over the reading's index set (the sum over
    :math:`j \ne i` is formed directly, not as :math:`u - p_i`, so no cancellation)."""
    idx = [j for j in range(len(ps)) if pairs == "all" or j != i]
    return sum(((ps[i] * ps[j]).sum(-1, keepdim=True) for j in idx[1:]), (ps[i] * ps[idx[0]]).sum(-1, keepdim=True))


def split(x: torch.Tensor, dims: Sequence[int]) -> list[torch.Tensor]:
    """Split a stacked vector (last axis) into modality blocks of widths ``dims``."""
    return list(torch.split(x, list(dims), dim=-1))


def attention_map(ws: Sequence[torch.Tensor], x: torch.Tensor, pairs: str = "all") -> torch.Tensor:
    r""":math:`f(x) = [\alpha_1 x_1; \dots; \alpha_M x_M]` for a stacked input ``x`` (last axis), under the
    reading ``pairs`` of Definition 4.1's average."""
    dims = [w.shape[1] for w in ws]
    xs = split(x, dims)
    ps = [xi @ w.T for xi, w in zip(xs, ws)]
    m = len(ws)
    if pairs == "all":  # the original expression, unchanged
        u = sum(ps)
        return torch.cat([((p * u).sum(-1, keepdim=True) / m) * xi for p, xi in zip(ps, xs)], dim=-1)
    c = divisor(m, pairs)
    return torch.cat([(_coefficient(ps, i, pairs) / c) * xi for i, xi in enumerate(xs)], dim=-1)


def jacobian_closed(ws: Sequence[torch.Tensor], x: torch.Tensor, pairs: str = "all") -> torch.Tensor:
    r"""Lemma 4.1 in closed form: :math:`J = D + \tilde X G`, block (i, k) equal to
    :math:`\delta_{ik}\alpha_i I + x_i (\partial\alpha_i/\partial x_k)^\top` with
    :math:`\partial\alpha_i/\partial x_k = \tfrac1M (W_k^\top p_i + \delta_{ik} W_i^\top u)` (``"all"``); under
    the j != i readings :math:`\tfrac1c W_k^\top p_i` for :math:`k \ne i` and :math:`\tfrac1c W_i^\top
    \sum_{j \ne i} p_j` for :math:`k = i` (no :math:`s_{ii}` term)."""
    dims = [w.shape[1] for w in ws]
    m = len(ws)
    c = divisor(m, pairs)
    xs = split(x, dims)
    ps = [w @ xi for w, xi in zip(ws, xs)]
    u = sum(ps)
    rows = []
    for i in range(m):
        if pairs == "all":
            alpha = (ps[i] @ u) / m
        else:
            rest = sum((ps[j] for j in range(m) if j != i), torch.zeros_like(ps[i]))
            alpha = (ps[i] @ rest) / c
        blocks = []
        for k in range(m):
            if pairs == "all":
                g = ws[k].T @ ps[i] / m
                if k == i:
                    g = g + ws[i].T @ u / m
            else:
                g = ws[i].T @ rest / c if k == i else ws[k].T @ ps[i] / c
            blk = torch.outer(xs[i], g)
            if k == i:
                blk = blk + alpha * torch.eye(dims[i], dtype=x.dtype)
            blocks.append(blk)
        rows.append(torch.cat(blocks, dim=1))
    return torch.cat(rows, dim=0)


def norm_constants(ws: Sequence[np.ndarray | torch.Tensor]) -> dict[str, float]:
    """:math:`w_i, w_{\\max}, S, \\sigma, \\sqrt{\\sum w_i^2}` of the weights (float64 LAPACK SVD)."""
    mats = [np.asarray(w.detach().numpy() if isinstance(w, torch.Tensor) else w, dtype=np.float64) for w in ws]
    w = [float(np.linalg.norm(a, 2)) for a in mats]
    sigma = float(np.linalg.norm(np.hstack(mats), 2))
    m = len(mats)
    s = sum(w)
    l2 = math.sqrt(sum(v * v for v in w))
    return {"w": w, "w_max": max(w), "S": s, "sigma": sigma, "l2": l2,
            "U": min(s, sigma * math.sqrt(m)), "M": m,
            # j != i readings: ||sum_{j != i} p_j|| <= R min(S - w_i, sigma sqrt(M - 1)) =: R U_i
            "U_others": min(s - min(w), sigma * math.sqrt(m - 1)),
            "V_others": max(v * min(s - v, sigma * math.sqrt(m - 1)) for v in w),
            # ||G_1'|| / R, G_1' = G_1 without its diagonal blocks: <= sigma l2 and <= its Frobenius bound
            "T_others": min(sigma * l2, math.sqrt(max(l2**4 - sum(v**4 for v in w), 0.0)))}


def thm41_bound(ws, radius: float, pairs: str = "all") -> float:
    r"""lipbound's Theorem 4.1: :math:`L \le \tfrac{R^2}{M}\,(2 w_{\max} U + \sigma \sqrt{\textstyle\sum_i w_i^2})`
    (``"all"``); under the j != i readings :math:`L \le \tfrac{R^2}{c}\,(2 V + T)` with
    :math:`V = \max_i w_i \min(S - w_i, \sigma\sqrt{M-1})` and
    :math:`T = \min\big(\sigma \sqrt{\textstyle\sum_i w_i^2}, \sqrt{(\sum_i w_i^2)^2 - \sum_i w_i^4}\big)`
    (the constants of :func:`norm_constants`; derivation in ``lipbound/claims/thm_4_1/proof.py``)."""
    c = norm_constants(ws)
    if pairs == "all":
        from ...bounds import attention_lipschitz

        return attention_lipschitz(c["w"], c["sigma"], radius)
    return radius**2 / divisor(c["M"], pairs) * (2 * c["V_others"] + c["T_others"])


def paper41_bound(ws, radius: float) -> float:
    r"""The paper's Theorem 4.1 as reconstructed: :math:`\sqrt{10}\,R^2 W_{\max}^2`."""
    return PAPER_41_CONSTANT * radius**2 * norm_constants(ws)["w_max"] ** 2


def thm42_bound(ws, radius: float, pairs: str = "all") -> float:
    r"""lipbound's Theorem 4.2: :math:`\mathrm{Lip}(J) \le \tfrac{2 R\, w_{\max}}{M}\,(U + 2\sigma)` on :math:`B_R`
    (``"all"``); under the j != i readings :math:`\tfrac{2 R\, w_{\max}}{c}\,(U' + 2\sigma)`,
    :math:`U' = \min(S - w_{\min}, \sigma\sqrt{M-1})` (derivation in ``lipbound/claims/thm_4_2/proof.py``)."""
    c = norm_constants(ws)
    if pairs == "all":
        return 2 * radius * c["w_max"] / c["M"] * (c["U"] + 2 * c["sigma"])
    return 2 * radius * c["w_max"] / divisor(c["M"], pairs) * (c["U_others"] + 2 * c["sigma"])


def project(x: torch.Tensor, dims: Sequence[int], radius: float) -> torch.Tensor:
    """Project (batched) stacked inputs onto :math:`B_R` block by block."""
    out = []
    for xi in split(x, dims):
        n = xi.norm(dim=-1, keepdim=True).clamp_min(1e-300)
        out.append(xi * torch.clamp(radius / n, max=1.0))
    return torch.cat(out, dim=-1)


def _starts(dims, radius, n_starts, gen):
    n = sum(dims)
    x = torch.randn(n_starts, n, generator=gen, dtype=torch.float64)
    # half the starts on the boundary (every block at norm R), half inside
    x = project(x * 10.0, dims, radius)
    x[n_starts // 2:] *= torch.rand(n_starts - n_starts // 2, 1, generator=gen, dtype=torch.float64)
    return x


def lower_lipschitz(ws, radius: float, *, n_starts: int = 8, steps: int = 60, seed: int = 0,
                    lr: float = 0.05, pairs: str = "all") -> tuple[float, torch.Tensor]:
    r"""A sound lower bound of :math:`\mathrm{Lip}(f; B_R) = \sup_{B_R} \lVert J(x) \rVert_2`: projected
    gradient ascent on :math:`\lVert J(x)\rVert_2` from ``n_starts`` starts; the returned value is
    :math:`\lVert J(x^*)\rVert_2` re-evaluated with :func:`torch.func.jacrev` of :func:`attention_map`
    (not the closed form) at the best feasible point :math:`x^*`."""
    ws = [torch.as_tensor(w, dtype=torch.float64) for w in ws]
    dims = [w.shape[1] for w in ws]
    gen = torch.Generator().manual_seed(seed)
    x = _starts(dims, radius, n_starts, gen).requires_grad_(True)
    opt = torch.optim.Adam([x], lr=lr * max(radius, 1e-12))
    jac = torch.vmap(lambda v: jacobian_closed(ws, v, pairs))
    for _ in range(steps):
        opt.zero_grad()
        val = torch.linalg.matrix_norm(jac(x), ord=2)
        (-val.sum()).backward()
        opt.step()
        with torch.no_grad():
            x.copy_(project(x, dims, radius))
    with torch.no_grad():
        vals = torch.linalg.matrix_norm(jac(x), ord=2)
        best = x[int(torch.argmax(vals))].clone()
    true_j = jacrev(lambda v: attention_map(ws, v, pairs))(best)
    return float(torch.linalg.matrix_norm(true_j, ord=2)), best


def lower_jacobian_lipschitz(ws, radius: float, *, n_starts: int = 8, steps: int = 60, seed: int = 0,
                             lr: float = 0.05, pairs: str = "all") -> tuple[float, torch.Tensor, torch.Tensor]:
    r"""A sound lower bound of :math:`\mathrm{Lip}(J; B_R) = \sup_{x \in B_R,\ \lVert v\rVert = 1}
    \lVert dJ(x)[v] \rVert_2`, by projected ascent over :math:`(x, v)`; the value is re-evaluated with
    :func:`torch.func.jvp` of :func:`torch.func.jacrev` of :func:`attention_map` at the best point."""
    ws = [torch.as_tensor(w, dtype=torch.float64) for w in ws]
    dims = [w.shape[1] for w in ws]
    gen = torch.Generator().manual_seed(seed)
    x = _starts(dims, radius, n_starts, gen).requires_grad_(True)
    v = torch.randn(n_starts, sum(dims), generator=gen, dtype=torch.float64).requires_grad_(True)
    opt = torch.optim.Adam([x, v], lr=lr * max(radius, 1e-12))

    def djv(xx, vv):
        return jvp(lambda y: jacobian_closed(ws, y, pairs), (xx,), (vv / vv.norm(),))[1]

    batched = torch.vmap(djv)
    for _ in range(steps):
        opt.zero_grad()
        val = torch.linalg.matrix_norm(batched(x, v), ord=2)
        (-val.sum()).backward()
        opt.step()
        with torch.no_grad():
            x.copy_(project(x, dims, radius))
    with torch.no_grad():
        vals = torch.linalg.matrix_norm(batched(x, v), ord=2)
        k = int(torch.argmax(vals))
        bx, bv = x[k].clone(), (v[k] / v[k].norm()).clone()
    true = jvp(jacrev(lambda y: attention_map(ws, y, pairs)), (bx,), (bv,))[1]
    return float(torch.linalg.matrix_norm(true, ord=2)), bx, bv


def paper41_bound_t(ws: Sequence[torch.Tensor], radius: float) -> torch.Tensor:
    """:func:`paper41_bound` in torch (differentiable in the weights)."""
    return PAPER_41_CONSTANT * radius**2 * torch.stack([torch.linalg.matrix_norm(w, ord=2) for w in ws]).max() ** 2


def thm41_bound_t(ws: Sequence[torch.Tensor], radius: float, pairs: str = "all") -> torch.Tensor:
    """:func:`thm41_bound` in torch (differentiable in the weights)."""
    w = torch.stack([torch.linalg.matrix_norm(v, ord=2) for v in ws])
    m = len(ws)
    sigma = torch.linalg.matrix_norm(torch.cat(list(ws), dim=1), ord=2)
    l2 = torch.sqrt((w * w).sum())
    if pairs == "all":
        u = torch.minimum(w.sum(), sigma * math.sqrt(m))
        return radius**2 / m * (2 * w.max() * u + sigma * l2)
    v = (w * torch.minimum(w.sum() - w, sigma * math.sqrt(m - 1))).max()
    t = torch.minimum(sigma * l2, torch.sqrt((l2**4 - (w**4).sum()).clamp_min(0.0)))
    return radius**2 / divisor(m, pairs) * (2 * v + t)


def ratio_ascent(params: Sequence[torch.Tensor], build, radius: float, bound_t, *, n_starts: int = 4,
                 steps: int = 80, seed: int = 0, lr: float = 0.05,
                 pairs: str = "all") -> tuple[list[torch.Tensor], torch.Tensor]:
    r"""Joint projected gradient ascent on :math:`\log \lVert J(x; W)\rVert_2 - \log \mathrm{bound}(W)` over
    inputs :math:`x \in B_R` (``n_starts`` starts, projected block by block after each step) and weight
    parameters ``params`` (``build(params)`` gives the weights, so a family's structure is kept).
    Adam with a learning rate decaying linearly to 0. Returns the final weights and the best input.
    Deterministic under ``seed`` (CPU float64)."""
    params = [p.detach().clone().requires_grad_(True) for p in params]
    ws0 = build(params)
    dims = [w.shape[1] for w in ws0]
    gen = torch.Generator().manual_seed(seed)
    x = _starts(dims, radius, n_starts, gen).requires_grad_(True)
    opt = torch.optim.Adam([{"params": [x], "lr": lr * max(radius, 1e-12)}, {"params": params, "lr": lr}])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1.0 - t / max(steps, 1))
    for _ in range(steps):
        opt.zero_grad()
        ws = build(params)
        val = torch.linalg.matrix_norm(torch.vmap(lambda v: jacobian_closed(ws, v, pairs))(x), ord=2)
        (-(val.clamp_min(1e-300).log() - bound_t(ws, radius).clamp_min(1e-300).log()).sum()).backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            x.copy_(project(x, dims, radius))
    with torch.no_grad():
        ws = [w.detach().clone() for w in build(params)]
        vals = torch.linalg.matrix_norm(torch.vmap(lambda v: jacobian_closed(ws, v, pairs))(x), ord=2)
        best = x[int(torch.argmax(vals))].detach().clone()
    return ws, best
