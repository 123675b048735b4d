"""`lipbound report`: readers of the result formats (on small synthetic result files written here),
figures checked by content, the Markdown tables, the HTML's links, and the page rendered in headless
Chromium (screenshot saved to build/test-artifacts/)."""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from hypothesis import given
from hypothesis import strategies as st

from lipbound import cli
from lipbound.errors import LipboundError
from lipbound.report import (
    BAND_LABEL,
    CASE_STYLES,
    PAPER_MODALITIES,
    PAPER_TABLES,
    RATIO_ONE_LABEL,
    ReportInputError,
    bound_vs_measured_figure,
    bracket_figure,
    confusion_figure,
    detection_histograms_figure,
    final_loss_boxplots_figure,
    lambda_ablation_figure,
    lipschitz_curves_figure,
    load_results,
    loss_curves_figure,
    mvae_measures_figure,
    reconstruction_figure,
    write_report,
)
from lipbound.report._load import BracketDoc, MvaeDoc

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "build" / "test-artifacts"

FUSIONS = ("attention", "concat", "sum")
SUBMODULES = ("encoder:m0", "fusion", "model")
ABLATION_LAMS = (1e-6, 1e-4, 1e-2, 1.0)


# ----------------------------------------------------------------------------- synthetic results
# Values are drawn from a seeded numpy Generator; what the tests check is recomputed from the
# records here, independently of the report's own aggregation code.


def _records(rng: np.random.Generator, dataset: str, mods: tuple[str, ...], trials: int, epochs: int) -> list[dict]:
    out = []

    def rec(run, fusion, trial, lam, epoch, sub, metric, value, kind, method):
        out.append({"run_id": run, "dataset": dataset, "fusion": fusion, "trial": trial, "lam": lam,
                    "epoch": epoch, "submodule": sub, "metric": metric, "value": float(value),
                    "kind": kind, "method": method})

    for fusion in FUSIONS:
        lams = (1e-3, *ABLATION_LAMS) if fusion == "attention" and len(mods) == 2 else (1e-3,)
        for lam in lams:
            for trial in range(trials if lam == 1e-3 else 2):
                run = f"{dataset}__{fusion}__lam{'def' if lam == 1e-3 else f'{lam:g}'}__t{trial}"  # docs/experiments.md
                for epoch in range(epochs):
                    for m in mods:
                        for metric in ("train_loss", "test_loss"):
                            rec(run, fusion, trial, lam, epoch, f"modality:{m}", metric,
                                rng.uniform(0.1, 2.0) / (epoch + 1), "loss", "mse")
                    for metric in ("train_loss", "test_loss"):
                        rec(run, fusion, trial, lam, epoch, "model", metric, rng.uniform(0.5, 4.0) / (epoch + 1),
                            "loss", "mse")
                    for sub in SUBMODULES:
                        up = rng.uniform(1, 50)
                        rec(run, fusion, trial, lam, epoch, sub, "lipschitz", up, "certified-upper", "spectral-product")
                        if len(mods) == 2:  # a second kind of Lipschitz record for one dataset only
                            rec(run, fusion, trial, lam, epoch, sub, "lipschitz", up * rng.uniform(0.1, 1),
                                "heuristic", "paper-estimator")
                    rec(run, fusion, trial, lam, epoch, "model", "param_norm", rng.uniform(1, 10) / (1 + lam),
                        "other", "frobenius")
    return out


def _detection(rng: np.random.Generator, dataset: str, trials: int) -> list[dict]:
    rows = []
    for fusion in FUSIONS:
        for corruption in ("noise", "occlusion"):
            for trial in range(trials):
                tn, fp, fn, tp = (int(v) for v in rng.integers(0, 50, 4))
                rows.append({"run_id": f"{dataset}-{fusion}-{trial}", "dataset": dataset, "fusion": fusion,
                             "trial": trial, "corruption": corruption, "threshold": float(rng.uniform(2, 4)),
                             "tpr": tp / max(tp + fn, 1), "fpr": fp / max(fp + tn, 1),
                             "confusion": [[tn, fp], [fn, tp]],
                             "distances_clean": rng.gamma(2.0, 1.0, 40).tolist(),
                             "distances_faulty": (rng.gamma(2.0, 1.0, 30) + 3).tolist()})
    return rows


def _ledger_rows(rng: np.random.Generator, n: int) -> list[dict]:
    rows = []
    for claim, reading, bad in (("thm-3.3", "true-separate", 0), ("thm-3.3", "true-shared", 2), ("eq-3", "formula", 0),
                                ("thm-3.3", "concat-equals-l2", 0)):
        cases = []
        for k in range(n):
            b = float(rng.uniform(0.5, 5))
            ok = k >= bad
            cases.append({"measured": b * (0.9 if ok else 1.3), "bound": b, "ok": ok, "label": "sampled"})
        rows.append({"claim": claim, "reading": reading, "status": "refuted" if bad else "holds",
                     "expected": not bad and reading != "concat-equals-l2", "cases": n, "tightest_ratio": 1.3 if bad else 0.9,
                     "counterexample": {"source": "sampled", "measured": 1.3, "bound": 1.0} if bad else None,
                     "seconds": 0.1, "seed": 0, "method": "synthetic", "proof": None, "detail": "synthetic",
                     "cases_data": cases})
    return rows


def make_results(root: Path, seed: int = 0, trials: int = 3, epochs: int = 4) -> dict[str, Path]:
    """A results directory (two datasets: 2 and 3 modalities), a bracket file and an MVAE file."""
    rng = np.random.default_rng(seed)
    d = root / "reproduce"
    d.mkdir(parents=True)
    (d / "meta.json").write_text(json.dumps({
        "kind": "lipbound-reproduce", "format": 1, "command": "lipbound reproduce --preset tiny", "preset": "tiny",
        "lipbound": "0.1.0", "torch": "2.13.0", "python": "3.11", "device": "cpu", "created": "2026-01-01T00:00:00Z",
        "seeds": list(range(trials)), "datasets": ["toy2", "toy3"], "fusions": list(FUSIONS)}))
    recs = _records(rng, "toy2", ("m0", "m1"), trials, epochs) + _records(rng, "toy3", ("m0", "m1", "m2"), trials, epochs)
    (d / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    det = _detection(rng, "toy2", trials)
    (d / "detection.jsonl").write_text("".join(json.dumps(r) + "\n" for r in det))
    x = rng.uniform(0, 1, (3, 1, 8, 8))
    np.savez(d / "reconstructions.npz", **{
        "toy2__sum__m0__input": x, "toy2__sum__m0__output": np.clip(x + rng.normal(0, 0.1, x.shape), 0, 1),
        "toy2__sum__m1__input": rng.normal(size=(3, 6)), "toy2__sum__m1__output": rng.normal(size=(3, 6))})
    (d / "claims.json").write_text(json.dumps(_ledger_rows(rng, 12)))
    bracket = root / "bracket.json"
    bracket.write_text(json.dumps({"kind": "lipbound-bracket", "model": "toy-mlp", "input_shape": [4], "results": [
        {"method": "spectral-product", "kind": "certified-upper", "value": 8.0, "seconds": 0.01, "solver": "none",
         "status": "ok", "details": {}},
        {"method": "lipsdp-neuron", "kind": "certified-upper", "value": 5.0, "seconds": 1.0, "solver": "clarabel",
         "status": "optimal", "details": {}},
        {"method": "pgd", "kind": "lower", "value": 3.0, "seconds": 0.5, "solver": "none", "status": "ok", "details": {}},
        {"method": "paper-estimator", "kind": "heuristic", "value": 4.0, "seconds": 0.1, "solver": "none",
         "status": "ok", "details": {}}], "meta": {"command": "lipbound bound toy-mlp --json bracket.json"}}))
    mvae = root / "mvae.json"
    mvae.write_text(json.dumps({"kind": "lipbound-mvae-measures", "meta": {"command": "lipbound mvae measures"},
                                "lipschitz": [{"schedule": "beta1", "submodule": "encoder:vision",
                                               "method": "spectral-product", "kind": "certified-upper", "value": 12.5,
                                               "seconds": 0.1, "solver": "none", "status": "ok"}],
                                "rows": [{"schedule": s, "seed": k, "modality": m, "measure": meas,
                                          "value": float(rng.uniform(0, 1))}
                                         for s in ("beta0", "beta1") for k in range(2) for m in ("joints", "vision")
                                         for meas in ("single-modality-error", "loss-of-precision")]}))
    return {"dir": d, "bracket": bracket, "mvae": mvae}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return make_results(tmp_path_factory.mktemp("results"))


@pytest.fixture(scope="module")
def report(results, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "out"
    code = cli.main(["report", str(results["dir"]), str(results["bracket"]), str(results["mvae"]), "-o", str(out),
                     "--dpi", "30"])  # low resolution: the test checks content, not looks
    assert code == 0
    return out


def _records_of(results):
    return [json.loads(line) for line in (results["dir"] / "records.jsonl").read_text().splitlines()]


# ----------------------------------------------------------------------------- reading


def test_load_detects_each_kind_by_content(results):
    res = load_results([results["dir"], results["bracket"], results["mvae"]])
    assert len(res.reproduce) == 1 and len(res.brackets) == 1 and len(res.mvae) == 1
    assert len(res.ledgers) == 1 and res.ledgers[0].path.endswith("claims.json")  # claims.json of the results dir
    assert res.ledgers[0].meta["command"] == "lipbound reproduce --preset tiny"
    rd = res.reproduce[0]
    assert len(rd.records) == len(_records_of(results)) and len(rd.detection) == 18
    assert set(rd.reconstructions) == {f"toy2__sum__{m}__{s}" for m in ("m0", "m1") for s in ("input", "output")}
    # a directory holding result files (not itself a results directory) is searched one level down
    assert len(load_results([results["dir"].parent]).reproduce) == 1


def test_load_reads_compact_results(tmp_path, results):
    """The compact form of a results directory (records.jsonl.gz, detection.jsonl.gz: the committed
    results of the medium preset) is read like the plain one, line for line."""
    import gzip

    d = tmp_path / "compact"
    d.mkdir()
    shutil.copy(results["dir"] / "meta.json", d / "meta.json")
    for name in ("records.jsonl", "detection.jsonl"):
        (d / f"{name}.gz").write_bytes(gzip.compress((results["dir"] / name).read_bytes()))
    plain, compact = load_results([results["dir"]]).reproduce[0], load_results([d]).reproduce[0]
    assert compact.records == plain.records and compact.detection == plain.detection and compact.notes == []
    from lipbound.claims.empirical._source import COMMITTED_RESULTS

    rd = load_results([COMMITTED_RESULTS]).reproduce[0]
    with gzip.open(COMMITTED_RESULTS / "records.jsonl.gz", "rt") as fh:
        assert len(rd.records) == sum(1 for line in fh if line.strip()) > 1000


def test_load_bad_input(tmp_path, results):
    with pytest.raises(ReportInputError, match="no such file"):
        load_results([tmp_path / "missing.json"])
    (tmp_path / "x.json").write_text('{"kind": "something-else"}')
    with pytest.raises(ReportInputError, match="not a result file lipbound knows"):
        load_results([tmp_path / "x.json"])
    (tmp_path / "y.json").write_text("{not json")
    with pytest.raises(ReportInputError, match="not valid JSON"):
        load_results([tmp_path / "y.json"])
    assert issubclass(ReportInputError, LipboundError)
    # a truncated *last* line (interrupted writer) is skipped with a note; a bad line inside is an error
    d = tmp_path / "r"
    shutil.copytree(results["dir"], d)
    lines = (d / "records.jsonl").read_text().splitlines()
    (d / "records.jsonl").write_text("\n".join(lines) + '\n{"run_id": "tr')
    rd = load_results([d]).reproduce[0]
    assert len(rd.records) == len(lines) and "incomplete last line" in rd.notes[0]
    (d / "records.jsonl").write_text(lines[0] + "\n{oops\n" + lines[1] + "\n")
    with pytest.raises(ReportInputError, match="records.jsonl:2"):
        load_results([d])


def test_cli_report_bad_input_exit_code(tmp_path, capsys):
    assert cli.main(["report", str(tmp_path / "nothing.json"), "-o", str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli.main(["report", str(tmp_path / "empty"), "-o", str(tmp_path / "o")]) == 2
    assert "no results found" in capsys.readouterr().err


# ----------------------------------------------------------------------------- figures by content


def _panel_points(ax) -> dict[str, np.ndarray]:
    """The plotted (case number, ratio) points of one ledger panel, by case category."""
    return {c.get_label(): np.asarray(c.get_offsets()) for c in ax.collections}


def _legend_texts(fig) -> list[str]:
    return [t.get_text() for leg in fig.legends for t in leg.get_texts()]


@given(n=st.integers(1, 20), bad=st.integers(0, 5), expected=st.sampled_from([True, False, None]),
       seed=st.integers(0, 2**16))
def test_ledger_figure_one_panel_per_reading(n, bad, expected, seed):
    """One panel per reading with finite cases; y = measured / bound recomputed here; failing cases
    drawn by what the ledger expects (orange diamond expected, red cross UNEXPECTED, purple open)."""
    rng = np.random.default_rng(seed)
    bad = min(bad, n)
    b = rng.uniform(0.1, 10, n)
    m = np.where(np.arange(n) < bad, b * rng.uniform(1.01, 3, n), b * rng.uniform(0.2, 1, n))
    status = "refuted" if bad else "holds"
    rows = [{"reading": "r1", "status": status, "expected": expected, "seed": 7,
             "cases_data": [{"measured": float(mi), "bound": float(bi), "ok": bool(mi <= bi)} for mi, bi in zip(m, b, strict=True)]},
            {"reading": "r2", "status": "holds", "expected": True, "seed": 7,
             "cases_data": [{"measured": 0.5, "bound": 1.0, "ok": True}, {"measured": "nan", "bound": 1.0, "ok": True}]},
            {"reading": "r3", "status": "holds", "expected": True, "cases_data": []}]  # no case: no panel
    fig = bound_vs_measured_figure("c", rows)
    assert len(fig.axes) == 2 and [ax.get_title().split("\n")[0] for ax in fig.axes] == ["r1", "r2"]
    ax = fig.axes[0]
    pts = _panel_points(ax)
    fail_cat = {True: "unexpected", False: "expected", None: "open"}[expected]
    assert set(pts) == {"holds"} | ({fail_cat} if bad else set()) or (bad == n and set(pts) == {fail_cat})
    got = np.concatenate(list(pts.values()))
    got = got[np.argsort(got[:, 0])]
    np.testing.assert_array_equal(got[:, 0], np.arange(1, n + 1))  # x = the case number
    np.testing.assert_allclose(got[:, 1], m / b)  # y = measured / bound
    if bad:
        np.testing.assert_array_equal(np.sort(pts[fail_cat][:, 0]), np.arange(1, bad + 1))
        assert CASE_STYLES[fail_cat]["legend"] + f" ({bad})" in _legend_texts(fig)
    # ratio = 1 is in range (every ratio here lies within a factor of ten of it) and marked
    assert [ln.get_ydata()[0] for ln in ax.lines if ln.get_label() == RATIO_ONE_LABEL] == [1.0]
    lo, hi = ax.get_ylim()
    q = m / b
    assert lo <= min(q.min(), 1.0) and hi >= max(q.max(), 1.0)
    assert ax.get_yscale() == "linear" and hi - lo <= 1.2 * (max(q.max(), 1.0) - min(q.min(), 1.0)) + 0.2
    unexpected = expected is True and bad > 0
    assert ("(UNEXPECTED)" in ax.get_title()) == unexpected
    assert (ax.spines["left"].get_edgecolor()[:3] == (1.0, 0.0, 0.0)) == unexpected  # a red frame
    assert "seed 7" in fig.texts[0].get_text() and "1 case with an undefined ratio (NaN) left out" in fig.texts[0].get_text()


def test_ledger_figure_tells_expected_from_unexpected_refutations():
    """Two refuted readings, one the ledger expects to fail and one it expects to hold: their failing
    cases differ in colour and marker, and the legend names both."""
    rows = [{"reading": r, "status": "refuted", "expected": e, "cases_data": [
        {"measured": 2.0, "bound": 1.0, "ok": False}, {"measured": 0.5, "bound": 1.0, "ok": True}]}
        for r, e in (("paper-bound", False), ("our-bound", True))]
    fig = bound_vs_measured_figure("c", rows)
    exp, unexp = (next(c for c in ax.collections if c.get_label() != "holds") for ax in fig.axes)
    assert (exp.get_label(), unexp.get_label()) == ("expected", "unexpected")
    assert not np.allclose(exp.get_facecolor()[0], unexp.get_facecolor()[0])
    assert exp.get_paths()[0].vertices.shape != unexp.get_paths()[0].vertices.shape or \
        not np.allclose(exp.get_paths()[0].vertices, unexp.get_paths()[0].vertices)  # another marker
    texts = _legend_texts(fig)
    assert "case fails, as the ledger expects (reading expected to fail) (1)" in texts
    assert "case fails, UNEXPECTED (reading expected to hold) (1)" in texts
    assert "UNEXPECTED" not in fig.axes[0].get_title() and "UNEXPECTED" in fig.axes[1].get_title()


def test_ledger_figure_axes_as_wide_as_the_data():
    """Ratios over many decades get a log axis spanning the data (a factor 1.3 beyond it), not a
    symmetric-log axis over empty decades; ratio = 1 far from the data is not drawn, a note says
    where it lies; zeros on a log panel and infinite ratios sit on the edges; drawing does not warn."""
    import io
    import warnings

    rows = [
        {"reading": "wide", "status": "holds", "expected": True,  # 1e-3 .. 1e-7, plus a zero
         "cases_data": [{"measured": v, "bound": 1.0, "ok": True} for v in (1e-3, 1e-5, 1e-7, 0.0)]},
        {"reading": "identity", "status": "proved", "expected": True,  # discrepancy 0 against the smallest double
         "cases_data": [{"measured": 0.0, "bound": 2.2250738585072014e-308, "ok": True},
                        {"measured": 5e-9, "bound": 1e-3, "ok": True}]},
        {"reading": "huge", "status": "refuted", "expected": False,  # 4.8e8 .. 3.5e9 and an infinite ratio
         "cases_data": [{"measured": v, "bound": 1.0, "ok": False} for v in (4.8e8, 3.5e9)]
         + [{"measured": 1.0, "bound": 0.0, "ok": False}]},
    ]
    fig = bound_vs_measured_figure("c", rows)
    wide, ident, huge = fig.axes
    assert all(ax.get_yscale() in ("log", "linear") for ax in fig.axes)
    assert wide.get_yscale() == "log"
    lo, hi = wide.get_ylim()
    assert 1e-7 / 1.31 <= lo <= 1e-7 and 1e-3 <= hi <= 1e-3 * 1.31  # four decades, not down to 1e-308
    assert not [ln for ln in wide.lines if ln.get_label() == RATIO_ONE_LABEL]
    assert any("ratio = 1 lies above this panel" in t.get_text() for t in wide.texts)
    edge = _panel_points(wide)["holds (on the edge)"]
    np.testing.assert_allclose(edge[:, 1], [lo])  # the zero on the lower edge
    # the identity: ratios 0 and 5e-6, linear, from 0 to just above 5e-6
    assert ident.get_yscale() == "linear" and ident.get_ylim()[1] <= 5e-6 * 1.1 and ident.get_ylim()[0] >= -5e-6 * 0.1
    # the huge ratios: within their own range; the infinite ratio on the upper edge
    lo, hi = huge.get_ylim()
    assert 4.8e8 * 0.5 <= lo <= 4.8e8 and 3.5e9 <= hi <= 3.5e9 * 1.5
    np.testing.assert_allclose(_panel_points(huge)["expected (on the edge)"][:, 1], [hi])
    assert any("ratio = 1 lies below this panel" in t.get_text() for t in huge.texts)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.savefig(io.BytesIO(), format="png", dpi=20)


def test_bound_vs_measured_absent_without_cases():
    assert bound_vs_measured_figure("c", [{"reading": "r"}]) is None


def test_bracket_figure(results):
    res = load_results([results["bracket"]])
    fig = bracket_figure(res.brackets[0])
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    by_label = {c.get_label(): c for c in ax.collections}
    assert set(by_label) == {"certified-upper", "lower", "heuristic"}
    np.testing.assert_allclose(sorted(by_label["certified-upper"].get_offsets()[:, 0]), [5.0, 8.0])
    # the shaded bracket runs from the best lower (3) to the best certified upper (5)
    (span,) = [p for p in ax.patches if p.get_label().startswith("bracket")]
    x0 = span.get_x()
    assert x0 == pytest.approx(3.0) and x0 + span.get_width() == pytest.approx(5.0)
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "spectral-product (certified-upper)"


def _mean_curve(records, **eq):
    sel = [r for r in records if all(r[k] == v for k, v in eq.items())]
    epochs = sorted({r["epoch"] for r in sel})
    return np.array([np.mean([r["value"] for r in sel if r["epoch"] == e]) for e in epochs])


def _means(ax) -> list:
    return [ln for ln in ax.lines if ln.get_gid() != "trial"]


def test_lipschitz_curves_figure(results):
    """One panel per (submodule, fusion); in each, a thin line per trial, the mean over the
    main-lambda trials (ablation runs excluded) and a band from the lowest to the highest trial;
    the y axis as wide as the row's data; the title says how the values were obtained."""
    recs = _records_of(results)
    fig = lipschitz_curves_figure(recs, "toy2", "certified-upper")
    assert len(fig.axes) == len(SUBMODULES) * len(FUSIONS)
    assert [ax.get_title() for ax in fig.axes] == [f"{f}: {s}" for s in sorted(SUBMODULES) for f in FUSIONS]
    title = fig.texts[0].get_text()
    assert "certified upper bounds, spectral-product" in title and "3 trials (0-2)" in title
    for ax in fig.axes:
        f, sub = ax.get_title().split(": ")
        sel = [r for r in recs if r["dataset"] == "toy2" and r["fusion"] == f and r["submodule"] == sub and r["lam"] == 1e-3
               and r["metric"] == "lipschitz" and r["kind"] == "certified-upper"]
        (mean,) = _means(ax)
        np.testing.assert_allclose(mean.get_ydata(), _mean_curve(sel))
        assert len([ln for ln in ax.lines if ln.get_gid() == "trial"]) == 3
        (band,) = ax.collections
        ys = band.get_paths()[0].vertices[:, 1]
        by_epoch = [[r["value"] for r in sel if r["epoch"] == e] for e in range(4)]
        np.testing.assert_allclose([ys.min(), ys.max()], [min(map(min, by_epoch)), max(map(max, by_epoch))])
        row = [r["value"] for r in recs if r["dataset"] == "toy2" and r["submodule"] == sub and r["lam"] == 1e-3
               and r["metric"] == "lipschitz" and r["kind"] == "certified-upper"]
        lo, hi = ax.get_ylim()  # the row's data range, a factor 1.15 (log) or 5% (linear) beyond it
        assert ax.get_yscale() == ("log" if max(row) / min(row) > 10 else "linear")  # log over more than a decade
        if ax.get_yscale() == "log":
            assert min(row) / 1.16 <= lo <= min(row) and max(row) <= hi <= max(row) * 1.16
        else:
            pad = 0.051 * (max(row) - min(row))
            assert min(row) - pad <= lo <= min(row) and max(row) <= hi <= max(row) + pad
    assert BAND_LABEL in [t.get_text() for t in fig.legends[0].get_texts()]
    assert lipschitz_curves_figure(recs, "toy2", "lower") is None  # no lower bounds recorded


def test_curves_of_ragged_and_single_epoch_records():
    """Trials that stop at different epochs: the mean is drawn only where every trial has a value;
    a submodule recorded at one epoch only is named in a note and gets no panel."""
    recs = []
    for t, last in enumerate((5, 3)):
        for e in range(last + 1):
            recs.append({"run_id": f"d__sum__lamdef__t{t}", "dataset": "d", "fusion": "sum", "trial": t, "lam": 0.0,
                         "epoch": e, "submodule": "model", "metric": "lipschitz", "value": 1.0 + e + t,
                         "kind": "lower", "method": "power-iteration"})
        recs.append({"run_id": f"d__sum__lamdef__t{t}", "dataset": "d", "fusion": "sum", "trial": t, "lam": 0.0,
                     "epoch": last, "submodule": "fusion", "metric": "lipschitz", "value": 2.0, "kind": "lower",
                     "method": "power-iteration"})
    fig = lipschitz_curves_figure(recs, "d", "lower")
    (ax,) = fig.axes
    (mean,) = _means(ax)
    np.testing.assert_array_equal(mean.get_xdata(), [0, 1, 2, 3])
    np.testing.assert_allclose(mean.get_ydata(), [1.5, 2.5, 3.5, 4.5])
    assert [len(ln.get_xdata()) for ln in ax.lines if ln.get_gid() == "trial"] == [6, 4]
    assert any("Recorded at one epoch only, not drawn (see the tables): fusion." in t.get_text() for t in fig.texts)
    assert ax.get_yscale() == "linear" and ax.get_ylim()[0] >= 1.0 - 0.05 * 5 and ax.get_ylim()[1] <= 6.0 + 0.05 * 5


def test_main_lambda_of_the_curves():
    from lipbound.report._figures import main_lam

    def recs(spec):
        return [{"dataset": "d", "fusion": "f", "lam": lam, "run_id": rid} for rid, lam in spec]

    # the default-lambda runs win even when another lambda has more runs ...
    assert main_lam(recs([("d__f__lamdef__t0", 0.1), ("d__f__lam1__t0", 1.0), ("d__f__lam1__t1", 1.0)]), "d", "f") == 0.1
    # ... else the lambda with the most runs, ties to the smallest
    assert main_lam(recs([("a", 0.1), ("b", 1.0), ("c", 1.0)]), "d", "f") == 1.0
    assert main_lam(recs([("a", 0.1), ("b", 1.0)]), "d", "f") == 0.1


def test_loss_curves_and_boxplots(results):
    recs = _records_of(results)
    fig = loss_curves_figure(recs, "toy3")
    panels = ["modality:m0", "modality:m1", "modality:m2", "combined (model)"]
    assert [ax.get_title() for ax in fig.axes] == [f"{f}: {p}" for p in panels for f in FUSIONS]
    assert "3 trials (0-2)" in fig.texts[0].get_text() and "loss: mse" in fig.texts[0].get_text()
    for ax in fig.axes:
        f, panel = ax.get_title().split(": ")
        sub = "model" if panel == "combined (model)" else panel
        train, test = _means(ax)
        assert (train.get_linestyle(), test.get_linestyle()) == ("-", "--")  # train solid, test dashed
        for ln, metric in ((train, "train_loss"), (test, "test_loss")):
            np.testing.assert_allclose(ln.get_ydata(), _mean_curve(recs, dataset="toy3", fusion=f, submodule=sub,
                                                                   metric=metric))
        assert len([ln for ln in ax.lines if ln.get_gid() == "trial"]) == 2 * 3
    box = final_loss_boxplots_figure(recs, "toy3")
    assert len(box.axes) == 2 * 4
    ax = box.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(FUSIONS)
    # the median line of the first box is the median of the attention runs' final train loss of m0
    finals = [r["value"] for r in recs if r["dataset"] == "toy3" and r["fusion"] == "attention" and r["epoch"] == 3
              and r["submodule"] == "modality:m0" and r["metric"] == "train_loss"]
    medians = [ln for ln in ax.lines if ln.get_color() not in ("black", "k")]
    assert any(np.allclose(ln.get_ydata(), np.median(finals)) for ln in medians)


def test_lambda_ablation_figure(results):
    recs = _records_of(results)
    fig = lambda_ablation_figure(recs, "toy2")
    lip, norm = fig.axes
    assert lip.get_xscale() == norm.get_xscale() == "log" and norm.get_ylabel() == "parameter norm"
    assert len(lip.containers) == 2  # the whole model's values, one series per (kind, method)
    assert {c.get_label() for c in lip.containers} == {"model (certified-upper, spectral-product)",
                                                       "model (heuristic, paper-estimator)"}
    (cont,) = norm.containers
    xs = cont.lines[0].get_xdata()
    np.testing.assert_allclose(xs, sorted((1e-3, *ABLATION_LAMS)))
    assert lambda_ablation_figure(recs, "toy3") is None  # toy3 has a single lambda


def test_reconstruction_figure_heat_map():
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, (2, 3, 5, 5))
    y = rng.uniform(0, 1, (2, 3, 5, 5))
    fig = reconstruction_figure(x, y, "t")
    heat = [ax for ax in fig.axes if ax.get_title().startswith("|error|")]
    assert len(heat) == 2
    np.testing.assert_allclose(heat[1].images[0].get_array(), np.abs(y[1] - x[1]).mean(axis=0))
    vec = reconstruction_figure(rng.normal(size=(3, 6)), rng.normal(size=(3, 6)), "v")
    assert len(vec.axes) == 6 and len(vec.axes[0].lines) == 2


def test_detection_figures(results):
    det = [json.loads(line) for line in (results["dir"] / "detection.jsonl").read_text().splitlines()]
    fig = detection_histograms_figure(det, "toy2")
    assert len(fig.axes) == 6
    ax = fig.axes[0]
    sel = [r for r in det if r["fusion"] == ax.get_title().split(" / ")[0] and r["corruption"] == ax.get_title().split(" / ")[1]]
    assert sum(p.get_height() for p in ax.patches) == sum(len(r["distances_clean"]) + len(r["distances_faulty"]) for r in sel)
    assert len([ln for ln in ax.lines]) == len(sel)  # one threshold line per trial
    conf = confusion_figure(det, "toy2")
    ax = conf.axes[0]
    f, c = ax.get_title().split(" / ")
    want = sum(np.array(r["confusion"]) for r in det if r["fusion"] == f and r["corruption"] == c)
    assert [int(t.get_text()) for t in ax.texts] == want.ravel().tolist()
    assert detection_histograms_figure(det, "toy3") is None


def test_mvae_figure(results):
    """One panel per measure; every seed's value is a dot and the mean over seeds a tick, per
    (schedule, modality); the y axis spans the data; the title names the seeds."""
    doc = load_results([results["mvae"]]).mvae[0]
    fig = mvae_measures_figure(doc)
    assert [ax.get_title() for ax in fig.axes] == ["loss-of-precision", "single-modality-error"]
    assert "seeds 0, 1" in fig.texts[0].get_text()
    for ax in fig.axes:
        sel = [r for r in doc.rows if r["measure"] == ax.get_title()]
        dots = {c.get_label(): np.sort(c.get_offsets()[:, 1]) for c in ax.collections if isinstance(c, PathCollection)}
        assert set(dots) == {"beta0", "beta1"}
        for s, got in dots.items():
            np.testing.assert_allclose(got, np.sort([r["value"] for r in sel if r["schedule"] == s]))
        means = {c.get_label()[1:-5]: np.asarray(c.lines[0].get_ydata(), dtype=float) for c in ax.containers}
        assert set(means) == {"beta0", "beta1"}
        for s, got in means.items():  # the ticks: the mean over seeds per modality (joints, vision)
            want = [np.mean([r["value"] for r in sel if r["schedule"] == s and r["modality"] == m]) for m in ("joints", "vision")]
            np.testing.assert_allclose(got, want)
        v = [r["value"] for r in sel]
        lo, hi = ax.get_ylim()
        assert min(v) - 0.081 * (max(v) - min(v)) <= lo <= min(v) and max(v) <= hi <= max(v) + 0.081 * (max(v) - min(v))
    assert mvae_measures_figure(MvaeDoc("x", [], [])) is None
    assert len(bracket_figure(BracketDoc("x", "empty", [], [])).axes[0].collections) == 0


# ----------------------------------------------------------------------------- paper tables


@pytest.mark.parametrize("table", [1, 2])
@pytest.mark.parametrize("split", ["train", "test"])
def test_paper_tables_are_consistent(table, split):
    """The transcription is checked against the paper itself: Combined = the sum of the modality
    means (to the paper's rounding, 0.002: three decimals on up to three rounded terms)."""
    for fusion, cells in PAPER_TABLES[table][split].items():
        total = sum(cells[m][0] for m in PAPER_MODALITIES[table])
        assert cells["combined"][0] == pytest.approx(total, abs=2e-3), (table, split, fusion)


# ----------------------------------------------------------------------------- the written report


def test_markdown_has_the_tables(report, results):
    md = (report / "report.md").read_text()
    assert "| claim | reading | status | expected | cases | tightest ratio | counterexample | docs |" in md
    assert "| thm-3.3 | true-shared | refuted | fails | 12 | 1.3 | [counterexample](#cex-0-thm-3.3-true-shared) |" in md
    assert "| thm-3.3 | concat-equals-l2 | holds (expected to fail: no counterexample found) | fails |" in md
    assert "[Theorem 3.3](" in md and "/docs/claims/thm-3.3.md)" in md  # the page in the checkout
    assert "| method | kind | value | seconds | solver | status |" in md and "| lipsdp-neuron | certified-upper | 5 |" in md
    # Table 1 analogue for the bimodal toy2, Table 2 for the trimodal toy3, beside the paper's rows
    assert "| fusion | m0 | m1 | combined | trials |" in md and "| fusion | m0 | m1 | m2 | combined | trials |" in md
    assert "| sum | 21.351 ± 2.043 | 0.098 ± 0.005 | 21.449 ± 2.043 |" in md
    assert "| attention | 1.876 ± 0.144 | 0.073 ± 0.004 | 17.582 ± 0.198 | 19.531 ± 0.145 |" in md
    recs = _records_of(results)
    finals = [r["value"] for r in recs if r["dataset"] == "toy2" and r["fusion"] == "concat" and r["epoch"] == 3
              and r["submodule"] == "modality:m1" and r["metric"] == "test_loss"]
    assert f"{np.mean(finals):.4g} ± {np.std(finals):.2g}" in md
    assert "| attention | noise |" in md  # failure detection table
    assert "| beta0 | joints | loss-of-precision |" in md  # MVAE measures
    assert "| beta1 | - | encoder:vision | spectral-product | certified-upper | 12.5 | none | ok |" in md
    assert "`lipbound reproduce --preset tiny`" in md and "`lipbound bound toy-mlp --json bracket.json`" in md


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.src, self.href, self.ids, self.scripts, self.links = [], [], set(), 0, 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "img":
            self.src.append(a["src"])
        if tag == "a" and "href" in a:
            self.href.append(a["href"])
        self.scripts += tag == "script"
        self.links += tag == "link"


def test_html_references_only_existing_files(report):
    refs = _Refs()
    refs.feed((report / "index.html").read_text())
    assert refs.scripts == 0 and refs.links == 0  # no script, no external stylesheet or font
    assert len(refs.src) >= 10
    for src in refs.src:
        assert not src.startswith(("http:", "https:", "//", "/")), src
        assert (report / src).is_file(), src
    assert sorted(p.name for p in (report / "figures").iterdir()) == sorted(Path(s).name for s in refs.src)
    anchors = [h[1:] for h in refs.href if h.startswith("#")]
    assert anchors and all(a in refs.ids for a in anchors)
    # no dead link: every other href is a file that exists, by default a claim page of the checkout
    # (docs/claims/*.md, relative to the report), the stable location the report states
    files = [h for h in refs.href if not h.startswith("#")]
    assert files and all(not h.startswith(("http:", "https:", "/")) for h in files), files
    assert all((report / h).resolve().is_file() for h in files), [h for h in files if not (report / h).resolve().is_file()]
    pages = {(report / h).resolve() for h in files}
    assert pages <= {p.resolve() for p in (ROOT / "docs" / "claims").glob("*.md")}
    assert "Docs links point to the claim pages in the lipbound checkout, docs/claims/*.md" in (report / "index.html").read_text()


def test_docs_links_to_a_site_or_none(tmp_path, monkeypatch):
    """--docs-url links to the built site's pages; without a checkout the claims are named, unlinked."""
    from lipbound.report import _render

    assert _render.docs_link("thm-3.3", "https://example.org/lb/").href == "https://example.org/lb/claims/thm-3.3.html"
    assert _render.docs_link("no-such-claim", None) == "-"
    monkeypatch.setattr(_render, "CHECKOUT", tmp_path / "not-a-checkout")
    assert _render.source_link("thm-3.3", tmp_path) == "Theorem 3.3"
    assert "not beside this installation" in _render._docs_where(None, tmp_path)


def test_rewriting_removes_stale_figures_only_its_own(report, results, tmp_path):
    """A rewrite removes the figures an earlier report of lipbound's wrote and this one does not use;
    a PNG the user put in figures/, or a figure of lipbound's that the user changed, stays as it is."""
    out = tmp_path / "o"
    shutil.copytree(report, out)
    (out / "figures" / "old.png").write_bytes(b"x")
    changed = sorted((out / "figures").glob("toy2-*.png"))[0]
    changed.write_bytes(b"edited by the user")
    write_report(load_results([results["bracket"]]), out, docs_url="https://example.org/lipbound")
    assert sorted(p.name for p in (out / "figures").iterdir()) == sorted(["bracket-toy-mlp.png", "old.png", changed.name])
    assert (out / "figures" / "old.png").read_bytes() == b"x" and changed.read_bytes() == b"edited by the user"
    assert "https://example.org/lipbound" not in (out / "index.html").read_text()  # no claims, no docs link


def test_verify_writes_the_report(tmp_path, capsys):
    d = tmp_path / "lipbound-report"
    code = cli.main(["verify", "--claim", "thm-3.3", "--examples", "3", "--no-zoo", "--json", str(d / "verify.json"),
                     "--markdown", str(d / "verify.md")])
    assert code == 0
    rows = json.loads((d / "verify.json").read_text())
    assert all(len(r["cases_data"]) == r["cases"] for r in rows if r["method"] != "symbolic only")
    md = (d / "report.md").read_text()
    assert "| thm-3.3 | true-shared | refuted | fails |" in md and "lipbound verify --claim thm-3.3" in md
    assert (d / "figures" / "ledger0-thm-3.3.png").is_file() and (d / "index.html").is_file()
    # no report for --no-report, nor for a bare file name in the current folder
    e = tmp_path / "e"
    assert cli.main(["verify", "--claim", "eq-3", "--examples", "1", "--no-zoo", "--json", str(e / "v.json"),
                     "--no-report"]) == 0
    assert sorted(p.name for p in e.iterdir()) == ["v.json"]


def test_skipped_rows_are_shown_with_their_reason(tmp_path):
    """Rows `lipbound verify` could not check (data absent) are read, shown as skipped with the reason
    and how to get the data, left out of the scatters (their count in the title), and not mistaken
    for symbolic-only readings."""
    why = "not checked: needs the toy data, which is absent (looked in ./toy); put it in ./toy"
    skipped = [{"claim": c, "reading": r, "status": "skipped", "expected": e, "cases": 0, "tightest_ratio": None,
                "counterexample": None, "seconds": 0.0, "seed": 0, "method": "m", "proof": None, "detail": why}
               for c, r, e in (("mvae-findings", "const1-collapse", None), ("thm-3.3", "proof-bounds", True))]
    rows = _ledger_rows(np.random.default_rng(1), 5) + skipped
    f = tmp_path / "rows.json"
    f.write_text(json.dumps(rows))
    out = tmp_path / "out"
    assert cli.main(["report", str(f), "-o", str(out), "--dpi", "30"]) == 0
    md = (out / "report.md").read_text()
    assert "| mvae-findings | const1-collapse | skipped (not checked: data absent) | open | 0 | - | - |" in md
    assert f"**Skipped** (2: mvae-findings/const1-collapse, thm-3.3/proof-bounds): {why}." in md
    assert "No figure for mvae-findings: every reading was skipped" in md and "No per-case data" not in md
    assert "| proof-bounds | skipped | 0 | m |" in md  # the table under thm-3.3's scatter
    assert "skipped (not checked: data absent)" in (out / "index.html").read_text()
    fig = bound_vs_measured_figure("thm-3.3", [r for r in rows if r["claim"] == "thm-3.3"])
    assert "1 reading skipped: not checked, data absent" in fig.texts[0].get_text()


# ----------------------------------------------------------------------------- headless Chromium

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class _Chromium:
    """Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
    JSON messages separated by NUL on file descriptors 3 and 4), so no websocket client is needed."""

    #: a guard against a hung browser, not a performance limit
    READ_GUARD_S = 120

    def __init__(self, exe: str):
        self.profile = tempfile.mkdtemp(prefix="lipbound-chromium-")
        to_r, self._to_w = os.pipe()
        self._from_r, from_w = os.pipe()

        def child_fds():
            os.dup2(to_r, 3)
            os.dup2(from_w, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", "--window-size=1280,900", "--remote-debugging-pipe",
             f"--user-data-dir={self.profile}", "about:blank"],
            close_fds=False, preexec_fn=child_fds, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_r)
        os.close(from_w)
        self.buf, self.next_id, self.events = b"", 0, []

    def _read(self) -> dict:
        while b"\0" not in self.buf:
            ready, _, _ = select.select([self._from_r], [], [], self.READ_GUARD_S)
            chunk = os.read(self._from_r, 1 << 16) if ready else b""
            if not chunk:
                raise RuntimeError("chromium stopped answering on the DevTools pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_w, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == msg["id"]:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str, session: str) -> dict:
        while True:
            for k, e in enumerate(self.events):
                if e.get("method") == method and e.get("sessionId") == session:
                    return self.events.pop(k)
            self.events.append(self._read())

    def load(self, page: Path, *, expression: str | None = None, full_page: bool = True) -> dict:
        """Open ``page``; return the problems seen (script errors, failed or external requests,
        broken images), the console errors, a PNG screenshot (the full page, or the first screen,
        1280 x 900, when not ``full_page``) and, with ``expression``, its value in the page (``value``)."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=s)
        self.events.clear()
        self.send("Page.navigate", {"url": page.resolve().as_uri()}, session=s)
        self.wait_for("Page.loadEventFired", s)
        broken = self.send("Runtime.evaluate", {"returnByValue": True, "expression":
                           "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)"
                           ".map(i => i.getAttribute('src'))"}, session=s)["result"]["value"]
        n_images = self.send("Runtime.evaluate", {"expression": "document.images.length", "returnByValue": True},
                             session=s)["result"]["value"]
        value = None if expression is None else self.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=s)["result"].get("value")
        shot = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": full_page}, session=s)
        ev = [e for e in self.events if e.get("sessionId") == s]
        sent = {e["params"]["requestId"]: e["params"]["request"]["url"] for e in ev if e["method"] == "Network.requestWillBeSent"}
        self.send("Target.closeTarget", {"targetId": target})
        return {
            "exceptions": [e["params"]["exceptionDetails"].get("text") for e in ev if e["method"] == "Runtime.exceptionThrown"],
            "console_errors": [e["params"] for e in ev if (e["method"] == "Runtime.consoleAPICalled" and e["params"]["type"] == "error")
                               or (e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")],
            "failed_requests": [e["params"].get("errorText") for e in ev if e["method"] == "Network.loadingFailed"],
            "failed_urls": [sent.get(e["params"]["requestId"]) for e in ev if e["method"] == "Network.loadingFailed"],
            "urls": [e["params"]["request"]["url"] for e in ev if e["method"] == "Network.requestWillBeSent"],
            "broken_images": broken, "images": n_images, "png": base64.b64decode(shot["data"]), "value": value,
        }

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (RuntimeError, OSError):
            self.proc.kill()
        self.proc.wait()
        os.close(self._to_w)
        os.close(self._from_r)
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def chromium():
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium; .ci/run installs it)")
    browser = _Chromium(CHROMIUM)
    yield browser
    browser.close()


def test_report_renders_in_chromium(chromium, report):
    got = chromium.load(report / "index.html")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "report-index.png").write_bytes(got["png"])
    assert got["png"][:8] == b"\x89PNG\r\n\x1a\n" and len(got["png"]) > 10_000
    assert got["images"] >= 10 and got["broken_images"] == []
    assert got["exceptions"] == [] and got["console_errors"] == [] and got["failed_requests"] == []
    assert all(u.startswith("file://") for u in got["urls"]), got["urls"]  # nothing from the network


def test_chromium_check_catches_a_broken_page(chromium, tmp_path):
    """The browser check can fail: a missing image and a script error are both seen."""
    page = tmp_path / "bad.html"
    page.write_text('<html><body><img src="figures/missing.png"><script>undefinedFunction()</script></body></html>')
    got = chromium.load(page)
    assert got["broken_images"] == ["figures/missing.png"]
    assert got["exceptions"] and got["failed_requests"]
