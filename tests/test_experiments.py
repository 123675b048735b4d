"""The experiments harness (lipbound.experiments) and the empirical claims (lipbound.claims.empirical).

Seeds: every test fixes its seeds (model/batch order via RunConfig.seed, data via explicit
generators); hypothesis draws the small shapes and seeds of the detection and power-iteration
properties. Runs use a tiny in-memory dataset (vector + series + image modalities) so that the
default tests stay within seconds.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lipbound.datasets import ModalitySpec, MultimodalDataset
from lipbound.errors import LipboundError
from lipbound.experiments import (
    RunConfig,
    SweepInterrupted,
    TrainingDivergedError,
    detection_metrics,
    fit_detector,
    plan,
    power_lower,
    read_jsonl,
    run_sweep,
    train_run,
)

ROOT = Path(__file__).resolve().parents[1]
RECORD_KEYS = {"run_id", "dataset", "fusion", "trial", "lam", "epoch", "submodule", "metric", "value", "kind", "method"}
KINDS = {"lipschitz": {"certified-upper", "lower", "heuristic"}, "train_loss": {"loss"}, "test_loss": {"loss"},
         "param_norm": {"other"}, "epoch_seconds": {"other"}, "tracking_seconds": {"other"}}


def tiny_dataset(seed: int = 0, n_train: int = 96, n_test: int = 48, poison: bool = False) -> MultimodalDataset:
    """Vector (5,), series (6, 2) and image (1, 8, 8) modalities from shared factors (seeded)."""
    g = torch.Generator().manual_seed(seed)
    mods = (ModalitySpec("v", "vector", (5,)), ModalitySpec("s", "series", (6, 2)), ModalitySpec("img", "image", (1, 8, 8)))

    def split(n):
        f = torch.randn(n, 3, generator=g)
        v = f @ torch.randn(3, 5, generator=g)
        s = (f @ torch.randn(3, 12, generator=g)).reshape(n, 6, 2)
        img = torch.sigmoid(f @ torch.randn(3, 64, generator=g)).reshape(n, 1, 8, 8)
        return {"v": v, "s": s, "img": img}

    tr, te = split(n_train), split(n_test)
    if poison:
        tr["s"][5, 0, 0] = float("inf")
    return MultimodalDataset("tiny", mods, tr, te, {"seed": seed})


def cfg(fusion="sum", **kw) -> RunConfig:
    # Lipschitz tracking at the last epoch only (track_every larger than epochs), to keep the tests fast
    base = dict(dataset="tiny", fusion=fusion, epochs=2, batch_size=32, track_every=10**6, track_inputs=8, seed=3)
    base.update(kw)
    return RunConfig(**base)


# ------------------------------------------------------------------ harness
@pytest.mark.parametrize("fusion", ["sum", "attention-regularized-scaled",
                                    pytest.param("concat", marks=pytest.mark.slow),
                                    pytest.param("attention", marks=pytest.mark.slow)])
def test_harness_records_schema_and_bracket_order(tmp_path, fusion):
    res = train_run(cfg(fusion), tmp_path / "run", dataset=tiny_dataset())
    recs = res.records
    assert recs and all(set(r) >= RECORD_KEYS for r in recs)
    for r in recs:
        assert r["kind"] in KINDS[r["metric"]], r
        assert isinstance(r["value"], float) and math.isfinite(r["value"]), r
        assert r["fusion"] == fusion and r["trial"] == 0 and r["dataset"] == "tiny"
    subs = {r["submodule"] for r in recs if r["metric"] == "lipschitz"}
    assert subs == {"encoder:v", "encoder:s", "encoder:img", "decoder:v", "decoder:s", "decoder:img", "fusion", "model"}
    assert {r["epoch"] for r in recs if r["metric"] == "test_loss"} == {0, 1, 2}
    assert {r["epoch"] for r in recs if r["metric"] == "lipschitz"} == {2}
    assert {r["submodule"] for r in recs if r["metric"] == "train_loss"} == {"modality:v", "modality:s", "modality:img", "model"}
    # lower <= certified-upper for every submodule and epoch where both exist; encoders/decoders always have both
    by = {}
    for r in recs:
        if r["metric"] == "lipschitz":
            by.setdefault((r["epoch"], r["submodule"]), {})[r["kind"]] = r["value"]
    for (ep, sub), kinds in by.items():
        assert "lower" in kinds and "heuristic" in kinds
        if sub.startswith(("encoder", "decoder")):
            assert "certified-upper" in kinds
        if "certified-upper" in kinds:
            assert 0 <= kinds["lower"] <= kinds["certified-upper"], (ep, sub, kinds)
    if fusion in ("sum", "concat"):
        assert all("certified-upper" in by[(ep, s)] for ep, s in by if s in ("fusion", "model"))
    if fusion == "attention-regularized-scaled":  # normalised inputs: no sound global upper bound, none reported
        assert all("certified-upper" not in by[(ep, s)] for ep, s in by if s in ("fusion", "model"))
    # the per-modality losses add up to the model loss
    for ep in (0, 1, 2):
        parts = [r["value"] for r in recs if r["epoch"] == ep and r["metric"] == "test_loss" and r["submodule"].startswith("modality:")]
        total = [r["value"] for r in recs if r["epoch"] == ep and r["metric"] == "test_loss" and r["submodule"] == "model"]
        assert total[0] == pytest.approx(sum(parts), rel=1e-12)
    det = res.detection
    assert {d["corruption"].split(":")[0] for d in det} == {"v", "s", "img"}
    for d in det:
        (tn, fp), (fn, tp) = d["confusion"]
        assert tn + fp == 48 and fn + tp == 48 and 0 <= d["tpr"] <= 1 and 0 <= d["fpr"] <= 1
    assert (tmp_path / "run" / "done.json").exists() and (tmp_path / "run" / "reconstructions.npz").exists()


def test_resume_continues_exactly(tmp_path):
    """Stopping after epoch 1 and rerunning gives the same records as one uninterrupted run."""
    ds = tiny_dataset(1)
    c = cfg("concat", epochs=2, detect=False)
    part = train_run(c, tmp_path / "a", dataset=ds, stop_after=1)
    assert not (tmp_path / "a" / "done.json").exists() and (tmp_path / "a" / "checkpoint.pt").exists()
    assert max(r["epoch"] for r in part.records) == 1
    resumed = train_run(c, tmp_path / "a", dataset=ds)
    assert resumed.resumed_from == 1
    full = train_run(c, tmp_path / "b", dataset=ds)
    assert full.resumed_from == 0

    def key(rs):
        return [(r["epoch"], r["submodule"], r["metric"], r["kind"], r["value"]) for r in rs if "seconds" not in r["metric"]]

    assert key(resumed.records) == key(full.records)
    again = train_run(c, tmp_path / "a", dataset=ds)  # finished: skipped, nothing retrained
    assert again.skipped and key(again.records) == key(full.records)


def test_nan_loss_stops_with_diagnosis_and_keeps_checkpoint(tmp_path):
    c = cfg("sum", epochs=3, detect=False)
    train_run(c, tmp_path / "r", dataset=tiny_dataset(2), stop_after=1)
    with pytest.raises(TrainingDivergedError, match=r"epoch 2, batch 0 .*non-finite inputs: s;"):
        train_run(c, tmp_path / "r", dataset=tiny_dataset(2, poison=True))
    diag = json.loads((tmp_path / "r" / "failed.json").read_text())
    assert diag["non_finite_inputs"] == ["s"] and diag["epoch"] == 2 and "hold NaN/Inf" in diag["hint"]
    state = torch.load(tmp_path / "r" / "checkpoint.pt", weights_only=True)  # tensors and JSON only
    assert json.loads(state["meta"])["epoch"] == 1
    with pytest.raises(TrainingDivergedError, match="diverged before"):
        train_run(c, tmp_path / "r", dataset=tiny_dataset(2))


def test_bad_input_errors(tmp_path):
    with pytest.raises(LipboundError, match="unknown fusion 'mean'"):
        RunConfig("synthetic", "mean")
    with pytest.raises(LipboundError, match="does not apply to sum"):
        RunConfig("synthetic", "sum", lam=0.1)
    with pytest.raises(LipboundError, match="unknown preset 'huge'"):
        plan("huge")
    with pytest.raises(LipboundError, match="unknown dataset 'nope'"):
        plan("tiny", datasets=["nope"])
    from lipbound.cli import main

    assert main(["train", "--dataset", "nope", "--fusion", "sum", "--out", str(tmp_path / "x")]) == 2
    with pytest.raises(SystemExit):
        main(["reproduce", "--preset", "huge", "--out", str(tmp_path / "y")])


# ------------------------------------------------------------------ lower bounds and detection
@settings(max_examples=10)
@given(n=st.integers(1, 4), d=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_power_lower_matches_exact_norm_of_linear_maps(n, d, seed):
    g = torch.Generator().manual_seed(seed)
    lin = torch.nn.Linear(d, 3).double()
    with torch.no_grad():
        lin.weight.copy_(torch.randn(3, d, generator=g, dtype=torch.float64))
    exact = float(torch.linalg.matrix_norm(lin.weight.detach(), ord=2))
    vals = power_lower(lin, torch.randn(n, d, generator=g, dtype=torch.float64), iters=200)
    assert bool((vals <= exact).all())
    # 200 power steps converge unless the top two singular values nearly coincide; 1e-3 leaves room for that
    assert float(vals.max()) >= exact * (1 - 1e-3)


@settings(max_examples=4)
@given(d=st.integers(2, 6), seed=st.integers(0, 2**16))
def test_detection_known_answers(d, seed):
    rng = np.random.default_rng(seed)
    train = rng.normal(size=(200, d))
    det = fit_detector(train, seed=seed)
    # threshold = 95th percentile of the clean training distances
    assert np.mean(det.distances(train) > det.threshold) <= 0.05 + 1e-9
    far = detection_metrics(det, rng.normal(size=(100, d)), rng.normal(size=(60, d)) + 50.0)
    assert far["tpr"] == 1.0 and far["confusion"][1] == [0, 60]
    same = rng.normal(size=(100, d))  # "faulty" data that are clean: flagged exactly like clean data
    m = detection_metrics(det, same, same.copy())
    assert m["tpr"] == m["fpr"] and m["confusion"][0] == m["confusion"][1]


def test_rbf_kernel_blind_spot():
    """Why the detector's default kernel is polynomial: with an RBF kernel, latents far from every clean
    latent project near the centre of the clean cloud and are not flagged (seed 0, shift 50 sd)."""
    rng = np.random.default_rng(0)
    clean = rng.normal(size=(200, 3))
    far = rng.normal(size=(60, 3)) + 50.0
    rbf = detection_metrics(fit_detector(clean, kernel="rbf"), rng.normal(size=(100, 3)), far)
    poly = detection_metrics(fit_detector(clean), rng.normal(size=(100, 3)), far)
    assert rbf["tpr"] < 0.5 and poly["tpr"] == 1.0


# The empirical claims on constructed results: tests/test_empirical_stats.py (every trial, 95% intervals).


# ------------------------------------------------------------------ sweeps
def _mtimes(out: Path) -> dict[str, float]:
    return {p.parent.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*/done.json")}


def test_claims_json_is_written_by_the_evaluation_passed_in_and_never_left_stale(tmp_path):
    """The sweep writes claims.json only through the evaluation its caller passes (the experiments do
    not import the claims); a claims.json that no evaluation can rewrite for new records is removed
    (lipbound wrote it) and meta.json says so, so it never describes other records."""
    from lipbound.experiments._sweep import finalize

    configs = plan("tiny", datasets=["synthetic"], fusions=["sum"], trials=1, epochs=1, ablation=False)
    out = tmp_path / "sweep"
    seen = []

    def rows(folder):
        seen.append(Path(folder))
        return [{"claim": "toy", "records": len(read_jsonl(Path(folder) / "records.jsonl"))}]

    run_sweep(out, configs, preset="tiny", progress=False, evaluate_claims=rows)
    assert seen == [out] and json.loads((out / "claims.json").read_text())[0]["claim"] == "toy"
    run_sweep(out, configs, preset="tiny", progress=False, claims=False)  # nothing new: nothing to evaluate it with
    assert not (out / "claims.json").exists()
    assert "claims.json removed" in json.loads((out / "meta.json").read_text())["claims"]
    finalize(out, configs, preset="tiny", command="x", device="cpu", claims=True)  # no evaluation, no file
    assert not (out / "claims.json").exists()


def test_interrupted_sweep_resumes_without_retraining(tmp_path, monkeypatch):
    configs = plan("tiny", datasets=["synthetic"], fusions=["sum", "concat"], trials=2, epochs=2, ablation=False)
    out = tmp_path / "sweep"
    with pytest.raises(SweepInterrupted):
        run_sweep(out, configs, preset="tiny", progress=False, claims=False, stop_after=2)
    first = _mtimes(out)
    assert len(first) == 2
    s = run_sweep(out, configs, preset="tiny", progress=False, claims=False)
    assert sorted(s.skipped) == sorted(first) and len(s.trained) == 2 and not s.failed
    assert {k: v for k, v in _mtimes(out).items() if k in first} == first  # finished runs untouched
    recs = read_jsonl(out / "records.jsonl")
    assert {r["run_id"] for r in recs} == {c.run_id for c in configs}
    meta = json.loads((out / "meta.json").read_text())
    assert meta["kind"] == "lipbound-reproduce" and meta["format"] == 1 and meta["status"] == "complete"
    assert set(meta) >= {"command", "preset", "lipbound", "torch", "python", "device", "created", "seeds", "datasets", "fusions"}
    det = read_jsonl(out / "detection.jsonl")
    assert {d["run_id"] for d in det} == {c.run_id for c in configs}
    with np.load(out / "reconstructions.npz") as z:
        assert "synthetic__sum__m0__input" in z.files and "synthetic__concat__m1__output" in z.files


def test_local_process_pool_executor(tmp_path):
    configs = [c.with_(detect=False, track_every=-1) for c in
               plan("tiny", datasets=["synthetic"], fusions=["sum", "concat"], trials=1, epochs=1, ablation=False)]
    s = run_sweep(tmp_path / "pool", configs, executor="local", workers=2, progress=False, claims=False)
    assert sorted(s.trained) == sorted(c.run_id for c in configs) and not s.failed


@pytest.mark.slow
def test_ray_executor(tmp_path):
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'lipbound[ray]')")
    configs = [c.with_(detect=False, track_every=-1) for c in
               plan("tiny", datasets=["synthetic"], fusions=["sum", "concat"], trials=1, epochs=1, ablation=False)]
    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    try:
        s = run_sweep(tmp_path / "ray", configs, executor="ray", workers=2, progress=False, claims=False)
    finally:
        ray.shutdown()
    assert sorted(s.trained) == sorted(c.run_id for c in configs) and not s.failed
    assert {r["run_id"] for r in read_jsonl(tmp_path / "ray" / "records.jsonl")} == {c.run_id for c in configs}


@pytest.mark.slow
def test_killed_reproduce_resumes(tmp_path):
    """`lipbound reproduce` killed (SIGKILL) after its first finished run, then rerun: nothing retrained."""
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "lipbound", "reproduce", "--preset", "tiny", "--dataset", "synthetic",
           "--fusion", "sum", "--fusion", "concat", "--trials", "2", "--epochs", "2", "--no-progress", "--out", str(out)]
    proc = subprocess.Popen(cmd + [], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while proc.poll() is None and not list((out / "runs").glob("*/done.json")):
            time.sleep(0.2)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    first = _mtimes(out)
    assert first, "no run finished before the kill"
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert {k: v for k, v in _mtimes(out).items() if k in first} == first
    assert len(_mtimes(out)) == 2 * 2 + 3 * 2  # 4 runs + the ablation (3 lambdas x 2 trials) on synthetic


@pytest.mark.gpu
def test_train_on_cuda(tmp_path):
    res = train_run(cfg("attention", device="cuda", detect=True), tmp_path / "gpu", dataset=tiny_dataset())
    assert all(math.isfinite(r["value"]) for r in res.records)
