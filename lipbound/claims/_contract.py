"""The contract every claim of the ledger keeps, checked generically (one pytest id per claim and check).

As scikit-learn's ``parametrize_with_checks`` runs the same checks over every estimator, this module
states what any :class:`~lipbound.claims.Claim` must satisfy, whatever its section or evaluator, so
that a new claim is checked the moment it is registered:

* ``joined``: every reading has an evaluator or a proof, and nothing else does
  (:meth:`Claim.validate`);
* ``witness-when-expected-to-fail``: a reading expected to fail (``refuted``, ``loose`` or
  ``not-supported``) carries the ledger's concrete witness; one expected to hold (or open) carries
  none;
* ``witness-rejected``: its own reading's evaluator rejects the witness (``ok`` False), so a reading
  stays refuted even when no sampled case fails;
* ``cases-deterministic``: the case sampler gives the same case twice from the generator of the same
  ``(seed, claim, reading, index)`` (:func:`~lipbound.claims.case_rng`), and different seeds give
  cases that differ somewhere (a sampler that ignores its generator is caught);
* ``json-safe``: sampled cases, the witness and the witness's counterexample serialise as strict JSON
  (no NaN or infinity), so every row and report can carry them.

``tests/test_claim_contract.py`` runs :data:`CHECKS` over :data:`~lipbound.claims.CLAIMS`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ._ledger import Claim

#: sampled cases drawn per reading by ``cases-deterministic`` and ``json-safe``
CASES = 3


def _expected_to_fail(reading) -> bool:
    """The ledger expects the reading to fail (``refuted``, ``loose`` or ``not-supported`` by kind)."""
    return reading.expected is False


def _strict_json(obj: Any, what: str) -> list[str]:
    try:
        json.dumps(obj, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        return [f"{what} is not strict JSON ({type(exc).__name__}: {exc})"]
    return []


def check_joined(claim: Claim) -> list[str]:
    try:
        claim.validate()
    except ValueError as exc:
        return [str(exc)]
    return []


def check_witnesses(claim: Claim) -> list[str]:
    problems = []
    for r in claim.statement.readings:
        ev = claim.evaluators.get(r.name)
        has = ev is not None and ev.witness is not None
        if _expected_to_fail(r) and not has and r.name not in claim.proofs:
            problems.append(f"{r.name}: expected to fail but carries no witness")
        if not _expected_to_fail(r) and has:
            problems.append(f"{r.name}: expected to {'hold' if r.expected else 'stay open'} but carries a witness")
    return problems


def check_witness_rejected(claim: Claim) -> list[str]:
    problems = []
    for r in claim.statement.readings:
        ev = claim.evaluators.get(r.name)
        if ev is None or ev.witness is None:
            continue
        out = ev.evaluate(ev.witness())
        if out.ok:
            problems.append(f"{r.name}: its evaluator accepts the ledger's witness (measured {out.measured!r}, "
                            f"bound {out.bound!r})")
    return problems


def _samples(claim: Claim, reading: str, seed: int) -> list[Any]:
    from ._runner import case_rng

    ev = claim.evaluators[reading]
    return [ev.sample(case_rng(seed, claim.id, reading, i), i) for i in range(CASES)]


def check_cases_deterministic(claim: Claim) -> list[str]:
    problems = []
    for r in claim.statement.readings:
        ev = claim.evaluators.get(r.name)
        if ev is None or ev.sample is None:
            continue
        a, b = _samples(claim, r.name, 0), _samples(claim, r.name, 0)
        key = lambda cases: json.dumps(cases, sort_keys=True, default=repr)  # noqa: E731
        if key(a) != key(b):
            problems.append(f"{r.name}: the same generators gave different cases")
        if key(a) == key(_samples(claim, r.name, 1)):
            problems.append(f"{r.name}: seeds 0 and 1 gave the same {CASES} cases (does the sampler use its "
                            "generator?)")
    return problems


def check_json_safe(claim: Claim) -> list[str]:
    problems = []
    for r in claim.statement.readings:
        ev = claim.evaluators.get(r.name)
        if ev is None:
            continue
        if ev.sample is not None:
            for i, case in enumerate(_samples(claim, r.name, 0)):
                problems += _strict_json(case, f"{r.name}: sampled case {i}")
        if ev.witness is not None:
            w = ev.witness()
            problems += _strict_json(w, f"{r.name}: the witness")
            out = ev.evaluate(w)
            if out.counterexample is not None:
                problems += _strict_json(out.counterexample, f"{r.name}: the witness's counterexample")
    return problems


#: the contract: check id -> ``check(claim) -> problems`` (empty when the claim keeps it)
CHECKS: dict[str, Callable[[Claim], list[str]]] = {
    "joined": check_joined,
    "witness-when-expected-to-fail": check_witnesses,
    "witness-rejected": check_witness_rejected,
    "cases-deterministic": check_cases_deterministic,
    "json-safe": check_json_safe,
}


def check_contract(claim: Claim, checks: tuple[str, ...] | None = None) -> dict[str, list[str]]:
    """Run the contract's checks (all, or those named) on ``claim``: ``{check id: problems}``.

    >>> from lipbound.claims import get_claim
    >>> {k: v for k, v in check_contract(get_claim("thm-3.3"), ("joined", "witness-when-expected-to-fail")).items()}
    {'joined': [], 'witness-when-expected-to-fail': []}
    """
    return {name: CHECKS[name](claim) for name in (checks or tuple(CHECKS))}
