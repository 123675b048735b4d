"""Every reading of every claim, one pytest id each (`pytest -k thm-3.3` selects a claim): the
ledger's own check agrees with its expectation, proofs agree, and the ledger is complete."""

from __future__ import annotations

from pathlib import Path

import pytest

from lipbound.claims import CLAIMS, STATUSES, check_reading, get_claim
from lipbound.errors import UnknownClaimError

ROOT = Path(__file__).resolve().parents[1]
READINGS = [(c.id, r.name) for c in CLAIMS.values() for r in c.statement.readings]
IDS = [f"{c}::{r}" for c, r in READINGS]

#: sampled cases per reading here; the trained zoo models are always included on top
EXAMPLES = 8


@pytest.mark.parametrize(("claim_id", "reading"), READINGS, ids=IDS)
def test_reading_matches_ledger(claim_id, reading):
    claim = get_claim(claim_id)
    row = check_reading(claim, reading, examples=EXAMPLES, seed=0)
    d = row.as_dict()
    assert set(d) >= {"claim", "reading", "status", "expected", "cases", "tightest_ratio", "counterexample", "seconds"}
    assert d["status"] in STATUSES
    assert d["cases"] >= EXAMPLES
    if d["expected"] is None:
        # open readings (training outcomes no theorem predicts): either answer is a finding, but it
        # must be an answer, and a refutation must carry its counterexample
        assert d["status"] in ("proved", "holds", "refuted"), d
        assert (d["status"] == "refuted") == bool(d["counterexample"]), d
    elif d["expected"]:
        assert d["status"] in ("proved", "holds"), d
        assert d["counterexample"] is None
    else:
        assert d["status"] == "refuted", d
        assert d["counterexample"], "a refuted reading must carry its counterexample"


@pytest.mark.parametrize(("claim_id", "reading"), READINGS, ids=IDS)
def test_proof_script_agrees(claim_id, reading):
    claim = get_claim(claim_id)
    proof = claim.proofs.get(reading)
    if proof is None:
        # measured-only readings (e.g. training outcomes) need an evaluator instead
        assert reading in claim.evaluators, f"{claim_id}/{reading} has neither a proof nor an evaluator"
        return
    res = proof()
    expected = claim.statement.reading(reading).expected
    assert res.proved is expected, res.steps


@pytest.mark.parametrize("claim_id", list(CLAIMS))
def test_claim_has_docs_proof_and_tests(claim_id):
    st = get_claim(claim_id).statement
    for rel in (st.doc_page, st.proof_script, st.test_file):
        assert (ROOT / rel).is_file(), f"{claim_id}: {rel} is missing"
    page = (ROOT / st.doc_page).read_text()
    for heading in ("Statement", "Assumptions", "Proof", "How lipbound checks it", "Result"):
        assert f"## {heading}" in page, f"{st.doc_page} lacks the section {heading!r}"
    for r in st.readings:
        assert r.name in page, f"{st.doc_page} does not mention reading {r.name!r}"


def test_unknown_claim_id():
    with pytest.raises(UnknownClaimError, match="unknown claim id 'thm-9.9'; known claims: lemma-3.1"):
        get_claim("thm-9.9")
    with pytest.raises(UnknownClaimError, match="has no reading 'nope'"):
        get_claim("thm-3.3").statement.reading("nope")


def test_runner_reports_refutation_of_an_expected_reading():
    """A reading expected to hold whose evaluator fails is reported refuted with its counterexample."""
    from lipbound.claims import Claim, ClaimStatement, Evaluator, Outcome, ReadingStatement

    st = ClaimStatement("toy", "toy", "Toy", "none", "x", (), (ReadingStatement("r", "1 <= 0", True),),
                        "docs/x.md", "proofs/x.py", "tests/x.py")
    ev = Evaluator(sample=lambda rng, k: {"k": k}, evaluate=lambda c: Outcome(c["k"] < 3, c["k"], 2, dict(c)),
                   method="toy")
    row = check_reading(Claim(st, {"r": ev}), "r", examples=5)
    assert row.status == "refuted" and row.unexpected
    assert row.counterexample["k"] == 4  # the largest ratio among the failing cases
    assert row.cases == 5


@pytest.mark.parametrize("claim_id", list(CLAIMS))
def test_claim_joins_statement_evaluators_and_proofs(claim_id):
    get_claim(claim_id).validate()
