"""One pytest test per (model, property), as scikit-learn's ``parametrize_with_checks`` does."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..bounds import Ball, Box


@dataclass(frozen=True)
class Property:
    """A Lipschitz property to check: ``at_most`` (certified upper bound <= ``bound``) or
    ``at_least`` (sound lower bound >= ``bound``), with the keyword arguments of the assertion
    (``method``, ``samples``, ``seed``, ``time_limit``). Build one with :func:`at_most` or
    :func:`at_least`; its :attr:`id` is part of the test id.

    >>> at_most(10).id, at_least(0.5).id
    ('at_most_10', 'at_least_0.5')
    """

    check: str
    bound: float
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def id(self) -> str:
        return f"{self.check}_{self.bound:g}"

    def __call__(self, model, *, input_shape, domain: Box | Ball | None = None):
        """Run the assertion on ``model`` (raises :class:`~lipbound.testing.LipschitzCheckError`)."""
        from ._assert import assert_lipschitz_at_least, assert_lipschitz_at_most

        fn = assert_lipschitz_at_most if self.check == "at_most" else assert_lipschitz_at_least
        return fn(model, self.bound, input_shape=input_shape, domain=domain, **dict(self.options))


def at_most(bound: float, **options) -> Property:
    """The property "a certified upper bound is at most ``bound``"
    (:func:`~lipbound.testing.assert_lipschitz_at_most`; ``options`` are its keyword arguments)."""
    return Property("at_most", float(bound), tuple(sorted(options.items())))


def at_least(bound: float, **options) -> Property:
    """The property "a sound lower bound is at least ``bound``"
    (:func:`~lipbound.testing.assert_lipschitz_at_least`; ``options`` are its keyword arguments)."""
    return Property("at_least", float(bound), tuple(sorted(options.items())))


@dataclass(frozen=True)
class BoundCheck:
    """What a parametrized test receives as ``check``: a property bound to the model's input shape
    and domain. Call it with the model: ``check(model)``."""

    name: str
    prop: Property
    input_shape: tuple[int, ...]
    domain: Box | Ball | None = field(default=None, compare=False)

    def __call__(self, model):
        return self.prop(model, input_shape=self.input_shape, domain=self.domain)

    def __repr__(self) -> str:
        return f"{self.name}-{self.prop.id}"


def _cases(models) -> list[tuple[str, Any, tuple[int, ...] | None]]:
    """(name, model, input shape or None) of each model: from a mapping ``name -> model`` or
    ``name -> (model, input_shape)``, or a sequence of models (named by class and position)."""
    items: Iterable[tuple[str, Any]]
    if isinstance(models, Mapping):
        items = [(str(k), v) for k, v in models.items()]
    else:
        items = [(f"{type(v if not isinstance(v, tuple) else v[0]).__name__}{i}", v) for i, v in enumerate(models)]
    out = []
    for name, v in items:
        shape = None
        if isinstance(v, tuple) and len(v) == 2 and isinstance(v[1], (tuple, list, int)):
            v, shape = v
            shape = (int(shape),) if isinstance(shape, int) else tuple(int(d) for d in shape)
        out.append((re.sub(r"\s+", "_", name), v, shape))
    return out


def parametrize_with_bounds(models: Mapping[str, Any] | Sequence[Any], properties: Sequence[Property], *,
                            input_shape: Sequence[int] | int | None = None,
                            domain: Box | Ball | None = None) -> Callable:
    """A ``pytest.mark.parametrize`` over every (model, property) pair, with arguments ``model``
    and ``check`` and one test id ``<model name>-<property id>`` per pair (``mlp-at_most_10``).
    The test calls ``check(model)``.

    ``models`` maps names to models, or to ``(model, input_shape)`` when shapes differ (a sequence
    of models is named by class and position); ``input_shape`` is the default shape and ``domain``
    the input set of every check.

    >>> import torch
    >>> mark = parametrize_with_bounds({"mlp": torch.nn.Linear(3, 2)}, [at_most(10), at_least(0.1)],
    ...                                input_shape=(3,))
    >>> [p.id for p in mark.mark.args[1]]
    ['mlp-at_most_10', 'mlp-at_least_0.1']
    """
    import pytest

    default = None if input_shape is None else (
        (int(input_shape),) if isinstance(input_shape, int) else tuple(int(d) for d in input_shape))
    props = list(properties)
    bad = [p for p in props if not isinstance(p, Property)]
    if bad:
        raise TypeError(f"properties must be built with lipbound.testing.at_most / at_least, got {bad!r}")
    params = []
    for name, model, shape in _cases(models):
        shape = shape or default
        if shape is None:
            raise ValueError(f"model {name!r}: no input shape; pass input_shape=... or give (model, input_shape)")
        for p in props:
            check = BoundCheck(name, p, shape, domain)
            params.append(pytest.param(model, check, id=f"{name}-{p.id}"))
    return pytest.mark.parametrize(("model", "check"), params)
