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

>>> x = torch.full((2, 3, 8, 8), 0.5)
>>> torch.equal(corrupt("blur", x, severity=0.0), x), corrupt("lens_flare", x, seed=1).shape
(True, torch.Size([2, 3, 8, 8]))
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..errors import LipboundError


class CorruptionError(LipboundError, ValueError):
    """A bad corruption request: unknown name, wrong tensor shape or dtype, severity outside [0, 1]."""


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def _rand(g: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.rand(*shape, generator=g, dtype=torch.float64)


def _randn(g: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=g, dtype=torch.float64)


# ------------------------------------------------------------------------------------------ images
def gaussian_noise(x: torch.Tensor, s: float, g: torch.Generator) -> torch.Tensor:
    """Additive Gaussian noise of standard deviation ``0.3 s``, clipped to [0, 1]."""
    return (x + 0.3 * s * _randn(g, *x.shape)).clamp(0.0, 1.0)


def blur(x: torch.Tensor, s: float, g: torch.Generator) -> torch.Tensor:
    """Gaussian blur, :math:`\\sigma = 2.5 s \\max(H, W)/32` pixels (reflect padding)."""
    n, c, h, w = x.shape
    sigma = 2.5 * s * max(h, w) / 32.0
    radius = min(int(math.ceil(3 * sigma)), h - 1, w - 1)
    if sigma <= 0 or radius < 1:
        return x.clone()
    k = torch.exp(-torch.arange(-radius, radius + 1, dtype=torch.float64) ** 2 / (2 * sigma * sigma))
    k = k / k.sum()
    y = x.reshape(n * c, 1, h, w)
    y = F.conv2d(F.pad(y, (radius, radius, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))
    y = F.conv2d(F.pad(y, (0, 0, radius, radius), mode="reflect"), k.view(1, 1, -1, 1))
    return y.reshape(n, c, h, w).clamp(0.0, 1.0)


def occlusion(x: torch.Tensor, s: float, g: torch.Generator) -> torch.Tensor:
    """A black rectangle of area fraction up to ``0.4 s`` around a random centre."""
    n, _, h, w = x.shape
    centre = _rand(g, n, 2)
    side = math.sqrt(0.4 * s)
    rows = torch.arange(h, dtype=torch.float64).view(1, h, 1) + 0.5
    cols = torch.arange(w, dtype=torch.float64).view(1, 1, w) + 0.5
    inside = ((rows - centre[:, 0].view(n, 1, 1) * h).abs() < side * h / 2) & \
             ((cols - centre[:, 1].view(n, 1, 1) * w).abs() < side * w / 2)
    return torch.where(inside[:, None], torch.zeros((), dtype=x.dtype), x)


def dust(x: torch.Tensor, s: float, g: torch.Generator) -> torch.Tensor:
    """Dark specks: the first ``round(s n_max)`` of ``n_max`` random discs darken to 25 %."""
    n, _, h, w = x.shape
    n_max = int(math.ceil(0.01 * h * w)) + 1
    scale = max(h, w) / 32.0
    pos = _rand(g, n, n_max, 2) * torch.tensor([h, w], dtype=torch.float64)
    rad = (0.5 + 1.5 * _rand(g, n, n_max)) * scale
    k = int(round(s * n_max))
    rows = torch.arange(h, dtype=torch.float64).view(1, 1, h, 1) + 0.5
    cols = torch.arange(w, dtype=torch.float64).view(1, 1, 1, w) + 0.5
    d2 = (rows - pos[:, :k, 0, None, None]) ** 2 + (cols - pos[:, :k, 1, None, None]) ** 2
    covered = (d2 <= rad[:, :k, None, None] ** 2).to(torch.float64)  # (n, k, h, w)
    factor = torch.prod(1.0 - 0.75 * covered, dim=1) if k else torch.ones(n, h, w, dtype=torch.float64)
    return x * factor[:, None]


def lens_flare(x: torch.Tensor, s: float, g: torch.Generator) -> torch.Tensor:
    """A warm additive glow and a mirrored ghost of strength ``s``, clipped to [0, 1]."""
    n, c, h, w = x.shape
    p = _rand(g, n, 2) * torch.tensor([h, w], dtype=torch.float64)
    ghost = torch.tensor([h, w], dtype=torch.float64) - p
    width = 0.15 * max(h, w)
    rows = torch.arange(h, dtype=torch.float64).view(1, h, 1) + 0.5
    cols = torch.arange(w, dtype=torch.float64).view(1, 1, w) + 0.5

    def glow(q, wd):
        return torch.exp(-((rows - q[:, 0, None, None]) ** 2 + (cols - q[:, 1, None, None]) ** 2) / (2 * wd * wd))

    gl = 0.9 * glow(p, width) + 0.35 * 0.9 * glow(ghost, width / 2)  # (n, h, w)
    tint = torch.tensor([1.0, 0.85, 0.6], dtype=torch.float64)
    tint = tint[:c] if c <= 3 else torch.ones(c, dtype=torch.float64)
    return (x + s * gl[:, None] * tint.view(1, c, 1, 1)).clamp(0.0, 1.0)


# ------------------------------------------------------------------------------------------ series
def _scale(x: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(x.var(dim=1, unbiased=False, keepdim=True) + 1e-4)  # (N, 1, C)


def noise(x: torch.Tensor, s: float, g: torch.Generator) -> torch.Tensor:
    """Additive Gaussian noise of ``0.5 s`` channel standard deviations."""
    return x + 0.5 * s * _scale(x) * _randn(g, *x.shape)


def trend(x: torch.Tensor, s: float, g: torch.Generator) -> torch.Tensor:
    """A linear drift reaching ``2 s u`` channel standard deviations at the window's end."""
    n, t, c = x.shape
    ramp = torch.linspace(0.0, 1.0, t, dtype=torch.float64).view(1, t, 1) if t > 1 else torch.zeros(1, 1, 1,
                                                                                                   dtype=torch.float64)
    u = 2.0 * _rand(g, n, 1, c) - 1.0
    return x + 2.0 * s * _scale(x) * u * ramp


def cutout(x: torch.Tensor, s: float, g: torch.Generator) -> torch.Tensor:
    """All channels set to 0 on ``round(s T / 2)`` steps around a random centre."""
    n, t, _ = x.shape
    length = int(round(s * t / 2))
    centre = _rand(g, n) * t
    lo = torch.clamp(torch.round(centre - length / 2), 0, max(t - length, 0)).long()
    steps = torch.arange(t).view(1, t)
    mask = (steps >= lo.view(n, 1)) & (steps < lo.view(n, 1) + length)
    return torch.where(mask[:, :, None], torch.zeros((), dtype=x.dtype), x)


def time_warp(x: torch.Tensor, s: float, g: torch.Generator) -> torch.Tensor:
    r"""Resample along a smooth monotone warp :math:`\phi(u) = u + s a \sin(\pi u)/\pi`."""
    n, t, c = x.shape
    a = 1.8 * _rand(g, n, 1) - 0.9
    if t < 2:
        return x.clone()
    u = torch.linspace(0.0, 1.0, t, dtype=torch.float64).view(1, t)
    pos = (u + s * a * torch.sin(math.pi * u) / math.pi).clamp(0.0, 1.0) * (t - 1)
    i0 = pos.floor().long().clamp(0, t - 1)
    i1 = (i0 + 1).clamp(max=t - 1)
    frac = (pos - i0).unsqueeze(-1)
    xd = x.to(torch.float64)
    x0 = torch.gather(xd, 1, i0.unsqueeze(-1).expand(n, t, c))
    x1 = torch.gather(xd, 1, i1.unsqueeze(-1).expand(n, t, c))
    return x0 + frac * (x1 - x0)


def channel_scaling(x: torch.Tensor, s: float, g: torch.Generator) -> torch.Tensor:
    """Each channel multiplied by ``1 + s g``, ``g ~ U(-0.5, 0.5)`` per sample and channel."""
    n, _, c = x.shape
    return x * (1.0 + s * (_rand(g, n, 1, c) - 0.5))


#: image corruptions, name -> function ``(x, severity, generator)`` on float64 CPU tensors
IMAGE_CORRUPTIONS: dict[str, Callable[[torch.Tensor, float, torch.Generator], torch.Tensor]] = {
    "gaussian_noise": gaussian_noise, "blur": blur, "occlusion": occlusion, "dust": dust, "lens_flare": lens_flare,
}
#: time-series corruptions, name -> function ``(x, severity, generator)`` on float64 CPU tensors
SERIES_CORRUPTIONS: dict[str, Callable[[torch.Tensor, float, torch.Generator], torch.Tensor]] = {
    "noise": noise, "trend": trend, "cutout": cutout, "time_warp": time_warp, "channel_scaling": channel_scaling,
}


def _check(name: str, x: torch.Tensor, severity: float, image: bool) -> None:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise CorruptionError(f"corrupt({name!r}) needs a floating-point torch.Tensor, got "
                              f"{getattr(x, 'dtype', type(x).__name__)}")
    want = 4 if image else 3
    if x.dim() != want:
        raise CorruptionError(f"corrupt({name!r}) needs {'images (N, C, H, W)' if image else 'series (N, T, C)'}, "
                              f"got shape {tuple(x.shape)}")
    if not (isinstance(severity, (int, float)) and 0.0 <= float(severity) <= 1.0):
        raise CorruptionError(f"severity must be a number in [0, 1], got {severity!r}")
    if not bool(torch.isfinite(x).all()):
        raise CorruptionError(f"corrupt({name!r}): the input holds NaN or Inf values")
    if image and x.numel() and (float(x.min()) < 0.0 or float(x.max()) > 1.0):
        raise CorruptionError(f"corrupt({name!r}): images must have values in [0, 1], got "
                              f"[{float(x.min()):.3g}, {float(x.max()):.3g}]")


def corrupt(kind_or_name: str, x: torch.Tensor, *, severity: float = 1.0, seed: int = 0) -> torch.Tensor:
    """Apply a corruption to a batch (module docstring for the formulas).

    Args:
        kind_or_name: a name from :data:`IMAGE_CORRUPTIONS` or :data:`SERIES_CORRUPTIONS`, or a
            kind, ``"image"`` or ``"series"``: then every sample gets one corruption of that kind,
            drawn uniformly (seeded) per sample (a mixed failure set).
        x: images ``(N, C, H, W)`` in [0, 1] or series ``(N, T, C)``, floating point.
        severity: in [0, 1]; 0 returns an exact copy.
        seed: the same seed gives the same output.

    Returns:
        The corrupted batch, same shape, dtype and device as ``x``.

    Raises:
        CorruptionError: unknown name, wrong shape or dtype, non-finite input, image values
            outside [0, 1], severity outside [0, 1].
    """
    if kind_or_name in ("image", "series"):
        table = IMAGE_CORRUPTIONS if kind_or_name == "image" else SERIES_CORRUPTIONS
        _check(kind_or_name, x, severity, kind_or_name == "image")
        names = sorted(table)
        pick = torch.randint(len(names), (x.shape[0],), generator=_gen(seed))
        out = x.clone()
        for j, name in enumerate(names):
            idx = torch.nonzero(pick == j).flatten()
            if len(idx):
                out[idx.to(x.device)] = corrupt(name, x[idx.to(x.device)], severity=severity, seed=seed + 1 + j)
        return out
    if kind_or_name in IMAGE_CORRUPTIONS:
        fn, image = IMAGE_CORRUPTIONS[kind_or_name], True
    elif kind_or_name in SERIES_CORRUPTIONS:
        fn, image = SERIES_CORRUPTIONS[kind_or_name], False
    else:
        raise CorruptionError(f"unknown corruption {kind_or_name!r}; image: {', '.join(IMAGE_CORRUPTIONS)}; "
                              f"series: {', '.join(SERIES_CORRUPTIONS)}; or a kind, 'image' or 'series'")
    _check(kind_or_name, x, severity, image)
    if float(severity) == 0.0 or x.numel() == 0:
        return x.clone()
    y = fn(x.detach().to("cpu", torch.float64), float(severity), _gen(seed))
    return y.to(device=x.device, dtype=x.dtype)
