r"""Numeric evaluators for Lemma 4.1 (Jacobian blocks of the attention map), one per reading.

Notation: :math:`p_i = W_i x_i`, :math:`u = \sum_j p_j`, :math:`\alpha_i = \tfrac1M p_i^\top u`,
:math:`f_i = \alpha_i x_i`, :math:`J_{ik} = \partial f_i / \partial x_k`.

The readings ending in ``-others`` and ``-others-over-M`` are the same statements under the j != i
readings of Definition 4.1 (``pairs`` of :class:`~lipbound.models.AttentionFusion`):
:math:`\alpha_i = \tfrac1c \sum_{j \ne i} s_{ij}` with :math:`c = M - 1` or :math:`c = M`. There
:math:`\partial\alpha_i/\partial x_i = \tfrac1c W_i^\top \sum_{j \ne i} p_j` (no :math:`s_{ii}` term:
every :math:`W_j x_j` in the sum is independent of :math:`x_i`, as Appendix C.1 says) and
:math:`\partial\alpha_i/\partial x_k = \tfrac1c W_k^\top p_i` for :math:`k \ne i`; the module is run with
the same ``pairs``.

Every closed form below is compared, in float64, with :func:`torch.func.jacrev` of the model code
itself (:class:`~lipbound.models.AttentionFusion` with the case's weights copied in), never with
another closed form. The discrepancy of a case is the largest block error relative to the whole
Jacobian's scale, :math:`\max_{i,k} \lVert J^{\text{closed}}_{ik} - J^{\text{auto}}_{ik}\rVert_F /
\max(\lVert J^{\text{auto}}\rVert_F, \mu)`, with :math:`\mu` (:func:`magnitude`) the size of the terms
that make up :math:`J`, so that a Jacobian that vanishes by cancellation is not divided by ~0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.func import jacrev

from ...models._fusion import AttentionFusion
from .._ledger import Evaluator, Outcome
from .._shared.attention import divisor
from .._shared.attention_cases import case_weights, sample_weights_case, serial

#: Relative tolerance of "closed form == autograd Jacobian": both sides are O(M k d) float64
#: operations on the same numbers (unit roundoff 1.1e-16), so honest discrepancies are ~1e-15
#: relative to ||J||_F; 1e-10 leaves five orders of margin. A wrong formula (the missing s_ii copy,
#: a missing 1/M, a transposed outer product) is off by O(1e-2) or more on the generated cases.
JAC_RTOL = 1e-10


def _split(x: torch.Tensor, dims: Sequence[int]) -> list[torch.Tensor]:
    return list(torch.split(x, list(dims), dim=-1))


def jacobian_blocks(ws: Sequence[torch.Tensor], xs: Sequence[torch.Tensor], *,
                    self_term: bool = True, pairs: str = "all") -> list[list[torch.Tensor]]:
    r"""Lemma 4.1 in closed form: ``blocks[i][k]`` :math:`= \delta_{ik}\alpha_i I + x_i g_{ik}^\top`,
    :math:`g_{ik} = \tfrac1M (W_k^\top p_i + \delta_{ik} W_i^\top u)`.

    ``self_term=False`` drops the :math:`W_i^\top p_i` part of :math:`g_{ii}` (the second copy of the
    :math:`s_{ii}` term): that is the self-block as recovered from the paper's Appendix C.1.

    ``pairs="others"`` / ``"others-over-M"`` (the j != i readings, divisor :math:`c = M - 1` / :math:`M`):
    :math:`g_{ik} = \tfrac1c W_k^\top p_i` (:math:`k \ne i`), :math:`g_{ii} = \tfrac1c W_i^\top \sum_{j \ne i} p_j`,
    :math:`\alpha_i = \tfrac1c p_i^\top \sum_{j \ne i} p_j`; Eq. 5 read with the definition's index set
    (``self_term`` does not apply: there is no :math:`s_{ii}` term).

    >>> one = torch.ones(1, 1, dtype=torch.float64)
    >>> b = jacobian_blocks([one, one], [torch.ones(1, dtype=torch.float64)] * 2)
    >>> float(b[0][0]), float(b[0][1])
    (2.5, 0.5)
    >>> float(jacobian_blocks([one, one], [torch.ones(1, dtype=torch.float64)] * 2, self_term=False)[0][0])
    2.0
    """
    m = len(ws)
    ps = [w @ x for w, x in zip(ws, xs)]
    u = sum(ps[1:], ps[0])
    if pairs != "all":
        c = divisor(m, pairs)
        out = []
        for i in range(m):
            rest = sum((ps[j] for j in range(m) if j != i), torch.zeros_like(ps[i]))
            alpha = (ps[i] @ rest) / c
            row = [torch.outer(xs[i], (ws[i].T @ rest if k == i else ws[k].T @ ps[i]) / c) for k in range(m)]
            row[i] = row[i] + alpha * torch.eye(xs[i].shape[0], dtype=xs[i].dtype)
            out.append(row)
        return out
    out = []
    for i in range(m):
        alpha = (ps[i] @ u) / m
        row = []
        for k in range(m):
            g = ws[k].T @ ps[i] / m
            if k == i:
                g = ws[i].T @ u / m + (g if self_term else 0.0)
            blk = torch.outer(xs[i], g)
            if k == i:
                blk = blk + alpha * torch.eye(xs[i].shape[0], dtype=xs[i].dtype)
            row.append(blk)
        out.append(row)
    return out


def assemble(blocks: list[list[torch.Tensor]]) -> torch.Tensor:
    """The full Jacobian from its blocks."""
    return torch.cat([torch.cat(row, dim=1) for row in blocks], dim=0)


def regularized_blocks(fusion: AttentionFusion, xs: Sequence[torch.Tensor]) -> list[list[torch.Tensor]]:
    r"""The chain rule through the normalisation: ``blocks[i][k]`` :math:`= J^f_{ik}(\hat x; W')
    (I - \hat x_k \hat x_k^\top)/\lVert x_k \rVert` (every :math:`x_k \ne 0`), with :math:`W'` the
    fusion's :meth:`~lipbound.models.AttentionFusion.effective_weights`, under the fusion's ``pairs``.
    Without input normalisation it is :func:`jacobian_blocks` at :math:`(x, W')`."""
    with torch.no_grad():
        ws = fusion.effective_weights()
    extra = {} if fusion.pairs == "all" else {"pairs": fusion.pairs}
    if not fusion.normalize_inputs:
        return jacobian_blocks(ws, xs, **extra)
    norms = [x.norm() for x in xs]
    xh = [x / n for x, n in zip(xs, norms)]
    inner = jacobian_blocks(ws, xh, **extra)
    proj = [(torch.eye(x.shape[0], dtype=x.dtype) - torch.outer(x, x)) / n for x, n in zip(xh, norms)]
    return [[blk @ proj[k] for k, blk in enumerate(row)] for row in inner]


def build_fusion(ws: Sequence[torch.Tensor], **switches) -> AttentionFusion:
    """An :class:`AttentionFusion` (float64) whose raw weights are ``ws``."""
    f = AttentionFusion([w.shape[1] for w in ws], proj_dim=ws[0].shape[0], **switches).double()
    with torch.no_grad():
        for p, w in zip(f.weights, ws):
            p.copy_(w)
    return f


def autograd_blocks(fusion: AttentionFusion, xs: Sequence[torch.Tensor]) -> list[list[torch.Tensor]]:
    """``jacrev`` of the fusion module at the stacked input, cut into blocks."""
    dims = [x.shape[0] for x in xs]
    jac = jacrev(lambda v: fusion(_split(v, dims)))(torch.cat(list(xs))).detach()
    return [list(torch.split(r, dims, dim=1)) for r in torch.split(jac, dims, dim=0)]


def magnitude(ws: Sequence[torch.Tensor], xs: Sequence[torch.Tensor]) -> float:
    r"""The scale of the numbers that make up :math:`J`, an upper bound of :math:`\lVert J \rVert_F`:
    :math:`\sum_i \big(|\alpha|_i \sqrt{d_i} + \lVert x_i\rVert \sum_k \lVert g_{ik}\rVert\big)` with every
    norm bounded by triangle inequalities (:math:`|\alpha|_i = \lVert p_i\rVert \bar u / M`,
    :math:`\lVert g_{ik}\rVert \le \lVert W_k\rVert_F \lVert p_i\rVert / M + \delta_{ik} \lVert W_i\rVert_F \bar u / M`,
    :math:`\bar u = \sum_j \lVert p_j \rVert`). Rounding errors of both Jacobians are a small multiple of
    unit roundoff times it, also where :math:`J` itself vanishes (e.g. scalar modalities under normalisation)."""
    m = len(ws)
    pn = [float((w @ x).norm()) for w, x in zip(ws, xs)]
    ubar = sum(pn)
    wf = [float(w.norm()) for w in ws]
    total = 0.0
    for i, x in enumerate(xs):
        g = sum(wk * pn[i] / m for wk in wf) + wf[i] * ubar / m
        total += pn[i] * ubar / m * x.shape[0] ** 0.5 + float(x.norm()) * g
    return total


def block_error(closed: list[list[torch.Tensor]], auto: list[list[torch.Tensor]], scale: float,
                pairs: Sequence[tuple[int, int]] | None = None) -> float:
    r""":math:`\max_{(i,k)} \lVert C_{ik} - A_{ik}\rVert_F / \max(\lVert A\rVert_F, \text{scale})` over
    ``pairs`` (default: all blocks)."""
    m = len(auto)
    pairs = pairs if pairs is not None else [(i, k) for i in range(m) for k in range(m)]
    worst = max(float((closed[i][k] - auto[i][k]).norm()) for i, k in pairs)
    denom = max(float(assemble(auto).norm()), scale)
    if denom == 0.0:
        return 0.0 if worst == 0.0 else float("inf")
    return worst / denom


# ----------------------------------------------------------------------------- cases
def sample_case(rng: np.random.Generator, index: int = 0) -> dict[str, Any]:
    """A weights case of Theorem 4.1's sampler plus an input seed (inputs ~ R N(0, I))."""
    case = sample_weights_case(rng, index)
    case["x_seed"] = int(rng.integers(0, 2**31 - 1))
    return case


def sample_regularized_case(rng: np.random.Generator, index: int = 0) -> dict[str, Any]:
    """As :func:`sample_case`, with random switches and per-modality input scales over six decades."""
    case = sample_case(rng, index)
    case["spectral_norm"] = bool(rng.integers(2))
    case["scale_scores"] = bool(rng.integers(2))
    case["x_scales"] = [float(10 ** rng.uniform(-3, 3)) for _ in range(case["M"])]
    return case


def case_inputs(case: dict[str, Any]) -> list[torch.Tensor]:
    """The inputs x_i of a case (or its explicit ``x``)."""
    if "x" in case:
        return [torch.tensor(x, dtype=torch.float64) for x in case["x"]]
    rng = np.random.default_rng(case["x_seed"])
    scales = case.get("x_scales", [case["R"]] * case["M"])
    return [torch.from_numpy(s * rng.standard_normal(d)) for s, d in zip(scales, case["dims"])]


def _cex(case, ws, xs, **extra):
    return {**{k: v for k, v in case.items() if k not in ("weights", "x")}, "weights": serial(ws),
            "x": [x.tolist() for x in xs], **extra}


def _compare(case, closed_fn, pairs_fn=None, switches=None):
    ws, xs = case_weights(case), case_inputs(case)
    fusion = build_fusion(ws, **(switches or {}))
    auto = autograd_blocks(fusion, xs)
    closed = closed_fn(fusion, ws, xs)
    m = len(ws)
    if fusion.normalize_inputs:  # J_f(xhat; W') times projections of norm 1/||x_k||
        with torch.no_grad():
            scale = magnitude(fusion.effective_weights(), [x / x.norm() for x in xs]) / min(float(x.norm()) for x in xs)
    else:
        scale = magnitude(ws, xs)
    err = block_error(closed, auto, scale, pairs_fn(m) if pairs_fn else None)
    ok = err <= JAC_RTOL
    return Outcome(ok, err, JAC_RTOL, None if ok else _cex(case, ws, xs, relative_block_error=err),
                   label=case.get("family", "witness"))


def _blocks(case, pairs="all"):
    if pairs == "all":
        return _compare(case, lambda f, ws, xs: jacobian_blocks(ws, xs))
    return _compare(case, lambda f, ws, xs: jacobian_blocks(ws, xs, pairs=pairs), switches={"pairs": pairs})


def _paper_self_under(case, pairs):
    """Eq. 5 with Definition 4.1's index set j != i and divisor c, self-blocks only."""
    return _compare(case, lambda f, ws, xs: jacobian_blocks(ws, xs, pairs=pairs),
                    lambda m: [(i, i) for i in range(m)], switches={"pairs": pairs})


def _paper_cross(case):
    return _compare(case, lambda f, ws, xs: jacobian_blocks(ws, xs, self_term=False),
                    lambda m: [(i, k) for i in range(m) for k in range(m) if i != k])


def _paper_self(case):
    return _compare(case, lambda f, ws, xs: jacobian_blocks(ws, xs, self_term=False),
                    lambda m: [(i, i) for i in range(m)])


def _regularized(case, pairs="all"):
    switches = {"normalize_inputs": True, "spectral_norm": case.get("spectral_norm", True),
                "scale": case.get("scale_scores", False), "pairs": pairs}
    return _compare(case, lambda f, ws, xs: regularized_blocks(f, xs), switches=switches)


def witness_paper_self_block() -> dict[str, Any]:
    """M = 2 scalar modalities, W_1 = W_2 = 1, x = (1, 1): J_11 = 5/2, the recovered Eq. 5 gives 2."""
    return {"family": "witness", "M": 2, "k": 1, "dims": [1, 1], "R": 1.0, "seed": 0,
            "weights": [[[1.0]], [[1.0]]], "x": [[1.0], [1.0]]}


_M = f"float64 closed form vs torch.func.jacrev of AttentionFusion; max block error / max(||J||_F, term scale) <= {JAC_RTOL:g}"
#: the j != i readings of Definition 4.1, as reading-name suffixes
J_NE_I = ("others", "others-over-M")

EVALUATORS = {
    "blocks": Evaluator(sample=sample_case, evaluate=_blocks, method=_M + " (all blocks)"),
    "paper-cross-block": Evaluator(sample=sample_case, evaluate=_paper_cross, method=_M + " (blocks k != i)"),
    "paper-self-block": Evaluator(sample=sample_case, evaluate=_paper_self,
                                  method=_M + " (blocks k = i, without the second s_ii copy)",
                                  witness=witness_paper_self_block),
    "regularized": Evaluator(sample=sample_regularized_case, evaluate=_regularized,
                             method=_M + " (normalised inputs, spectral norm and scaling switched at random, "
                                         "input scales 1e-3..1e3)"),
}
for _p in J_NE_I:
    _c = "M - 1" if _p == "others" else "M"
    EVALUATORS[f"blocks-{_p}"] = Evaluator(
        sample=sample_case, evaluate=lambda case, p=_p: _blocks(case, p),
        method=_M + f" (all blocks; AttentionFusion(pairs={_p!r}): alpha_i = (1/({_c})) sum_(j != i) s_ij)")
    EVALUATORS[f"paper-self-block-{_p}"] = Evaluator(
        sample=sample_case, evaluate=lambda case, p=_p: _paper_self_under(case, p),
        method=_M + f" (blocks k = i, Eq. 5 with the sum over j != i and 1/({_c}); pairs={_p!r})")
    EVALUATORS[f"regularized-{_p}"] = Evaluator(
        sample=sample_regularized_case, evaluate=lambda case, p=_p: _regularized(case, p),
        method=_M + f" (as 'regularized', pairs={_p!r})")


#: reading whose witness -> the readings expected to hold that accept it (the witness lies in their
#: domain: a counterexample to the paper's reading is not one to lipbound's own); checked by
#: tests/test_witnesses.py
WITNESS_ACCEPTED_BY: dict[str, tuple[str, ...]] = {
    # the witness refuting Eq. 5 under Definition 4.1's default reading (j = i included) is accepted by
    # Eq. 5 under the j != i readings: that verdict depends on the reading
    "paper-self-block": (
        "blocks",
        "paper-cross-block",
        "regularized",
        "blocks-others",
        "paper-self-block-others",
        "blocks-others-over-M",
        "paper-self-block-others-over-M",
    ),
}
