"""What a check of the ledger is run on, handed to the evaluators explicitly: :class:`Fixtures`.

The runner (:func:`lipbound.claims.check_reading`) passes one :class:`Fixtures` to every evaluator's
``fixed_cases(fixtures)``; the evaluators read nothing from the environment or from module state.
A fixed case records what it was drawn from (the zoo model's name, the results directory, the study
file, the data folder) in its own JSON, so ``evaluate(case)`` needs nothing else and a reported
counterexample re-runs from its row alone. ``lipbound verify`` builds the fixtures from its options
(``--zoo``, ``--results``, ``--mvae-study``, ``--data``); where the CLI still honours an environment
variable (``$LIPBOUND_RESULTS``, ``$LIPBOUND_MVAE_RESULTS``), it is read there, once, and the
resulting path is what the evaluators see.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from ._ledger import DataLocation

#: the zoo selections (``lipbound verify --zoo``)
ZOO_CHOICES = ("small", "paper", "none")
#: the named results the empirical claims accept besides a folder (``lipbound verify --results``)
NAMED_RESULTS = ("committed", "tiny")


@dataclass(frozen=True)
class Fixtures:
    """The data a run of the ledger is decided on, chosen once by the runner's caller.

    Attributes:
        zoo: which trained models the fixed cases of the Section 3 claims (and the ledger's MVAE
            runs) use: ``small`` (:data:`lipbound.zoo.ZOO`, trained on a CPU in seconds), ``paper``
            (:data:`lipbound.zoo.ZOO_GPU`, the paper-size models) or ``none`` (generated cases alone).
        results: what the empirical claims (``emp-*``) are decided on: ``committed`` (the committed
            results of the ``medium`` preset), ``tiny`` (the built-in tiny sweep) or a
            ``lipbound reproduce`` results directory.
        mvae_study: the study ``mvae-findings`` is decided on: a study file or a ``lipbound mvae
            train`` folder; None for the committed study.
        data: where each data set some reading needs (:data:`lipbound.claims.DATA_NEEDS`) was found,
            by name (:func:`lipbound.claims._runner.locate_data`); a name not here is located by the
            runner in its default places.

    >>> Fixtures().zoo, Fixtures(results="tiny").results
    ('small', 'tiny')
    >>> Fixtures(zoo="large")
    Traceback (most recent call last):
    ...
    lipbound.errors.LipboundError: unknown zoo 'large'; choose one of small, paper, none
    """

    zoo: str = "small"
    results: str = "committed"
    mvae_study: str | None = None
    data: Mapping[str, DataLocation] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.zoo not in ZOO_CHOICES:
            from ..errors import LipboundError

            raise LipboundError(f"unknown zoo {self.zoo!r}; choose one of {', '.join(ZOO_CHOICES)}")
        if self.results not in NAMED_RESULTS:
            object.__setattr__(self, "results", os.fspath(Path(self.results)))
        if self.mvae_study is not None:
            object.__setattr__(self, "mvae_study", os.fspath(Path(self.mvae_study)))

    def with_data(self, data: Mapping[str, DataLocation]) -> Fixtures:
        """These fixtures with ``data`` added to the located data sets."""
        return replace(self, data={**self.data, **data})

    def data_folder(self, name: str) -> Path | None:
        """The folder of the data set ``name``, or None when it was not located or is absent."""
        loc = self.data.get(name)
        return loc.path if loc is not None else None
