"""A residual block :math:`x \\mapsto x + f(x)`, the one residual form lipbound's bounds read."""

from __future__ import annotations

import torch
from torch import nn


class Residual(nn.Module):
    r"""The residual block :math:`x \mapsto x + f(x)` with ``body`` :math:`f` (same input and output
    shape).

    :math:`\operatorname{Lip}(x + f(x)) \le 1 + \operatorname{Lip}(f)` (the spectral product's rule);
    the LipSDP bounds read the block exactly, as a wider chain that carries :math:`x` alongside
    :math:`f`'s hidden layers (:func:`~lipbound.bounds._network.dense_chain`).

    >>> blk = Residual(nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 3)))
    >>> blk(torch.zeros(2, 3)).shape
    torch.Size([2, 3])
    """

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)
