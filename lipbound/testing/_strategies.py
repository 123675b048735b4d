"""A hypothesis strategy of inputs in a domain (a :class:`~lipbound.bounds.Box` or
:class:`~lipbound.bounds.Ball`), for property tests around a model."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from ..bounds import Ball, Box


def _fill(domain: Box | Ball | None, shape: tuple[int, ...], seed: int, boundary: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if domain is None:
        return rng.standard_normal(shape)
    if isinstance(domain, Box):
        lo = np.broadcast_to(torch.as_tensor(domain.low, dtype=torch.float64).numpy(), shape)
        hi = np.broadcast_to(torch.as_tensor(domain.high, dtype=torch.float64).numpy(), shape)
        if boundary:  # a corner: every coordinate at one of its ends
            return np.where(rng.integers(0, 2, size=shape) == 1, hi, lo)
        return lo + (hi - lo) * rng.random(shape)
    if isinstance(domain, Ball):
        d = rng.standard_normal(shape)
        d /= max(float(np.linalg.norm(d)), 1e-300)
        # (1 - 1e-12): rounding of c + r d never leaves the ball
        r = domain.radius * (1 - 1e-12) * (1.0 if boundary else rng.random() ** (1.0 / max(1, math.prod(shape))))
        c = np.broadcast_to(torch.as_tensor(domain.center, dtype=torch.float64).numpy(), shape)
        return c + r * d
    raise TypeError(f"domain must be lipbound.bounds.Box or Ball (or None), got {type(domain).__name__}")


def inputs(domain: Box | Ball | None = None, *, shape: Sequence[int] | int, batch: int | None = None,
           dtype: torch.dtype = torch.float64):
    r"""A hypothesis strategy of tensors of ``shape`` (``(batch, *shape)`` when ``batch`` is given)
    in ``domain``: uniform in a :class:`~lipbound.bounds.Box` :math:`\{l \le x \le h\}`, uniform in
    a :class:`~lipbound.bounds.Ball` :math:`\{\|x - c\|_2 \le r\}`, standard normal without one.

    Hypothesis draws only a seed and whether to take a point of the boundary (a corner of the box,
    the sphere of the ball); numpy fills the tensor from the seed, so examples are cheap, shrink
    towards seed 0 and are reproduced from the seed. Ball points have norm at most
    :math:`(1 - 10^{-12})\,r` around the centre, so rounding never puts them outside.

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5, database=None)
    ... @given(inputs(Box(-1.0, 1.0), shape=(3,)))
    ... def test_in_box(x):
    ...     assert x.shape == (3,) and bool(((-1 <= x) & (x <= 1)).all())
    >>> test_in_box()
    """
    from hypothesis import strategies as st

    shape = (int(shape),) if isinstance(shape, int) else tuple(int(d) for d in shape)
    if any(d <= 0 for d in shape):
        raise ValueError(f"shape {shape}: every dimension must be positive")
    if domain is not None and not isinstance(domain, (Box, Ball)):
        raise TypeError(f"domain must be lipbound.bounds.Box or Ball (or None), got {type(domain).__name__}")
    if batch is not None and batch <= 0:
        raise ValueError(f"batch must be positive, got {batch}")

    def build(seed: int, boundary: bool) -> torch.Tensor:
        if batch is None:
            arr = _fill(domain, shape, seed, boundary)
        else:
            arr = np.stack([_fill(domain, shape, seed * 7919 + k, boundary) for k in range(batch)])
        return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float64)).to(dtype)

    return st.builds(build, st.integers(0, 2**32 - 1), st.booleans())
