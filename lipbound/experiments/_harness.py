r"""The training harness: one run = one fusion on one dataset, one trial, one :math:`\lambda`
(Section 5.3: Adam, batch 64, MSE), with per-epoch losses per modality, Lipschitz tracking,
checkpoints, resume and NaN diagnosis.

Files in the run directory ``runs/<run_id>/``:

* ``checkpoint.pt``: model, optimiser and shuffling-generator state (tensors), the configuration,
  the records so far and the tracking schedule (JSON), written atomically after every epoch; it
  loads with ``torch.load(weights_only=True)`` and a rerun of the same configuration resumes from
  it (a corrupt one is an error that names it: delete it to restart the run from epoch 0);
* ``records.jsonl``, ``detection.jsonl``, ``reconstructions.npz``: the run's results;
* ``done.json``: written last, with the configuration; a run with it is never retrained, and
  asking for the same run id with another configuration is an error;
* ``failed.json``: the diagnosis of a run whose loss became NaN/Inf (the checkpoint of the last
  good epoch is kept);
* ``lock``: held (``flock``) while a process trains the run; another process finding it held
  does not train the run (:class:`~lipbound.experiments.RunLockedError`).
"""

from __future__ import annotations

import io
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from .._io import atomic_write_bytes, atomic_write_json, atomic_write_text, json_safe
from ..errors import LipboundError
from ..zoo._train import NonFiniteBatch, train_epoch
from ._build import (
    activation_profile,
    build_model,
    check_memory,
    eval_batch_size,
    memory_estimate,
    modality_mse,
    param_norm,
)
from ._config import RunConfig
from ._data import corrupted_test_set, corruptions_for, get_dataset
from ._safety import (
    RunLock,
    config_diff,
    corrupt_error,
    load_checkpoint,
    mismatch_error,
    no_interrupt,
    read_json_marker,
    save_checkpoint,
)
from ._tracking import track, within_budget

#: the automatic schedule keeps Lipschitz tracking at most this fraction of the training time
TRACK_BUDGET = 0.15
#: reconstructions kept per modality in reconstructions.npz
N_RECON = 4
#: the epoch-0 training loss is evaluated on at most this many training samples (a seeded
#: subsample, :func:`eval0_indices`); the epoch-0 test loss on the whole test set
EVAL0_SAMPLES = 512


class TrainingDivergedError(LipboundError):
    """The training loss became NaN or Inf; the message is the diagnosis (also in ``failed.json``)."""


@dataclass
class RunResult:
    """What :func:`train_run` returns: the records, detection rows, wall time and whether the run
    was resumed from a checkpoint or already finished (then nothing was trained)."""

    run_id: str
    records: list[dict]
    detection: list[dict]
    seconds: float
    resumed_from: int
    skipped: bool
    epochs_trained: int = 0
    stopped_early: bool = False


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def write_jsonl(path: Path, rows: list[dict]) -> None:
    """Write ``rows`` as JSON lines, atomically."""
    atomic_write_text(path, "".join(json.dumps(r, allow_nan=False) + "\n" for r in rows))


def read_jsonl(path: Path) -> list[dict]:
    """The JSON objects of a JSON-lines file (blank lines skipped)."""
    with open(path) as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _device(name: str) -> torch.device:
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise LipboundError("--device cuda was asked for, but torch.cuda.is_available() is False "
                            "(a CPU build of torch or no GPU); use --device cpu")
    return dev


@torch.no_grad()
def _eval_losses(model, data: list[torch.Tensor], batch: int = 1024) -> list[float]:
    """Per-modality MSE over ``data`` in batches of ``batch``, accumulated on the device in float64
    (one synchronisation, at the end)."""
    n = data[0].shape[0]
    tot = torch.zeros(len(data), dtype=torch.float64, device=data[0].device)
    for lo in range(0, n, batch):
        xs = [x[lo:lo + batch] for x in data]
        tot += torch.stack([v.double() for v in modality_mse(xs, model(xs))]) * xs[0].shape[0]
    return (tot / n).tolist()


def eval0_indices(n: int, seed: int) -> torch.Tensor | None:
    """The training samples of the epoch-0 training loss: None (all of them) when ``n`` is at most
    :data:`EVAL0_SAMPLES`, else the first :data:`EVAL0_SAMPLES` of
    ``torch.randperm(n, generator=torch.Generator().manual_seed(seed))``, sorted (``seed`` is the
    run's seed; the shuffling generator of the epochs is not touched).

    >>> eval0_indices(100, 0) is None, eval0_indices(2800, 0).shape
    (True, torch.Size([512]))
    """
    if n <= EVAL0_SAMPLES:
        return None
    g = torch.Generator().manual_seed(int(seed))
    return torch.randperm(n, generator=g)[:EVAL0_SAMPLES].sort().values


def _mse_loss(model, xs):
    parts = modality_mse(xs, model(xs))
    return sum(parts), parts


def _diagnose(cfg: RunConfig, epoch: int, batch: int, losses: list[float], names, model, last_ok: float | None,
              grad_norm: float | None, inputs) -> dict:
    bad = [n for n, v in zip(names, losses) if not math.isfinite(v)]
    bad_inputs = [n for n, x in zip(names, inputs) if not bool(torch.isfinite(x).all())]
    bad_params = [n for n, p in model.named_parameters() if not bool(torch.isfinite(p).all())]
    norms = {"encoders": [param_norm(e) for e in model.encoders], "fusion": param_norm(model.fusion),
             "decoders": [param_norm(d) for d in model.decoders]}
    hints = []
    if bad_inputs:
        hints.append(f"the batch's inputs of modality {', '.join(bad_inputs)} hold NaN/Inf values: clean the data "
                     "(the dataset cache may be corrupt; delete it to regenerate)")
    elif bad_params:
        hints.append("weights are already non-finite: the previous update diverged; lower the learning rate")
    elif grad_norm is not None and grad_norm > 1e6:
        hints.append(f"the last gradient norm was {grad_norm:.3g}: lower the learning rate or clip gradients")
    else:
        hints.append(f"lower the learning rate (lr={cfg.lr}) or check the data of modality {', '.join(bad) or '?'}")
    return {"run_id": cfg.run_id, "epoch": epoch, "batch": batch,
            "modality_losses": {n: (v if math.isfinite(v) else str(v)) for n, v in zip(names, losses)},
            "non_finite_modalities": bad, "non_finite_inputs": bad_inputs, "non_finite_parameters": bad_params[:20],
            "parameter_norms": json_safe(norms), "last_finite_loss": last_ok, "last_gradient_norm": json_safe(grad_norm), "lr": cfg.lr, "hint": "; ".join(hints),
            "time": _now()}


#: how to proceed when a run folder holds another configuration
MISMATCH_HINT = ("Use another --out, rerun with the configuration stored there, or delete those run folders "
                 "(runs/<run_id>/) to train them again with the new configuration.")


def run_state(cfg: RunConfig, run_dir: str | os.PathLike) -> tuple[str, str]:
    """What ``run_dir`` holds for ``cfg``, without training or writing anything: ``(state, detail)``
    with state ``"finished"``, ``"partial"`` (a checkpoint of the same configuration), ``"failed"``
    (``failed.json``), ``"running"`` (another process holds its lock), ``"new"``, or
    ``"other-config"`` (a finished or half-finished run of another configuration; ``detail`` says
    which and the differences, :func:`~lipbound.experiments._safety.config_diff`).

    Raises:
        CorruptCheckpointError: an unreadable ``done.json`` or ``checkpoint.pt``.
    """
    from ._safety import is_locked

    run_dir = Path(run_dir)
    want = cfg.to_dict()
    done = run_dir / "done.json"
    if done.exists():
        prev = RunConfig.stored(read_json_marker(done).get("config"))
        return ("finished", "") if prev == want else ("other-config", f"finished; {config_diff(prev, want)}")
    if is_locked(run_dir):
        return "running", ""
    ckpt = run_dir / "checkpoint.pt"
    if ckpt.exists():
        prev = RunConfig.stored(load_checkpoint(ckpt, mmap=True).get("config"))
        if prev != want:
            return "other-config", f"half-finished; {config_diff(prev, want)}"
        return "partial", ""
    return ("failed", "") if (run_dir / "failed.json").exists() else ("new", "")


def _finished(cfg: RunConfig, run_dir: Path) -> RunResult | None:
    """The finished run's result, None if there is none; an error for another configuration."""
    done = run_dir / "done.json"
    if not done.exists():
        return None
    marker = read_json_marker(done)
    prev = RunConfig.stored(marker.get("config"))
    if prev != cfg.to_dict():
        raise mismatch_error(run_dir, [(str(run_dir), f"finished; {config_diff(prev, cfg.to_dict())}")],
                             hint=MISMATCH_HINT)
    recs = read_jsonl(run_dir / "records.jsonl")
    det = read_jsonl(run_dir / "detection.jsonl") if (run_dir / "detection.jsonl").exists() else []
    return RunResult(cfg.run_id, recs, det, 0.0, cfg.epochs, True, int(marker.get("epochs_trained", cfg.epochs)),
                     bool(marker.get("stopped_early", False)))


def train_run(cfg: RunConfig, run_dir: str | os.PathLike, *, dataset=None,
              on_epoch: Callable[[int, int], None] | None = None, cache_dir=None,
              stop_after: int | None = None, memory_budget: int | None = None, share: int = 1) -> RunResult:
    r"""Train (or resume, or skip) run ``cfg`` in ``run_dir``; see the module docstring for its files.

    Each step minimises :math:`\sum_j \mathrm{MSE}_j + \lambda \sum_i \lVert W_i \rVert_F^2` (the
    penalty only for attention fusions with :math:`\lambda > 0`) with Adam on a batch of
    ``cfg.batch_size`` samples reshuffled every epoch by a generator seeded with ``cfg.run_seed``.
    After each epoch it records the mean training loss per modality over the epoch's batches, the
    test loss per modality after the epoch, parameter norms, the epoch's seconds and, on tracking
    epochs, :func:`~lipbound.experiments.track` of every submodule on ``cfg.track_inputs`` test
    samples. Then it writes the checkpoint. ``stop_after=k`` returns after epoch ``k`` without
    finishing (to test resuming); ``on_epoch(epoch, epochs)`` reports progress.

    Before anything is moved to the device or trained, a pre-flight check estimates the peak memory
    of every phase (:func:`~lipbound.experiments._build.memory_estimate`) and raises
    :class:`~lipbound.experiments._build.MemoryBudgetError` for one that would not fit in
    ``memory_budget`` bytes of the device (default: what is free, divided by ``share``, the number
    of runs sharing the machine). With ``cfg.patience > 0`` the run stops early (see
    :class:`RunConfig`); the last epoch trained is then tracked and the run is finished.

    The run folder is locked (``lock``, see the module docstring) while this process trains it.

    Raises:
        TrainingDivergedError: the loss became NaN/Inf (diagnosis in the message and ``failed.json``).
        ConfigMismatchError: ``run_dir`` holds a finished run or a checkpoint of another configuration.
        CorruptCheckpointError: ``checkpoint.pt`` or ``done.json`` cannot be read (the message names it).
        RunLockedError: another process is training this run.
        MemoryBudgetError: a phase would need more memory than is free (nothing was allocated).
    """
    run_dir = Path(run_dir)
    res = _finished(cfg, run_dir)
    if res is not None:
        return res
    with RunLock(run_dir):
        res = _finished(cfg, run_dir)  # another process may have finished it while we waited for the lock
        if res is not None:
            return res
        return _train_locked(cfg, run_dir, dataset=dataset, on_epoch=on_epoch, cache_dir=cache_dir,
                             stop_after=stop_after, memory_budget=memory_budget, share=share)


def _early_stop(cfg: RunConfig, records: list[dict]) -> bool:
    """The early-stopping rule of :class:`RunConfig` on the model's test losses in ``records``
    (epoch 0 first): True when the last ``cfg.patience`` epochs brought no test loss below
    ``best * (1 - cfg.min_delta)``, ``best`` being the loss of the last epoch that did (or epoch 0),
    and the run has trained at least ``cfg.min_epochs`` epochs."""
    if cfg.patience <= 0:
        return False
    last = max((r["epoch"] for r in records if r["metric"] == "test_loss" and r["submodule"] == "model"), default=0)
    if last < getattr(cfg, "min_epochs", 0):
        return False
    losses = sorted((r["epoch"], r["value"]) for r in records
                    if r["metric"] == "test_loss" and r["submodule"] == "model")
    best, since = math.inf, 0
    for _, v in losses:
        if v < best * (1.0 - cfg.min_delta) or best == math.inf:
            best, since = v, 0
        else:
            since += 1
    return since >= cfg.patience


def _train_locked(cfg: RunConfig, run_dir: Path, *, dataset, on_epoch, cache_dir, stop_after,
                  memory_budget=None, share=1) -> RunResult:
    done = run_dir / "done.json"
    failed = run_dir / "failed.json"
    if failed.exists():
        raise TrainingDivergedError(f"run {cfg.run_id} diverged before (see {failed}): "
                                    f"{json.loads(failed.read_text()).get('hint', '')}; delete that file to retry")
    t_start = time.perf_counter()
    device = _device(cfg.device)
    ds = dataset if dataset is not None else get_dataset(cfg.dataset, size=cfg.size, seed=cfg.data_seed,
                                                         cache_dir=cache_dir)
    names = list(ds.modality_names)
    model = build_model(ds.modalities, cfg.fusion, cfg.architecture, lam=cfg.lam, seed=cfg.run_seed)
    profile = activation_profile(model, ds.modalities)
    check_memory(cfg, memory_estimate(cfg, profile, ds, device=device), device=device, budget=memory_budget,
                 share=share)
    eval_batch = eval_batch_size(cfg.batch_size, profile)
    model = model.to(device)
    lam = float(getattr(model.fusion, "l2", 0.0))
    train = [ds.train[n].to(device) for n in names]
    test = [ds.test[n].to(device) for n in names]
    track_x = [t[: cfg.track_inputs] for t in test]
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.run_seed)
    base = {"run_id": cfg.run_id, "dataset": cfg.dataset_label, "fusion": cfg.fusion, "trial": cfg.trial, "lam": lam}
    records: list[dict] = []
    sched = {"train_s": 0.0, "track_s": 0.0, "last_track_s": 0.0}
    start_epoch = 0
    ckpt = run_dir / "checkpoint.pt"
    if ckpt.exists():
        st = load_checkpoint(ckpt, map_location=device)
        if RunConfig.stored(st.get("config")) != cfg.to_dict():
            diff = config_diff(RunConfig.stored(st.get("config")), cfg.to_dict())
            raise mismatch_error(run_dir, [(str(run_dir), f"half-finished; {diff}")], hint=MISMATCH_HINT)
        try:
            model.load_state_dict(st["model"])
            opt.load_state_dict(st["optimizer"])
            gen.set_state(st["generator"].cpu())
            records, sched, start_epoch = list(st["records"]), dict(st["schedule"]), int(st["epoch"])
        except (KeyError, RuntimeError, TypeError, ValueError) as exc:
            raise corrupt_error(ckpt, exc) from None
    n = train[0].shape[0]
    if start_epoch == 0 and not records:  # epoch 0: the initial weights, for the convergence curves
        model.eval()
        ep0 = {**base, "epoch": 0}
        sub = eval0_indices(n, cfg.run_seed)
        train0 = train if sub is None else [x.index_select(0, sub.to(device)) for x in train]
        note = "" if sub is None else f"; a seeded subsample of {sub.numel()} of the {n} training samples"
        for metric, data, extra, how in (("train_loss", train0, {} if sub is None else {"samples": int(sub.numel())},
                                          note), ("test_loss", test, {}, "")):
            vals = _eval_losses(model, data, eval_batch)
            records += [{**ep0, "submodule": f"modality:{nm}", "metric": metric, "value": v, "kind": "loss",
                         "method": f"mse{how}", **extra} for nm, v in zip(names, vals)]
            records.append({**ep0, "submodule": "model", "metric": metric, "value": sum(vals), "kind": "loss",
                            "method": f"mse (sum over modalities{how})", **extra})

    def diverged(bad: NonFiniteBatch) -> None:
        losses = bad.parts
        diag = _diagnose(cfg, bad.epoch, bad.batch, losses, names, model, bad.last_finite, bad.grad_norm, bad.inputs)
        if not bad.reproduced:
            diag["hint"] += ("; the replay of the epoch on this device did not meet the NaN again (non-deterministic "
                             "kernels): the batch is the first pass's")
        with no_interrupt():
            atomic_write_json(failed, diag)
        raise TrainingDivergedError(
            f"run {cfg.run_id}: the loss became {bad.loss} in epoch {bad.epoch}, batch {bad.batch} "
            f"(non-finite losses of modalities: {', '.join(diag['non_finite_modalities']) or 'none'}; non-finite "
            f"inputs: {', '.join(diag['non_finite_inputs']) or 'none'}; last finite loss {bad.last_finite}); "
            f"{diag['hint']}. Diagnosis in {failed}; checkpoint of epoch {bad.epoch - 1} kept")

    carry: dict = {}
    stopped = bool(sched.get("stopped_early", False))  # resumed after an early stop: nothing left to train
    for epoch in range(start_epoch + 1, (start_epoch if stopped else cfg.epochs) + 1):
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(n, generator=gen).to(device)
        sums = train_epoch(model, opt, train, perm, batch_size=cfg.batch_size, loss_fn=_mse_loss, epoch=epoch,
                           on_nonfinite=diverged, carry=carry)
        model.eval()
        tr = (sums.parts / n).tolist()
        te = _eval_losses(model, test, eval_batch)
        secs = time.perf_counter() - t0
        sched["train_s"] += secs
        ep = {**base, "epoch": epoch}
        for nm, a, c in zip(names, tr, te):
            records.append({**ep, "submodule": f"modality:{nm}", "metric": "train_loss", "value": a, "kind": "loss",
                            "method": "mse (mean over the epoch's batches)"})
            records.append({**ep, "submodule": f"modality:{nm}", "metric": "test_loss", "value": c, "kind": "loss", "method": "mse"})
        records.append({**ep, "submodule": "model", "metric": "train_loss", "value": sum(tr), "kind": "loss",
                        "method": "mse (sum over modalities; mean over the epoch's batches)"})
        records.append({**ep, "submodule": "model", "metric": "test_loss", "value": sum(te), "kind": "loss",
                        "method": "mse (sum over modalities)"})
        records.append({**ep, "submodule": "model", "metric": "param_norm", "value": param_norm(model), "kind": "other",
                        "method": "l2 norm of all parameters"})
        records.append({**ep, "submodule": "fusion", "metric": "param_norm", "value": param_norm(model.fusion),
                        "kind": "other", "method": "l2 norm of the fusion's parameters"})
        records.append({**ep, "submodule": "model", "metric": "epoch_seconds", "value": secs, "kind": "other",
                        "method": "wall clock of the training epoch (tracking excluded)"})
        stopped = epoch < cfg.epochs and _early_stop(cfg, records)
        if _should_track(cfg, epoch, sched, last=epoch == cfg.epochs or stopped):
            t1 = time.perf_counter()
            for row in track(model, track_x, modality_names=names, seed=cfg.run_seed):
                row.pop("seconds", None)
                records.append({**ep, "metric": "lipschitz", **row})
            sched["last_track_s"] = time.perf_counter() - t1
            sched["track_s"] += sched["last_track_s"]
            records.append({**ep, "submodule": "model", "metric": "tracking_seconds", "value": sched["last_track_s"],
                            "kind": "other", "method": "wall clock of the Lipschitz tracking"})
        if stopped:
            sched["stopped_early"] = True
        save_checkpoint(ckpt, {"model": model.state_dict(), "optimizer": opt.state_dict(),
                               "generator": gen.get_state()},
                        {"config": cfg.to_dict(), "epoch": epoch, "records": records, "schedule": sched})
        if on_epoch is not None:
            on_epoch(cfg.epochs if stopped else epoch, cfg.epochs)
        if stopped:
            break
        if stop_after is not None and epoch >= stop_after and epoch < cfg.epochs:
            return RunResult(cfg.run_id, records, [], time.perf_counter() - t_start, start_epoch, False, epoch)
    epochs_trained = max(r["epoch"] for r in records)
    model.eval()
    detection = detect_run(model, ds, cfg, batch=eval_batch, cache_dir=cache_dir) if cfg.detect else []
    with no_interrupt():  # a SIGTERM/SIGINT waits for the run's files, done.json last
        _save_reconstructions(run_dir / "reconstructions.npz", model, ds, cfg)
        write_jsonl(run_dir / "records.jsonl", records)
        write_jsonl(run_dir / "detection.jsonl", detection)
        seconds = time.perf_counter() - t_start
        atomic_write_json(done, {"run_id": cfg.run_id, "config": cfg.to_dict(), "finished": _now(),
                                 "seconds": seconds, "resumed_from_epoch": start_epoch,
                                 "train_seconds": sched["train_s"], "tracking_seconds": sched["track_s"], "lam": lam,
                                 "epochs_trained": epochs_trained, "stopped_early": stopped})
    return RunResult(cfg.run_id, records, detection, seconds, start_epoch, False, epochs_trained, stopped)


def _should_track(cfg: RunConfig, epoch: int, sched: dict, *, last: bool | None = None) -> bool:
    """Tracking schedule: every ``track_every`` epochs and the last, never for ``-1``, and for ``0``
    whenever the tracking time so far plus the last tracking's cost (before the first: two epochs'
    time) stays within :data:`TRACK_BUDGET` of the training time so far, and at the last epoch if
    nothing was tracked before (so every run has a tracked epoch; the claims use each run's last).
    ``last``: whether ``epoch`` is the run's last (``cfg.epochs``, or an early stop)."""
    last = epoch == cfg.epochs if last is None else last
    if cfg.track_every < 0:
        return False
    if cfg.track_every > 0:
        return epoch % cfg.track_every == 0 or last
    if last and sched["track_s"] == 0.0:
        return True  # every run gets at least one tracking, at its last epoch
    return within_budget(sched, epoch, TRACK_BUDGET)


@torch.no_grad()
def _encode(encoder, x: torch.Tensor, batch: int) -> torch.Tensor:
    """``encoder`` applied to ``x`` in batches of ``batch``, on ``x``'s device."""
    return torch.cat([encoder(x[lo:lo + batch]) for lo in range(0, x.shape[0], batch)])


@torch.no_grad()
def _fuse(model, latents: list[torch.Tensor], batch: int) -> np.ndarray:
    """The fused latents of per-modality ``latents``, in batches, as a float64 NumPy array."""
    out = [model.fuse([z[lo:lo + batch] for z in latents]) for lo in range(0, latents[0].shape[0], batch)]
    return torch.cat(out).double().cpu().numpy()


def detect_run(model, ds, cfg: RunConfig, *, batch: int = 512, cache_dir=None) -> list[dict]:
    """Section 5.7 on this run: one row per (modality, corruption) of the test set.

    Everything runs on the model's device in the model's dtype, in batches of ``batch``: the
    detector is fitted (:func:`~lipbound.experiments.fit_detector`) on the fused latents of the
    training rows :func:`~lipbound.experiments._detect.fit_indices` picks (at most
    :data:`~lipbound.experiments._detect.MAX_FIT`, seeded by the run's seed; only those rows are
    encoded); each modality's latents of the clean test set are computed once; for each corruption
    only the corrupted modality is encoded again (the others' latents are reused) and the latents
    are fused. Corrupted test sets come from :func:`~lipbound.experiments._data.corrupted_test_set`
    (cached).
    """
    from ._detect import detection_metrics, fit_detector, fit_indices

    p = next(model.parameters())
    dev, dtype = p.device, p.dtype
    names = list(ds.modality_names)
    rows_fit = torch.from_numpy(fit_indices(ds.train[names[0]].shape[0], cfg.run_seed))
    train = [ds.train[n].index_select(0, rows_fit.to(ds.train[n].device)).to(device=dev, dtype=dtype) for n in names]
    fit_lat = [_encode(e, x, batch) for e, x in zip(model.encoders, train)]
    det = fit_detector(_fuse(model, fit_lat, batch), seed=cfg.run_seed)
    del train, fit_lat
    lat = [_encode(e, ds.test[n].to(device=dev, dtype=dtype), batch) for e, n in zip(model.encoders, names)]
    clean = _fuse(model, lat, batch)
    rows = []
    for j, spec in enumerate(ds.modalities):
        for cname in corruptions_for(spec):
            bad = corrupted_test_set(ds, spec, cname, seed=cfg.run_seed, severity=1.0, device=dev, dtype=dtype,
                                     cache_dir=cache_dir)
            lat_bad = list(lat)
            lat_bad[j] = _encode(model.encoders[j], bad, batch)
            m = detection_metrics(det, clean, _fuse(model, lat_bad, batch), seed=cfg.run_seed)
            rows.append({"run_id": cfg.run_id, "dataset": cfg.dataset_label, "fusion": cfg.fusion, "trial": cfg.trial,
                         "corruption": f"{spec.name}:{cname}", **m})
    return rows


@torch.no_grad()
def _save_reconstructions(path: Path, model, ds, cfg: RunConfig) -> None:
    dev = next(model.parameters()).device
    xs = [ds.test[n][:N_RECON].to(dev) for n in ds.modality_names]
    ys = model(xs)
    arrays = {}
    for spec, x, y in zip(ds.modalities, xs, ys):
        key = f"{cfg.dataset_label}__{cfg.fusion}__{spec.name}"
        if spec.kind == "image":
            x, y = x.clamp(0, 1), y.clamp(0, 1)
        arrays[f"{key}__input"] = x.float().cpu().numpy()
        arrays[f"{key}__output"] = y.float().cpu().numpy()
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())
