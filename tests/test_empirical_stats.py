"""Empirical verdicts from every trial: effect sizes with 95% intervals (lipbound.claims.empirical).

A reading holds only when the interval of every comparison lies on the claimed side, is not-supported (a tendency: never refuted)
only when one lies on the other side (the data says the opposite), and is otherwise ``not-proven``
(inconclusive): a single trial that disagrees refutes nothing.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lipbound.claims import check_reading, get_claim
from lipbound.claims import Fixtures
from lipbound.claims.empirical._stats import (
    paired_bootstrap,
    paired_difference,
    paired_log_ratio,
    variance_ratio,
    verdict,
)

ATT = "attention-regularized-scaled"


# ------------------------------------------------------------------------------- the intervals
@settings(max_examples=30)
@given(n=st.integers(2, 12), seed=st.integers(0, 2**31 - 1), shift=st.floats(-2.0, 2.0))
def test_t_interval_matches_its_definition(n, seed, shift):
    """The paired log-ratio interval is mean +- t_{0.975, n-1} sd / sqrt(n) of the log ratios
    (recomputed here with numpy and scipy independently), and contains the mean."""
    from scipy import stats

    rng = np.random.default_rng(seed)
    b = rng.uniform(0.5, 2.0, n)
    a = b * np.exp(shift + 0.3 * rng.normal(size=n))
    iv = paired_log_ratio(a, b)
    r = np.log(a / b)
    h = stats.t.ppf(0.975, n - 1) * r.std(ddof=1) / math.sqrt(n)
    assert iv["n"] == n
    assert math.isclose(math.log(iv["lo"]), r.mean() - h, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(math.log(iv["hi"]), r.mean() + h, rel_tol=1e-9, abs_tol=1e-12)
    assert iv["lo"] <= iv["ratio"] <= iv["hi"]


def test_coverage_of_the_t_interval_is_about_95_percent():
    """Under the null (no effect, normal log ratios) the interval excludes 1 in about 5% of
    repetitions: 4000 repetitions of 5 trials, seed 0; the binomial sd of the rate is 0.34%, so
    [3.5%, 6.5%] is a 4-sd band."""
    rng = np.random.default_rng(0)
    wrong = 0
    for _ in range(4000):
        b = rng.uniform(1.0, 2.0, 5)
        a = b * np.exp(0.2 * rng.normal(size=5))
        wrong += verdict(paired_log_ratio(a, b), "below") != "inconclusive"
    assert 0.035 <= wrong / 4000 <= 0.065


def test_verdicts_and_small_samples():
    assert verdict(paired_log_ratio([1.0] * 5, [2.0, 2.1, 1.9, 2.05, 1.95]), "below") == "supported"
    assert verdict(paired_log_ratio([2.0, 2.1, 1.9, 2.05, 1.95], [1.0] * 5), "below") == "opposite"
    assert verdict(paired_log_ratio([1.0], [2.0]), "below") == "inconclusive"  # one trial decides nothing
    assert verdict(paired_difference([0.9, 0.8, 0.85], [0.1, 0.2, 0.15]), "above") == "supported"
    v = variance_ratio([1.0, 1.01, 0.99, 1.0, 1.02, 0.98], [1.0, 3.0, -1.0, 2.0, 0.0, 4.0])
    assert verdict(v, "below") == "supported" and v["ratio"] < 0.1
    bs = paired_bootstrap(lambda m: float(m.mean()), [np.array([1.0, 2.0, 3.0, 4.0])], seed=3)
    assert bs["lo"] <= 2.5 <= bs["hi"] and "seed 3" in bs["test"]
    with pytest.raises(ValueError, match="positive"):
        paired_log_ratio([1.0, -1.0], [1.0, 1.0])


# ---------------------------------------------------------------- readings on constructed results
def _write(path: Path, fus: dict[str, list[float]], *, lam_curve=None, det_good=None) -> None:
    """records.jsonl / detection.jsonl with one value per (fusion, trial): the Lipschitz bounds and
    final losses are that value; losses fall linearly over 3 epochs."""
    recs, det = [], []
    for f, vals in fus.items():
        for t, v in enumerate(vals):
            rid = f"ds__{f}__lamdef__t{t}"
            base = {"run_id": rid, "dataset": "ds", "fusion": f, "trial": t, "lam": 1e-3 if f == ATT else 0.0}
            for ep in (0, 1, 2):
                for m in ("train_loss", "test_loss"):
                    recs.append({**base, "epoch": ep, "submodule": "model", "metric": m, "value": v * (3 - ep),
                                 "kind": "loss", "method": "mse"})
                    for mod in ("modality:a", "modality:b"):
                        recs.append({**base, "epoch": ep, "submodule": mod, "metric": m, "value": v * (3 - ep) / 2,
                                     "kind": "loss", "method": "mse"})
            for k in ("lower", "heuristic"):
                recs.append({**base, "epoch": 2, "submodule": "model", "metric": "lipschitz", "value": v, "kind": k,
                             "method": "x"})
            if det_good is not None:
                good = det_good(f, t)
                for c in ("a:noise", "b:noise"):
                    det.append({"run_id": rid, "dataset": "ds", "fusion": f, "trial": t, "corruption": c,
                                "threshold": 1.0, "tpr": good[0], "fpr": good[1], "confusion": [[1, 0], [0, 1]],
                                "distances_clean": [], "distances_faulty": []})
    for lam, vals in (lam_curve or {}).items():
        for t, v in enumerate(vals):
            base = {"run_id": f"ds__{ATT}__lam{lam:g}__t{t}", "dataset": "ds", "fusion": ATT, "trial": t, "lam": lam}
            recs.append({**base, "epoch": 2, "submodule": "model", "metric": "lipschitz", "value": v, "kind": "lower",
                         "method": "x"})
            recs.append({**base, "epoch": 2, "submodule": "model", "metric": "param_norm", "value": 10 / (1 + lam) + 0.01 * t,
                         "kind": "other", "method": "x"})
    path.mkdir(parents=True)
    (path / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    (path / "detection.jsonl").write_text("".join(json.dumps(r) + "\n" for r in det))


def _status(path: Path, cid: str, reading: str):
    return check_reading(get_claim(cid), reading, examples=5, seed=0, fixtures=Fixtures(results=str(path)))


def test_clear_effect_holds_with_its_interval(tmp_path):
    rng = np.random.default_rng(1)
    att = list(0.5 + 0.02 * rng.normal(size=8))
    _write(tmp_path / "r", {"sum": list(2.0 + 0.1 * rng.normal(size=8)), "concat": list(1.9 + 0.1 * rng.normal(size=8)),
                            ATT: att})
    row = _status(tmp_path / "r", "emp-lipschitz", "lower-bound")
    assert row.status == "holds" and row.cases == 1  # one decision per dataset, on all 8 trials
    assert "supported" in row.cases_data[0]["label"] and "8 trials" in row.cases_data[0]["label"]


def test_opposite_effect_is_refuted_with_the_interval_as_counterexample(tmp_path):
    rng = np.random.default_rng(2)
    _write(tmp_path / "r", {"sum": list(1.0 + 0.05 * rng.normal(size=6)), "concat": list(2.0 + 0.05 * rng.normal(size=6)),
                            ATT: list(1.5 + 0.05 * rng.normal(size=6))})
    row = _status(tmp_path / "r", "emp-lipschitz", "lower-bound")
    assert row.status == "not-supported"  # a tendency the runs contradict: never "refuted"
    comps = {c["comparison"]: c for c in row.counterexample["comparisons"]}
    assert comps["attention vs sum"]["lo"] > 1.0  # attention is significantly above sum
    assert comps["attention vs concat"]["hi"] < 1.0  # and below concat: one opposite comparison refutes


def test_one_disagreeing_trial_refutes_nothing(tmp_path):
    """Attention lowest in 7 of 8 trials and highest in one: before, any single trial refuted the
    reading; now the interval decides (here: inconclusive or supported, never refuted)."""
    att = [0.5] * 7 + [5.0]
    _write(tmp_path / "r", {"sum": [2.0 + 0.01 * t for t in range(8)], "concat": [1.9 + 0.01 * t for t in range(8)],
                            ATT: att})
    row = _status(tmp_path / "r", "emp-lipschitz", "lower-bound")
    assert row.status in ("not-proven", "holds") and row.status != "not-supported"


def test_noisy_small_sample_is_not_proven(tmp_path):
    """Three noisy trials with attention slightly lower on average: the interval contains no effect,
    so the reading is not-proven with an 'inconclusive' detail, neither holds nor refuted."""
    _write(tmp_path / "r", {"sum": [2.0, 2.6, 1.4], "concat": [1.0, 2.0, 3.0], ATT: [1.8, 2.5, 1.3]})
    row = _status(tmp_path / "r", "emp-lipschitz", "lower-bound")
    assert row.status == "not-proven" and "inconclusive" in row.detail
    assert row.cases_data[0].get("decided") is False


def test_variance_detection_and_lambda_readings(tmp_path):
    rng = np.random.default_rng(3)
    fus = {"sum": list(2.0 + 0.5 * rng.normal(size=10)), "concat": list(2.0 + 0.01 * rng.normal(size=10)),
           ATT: list(1.0 + 0.01 * rng.normal(size=10))}
    lam = {1e-4: [2.0 + 0.01 * t for t in range(5)], 1e-2: [1.0 + 0.01 * t for t in range(5)],
           1.0: [1.5 + 0.01 * t for t in range(5)]}
    _write(tmp_path / "r", fus, lam_curve=lam,
           det_good=lambda f, t: (0.9 + 0.01 * (t % 3), 0.04) if f == ATT else (0.4 + 0.02 * (t % 4), 0.06 + 0.001 * t))
    assert _status(tmp_path / "r", "emp-variance", "test-loss").status == "holds"
    assert _status(tmp_path / "r", "emp-detection", "youden").status == "holds"
    assert _status(tmp_path / "r", "emp-detection", "tpr-and-fpr").status == "holds"
    assert _status(tmp_path / "r", "emp-lambda", "interior-optimum").status == "holds"
    assert _status(tmp_path / "r", "emp-lambda", "param-norm-decreasing").status == "holds"
    assert _status(tmp_path / "r", "emp-lipschitz", "ten-times").status == "not-supported"  # 10 x 1.0 > 2.0


def test_compact_results_decide_as_the_full_ones(tmp_path):
    """The compact form (what is committed to the repository) keeps what the claims read: every
    reading gets the same status and the same cases on it as on the full results directory, and the
    per-sample distance lists are gone."""
    import gzip

    from lipbound.claims.empirical._compact import compact_results

    rng = np.random.default_rng(5)
    full = tmp_path / "full"
    _write(full, {"sum": list(2.0 + 0.3 * rng.normal(size=6)), "concat": list(1.9 + 0.05 * rng.normal(size=6)),
                  ATT: list(1.0 + 0.05 * rng.normal(size=6))},
           lam_curve={1e-4: [2.0] * 4, 1e-2: [1.0, 1.1, 0.9, 1.0], 1.0: [1.5] * 4},
           det_good=lambda f, t: (0.9, 0.04) if f == ATT else (0.5 + 0.01 * t, 0.06))
    (full / "meta.json").write_text(json.dumps({"kind": "lipbound-reproduce", "command": "lipbound reproduce ...",
                                                "status": "running"}))
    with pytest.raises(Exception, match="not complete"):  # an unfinished sweep is never compacted
        compact_results(full, tmp_path / "compact")
    assert not (tmp_path / "compact").exists()
    (full / "meta.json").write_text(json.dumps({"kind": "lipbound-reproduce", "command": "lipbound reproduce ...",
                                                "status": "complete"}))
    # a record the compaction drops: a submodule's loss at an intermediate epoch
    with open(full / "records.jsonl", "a") as fh:
        fh.write(json.dumps({"run_id": "ds__sum__lamdef__t0", "dataset": "ds", "fusion": "sum", "epoch": 1,
                             "submodule": "encoder:a", "metric": "lipschitz_x", "value": 1.0, "kind": "other",
                             "lam": 0.0}) + "\n")
    info = compact_results(full, tmp_path / "compact")
    assert info["records_kept"] < info["records_total"]
    det = gzip.decompress((tmp_path / "compact" / "detection.jsonl.gz").read_bytes()).decode()
    assert "distances_clean" not in det
    for cid, reading in [("emp-lipschitz", "lower-bound"), ("emp-convergence", "fastest"),
                         ("emp-convergence", "lowest-test-loss"), ("emp-variance", "test-loss"),
                         ("emp-detection", "youden"), ("emp-lambda", "interior-optimum")]:
        a, b = _status(full, cid, reading), _status(tmp_path / "compact", cid, reading)
        assert (a.status, a.cases, a.tightest_ratio) == (b.status, b.cases, b.tightest_ratio), (cid, reading)
    with pytest.raises(Exception, match="not a compact results folder"):
        compact_results(full, full)  # never writes into a folder of other files
