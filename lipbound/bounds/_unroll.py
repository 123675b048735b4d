r"""Convolutions as the dense matrices they are, built by copying weights (no arithmetic).

A ``Conv2d`` with zero padding is the linear map :math:`x \mapsto Kx` (plus a bias per output
channel) with

.. math::

    K[(o, i, j), (c, i s_h - p_h + u d_h, j s_w - p_w + v d_w)] = w[o, c - g(o) C_g, u, v]

for every output channel :math:`o`, output pixel :math:`(i, j)`, kernel tap :math:`(u, v)` and input
channel :math:`c` of the group :math:`g(o)` of :math:`o`, whenever the input pixel lies in the image
(zero padding contributes nothing). For a fixed row and column at most one tap qualifies (taps
differ in position by multiples of the dilation :math:`\ge 1`), so every entry is a *copy* of one
weight or zero: the matrix is exactly the layer's linear part, with no rounding. A
``ConvTranspose2d`` is the same index map with input and output exchanged,
:math:`K[(o, a s_h - p_h + u d_h, \dots), (c, a, \dots)] = w[c, o - g(c) C'_g, u, v]`.

With these matrices a small convolutional network becomes a network of ``Linear`` layers and the
LipSDP bounds (global and local) take it, tighter than the product of the layers' norms. Only
layers whose matrix has at most :data:`UNROLL_MAX_ENTRIES` entries are unrolled; each unrolled
matrix is also compared with the layer itself on random inputs (a check of this module, not the
soundness argument, which is the index map above).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..errors import UnsupportedModuleError

#: largest number of entries (rows x columns) of an unrolled convolution (8 bytes each: 64 MB)
UNROLL_MAX_ENTRIES = 8_000_000


def unrollable(module: nn.Module, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> str | None:
    """``None`` when :func:`conv_matrix` takes the layer, else the reason it does not."""
    if not isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        return f"{type(module).__name__} is not a convolution"
    if module.padding_mode != "zeros":
        return f"padding_mode {module.padding_mode!r} (only zero padding is unrolled)"
    if isinstance(module.padding, str):
        return f"padding={module.padding!r} (only explicit integer padding is unrolled)"
    if len(in_shape) != 3 or len(out_shape) != 3:
        return "not a (C, H, W) input"
    entries = math.prod(in_shape) * math.prod(out_shape)
    if entries > UNROLL_MAX_ENTRIES:
        return f"its matrix would have {entries} entries (> {UNROLL_MAX_ENTRIES})"
    return None


def conv_matrix(module: nn.Module, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> np.ndarray:
    """The float64 matrix of the linear part of a ``Conv2d`` / ``ConvTranspose2d`` (see the module
    docstring), of shape ``(prod(out_shape), prod(in_shape))``.

    >>> conv = nn.Conv2d(1, 1, 2, bias=False)
    >>> with torch.no_grad():
    ...     _ = conv.weight.copy_(torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]))
    >>> conv_matrix(conv, (1, 2, 3), (1, 1, 2)).tolist()
    [[1.0, 2.0, 0.0, 3.0, 4.0, 0.0], [0.0, 1.0, 2.0, 0.0, 3.0, 4.0]]
    """
    why = unrollable(module, in_shape, out_shape)
    if why is not None:
        raise UnsupportedModuleError(f"cannot unroll {type(module).__name__}: {why}")
    w = module.weight.detach().to(torch.float64).cpu().numpy()
    transpose = isinstance(module, nn.ConvTranspose2d)
    (ci, hi, wi), (co, ho, wo) = in_shape, out_shape
    sh, sw = module.stride
    ph, pw = module.padding
    dh, dw = module.dilation
    G = module.groups
    K = np.zeros((co * ho * wo, ci * hi * wi))
    kh, kw = w.shape[2], w.shape[3]
    if not transpose:  # w: (co, ci/G, kh, kw); rows run over outputs
        cg, og = ci // G, co // G
        o, c_loc, i, j = np.meshgrid(np.arange(co), np.arange(cg), np.arange(ho), np.arange(wo), indexing="ij")
        c = (o // og) * cg + c_loc
        for u in range(kh):
            for v in range(kw):
                a, b = i * sh - ph + u * dh, j * sw - pw + v * dw
                ok = (a >= 0) & (a < hi) & (b >= 0) & (b < wi)
                K[((o * ho + i) * wo + j)[ok], ((c * hi + a) * wi + b)[ok]] = w[o[ok], c_loc[ok], u, v]
    else:  # w: (ci, co/G, kh, kw); columns run over inputs
        cg, og = ci // G, co // G
        c, o_loc, a, b = np.meshgrid(np.arange(ci), np.arange(og), np.arange(hi), np.arange(wi), indexing="ij")
        o = (c // cg) * og + o_loc
        for u in range(kh):
            for v in range(kw):
                i, j = a * sh - ph + u * dh, b * sw - pw + v * dw
                ok = (i >= 0) & (i < ho) & (j >= 0) & (j < wo)
                K[((o * ho + i) * wo + j)[ok], ((c * hi + a) * wi + b)[ok]] = w[c[ok], o_loc[ok], u, v]
    _check(module, K, in_shape, out_shape)
    return K


def conv_bias(module: nn.Module, out_shape: tuple[int, ...]) -> np.ndarray:
    """The layer's bias repeated over the output pixels (zeros without a bias)."""
    co, ho, wo = out_shape
    if module.bias is None:
        return np.zeros(co * ho * wo)
    return np.repeat(module.bias.detach().to(torch.float64).cpu().numpy(), ho * wo)


def _check(module: nn.Module, K: np.ndarray, in_shape, out_shape) -> None:
    """Compare ``K x`` with the layer (without bias) on random float64 inputs; raise on a mismatch
    (an error of this module: the matrix is meant to be exact)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn((3, *in_shape), generator=g, dtype=torch.float64)
    w = module.weight.detach().to(torch.float64)
    if isinstance(module, nn.ConvTranspose2d):
        y = nn.functional.conv_transpose2d(x, w, None, module.stride, module.padding, module.output_padding,
                                           module.groups, module.dilation)
    else:
        y = nn.functional.conv2d(x, w, None, module.stride, module.padding, module.dilation, module.groups)
    if tuple(y.shape[1:]) != tuple(out_shape):
        raise UnsupportedModuleError(f"unrolled {type(module).__name__}: output shape {tuple(y.shape[1:])} != {out_shape}")
    got = x.reshape(3, -1).numpy() @ K.T
    ref = y.reshape(3, -1).numpy()
    if not np.allclose(got, ref, rtol=1e-10, atol=1e-10 * max(float(np.abs(ref).max()), 1.0)):
        raise AssertionError(f"unrolled {type(module).__name__} differs from the layer (lipbound bug)")
