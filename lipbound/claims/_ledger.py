"""Types of the claim ledger: statements, evaluators, proof results, and the rows a check reports.

A claim lives in one folder, ``lipbound/claims/<folder>/`` (``thm-4.1`` in ``thm_4_1``), in three
modules kept apart as cvxpy keeps an atom apart from its canonicalizer, and joined by
:mod:`lipbound.claims._registry`, which finds the folder:

* ``statement.py``, its **statement** (:class:`ClaimStatement`): the paper's wording as recovered,
  lipbound's exact statement of each reading, assumptions, expected outcome;
* ``evaluators.py``, its **numeric evaluators** (:class:`Evaluator`) and its case space: how to draw
  a case and decide whether the reading holds on it;
* ``proof.py``, its **proof**: sympy functions returning a :class:`ProofResult` per reading (``python
  -m proofs`` runs them all).

A reading may need data that lipbound does not ship (the iCub recordings of the ``mvae-*`` claims):
its statement names it in :attr:`ReadingStatement.requires_data`, and an evaluator whose fixed cases
are drawn from it names it in :attr:`Evaluator.fixed_cases_data`. Each name is a :class:`DataNeed`
of :data:`lipbound.claims._registry.DATA_NEEDS`, located once per run (:class:`DataLocation`) and
handed to the evaluators in the run's :class:`~lipbound.claims.Fixtures`; a reading whose data is
absent is reported ``skipped``, with why and how to get the data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

Status = Literal["proved", "holds", "refuted", "loose", "not-supported", "not-proven", "skipped"]
#: every status a row can have; ``skipped``: not checked, because data it needs is absent (the row's
#: detail says which and how to get it)
STATUSES: tuple[str, ...] = ("proved", "holds", "refuted", "loose", "not-supported", "not-proven", "skipped")
#: what each status means, in the words the CLI, the report and the docs use (one place for all)
STATUS_MEANINGS: dict[str, str] = {
    "proved": "a sympy proof script verified it, and no case violates it",
    "holds": "no case violates it; no symbolic proof",
    "refuted": "a statement meant for every case has a concrete counterexample",
    "loose": "a bound's stated growth (rate or constant) is not attained: the bound is not false, it grows faster "
             "than the true constant, shown by a witness",
    "not-supported": "a tendency (the paper hedges: 'typically') that our cases do not support: some reverse it; "
                     "the row says on how many it held",
    "not-proven": "undecided (no proof and no decisive case, or an inconclusive comparison)",
    "skipped": "not checked, because data the reading needs is absent",
}
Kind = Literal["universal", "growth-rate", "tendency"]
#: what a reading asserts: ``universal`` (for every case; the default), ``growth-rate`` (the growth
#: or constant of a bound, e.g. "C_M depends linearly on M": a bound growing faster than the true
#: constant is loose, not false), ``tendency`` (a hedged statement, "typically")
KINDS: tuple[str, ...] = ("universal", "growth-rate", "tendency")
#: the status a reading of each kind gets when a case fails it
FAILURE_STATUS: dict[str, str] = {"universal": "refuted", "growth-rate": "loose", "tendency": "not-supported"}
#: the statuses that report failing cases (a counterexample or witness in the row)
FAILED_STATUSES: tuple[str, ...] = tuple(FAILURE_STATUS.values())
#: the groups of the ledger page and the docs navigation, in order, with their headings
SECTIONS: dict[str, str] = {
    "Section 3": "Section 3: gradients and Lipschitz constants of sum and concatenation fusion",
    "Section 4": "Section 4: the attention fusion",
    "Companion paper": "Companion paper: the multimodal VAE on iCub data",
    "Section 5": "Section 5: the paper's empirical claims, on lipbound's runs",
}
#: at most this many per-case (measured, bound) pairs are kept in :attr:`Row.cases_data`
CASES_DATA_CAP = 300


@dataclass(frozen=True)
class ReadingStatement:
    """One precise reading of a claim.

    Attributes:
        name: short id, unique within the claim (``"true-shared"``).
        statement: lipbound's exact statement (plain text with LaTeX math).
        expected: whether the ledger expects this reading to hold (``True``), to fail (``False``), or
            makes no prediction (``None``, "open": e.g. a training outcome on lipbound's own data,
            which no theorem predicts; its status is then a finding either way).
        note: why it is expected to hold or fail (e.g. the counterexample family).
        requires_data: names of the data sets (:class:`DataNeed` names) the reading is decided on; when one is
            absent the reading is not checked and its row is ``skipped``.
        kind: what the reading asserts (:data:`KINDS`), which decides the status its failing cases give
            (:data:`FAILURE_STATUS`): ``universal`` -> ``refuted``, ``growth-rate`` -> ``loose``,
            ``tendency`` -> ``not-supported``. ``expected=False`` then means the ledger expects that
            status.
    """

    name: str
    statement: str
    expected: bool | None
    note: str = ""
    requires_data: tuple[str, ...] = ()
    kind: Kind = "universal"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"reading {self.name!r}: kind {self.kind!r} is none of {', '.join(KINDS)}")

    @property
    def failure_status(self) -> str:
        """The status this reading gets when a case fails it (:data:`FAILURE_STATUS`)."""
        return FAILURE_STATUS[self.kind]


@dataclass(frozen=True)
class ClaimStatement:
    """What a claim says: the paper's wording as recovered and lipbound's readings of it.

    Attributes:
        id: the id users type (``lipbound verify --claim thm-4.1``).
        title: one line saying what the claim is about.
        ref: the paper's numbering (``"Theorem 4.1"``).
        paper_ref: where in the paper, in full (section, equations, appendix).
        paper_wording: the paper's words as recovered (the available copy lost its formulas).
        assumptions: every assumption, one sentence each.
        readings: the precise statements the words allow (:class:`ReadingStatement`).
        doc_page: the claim's docs page (``docs/claims/<id>.md``).
        proof_script: the file of its sympy proofs (``lipbound/claims/<folder>/proof.py``), or of
            what decides it when it has none.
        test_file: the claim's own tests (``pytest -k <id>`` selects them).
        section: the group the ledger page and the docs navigation list it under
            (:data:`SECTIONS`); every claim of the registry has one (empty only for toy statements
            built in tests).
        order: its position in the ledger (ascending; the paper's order): the registry, ``lipbound
            claims``, the ledger page and the navigation list claims by it.
        nav_title: the short title of its entry in the docs navigation (``"Theorem 4.1: attention
            Lipschitz constant"``); the title when empty.
    """

    id: str
    title: str
    ref: str
    paper_ref: str
    paper_wording: str
    assumptions: tuple[str, ...]
    readings: tuple[ReadingStatement, ...]
    doc_page: str
    proof_script: str
    test_file: str
    section: str = ""
    order: int = 0
    nav_title: str = ""

    def __post_init__(self) -> None:
        if self.section and self.section not in SECTIONS:
            raise ValueError(f"claim {self.id!r}: section {self.section!r} is none of {', '.join(SECTIONS)}")

    def reading(self, name: str) -> ReadingStatement:
        """The reading called ``name``; raises :class:`~lipbound.errors.UnknownClaimError`."""
        for r in self.readings:
            if r.name == name:
                return r
        from ..errors import UnknownClaimError

        raise UnknownClaimError(
            f"claim {self.id!r} has no reading {name!r}; its readings are "
            f"{', '.join(r.name for r in self.readings)}"
        )


@dataclass
class Outcome:
    """The result of evaluating one reading on one case.

    Attributes:
        ok: whether the reading's statement holds on this case.
        measured, bound: the two sides compared; ``ratio = measured / bound`` is reported as the
            case's tightness (for identities: discrepancy / tolerance).
        counterexample: a JSON-serialisable description of the case, kept when ``ok`` is False.
        label: which family of cases this was (``"gaussian"``, ``"trained:sum-tanh"``, ...).
        decided: False when the case decides nothing either way (an empirical comparison whose
            confidence interval contains "no effect"): it is then neither a counterexample nor
            support, and a reading with such a case and no counterexample is ``not-proven``.
    """

    ok: bool
    measured: float
    bound: float
    counterexample: dict[str, Any] | None = None
    label: str = ""
    decided: bool = True

    @property
    def ratio(self) -> float:
        if self.bound == 0.0:
            return 1.0 if self.measured == 0.0 else math.inf
        return float(self.measured) / float(self.bound)


@dataclass(frozen=True)
class Evaluator:
    """The numeric side of one reading.

    Attributes:
        sample: ``sample(rng, index) -> case``; draws the ``index``-th case from a numpy Generator.
            Cases are plain dicts of parameters (shapes, family, seed) so they can be rebuilt.
            ``None`` for a reading decided on fixed cases only (the empirical claims: the data are
            training runs, not draws).
        evaluate: ``evaluate(case) -> Outcome``.
        method: one line saying how a case is decided (norms used, dtype, tolerance).
        fixed_cases: ``fixed_cases(fixtures) -> cases``: cases always evaluated before the sampled
            ones (trained zoo models, datasets of training results, runs of a study), drawn from
            the :class:`~lipbound.claims.Fixtures` the runner passes (never from the environment
            or module state), and given as a callable so that building them (training) happens
            only when checked. Each case names what it was drawn from (the zoo model, the results
            directory, the data folder), so that ``evaluate`` needs nothing else.
        witness: the ledger's concrete counterexample for a reading expected to fail, or None.
        fixed_cases_data: names of the data sets (:class:`DataNeed` names) the fixed cases are drawn from; when one
            is absent the fixed cases are left out (the sampled cases still decide the reading) and
            the row's detail says so.
    """

    sample: Callable[[np.random.Generator, int], dict[str, Any]] | None
    evaluate: Callable[[dict[str, Any]], Outcome]
    method: str
    fixed_cases: Callable[[Any], list[dict[str, Any]]] | None = None
    witness: Callable[[], dict[str, Any]] | None = None
    fixed_cases_data: tuple[str, ...] = ()


@dataclass(frozen=True)
class DataNeed:
    """A data set that some readings need and lipbound does not ship.

    Attributes:
        name: the id that :attr:`ReadingStatement.requires_data` and :attr:`Evaluator.fixed_cases_data`
            use (``"icub"``).
        what: what it is, for messages (``"the iCub multimodal data set (two .mat files)"``).
        how_to_get: one sentence saying how to make it available.
        locate: ``locate(path) -> (folder or None, where looked)``: with ``path``, looks there only;
            with None, in the default places (an environment variable, a default folder). Raises
            :class:`~lipbound.errors.LipboundError` when the data is there but unreadable.
    """

    name: str
    what: str
    how_to_get: str
    locate: Callable[[str | None], tuple[Path | None, str]]


@dataclass(frozen=True)
class DataLocation:
    """Where a :class:`DataNeed` was found (``path``), or that it is absent (``path`` None) and where
    lipbound looked (``searched``)."""

    need: DataNeed
    path: Path | None
    searched: str

    @property
    def present(self) -> bool:
        return self.path is not None

    def absent_message(self) -> str:
        """Why the data is missing and how to get it, in one sentence.

        >>> n = DataNeed("toy", "the toy data", "put it in ./toy", lambda p: (None, "./toy"))
        >>> DataLocation(n, None, "./toy").absent_message()
        'needs the toy data, which is absent (looked in ./toy); put it in ./toy'
        """
        return f"needs {self.need.what}, which is absent (looked in {self.searched}); {self.need.how_to_get}"


@dataclass(frozen=True)
class ProofResult:
    """What a proof script established for one reading.

    ``proved`` is True (sympy verified every step), False (a step was shown false) or None
    (sympy could not decide: "not proven"). ``scope`` says for which instances/generality.
    ``refuting_steps``: for a refutation, how many of the last steps are the refuting ones (the
    supporting steps before them must all pass).
    """

    proved: bool | None
    scope: str
    steps: tuple[str, ...] = ()
    refuting_steps: int = 1


@dataclass
class Row:
    """One reported row: one reading of one claim. :meth:`as_dict` gives the JSON row."""

    claim: str
    reading: str
    status: Status
    expected: bool | None
    cases: int
    tightest_ratio: float | None
    counterexample: dict[str, Any] | None
    seconds: float
    seed: int
    method: str
    detail: str = ""
    proof: str | None = None
    #: the reading's :attr:`ReadingStatement.kind`
    kind: str = "universal"
    #: per-case ``{"measured", "bound", "ok", "label"}`` dicts (at most :data:`CASES_DATA_CAP`, in
    #: evaluation order) for the report's bound-vs-measured scatter; None when not recorded
    cases_data: list[dict[str, Any]] | None = None

    def as_dict(self) -> dict[str, Any]:
        ratio = self.tightest_ratio
        if ratio is not None and not math.isfinite(ratio):
            ratio = str(ratio)  # JSON has no inf; keep it visible as a string
        return {
            "claim": self.claim,
            "reading": self.reading,
            "status": self.status,
            "expected": self.expected,
            "cases": self.cases,
            "tightest_ratio": ratio,
            "counterexample": self.counterexample,
            "seconds": round(self.seconds, 4),
            "seed": self.seed,
            "method": self.method,
            "proof": self.proof,
            "detail": self.detail,
            "kind": self.kind,
        } | ({} if self.cases_data is None else {"cases_data": [
            {k: (str(v) if isinstance(v, float) and not math.isfinite(v) else v) for k, v in c.items()}
            for c in self.cases_data]})

    @property
    def unexpected(self) -> bool:
        """True when the ledger expects the reading to hold and a case failed it (:func:`is_unexpected`)."""
        return self.expected is True and self.status in FAILED_STATUSES


@dataclass(frozen=True)
class Claim:
    """A ledger entry: statement, evaluators and proofs joined by reading name.

    ``witness_accepted_by`` maps a reading whose evaluator carries a witness to the readings
    expected to hold that accept that witness (it lies in their domain), from the claim folder's
    ``WITNESS_ACCEPTED_BY``."""

    statement: ClaimStatement
    evaluators: Mapping[str, Evaluator]
    proofs: Mapping[str, Callable[[], ProofResult]] = field(default_factory=dict)
    witness_accepted_by: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.statement.id

    def validate(self) -> None:
        """Raise ValueError unless every reading has an evaluator or a proof, and nothing else does."""
        names = {r.name for r in self.statement.readings}
        extra = (set(self.evaluators) | set(self.proofs)) - names
        missing = names - set(self.evaluators) - set(self.proofs)
        if extra or missing:
            raise ValueError(
                f"claim {self.id}: evaluators/proofs do not match its readings "
                f"(unknown: {sorted(extra)}, unchecked: {sorted(missing)})"
            )
        for w, holds in self.witness_accepted_by.items():
            ev = self.evaluators.get(w)
            if ev is None or ev.witness is None:
                raise ValueError(f"claim {self.id}: WITNESS_ACCEPTED_BY names {w!r}, which has no witness")
            bad = [h for h in holds if h not in names or self.statement.reading(h).expected is not True
                   or h not in self.evaluators]
            if bad:
                raise ValueError(f"claim {self.id}: the witness of {w!r} is said to be accepted by {bad}, which are not "
                                 "readings expected to hold with an evaluator")


def is_unexpected(row: Mapping[str, Any]) -> bool:
    """True when a row (a :meth:`Row.as_dict` or a JSON row) is a reading the ledger expects to hold
    that some case failed (status ``refuted``, ``loose`` or ``not-supported``): ``lipbound verify``
    then exits with status 1.

    >>> is_unexpected({"expected": True, "status": "loose"}), is_unexpected({"expected": False, "status": "refuted"})
    (True, False)
    """
    return row.get("expected") is True and row.get("status") in FAILED_STATUSES


def expected_label(expected: bool | None, kind: str = "universal") -> str:
    """How an expectation is shown in tables: ``holds``, ``open`` (no prediction), or for a reading
    expected to fail the status it should get: ``fails`` (universal, i.e. ``refuted``), ``loose``
    (growth-rate) or ``not-supported`` (tendency).

    >>> [expected_label(e) for e in (True, False, None)]
    ['holds', 'fails', 'open']
    >>> expected_label(False, "growth-rate"), expected_label(False, "tendency"), expected_label(True, "tendency")
    ('loose', 'not-supported', 'holds')
    """
    if expected is None:
        return "open"
    if expected:
        return "holds"
    return "fails" if FAILURE_STATUS.get(kind, "refuted") == "refuted" else FAILURE_STATUS[kind]


def status_legend() -> str:
    """The statuses and their meanings, as one Markdown sentence for tables of rows (the CLI's
    Markdown report and the HTML report).

    >>> status_legend().startswith("Status: **proved** = a sympy proof script verified it")
    True
    """
    return "Status: " + "; ".join(f"**{s}** = {m}" for s, m in STATUS_MEANINGS.items()) + "."
