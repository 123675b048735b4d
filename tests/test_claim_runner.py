"""The status rules of the claim runner (lipbound.claims.check_reading), on toy claims whose every
case and proof verdict is known, so that each rule of docs/devdocs/conventions.md is checked on
its own: refuted (with the counterexample of largest ratio, searched cases preferred over the
witness), proved (a proof and no counterexample), CONFLICT, not-proven, holds, the case count and
the tightest ratio, the per-case data and its cap, the seeds of the sampled cases."""

from __future__ import annotations

import math

import pytest

from lipbound.claims import Claim, ClaimStatement, Evaluator, Outcome, ProofResult, ReadingStatement, case_rng
from lipbound.claims import check_reading
from lipbound.claims._ledger import CASES_DATA_CAP


def toy(*, ratios=(), fixed=(), witness=None, proof=None, expected=True, label=""):
    """A claim 'toy' with one reading 'r': case k has ratio ratios[k] and holds iff ratio <= 1."""

    def evaluate(case):
        r = case["ratio"]
        return Outcome(r <= 1.0, r, 1.0, {"k": case.get("k"), "source_tag": case.get("tag")}, label)

    ev = Evaluator(sample=lambda rng, k: {"k": k, "ratio": ratios[k], "tag": "sampled"}, evaluate=evaluate,
                   method="toy method",
                   fixed_cases=(lambda fx: [{"k": f"f{i}", "ratio": r, "tag": "fixed"} for i, r in enumerate(fixed)])
                   if fixed else None,
                   witness=(lambda: {"k": "w", "ratio": witness, "tag": "witness"}) if witness is not None else None)
    st = ClaimStatement("toy", "toy", "Toy", "none", "x", (), (ReadingStatement("r", "ratio <= 1", expected),),
                        "docs/x.md", "proofs/x.py", "tests/x.py")
    proofs = {} if proof is None else {"r": proof}
    return Claim(st, {"r": ev}, proofs)


def run(claim, n, **kw):
    return check_reading(claim, "r", examples=n, **kw)


def test_refuted_reports_the_largest_ratio_among_searched_failures():
    row = run(toy(ratios=[0.5, 2.0, 3.0, 1.5, 0.9]), 5)
    assert row.status == "refuted" and row.unexpected
    assert row.counterexample["k"] == 2 and row.counterexample["measured"] == 3.0 and row.counterexample["bound"] == 1.0
    assert row.counterexample["source"] == "sampled"
    assert row.cases == 5 and row.tightest_ratio == 3.0
    assert row.detail.startswith("counterexample from the sampled cases")


def test_a_searched_counterexample_is_preferred_over_the_witness():
    row = run(toy(ratios=[0.5, 1.5], witness=100.0, expected=False), 2)
    assert row.status == "refuted" and not row.unexpected
    assert row.counterexample["k"] == 1 and row.counterexample["source"] == "sampled"
    assert row.tightest_ratio == 100.0 and row.cases == 3  # the witness counts and sets the tightest ratio


def test_the_witness_alone_refutes():
    row = run(toy(ratios=[0.5, 0.7], witness=1.25, expected=False), 2)
    assert row.status == "refuted" and row.counterexample["k"] == "w" and row.counterexample["source"] == "witness"
    assert row.detail.startswith("counterexample from the witness cases")
    row = run(toy(ratios=[], witness=1.25, expected=False), 0)
    assert row.status == "refuted" and row.cases == 1


def test_fixed_cases_come_first_and_count():
    row = run(toy(ratios=[0.5], fixed=[0.25, 4.0]), 1)
    assert row.status == "refuted" and row.counterexample["k"] == "f1" and row.counterexample["source"] == "fixed"
    assert row.cases == 3 and [c["label"] for c in row.cases_data] == ["fixed", "fixed", "sampled"]
    row = run(toy(ratios=[0.5], fixed=[0.25, 4.0]), 1, with_fixed=False)
    assert row.status == "holds" and row.cases == 1


def test_counterexample_keys_of_the_evaluator_are_kept():
    """The runner adds source/measured/bound only where the evaluator did not set them."""

    def evaluate(case):
        return Outcome(False, 2.0, 1.0, {"source": "evaluator's own", "measured": "kept"})

    st = ClaimStatement("toy", "toy", "Toy", "none", "x", (), (ReadingStatement("r", "s", True),), "d", "p", "t")
    row = check_reading(Claim(st, {"r": Evaluator(lambda rng, k: {}, evaluate, "m")}), "r", examples=1)
    assert row.counterexample == {"source": "evaluator's own", "measured": "kept", "bound": 1.0}


def test_proved_needs_a_proof_and_no_counterexample():
    proof = lambda: ProofResult(True, "symbolic instance")  # noqa: E731
    row = run(toy(ratios=[0.5, 1.0], proof=proof), 2)
    assert row.status == "proved" and row.counterexample is None and row.detail == "no counterexample among the cases"
    assert row.proof == "proved (symbolic instance)"
    row = run(toy(ratios=[0.5, 1.0 + 1e-12], proof=proof), 2)  # one case barely violates
    assert row.status == "refuted" and "CONFLICT" in row.detail


def test_a_failed_or_undecided_proof_never_proves():
    row = run(toy(ratios=[0.5], proof=lambda: ProofResult(False, "s")), 1)
    assert row.status == "not-proven" and "failed a step" in row.detail
    assert row.proof.startswith("disproved")
    row = run(toy(ratios=[0.5], proof=lambda: ProofResult(None, "s")), 1)
    assert row.status == "holds" and row.detail == "held on all 1 cases; no symbolic proof"
    assert row.proof.startswith("sympy could not decide")
    row = run(toy(ratios=[2.0], proof=lambda: ProofResult(False, "s"), expected=False), 1)
    assert row.status == "refuted" and "CONFLICT" not in row.detail


def test_a_crashing_proof_is_reported_not_proven():
    def boom():
        raise ZeroDivisionError("in the proof")

    row = run(toy(ratios=[0.5], proof=boom), 1)
    assert row.status == "holds" and row.proof == "proof script raised ZeroDivisionError: in the proof"
    row = run(toy(ratios=[], proof=boom), 0)
    assert row.status == "not-proven" and row.detail == "no proof and no cases evaluated"


def test_nothing_checked_is_not_proven():
    row = run(toy(ratios=[]), 0)
    assert row.status == "not-proven" and row.cases == 0 and row.tightest_ratio is None
    st = ClaimStatement("toy", "toy", "Toy", "none", "x", (), (ReadingStatement("r", "s", True),), "d", "p", "t")
    row = check_reading(Claim(st, {}, {"r": lambda: ProofResult(True, "sc")}), "r")
    assert row.status == "proved" and row.method == "symbolic only" and row.cases_data is None


def test_tightest_ratio_is_the_largest_over_all_cases():
    row = run(toy(ratios=[0.5, 0.99, 0.25]), 3)
    assert row.status == "holds" and row.tightest_ratio == 0.99 and row.counterexample is None
    assert row.method == "toy method" and row.expected is True and row.seed == 0


def test_cases_data_is_capped_and_labelled():
    n = CASES_DATA_CAP + 7
    row = run(toy(ratios=[0.5] * n, label=""), n)
    assert row.cases == n and len(row.cases_data) == CASES_DATA_CAP
    assert row.cases_data[0] == {"measured": 0.5, "bound": 1.0, "ok": True, "label": "sampled"}
    row = run(toy(ratios=[2.0], label="family-a"), 1)
    assert row.cases_data == [{"measured": 2.0, "bound": 1.0, "ok": False, "label": "family-a"}]
    assert row.counterexample is not None and "family-a" in row.detail


def test_on_case_is_called_once_per_case():
    calls = []
    run(toy(ratios=[0.5, 0.6], fixed=[0.1], witness=2.0, expected=False), 2, on_case=lambda: calls.append(1))
    assert len(calls) == 4


def test_sampled_cases_come_from_their_own_seeded_generators():
    seen = []

    def sample(rng, k):
        seen.append((k, float(rng.random())))
        return {"k": k}

    st = ClaimStatement("toy", "toy", "Toy", "none", "x", (), (ReadingStatement("r", "s", True),), "d", "p", "t")
    claim = Claim(st, {"r": Evaluator(sample, lambda c: Outcome(True, 0.0, 1.0), "m")})
    row = check_reading(claim, "r", examples=3, seed=7)
    assert row.seed == 7
    assert seen == [(k, float(case_rng(7, "toy", "r", k).random())) for k in range(3)]
    assert case_rng(7, "toy", "r", 0).random() != case_rng(8, "toy", "r", 0).random()


@pytest.mark.parametrize(("measured", "bound", "ratio"), [(1.0, 2.0, 0.5), (0.0, 0.0, 1.0), (1.0, 0.0, math.inf)])
def test_outcome_ratio(measured, bound, ratio):
    assert Outcome(True, measured, bound).ratio == ratio


def test_ties_keep_the_first_counterexample_found():
    """Equal ranks (same kind of source, same ratio): the first failing case is kept (deterministic)."""
    row = run(toy(ratios=[0.5, 2.0, 2.0, 2.0]), 4)
    assert row.counterexample["k"] == 1


def test_seconds_is_the_time_spent():
    import time

    t0 = time.perf_counter()
    row = run(toy(ratios=[0.5] * 20), 20)
    elapsed = time.perf_counter() - t0
    assert 0.0 <= row.seconds <= elapsed


def test_a_reading_whose_data_is_absent_is_skipped_and_says_how_it_would_be_checked():
    from lipbound.claims._ledger import DataLocation, DataNeed

    need = DataNeed("toy", "the toy data", "put it in ./toy", lambda path: (None, "./toy"))
    st = ClaimStatement("toy", "toy", "Toy", "none", "x", (),
                        (ReadingStatement("r", "s", True, requires_data=("toy",)),), "d", "p", "t")
    ev = Evaluator(lambda rng, k: {"ratio": 2.0}, lambda c: Outcome(False, 2.0, 1.0), "toy method")
    for evaluators, method in (({"r": ev}, "toy method"), ({}, "symbolic only")):
        row = check_reading(Claim(st, evaluators, {"r": lambda: ProofResult(True, "s")}), "r",
                            data={"toy": DataLocation(need, None, "./toy")})
        assert row.status == "skipped" and row.cases == 0 and row.method == method, row
        assert "needs the toy data" in row.detail
