"""The harness at scale: pre-flight memory check, detection that encodes only what it uses, cached
corrupted test sets, the epoch-0 subsample, threads, the NaN rule of the one training loop, early
stopping, and paper-size runs on the CPU (slow) and on CUDA (gpu).

Seeds: every model, dataset and permutation is seeded explicitly (stated at each test). Tolerances:
exact equality where the computation is the same sequence of float operations; otherwise stated
with the reason at the assertion.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from lipbound.datasets import ModalitySpec, MultimodalDataset
from lipbound.experiments import (
    SMALL_ARCH,
    RunConfig,
    build_model,
    detection_metrics,
    fit_detector,
    get_dataset,
    modality_mse,
    run_sweep,
    train_run,
)
from lipbound.experiments import _build, _data, _harness, _sweep
from lipbound.experiments._build import MemoryBudgetError, activation_profile, check_memory, memory_estimate
from lipbound.experiments._data import clear_corruption_cache, corrupted_test_set, corruptions_for
from lipbound.experiments._detect import MAX_FIT, fit_indices
from lipbound.experiments._harness import EVAL0_SAMPLES, _early_stop, detect_run, eval0_indices
from lipbound.models import MLPDecoder, MLPEncoder, MultimodalAutoencoder
from lipbound.zoo._train import NonFiniteBatch, train_epoch

ROOT = Path(__file__).resolve().parents[1]


def small_images(n_train: int = 40, n_test: int = 12, seed: int = 0) -> MultimodalDataset:
    """Series (6, 2) and image (1, 8, 8) modalities from shared factors (seeded)."""
    g = torch.Generator().manual_seed(seed)
    mods = (ModalitySpec("s", "series", (6, 2)), ModalitySpec("img", "image", (1, 8, 8)))

    def split(n):
        f = torch.randn(n, 3, generator=g)
        return {"s": (f @ torch.randn(3, 12, generator=g)).reshape(n, 6, 2),
                "img": torch.sigmoid(f @ torch.randn(3, 64, generator=g)).reshape(n, 1, 8, 8)}

    return MultimodalDataset("small-images", mods, split(n_train), split(n_test), {"seed": seed})


# ------------------------------------------------------------------ pre-flight memory check
def test_preflight_names_the_first_phase_that_does_not_fit(monkeypatch):
    ds = small_images()
    cfg = RunConfig("small-images", "attention", batch_size=16)
    model = build_model(ds.modalities, cfg.fusion, SMALL_ARCH, seed=0)
    est = memory_estimate(cfg, activation_profile(model, ds.modalities), ds, device=torch.device("cpu"))
    assert list(est) == ["data", "training", "evaluation", "tracking", "detection", "corruption"]
    check_memory(cfg, est, device=torch.device("cpu"), budget=max(e["device"] for e in est.values()))  # fits
    seen = 0.0
    for phase, e in est.items():
        if e["device"] - 1 >= seen:  # a budget that every earlier phase fits in and this one does not
            with pytest.raises(MemoryBudgetError, match=rf"the {phase} phase needs about .* [MG]iB .* but only .* is free"):
                check_memory(cfg, est, device=torch.device("cpu"), budget=int(e["device"]) - 1)
        seen = max(seen, e["device"])
    with pytest.raises(MemoryBudgetError, match=r"training phase.*smaller batch size"):
        check_memory(cfg, est, device=torch.device("cpu"), budget=1)
    # a pool of 4 runs checks each against a quarter of the budget
    monkeypatch.setattr(_build, "available_memory", lambda device: 4 * int(est["training"]["device"]) - 4)
    with pytest.raises(MemoryBudgetError, match=r"training phase.*share: 1/4"):
        check_memory(cfg, est, device=torch.device("cpu"), share=4)
    check_memory(cfg, est, device=torch.device("cpu"), share=4, budget=max(e["device"] for e in est.values()))


def test_estimate_scales_with_the_batch_and_skips_phases_that_are_off():
    ds = small_images()
    model = build_model(ds.modalities, "sum", SMALL_ARCH, seed=0)
    prof = activation_profile(model, ds.modalities)
    a = memory_estimate(RunConfig("x", "sum", batch_size=8), prof, ds, device=torch.device("cpu"))
    b = memory_estimate(RunConfig("x", "sum", batch_size=16), prof, ds, device=torch.device("cpu"))
    assert b["training"]["device"] - a["training"]["device"] == int(16 * prof.forward * 1.25) - int(8 * prof.forward * 1.25)
    off = memory_estimate(RunConfig("x", "sum", track_every=-1, detect=False), prof, ds, device=torch.device("cpu"))
    assert set(off) == {"data", "training", "evaluation"}


def test_run_that_does_not_fit_stops_before_training(tmp_path):
    with pytest.raises(MemoryBudgetError, match="run small-images__sum__lamdef__t0: the training phase"):
        train_run(RunConfig("small-images", "sum", epochs=1), tmp_path / "r", dataset=small_images(), memory_budget=1)
    assert not (tmp_path / "r" / "checkpoint.pt").exists() and not (tmp_path / "r" / "done.json").exists()


def test_cli_train_that_does_not_fit_exits_2_with_the_phase(tmp_path, monkeypatch, capsys):
    from lipbound.cli import main

    monkeypatch.setattr(_build, "available_memory", lambda device: 1024)
    out = tmp_path / "out"
    rc = main(["train", "--dataset", "synthetic", "--fusion", "sum", "--epochs", "1", "--no-progress", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "training phase needs about" in err and "Traceback" not in err
    assert json.loads((out / "meta.json").read_text())["status"] == "incomplete"
    assert not list((out / "runs").glob("*/checkpoint.pt"))
    monkeypatch.setenv("LIPBOUND_MEMORY_CHECK", "off")  # the stated way around a too generous estimate
    assert main(["train", "--dataset", "synthetic", "--fusion", "sum", "--epochs", "1", "--track-every", "-1",
                 "--no-progress", "--out", str(out)]) == 0


# ------------------------------------------------------------------ detection
def test_fit_indices_is_the_detectors_own_subsample():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(MAX_FIT + 300, 3))
    a, b = fit_detector(z, seed=7), fit_detector(z[fit_indices(len(z), 7)], seed=7)
    assert a.threshold == b.threshold and np.array_equal(a.mean, b.mean)  # the same rows, in the same order
    assert fit_indices(10, 7).tolist() == list(range(10))


def _old_detection(model, ds, cfg):
    """Section 5.7 as lipbound did it before: all training rows encoded, every corruption re-encodes
    every modality (batches of 512)."""
    def fused(xs):
        with torch.no_grad():
            return torch.cat([model.fuse(model.encode([x[lo:lo + 512] for x in xs]))
                              for lo in range(0, xs[0].shape[0], 512)]).double().numpy()

    names = list(ds.modality_names)
    train, test = [ds.train[n] for n in names], [ds.test[n] for n in names]
    det = fit_detector(fused(train), seed=cfg.run_seed)
    clean = fused(test)
    rows = []
    for j, spec in enumerate(ds.modalities):
        for cname, fn in corruptions_for(spec).items():
            bad = list(test)
            bad[j] = fn(ds.test[spec.name], severity=1.0, seed=cfg.run_seed)
            rows.append((f"{spec.name}:{cname}", detection_metrics(det, clean, fused(bad), seed=cfg.run_seed)))
    return rows


def test_detection_encodes_only_what_it_uses_and_matches_the_full_computation(tmp_path):
    """synthetic, size paper (8192 training rows, 2048 test rows, seed 0), model seed 3."""
    ds = get_dataset("synthetic", size="paper", seed=0)
    cfg = RunConfig("synthetic", "attention", seed=3)
    model = build_model(ds.modalities, cfg.fusion, SMALL_ARCH, seed=cfg.run_seed).eval()
    seen = {j: [] for j in range(2)}
    hooks = [e.register_forward_hook(lambda m, i, o, j=j: seen[j].append(i[0].shape[0]))
             for j, e in enumerate(model.encoders)]
    clear_corruption_cache()
    rows = detect_run(model, ds, cfg, batch=256, cache_dir=tmp_path)
    for h in hooks:
        h.remove()
    n_test = ds.test["m0"].shape[0]
    # each encoder: the 512 fit rows, the clean test set once, and the test set once per corruption of its own modality
    for j in range(2):
        assert sum(seen[j]) == MAX_FIT + n_test * (1 + len(corruptions_for(ds.modalities[j])))
        assert max(seen[j]) <= 256
    old = _old_detection(model, ds, cfg)
    assert [r["corruption"] for r in rows] == [c for c, _ in old]
    for r, (_, m) in zip(rows, old):
        # the same rows and operations; only the batch sizes of the encodings differ (float32 GEMMs of
        # other shapes may round differently): 1e-5 relative on the threshold, counts equal
        assert r["threshold"] == pytest.approx(m["threshold"], rel=1e-5)
        assert r["confusion"] == m["confusion"]


def test_corrupted_test_sets_are_cached_in_memory_and_on_disk(tmp_path, monkeypatch):
    ds = small_images()
    spec = ds.modalities[1]
    calls = []
    real = _data.corrupt
    monkeypatch.setattr(_data, "corrupt", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    clear_corruption_cache()
    a = corrupted_test_set(ds, spec, "occlusion", seed=5, cache_dir=tmp_path)
    assert corrupted_test_set(ds, spec, "occlusion", seed=5, cache_dir=tmp_path) is a and calls == ["occlusion"]
    assert torch.equal(a, real("occlusion", ds.test["img"], severity=1.0, seed=5))
    files = sorted((tmp_path / "corrupted").glob("*.npy"))
    assert len(files) == 1 and files[0].with_name(files[0].name + ".sha256").exists()
    clear_corruption_cache()  # a new process: read from disk, not corrupted again
    assert torch.equal(corrupted_test_set(ds, spec, "occlusion", seed=5, cache_dir=tmp_path), a) and calls == ["occlusion"]
    b = corrupted_test_set(ds, spec, "occlusion", seed=6, cache_dir=tmp_path)  # another seed: another set
    assert calls == ["occlusion", "occlusion"] and not torch.equal(a, b)
    clear_corruption_cache()
    files[0].write_bytes(files[0].read_bytes()[:-8] + b"\0" * 8)  # tampered: fails its checksum, made again
    assert torch.equal(corrupted_test_set(ds, spec, "occlusion", seed=5, cache_dir=tmp_path), a) and len(calls) == 3
    clear_corruption_cache()
    assert torch.equal(corrupted_test_set(ds, spec, "occlusion", seed=5, cache_dir=tmp_path), a) and len(calls) == 3
    monkeypatch.setattr(_data, "CORRUPTION_DISK_BYTES", 16)  # larger sets stay off the disk
    corrupted_test_set(ds, spec, "dust", seed=5, cache_dir=tmp_path)
    assert not list((tmp_path / "corrupted").glob("*dust*"))


def test_memory_cache_keeps_the_current_runs_sets_and_evicts_other_groups(tmp_path, monkeypatch):
    ds = small_images()
    spec = ds.modalities[1]
    one = ds.test["img"].numel() * 4
    monkeypatch.setattr(_data, "CORRUPTION_CACHE_BYTES", 2 * one)
    monkeypatch.setattr(_data, "CORRUPTION_DISK_BYTES", 0)
    clear_corruption_cache()
    x = [corrupted_test_set(ds, spec, c, seed=1) for c in ("blur", "dust", "occlusion")]
    # seed 1's first two fill the cache; the third does not evict its own run's sets
    assert corrupted_test_set(ds, spec, "blur", seed=1) is x[0] and corrupted_test_set(ds, spec, "dust", seed=1) is x[1]
    assert corrupted_test_set(ds, spec, "occlusion", seed=1) is not x[2]
    y = corrupted_test_set(ds, spec, "blur", seed=2)  # another seed makes room from seed 1's sets
    assert corrupted_test_set(ds, spec, "blur", seed=2) is y
    assert len(_data._MEM) == 2
    clear_corruption_cache()


# ------------------------------------------------------------------ epoch 0, threads
def test_epoch0_training_loss_on_a_seeded_subsample(tmp_path):
    """synthetic at size paper: 8192 training rows, so epoch 0 evaluates 512 of them (run seed 4)."""
    ds = get_dataset("synthetic", size="paper", seed=0)
    cfg = RunConfig("synthetic", "sum", epochs=1, seed=4, track_every=-1, detect=False)
    res = train_run(cfg, tmp_path / "r", dataset=ds)
    ep0 = [r for r in res.records if r["epoch"] == 0]
    tr = [r for r in ep0 if r["metric"] == "train_loss"]
    assert all(r["samples"] == EVAL0_SAMPLES and "512 of the 8192 training samples" in r["method"] for r in tr)
    assert all("samples" not in r for r in ep0 if r["metric"] == "test_loss")
    idx = eval0_indices(8192, cfg.run_seed)
    assert idx.tolist() == sorted(torch.randperm(8192, generator=torch.Generator().manual_seed(4))[:512].tolist())
    model = build_model(ds.modalities, "sum", SMALL_ARCH, seed=cfg.run_seed).eval()
    xs = [ds.train[n][idx] for n in ds.modality_names]
    with torch.no_grad():
        want = [float(v) for v in modality_mse(xs, model(xs))]
    got = [r["value"] for r in tr if r["submodule"].startswith("modality:")]
    # one batch of 512 in both: float32 means, then float64 scaling by 512 / 512; 1e-12 relative
    assert got == pytest.approx(want, rel=1e-12)


def test_threads_in_process_and_in_a_pool(tmp_path, monkeypatch):
    assert _sweep.threads_per_worker(1, 16) == 16 and _sweep.threads_per_worker(4, 16) == 4
    assert _sweep.threads_per_worker(3, 2) == 1
    seen = []
    real = _sweep.run_one
    monkeypatch.setattr(_sweep, "run_one", lambda *a, **k: seen.append(torch.get_num_threads()) or real(*a, **k))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        cfgs = [RunConfig("synthetic", "sum", epochs=1, track_every=-1, detect=False)]
        run_sweep(tmp_path / "one", cfgs, progress=False, claims=False)
        assert seen == [2] and torch.get_num_threads() == 2  # a single in-process run keeps torch's threads
    finally:
        torch.set_num_threads(before)
    got = {}
    monkeypatch.setattr(_sweep, "_pool_map", lambda todo, out, workers, threads, finished, bars: got.update(t=threads))
    cfgs = [RunConfig("synthetic", f, epochs=1) for f in ("sum", "concat")]
    run_sweep(tmp_path / "pool", cfgs, workers=2, progress=False, claims=False)
    assert got["t"] == _sweep.threads_per_worker(2)


# ------------------------------------------------------------------ the NaN rule of the training loop
def _tiny_model(seed: int = 0) -> MultimodalAutoencoder:
    torch.manual_seed(seed)
    return MultimodalAutoencoder([MLPEncoder(3, 2, hidden=(4,)), MLPEncoder(2, 2, hidden=(4,))], "sum",
                                 [MLPDecoder(2, 3, hidden=(4,)), MLPDecoder(2, 2, hidden=(4,))])


def _mse(model, xs):
    parts = modality_mse(xs, model(xs))
    return sum(parts), parts


def test_losses_are_checked_every_k_batches_not_every_batch(monkeypatch):
    g = torch.Generator().manual_seed(0)
    data = [torch.randn(120, 3, generator=g), torch.randn(120, 2, generator=g)]
    model = _tiny_model()
    calls = []
    real = torch.isfinite
    monkeypatch.setattr(torch, "isfinite", lambda t: calls.append(1) or real(t))
    train_epoch(model, torch.optim.Adam(model.parameters()), data, torch.arange(120), batch_size=4, loss_fn=_mse,
                epoch=1, on_nonfinite=lambda bad: None, check_every=10)
    assert len(calls) == 3  # 30 batches, a check every 10


def test_nan_found_late_is_diagnosed_at_its_own_batch():
    """A non-finite input in batch 17 of 30, checks every 10 batches: the diagnosis names batch 17 with
    the weights before its update (equal to 17 clean steps from the same start)."""
    g = torch.Generator().manual_seed(1)
    data = [torch.randn(120, 3, generator=g), torch.randn(120, 2, generator=g)]
    data[1][4 * 17 + 2, 0] = float("inf")
    model, ref = _tiny_model(), _tiny_model()
    opt, ref_opt = torch.optim.Adam(model.parameters()), torch.optim.Adam(ref.parameters())
    seen: list[NonFiniteBatch] = []

    def stop(bad):
        seen.append(bad)
        raise RuntimeError("diverged")

    with pytest.raises(RuntimeError, match="diverged"):
        train_epoch(model, opt, data, torch.arange(120), batch_size=4, loss_fn=_mse, epoch=3, on_nonfinite=stop,
                    check_every=10)
    bad = seen[0]
    assert (bad.epoch, bad.batch, bad.reproduced) == (3, 17, True)
    assert not math.isfinite(bad.loss) and not math.isfinite(bad.parts[1])
    assert bad.last_finite is not None and math.isfinite(bad.last_finite)
    assert bad.grad_norm is not None and math.isfinite(bad.grad_norm)
    assert not bool(torch.isfinite(bad.inputs[1]).all())
    for b in range(17):  # the reference: 17 clean steps
        xs = [x[4 * b: 4 * b + 4] for x in data]
        loss = _mse(ref, xs)[0]
        ref_opt.zero_grad(set_to_none=True)
        loss.backward()
        ref_opt.step()
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), ref.parameters()))


# ------------------------------------------------------------------ early stopping
def _losses(values):
    return [{"epoch": e, "metric": "test_loss", "submodule": "model", "value": v} for e, v in enumerate(values)]


def test_early_stopping_rule():
    cfg = RunConfig("x", "sum", patience=2, min_delta=0.05)
    # best 1.0 -> 0.9 (improves by more than 5%); 0.95 and 0.89 do not beat 0.9 * 0.95 = 0.855
    assert not _early_stop(cfg, _losses([1.0, 0.9]))
    assert not _early_stop(cfg, _losses([1.0, 0.9, 0.95]))
    assert _early_stop(cfg, _losses([1.0, 0.9, 0.95, 0.89]))
    assert not _early_stop(cfg, _losses([1.0, 0.9, 0.95, 0.85]))  # 0.85 < 0.855: improves, counter reset
    assert not _early_stop(RunConfig("x", "sum"), _losses([1.0, 2.0, 3.0, 4.0]))  # patience 0: never
    for bad in ({"patience": -1}, {"patience": 1.5}, {"min_delta": 1.0}, {"min_delta": float("nan")}):
        with pytest.raises(Exception, match="patience|min_delta"):
            RunConfig("x", "sum", **bad)


def test_early_stopping_waits_for_min_epochs():
    """The medium preset's rule: a plateau before ``min_epochs`` (the mean predictor's, on lipbound's
    generated data) does not stop the run; the same plateau after it does."""
    plateau = [1.0, 0.2] + [0.2] * 30
    assert _early_stop(RunConfig("x", "sum", patience=20, min_delta=0.005), _losses(plateau))
    cfg = RunConfig("x", "sum", patience=20, min_delta=0.005, min_epochs=100)
    assert not _early_stop(cfg, _losses(plateau))
    assert _early_stop(cfg, _losses(plateau + [0.2] * 70))  # epoch 101: 99 epochs without improvement
    with pytest.raises(Exception, match="min_epochs"):
        RunConfig("x", "sum", min_epochs=-1)


def test_run_stops_early_tracks_its_last_epoch_and_is_finished(tmp_path):
    # min_delta 0.99: no epoch improves the test loss by 99%, so patience 1 stops after epoch 1
    cfg = RunConfig("small-images", "sum", epochs=4, batch_size=16, patience=1, min_delta=0.99, track_every=10**6,
                    track_inputs=4)
    res = train_run(cfg, tmp_path / "r", dataset=small_images())
    assert res.stopped_early and res.epochs_trained == 1
    assert max(r["epoch"] for r in res.records) == 1
    assert {r["epoch"] for r in res.records if r["metric"] == "lipschitz"} == {1}
    done = json.loads((tmp_path / "r" / "done.json").read_text())
    assert done["stopped_early"] is True and done["epochs_trained"] == 1
    again = train_run(cfg, tmp_path / "r", dataset=small_images())
    assert again.skipped and again.stopped_early and again.epochs_trained == 1
    full = train_run(cfg.with_(patience=0), tmp_path / "f", dataset=small_images())
    assert not full.stopped_early and full.epochs_trained == 4


def test_runs_stored_before_the_new_fields_are_the_same_configuration(tmp_path):
    cfg = RunConfig("small-images", "sum", epochs=1, batch_size=16, track_every=-1, detect=False)
    train_run(cfg, tmp_path / "r", dataset=small_images())
    done = tmp_path / "r" / "done.json"
    d = json.loads(done.read_text())
    for k in ("patience", "min_delta", "min_epochs"):
        del d["config"][k]
    done.write_text(json.dumps(d))
    assert _harness.run_state(cfg, tmp_path / "r") == ("finished", "")
    assert train_run(cfg, tmp_path / "r", dataset=small_images()).skipped
    assert _harness.run_state(cfg.with_(patience=3), tmp_path / "r")[0] == "other-config"


# ------------------------------------------------------------------ tracking on the model's device
def test_power_lower_is_the_bounds_power_iteration():
    from lipbound.bounds import jacobian_power_iteration
    from lipbound.experiments import power_lower

    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.ReLU(), torch.nn.Linear(7, 3)).double()
    x = torch.randn(6, 5, dtype=torch.float64)
    ref, _ = jacobian_power_iteration(m, x, iters=15, seed=3, scale=2.0, _f64_model=m, batched=True)
    assert torch.equal(power_lower(m, x, iters=15, seed=3, scale=2.0), ref)  # the same operations, bit for bit


# ------------------------------------------------------------------ paper size
#: what a 1-epoch paper-architecture run with detection may take on the CPU (measured about 2.3 GiB
#: above the loaded dataset for 33 training samples; the pre-flight estimate is asserted too)
CPU_PEAK_BOUND = 6 * 2 ** 30

PAPER_CHILD = textwrap.dedent("""
    import json, math, re, sys, torch
    torch.set_num_threads(2)
    from lipbound.datasets import pick_and_place
    from lipbound.experiments import RunConfig, build_model, train_run
    from lipbound.experiments._build import activation_profile, memory_estimate

    def status(key):
        return int(re.search(key + r":\\s+(\\d+)", open("/proc/self/status").read()).group(1)) * 1024

    cache, out, device = sys.argv[1], sys.argv[2], sys.argv[3]
    # the paper's images and architecture on a few dozen samples: 3 training episodes and 1 test episode
    # of 30 frames (windows of 10, step 2: 11 per episode), rendered by MuJoCo and cached
    ds = pick_and_place(size="paper", seed=0, cache_dir=cache, frames=30, train_episodes=3, test_episodes=1)
    cfg = RunConfig("pick-and-place", "attention", size="paper", arch="paper", epochs=1, track_every=-1,
                    device=device)
    model = build_model(ds.modalities, cfg.fusion, cfg.architecture, seed=cfg.run_seed)
    est = memory_estimate(cfg, activation_profile(model, ds.modalities), ds, device=torch.device(device))
    del model
    base = status("VmRSS")
    try:
        open("/proc/self/clear_refs", "w").write("5")  # reset the high-water mark to the current size
    except OSError:
        pass
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    res = train_run(cfg, out, dataset=ds, cache_dir=cache)
    print(json.dumps({"base": base, "peak": status("VmHWM"), "n_train": ds.train["camera"].shape[0],
                      "gpu_peak": torch.cuda.max_memory_allocated() if device == "cuda" else 0,
                      "estimate": {k: v["device"] for k, v in est.items()}, "host": {k: v["host"] for k, v in est.items()},
                      "detection_rows": len(res.detection), "epochs": res.epochs_trained,
                      "finite": all(math.isfinite(r["value"]) for r in res.records)}))
""")


def _paper_profile(cfg: RunConfig):
    """The paper model's profile and a stand-in of the paper-size pick-and-place set (its shapes and
    sizes, 2800 training and 560 test windows; zero-stride views, nothing allocated)."""
    mods = (ModalitySpec("camera", "image", (3, 256, 256)), ModalitySpec("joints", "series", (10, 5)))
    views = {n: {"camera": torch.zeros(1, 3, 256, 256).expand(n, 3, 256, 256),
                 "joints": torch.zeros(1, 10, 5).expand(n, 10, 5)} for n in (2800, 560)}
    ds = MultimodalDataset("pick-and-place", mods, views[2800], views[560])
    return activation_profile(build_model(mods, cfg.fusion, cfg.architecture), mods), ds


def _paper_run(tmp_path, device: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", PAPER_CHILD, str(tmp_path / "cache"), str(tmp_path / "run"), device],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_paper_size_epoch_with_detection_on_the_cpu_within_its_memory_estimate(tmp_path):
    """Tracking is off here: the certified bounds of the paper's convolutions (lipbound.bounds) need about
    30 GiB of memory, more than this test may assume; the pre-flight check refuses it (asserted below)."""
    r = _paper_run(tmp_path, "cpu")
    assert r["n_train"] == 33 and r["epochs"] == 1 and r["finite"]
    assert r["detection_rows"] == 10  # 5 image corruptions + 5 series corruptions
    used = r["peak"] - r["base"]
    assert used <= max(r["estimate"].values()), r  # the pre-flight estimate covers the real peak
    assert r["peak"] <= CPU_PEAK_BOUND, r
    with_tracking = RunConfig("pick-and-place", "attention", size="paper", arch="paper")
    est = memory_estimate(with_tracking, *_paper_profile(with_tracking), device=torch.device("cpu"))
    assert est["tracking"]["device"] > 25 * 2 ** 30
    with pytest.raises(MemoryBudgetError, match="tracking phase"):
        check_memory(with_tracking, est, device=torch.device("cpu"), budget=24 * 2 ** 30)


@pytest.mark.gpu
def test_paper_size_epoch_with_detection_on_cuda_within_its_memory_estimate(tmp_path):
    r = _paper_run(tmp_path, "cuda")
    assert r["epochs"] == 1 and r["finite"] and r["detection_rows"] == 10
    assert r["gpu_peak"] <= max(r["estimate"].values()), r


@pytest.mark.gpu
def test_detection_and_tracking_run_on_the_gpu(tmp_path):
    from lipbound.experiments import track

    ds = small_images()
    cfg = RunConfig("small-images", "attention", device="cuda")
    model = build_model(ds.modalities, cfg.fusion, SMALL_ARCH, seed=0).cuda().eval()
    devices = set()
    for e in model.encoders:
        e.register_forward_hook(lambda m, i, o: devices.add(i[0].device.type))
    rows = detect_run(model, ds, cfg, batch=8, cache_dir=tmp_path)
    assert devices == {"cuda"} and len(rows) == 10
    xs = [ds.test[n][:4] for n in ds.modality_names]
    gpu = track(model, [x.cuda() for x in xs], modality_names=ds.modality_names)
    cpu = track(model.cpu(), xs, modality_names=ds.modality_names)
    for a, b in zip(gpu, cpu):
        assert (a["submodule"], a["kind"]) == (b["submodule"], b["kind"])
        # float64 on both devices, other reduction orders: 1e-6 relative
        assert a["value"] == pytest.approx(b["value"], rel=1e-6)
