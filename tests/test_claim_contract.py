"""The generic claim contract (lipbound.claims._contract) over every claim of the ledger: one pytest
id per (claim, check), so ``pytest -k thm-3.3`` or ``pytest -k witness-rejected`` selects them. A new
claim is checked here as soon as it is registered, with no test of its own."""

from __future__ import annotations

import numpy as np
import pytest

from lipbound.claims import CLAIMS
from lipbound.claims._contract import CHECKS, check_contract
from lipbound.claims._ledger import Claim, ClaimStatement, Evaluator, Outcome, ReadingStatement

PAIRS = [(cid, check) for cid in CLAIMS for check in CHECKS]


@pytest.mark.parametrize("claim_id, check", PAIRS, ids=[f"{c}::{k}" for c, k in PAIRS])
def test_claim_keeps_the_contract(claim_id, check):
    problems = check_contract(CLAIMS[claim_id], (check,))[check]
    assert problems == [], problems


def _toy(*, sample, witness, evaluate, expected=False) -> Claim:
    reading = ReadingStatement("r", "a toy reading", expected, "toy")
    statement = ClaimStatement("toy", "Toy", "", "", "", (), (reading,), "", "", "")
    return Claim(statement, {"r": Evaluator(sample, evaluate, "toy", witness=witness)})


def test_the_contract_catches_what_it_states():
    """Each check fails on a claim built to break it (a check must be able to fail)."""
    fine = lambda rng, i: {"x": float(rng.standard_normal())}  # noqa: E731
    reject = lambda case: Outcome(False, 1.0, 0.5, counterexample=case)  # noqa: E731
    assert all(v == [] for v in check_contract(_toy(sample=fine, witness=lambda: {"x": 1.0},
                                                    evaluate=reject)).values())
    no_witness = _toy(sample=fine, witness=None, evaluate=reject)
    assert check_contract(no_witness, ("witness-when-expected-to-fail",))["witness-when-expected-to-fail"]
    accepts = _toy(sample=fine, witness=lambda: {"x": 1.0}, evaluate=lambda c: Outcome(True, 0.5, 1.0))
    assert check_contract(accepts, ("witness-rejected",))["witness-rejected"]
    ignores = _toy(sample=lambda rng, i: {"x": 0.0}, witness=lambda: {"x": 1.0}, evaluate=reject)
    assert check_contract(ignores, ("cases-deterministic",))["cases-deterministic"]
    unseeded = np.random.default_rng()
    global_rng = _toy(sample=lambda rng, i: {"x": float(unseeded.standard_normal())}, witness=lambda: {"x": 1.0},
                      evaluate=reject)
    assert check_contract(global_rng, ("cases-deterministic",))["cases-deterministic"]
    nan = _toy(sample=lambda rng, i: {"x": float("nan")}, witness=lambda: {"x": 1.0}, evaluate=reject)
    assert check_contract(nan, ("json-safe",))["json-safe"]
    held = _toy(sample=fine, witness=lambda: {"x": 1.0}, evaluate=reject, expected=True)
    assert check_contract(held, ("witness-when-expected-to-fail",))["witness-when-expected-to-fail"]
