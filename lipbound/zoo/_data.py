r"""Synthetic multimodal data: every modality is a noisy nonlinear view of shared latent factors.

A sample is a vector of latent factors :math:`s \sim \mathcal{N}(0, I_K)`; modality :math:`i` sees it
through its own fixed random map. Because all modalities see the same :math:`s`, a multimodal
autoencoder can (and must) fuse them to reconstruct well, which is the setting of Section 3.1.

Two seeds control everything:

* ``seed`` fixes the *task*: the maps :math:`B_i, c_i` (and the image map) of every modality.
* ``sample_seed`` (default: ``seed``) fixes the *samples*: the factors :math:`s` and the noise.

So ``seed=0, sample_seed=1`` gives fresh held-out samples of the same task as ``seed=0``. Each
quantity is drawn from its own numpy stream (``numpy.random.default_rng([seed, tag, ...])``), so
the first ``n`` samples do not depend on how many samples are asked for.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..errors import ShapeMismatchError

__all__ = ["make_factors", "make_image_modality", "make_multimodal_data"]

# stream tags: each random quantity has its own numpy stream, so adding one never shifts another
_FACTORS, _VEC_MAP, _VEC_NOISE, _IMG_MAP, _IMG_NOISE = range(5)


def _check_seed(seed: int, what: str) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{what} must be a non-negative integer, got {seed!r}")
    return int(seed)


def _check_common(n_samples: int, n_factors: int, noise: float) -> None:
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    if isinstance(n_factors, bool) or not isinstance(n_factors, (int, np.integer)) or n_factors < 1:
        raise ValueError(f"n_factors must be a positive integer, got {n_factors!r}")
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite non-negative number, got {noise!r}")


def make_factors(n_samples: int, n_factors: int = 3, sample_seed: int = 0) -> np.ndarray:
    r"""The shared latent factors :math:`s_1, \dots, s_n \sim \mathcal{N}(0, I_K)`, i.i.d.

    Args:
        n_samples: number of samples :math:`n`.
        n_factors: number of factors :math:`K`.
        sample_seed: seed of the factor stream; equal seeds give equal factors.

    Returns:
        A float64 array of shape ``(n_samples, n_factors)``. Row :math:`t` does not depend on
        ``n_samples`` (asking for more samples only appends rows).

    >>> make_factors(4, 2).shape
    (4, 2)
    >>> bool((make_factors(3, 2, sample_seed=5) == make_factors(6, 2, sample_seed=5)[:3]).all())
    True
    """
    _check_common(n_samples, n_factors, 0.0)
    rng = np.random.default_rng([_check_seed(sample_seed, "sample_seed"), _FACTORS])
    return rng.standard_normal((int(n_samples), int(n_factors)))


def make_multimodal_data(
    n_samples: int,
    modality_dims: Sequence[int] = (6, 10),
    n_factors: int = 3,
    noise: float = 0.05,
    seed: int = 0,
    *,
    sample_seed: int | None = None,
    dtype: torch.dtype = torch.float32,
) -> list[torch.Tensor]:
    r"""Vector modalities generated from shared latent factors.

    For each modality :math:`i` with width :math:`d_i`,

    .. math::

        x_i = \tanh(B_i s + c_i) + \sigma \varepsilon_i, \qquad
        s \sim \mathcal{N}(0, I_K),\quad \varepsilon_i \sim \mathcal{N}(0, I_{d_i}),

    with :math:`B_i \in \mathbb{R}^{d_i \times K}` drawn with entries :math:`\mathcal{N}(0, 1/K)`
    (so :math:`B_i s` has unit variance per entry) and :math:`c_i` with entries
    :math:`\mathcal{N}(0, 0.25)`, both fixed by ``seed``; :math:`\sigma` is ``noise``.

    Args:
        n_samples: number of samples :math:`n` (rows of every returned tensor).
        modality_dims: the widths :math:`d_1, \dots, d_M` (:math:`M \ge 1`).
        n_factors: number of latent factors :math:`K`.
        noise: standard deviation :math:`\sigma \ge 0` of the additive Gaussian noise.
        seed: fixes the maps :math:`B_i, c_i` (the task).
        sample_seed: fixes the factors and the noise; defaults to ``seed``.
        dtype: floating dtype of the returned tensors.

    Returns:
        M tensors; tensor :math:`i` has shape ``(n_samples, d_i)``. The same arguments always give
        identical tensors.

    Raises:
        ShapeMismatchError: no modality, or a non-positive width.
        ValueError: a non-positive ``n_samples`` or ``n_factors``, a negative or non-finite
            ``noise``, a negative seed, or a non-floating ``dtype``.

    >>> xs = make_multimodal_data(5, modality_dims=(2, 3))
    >>> [tuple(x.shape) for x in xs], xs[0].dtype
    ([(5, 2), (5, 3)], torch.float32)
    >>> bool(torch.equal(xs[1], make_multimodal_data(5, (2, 3))[1]))
    True
    >>> held_out = make_multimodal_data(5, (2, 3), sample_seed=1)  # same maps, new samples
    >>> bool(torch.equal(xs[0], held_out[0]))
    False
    """
    _check_common(n_samples, n_factors, noise)
    dims = tuple(modality_dims)
    if len(dims) < 1 or any(isinstance(d, bool) or int(d) != d or d < 1 for d in dims):
        raise ShapeMismatchError(
            f"modality_dims must be one or more positive integers, got {tuple(modality_dims)}"
        )
    if not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating dtype, got {dtype}")
    seed = _check_seed(seed, "seed")
    sample_seed = seed if sample_seed is None else _check_seed(sample_seed, "sample_seed")
    s = make_factors(n_samples, n_factors, sample_seed)
    out = []
    for i, d in enumerate(int(d) for d in dims):
        maps = np.random.default_rng([seed, _VEC_MAP, i])
        b = maps.standard_normal((d, int(n_factors))) / np.sqrt(n_factors)
        c = 0.5 * maps.standard_normal(d)
        eps = np.random.default_rng([sample_seed, _VEC_NOISE, i]).standard_normal((int(n_samples), d))
        x = np.tanh(s @ b.T + c) + noise * eps
        out.append(torch.from_numpy(x).to(dtype))
    return out


def make_image_modality(
    n_samples: int,
    image_size: int = 16,
    n_factors: int = 3,
    noise: float = 0.05,
    seed: int = 0,
    *,
    channels: int = 1,
    sample_seed: int | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    r"""Tiny images of a Gaussian blob whose position and width are driven by the shared factors.

    With the factors :math:`s` of :func:`make_factors` (the same :math:`s` as
    :func:`make_multimodal_data` for the same ``sample_seed``, so images and vectors are views of
    the same samples) and an image of side :math:`H`,

    .. math::

        u = \tanh(A s + a), \qquad
        \mu = \tfrac{H - 1}{2}\,(1 + 0.6\,(u_1, u_2)), \qquad
        w = H\,(0.12 + 0.05\,u_3),

    .. math::

        I_c(p) = \gamma_c \exp\!\Big(-\frac{\lVert p - \mu \rVert^2}{2 w^2}\Big) + \sigma\varepsilon_c(p),

    for every pixel :math:`p = (\text{row}, \text{col})` and channel :math:`c`, where
    :math:`A \in \mathbb{R}^{3 \times K}` (entries :math:`\mathcal{N}(0, 1/K)`),
    :math:`a` (entries :math:`\mathcal{N}(0, 0.01)`) and the channel gains
    :math:`\gamma_c \in [0.5, 1]` are fixed by ``seed``. The blob stays inside the image
    (:math:`\mu \in [0.2 (H-1), 0.8 (H-1)]^2`) and its width is :math:`0.07 H` to :math:`0.17 H`.

    Args:
        n_samples: number of images.
        image_size: side :math:`H` of the square images (at least 2).
        n_factors: number of latent factors :math:`K`.
        noise: standard deviation :math:`\sigma \ge 0` of the pixel noise.
        seed: fixes :math:`A, a, \gamma` (the task).
        channels: number of channels.
        sample_seed: fixes the factors and the noise; defaults to ``seed``.
        dtype: floating dtype of the result.

    Returns:
        A tensor of shape ``(n_samples, channels, image_size, image_size)``.

    >>> img = make_image_modality(3, image_size=8)
    >>> tuple(img.shape), img.dtype
    ((3, 1, 8, 8), torch.float32)
    >>> bool(torch.equal(img, make_image_modality(3, image_size=8)))
    True
    """
    _check_common(n_samples, n_factors, noise)
    if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) or image_size < 2:
        raise ShapeMismatchError(f"image_size must be an integer of at least 2, got {image_size!r}")
    if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)) or channels < 1:
        raise ShapeMismatchError(f"channels must be a positive integer, got {channels!r}")
    if not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating dtype, got {dtype}")
    seed = _check_seed(seed, "seed")
    sample_seed = seed if sample_seed is None else _check_seed(sample_seed, "sample_seed")
    h = int(image_size)
    s = make_factors(n_samples, n_factors, sample_seed)
    maps = np.random.default_rng([seed, _IMG_MAP])
    a_mat = maps.standard_normal((3, int(n_factors))) / np.sqrt(n_factors)
    a_off = 0.1 * maps.standard_normal(3)
    gain = maps.uniform(0.5, 1.0, size=int(channels))
    u = np.tanh(s @ a_mat.T + a_off)  # (n, 3)
    centre = (h - 1) / 2 * (1 + 0.6 * u[:, :2])  # (n, 2): row, col
    width = h * (0.12 + 0.05 * u[:, 2])  # (n,)
    grid = np.arange(h, dtype=np.float64)
    d2 = (grid[None, :, None] - centre[:, 0, None, None]) ** 2 + (
        grid[None, None, :] - centre[:, 1, None, None]
    ) ** 2  # (n, H, H)
    blob = np.exp(-d2 / (2 * width[:, None, None] ** 2))
    eps = np.random.default_rng([sample_seed, _IMG_NOISE]).standard_normal((int(n_samples), int(channels), h, h))
    img = gain[None, :, None, None] * blob[:, None] + noise * eps
    return torch.from_numpy(img).to(dtype)
