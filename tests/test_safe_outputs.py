"""Never certify what was not checked, never lose a user's file (issue 12): the report goes only into
folders lipbound made, every output path is checked before any work, files get the umask's
permissions, readings whose data is absent are "skipped" (or an error with --require-data), and bad
settings, bad input files, Ctrl-C and a closed pipe give one line and an exit status, no traceback."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import lipbound.claims
from lipbound import cli
from lipbound._io import atomic_write_text
from lipbound.claims import CLAIMS
from lipbound.report._outdir import MARKER

ROOT = Path(__file__).resolve().parents[1]
FINDINGS = [r.name for r in CLAIMS["mvae-findings"].statement.readings]
#: the cheapest claim to run for real (one proved reading, closed form)
CHEAP = ["--claim", "eq-3", "--examples", "1", "--no-zoo"]


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if `lipbound verify` starts checking a reading (errors must come before any work)."""

    def refuse(*args, **kwargs):
        raise AssertionError("verify started checking readings")

    monkeypatch.setattr(lipbound.claims, "check_reading", refuse)


def _user_folder(d: Path) -> dict[Path, bytes]:
    """A folder of the user's: a page, notes and a figure at the names the report uses."""
    files = {d / "index.html": b"<html>my page</html>", d / "report.md": b"# my notes\n",
             d / "figures" / "mine.png": b"my figure"}
    for p, data in files.items():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return files


def _unchanged(files: dict[Path, bytes]) -> bool:
    return all(p.read_bytes() == data for p, data in files.items())


# ----------------------------------------------------------------------------- the report's folder


def test_verify_refuses_a_report_folder_it_did_not_make(tmp_path, no_work, capsys):
    """`verify --json DIR/verify.json` into the user's DIR stops before any work and touches nothing."""
    d = tmp_path / "mine"
    files = _user_folder(d)
    assert cli.main(["verify", *CHEAP, "--json", str(d / "verify.json")]) == 2
    err = capsys.readouterr().err
    assert f"{d} is not empty and was not made by lipbound" in err and "--no-report" in err
    assert _unchanged(files) and not (d / "verify.json").exists() and not (d / MARKER).exists()


def test_verify_json_in_the_current_folder_writes_no_report_there(tmp_path, monkeypatch, capsys):
    """`--json ./verify.json` writes the rows and no report: the current folder is the user's."""
    files = _user_folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["verify", *CHEAP, "--json", "./verify.json"]) == 0
    assert "no HTML report" in capsys.readouterr().out
    assert _unchanged(files) and (tmp_path / "verify.json").is_file() and not (tmp_path / MARKER).exists()
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == ["mine.png"]


def test_report_refuses_a_folder_it_did_not_make(tmp_path, capsys):
    rows = tmp_path / "rows.json"
    rows.write_text(json.dumps([{"claim": "eq-3", "reading": "formula", "status": "proved"}]))
    d = tmp_path / "mine"
    files = _user_folder(d)
    assert cli.main(["report", str(rows), "-o", str(d)]) == 2
    assert "is not empty and was not made by lipbound" in capsys.readouterr().err
    assert _unchanged(files) and not (d / MARKER).exists()


def test_report_output_onto_a_file_is_refused_before_reading_the_inputs(tmp_path, capsys):
    target = tmp_path / "a-file"
    target.write_text("keep me")
    assert cli.main(["report", str(tmp_path / "missing.json"), "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert f"-o: cannot write {target}: it is a file, not a folder" in err and "missing.json" not in err
    assert target.read_text() == "keep me"


def test_a_folder_lipbound_made_is_rewritten_and_keeps_the_users_files(tmp_path, capsys):
    """Second run into lipbound's own folder: allowed; a file the user added there survives; its
    manifest lists exactly what lipbound wrote, with the sha256 of each file."""
    d = tmp_path / "lipbound-report"
    args = ["verify", *CHEAP, "--json", str(d / "verify.json"), "--markdown", str(d / "verify.md")]
    assert cli.main(args) == 0
    manifest = json.loads((d / MARKER).read_text())
    assert manifest["kind"] == "lipbound-report"
    assert set(manifest["files"]) == {"index.html", "report.md", "verify.json", "verify.md", "figures/ledger0-eq-3.png"}
    from lipbound._io import file_sha256

    assert all(manifest["files"][rel] == [file_sha256(d / rel)] for rel in manifest["files"])
    (d / "notes.txt").write_text("mine")
    (d / "figures" / "mine.png").write_bytes(b"mine")
    assert cli.main(args + ["--seed", "3"]) == 0
    assert (d / "notes.txt").read_text() == "mine" and (d / "figures" / "mine.png").read_bytes() == b"mine"
    assert "notes.txt" not in json.loads((d / MARKER).read_text())["files"]


def test_a_report_page_the_user_changed_is_not_replaced(tmp_path, no_work, capsys):
    d = tmp_path / "lipbound-report"
    d.mkdir()
    (d / MARKER).write_text(json.dumps({"kind": "lipbound-report", "format": 1, "files": {}}))
    (d / "index.html").write_text("edited by hand")
    assert cli.main(["verify", *CHEAP, "--report", str(d)]) == 2
    assert f"{d / 'index.html'} exists and was not written by lipbound" in capsys.readouterr().err
    assert (d / "index.html").read_text() == "edited by hand"


@pytest.mark.parametrize("marker", ['{"kind": "something"}', "not json", '{"kind": "lipbound-report", "files": '
                                                                        '{"../x": ["' + "0" * 64 + '"]}}'])
def test_a_malformed_manifest_is_refused(tmp_path, marker, no_work, capsys):
    d = tmp_path / "r"
    d.mkdir()
    (d / MARKER).write_text(marker)
    assert cli.main(["verify", *CHEAP, "--report", str(d)]) == 2
    assert "is not a manifest that lipbound wrote" in capsys.readouterr().err


def test_an_empty_folder_is_a_fine_report_folder(tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    assert cli.main(["verify", *CHEAP, "--report", str(d)]) == 0
    assert (d / "index.html").is_file() and (d / MARKER).is_file()


# ----------------------------------------------------------------------------- output paths first


def test_verify_output_under_a_file_is_refused_before_any_work(tmp_path, no_work, capsys):
    f = tmp_path / "FILE"
    f.write_text("x")
    assert cli.main(["verify", *CHEAP, "--json", str(f / "x.json")]) == 2
    assert f"--json: cannot write {f / 'x.json'}: {f} is a file, not a folder" in capsys.readouterr().err


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc (a folder nobody can create files in)")
def test_verify_markdown_where_nothing_can_be_written_is_refused_before_any_work(no_work, capsys):
    assert cli.main(["verify", *CHEAP, "--markdown", "/proc/lipbound-test.md"]) == 2
    assert "--markdown: cannot write /proc/lipbound-test.md: cannot create files in /proc" in capsys.readouterr().err


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders")
def test_verify_markdown_into_a_read_only_folder_is_refused(tmp_path, no_work, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        assert cli.main(["verify", *CHEAP, "--markdown", str(ro / "x.md")]) == 2
    finally:
        ro.chmod(0o700)
    assert f"cannot create files in {ro}" in capsys.readouterr().err


def test_json_and_markdown_on_one_file_or_on_a_report_file_are_refused(tmp_path, no_work, capsys):
    same = tmp_path / "same"
    assert cli.main(["verify", *CHEAP, "--json", str(same), "--markdown", str(same)]) == 2
    assert "--json and --markdown both name" in capsys.readouterr().err
    d = tmp_path / "rep"
    assert cli.main(["verify", *CHEAP, "--markdown", str(d / "report.md"), "--report", str(d)]) == 2
    assert "names a file of the report" in capsys.readouterr().err
    assert not d.exists()


# ----------------------------------------------------------------------------- permissions


def test_written_files_follow_the_umask(tmp_path):
    """New and replaced files get 0o666 & ~umask (0644 under the usual 022), not mkstemp's 0600."""
    got = {}
    for umask in (0o022, 0o002, 0o077):
        old = os.umask(umask)
        try:
            new = atomic_write_text(tmp_path / f"new-{umask:o}.txt", "x")
            replaced = tmp_path / f"old-{umask:o}.txt"
            replaced.write_text("old")
            replaced.chmod(0o600)
            atomic_write_text(replaced, "new")
        finally:
            os.umask(old)
        got[umask] = (stat.S_IMODE(new.stat().st_mode), stat.S_IMODE(replaced.stat().st_mode), replaced.read_text())
    assert got == {0o022: (0o644, 0o644, "new"), 0o002: (0o664, 0o664, "new"), 0o077: (0o600, 0o600, "new")}


def test_verify_outputs_and_report_follow_the_umask(tmp_path):
    d = tmp_path / "r"
    old = os.umask(0o022)
    try:
        assert cli.main(["verify", *CHEAP, "--json", str(d / "verify.json")]) == 0
    finally:
        os.umask(old)
    written = [d / "verify.json", d / "index.html", d / "report.md", d / MARKER, *(d / "figures").iterdir()]
    assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in written} == {oct(0o644)}


# ----------------------------------------------------------------------------- data that is not shipped


def _rows(path: Path) -> dict[tuple[str, str], dict]:
    return {(r["claim"], r["reading"]): r for r in json.loads(path.read_text())}


def _check_skipped(rows: dict, where: str) -> None:
    for name in FINDINGS:  # decided on the committed study, which needs no data
        r = rows[("mvae-findings", name)]
        assert r["status"] in ("holds", "not-supported", "not-proven") and r["cases"] >= 1, r
    for name in ("single-whole-ge-part", "precision-whole-ge-part", "per-dim-average"):
        r = rows[("mvae-kl-whole-vs-part", name)]
        assert r["status"] == ("refuted" if name == "per-dim-average" else "proved"), r
        assert "the fixed cases were left out" in r["detail"]


MVAE = ["--claim", "mvae-findings", "--claim", "mvae-kl-whole-vs-part", "--examples", "2"]


def test_verify_skips_readings_whose_data_is_absent(tmp_path, monkeypatch, capsys):
    """$LIPBOUND_ICUB_DIR names an empty folder (so the ../shared fallback is not consulted): the KL
    readings run on their sampled cases without their trained fixed cases, the findings on the committed
    study, exit 0, and every output says so."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("LIPBOUND_ICUB_DIR", str(empty))
    d = tmp_path / "r"
    assert cli.main(["verify", *MVAE, "--json", str(d / "verify.json"), "--markdown", str(d / "verify.md")]) == 0
    assert "skipped" not in capsys.readouterr().out
    rows = _rows(d / "verify.json")
    _check_skipped(rows, f"$LIPBOUND_ICUB_DIR={empty}")
    assert f"looked in $LIPBOUND_ICUB_DIR={empty}" in rows[("mvae-kl-whole-vs-part", "single-whole-ge-part")]["detail"]
    assert "committed CPU study" in rows[("mvae-findings", "const1-collapse")]["detail"]


def test_verify_data_option_reads_only_the_given_folder(tmp_path, monkeypatch):
    """`--data icub=DIR` is the only place looked at, whatever the environment and ../shared hold."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.delenv("LIPBOUND_ICUB_DIR", raising=False)
    out = tmp_path / "v.json"
    assert cli.main(["verify", *MVAE, "--data", f"icub={empty}", "--json", str(out), "--no-report"]) == 0
    _check_skipped(_rows(out), str(empty))


def test_require_data_stops_before_any_work(tmp_path, no_work, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    code = cli.main(["verify", *MVAE, "--data", f"icub={empty}", "--require-data", "--json", str(tmp_path / "v.json"),
                     "--no-report"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--require-data: mvae-kl-whole-vs-part/single-whole-ge-part (its fixed cases)" in err and f"looked in {empty}" in err
    assert "LIPBOUND_ICUB_DIR" in err and not (tmp_path / "v.json").exists()


def test_unreadable_data_and_unknown_data_names_are_errors_before_any_work(tmp_path, no_work, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("final_database_train.mat", "final_database_test.mat"):
        (bad / name).write_bytes(b"not a mat file")
    assert cli.main(["verify", *MVAE, "--data", f"icub={bad}"]) == 2
    assert f"cannot read the iCub data in {bad}" in capsys.readouterr().err
    assert cli.main(["verify", *CHEAP, "--data", f"nope={bad}"]) == 2
    assert "unknown data set 'nope'; lipbound knows: icub" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        cli.main(["verify", *CHEAP, "--data", "icub"])
    assert exc.value.code == 2 and "expected NAME=DIR" in capsys.readouterr().err


# ----------------------------------------------------------------------------- settings and inputs


def test_results_setting_that_names_a_file_or_bad_records(tmp_path, monkeypatch, no_work, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    monkeypatch.setenv("LIPBOUND_RESULTS", str(f))
    assert cli.main(["verify", "--claim", "emp-lambda", "--examples", "1"]) == 2
    assert f"$LIPBOUND_RESULTS={f} is a file, not a results directory" in capsys.readouterr().err
    d = tmp_path / "results"
    d.mkdir()
    good = {"run_id": "a__sum__lamdef__t0", "dataset": "a", "fusion": "sum", "submodule": "model", "metric": "lipschitz",
            "kind": "certified-upper", "epoch": 0, "value": 1.0, "lam": 0.001}
    (d / "records.jsonl").write_text(json.dumps(good) + "\n{oops\n")
    monkeypatch.setenv("LIPBOUND_RESULTS", str(d))
    assert cli.main(["verify", "--claim", "emp-lambda", "--examples", "1"]) == 2
    assert f"$LIPBOUND_RESULTS={d}: {d / 'records.jsonl'}:2: not a JSON object" in capsys.readouterr().err
    (d / "records.jsonl").write_text(json.dumps({**good, "epoch": "zero"}) + "\n")
    assert cli.main(["verify", "--claim", "emp-lambda", "--examples", "1"]) == 2
    assert "records.jsonl:1: 'epoch' is 'zero', expected an integer" in capsys.readouterr().err


def test_cache_setting_that_names_a_file(tmp_path, monkeypatch, no_work, capsys):
    from lipbound.datasets._cache import cache_file, default_dataset_cache_dir
    from lipbound.errors import ConfigurationError
    from lipbound.zoo import default_cache_dir

    f = tmp_path / "file"
    f.write_text("x")
    monkeypatch.setenv("LIPBOUND_CACHE", str(f))
    assert cli.main(["verify", "--claim", "thm-3.1", "--examples", "1"]) == 2
    assert f"$LIPBOUND_CACHE (lipbound's cache folder): {f} is a file, not a folder" in capsys.readouterr().err
    for fn in (default_cache_dir, default_dataset_cache_dir):
        with pytest.raises(ConfigurationError, match="is a file, not a folder"):
            fn()
    monkeypatch.setenv("LIPBOUND_CACHE", str(tmp_path))
    (tmp_path / "datasets").write_text("x")
    with pytest.raises(ConfigurationError, match="the datasets' cache folder: .* is a file"):
        default_dataset_cache_dir()
    with pytest.raises(ConfigurationError, match="a parent of"):
        cache_file(f / "sub", "synthetic", "tiny", 0, {})


ODD = {
    "numbers.json": ([1, 2], "the JSON list (read as claim-ledger rows), item 1 is a number, expected an object"),
    "strings.json": (["a", "b"], "item 1 is a string, expected an object with claim, reading, status"),
    "missing-keys.json": ([{"claim": "eq-3", "reading": "formula"}], "item 1 lacks status"),
    "bracket-5.json": ({"kind": "lipbound-bracket", "results": 5},
                       "'results' of the lipbound-bracket document is a number, expected a list of objects"),
    "bracket-items.json": ({"kind": "lipbound-bracket", "results": [5]}, "item 1 is a number, expected an object"),
    "bracket-shape.json": ({"kind": "lipbound-bracket", "input_shape": 5, "results": []},
                           "'input_shape' is a number, expected a list"),
    "mvae-rows.json": ({"kind": "lipbound-mvae-measures", "rows": [{"schedule": "a"}]}, "item 1 lacks modality"),
    "bad-status.json": ([{"claim": "eq-3", "reading": "formula", "status": "great"}], "status 'great' is none of"),
    "bad-cases.json": ([{"claim": "eq-3", "reading": "formula", "status": "holds", "cases_data": [1]}],
                       "row 1: cases_data, item 1 is a number"),
    "bad-ratio.json": ([{"claim": "eq-3", "reading": "formula", "status": "holds", "tightest_ratio": {}}],
                       "'tightest_ratio' is an object, expected a number"),
    "number.json": (5, "not a result file lipbound knows (expected a list of claim-ledger rows, or an object with "
                       '"kind" lipbound-bracket, lipbound-pytest, lipbound-mvae-measures or lipbound-reproduce); the file holds a number'),
}


@pytest.mark.parametrize("name", list(ODD))
def test_report_names_the_file_and_what_was_expected(tmp_path, name, capsys):
    obj, message = ODD[name]
    f = tmp_path / name
    f.write_text(json.dumps(obj))
    out = tmp_path / "out"
    assert cli.main(["report", str(f), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"lipbound: error: {f}: ") and message in err and "Traceback" not in err
    assert not out.exists()


def test_report_input_that_is_not_utf8(tmp_path, capsys):
    f = tmp_path / "latin.json"
    f.write_bytes(b'["\xe9"]')
    assert cli.main(["report", str(f), "-o", str(tmp_path / "out")]) == 2
    assert f"{f}: not valid JSON (UnicodeDecodeError" in capsys.readouterr().err


# ----------------------------------------------------------------------------- Ctrl-C, closed pipes


def test_ctrl_c_is_one_line_and_status_130(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_cmd_claims", interrupted)
    try:
        code = cli.main(["claims"])
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped lipbound.cli.main")
    assert code == 130 and capsys.readouterr().err == "lipbound: interrupted\n"


def test_sigterm_is_one_line_and_status_143(monkeypatch, capsys):
    """SIGTERM during a command: ``lipbound: terminated (SIGTERM)`` and 143, no traceback; the
    default action is restored afterwards."""
    import os
    import signal

    def terminated(args):
        os.kill(os.getpid(), signal.SIGTERM)
        pytest.fail("SIGTERM did not interrupt the command")

    monkeypatch.setattr(cli, "_cmd_claims", terminated)
    assert cli.main(["claims"]) == 143
    assert capsys.readouterr().err == "lipbound: terminated (SIGTERM)\n"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_closed_pipe_is_status_141_without_a_traceback(monkeypatch, capsys):
    def broken(args):
        raise BrokenPipeError

    monkeypatch.setattr(cli, "_cmd_claims", broken)
    assert cli.main(["claims"]) == 141
    assert capsys.readouterr().err == ""


def test_a_closed_pipe_in_a_real_process():
    """`lipbound claims --json | <reader that closed at once>`: status 141 and nothing on stderr
    (without the handling: a BrokenPipeError traceback and status 1)."""
    proc = subprocess.Popen([sys.executable, "-m", "lipbound", "claims", "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT)
    proc.stdout.close()  # long before the ledger is loaded: the first write meets a closed pipe
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait() == 141 and err == b""


def test_unreadable_icub_files_are_a_clear_error(tmp_path, capsys):
    """Files with the iCub names that are no MAT files: scipy raises its own error types; the command
    says which folder and exits 2 (was a MatReadError traceback)."""
    from lipbound.mvae._data import TEST_FILE, TRAIN_FILE

    for name in (TRAIN_FILE, TEST_FILE):
        (tmp_path / name).write_bytes(b"hello")  # too short for a MAT header: scipy's MatReadError
    code = cli.main(["mvae", "train", "--data", str(tmp_path), "--epochs", "1", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and f"cannot read the iCub data in {tmp_path}" in err and "Traceback" not in err


def test_ledger_caches_are_keyed_by_configuration_and_version(monkeypatch):
    """The built-in tiny sweep and the MVAE ledger runs live in folders named by a hash of what they
    are trained with and lipbound's version: a changed preset or a new version trains into a new
    folder instead of meeting runs of another configuration (which a results folder refuses)."""
    import dataclasses

    from lipbound import _version
    from lipbound.claims.empirical import _source
    from lipbound.claims.mvae import _runs
    from lipbound.experiments import _config

    tiny, mvae = _source.tiny_results_dir(), _runs._ledger_dir()
    monkeypatch.setitem(_config.PRESETS, "tiny", dataclasses.replace(_config.PRESETS["tiny"], epochs=4))
    assert _source.tiny_results_dir() != tiny
    monkeypatch.setattr(_version, "__version__", "9.9.9")
    assert _runs._ledger_dir() != mvae


def test_zoo_choice_is_explicit_not_environmental(monkeypatch):
    """--zoo small|paper|none selects the trained models through the run's Fixtures, passed to the
    evaluators, not an environment variable: LIPBOUND_NO_ZOO does nothing, and a paper-size zoo case
    names the device it trains on (the CPU here: no CUDA)."""
    import torch

    from lipbound.claims import Fixtures
    from lipbound.claims._shared.zoo_cases import zoo_cases

    monkeypatch.setenv("LIPBOUND_NO_ZOO", "1")
    assert Fixtures().zoo == "small" and zoo_cases(Fixtures())  # the environment variable is ignored
    assert zoo_cases(Fixtures(zoo="none")) == []
    cases = zoo_cases(Fixtures(zoo="paper"))
    assert cases and all(c["zoo"].startswith("paper-") for c in cases)
    assert {c["device"] for c in cases} == {"cuda" if torch.cuda.is_available() else "cpu"}
    with pytest.raises(Exception, match="unknown zoo"):
        Fixtures(zoo="huge")


def test_paper_zoo_is_trained_up_front_with_an_estimate(tmp_path, monkeypatch):
    """verify --zoo paper trains the models that are not cached before any claim is checked, each
    after an estimate from timed training steps; a second call finds them cached and says nothing."""
    from dataclasses import replace

    from lipbound.claims._shared import zoo_cases as _zoo_cases
    from lipbound.zoo import ZOO

    monkeypatch.setenv("LIPBOUND_CACHE", str(tmp_path / "cache"))
    small = {"paper-mini": replace(ZOO["sum-tanh"], name="paper-mini", epochs=2, device="cuda")}
    monkeypatch.setattr(_zoo_cases, "zoo_table", lambda zoo: small)
    lines: list[str] = []
    _zoo_cases.prepare_zoo("small", lines.append)  # the small zoo trains on first use: nothing up front
    assert lines == []
    _zoo_cases.prepare_zoo("paper", lines.append)
    assert any("estimated training time: about" in ln for ln in lines)
    assert any(ln.startswith("training paper-mini on ") for ln in lines)
    n = len(lines)
    _zoo_cases.prepare_zoo("paper", lines.append)  # cached now: nothing to train, nothing said
    assert len(lines) == n
    est = _zoo_cases.estimate_training_seconds(ZOO["sum-tanh"], "cpu")
    assert 0 < est < float("inf")
