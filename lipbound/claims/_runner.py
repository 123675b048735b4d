"""Run a claim's checks and turn them into :class:`~lipbound.claims.Row` objects.

How a status is assigned (see ``docs/devdocs/conventions.md``):

* ``refuted``: some case (sampled, fixed, or the ledger's witness) violates a ``universal`` reading;
  the counterexample with the largest ratio is reported.
* ``loose``: the same for a ``growth-rate`` reading (:attr:`~lipbound.claims.ReadingStatement.kind`):
  a case shows that a bound's stated growth or constant is not attained by the true constant. The
  bound is not shown false; the failing case with the largest ratio is reported as the witness.
* ``not-supported``: the same for a ``tendency`` reading (the paper hedges, "typically"): some case
  reverses it. The row also says on how many decided cases it held, per source (fixed, sampled; the
  ledger's witness is not counted), in its detail and under ``held_on`` in its counterexample.
* ``proved``: no case violates it and the reading's sympy proof returned True.
* ``holds``: no case violates it, there is no proof (or the proof returned None), at least one
  case was evaluated, and every case decided (:attr:`~lipbound.claims.Outcome.decided`).
* ``not-proven``: neither a proof nor any evaluated case, or the proof itself failed (False)
  while no counterexample was found, or some case was inconclusive (``decided=False``: an
  empirical comparison whose interval contains "no effect") and none was a counterexample.
* ``skipped``: not checked at all, because a data set the reading is decided on
  (:attr:`~lipbound.claims.ReadingStatement.requires_data`) is absent; the detail says which, where
  lipbound looked and how to get it. When only the data of the fixed cases
  (:attr:`~lipbound.claims.Evaluator.fixed_cases_data`) is absent, the fixed cases are left out, the
  other cases decide the status, and the detail says what was left out.
"""

from __future__ import annotations

import os
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from ._fixtures import Fixtures
from ._ledger import CASES_DATA_CAP, Claim, DataLocation, Outcome, ProofResult, Row


def held_on(counts: Mapping[str, list[int]]) -> dict[str, Any]:
    """How often a reading held over the decided cases, per source, the ledger's witness left out
    (it is chosen to fail): ``counts[source] = [held, decided]``.

    >>> held_on({"fixed": [1, 3], "sampled": [4, 5], "witness": [0, 1]})["fraction"]
    0.625
    """
    by_source = {src: {"held": h, "cases": n} for src, (h, n) in counts.items() if src != "witness" and n}
    held = sum(v["held"] for v in by_source.values())
    cases = sum(v["cases"] for v in by_source.values())
    return {"held": held, "cases": cases, "fraction": (held / cases) if cases else None, "by_source": by_source,
            "note": "decided cases where the reading held; the ledger's witness is not counted"}


def _held_text(h: dict[str, Any]) -> str:
    parts = [f"{v['held']} of {v['cases']} {src}" for src, v in h["by_source"].items()]
    if not parts:
        return "no decided case besides the ledger's witness"
    total = f"{h['held']} of {h['cases']}, {100 * h['fraction']:.0f}%"
    return f"held on {' and '.join(parts)} cases ({total}; the ledger's witness not counted)"


def case_rng(seed: int, claim_id: str, reading: str, index: int) -> np.random.Generator:
    """The generator for case ``index`` of a reading: independent of other readings and stable."""
    key = zlib.crc32(f"{claim_id}/{reading}".encode())
    return np.random.default_rng([int(seed), key, int(index)])


def data_needs(claim: Claim, reading: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(names the reading is decided on, names its fixed cases are drawn from)``: the data sets
    (keys of :data:`lipbound.claims._registry.DATA_NEEDS`) a check of ``claim`` / ``reading`` needs."""
    ev = claim.evaluators.get(reading)
    return claim.statement.reading(reading).requires_data, (ev.fixed_cases_data if ev is not None else ())


def locate_data(names: Iterable[str], paths: Mapping[str, str | os.PathLike] | None = None) -> dict[str, DataLocation]:
    """Locate each named data set once: at ``paths[name]`` when given (only there), else in its
    default places. Raises :class:`~lipbound.errors.LipboundError` for a name that is no data set
    lipbound knows, or for data that is present but unreadable."""
    from ..errors import LipboundError
    from ._registry import DATA_NEEDS

    paths = dict(paths or {})
    out: dict[str, DataLocation] = {}
    for name in dict.fromkeys([*names, *paths]):
        need = DATA_NEEDS.get(name)
        if need is None:
            raise LipboundError(f"unknown data set {name!r}; lipbound knows: {', '.join(DATA_NEEDS) or 'none'}")
        given = paths.get(name)
        folder, searched = need.locate(None if given is None else os.fspath(given))
        out[name] = DataLocation(need, folder, searched)
    return out


def _skipped_row(claim: Claim, reading: str, seed: int, method: str, absent: list[DataLocation]) -> Row:
    stmt = claim.statement.reading(reading)
    return Row(claim=claim.id, reading=reading, status="skipped", expected=stmt.expected,
               cases=0, tightest_ratio=None, counterexample=None, seconds=0.0, seed=seed, method=method,
               detail="not checked: " + "; ".join(loc.absent_message() for loc in absent), proof=None,
               cases_data=None, kind=stmt.kind)


def _run_proof(fn: Callable[[], ProofResult] | None) -> tuple[bool | None, str | None]:
    if fn is None:
        return None, None
    try:
        res = fn()
    except Exception as exc:  # a crashing proof script is "not proven", and says why
        return None, f"proof script raised {type(exc).__name__}: {exc}"
    verdict = {True: "proved", False: "disproved (a step failed or an exact counterexample)",
               None: "sympy could not decide"}[res.proved]
    return res.proved, f"{verdict} ({res.scope})"


def check_reading(
    claim: Claim,
    reading: str,
    *,
    examples: int = 50,
    seed: int = 0,
    with_fixed: bool = True,
    on_case: Callable[[], None] | None = None,
    fixtures: Fixtures | None = None,
    data: Mapping[str, DataLocation] | None = None,
) -> Row:
    """Check one reading of ``claim`` on ``examples`` sampled cases (plus fixed cases and witness).

    ``fixtures``: what the fixed cases are drawn from (:class:`~lipbound.claims.Fixtures`: the zoo,
    the results of the empirical claims, the MVAE study, the located data sets), passed to the
    evaluator's ``fixed_cases``; the defaults when None. ``data``: more located data sets
    (:func:`locate_data`, called once per run by ``lipbound verify``), added to the fixtures'; a
    needed name neither has is located here. A reading whose data is absent is not checked: its
    row is ``skipped`` (see the module docstring)."""
    stmt = claim.statement.reading(reading)
    ev = claim.evaluators.get(reading)
    needs, fixed_needs = data_needs(claim, reading)
    fixtures = (fixtures or Fixtures()).with_data(data or {})
    data = dict(fixtures.data)
    data.update(locate_data([n for n in (*needs, *fixed_needs) if n not in data]))
    fixtures = fixtures.with_data(data)
    absent = [data[n] for n in needs if not data[n].present]
    if absent:
        return _skipped_row(claim, reading, seed, ev.method if ev is not None else "symbolic only", absent)
    fixed_absent = [data[n] for n in fixed_needs if not data[n].present]
    t0 = time.perf_counter()
    proved, proof_note = _run_proof(claim.proofs.get(reading))
    n_cases = 0
    worst_ratio: float | None = None
    worst_fail: Outcome | None = None
    fail_source = ""
    worst_rank: tuple[bool, float] = (False, -np.inf)
    cases_data: list[dict[str, Any]] = []
    undecided: list[str] = []
    counts: dict[str, list[int]] = {}  # source -> [held, decided]
    held_label = ""  # the first decided fixed case's label: a tendency that holds says on what data
    left_out = ""
    sources: list[tuple[str, Iterable[dict[str, Any]]]] = []
    if ev is not None and with_fixed and ev.fixed_cases is not None:
        if fixed_absent:
            left_out = "; the fixed cases were left out: " + "; ".join(loc.absent_message() for loc in fixed_absent)
        else:
            sources.append(("fixed", ev.fixed_cases(fixtures)))
    if ev is not None and ev.sample is not None:
        sources.append(("sampled", (ev.sample(case_rng(seed, claim.id, reading, k), k) for k in range(examples))))
        if ev.witness is not None:
            sources.append(("witness", [ev.witness()]))
    for source, cases in sources:
        for case in cases:
            out = ev.evaluate(case)
            n_cases += 1
            r = out.ratio
            if len(cases_data) < CASES_DATA_CAP:
                cases_data.append({"measured": float(out.measured), "bound": float(out.bound),
                                   "ok": bool(out.ok), "label": out.label or source,
                                   **({} if out.decided else {"decided": False})})
            worst_ratio = r if worst_ratio is None else max(worst_ratio, r)
            if not out.decided:
                undecided.append(out.label or source)
            else:
                if source == "fixed" and out.label and not held_label:
                    held_label = out.label
                tally = counts.setdefault(source, [0, 0])
                tally[0] += bool(out.ok)
                tally[1] += 1
            if out.decided and not out.ok:
                # prefer a counterexample found by search over the ledger's witness, then the largest ratio
                rank = (source != "witness", r)
                if worst_fail is None or rank > worst_rank:
                    worst_fail, fail_source, worst_rank = out, source, rank
            if on_case is not None:
                on_case()
    held = held_on(counts) if stmt.kind == "tendency" else None
    if worst_fail is not None:
        status = stmt.failure_status
        where = f"the {fail_source} cases ({worst_fail.label})"
        if held is not None:  # not-supported
            detail = (f"a tendency our cases do not support: {_held_text(held)}; the failing case with the "
                      f"largest ratio is from {where}")
        elif status == "loose":
            detail = f"the stated growth is not attained (the bound is loose, not shown false); witness from {where}"
        else:
            detail = f"counterexample from {where}"
        if proved:
            detail += "; CONFLICT: the proof script claims a proof (bug in the proof or the evaluator)"
    elif proved is True:
        status, detail = "proved", "no counterexample among the cases"
    elif proved is False:
        status, detail = "not-proven", "the proof script failed a step; no counterexample found"
    elif undecided:
        status = "not-proven"
        detail = (f"inconclusive on {len(undecided)} of {n_cases} cases (neither supported nor contradicted), no "
                  f"counterexample: {undecided[0]}")
    elif n_cases > 0:
        status, detail = "holds", f"held on all {n_cases} cases; no symbolic proof"
        if stmt.kind == "tendency" and held_label:
            detail += f" (first case: {held_label})"
    else:
        status, detail = "not-proven", "no proof and no cases evaluated"
    detail += left_out
    counterexample = None
    if worst_fail is not None:
        counterexample = dict(worst_fail.counterexample or {})
        counterexample.setdefault("source", fail_source)
        counterexample.setdefault("measured", worst_fail.measured)
        counterexample.setdefault("bound", worst_fail.bound)
        if held is not None:
            counterexample["held_on"] = held
    return Row(
        claim=claim.id,
        reading=reading,
        status=status,  # type: ignore[arg-type]
        expected=stmt.expected,
        cases=n_cases,
        tightest_ratio=worst_ratio,
        counterexample=counterexample,
        seconds=time.perf_counter() - t0,
        seed=seed,
        method=ev.method if ev is not None else "symbolic only",
        detail=detail,
        proof=proof_note,
        cases_data=cases_data if ev is not None else None,
        kind=stmt.kind,
    )


def check_claim(claim: Claim, *, examples: int = 50, seed: int = 0, with_fixed: bool = True,
                on_case: Callable[[], None] | None = None, fixtures: Fixtures | None = None,
                data: Mapping[str, DataLocation] | None = None) -> list[Row]:
    """Check every reading of ``claim``; one :class:`Row` per reading, in ledger order. ``fixtures``
    and ``data`` as for :func:`check_reading` (the data sets are located once here)."""
    fixtures = (fixtures or Fixtures()).with_data(data or {})
    names = [n for r in claim.statement.readings for part in data_needs(claim, r.name) for n in part]
    fixtures = fixtures.with_data(locate_data([n for n in names if n not in fixtures.data]))
    return [
        check_reading(claim, r.name, examples=examples, seed=seed, with_fixed=with_fixed, on_case=on_case,
                      fixtures=fixtures)
        for r in claim.statement.readings
    ]
