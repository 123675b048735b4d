"""One epoch of a paper-size run, phase by phase (section "epoch" of RESULTS.md).

For each fusion, the paper architecture (``--arch paper``: image convolutions 3-256-128-64-32-32-32,
latent 288) on the paper's pick-and-place data (``--size paper``: 3 x 256 x 256 camera images and
10 x 5 joint windows; 2800 training and 560 test windows), the seconds and peak memory of:

* the **train step** (forward, backward, Adam) over the epoch's training samples
  (:func:`lipbound.zoo._train.train_epoch`, the loop every run uses);
* the **evaluation** of the test loss after the epoch, and the one-off **epoch-0** evaluation (a
  seeded subsample of 512 training samples plus the test set);
* the **Lipschitz tracking** (:func:`lipbound.experiments.track`): power-iteration lower bounds and
  the paper's estimator on 16 test inputs, and the certified bounds of :mod:`lipbound.bounds`
  (on the CPU, where the tracking always computes them);
* the **failure detection** after training (:func:`lipbound.experiments.detect_run`): the encodings
  of the 512 fit rows, the kernel-PCA fit, the clean test latents, and every corruption (corrupting
  the test set and re-encoding the corrupted modality only).

On the CPU a paper-size epoch takes most of an hour, so every phase is measured on a subsample
(``--train-samples``, ``--test-samples``, ``--track-inputs``; the images and the model are the
paper's) and its seconds are **scaled per sample** to the paper's counts (stated as such in the
section); the certified bounds of the paper's convolutions need about 30 GiB, more than a small
machine has: they are measured at ``--certified-image-size`` (default 128, or skipped with 0) and
projected to 256 x 256 by the ratio of the DFT sizes (their cost is dominated by one SVD per DFT
frequency). With ``--device cuda`` everything is measured at full size on the GPU (the certified
bounds still on the CPU). Peak memory: the growth of the process's resident memory over each
phase (``VmHWM`` reset through ``/proc/self/clear_refs``; glibc's mmap threshold fixed at 1 MiB so
freed blocks go back at once: the peak of live allocations), and on CUDA
``torch.cuda.max_memory_allocated``; beside it the pre-flight estimate
(:func:`lipbound.experiments._build.memory_estimate`) at the paper's batch of 64.

The ratios compare each phase with the train step of one full paper-size epoch; the goal is at most
0.15 for every phase other than the train step. Tracking happens on some epochs only (the automatic
schedule keeps it within 15% of the training time, but every run tracks its last epoch) and
detection once per run: their share of a 100-epoch run (the ``paper`` preset) is given too. "Before"
figures of the phases this change rewrote come from the same measured per-sample costs and the old
algorithms' counts (all 2800 training rows encoded and every modality re-encoded per corruption; the
epoch-0 loss on the whole training set; evaluations in batches of 1024).

Usage (from the repository root)::

    nice -n 10 python benchmarks/bench_epoch.py                          # CPU, subsample, all six fusions
    python benchmarks/bench_epoch.py --device cuda                       # a GPU machine: full size
    python benchmarks/bench_epoch.py --fusions sum --train-samples 4 --test-samples 4 --certified-image-size 0 --no-write
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

FUSIONS = ("sum", "concat", "attention", "attention-scaled", "attention-regularized", "attention-regularized-scaled")
#: the paper-size pick-and-place set: 50 training and 10 test episodes of 56 windows
N_TRAIN, N_TEST = 2800, 560
#: the paper preset: 100 epochs; 4 datasets x 6 fusions x 10 trials + 10 lambdas x 10 trials
PRESET_EPOCHS, PRESET_RUNS = 100, 4 * 6 * 10 + 10 * 10
BATCH = 64
GIB = 2 ** 30


# ------------------------------------------------------------------------------------ measuring
def _status(key: str) -> int:
    return int(re.search(key + r":\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) * 1024


class Phase:
    """Wall time, process CPU time (all threads) and peak memory growth of a block (host: VmHWM over
    VmRSS at the start; CUDA: max_memory_allocated over memory_allocated at the start)."""

    def __init__(self, device: str) -> None:
        self.cuda = device == "cuda"

    def __enter__(self):
        import torch

        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.gpu0 = torch.cuda.memory_allocated()
        self.rss0 = _status("VmRSS")
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            pass
        self.t0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        import torch

        if self.cuda:
            torch.cuda.synchronize()
            self.gpu = torch.cuda.max_memory_allocated() - self.gpu0
        self.seconds = time.perf_counter() - self.t0
        self.cpu = time.process_time() - self.c0
        self.host = _status("VmHWM") - self.rss0
        return False

    @property
    def peak(self) -> int:
        return self.gpu if self.cuda else self.host


def _dataset(device: str, n_train: int, n_test: int, cache: str | None):
    from lipbound.datasets import MultimodalDataset, pick_and_place

    if device == "cuda":
        ds = pick_and_place(size="paper", seed=0, cache_dir=cache)
    else:  # the paper's image size and windows, few episodes (11 windows of 30 frames each)
        ep = lambda n: max(1, -(-n // 11))  # noqa: E731
        ds = pick_and_place(size="paper", seed=0, cache_dir=cache, frames=30, train_episodes=ep(n_train),
                            test_episodes=ep(n_test))
    tr = {k: v[:n_train] for k, v in ds.train.items()}
    te = {k: v[:n_test] for k, v in ds.test.items()}
    return MultimodalDataset("pick-and-place", ds.modalities, tr, te, dict(ds.meta))


def _flops(model, modalities) -> dict:
    """GFLOP per sample (torch.utils.flop_counter on the meta device): forward, forward + backward,
    and each encoder's forward."""
    import copy

    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from lipbound.experiments import modality_mse

    m = copy.deepcopy(model).to("meta")
    xs = [torch.zeros((1, *s.shape), device="meta") for s in modalities]
    out = {}
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        m(xs)
    out["forward"] = fc.get_total_flops() / 1e9
    with FlopCounterMode(display=False) as fc:
        sum(modality_mse(xs, m(xs))).backward()
    out["train"] = fc.get_total_flops() / 1e9
    enc = []
    for e, x in zip(m.encoders, xs):
        with FlopCounterMode(display=False) as fc, torch.no_grad():
            e(x)
        enc.append(fc.get_total_flops() / 1e9)
    out["encoders"] = enc
    return out


def worker(spec: dict) -> dict:
    """Measure one fusion (runs in a fresh process)."""
    import numpy as np
    import torch

    from lipbound.experiments import RunConfig, build_model, corruptions_for, detect_run, fit_detector, track
    from lipbound.experiments import _tracking
    from lipbound.experiments._build import activation_profile, eval_batch_size, memory_estimate
    from lipbound.experiments._data import clear_corruption_cache
    from lipbound.experiments._detect import detection_metrics
    from lipbound.experiments._harness import _eval_losses, _mse_loss
    from lipbound.zoo._train import train_epoch

    if spec["threads"]:
        torch.set_num_threads(spec["threads"])
    dev = torch.device(spec["device"])
    n_tr, n_te, k = spec["train_samples"], spec["test_samples"], spec["track_inputs"]
    ds = _dataset(spec["device"], n_tr, n_te, spec["cache"])
    n_tr, n_te = ds.train["camera"].shape[0], ds.test["camera"].shape[0]
    cfg = RunConfig("pick-and-place", spec["fusion"], size="paper", arch="paper", track_inputs=16)
    model = build_model(ds.modalities, cfg.fusion, cfg.architecture, seed=0)
    prof = activation_profile(model, ds.modalities)
    from lipbound.datasets import MultimodalDataset

    full = MultimodalDataset("paper", ds.modalities,  # the paper's sizes, as zero-stride views for the estimate
                             {n: v[:1].expand(N_TRAIN, *v.shape[1:]) for n, v in ds.train.items()},
                             {n: v[:1].expand(N_TEST, *v.shape[1:]) for n, v in ds.test.items()})
    est = {p: e["device"] + e["host"] for p, e in memory_estimate(cfg, prof, full, device=dev).items()}
    flops = _flops(model, ds.modalities)
    model = model.to(dev)
    names = list(ds.modality_names)
    train = [ds.train[n].to(dev) for n in names]
    test = [ds.test[n].to(dev) for n in names]
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    res: dict = {"fusion": cfg.fusion, "n_train": n_tr, "n_test": n_te, "track_inputs": k, "estimate": est,
                 "flops": flops, "eval_batch": eval_batch_size(BATCH, prof), "peak_pair": prof.peak_pair}

    # train step: one warm-up batch of 2, then the subsample in batches of min(64, n)
    model.train()
    train_epoch(model, opt, [x[:2] for x in train], torch.arange(2, device=dev), batch_size=2, loss_fn=_mse_loss,
                epoch=0, on_nonfinite=lambda bad: None)
    bs = min(BATCH, n_tr)
    with Phase(spec["device"]) as ph:
        sums = train_epoch(model, opt, train, torch.randperm(n_tr).to(dev), batch_size=bs, loss_fn=_mse_loss, epoch=1,
                           on_nonfinite=lambda bad: None)
        float(sums.total)
    res["train"] = {"s_per_sample": ph.seconds / n_tr, "cpu_per_sample": ph.cpu / n_tr, "peak": ph.peak, "batch": bs}
    model.eval()
    eb = min(res["eval_batch"], n_te)
    _eval_losses(model, [x[:2] for x in test], 2)
    with Phase(spec["device"]) as ph:
        _eval_losses(model, test, eb)
    res["eval"] = {"s_per_sample": ph.seconds / n_te, "cpu_per_sample": ph.cpu / n_te, "peak": ph.peak, "batch": eb}

    # tracking: lower bounds and estimator on k inputs (certified bounds measured separately)
    real_ab, real_sp = _tracking.autoencoder_bounds, _tracking.spectral_product
    from lipbound.errors import LipboundError

    def no_bounds(*a, **kw):
        raise LipboundError("skipped in the benchmark")

    _tracking.autoencoder_bounds, _tracking.spectral_product = no_bounds, lambda m, *a, **kw: (1.0, [])
    try:
        with Phase(spec["device"]) as ph:
            rows = track(model, [x[:k] for x in test], modality_names=names, seed=0)
    finally:
        _tracking.autoencoder_bounds, _tracking.spectral_product = real_ab, real_sp
    low = sum(r.get("seconds", 0.0) for r in rows if r["kind"] == "lower")
    heu = sum(r.get("seconds", 0.0) for r in rows if r["kind"] == "heuristic")
    # scaled to 16 inputs: the power iteration is batched over all inputs, the estimator over at most 8
    scaled = (ph.seconds - low - heu) + low * 16 / k + heu * min(8, 16) / min(8, k)
    res["track"] = {"seconds": ph.seconds, "lower_s": low, "heuristic_s": heu, "peak": ph.peak, "scaled_s": scaled,
                    "cpu": ph.cpu, "scaled_cpu": ph.cpu * scaled / ph.seconds}

    # detection, end to end on the subsample, then its parts per sample
    clear_corruption_cache()
    with Phase(spec["device"]) as ph:
        detect_run(model, ds, cfg.with_(detect=True), batch=eb, cache_dir=spec["cache"])
    res["detect_run"] = {"seconds": ph.seconds, "cpu": ph.cpu, "peak": ph.peak, "n_fit": min(n_tr, 512), "n_test": n_te}
    enc = []
    for e, x in zip(model.encoders, test):
        with torch.no_grad():
            e(x[:2])
            with Phase(spec["device"]) as ph:
                e(x)
        enc.append({"s": ph.seconds / n_te, "cpu": ph.cpu / n_te})
    cor = {}
    for j, m in enumerate(ds.modalities):
        for cname, fn in corruptions_for(m).items():
            with Phase(spec["device"]) as ph:
                fn(test[j], severity=1.0, seed=0)
            cor[f"{m.name}:{cname}"] = {"j": j, "s": ph.seconds / n_te, "cpu": ph.cpu / n_te}
    rng = np.random.default_rng(0)
    with Phase(spec["device"]) as ph:
        det = fit_detector(rng.normal(size=(512, model.fusion.output_dim)), seed=0)
    kpca = {"s": ph.seconds, "cpu": ph.cpu}
    with Phase(spec["device"]) as ph:
        detection_metrics(det, rng.normal(size=(N_TEST, model.fusion.output_dim)),
                          rng.normal(size=(N_TEST, model.fusion.output_dim)), seed=0)
    res["detect_parts"] = {"encode": enc, "corrupt": cor, "kpca": kpca, "metrics": {"s": ph.seconds, "cpu": ph.cpu}}
    return res


def certified_worker(spec: dict) -> dict:
    """Seconds and peak memory of the certified bounds of the paper model (attention fusion) at image size S."""
    import torch

    from lipbound.bounds import autoencoder_bounds
    from lipbound.datasets import ModalitySpec
    from lipbound.experiments import PAPER_ARCH, build_model
    from lipbound.experiments._build import activation_profile

    if spec["threads"]:
        torch.set_num_threads(spec["threads"])
    s = spec["size"]
    mods = (ModalitySpec("camera", "image", (3, s, s)), ModalitySpec("joints", "series", (10, 5)))
    m = build_model(mods, "sum", PAPER_ARCH).double().eval()
    fft = activation_profile(m, mods).conv_fft
    with Phase("cpu") as ph:
        autoencoder_bounds(m, method="spectral-product")
    return {"size": s, "seconds": ph.seconds, "cpu": ph.cpu, "peak": ph.peak, "conv_fft": fft}


def _conv_fft(size: int) -> int:
    """Bytes of the largest kernel DFT the certified bound of the paper model makes at ``size`` px."""
    from lipbound.datasets import ModalitySpec
    from lipbound.experiments import PAPER_ARCH, build_model
    from lipbound.experiments._build import activation_profile

    mods = (ModalitySpec("camera", "image", (3, size, size)), ModalitySpec("joints", "series", (10, 5)))
    return activation_profile(build_model(mods, "sum", PAPER_ARCH), mods).conv_fft


def _child(kind: str, spec: dict) -> dict:
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="1048576", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, __file__, "--_worker", kind, json.dumps(spec)], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} worker failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------ projecting
def _track_share(cost_epochs: float, epochs: int = PRESET_EPOCHS) -> float:
    """Tracking time / training time of an ``epochs``-epoch run under the automatic schedule when one
    epoch's training takes 1 and one tracking ``cost_epochs`` (the harness's own rule)."""
    from lipbound.experiments import RunConfig
    from lipbound.experiments._harness import _should_track

    cfg = RunConfig("x", "sum", epochs=epochs)
    sched = {"train_s": 0.0, "track_s": 0.0, "last_track_s": 0.0}
    for e in range(1, epochs + 1):
        sched["train_s"] += 1.0
        if _should_track(cfg, e, sched):
            sched["last_track_s"] = cost_epochs
            sched["track_s"] += cost_epochs
    return sched["track_s"] / sched["train_s"]


def project(r: dict, cert_s: float, clock: str) -> dict:
    """Seconds at the paper's sizes from the per-sample costs of one fusion's measurement; ``clock``
    ``"cpu"`` (process CPU time) or ``"s"`` (wall)."""
    per = "cpu_per_sample" if clock == "cpu" else "s_per_sample"
    tr = r["train"][per] * N_TRAIN
    ev = r["eval"][per]
    parts = r["detect_parts"]
    enc = [e[clock] for e in parts["encode"]]
    cor = parts["corrupt"]
    det = (512 * sum(enc) + parts["kpca"][clock] + N_TEST * sum(enc)
           + sum(N_TEST * (c[clock] + enc[c["j"]]) + parts["metrics"][clock] for c in cor.values()))
    det_old = (N_TRAIN * sum(enc) + parts["kpca"][clock] + N_TEST * sum(enc)
               + sum(N_TEST * (c[clock] + sum(enc)) + parts["metrics"][clock] for c in cor.values()))
    track = (r["track"]["scaled_cpu"] if clock == "cpu" else r["track"]["scaled_s"]) + cert_s
    return {"train": tr, "eval": N_TEST * ev, "epoch0": (512 + N_TEST) * ev, "epoch0_old": (N_TRAIN + N_TEST) * ev,
            "track": track, "track_share": _track_share(track / tr), "detect": det, "detect_old": det_old,
            "cert": cert_s}


# ------------------------------------------------------------------------------------ the report
def _gib(b: float) -> str:
    return f"{b / GIB:.2f}"


def report(rows: list[dict], cert: dict | None, args) -> str:
    from benchmarks._results import command_line, machine
    from lipbound.experiments._build import EVAL_ACT_FACTOR

    cpu = args.device == "cpu"
    unit = "CPU s" if cpu else "s"
    if cert is None:
        cert_s, cert_note = 0.0, "not measured (--certified-image-size 0): the tracking figures leave them out"
    elif cert["size"] == 256:
        cert_s = cert["cpu" if cpu else "seconds"]
        cert_note = f"measured at 256 x 256: {cert_s:.0f} {unit} ({cert['seconds']:.0f} s wall), {_gib(cert['peak'])} GiB"
    else:
        ratio = _conv_fft(256) / _conv_fft(cert["size"])
        cert_s = cert["cpu" if cpu else "seconds"] * ratio
        cert_note = (f"measured at {cert['size']} x {cert['size']}: {cert['cpu' if cpu else 'seconds']:.0f} {unit} "
                     f"({cert['seconds']:.0f} s wall) and {_gib(cert['peak'])} GiB (largest kernel DFT "
                     f"{_gib(cert['conv_fft'])} GiB); **projected** to 256 x 256 by the DFT sizes (x{ratio:.2f}): "
                     f"{cert_s:.0f} {unit} and about {_gib(cert['peak'] * ratio)} GiB")
    lines = ["## epoch: one paper-size epoch, phase by phase (`benchmarks/bench_epoch.py`)", "",
             f"Command: `{command_line()}`", "", f"Machine: {machine()}; device {args.device}"
             + (f", torch threads {args.threads}" if args.threads else ""), ""]
    if cpu:
        r0 = rows[0]
        lines += [f"Measured on the CPU on a **subsample** of the paper-size pick-and-place data (the paper's 3 x 256 x 256 "
                  f"images and architecture): the train step on {r0['n_train']} training samples (batch "
                  f"{r0['train']['batch']}), evaluation and detection on {r0['n_test']} test samples, tracking on "
                  f"{r0['track_inputs']} input(s); seconds **scaled per sample** to the paper's {N_TRAIN} training / "
                  f"{N_TEST} test windows and 16 tracking inputs. Seconds are **process CPU seconds** (all threads; "
                  "the machine is shared with other jobs, which inflate wall-clock times unevenly across phases; the "
                  "wall-clock figures are in the JSON lines the script prints).", ""]
    lines += [f"Certified bounds of the tracking (lipbound.bounds, on the CPU, the same for every fusion): {cert_note}.", "",
              f"{'CPU seconds' if cpu else 'Seconds'} at paper size; the ratio to the train step of one epoch in brackets. Tracking: one tracking "
              "event (lower bounds and estimator on 16 inputs, plus the certified bounds), and its share of a "
              f"{PRESET_EPOCHS}-epoch run under the automatic schedule (every run tracks its last epoch). Detection "
              f"and epoch 0: once per run; share of a {PRESET_EPOCHS}-epoch run in the last columns.", "",
              "| fusion | train step / epoch | evaluation / epoch | tracking / event | tracking share (100 ep.) | "
              "detection / run (before) | detection share (100 ep.) | epoch 0 / run (before) |",
              "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        p = r["proj"]
        t = p["train"]
        lines.append(
            f"| {r['fusion']} | {t:.0f} | {p['eval']:.0f} ({p['eval'] / t:.3f}) | {p['track']:.0f} "
            f"({p['track'] / t:.2f}) | {p['track_share']:.3f} | {p['detect']:.0f} ({p['detect'] / t:.3f}; before "
            f"{p['detect_old']:.0f}, {p['detect_old'] / t:.3f}) | {p['detect'] / (PRESET_EPOCHS * t):.4f} | "
            f"{p['epoch0']:.0f} ({p['epoch0'] / t:.3f}; before {p['epoch0_old']:.0f}, {p['epoch0_old'] / t:.3f}) |")
    lines += ["", "Peak memory (GiB): measured growth over the phase"
              + (" (on the subsample: train batch and evaluation batch as given, tracking on its inputs)" if cpu else "")
              + ", and the pre-flight estimate for the paper-size run (batch 64, 16 tracking inputs; tracking includes "
              "the certified bounds; on CUDA device + host). Before this change the evaluations ran in batches of "
              "1024: at paper size one such batch holds about "
              f"{_gib(1024 * rows[0]['peak_pair'] * EVAL_ACT_FACTOR)} GiB (the same estimate).", "",
              "| fusion | train step (batch) | estimate | evaluation (batch) | estimate | tracking (inputs) | estimate | "
              "detection (test samples) | estimate |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        e = r["estimate"]
        lines.append(
            f"| {r['fusion']} | {_gib(r['train']['peak'])} ({r['train']['batch']}) | {_gib(e['training'])} | "
            f"{_gib(r['eval']['peak'])} ({r['eval']['batch']}) | {_gib(e['evaluation'])} | {_gib(r['track']['peak'])} "
            f"({r['track_inputs']}) | {_gib(e.get('tracking', 0))} | {_gib(r['detect_run']['peak'])} "
            f"({r['detect_run']['n_test']}) | {_gib(max(e.get('detection', 0), e.get('corruption', 0)))} |")
    worst = max(max(r["proj"]["eval"], r["proj"]["detect"] / PRESET_EPOCHS, r["proj"]["epoch0"] / PRESET_EPOCHS)
                / r["proj"]["train"] for r in rows)
    lines += ["", f"Largest ratio of evaluation, detection and epoch 0 (per epoch of a {PRESET_EPOCHS}-epoch run) to the "
              f"train step: {worst:.3f} (goal <= 0.15)."]
    # the paper preset on one GPU
    f = rows[0]["flops"]
    if cpu:
        tput = args.gpu_tflops * 1e12
        run = (PRESET_EPOCHS * (N_TRAIN * f["train"] + N_TEST * f["forward"]) + (512 + N_TEST) * f["forward"]
               + (512 + N_TEST + 5 * N_TEST) * f["encoders"][0]) * 1e9 / tput
        cpu_tp = f["train"] * 1e9 / rows[0]["train"]["s_per_sample"]
        lines += ["", f"**Projection** (not a measurement) of the `paper` preset ({PRESET_RUNS} runs x {PRESET_EPOCHS} "
                  f"epochs) on one GPU: the model costs {f['forward']:.1f} GFLOP per sample forward and {f['train']:.1f} "
                  f"forward + backward (torch.utils.flop_counter); this CPU sustained {cpu_tp / 1e9:.0f} GFLOP/s on the "
                  f"train step. At an assumed sustained {args.gpu_tflops:.0f} TFLOP/s (float32 convolutions run as TF32 "
                  f"by cuDNN; the H200's dense TF32 peak is about 495 TFLOP/s) training, evaluations and detection "
                  f"encodings take {run:.0f} s per run, {PRESET_RUNS * run / 3600:.1f} h for the preset. "
                  + (f"The tracking's certified bounds run on the CPU ({cert_s:.0f} CPU s per tracking on this machine, "
                     f"at least one per run: {PRESET_RUNS * cert_s / 3600:.1f} CPU hours for the preset at this machine's "
                     "speed)" if cert is not None else "The tracking's certified bounds (on the CPU) were not measured")
                  + "; the power iteration and the estimator run on the GPU in float64."]
    else:
        run = sum(PRESET_EPOCHS * r["proj"]["train"] + PRESET_EPOCHS * r["proj"]["eval"] + r["proj"]["epoch0"]
                  + r["proj"]["detect"] + r["proj"]["track"] for r in rows) / len(rows)
        lines += ["", f"The `paper` preset ({PRESET_RUNS} runs x {PRESET_EPOCHS} epochs) on this GPU, from the measured "
                  f"per-epoch and per-run seconds (one tracking per run): about {run:.0f} s per run, "
                  f"{PRESET_RUNS * run / 3600:.1f} h (a projection from one epoch, not a measurement of the preset)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--fusions", nargs="+", default=list(FUSIONS), choices=FUSIONS)
    ap.add_argument("--train-samples", type=int, default=None, help="CPU subsample (default 16; cuda: all 2800)")
    ap.add_argument("--test-samples", type=int, default=None, help="CPU subsample (default 16; cuda: all 560)")
    ap.add_argument("--track-inputs", type=int, default=None, help="tracking inputs (default: CPU 1, cuda 16)")
    ap.add_argument("--certified-image-size", type=int, default=None,
                    help="image size of the certified-bound measurement (default: CPU 128, cuda 256; 0 skips it)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--gpu-tflops", type=float, default=100.0, help="assumed sustained GPU TFLOP/s of the projection")
    ap.add_argument("--cache", default=None, help="dataset cache folder (default: lipbound's)")
    ap.add_argument("--no-write", action="store_true", help="print only; do not write benchmarks/RESULTS.md")
    ap.add_argument("--_worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._worker:
        kind, spec = args._worker[0], json.loads(args._worker[1])
        print(json.dumps(worker(spec) if kind == "fusion" else certified_worker(spec)))
        return
    cpu = args.device == "cpu"
    spec = {"device": args.device, "threads": args.threads, "cache": args.cache,
            "train_samples": args.train_samples or (16 if cpu else N_TRAIN),
            "test_samples": args.test_samples or (16 if cpu else N_TEST),
            "track_inputs": args.track_inputs or (1 if cpu else 16)}
    size = args.certified_image_size if args.certified_image_size is not None else (128 if cpu else 256)
    cert = _child("certified", {"size": size, "threads": args.threads}) if size else None
    cert_s = 0.0 if cert is None else cert["cpu" if cpu else "seconds"] * _conv_fft(256) / _conv_fft(size)
    rows = []
    for fusion in args.fusions:
        r = _child("fusion", {**spec, "fusion": fusion})
        r["proj"] = project(r, cert_s, "cpu" if cpu else "s")
        rows.append(r)
        print(json.dumps(r), flush=True)
    text = report(rows, cert, args)
    print(text)
    if not args.no_write:
        from benchmarks._results import write_section

        write_section("epoch", text)


if __name__ == "__main__":
    main()
