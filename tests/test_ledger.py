"""Every reading of every claim, one pytest id each (`pytest -k thm-3.3` selects a claim): the
ledger's own check agrees with its expectation, proofs agree, and the ledger is complete. A
reading whose data is not on this machine (the iCub data of the mvae-* claims) comes back
"skipped" and its test is skipped with the reason; the runner's handling of absent data is tested
here on a toy data set."""

from __future__ import annotations

from pathlib import Path

import pytest

from lipbound.claims import CLAIMS, STATUSES, Claim, ClaimStatement, Evaluator, Outcome, ReadingStatement
from lipbound.claims import check_reading, get_claim
from lipbound.claims._ledger import DataLocation, DataNeed
from lipbound.claims._registry import DATA_NEEDS
from lipbound.claims._runner import locate_data
from lipbound.errors import LipboundError, UnknownClaimError

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
    if d["status"] == "skipped":  # only ever for data this machine lacks, and it says so
        assert claim.statement.reading(reading).requires_data and d["cases"] == 0, d
        pytest.skip(d["detail"])
    ev = claim.evaluators.get(reading)
    if ev is not None and ev.sample is None:  # decided on fixed cases only (training results): one per dataset
        assert d["cases"] >= 1
    else:
        assert d["cases"] >= EXAMPLES
    # a failing case makes a universal reading refuted, a growth-rate reading loose, a tendency not-supported
    fails_as = claim.statement.reading(reading).failure_status
    assert d["kind"] == claim.statement.reading(reading).kind
    if d["expected"] is None:
        # open readings (training outcomes no theorem predicts): either answer is a finding; it is
        # an answer (holds / refuted) or, when the runs' intervals contain no effect, not-proven
        # with the reason; a failing reading carries its counterexample
        assert d["status"] in ("proved", "holds", fails_as, "not-proven"), d
        assert (d["status"] == fails_as) == bool(d["counterexample"]), d
        if d["status"] == "not-proven":
            assert "inconclusive" in d["detail"], d
    elif d["expected"]:
        assert d["status"] in ("proved", "holds"), d
        assert d["counterexample"] is None
    else:
        assert d["status"] == fails_as, d
        assert d["counterexample"], f"a {fails_as} reading must carry its counterexample or witness"
        if fails_as == "not-supported":  # a tendency says on how many cases it held
            held = d["counterexample"]["held_on"]
            assert 0 <= held["held"] <= held["cases"] and f"of {held['cases']}" in d["detail"], d


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


# ----------------------------------------------------------------------------- data a reading needs


def _toy(requires=(), fixed_data=(), fixed=None, evaluate=None):
    """A one-reading claim needing the data set ``toy``, and the ``toy`` DataNeed."""
    need = DataNeed("toy", "the toy data", "put it in ./toy", lambda path: (None, "./toy"))
    st = ClaimStatement("toy", "toy", "Toy", "none", "x", (), (ReadingStatement("r", "0 <= 1", True, requires_data=requires),),
                        "docs/x.md", "proofs/x.py", "tests/x.py")
    ev = Evaluator(sample=lambda rng, k: {"k": k}, evaluate=evaluate or (lambda c: Outcome(True, 0.0, 1.0)),
                   method="toy", fixed_cases=fixed, fixed_cases_data=fixed_data)
    return Claim(st, {"r": ev}), need


def test_a_reading_whose_data_is_absent_is_skipped_not_checked():
    claim, need = _toy(requires=("toy",), evaluate=lambda c: pytest.fail("a case was evaluated"))
    row = check_reading(claim, "r", examples=3, data={"toy": DataLocation(need, None, "./toy")})
    assert "skipped" in STATUSES
    assert row.status == "skipped" and row.cases == 0 and row.tightest_ratio is None and row.proof is None
    assert row.detail == "not checked: needs the toy data, which is absent (looked in ./toy); put it in ./toy"
    assert row.as_dict()["status"] == "skipped" and not row.unexpected


def test_the_fixed_cases_get_the_data_location_in_the_fixtures_passed_in(tmp_path):
    """The runner hands the located data to ``fixed_cases`` in its Fixtures (explicitly, no module
    state); the cases carry the folder, so ``evaluate`` reads it from the case alone."""
    from lipbound.claims import Fixtures

    seen = []

    def fixed(fixtures):
        assert isinstance(fixtures, Fixtures) and fixtures.zoo == "none"
        return [{"folder": str(fixtures.data_folder("toy"))}] * 2

    def evaluate(case):
        seen.append(case.get("folder"))
        return Outcome(True, 0.5, 1.0)

    claim, need = _toy(requires=("toy",), fixed_data=("toy",), fixed=fixed, evaluate=evaluate)
    row = check_reading(claim, "r", examples=3, fixtures=Fixtures(zoo="none"),
                        data={"toy": DataLocation(need, tmp_path, str(tmp_path))})
    assert row.status == "holds" and row.cases == 5
    assert seen == [str(tmp_path)] * 2 + [None] * 3  # the fixed cases name the folder; the sampled ones need none


def test_fixed_cases_whose_data_is_absent_are_left_out_and_said_so():
    claim, need = _toy(fixed_data=("toy",), fixed=lambda fx: pytest.fail("the fixed cases were drawn"))
    row = check_reading(claim, "r", examples=4, data={"toy": DataLocation(need, None, "./toy")})
    assert row.status == "holds" and row.cases == 4
    assert row.detail.endswith("; the fixed cases were left out: needs the toy data, which is absent (looked in ./toy); "
                               "put it in ./toy")


def test_every_data_need_is_declared_and_only_the_kl_fixed_cases_need_the_icub_data(tmp_path):
    assert set(DATA_NEEDS) == {"icub"}
    for c in CLAIMS.values():
        for r in c.statement.readings:
            ev = c.evaluators.get(r.name)
            assert set(r.requires_data) | set(ev.fixed_cases_data if ev else ()) <= set(DATA_NEEDS)
    # the findings are decided on the committed study (lipbound.claims.mvae._study): no data needed
    assert all(r.requires_data == () for r in CLAIMS["mvae-findings"].statement.readings)
    assert CLAIMS["mvae-kl-whole-vs-part"].evaluators["single-whole-ge-part"].fixed_cases_data == ("icub",)
    loc = locate_data(["icub"], {"icub": tmp_path})["icub"]  # an explicit folder is the only place looked at
    assert not loc.present and loc.searched == str(tmp_path)
    with pytest.raises(LipboundError, match="unknown data set 'nope'"):
        locate_data(["nope"])
