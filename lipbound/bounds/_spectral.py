r"""Certified operator norms of layers and the product-of-norms bound.

Dense layers: the largest singular value in float64, inflated for the SVD's backward error.

Convolutions are bounded as the *true* linear operator on the given input shape. A zero-padded,
strided convolution factors as

.. math::

    \mathcal C = R \circ C_N \circ P,

where :math:`P` zero-pads the input to a periodic :math:`N_1 \times N_2` grid (an isometric
embedding), :math:`C_N` is the *circular* multi-channel correlation with the kernel on that grid and
:math:`R` keeps the strided output positions (a coordinate restriction, norm :math:`\le 1`). With
:math:`N_1 \ge H + 2p_1` no index wraps around for the kept positions (each reads padded input rows
:math:`s u + a \le H + 2 p_1 - 1`), so the factorisation is exact. Hence
:math:`\|\mathcal C\|_2 \le \|C_N\|_2`, and the circular correlation is block-diagonalised by the 2-D
DFT (Sedghi, Gupta and Long, 2019):

.. math::

    \|C_N\|_2 = \max_{\omega} \big\|\hat K(\omega)\big\|_2, \qquad
    \hat K(\omega)_{oc} = \sum_{a, b} K_{oc a b}\, e^{-2\pi i (a \omega_1 / N_1 + b \omega_2 / N_2)},

the largest singular value of a :math:`c_\text{out} \times c_\text{in}` matrix per frequency. Every
admissible :math:`N` gives a valid bound; we take the minimum over a few. A ``ConvTranspose2d`` is
the adjoint of the ``Conv2d`` with the same weight, stride and padding on the transposed layer's
*output* shape (its ``output_padding`` is smaller than the stride, so that convolution maps back to
the transposed layer's input shape), and an adjoint has the same norm.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..errors import UnsupportedModuleError
from ._network import Network, to_network

EPS = float(np.finfo(np.float64).eps)


def _up(x: float) -> float:
    """The next float64 above ``x`` (so that a final rounding cannot land below the bound)."""
    return float(np.nextafter(x, np.inf))


def linear_norm(weight: torch.Tensor) -> float:
    r"""Certified upper bound on :math:`\|W\|_2`.

    The float64 SVD is backward stable: the computed singular values are exact for some
    :math:`W + E` with :math:`\|E\|_2 \le p(m, n)\,\varepsilon\,\|W\|_2`, so (Weyl)
    :math:`|\hat\sigma - \sigma| \le p\,\varepsilon\,\sigma_{\max}`. We take the generous
    :math:`p = 8 \max(m, n)` (LAPACK's constant is a small multiple of the dimension) and inflate.

    >>> linear_norm(torch.diag(torch.tensor([3.0, 1.0]))) >= 3.0
    True
    """
    W = weight.detach().to(torch.float64).reshape(weight.shape[0], -1)
    if W.numel() == 0:
        return 0.0
    s = float(torch.linalg.matrix_norm(W, ord=2))
    return _up(s * (1.0 + 8 * max(W.shape) * EPS))


def _conv_pieces(m: nn.Module, in_shape: tuple[int, ...]):
    """(weight as (c_out, c_in, kh, kw) per group, stride, padding, conv input H, W) of the Conv2d whose
    operator norm equals the layer's (the layer itself, or for ConvTranspose2d its adjoint)."""
    if m.padding_mode != "zeros" or isinstance(m.padding, str) and m.padding != "valid":
        raise UnsupportedModuleError(
            f"{type(m).__name__} with padding={m.padding!r}, padding_mode={m.padding_mode!r} is not "
            "supported by the convolution norm bound; use integer zero padding"
        )
    pad = (0, 0) if isinstance(m.padding, str) else tuple(m.padding)
    W = m.weight.detach().to(torch.float64)
    g = m.groups
    dh, dw = m.dilation
    if (dh, dw) != (1, 1):  # dilation = a kernel with zeros inserted
        kh, kw = W.shape[-2:]
        Wd = W.new_zeros(*W.shape[:2], (kh - 1) * dh + 1, (kw - 1) * dw + 1)
        Wd[..., ::dh, ::dw] = W
        W = Wd
    if isinstance(m, nn.ConvTranspose2d):
        # weight (c_in, c_out/g, kh, kw); the adjoint conv maps c_out -> c_in; per group slices
        cin_g = W.shape[0] // g
        kernels = [W[k * cin_g:(k + 1) * cin_g] for k in range(g)]  # (c_in/g, c_out/g, kh, kw)
        return kernels, tuple(m.stride), pad, None
    cout_g = W.shape[0] // g
    kernels = [W[k * cout_g:(k + 1) * cout_g] for k in range(g)]  # (c_out/g, c_in/g, kh, kw)
    return kernels, tuple(m.stride), pad, tuple(in_shape[-2:])


def conv_norm_upper(m: nn.Module, in_shape: tuple[int, ...], out_shape: tuple[int, ...] | None = None,
                    extra_sizes: int = 3) -> float:
    r"""Certified upper bound on the operator norm of a Conv2d / ConvTranspose2d on ``in_shape``.

    See the module docstring for the derivation. Rounding: each DFT entry is a sum of
    :math:`k_h k_w` terms plus an FFT of depth :math:`\log_2(N_1 N_2)`, so its error is at most
    :math:`c\,(k_h k_w + \log_2 N_1 N_2)\,\varepsilon \sum_{ab} |K_{ocab}|`; the matrix error is at
    most the Frobenius norm of those, and the SVD adds :math:`8\max(c)\varepsilon\hat\sigma`. We add
    both with :math:`c = 8`.
    """
    if isinstance(m, nn.ConvTranspose2d):
        if out_shape is None:
            raise ValueError("ConvTranspose2d needs its output shape")
        H, Wd = out_shape[-2:]
    else:
        H, Wd = in_shape[-2:]
    kernels, _, pad, _ = _conv_pieces(m, in_shape)
    best = math.inf
    kh, kw = kernels[0].shape[-2:]
    n1min, n2min = max(H + 2 * pad[0], kh), max(Wd + 2 * pad[1], kw)
    for extra in range(extra_sizes):
        N1, N2 = n1min + extra, n2min + extra
        worst = 0.0
        for K in kernels:
            Kh = torch.fft.fft2(K, s=(N1, N2))  # (a, b, N1, N2) complex128
            mats = Kh.permute(2, 3, 0, 1)
            s = float(torch.linalg.matrix_norm(mats, ord=2).max())
            absK = K.abs().sum(dim=(-2, -1))
            dft_err = 8 * (kh * kw + math.log2(N1 * N2) + 2) * EPS * float(torch.linalg.matrix_norm(absK))
            worst = max(worst, s + dft_err + 8 * max(K.shape[:2]) * EPS * s)
        best = min(best, worst)
    return _up(best)


def _apply(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
    w = m.weight.detach().to(torch.float64)
    if isinstance(m, nn.Conv2d):
        return nn.functional.conv2d(x, w, None, m.stride, m.padding, m.dilation, m.groups)
    return nn.functional.conv_transpose2d(x, w, None, m.stride, m.padding, m.output_padding, m.groups,
                                          m.dilation)


def conv_norm_lower(m: nn.Module, in_shape: tuple[int, ...], iters: int = 100, seed: int = 0) -> float:
    r"""Lower bound on the operator norm of a conv layer on ``in_shape``: power iteration on
    :math:`A^\top A` (the adjoint by autograd), returning :math:`\|Av\|/\|v\|` at the last iterate,
    which never exceeds :math:`\|A\|_2` in exact arithmetic. float64 evaluation errs by far less than
    1e-12 relatively (sums of at most ~1e5 terms), so we deflate by 1e-10."""
    g = torch.Generator().manual_seed(seed)
    v = torch.randn((1, *in_shape), generator=g, dtype=torch.float64)
    for _ in range(iters):
        v = v / v.norm()
        v.requires_grad_(True)
        y = _apply(m, v)
        (v,) = torch.autograd.grad(y, v, y)
        v = v.detach()
        if float(v.norm()) == 0.0:
            return 0.0
    v = v / v.norm()
    with torch.no_grad():
        return float(_apply(m, v).norm()) * (1 - 1e-10)


def layer_norms(net: Network, *, iters: int = 100, seed: int = 0) -> list[dict]:
    """Per-layer rows ``{name, kind, upper, lower}``: certified upper bound on the layer's Lipschitz
    constant and (for convolutions) a power-iteration lower estimate; activations use max |slope|."""
    rows = []
    for l in net.layers:
        if l.kind == "linear":
            u = linear_norm(l.module.weight)
            rows.append({"name": l.name, "kind": l.kind, "upper": u, "lower": None})
        elif l.kind in ("conv", "convT"):
            u = conv_norm_upper(l.module, l.in_shape, l.out_shape)
            lo = conv_norm_lower(l.module, l.in_shape, iters=iters, seed=seed)
            if lo > u:  # pragma: no cover - would be a soundness bug
                raise AssertionError(f"conv layer {l.name}: lower {lo} > certified upper {u}")
            rows.append({"name": l.name, "kind": l.kind, "upper": u, "lower": lo})
        elif l.kind == "activation":
            a, b = l.slopes
            rows.append({"name": l.name, "kind": l.kind, "upper": max(abs(a), abs(b)), "lower": None})
        elif l.kind == "residual":  # Lip(x + f(x)) <= 1 + Lip(f)
            inner = 1.0
            for r in layer_norms(l.body, iters=iters, seed=seed):
                inner = _up(inner * r["upper"])
            rows.append({"name": l.name, "kind": l.kind, "upper": _up(1.0 + inner), "lower": None})
        elif l.kind == "reshape":
            rows.append({"name": l.name, "kind": l.kind, "upper": 1.0, "lower": 1.0})
        else:  # pragma: no cover - to_network makes no other kinds
            raise AssertionError(f"layer {l.name!r}: unknown kind {l.kind!r}")
    return rows


def spectral_product(module: nn.Module | Network, input_shape: tuple[int, ...] | None = None) -> tuple[float, list[dict]]:
    r"""Certified product-of-norms bound :math:`\prod_k \|W_k\|_2 \prod_k \max(|\alpha_k|, |\beta_k|)`
    and the per-layer rows. Each factor is rounded up and the product is taken with upward rounding.

    >>> W = torch.nn.Linear(2, 2, bias=False)
    >>> with torch.no_grad():
    ...     _ = W.weight.copy_(torch.tensor([[2.0, 0.0], [0.0, 1.0]]))
    >>> value, rows = spectral_product(torch.nn.Sequential(W, torch.nn.ReLU(), W))
    >>> 4.0 <= value < 4.0 * (1 + 1e-12)
    True
    """
    net = module if isinstance(module, Network) else to_network(module, input_shape)
    rows = layer_norms(net)
    value = 1.0
    for r in rows:
        value = _up(value * r["upper"])
    return value, rows
