"""The statuses for readings that are not universal statements (docs/ledger.md, "Statuses"): a
``growth-rate`` reading (the growth or constant of a bound, as Theorem 4.2's "C_M depending linearly
on M") with a failing case is ``loose``, a ``tendency`` (Theorem 3.2's "typically") is
``not-supported`` and says on how many cases it held, and a ``universal`` reading is still
``refuted``. Checked on toy claims through the runner, the CLI's exit status and Markdown, and the
report, and on the ledger's own readings."""

from __future__ import annotations

import json

import pytest

from lipbound import cli
from lipbound.claims import CLAIMS, STATUSES, Claim, ClaimStatement, Evaluator, Outcome, ProofResult, ReadingStatement
from lipbound.claims import check_reading
from lipbound.claims._ledger import FAILED_STATUSES, FAILURE_STATUS, KINDS, expected_label, is_unexpected


def toy(kind, *, ratios=(), fixed=(), witness=None, expected=False, proof=None):
    """A claim 'toy' with one reading 'r' of ``kind``: case k has ratio ratios[k] and holds iff ratio <= 1."""

    def evaluate(case):
        r = case["ratio"]
        return Outcome(r <= 1.0, r, 1.0, {"k": case["k"]}, label=f"case {case['k']}")

    ev = Evaluator(sample=lambda rng, k: {"k": k, "ratio": ratios[k]}, evaluate=evaluate, method="toy",
                   fixed_cases=(lambda fx: [{"k": f"f{i}", "ratio": r} for i, r in enumerate(fixed)]) if fixed else None,
                   witness=(lambda: {"k": "w", "ratio": witness}) if witness is not None else None)
    reading = ReadingStatement("r", "ratio <= 1", expected, kind=kind)
    st = ClaimStatement("toy", "toy", "Toy", "none", "x", (), (reading,), "docs/x.md", "proofs/x.py", "tests/x.py")
    return Claim(st, {"r": ev}, {} if proof is None else {"r": proof})


def test_the_words_and_the_kinds():
    assert set(KINDS) == {"universal", "growth-rate", "tendency"}
    assert FAILURE_STATUS == {"universal": "refuted", "growth-rate": "loose", "tendency": "not-supported"}
    assert {"loose", "not-supported"} <= set(STATUSES) and set(FAILED_STATUSES) <= set(STATUSES)
    assert ReadingStatement("r", "s", True).kind == "universal"
    with pytest.raises(ValueError, match="kind 'typical' is none of universal, growth-rate, tendency"):
        ReadingStatement("r", "s", True, kind="typical")


def test_a_universal_reading_with_a_failing_case_is_still_refuted():
    row = check_reading(toy("universal", ratios=(0.5, 2.0, 1.5)), "r", examples=3)
    assert row.status == "refuted" and row.kind == "universal" and not row.unexpected
    assert row.counterexample["k"] == 1 and row.detail == "counterexample from the sampled cases (case 1)"
    assert "held_on" not in row.counterexample


def test_a_growth_rate_reading_with_a_failing_case_is_loose_not_refuted():
    row = check_reading(toy("growth-rate", ratios=(0.5, 2.0, 3.0), witness=1.5), "r", examples=3)
    assert row.status == "loose" and row.as_dict()["status"] == "loose" and row.as_dict()["kind"] == "growth-rate"
    # the witness of non-attainment with the largest ratio, searched cases before the ledger's witness
    assert row.counterexample["k"] == 2 and row.counterexample["source"] == "sampled"
    assert row.tightest_ratio == 3.0 and row.cases == 4
    assert row.detail.startswith("the stated growth is not attained (the bound is loose, not shown false)")
    assert not row.unexpected  # expected=False: the ledger expects it loose


def test_a_tendency_with_a_failing_case_is_not_supported_and_says_how_often_it_held():
    row = check_reading(toy("tendency", ratios=(0.5, 2.0, 0.9, 1.2, 0.1), fixed=(0.3, 4.0, 0.2), witness=9.0),
                        "r", examples=5)
    assert row.status == "not-supported" and row.kind == "tendency" and not row.unexpected
    held = row.counterexample["held_on"]
    assert held["by_source"] == {"fixed": {"held": 2, "cases": 3}, "sampled": {"held": 3, "cases": 5}}
    assert (held["held"], held["cases"], held["fraction"]) == (5, 8, 5 / 8)  # the witness is not counted
    assert row.counterexample["k"] == "f1"  # largest ratio among searched failures, not the witness's 9.0
    assert row.detail.startswith("a tendency our cases do not support: held on 2 of 3 fixed and 3 of 5 sampled "
                                 "cases (5 of 8, 62%; the ledger's witness not counted)")
    json.dumps(row.as_dict())  # JSON-safe


def test_without_a_failing_case_the_kinds_hold_or_are_proved_as_before():
    for kind in KINDS:
        assert check_reading(toy(kind, ratios=(0.5, 0.9), expected=True), "r", examples=2).status == "holds"
        proved = check_reading(toy(kind, ratios=(0.5,), expected=True, proof=lambda: ProofResult(True, "all")), "r",
                               examples=1)
        assert proved.status == "proved" and proved.counterexample is None


@pytest.mark.parametrize("kind", KINDS)
def test_a_reading_expected_to_hold_that_fails_is_unexpected_whatever_its_kind(kind):
    row = check_reading(toy(kind, ratios=(2.0,), expected=True), "r", examples=1)
    assert row.status == FAILURE_STATUS[kind] and row.unexpected and is_unexpected(row.as_dict())
    assert not is_unexpected(row.as_dict() | {"expected": False})
    assert not is_unexpected(row.as_dict() | {"expected": None})


def test_expected_labels_name_the_status_a_failing_reading_should_get():
    assert [expected_label(False, k) for k in KINDS] == ["fails", "loose", "not-supported"]
    assert [expected_label(True, k) for k in KINDS] == ["holds"] * 3 and expected_label(None, "tendency") == "open"


@pytest.mark.parametrize(("expected", "code"), [(False, 0), (True, 1)])
def test_verify_exit_status_and_markdown_for_a_loose_reading(monkeypatch, tmp_path, capsys, expected, code):
    monkeypatch.setitem(CLAIMS, "toy", toy("growth-rate", ratios=(2.0, 0.5), expected=expected))
    md = tmp_path / "v.md"
    assert cli.main(["verify", "--claim", "toy", "--examples", "2", "--markdown", str(md), "--no-report"]) == code
    out, text = capsys.readouterr().out, md.read_text()
    if expected:
        assert "expects to hold failed: toy/r loose" in out and "| toy | r | loose **(unexpected)** | holds |" in text
    else:
        assert "| toy | r | loose | loose |" in text and "expects to hold failed" not in out
    assert "**loose** = a bound's stated growth (rate or constant) is not attained" in text
    assert "**not-supported** = a tendency" in text


def test_report_shows_the_new_words(tmp_path):
    rows = []
    for reading, kind, status, expected in (("g", "growth-rate", "loose", False),
                                            ("t", "tendency", "not-supported", False),
                                            ("u", "tendency", "not-supported", True)):
        rows.append({"claim": "thm-4.2", "reading": reading, "status": status, "expected": expected, "kind": kind,
                     "cases": 2, "tightest_ratio": 2.0, "counterexample": {"source": "sampled"}, "seconds": 0.1,
                     "seed": 0, "method": "m", "proof": None, "detail": "d",
                     "cases_data": [{"measured": 2.0, "bound": 1.0, "ok": False, "label": "sampled"},
                                    {"measured": 0.5, "bound": 1.0, "ok": True, "label": "sampled"}]})
    f = tmp_path / "rows.json"
    f.write_text(json.dumps(rows))
    assert cli.main(["report", str(f), "-o", str(tmp_path / "out"), "--dpi", "30"]) == 0
    md = (tmp_path / "out" / "report.md").read_text()
    assert "| thm-4.2 | g | loose | loose | 2 |" in md
    assert "| thm-4.2 | t | not-supported | not-supported | 2 |" in md
    assert "| thm-4.2 | u | not-supported (UNEXPECTED) | holds | 2 |" in md
    assert "**loose** = a bound's stated growth" in md
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([rows[0] | {"kind": "typical"}]))
    assert cli.main(["report", str(bad), "-o", str(tmp_path / "out2")]) == 2


def test_the_ledger_uses_the_words_where_the_paper_hedges_or_bounds_a_growth():
    """Theorem 4.2's C_M "depending linearly on M" is a constant of a bound (growth-rate); Theorem
    3.2's "typically higher" is a tendency; the readings that state a bound or an identity for every
    case stay universal."""
    kinds = {(c.id, r.name): r.kind for c in CLAIMS.values() for r in c.statement.readings}
    assert kinds[("thm-4.2", "linear-in-M")] == "growth-rate"
    assert kinds[("thm-3.2", "encoder-exceeds-decoder")] == "tendency"
    for key in (("thm-4.2", "cubic-in-w"), ("thm-4.1", "linear-in-w"), ("thm-4.1", "quadratic-in-R"),
                ("thm-4.1", "regime-above"), ("thm-4.1", "regime-below"), ("thm-3.3", "true-shared")):
        assert kinds[key] == "universal", key
