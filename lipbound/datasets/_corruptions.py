r"""Failure injection (Section 5.7): parameterised corruptions of images and time-series windows.

The paper injects failures "based on (altinses2023multimodal)" and shows image examples (Figure
17) without formulas; these are lipbound's own, exact definitions of the failure types the issue
names. Every corruption takes a severity :math:`s \in [0, 1]` (:math:`s = 0` returns an exact copy)
and a seed (the same seed gives the same result; the randomness is drawn per sample, on the CPU,
from ``torch.Generator().manual_seed(seed)``), and preserves shape, dtype and device.

Images ``(N, C, H, W)`` with values in [0, 1] (results are clipped to [0, 1]):

- ``gaussian_noise``: :math:`y = \mathrm{clip}(x + 0.3\,s\,\varepsilon)`,
  :math:`\varepsilon \sim N(0, 1)` per pixel.
- ``blur``: Gaussian blur of standard deviation :math:`\sigma = 2.5\,s\,\max(H, W)/32` pixels
  (separable, kernel radius :math:`\lceil 3\sigma \rceil`, reflect padding).
- ``occlusion``: a rectangle of side fractions :math:`\sqrt{0.4 s}` of :math:`H` and :math:`W`
  (area up to 40 %) around a random centre set to black; rectangles of growing :math:`s` are nested.
- ``dust``: dark specks, the first :math:`\mathrm{round}(s\,n_{\max})` of
  :math:`n_{\max} = \lceil 0.01 H W \rceil + 1` random discs (radius 0.5-2 px, scaled by
  :math:`\max(H, W)/32`), each multiplying the pixels it covers by 0.25 (specks of growing
  :math:`s` are nested).
- ``lens_flare``: :math:`y = \mathrm{clip}(x + s\,g)` with a warm glow
  :math:`g = 0.9\,e^{-r^2/(2w^2)}` around a random point (width :math:`w = 0.15\max(H, W)`) plus a
  fainter ghost (0.35 of the glow, half the width) mirrored through the image centre.

Series windows ``(N, T, C)``, scaled per sample and channel by
:math:`\sigma_{nc} = \sqrt{\mathrm{Var}_t\, x_{n,\cdot,c} + 10^{-4}}`:

- ``noise``: :math:`y = x + 0.5\,s\,\sigma_{nc}\,\varepsilon`.
- ``trend``: linear drift :math:`y_t = x_t + 2\,s\,\sigma_{nc}\,u_{nc}\,t/(T-1)`, :math:`u \sim U(-1, 1)`.
- ``cutout``: a segment of :math:`\mathrm{round}(s\,T/2)` steps around a random centre set to 0 in
  every channel (a sensor dropout); segments of growing :math:`s` are nested.
- ``time_warp``: :math:`y_t = x(w(t))` (linear interpolation) with the monotone warp
  :math:`w(t) = (T-1)\,\phi(t/(T-1))`, :math:`\phi(u) = u + s\,a\,\sin(\pi u)/\pi`,
  :math:`a \sim U(-0.9, 0.9)` per sample (:math:`\phi' > 0`, :math:`\phi(0)=0, \phi(1)=1`).
- ``channel_scaling``: :math:`y_{\cdot c} = (1 + s\,g_{nc})\,x_{\cdot c}`, :math:`g \sim U(-0.5, 0.5)`.

**Memory, devices and dtypes.** A batch is processed in chunks of samples whose working memory
stays within ``chunk_bytes`` (default :data:`CHUNK_BYTES`, 32 MiB; one sample per chunk when a
single sample costs more), beside the input, the output and the small per-sample parameters drawn
up front (a few numbers per sample; for ``dust`` 24 bytes per disc, about 1 % of a float32 image).
``dust`` never builds a per-disc image: it counts, per pixel, the discs that cover it and multiplies
by :math:`0.25^{\mathrm{count}}` (powers of 0.25 are exact, so this is the old product of
:math:`1 - 0.75\,[\text{covered}]` bit for bit). A disc covers pixels only in the
:math:`2R+1` rows around its centre (:math:`R = \lceil 2\max(H,W)/32\rceil + 1` exceeds every
radius), and in each row an interval of columns, whose ends are settled with the old coverage test
itself (the same float64 expression), so the counts are exactly the old ones. ``blur`` is a direct
separable convolution, a fixed-order weighted sum of shifted slices (no im2col).

The random numbers are drawn on the CPU in float64 exactly as before, in the same order (the small
per-sample draws up front, the per-element normals of ``gaussian_noise`` and ``noise`` streamed
chunk by chunk in pieces whose concatenation equals one ``torch.randn`` draw: see
:class:`_Normals`), then moved to the data's device. The quantities that decide *which* pixels or
steps change (disc coverage, rectangles, cutout segments, warp indices) are computed in float64 as
before, on the CPU or on CUDA (exact operations only), so they are the same for every dtype and
device. The per-element arithmetic runs on the data's device in the data's dtype (float32 or
float64; other floating dtypes in float32, the result cast back). Results for the same seed:

- float64 on the CPU: bitwise equal to the previous implementation (which computed everything in
  float64 on the CPU), except ``blur``, whose summation order changed (differences at float64
  rounding level, at most :math:`(4K+4)u` for :math:`K` taps, :math:`u = 2^{-53}`), and
  ``lens_flare``, whose ``exp`` runs on chunks of another layout: bitwise equal where torch's
  vectorised and scalar ``exp`` agree (so on the x86-64 machines measured), else within an ulp.
- float32: ``occlusion``, ``dust`` and ``cutout`` bitwise equal to before; the others equal to
  before up to float32 rounding (previously float64 arithmetic rounded once to float32).
- CUDA: the same random numbers and decisions; values up to the device's rounding.

>>> x = torch.full((2, 3, 8, 8), 0.5)
>>> torch.equal(corrupt("blur", x, severity=0.0), x), corrupt("lens_flare", x, seed=1).shape
(True, torch.Size([2, 3, 8, 8]))
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F

from ..errors import LipboundError

#: default working-memory budget of one chunk of samples, in bytes (``corrupt(..., chunk_bytes=)``);
#: 32 MiB chunks stay near the CPU's caches: on 560 x 3 x 256 x 256 images they ran 1.3-2.8x faster
#: than 256 MiB chunks (blur 10 s vs 28 s on one thread), and smaller ones gained nothing more
CHUNK_BYTES = 32 * 2**20

_F64 = torch.float64


class CorruptionError(LipboundError, ValueError):
    """A bad corruption request: unknown name, wrong tensor shape or dtype, severity outside [0, 1]."""


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def _rand(g: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.rand(*shape, generator=g, dtype=_F64)


class _Normals:
    """``total`` standard normal float64 draws from ``g``, handed out in consecutive pieces whose
    concatenation equals one ``torch.randn(total, generator=g, dtype=torch.float64)``.

    torch's CPU normal sampler fills a tensor of at least 16 elements with uniforms, transforms
    them 16 at a time (Box-Muller) and, when the size is not a multiple of 16, redraws the last 16
    from fresh uniforms. Drawing every piece but the last as a multiple of 16 and the last as all
    that remains (at least 16, or everything when ``total < 16``) therefore consumes and transforms
    the same uniforms in the same groups as one draw; ``tests/test_corruptions_scale.py`` checks
    this against one draw for many totals and piece patterns. A remainder of fewer than 16 drawn
    values is kept for the next request.
    """

    def __init__(self, g: torch.Generator, total: int):
        self.g, self.left, self.buf = g, int(total), torch.empty(0, dtype=_F64)

    def take(self, m: int) -> torch.Tensor:
        need = m - self.buf.numel()
        if need > 0:
            piece = -(-need // 16) * 16
            if self.left - piece < 16:  # the last piece: everything that remains
                piece = self.left
            if piece < need:
                raise RuntimeError(f"_Normals: {m} draws requested, {self.left + self.buf.numel()} left")
            new = torch.randn(piece, generator=self.g, dtype=_F64)
            self.left -= piece
            self.buf = torch.cat([self.buf, new]) if self.buf.numel() else new
        out, self.buf = self.buf[:m], self.buf[m:].clone()  # the clone frees the piece with `out`
        return out


def _exact_device(dev: torch.device) -> torch.device:
    """Where float64 decisions are computed: CUDA does float64 (+, -, *, <= exactly as the CPU);
    other accelerators may not have float64, so the CPU."""
    return dev if dev.type == "cuda" else torch.device("cpu")


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    return dtype if dtype in (torch.float32, torch.float64) else torch.float32


class _Corruption(NamedTuple):
    #: ``(n, sample_shape, s, g) -> params``: every draw of the batch but the streamed normals,
    #: in the order of the original implementation (CPU float64)
    prepare: Callable[[int, tuple, float, torch.Generator], dict]
    #: ``(x_chunk, params, lo, hi, s) -> y_chunk`` for samples ``lo:hi`` (compute dtype, device)
    apply: Callable[[torch.Tensor, dict, int, int, float], torch.Tensor]
    #: ``(sample_shape, itemsize, params) -> bytes``: an upper bound on the working memory per sample
    cost: Callable[[tuple, int, dict], int]


def _numel(shape: tuple) -> int:
    return math.prod(shape)


# ------------------------------------------------------------------------------------------ images
def _noise_prepare(n: int, shape: tuple, s: float, g: torch.Generator) -> dict:
    return {"eps": _Normals(g, n * _numel(shape))}


def _gaussian_noise_apply(x: torch.Tensor, p: dict, lo: int, hi: int, s: float) -> torch.Tensor:
    eps = p["eps"].take(x.numel()).view(x.shape).to(x.device, x.dtype)
    return (x + 0.3 * s * eps).clamp_(0.0, 1.0)


def _noise_cost(shape: tuple, b: int, p: dict) -> int:
    # float64 draws (+ the copy when a remainder is joined), their cast, x, the result, its cast
    return _numel(shape) * (16 + 4 * b)


def _blur_prepare(n: int, shape: tuple, s: float, g: torch.Generator) -> dict:
    _, h, w = shape
    sigma = 2.5 * s * max(h, w) / 32.0
    radius = min(int(math.ceil(3 * sigma)), h - 1, w - 1)
    if sigma <= 0 or radius < 1:
        return {"radius": 0}
    k = torch.exp(-torch.arange(-radius, radius + 1, dtype=_F64) ** 2 / (2 * sigma * sigma))
    return {"radius": radius, "kernel": k / k.sum()}


def _blur_apply(x: torch.Tensor, p: dict, lo: int, hi: int, s: float) -> torch.Tensor:
    r = p["radius"]
    if r == 0:
        return x.clone()
    n, c, h, w = x.shape
    taps = p["kernel"].to(x.dtype).tolist()  # python floats, exact in the compute dtype

    def sweep(padded: torch.Tensor, size: int, dim: int) -> torch.Tensor:
        # sum_j taps[j] padded[j : j + size] along dim, the kernel being symmetric bit for bit:
        # taps[r] x_0 + sum_{j=1..r} taps[r+j] (x_{-j} + x_{+j}), in this fixed order with one
        # rounding per operation (no fused multiply-add), so chunking and device never change a value
        acc = padded.narrow(dim, r, size) * taps[r]
        tmp = torch.empty_like(acc)
        for j in range(1, r + 1):
            torch.add(padded.narrow(dim, r - j, size), padded.narrow(dim, r + j, size), out=tmp)
            acc.add_(tmp.mul_(taps[r + j]))
        return acc

    y = sweep(F.pad(x.reshape(n * c, 1, h, w), (r, r, 0, 0), mode="reflect"), w, 3)
    y = sweep(F.pad(y, (0, 0, r, r), mode="reflect"), h, 2)
    return y.reshape(n, c, h, w).clamp_(0.0, 1.0)


def _blur_cost(shape: tuple, b: int, p: dict) -> int:
    c, h, w = shape
    r = p["radius"]
    return b * c * (h * (w + 2 * r) + (h + 2 * r) * w + 5 * h * w)


def _occlusion_prepare(n: int, shape: tuple, s: float, g: torch.Generator) -> dict:
    return {"centre": _rand(g, n, 2), "side": math.sqrt(0.4 * s)}


def _occlusion_apply(x: torch.Tensor, p: dict, lo: int, hi: int, s: float) -> torch.Tensor:
    n, _, h, w = x.shape
    centre, side = p["centre"][lo:hi], p["side"]
    rows = torch.arange(h, dtype=_F64).view(1, h) + 0.5
    cols = torch.arange(w, dtype=_F64).view(1, w) + 0.5
    in_rows = ((rows - centre[:, 0].view(n, 1) * h).abs() < side * h / 2).to(x.device)
    in_cols = ((cols - centre[:, 1].view(n, 1) * w).abs() < side * w / 2).to(x.device)
    inside = in_rows[:, :, None] & in_cols[:, None, :]
    return torch.where(inside[:, None], torch.zeros((), dtype=x.dtype, device=x.device), x)


def _occlusion_cost(shape: tuple, b: int, p: dict) -> int:
    c, h, w = shape
    return h * w + 3 * b * c * h * w


def _dust_prepare(n: int, shape: tuple, s: float, g: torch.Generator) -> dict:
    _, h, w = shape
    n_max = int(math.ceil(0.01 * h * w)) + 1
    scale = max(h, w) / 32.0
    pos = _rand(g, n, n_max, 2) * torch.tensor([h, w], dtype=_F64)
    rad = (0.5 + 1.5 * _rand(g, n, n_max)) * scale
    k = int(round(s * n_max))
    # every radius is < 2 scale, so a covered pixel's row (column) is within 2 scale + 1/2 of
    # floor(centre): a window of R = ceil(2 scale) + 1 each side holds every covered pixel
    radius = int(math.ceil(2 * scale)) + 1
    # 0.25 ** count by repeated exact multiplication (the old product of 0.25s, underflow included)
    table = torch.cat([torch.ones(1, dtype=_F64), torch.full((k,), 0.25, dtype=_F64).cumprod(0)])
    return {"k": k, "pos": pos[:, :k].contiguous(), "rad2": rad[:, :k] ** 2, "R": radius, "table": table}


def _dust_apply(x: torch.Tensor, p: dict, lo: int, hi: int, s: float) -> torch.Tensor:
    n, _, h, w = x.shape
    k, big_r = p["k"], p["R"]
    if k == 0:
        return x.clone()
    dev = _exact_device(x.device)
    pos = p["pos"][lo:hi].to(dev)  # (n, k, 2)
    rad2 = p["rad2"][lo:hi].to(dev)[..., None]  # (n, k, 1)
    py, px = pos[..., 0:1], pos[..., 1:2]
    ri = py.floor().long() + torch.arange(-big_r, big_r + 1, device=dev)  # (n, k, 2R+1) window rows
    dr = (ri.to(_F64) + 0.5 - py) ** 2  # the old (rows - py)^2, rows = i + 0.5

    def covers(j: torch.Tensor) -> torch.Tensor:  # the old test d2 <= rad^2 at (row ri, column j)
        return dr + (j.to(_F64) + 0.5 - px) ** 2 <= rad2

    # fl(dr + fl(fl(j + 0.5 - px)^2)) is monotone in |j + 0.5 - px| (every rounding is monotone), so
    # a row's covered columns are an interval: its ends from the real solution, settled by the test
    # itself (the real ends are off by far less than a pixel: at most one step each)
    half = torch.sqrt((rad2 - dr).clamp_min(0.0))
    j_lo, j_hi = torch.ceil(px - half - 0.5).long(), torch.floor(px + half - 0.5).long()
    del half
    j_lo = torch.where(covers(j_lo - 1), j_lo - 1, j_lo)
    j_lo = torch.where(covers(j_lo), j_lo, j_lo + 1)
    j_hi = torch.where(covers(j_hi + 1), j_hi + 1, j_hi)
    j_hi = torch.where(covers(j_hi), j_hi, j_hi - 1)
    empty = j_lo > j_hi
    centre = torch.floor(px - 0.5).long().expand_as(j_lo)  # the column nearest px is this or the next
    ok = torch.where(empty, ~covers(centre) & ~covers(centre + 1),
                     covers(j_lo) & covers(j_hi) & ~covers(j_lo - 1) & ~covers(j_hi + 1))
    if not bool(ok.all()):  # cannot happen (see above); never return a wrong count silently
        raise RuntimeError("dust: a covered interval could not be settled exactly")
    # count the covering discs per pixel: +1 at an interval's first column, -1 after its last, a
    # cumulative sum along each row (rows and columns outside the image dropped)
    a, b = j_lo.clamp(min=0), j_hi.clamp(max=w - 1)
    keep = (ri >= 0) & (ri < h) & (a <= b)
    row0 = torch.arange(n, device=dev).view(n, 1, 1) * (h * (w + 1)) + ri * (w + 1)
    size = n * h * (w + 1)
    diff = torch.bincount((row0 + a)[keep], minlength=size) - torch.bincount((row0 + b + 1)[keep], minlength=size)
    count = diff.view(n, h, w + 1).cumsum(2)[..., :w]
    factor = p["table"].to(dev)[count].to(x.device, x.dtype)
    return x * factor[:, None]


def _dust_cost(shape: tuple, b: int, p: dict) -> int:
    c, h, w = shape
    # per disc and window row: rows, distances, ends, tests, indices (< 20 tensors of 8 B); per
    # pixel: two counts, their difference and sum, the count, the factor (<= 6 x 8 B); x, the
    # result, its cast
    return 160 * p["k"] * (2 * p["R"] + 1) + 48 * h * (w + 1) + 3 * b * c * h * w


def _flare_prepare(n: int, shape: tuple, s: float, g: torch.Generator) -> dict:
    _, h, w = shape
    p = _rand(g, n, 2) * torch.tensor([h, w], dtype=_F64)
    return {"p": p, "ghost": torch.tensor([h, w], dtype=_F64) - p}


def _lens_flare_apply(x: torch.Tensor, prm: dict, lo: int, hi: int, s: float) -> torch.Tensor:
    n, c, h, w = x.shape
    dt, dev = x.dtype, x.device
    p = prm["p"][lo:hi].to(dev, dt)
    ghost = prm["ghost"][lo:hi].to(dev, dt)
    width = 0.15 * max(h, w)
    rows = torch.arange(h, dtype=dt, device=dev).view(1, h, 1) + 0.5
    cols = torch.arange(w, dtype=dt, device=dev).view(1, 1, w) + 0.5

    def glow(q, wd):
        return torch.exp(-((rows - q[:, 0, None, None]) ** 2 + (cols - q[:, 1, None, None]) ** 2) / (2 * wd * wd))

    gl = 0.9 * glow(p, width) + 0.35 * 0.9 * glow(ghost, width / 2)  # (n, h, w)
    tint = torch.tensor([1.0, 0.85, 0.6], dtype=_F64)
    tint = (tint[:c] if c <= 3 else torch.ones(c, dtype=_F64)).to(dev, dt)
    return (x + s * gl[:, None] * tint.view(1, c, 1, 1)).clamp_(0.0, 1.0)


def _flare_cost(shape: tuple, b: int, p: dict) -> int:
    c, h, w = shape
    return 8 * b * h * w + 4 * b * c * h * w


# ------------------------------------------------------------------------------------------ series
def _scale(x: torch.Tensor) -> torch.Tensor:
    """The per-sample, per-channel scale in float64 (as before, also for float32 data), (n, 1, C),
    on the CPU or CUDA."""
    xd = x.to(_exact_device(x.device), _F64)
    return torch.sqrt(xd.var(dim=1, unbiased=False, keepdim=True) + 1e-4)


def _noise_apply(x: torch.Tensor, p: dict, lo: int, hi: int, s: float) -> torch.Tensor:
    a = (0.5 * s * _scale(x)).to(x.device, x.dtype)
    eps = p["eps"].take(x.numel()).view(x.shape).to(x.device, x.dtype)
    return x + a * eps


def _series_cost(shape: tuple, b: int, p: dict) -> int:
    t, c = shape
    return t * c * (24 + 6 * b) + 64 * (t + c)


def _trend_prepare(n: int, shape: tuple, s: float, g: torch.Generator) -> dict:
    t, c = shape
    ramp = torch.linspace(0.0, 1.0, t, dtype=_F64).view(1, t, 1) if t > 1 else torch.zeros(1, 1, 1, dtype=_F64)
    return {"u": 2.0 * _rand(g, n, 1, c) - 1.0, "ramp": ramp}


def _trend_apply(x: torch.Tensor, p: dict, lo: int, hi: int, s: float) -> torch.Tensor:
    scale = _scale(x)
    coef = (2.0 * s * scale * p["u"][lo:hi].to(scale.device)).to(x.device, x.dtype)  # (n, 1, C)
    return x + coef * p["ramp"].to(x.device, x.dtype)


def _cutout_prepare(n: int, shape: tuple, s: float, g: torch.Generator) -> dict:
    t, _ = shape
    length = int(round(s * t / 2))
    centre = _rand(g, n) * t
    lo = torch.clamp(torch.round(centre - length / 2), 0, max(t - length, 0)).long()
    return {"lo": lo, "length": length}


def _cutout_apply(x: torch.Tensor, p: dict, lo: int, hi: int, s: float) -> torch.Tensor:
    n, t, _ = x.shape
    start, length = p["lo"][lo:hi], p["length"]
    steps = torch.arange(t).view(1, t)
    mask = ((steps >= start.view(n, 1)) & (steps < start.view(n, 1) + length)).to(x.device)
    return torch.where(mask[:, :, None], torch.zeros((), dtype=x.dtype, device=x.device), x)


def _warp_prepare(n: int, shape: tuple, s: float, g: torch.Generator) -> dict:
    return {"a": 1.8 * _rand(g, n, 1) - 0.9}


def _time_warp_apply(x: torch.Tensor, p: dict, lo: int, hi: int, s: float) -> torch.Tensor:
    n, t, c = x.shape
    if t < 2:
        return x.clone()
    a = p["a"][lo:hi]
    u = torch.linspace(0.0, 1.0, t, dtype=_F64).view(1, t)
    pos = (u + s * a * torch.sin(math.pi * u) / math.pi).clamp(0.0, 1.0) * (t - 1)  # on the CPU, float64
    i0 = pos.floor().long().clamp(0, t - 1)
    i1 = (i0 + 1).clamp(max=t - 1)
    frac = (pos - i0).unsqueeze(-1).to(x.device, x.dtype)
    x0 = torch.gather(x, 1, i0.to(x.device).unsqueeze(-1).expand(n, t, c))
    x1 = torch.gather(x, 1, i1.to(x.device).unsqueeze(-1).expand(n, t, c))
    return x0 + frac * (x1 - x0)


def _scaling_prepare(n: int, shape: tuple, s: float, g: torch.Generator) -> dict:
    _, c = shape
    return {"f": 1.0 + s * (_rand(g, n, 1, c) - 0.5)}


def _channel_scaling_apply(x: torch.Tensor, p: dict, lo: int, hi: int, s: float) -> torch.Tensor:
    return x * p["f"][lo:hi].to(x.device, x.dtype)


_IMPLS: dict[str, _Corruption] = {
    "gaussian_noise": _Corruption(_noise_prepare, _gaussian_noise_apply, _noise_cost),
    "blur": _Corruption(_blur_prepare, _blur_apply, _blur_cost),
    "occlusion": _Corruption(_occlusion_prepare, _occlusion_apply, _occlusion_cost),
    "dust": _Corruption(_dust_prepare, _dust_apply, _dust_cost),
    "lens_flare": _Corruption(_flare_prepare, _lens_flare_apply, _flare_cost),
    "noise": _Corruption(_noise_prepare, _noise_apply, _series_cost),
    "trend": _Corruption(_trend_prepare, _trend_apply, _series_cost),
    "cutout": _Corruption(_cutout_prepare, _cutout_apply, _series_cost),
    "time_warp": _Corruption(_warp_prepare, _time_warp_apply, _series_cost),
    "channel_scaling": _Corruption(_scaling_prepare, _channel_scaling_apply, _series_cost),
}


def chunk_plan(name: str, shape: tuple, dtype: torch.dtype, severity: float,
               chunk_bytes: int = CHUNK_BYTES) -> tuple[int, int]:
    """``(samples per chunk, working bytes per sample)`` for corrupting a batch of ``shape``.

    The chunk holds ``max(1, chunk_bytes // per_sample)`` samples, so its working memory is at
    most ``chunk_bytes`` unless one sample alone costs more. The per-sample cost is an upper bound
    on the temporaries of the corruption's arithmetic in the compute dtype (see the module
    docstring); the random parameters drawn up front are not part of it.

    >>> chunk_plan("gaussian_noise", (560, 3, 256, 256), torch.float32, 1.0)
    (5, 6291456)
    """
    impl = _IMPLS[name]
    params = impl.prepare(0, tuple(shape[1:]), float(severity), _gen(0))
    b = torch.empty((), dtype=_compute_dtype(dtype)).element_size()
    per = max(1, int(impl.cost(tuple(shape[1:]), b, params)))
    return max(1, int(chunk_bytes) // per), per


def _run(name: str, x: torch.Tensor, s: float, g: torch.Generator, out: torch.Tensor,
         idx: torch.Tensor | None = None, chunk_bytes: int = CHUNK_BYTES) -> None:
    """Write corruption ``name`` of ``x`` (or of its samples ``idx``) into ``out`` chunk by chunk."""
    impl = _IMPLS[name]
    n = x.shape[0] if idx is None else int(idx.numel())
    sample = tuple(x.shape[1:])
    cd = _compute_dtype(x.dtype)
    params = impl.prepare(n, sample, s, g)
    per = max(1, int(impl.cost(sample, torch.empty((), dtype=cd).element_size(), params)))
    step = max(1, int(chunk_bytes) // per)
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        if idx is None:
            out[lo:hi] = impl.apply(x[lo:hi].to(cd), params, lo, hi, s).to(x.dtype)
        else:
            rows = idx[lo:hi]
            out[rows] = impl.apply(x[rows].to(cd), params, lo, hi, s).to(x.dtype)


def _public(name: str, doc: str) -> Callable[[torch.Tensor, float, torch.Generator], torch.Tensor]:
    def fn(x: torch.Tensor, s: float, g: torch.Generator) -> torch.Tensor:
        out = torch.empty_like(x)
        _run(name, x.detach(), float(s), g, out)
        return out

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc + "\n\n(Chunks within :data:`CHUNK_BYTES`; no input checks: use :func:`corrupt`.)"
    return fn


gaussian_noise = _public("gaussian_noise",
                         "Additive Gaussian noise of standard deviation ``0.3 s``, clipped to [0, 1].")
blur = _public("blur", "Gaussian blur, :math:`\\sigma = 2.5 s \\max(H, W)/32` pixels (reflect padding).")
occlusion = _public("occlusion", "A black rectangle of area fraction up to ``0.4 s`` around a random centre.")
dust = _public("dust", "Dark specks: the first ``round(s n_max)`` of ``n_max`` random discs darken to 25 %.")
lens_flare = _public("lens_flare", "A warm additive glow and a mirrored ghost of strength ``s``, clipped to [0, 1].")
noise = _public("noise", "Additive Gaussian noise of ``0.5 s`` channel standard deviations.")
trend = _public("trend", "A linear drift reaching ``2 s u`` channel standard deviations at the window's end.")
cutout = _public("cutout", "All channels set to 0 on ``round(s T / 2)`` steps around a random centre.")
time_warp = _public("time_warp", r"Resample along a smooth monotone warp :math:`\phi(u) = u + s a \sin(\pi u)/\pi`.")
channel_scaling = _public("channel_scaling",
                          "Each channel multiplied by ``1 + s g``, ``g ~ U(-0.5, 0.5)`` per sample and channel.")

#: image corruptions, name -> function ``(x, severity, generator)`` (any device and floating dtype)
IMAGE_CORRUPTIONS: dict[str, Callable[[torch.Tensor, float, torch.Generator], torch.Tensor]] = {
    "gaussian_noise": gaussian_noise, "blur": blur, "occlusion": occlusion, "dust": dust, "lens_flare": lens_flare,
}
#: time-series corruptions, name -> function ``(x, severity, generator)`` (any device and floating dtype)
SERIES_CORRUPTIONS: dict[str, Callable[[torch.Tensor, float, torch.Generator], torch.Tensor]] = {
    "noise": noise, "trend": trend, "cutout": cutout, "time_warp": time_warp, "channel_scaling": channel_scaling,
}


def _check(name: str, x: torch.Tensor, severity: float, image: bool, chunk_bytes: Any) -> int:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise CorruptionError(f"corrupt({name!r}) needs a floating-point torch.Tensor, got "
                              f"{getattr(x, 'dtype', type(x).__name__)}")
    x = x.detach()
    want = 4 if image else 3
    if x.dim() != want:
        raise CorruptionError(f"corrupt({name!r}) needs {'images (N, C, H, W)' if image else 'series (N, T, C)'}, "
                              f"got shape {tuple(x.shape)}")
    if isinstance(severity, bool) or not (isinstance(severity, (int, float)) and 0.0 <= float(severity) <= 1.0):
        raise CorruptionError(f"severity must be a number in [0, 1], got {severity!r}")
    if chunk_bytes is None:
        chunk_bytes = CHUNK_BYTES
    if isinstance(chunk_bytes, bool) or not isinstance(chunk_bytes, int) or chunk_bytes < 1:
        raise CorruptionError(f"chunk_bytes must be a positive int (bytes of working memory per chunk), "
                              f"got {chunk_bytes!r}")
    # checked in chunks too: isfinite of the whole batch would be a tensor of one byte per element
    step = max(1, chunk_bytes // max(1, x[:1].numel()))
    for lo in range(0, x.shape[0], step):
        if not bool(torch.isfinite(x[lo:lo + step]).all()):
            raise CorruptionError(f"corrupt({name!r}): the input holds NaN or Inf values")
    if image and x.numel() and (float(x.min()) < 0.0 or float(x.max()) > 1.0):
        raise CorruptionError(f"corrupt({name!r}): images must have values in [0, 1], got "
                              f"[{float(x.min()):.3g}, {float(x.max()):.3g}]")
    return chunk_bytes


def corrupt(kind_or_name: str, x: torch.Tensor, *, severity: float = 1.0, seed: int = 0,
            chunk_bytes: int | None = None) -> torch.Tensor:
    """Apply a corruption to a batch (module docstring for the formulas).

    Args:
        kind_or_name: a name from :data:`IMAGE_CORRUPTIONS` or :data:`SERIES_CORRUPTIONS`, or a
            kind, ``"image"`` or ``"series"``: then every sample gets one corruption of that kind,
            drawn uniformly (seeded) per sample (a mixed failure set).
        x: images ``(N, C, H, W)`` in [0, 1] or series ``(N, T, C)``, floating point, on any device.
        severity: in [0, 1]; 0 returns an exact copy.
        seed: the same seed gives the same output (the same random numbers on every device).
        chunk_bytes: working-memory budget of one chunk of samples (default :data:`CHUNK_BYTES`);
            the result does not depend on it.

    Returns:
        The corrupted batch, same shape, dtype and device as ``x``, computed on that device.

    Raises:
        CorruptionError: unknown name, wrong shape or dtype, non-finite input, image values
            outside [0, 1], severity outside [0, 1], chunk_bytes not a positive int.
    """
    if kind_or_name in ("image", "series"):
        names = sorted(IMAGE_CORRUPTIONS if kind_or_name == "image" else SERIES_CORRUPTIONS)
        budget = _check(kind_or_name, x, severity, kind_or_name == "image", chunk_bytes)
        pick = torch.randint(len(names), (x.shape[0],), generator=_gen(seed))
        if float(severity) == 0.0 or x.numel() == 0:
            return x.clone()
        out = torch.empty_like(x)
        xd = x.detach()
        for j, name in enumerate(names):
            idx = torch.nonzero(pick == j).flatten()
            if len(idx):
                _run(name, xd, float(severity), _gen(seed + 1 + j), out, idx.to(x.device), budget)
        return out
    if kind_or_name in IMAGE_CORRUPTIONS:
        image = True
    elif kind_or_name in SERIES_CORRUPTIONS:
        image = False
    else:
        raise CorruptionError(f"unknown corruption {kind_or_name!r}; image: {', '.join(IMAGE_CORRUPTIONS)}; "
                              f"series: {', '.join(SERIES_CORRUPTIONS)}; or a kind, 'image' or 'series'")
    budget = _check(kind_or_name, x, severity, image, chunk_bytes)
    if float(severity) == 0.0 or x.numel() == 0:
        return x.clone()
    out = torch.empty_like(x)
    _run(kind_or_name, x.detach(), float(severity), _gen(seed), out, None, budget)
    return out
