r"""Lipschitz tracking during training: three labelled numbers per submodule (Sections 4.6, 5.4).

For each encoder, decoder, the fusion and the whole model, :func:`track` reports

* ``heuristic`` / ``paper-estimator``: the paper's estimator (Algorithm 1, Eq. 8), the largest
  Frobenius norm of the Jacobian over test inputs; neither a lower nor an upper bound;
* ``lower`` / ``power-iteration``: :math:`\max_x \|J(x)v\|/\|v\|` after power iteration on
  :math:`J^\top J` at test inputs (float64, deflated): never above the true constant;
* ``certified-upper``: the product of certified layer norms (``spectral-product``) for encoders
  and decoders; for the fusion the exact constants :math:`\sqrt M` (sum) and 1 (concatenation),
  and for plain attention lipbound's Theorem 4.1 bound on the ball of the largest test latent norm
  (``attention-bound``; valid on that ball only, stated in the record's ``domain``); for the whole
  model the composed bound of :func:`lipbound.bounds.autoencoder_bounds`. No upper bound is
  reported where none is sound (attention with normalised inputs is not Lipschitz near 0; the
  two-layer score network has no bound in :mod:`lipbound.bounds`).

Inputs of a decoder are the fused latents of the test inputs; inputs of the fusion the stacked
latents; inputs of the model the stacked flattened modalities.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import torch
from torch import nn

from ..bounds import autoencoder_bounds, spectral_product
from ..bounds._bracket import attention_bound
from ..errors import LipboundError
from ..models import AttentionFusion, ConcatFusion, MultimodalAutoencoder, SumFusion

#: power-iteration steps and estimator samples per tracking (cheap enough for <= 15% overhead)
POWER_ITERS = 15
ESTIMATOR_SAMPLES = 8
#: relative deflation for maps without a certified scale (our maps have ReLU/sigmoid slopes, whose
#: rounding is relative): 10x the 1e-9 of :mod:`lipbound.bounds._lower`
REL_MARGIN = 1e-8


class _FusionMap(nn.Module):
    """The fusion as a map of the stacked latents ``(n, sum d_i) -> (n, output_dim)``."""

    def __init__(self, fusion: nn.Module, dims: Sequence[int]) -> None:
        super().__init__()
        self.fusion, self.dims = fusion, list(dims)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.fusion(list(torch.split(z, self.dims, dim=-1)))


class _WholeMap(nn.Module):
    """The autoencoder as a map of stacked flattened modalities to stacked flattened reconstructions."""

    def __init__(self, model: MultimodalAutoencoder, shapes: Sequence[tuple[int, ...]]) -> None:
        super().__init__()
        self.model, self.shapes = model, [tuple(s) for s in shapes]
        self.sizes = [math.prod(s) for s in self.shapes]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = torch.split(x, self.sizes, dim=-1)
        xs = [p.reshape(*p.shape[:-1], *s) for p, s in zip(parts, self.shapes)]
        return torch.cat([y.flatten(start_dim=1) for y in self.model(xs)], dim=-1)


def within_budget(sched: dict, done: int, budget: float) -> bool:
    r"""The automatic tracking schedule: track now only if the tracking time so far plus the cost
    of one more tracking stays within ``budget`` (a fraction) of the training time so far,

    .. math::

        t_\text{track} + c \le b\, t_\text{train},

    with :math:`c` the last tracking's cost, and before the first tracking (cost unknown) two
    units' worth of training, :math:`2 t_\text{train} / n` after ``done`` = :math:`n` units (epochs
    of the harness, steps of :class:`lipbound.tracking.BracketCallback`). ``sched`` holds the
    seconds ``train_s``, ``track_s`` and ``last_track_s``.

    >>> within_budget({"train_s": 10.0, "track_s": 0.0, "last_track_s": 0.0}, 10, 0.15)
    False
    >>> within_budget({"train_s": 20.0, "track_s": 0.0, "last_track_s": 0.0}, 20, 0.15)
    True
    >>> within_budget({"train_s": 20.0, "track_s": 2.0, "last_track_s": 2.0}, 20, 0.15)
    False
    """
    if done <= 0 or sched["train_s"] <= 0:
        return False
    cost = sched["last_track_s"] if sched["last_track_s"] > 0 else 2.0 * sched["train_s"] / done
    return sched["track_s"] + cost <= budget * sched["train_s"]


def power_lower(module: nn.Module, inputs: torch.Tensor, *, iters: int = POWER_ITERS, seed: int = 0,
                scale: float = 0.0) -> torch.Tensor:
    r"""Per-input lower bounds :math:`\|J(x)v\|/\|v\|` after ``iters`` power steps on :math:`J^\top J`.

    The batched mode of :func:`lipbound.bounds.jacobian_power_iteration` (two backward passes of
    the batched module per step, the same random vectors from ``torch.Generator().manual_seed(seed)``,
    the same deflation), run on the device of ``inputs`` and ``module`` (a GPU too; the random
    vectors are drawn on the CPU and moved, so every device starts from the same vectors). Exact
    here because the modules tracked act on each sample separately (no batch statistics,
    evaluation mode), so the batch Jacobian is block diagonal with blocks :math:`J(x_i)`.
    ``inputs`` and the module are float64.

    >>> lin = nn.Linear(3, 2, bias=False).double()
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.tensor([[3.0, 0, 0], [0, 1.0, 0]]))
    >>> v = power_lower(lin, torch.randn(4, 3, dtype=torch.float64))
    >>> bool(((v <= 3.0) & (v > 3.0 - 1e-6)).all())
    True
    """
    from ..bounds._lower import jacobian_power_iteration

    return jacobian_power_iteration(module, inputs, iters=iters, seed=seed, scale=scale, _f64_model=module,
                                    batched=True)[0]


#: above this many Jacobian rows and columns the Frobenius norm is estimated with random probes
EXACT_JACOBIAN_MAX = 64
HUTCHINSON_PROBES = 16


def frobenius_norms(module: nn.Module, inputs: torch.Tensor, *, seed: int = 0) -> tuple[torch.Tensor, str]:
    r""":math:`\lVert J(x) \rVert_F` per input (the quantity of the paper's estimator, Eq. 8), and how it
    was obtained: exactly, with one Jacobian-vector product per input coordinate (or one
    vector-Jacobian product per output coordinate) when that side has at most
    :data:`EXACT_JACOBIAN_MAX` entries; otherwise the Hutchinson estimate
    :math:`\sqrt{\tfrac1k \sum_{p=1}^{k} \lVert J u_p\rVert^2}` with :math:`k` Rademacher probes
    (:math:`\mathbb E\,\lVert J u\rVert^2 = \lVert J\rVert_F^2`), for large images where the exact
    Jacobian costs thousands of passes. Batched as :func:`power_lower` (samples are independent).

    >>> lin = nn.Linear(2, 2, bias=False).double()
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.eye(2))
    >>> v, how = frobenius_norms(lin, torch.randn(3, 2, dtype=torch.float64))
    >>> [round(float(a), 6) for a in v], how
    ([1.414214, 1.414214, 1.414214], 'exact')
    """
    x = inputs.detach().clone().requires_grad_(True)
    n_in = x[0].numel()
    with torch.enable_grad():
        y = module(x)
        n_out = y[0].numel()
        w = torch.zeros_like(y, requires_grad=True)
        (jtw,) = torch.autograd.grad(y, x, w, create_graph=True)
        sq = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        if min(n_in, n_out) <= EXACT_JACOBIAN_MAX:
            if n_in <= n_out:
                for k in range(n_in):
                    e = torch.zeros_like(x).flatten(1)
                    e[:, k] = 1.0
                    jv = torch.autograd.grad(jtw, w, e.view_as(x), retain_graph=True)[0]
                    sq += jv.detach().flatten(1).pow(2).sum(dim=1)
            else:
                for k in range(n_out):
                    e = torch.zeros_like(y).flatten(1)
                    e[:, k] = 1.0
                    g = torch.autograd.grad(y, x, e.view_as(y), retain_graph=True)[0]
                    sq += g.detach().flatten(1).pow(2).sum(dim=1)
            return sq.sqrt(), "exact"
        gen = torch.Generator().manual_seed(int(seed))
        for _ in range(HUTCHINSON_PROBES):
            u = (torch.randint(0, 2, x.shape, generator=gen) * 2 - 1).to(device=x.device, dtype=x.dtype)
            jv = torch.autograd.grad(jtw, w, u, retain_graph=True)[0]
            sq += jv.detach().flatten(1).pow(2).sum(dim=1)
        return (sq / HUTCHINSON_PROBES).sqrt(), f"Hutchinson, {HUTCHINSON_PROBES} Rademacher probes"


def _rows(name: str, module: nn.Module, inputs: torch.Tensor, upper: tuple[float, str, dict] | None,
          seed: int, n_est: int) -> list[dict]:
    rows = []
    if upper is not None:
        value, method, extra = upper
        rows.append({"submodule": name, "value": float(value), "kind": "certified-upper", "method": method, **extra})
    t0 = time.perf_counter()
    scale = upper[0] if upper is not None and not upper[2] else 0.0
    vals = power_lower(module, inputs, iters=POWER_ITERS, seed=seed, scale=scale)
    low = float(vals.max())
    if upper is None or upper[2]:  # no global certified scale: deflate relatively
        low = max(0.0, low * (1 - REL_MARGIN))
    rows.append({"submodule": name, "value": low, "kind": "lower", "method": "power-iteration",
                 "seconds": time.perf_counter() - t0})
    t0 = time.perf_counter()
    fro, how = frobenius_norms(module, inputs[:n_est], seed=seed)
    rows.append({"submodule": name, "value": float(fro.max()), "kind": "heuristic",
                 "method": "paper-estimator" if how == "exact" else f"paper-estimator ({how})",
                 "seconds": time.perf_counter() - t0})
    return rows


@torch.no_grad()
def _latents(model: MultimodalAutoencoder, xs: Sequence[torch.Tensor]):
    lat = model.encode(xs)
    return lat, model.fuse(lat)


def track(model: MultimodalAutoencoder, inputs: Sequence[torch.Tensor], *, modality_names: Sequence[str],
          seed: int = 0) -> list[dict]:
    """Tracking rows ``{"submodule", "value", "kind", "method", ...}`` for every submodule.

    ``inputs`` are test inputs, one tensor per modality (a few dozen samples). The lower bounds
    and the estimator are evaluated on a float64 copy of the model on the model's own device (a GPU
    too); the certified upper bounds (:mod:`lipbound.bounds`, which works on the CPU) on a float64
    CPU copy. The model's own weights and device are left alone.

    >>> from lipbound.models import MLPDecoder, MLPEncoder
    >>> _ = torch.manual_seed(0)
    >>> m = MultimodalAutoencoder([MLPEncoder(3, 2, hidden=(4,)), MLPEncoder(2, 2, hidden=(4,))], "sum",
    ...                           [MLPDecoder(2, 3, hidden=(4,)), MLPDecoder(2, 2, hidden=(4,))])
    >>> rows = track(m, [torch.randn(8, 3), torch.randn(8, 2)], modality_names=["a", "b"])
    >>> sorted({r["submodule"] for r in rows})
    ['decoder:a', 'decoder:b', 'encoder:a', 'encoder:b', 'fusion', 'model']
    >>> all(lo["value"] <= up["value"] for lo in rows for up in rows
    ...     if lo["submodule"] == up["submodule"] and lo["kind"] == "lower" and up["kind"] == "certified-upper")
    True
    """
    import copy

    dev = next(model.parameters()).device
    cpu_m = copy.deepcopy(model).to(device="cpu", dtype=torch.float64).eval()
    m = cpu_m if dev.type == "cpu" else copy.deepcopy(model).to(device=dev, dtype=torch.float64).eval()
    xs = [x.detach().to(device=dev, dtype=torch.float64) for x in inputs]
    n_est = min(ESTIMATOR_SAMPLES, xs[0].shape[0])
    rows: list[dict] = []
    lat, z = _latents(m, xs)
    radius = float(max(float(t.norm(dim=-1).max()) for t in lat))
    fusion = m.fusion
    m_up = None
    try:  # one pass of the engine gives the encoders', decoders' and the composed bound
        if isinstance(fusion, AttentionFusion):
            b = autoencoder_bounds(cpu_m, method="spectral-product", latent_radius=radius * (1 + 1e-9))
            m_up = (b["composed"].value, "composed spectral-product + attention-bound",
                    {"domain": f"inputs whose latents have norm <= {radius * (1 + 1e-9):.6g}"})
        else:
            b = autoencoder_bounds(cpu_m, method="spectral-product")
            m_up = (b["composed"].value, "composed spectral-product", {})
        enc_up = [r.value for r in b["encoders"]]
        dec_up = [r.value for r in b["decoders"]]
    except LipboundError:
        enc_up = [spectral_product(e)[0] for e in cpu_m.encoders]
        dec_up = [spectral_product(d)[0] for d in cpu_m.decoders]
    for name, enc, x, up in zip(modality_names, m.encoders, xs, enc_up):
        rows += _rows(f"encoder:{name}", enc, x, (up, "spectral-product", {}), seed, n_est)
    for name, dec, up in zip(modality_names, m.decoders, dec_up):
        rows += _rows(f"decoder:{name}", dec, z, (up, "spectral-product", {}), seed, n_est)
    fmap = _FusionMap(fusion, m.latent_dims)
    stacked = torch.cat(lat, dim=-1)
    f_up = None
    if isinstance(fusion, SumFusion):
        f_up = (math.sqrt(len(lat)) * (1 + 1e-15), "exact: sqrt(M) for the sum of M latents", {})
    elif isinstance(fusion, ConcatFusion):
        f_up = (1.0, "exact: concatenation is an isometry", {})
    elif isinstance(fusion, AttentionFusion):
        try:
            r_up = radius * (1 + 1e-9)
            f_up = (attention_bound(cpu_m.fusion, r_up), "attention-bound",
                    {"domain": f"latents with ||z_i|| <= R = {r_up:.6g} (largest test latent norm)"})
        except LipboundError:
            f_up = None
    rows += _rows("fusion", fmap, stacked, f_up, seed, n_est)
    shapes = [tuple(x.shape[1:]) for x in xs]
    whole = _WholeMap(m, shapes)
    flat = torch.cat([x.flatten(start_dim=1) for x in xs], dim=-1)
    rows += _rows("model", whole, flat, m_up, seed, min(n_est, 8))
    return rows
