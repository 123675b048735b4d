"""The ledger's witnesses and refutation proofs, one pytest id per (claim, reading), so that
``pytest -k <claim-id>`` selects them.

Conventions (docs/devdocs/conventions.md, lipbound.claims.Evaluator): a witness is "the ledger's
concrete counterexample for a reading expected to fail". So:

* every witness is rejected by its own reading's evaluator (``out.ok`` is False): a reading must not
  stay refuted only through some other sampled case, and ``check_reading`` with no sampled case at
  all must still fail it, from the witness (``refuted``; ``loose`` or ``not-supported`` for a
  growth-rate or tendency reading);
* readings expected to hold (or open) carry no witness;
* the witness is *accepted* by the readings of the same claim that are expected to hold, where the
  case is in their domain (the same model, the same setting): a counterexample to the paper's
  reading is not one to lipbound's own;
* a refutation proof (``proved=False``) passes every supporting step and fails only the refuting
  step(s), which come last; a proof of a reading expected to hold passes every step.
"""

from __future__ import annotations

import pytest

from lipbound.claims import CLAIMS, check_reading

READINGS = [(c.id, r.name, r.expected) for c in CLAIMS.values() for r in c.statement.readings]


def _ids(rows):
    return [f"{c}::{r}" for c, r, *_ in rows]


WITNESSED = [(c, r, e) for c, r, e in READINGS if CLAIMS[c].evaluators.get(r) is not None
             and CLAIMS[c].evaluators[r].witness is not None]
#: readings expected to fail that have no witness, against the convention: a finding, kept here
#: so that the test below fails (strict xfail) as soon as one is added
MISSING_WITNESS = {("thm-4.2", "cubic-in-w"), ("thm-4.2", "linear-in-M")}


@pytest.mark.parametrize(("claim_id", "reading", "expected"), WITNESSED, ids=_ids(WITNESSED))
def test_witness_is_rejected_by_its_reading(claim_id, reading, expected):
    assert expected is False, "witnesses are for readings expected to fail"
    ev = CLAIMS[claim_id].evaluators[reading]
    out = ev.evaluate(ev.witness())
    assert out.ok is False, (claim_id, reading, out)
    # and the runner fails the reading from the witness alone (no sampled, no fixed case): refuted,
    # or loose / not-supported for a growth-rate / tendency reading
    row = check_reading(CLAIMS[claim_id], reading, examples=0, with_fixed=False)
    fails_as = CLAIMS[claim_id].statement.reading(reading).failure_status
    assert row.status == fails_as and row.cases == 1 and row.counterexample["source"] == "witness", row


FAILING = [(c, r, e) for c, r, e in READINGS if e is False]


@pytest.mark.parametrize(("claim_id", "reading", "expected"), [
    pytest.param(c, r, e, marks=pytest.mark.xfail(strict=True, reason="finding: no witness in the ledger"))
    if (c, r) in MISSING_WITNESS else (c, r, e) for c, r, e in FAILING], ids=_ids(FAILING))
def test_every_reading_expected_to_fail_has_a_witness(claim_id, reading, expected):
    ev = CLAIMS[claim_id].evaluators.get(reading)
    assert ev is not None and ev.witness is not None


NOT_FAILING = [(c, r, e) for c, r, e in READINGS if e is not False and CLAIMS[c].evaluators.get(r) is not None]


@pytest.mark.parametrize(("claim_id", "reading", "expected"), NOT_FAILING, ids=_ids(NOT_FAILING))
def test_readings_not_expected_to_fail_carry_no_witness(claim_id, reading, expected):
    assert CLAIMS[claim_id].evaluators[reading].witness is None


#: (claim, reading whose witness, reading expected to hold that accepts it): from each claim folder's
#: WITNESS_ACCEPTED_BY, the pairs whose case is in the second reading's domain (a counterexample to
#: the paper's reading must not be one to lipbound's own). Claim.validate checks the names.
ACCEPTED = [(c.id, w, h) for c in CLAIMS.values() for w, hs in c.witness_accepted_by.items() for h in hs]


@pytest.mark.parametrize(("claim_id", "witness_of", "holds"), ACCEPTED,
                         ids=[f"{c}::{w}->{h}" for c, w, h in ACCEPTED])
def test_witness_is_accepted_by_readings_expected_to_hold(claim_id, witness_of, holds):
    claim = CLAIMS[claim_id]
    assert claim.statement.reading(holds).expected is True
    out = claim.evaluators[holds].evaluate(claim.evaluators[witness_of].witness())
    assert out.ok is True, (claim_id, witness_of, holds, out)


# ------------------------------------------------------------------------------ proof steps
PROVEN = [(c, r, e) for c, r, e in READINGS if r in CLAIMS[c].proofs]
#: refutation proofs whose steps are plain strings with no verdict ("all steps held" is encoded in
#: proved=False itself): their steps are not individually exposed, so a supporting step that fails
#: cannot be told from the refuting one by reading the ProofResult (a finding)
UNSTRUCTURED = {("thm-3.1", "paper-bound"), ("thm-3.2", "paper-bound"), ("thm-3.2", "encoder-exceeds-decoder")}
VERDICTS = ("ok", "FAILED", "undecided")


def _parse(steps):
    out = []
    for s in steps:
        verdict, sep, name = s.partition(": ")
        if not sep or verdict not in VERDICTS:
            return None
        out.append((verdict, name))
    return out


@pytest.mark.parametrize(("claim_id", "reading", "expected"), [
    pytest.param(c, r, e, marks=pytest.mark.xfail(strict=True, reason="finding: steps carry no verdict"))
    if (c, r) in UNSTRUCTURED else (c, r, e) for c, r, e in PROVEN], ids=_ids(PROVEN))
def test_proof_steps(claim_id, reading, expected):
    res = CLAIMS[claim_id].proofs[reading]()
    assert res.proved is expected
    steps = _parse(res.steps)
    assert steps, f"{claim_id}/{reading}: steps not individually exposed: {res.steps}"
    verdicts = [v for v, _ in steps]
    if expected:
        assert set(verdicts) == {"ok"}, steps
        return
    n_fail = res.refuting_steps  # stated by the proof (lemma 4.1's self block: 2, an identity and its witness)
    # supporting steps first, all passed; then the refuting step(s), all failed; nothing undecided
    assert verdicts == ["ok"] * (len(verdicts) - n_fail) + ["FAILED"] * n_fail, steps
