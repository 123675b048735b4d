"""Sweeps: plan the runs of a preset, execute them on a local process pool or on Ray, and write
the results directory (``meta.json``, ``records.jsonl``, ``detection.jsonl``,
``reconstructions.npz``, ``claims.json``, ``runs/<run_id>/``; see ``docs/experiments.md``).

Finished runs (``runs/<run_id>/done.json``) are never retrained: an interrupted sweep rerun with
the same command trains only the missing runs, resuming a half-finished one from its checkpoint.
"""

from __future__ import annotations

import io
import os
import platform
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .._io import atomic_write_bytes, atomic_write_json
from ..errors import LipboundError, require
from ._config import ALL_FUSIONS, Preset, RunConfig, UnknownFusionError, get_preset
from ._data import generated_datasets, known_datasets
from ._harness import read_jsonl, write_jsonl

EXECUTORS = ("local", "ray")
#: set to N to make a sweep stop (raise :class:`SweepInterrupted`) after N runs finished in this
#: invocation: a stand-in for a killed process in tests
STOP_AFTER_ENV = "LIPBOUND_SWEEP_STOP_AFTER"


class SweepInterrupted(LipboundError):
    """The sweep stopped early (``LIPBOUND_SWEEP_STOP_AFTER``); rerun it to finish."""


class UnknownExecutorError(LipboundError):
    """An executor name other than ``local`` or ``ray``."""


@dataclass
class SweepSummary:
    """What :func:`run_sweep` did: runs trained now, runs skipped (already finished), failures."""

    out: Path
    trained: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def plan(preset: Preset | str, *, datasets: Sequence[str] | None = None, fusions: Sequence[str] | None = None,
         trials: int | None = None, epochs: int | None = None, device: str = "cpu", seed: int = 0,
         ablation: bool = True) -> list[RunConfig]:
    """The runs of ``preset`` (datasets x fusions x trials, then the lambda ablation), with overrides.

    >>> [c.run_id for c in plan("tiny", datasets=["synthetic"], fusions=["sum"], trials=2, ablation=False)]
    ['synthetic__sum__lamdef__t0', 'synthetic__sum__lamdef__t1']
    >>> plan("tiny", datasets=["mnist"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lipbound.datasets._base.UnknownDatasetError: unknown dataset 'mnist'; known: ...
    """
    from ..datasets import UnknownDatasetError

    p = get_preset(preset) if isinstance(preset, str) else preset
    ds = tuple(datasets) if datasets else (p.datasets or generated_datasets())
    for d in ds:
        if d not in known_datasets():
            raise UnknownDatasetError(f"unknown dataset {d!r}; known: {', '.join(known_datasets())}")
    fs = tuple(fusions) if fusions else p.fusions
    for f in fs:
        if f not in ALL_FUSIONS:
            raise UnknownFusionError(f"unknown fusion {f!r}; known: {', '.join(ALL_FUSIONS)}")
    n_trials = int(trials) if trials is not None else p.trials
    if n_trials < 1:
        raise LipboundError(f"--trials must be at least 1, got {n_trials}")
    common = {"epochs": int(epochs) if epochs is not None else p.epochs, "size": p.size, "arch": p.arch,
              "device": device, "seed": int(seed), **p.run}
    out = [RunConfig(d, f, t, **common) for d in ds for f in fs for t in range(n_trials)]
    if ablation and p.ablation is not None:
        fusion, lams, abl_ds = p.ablation
        for d in (abl_ds or ds[:1]):
            if d not in ds:
                continue
            out += [RunConfig(d, fusion, t, lam=lam, **common) for lam in lams for t in range(n_trials)]
    return out


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(max(1, int(threads)))


def run_one(cfg: dict, out: str, queue=None, threads: int | None = None) -> dict:
    """Train one run (a picklable top-level function for the executors); never raises for a failed
    run: returns ``{"run_id", "status": "trained" | "skipped" | "diverged" | "error", ...}``."""
    from ._harness import TrainingDivergedError, train_run

    if threads is not None:
        _init_worker(threads)
    c = RunConfig.from_dict(cfg)
    report = (lambda e, n: queue.put((c.run_id, e, n))) if queue is not None else None
    if queue is not None:
        queue.put((c.run_id, 0, c.epochs))
    try:
        r = train_run(c, Path(out) / "runs" / c.run_id, on_epoch=report)
    except TrainingDivergedError as exc:
        return {"run_id": c.run_id, "status": "diverged", "error": str(exc)}
    except Exception as exc:  # a crashing run must not take the sweep down; reported at the end
        return {"run_id": c.run_id, "status": "error", "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc()}
    return {"run_id": c.run_id, "status": "skipped" if r.skipped else "trained", "seconds": r.seconds}


def _meta(out: Path, configs: list[RunConfig], preset: str, command: str, device: str, extra: dict) -> dict:
    import torch

    from .. import __version__

    return {"kind": "lipbound-reproduce", "format": 1, "command": command, "preset": preset,
            "lipbound": __version__, "torch": torch.__version__, "python": platform.python_version(),
            "device": device, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "seeds": sorted({c.run_seed for c in configs}),
            "datasets": list(dict.fromkeys(c.dataset for c in configs)),
            "fusions": list(dict.fromkeys(c.fusion for c in configs)),
            "runs": [c.run_id for c in configs], **extra}


def run_sweep(out: str | os.PathLike, configs: Sequence[RunConfig], *, preset: str = "custom",
              executor: str = "local", workers: int = 1, command: str = "", progress: bool = True,
              claims: bool = True, threads: int | None = None) -> SweepSummary:
    """Run ``configs`` (skipping finished ones) and write the results directory ``out``.

    ``executor="local"`` runs them in this process (``workers=1``) or on a process pool of
    ``workers`` spawned processes with ``threads`` torch threads each (default 1);
    ``executor="ray"`` submits them as Ray tasks (``ray.init(num_cpus=workers)`` unless Ray is
    already initialised). Runs whose loss diverges are reported in ``meta.json`` (``failed``) and
    do not stop the sweep.
    """
    if executor not in EXECUTORS:
        raise UnknownExecutorError(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}")
    if workers < 1:
        raise LipboundError(f"--workers must be at least 1, got {workers}")
    configs = list(configs)
    ids = [c.run_id for c in configs]
    if len(set(ids)) != len(ids):
        raise LipboundError("the sweep has duplicate runs")
    out = Path(out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    if threads is None:
        threads = 1  # the models of the CPU presets are small: one thread per run beats oversubscription
    device = configs[0].device if configs else "cpu"
    t0 = time.perf_counter()
    if not (out / "meta.json").exists():
        atomic_write_json(out / "meta.json", _meta(out, configs, preset, command, device,
                                                   {"status": "running", "executor": executor, "workers": workers}))
    summary = SweepSummary(out)
    todo = []
    for c in configs:
        if (out / "runs" / c.run_id / "done.json").exists():
            summary.skipped.append(c.run_id)
        else:
            todo.append(c)
    stop_after = int(os.environ.get(STOP_AFTER_ENV, "0") or 0)
    with _Bars(progress, len(configs), len(summary.skipped)) as bars:
        def finished(res: dict) -> None:
            bars.done(res["run_id"])
            if res["status"] in ("diverged", "error"):
                summary.failed[res["run_id"]] = res["error"]
            elif res["status"] == "skipped":
                summary.skipped.append(res["run_id"])
            else:
                summary.trained.append(res["run_id"])
            if stop_after and len(summary.trained) + len(summary.failed) >= stop_after:
                raise SweepInterrupted(f"stopped after {stop_after} run(s) ({STOP_AFTER_ENV}); rerun to finish")

        if executor == "ray":
            _ray_map(todo, out, workers, threads, finished, bars)
        elif workers == 1 or len(todo) <= 1:
            import torch

            old = torch.get_num_threads()
            torch.set_num_threads(threads)
            try:
                for c in todo:
                    bars.start(c.run_id, c.epochs)
                    finished(run_one(c.to_dict(), str(out), queue=bars.inline_queue()))
            finally:
                torch.set_num_threads(old)
        else:
            _pool_map(todo, out, workers, threads, finished, bars)
    summary.seconds = time.perf_counter() - t0
    finalize(out, configs, preset=preset, command=command, device=device, claims=claims,
             extra={"executor": executor, "workers": workers, "failed": summary.failed,
                    "seconds_this_invocation": summary.seconds, "trained_this_invocation": len(summary.trained),
                    "skipped_this_invocation": len(summary.skipped)})
    return summary


def _pool_map(todo, out, workers, threads, finished, bars) -> None:
    import multiprocessing as mp
    import queue as queue_mod
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        q = manager.Queue()
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                                 initargs=(threads,)) as pool:
            pending = {pool.submit(run_one, c.to_dict(), str(out), q) for c in todo}
            try:
                while pending:
                    done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                    while True:
                        try:
                            bars.update(*q.get_nowait())
                        except queue_mod.Empty:
                            break
                    for f in done:
                        finished(f.result())
            except BaseException:
                for f in pending:
                    f.cancel()
                raise


def _ray_map(todo, out, workers, threads, finished, bars) -> None:
    ray = require("ray", "ray")
    if not ray.is_initialized():
        ray.init(num_cpus=workers, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    task = ray.remote(num_cpus=1)(run_one)
    pending = [task.remote(c.to_dict(), str(out), None, threads) for c in todo]
    for c in todo:
        bars.start(c.run_id, c.epochs)
    while pending:
        done, pending = ray.wait(pending, num_returns=1, timeout=1.0)
        for ref in done:
            finished(ray.get(ref))


class _Bars:
    """rich progress: one bar for the sweep and one per running run (epochs)."""

    def __init__(self, enabled: bool, total: int, already: int) -> None:
        self.enabled, self.total, self.already = enabled, total, already
        self.tasks: dict[str, int] = {}

    def __enter__(self):
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.p = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                              TimeElapsedColumn(), console=Console(stderr=True))
            self.p.__enter__()
            self.sweep = self.p.add_task("sweep (runs)", total=self.total, completed=self.already)
        return self

    def __exit__(self, *exc):
        if self.enabled:
            self.p.__exit__(*exc)
        return False

    def start(self, run_id: str, epochs: int) -> None:
        if self.enabled and run_id not in self.tasks:
            self.tasks[run_id] = self.p.add_task(f"  {run_id}", total=epochs)

    def update(self, run_id: str, epoch: int, epochs: int) -> None:
        if self.enabled:
            self.start(run_id, epochs)
            self.p.update(self.tasks[run_id], completed=epoch)

    def done(self, run_id: str) -> None:
        if self.enabled:
            if run_id in self.tasks:
                self.p.remove_task(self.tasks.pop(run_id))
            self.p.advance(self.sweep)

    def inline_queue(self):
        bars = self

        class _Q:
            def put(self, item):
                bars.update(*item)

        return _Q() if self.enabled else None


def finalize(out: str | os.PathLike, configs: Sequence[RunConfig], *, preset: str, command: str, device: str,
             claims: bool = True, extra: dict | None = None) -> None:
    """Gather the finished runs of ``configs`` into the top-level result files of ``out``."""
    out = Path(out)
    records, detection, arrays = [], [], {}
    done_ids, missing = [], []
    for c in configs:
        d = out / "runs" / c.run_id
        if not (d / "done.json").exists():
            missing.append(c.run_id)
            continue
        done_ids.append(c.run_id)
        records += read_jsonl(d / "records.jsonl")
        if (d / "detection.jsonl").exists():
            detection += read_jsonl(d / "detection.jsonl")
        rec = d / "reconstructions.npz"
        if rec.exists() and c.lam is None:
            with np.load(rec) as z:
                for k in z.files:
                    arrays.setdefault(k, z[k])  # the first trial of each dataset x fusion
    write_jsonl(out / "records.jsonl", records)
    write_jsonl(out / "detection.jsonl", detection)
    if arrays:
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        atomic_write_bytes(out / "reconstructions.npz", buf.getvalue())
    status = "complete" if not missing else "incomplete"
    old = {}
    if (out / "meta.json").exists():
        import json

        old = json.loads((out / "meta.json").read_text())
    meta = _meta(out, list(configs), preset, command, device,
                 {"status": status, "finished_runs": len(done_ids), "missing_runs": missing, **(extra or {})})
    if claims and records:
        from ..claims.empirical import evaluate_results

        rows = evaluate_results(out)
        atomic_write_json(out / "claims.json", [r.as_dict() for r in rows])
    meta["created"] = old.get("created", meta["created"])
    atomic_write_json(out / "meta.json", meta)
