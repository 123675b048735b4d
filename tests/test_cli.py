"""The `lipbound` command line: verify's JSON rows, exit codes, bad input."""

from __future__ import annotations

import json

import pytest

from independent import mp_constants
from lipbound import cli
from lipbound.claims import CLAIMS, Claim, ClaimStatement, Evaluator, Outcome, ReadingStatement

KEYS = {"claim", "reading", "status", "expected", "cases", "tightest_ratio", "counterexample", "seconds"}


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if `lipbound verify` starts checking a reading (errors must come before any work)."""
    import lipbound.claims

    def refuse(*args, **kwargs):
        raise AssertionError("verify started checking readings")

    monkeypatch.setattr(lipbound.claims, "check_reading", refuse)


def test_verify_thm_3_3_json_stdout(capsys):
    """`lipbound verify --claim thm-3.3 --json -`: one row per reading; refuted rows carry a
    counterexample that is re-checked here in 50-digit arithmetic, independent of lipbound."""
    code = cli.main(["verify", "--claim", "thm-3.3", "--json", "-", "--examples", "10", "--no-zoo"])
    rows = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [r["reading"] for r in rows] == [r.name for r in CLAIMS["thm-3.3"].statement.readings]
    for r in rows:
        assert KEYS <= set(r)
        if r["status"] == "refuted":
            cex = r["counterexample"]
            c = mp_constants(cex["matrices"], cex["setting"])
            if r["reading"] == "true-shared":
                assert c["cat"] > c["sum"]
            elif r["reading"] == "concat-equals-l2":
                assert abs(c["cat"] - sum(v**2 for v in c["L"]) ** 0.5) > 1e-6
            elif r["reading"] == "true-separate-equality":
                assert abs(c["cat"] - c["sum"]) < 1e-30 and sum(v > 0 for v in c["L"]) >= 2
            elif r["reading"] == "frobenius-separate-equality":  # the Frobenius norms are equal: no strict <
                cat, tot = _mp_frobenius(cex["matrices"], cex["setting"])
                assert cex["setting"] == "separate" and abs(cat - tot) < 1e-30
            elif r["reading"] == "frobenius-shared":  # with a shared input concat's can exceed sum's
                cat, tot = _mp_frobenius(cex["matrices"], cex["setting"])
                assert cex["setting"] == "shared" and cat > tot
            else:
                pytest.fail(f"unexpected refuted reading {r['reading']}")
    assert {r["reading"] for r in rows if r["status"] == "refuted"} == {
        "true-shared", "concat-equals-l2", "true-separate-equality", "frobenius-separate-equality", "frobenius-shared"}


def _mp_frobenius(mats, setting, dps=50):
    """(||J_concat||_F, ||J_sum||_F) of linear encoders A_i in 50-digit arithmetic, each from its own
    matrix: concat stacks the A_i (block-diagonally for separate inputs, vertically for a shared one),
    sum adds their outputs (J_sum = [A_1 ... A_M] for separate inputs, sum_i A_i for a shared one)."""
    import mpmath

    with mpmath.workdps(dps):
        ms = [mpmath.matrix([[mpmath.mpf(repr(float(v))) for v in row] for row in m]) for m in mats]
        rows, cols = sum(m.rows for m in ms), sum(m.cols for m in ms)
        if setting == "separate":
            cat = mpmath.zeros(rows, cols)
            tot = mpmath.zeros(ms[0].rows, cols)
            r = c = 0
            for m in ms:
                for i in range(m.rows):
                    for j in range(m.cols):
                        cat[r + i, c + j] = m[i, j]
                        tot[i, c + j] = m[i, j]
                r, c = r + m.rows, c + m.cols
        else:
            cat = mpmath.zeros(rows, ms[0].cols)
            tot = mpmath.zeros(ms[0].rows, ms[0].cols)
            r = 0
            for m in ms:
                for i in range(m.rows):
                    for j in range(m.cols):
                        cat[r + i, j] = m[i, j]
                        tot[i, j] += m[i, j]
                r += m.rows
        return mpmath.mnorm(cat, "f"), mpmath.mnorm(tot, "f")


def test_verify_writes_json_and_markdown(tmp_path, capsys):
    out, md = tmp_path / "sub" / "out.json", tmp_path / "report.md"
    code = cli.main(["verify", "--claim", "eq-3", "--claim", "lemma-3.3", "--json", str(out),
                     "--markdown", str(md), "--examples", "3", "--seed", "7", "--no-zoo"])
    assert code == 0
    rows = json.loads(out.read_text())
    assert [(r["claim"], r["reading"]) for r in rows] == [("eq-3", "formula"), ("lemma-3.3", "formula")]
    assert all(r["seed"] == 7 and r["cases"] == 3 for r in rows)
    text = md.read_text()
    assert "| eq-3 | formula | proved |" in text and "seed 7" in text


def test_verify_unknown_claim(capsys):
    assert cli.main(["verify", "--claim", "thm-9.9"]) == 2
    assert "unknown claim id 'thm-9.9'" in capsys.readouterr().err


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--examples", "0", "must be an integer from 1 to 100000 (sampled cases per reading), got '0'"),
    ("--examples", "1000000000", "must be an integer from 1 to 100000 (sampled cases per reading), got '1000000000'"),
    ("--examples", "many", "must be an integer from 1 to 100000"),
    ("--seed", "-5", f"must be an integer from 0 to {2**32 - 1} (seed of the case generators), got '-5'"),
    ("--seed", str(2**32), "must be an integer from 0 to"),
])
def test_verify_rejects_out_of_range_numbers_at_parse_time(option, value, message, no_work, capsys):
    """Out-of-range --examples and --seed are usage errors (exit 2, one message naming the range), not a
    traceback (a negative seed) or a run of weeks (a billion cases)."""
    with pytest.raises(SystemExit) as exc:
        cli.main(["verify", "--claim", "eq-3", option, value])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}: {message}" in err and "Traceback" not in err


def test_verify_exit_code_when_expected_reading_is_refuted(monkeypatch, capsys):
    st = ClaimStatement("toy", "toy", "Toy", "none", "x", (), (ReadingStatement("r", "false", True),),
                        "docs/x.md", "proofs/x.py", "tests/x.py")
    ev = Evaluator(sample=lambda rng, k: {}, evaluate=lambda c: Outcome(False, 2.0, 1.0, {"why": "toy"}), method="toy")
    monkeypatch.setitem(CLAIMS, "toy", Claim(st, {"r": ev}))
    assert cli.main(["verify", "--claim", "toy", "--examples", "2"]) == 1
    assert "expects to hold failed: toy/r refuted" in capsys.readouterr().out


def test_claims_listing(capsys):
    assert cli.main(["claims", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [c["claim"] for c in listed] == list(CLAIMS)
    needs = {(c["claim"], r["reading"]): r["requires_data"] for c in listed for r in c["readings"]}
    assert needs[("mvae-findings", "const1-collapse")] == [] and needs[("thm-3.3", "true-shared")] == []
    kinds = {(c["claim"], r["reading"]): r["kind"] for c in listed for r in c["readings"]}
    assert kinds[("thm-4.2", "linear-in-M")] == "growth-rate"
    assert kinds[("thm-3.2", "encoder-exceeds-decoder")] == "tendency"
    assert kinds[("thm-3.3", "true-shared")] == "universal"
    assert cli.main(["claims"]) == 0
    assert "thm-3.3" in capsys.readouterr().out


@pytest.mark.slow
def test_full_verify_like_make_run(tmp_path, capsys):
    """The main job end to end: every claim, default case counts, trained zoo models included. Where the
    iCub data is present, --require-data makes the mvae-* claims run on it (a missing data set would be
    an error, not a skipped row); where it is absent, exactly the readings that need it are skipped."""
    from lipbound.claims._runner import locate_data

    have_icub = locate_data(["icub"])["icub"].present
    out = tmp_path / "verify.json"
    code = cli.main(["verify", "--json", str(out), "--markdown", str(tmp_path / "verify.md")]
                    + (["--require-data"] if have_icub else []))
    rows = json.loads(out.read_text())
    assert code == 0
    assert len(rows) == sum(len(c.statement.readings) for c in CLAIMS.values())
    from lipbound.claims.empirical import empirical_claims
    from lipbound.claims.empirical._source import load_results

    committed = load_results()  # the default source of the empirical claims
    for r in rows:
        if r["status"] == "skipped":
            assert not have_icub and CLAIMS[r["claim"]].statement.reading(r["reading"]).requires_data == ("icub",), r
            continue
        fails_as = CLAIMS[r["claim"]].statement.reading(r["reading"]).failure_status  # refuted / loose / not-supported
        assert r["kind"] == CLAIMS[r["claim"]].statement.reading(r["reading"]).kind, r
        if r["claim"] in {c.id for c in empirical_claims()}:
            # decided on the committed medium results: one fixed case per dataset the reading applies to (no
            # sampled cases: the data are the runs); an open reading may also be inconclusive (not-proven), but
            # never undecided for want of data
            assert r["expected"] is None, r
            assert r["status"] in ("holds", "not-supported", "not-proven"), r
            assert 1 <= r["cases"] <= len(committed.datasets), r
            if r["status"] == "not-proven":
                assert "no data" not in json.dumps(r), r
            continue
        ev = CLAIMS[r["claim"]].evaluators.get(r["reading"])
        if ev is not None and ev.sample is None:
            # a tendency decided on fixed data only (the MVAE study, a seed study): its fixed cases, and an
            # open one may be inconclusive (not-proven) but must say so
            assert r["kind"] == "tendency" and r["expected"] is None, r
            assert r["status"] in ("holds", fails_as, "not-proven") and 1 <= r["cases"] <= 10, r
            if r["status"] == "not-proven":
                assert "inconclusive" in r["detail"], r
            continue
        if r["expected"] is None:  # open reading: either answer is a finding, but it must be an answer
            assert r["status"] in ("proved", "holds", fails_as), r
        else:
            assert (r["status"] in ("proved", "holds")) if r["expected"] else (r["status"] == fails_as), r
        assert r["cases"] >= 50
    assert (tmp_path / "index.html").is_file()


def test_top_level_help_lists_every_command_without_importing_them():
    """`lipbound --help` names every subcommand but imports none of their modules (nor torch), so it
    answers at once; running a subcommand imports only its own module."""
    import subprocess
    import sys

    code = (
        "import sys, contextlib, io\n"
        "from lipbound.cli import main, SUBCOMMANDS\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(all(c in buf.getvalue() for c in SUBCOMMANDS), 'torch' in sys.modules,\n"
        "      any(m in sys.modules for m, _ in SUBCOMMANDS.values()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "False", "False"], out


@pytest.mark.parametrize("command", ["bound", "report", "mvae", "train", "reproduce"])
def test_each_subcommand_has_its_real_parser(command, capsys):
    """Every command in the table is registered by its module (a placeholder has no --help)."""
    with pytest.raises(SystemExit) as exc:
        cli.main([command, "--help"])
    assert exc.value.code == 0
    assert "usage: lipbound " + command in capsys.readouterr().out


def _emp_rows(capsys, *extra):
    code = cli.main(["verify", "--claim", "emp-variance", "--no-zoo", "--no-report", "--json", "-", *extra])
    assert code == 0
    return json.loads(capsys.readouterr().out)


def test_verify_decides_empirical_claims_on_the_committed_results_by_default(capsys):
    """Without --results the emp-* readings are decided on the committed medium sweep, every case says
    so, and ``--results committed`` is the same choice."""
    rows = _emp_rows(capsys)
    labels = [c["label"] for r in rows for c in r["cases_data"]]
    assert labels and all("committed results of the medium preset" in lab for lab in labels), labels
    assert all("5 trials" in lab for lab in labels)  # every trial enters each comparison
    same = _emp_rows(capsys, "--results", "committed")
    assert [(r["status"], r["cases"], r["tightest_ratio"]) for r in same] == \
        [(r["status"], r["cases"], r["tightest_ratio"]) for r in rows]


def test_verify_results_folder_is_checked_before_any_work(tmp_path, no_work, capsys):
    """A --results folder that is not a results directory is an error (exit 2) before any reading runs."""
    assert cli.main(["verify", "--claim", "emp-variance", "--no-zoo", "--results", str(tmp_path)]) == 2
    assert f"--results {tmp_path}" in capsys.readouterr().err
