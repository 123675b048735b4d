"""Lipschitz checks in a test suite: assertions, one test per (model, property), a hypothesis
strategy of inputs, and a pytest plugin (registered as ``lipbound`` through the ``pytest11`` entry
point) with options for the defaults and a summary of every bracket. See ``docs/testing.md``.

* :func:`assert_lipschitz_at_most` passes only on a **certified** upper bound (kind
  ``certified-upper`` of :func:`lipbound.bounds.bracket`) at most the bound;
* :func:`assert_lipschitz_at_least` passes only on a **sound lower bound** (kind ``lower``,
  evaluated on the user's own model) at least the bound;
* :func:`parametrize_with_bounds` with :func:`at_most` / :func:`at_least`: one test id per
  (model, property);
* :func:`inputs`: a hypothesis strategy of inputs in a :class:`~lipbound.bounds.Box` or
  :class:`~lipbound.bounds.Ball`.

A model lipbound refuses (a non-standard layer, a hook, a custom ``forward``) fails the check with
the reason (:class:`LipschitzCheckError`); it never passes.

>>> import torch
>>> from lipbound.testing import assert_lipschitz_at_most
>>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
>>> br = assert_lipschitz_at_most(net, 100.0, input_shape=(3,))
>>> br.best_upper <= 100.0
True
"""

from ._assert import LipschitzCheckError, assert_lipschitz_at_least, assert_lipschitz_at_most
from ._parametrize import BoundCheck, Property, at_least, at_most, parametrize_with_bounds
from ._strategies import inputs

__all__ = [
    "BoundCheck",
    "LipschitzCheckError",
    "Property",
    "assert_lipschitz_at_least",
    "assert_lipschitz_at_most",
    "at_least",
    "at_most",
    "inputs",
    "parametrize_with_bounds",
]
