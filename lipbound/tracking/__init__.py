"""Lipschitz brackets during training: :class:`BracketCallback` for plain PyTorch loops (and
:func:`lightning_callback` when ``lightning`` is installed) records the bracket of chosen
submodules every N steps, within a budget on its share of the training time, with the schedule
of the experiments harness. See ``docs/testing.md``.

>>> import torch
>>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
>>> cb = BracketCallback(net, torch.randn(8, 3), every=2, budget=None)
>>> for _ in range(2):
...     _ = cb.step()
>>> [(r["method"], r["kind"]) for r in cb.records]
[('spectral-product', 'certified-upper'), ('power-iteration', 'lower')]
"""

from ._callback import DEFAULT_BUDGET, DEFAULT_METHODS, BracketCallback
from ._lightning import lightning_callback

__all__ = ["DEFAULT_BUDGET", "DEFAULT_METHODS", "BracketCallback", "lightning_callback"]
