"""Sweeps: plan the runs of a preset, execute them on a local process pool or on Ray, and write
the results directory (``meta.json``, ``records.jsonl``, ``detection.jsonl``,
``reconstructions.npz``, ``claims.json``, ``runs/<run_id>/``; see ``docs/experiments.md``).

Before any work every planned run is checked: a run is finished only if its ``done.json`` holds the
requested configuration, and a finished or half-finished run of another configuration is an error
that lists them all (nothing is trained and nothing is written then). An interrupted sweep rerun
with the same command trains only the missing runs, resuming a half-finished one from its
checkpoint; a run another process is training (its lock is held) is left to that process. The
top-level files are rebuilt from every finished run in the folder, and ``meta.json`` lists every
invocation. Pool workers end when their parent ends, and SIGTERM/SIGINT stop the pool.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import platform
import signal
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .._io import atomic_write_bytes, atomic_write_json
from ..errors import LipboundError, require
from ._build import MemoryBudgetError
from ._config import ALL_FUSIONS, Preset, RunConfig, UnknownFusionError, dataset_label, folder_dataset, get_preset
from ._data import generated_datasets, known_datasets
from ._harness import MISMATCH_HINT, read_jsonl, run_state, write_jsonl
from ._safety import (
    OutputFolderError,
    RunLock,
    WorkerTerminated,
    check_out_dir,
    die_with_parent,
    mismatch_error,
    no_interrupt,
    read_json_marker,
    signal_raiser,
)

EXECUTORS = ("local", "ray")
#: set to N to make a sweep stop (raise :class:`SweepInterrupted`) after N runs finished in this
#: invocation: a stand-in for a killed process in tests
#: ``meta.json`` ``kind`` of a results folder
META_KIND = "lipbound-reproduce"
#: the top-level files a sweep (re)writes; in a folder without lipbound's ``meta.json`` they are
#: someone else's and are never overwritten
AGGREGATES = ("records.jsonl", "detection.jsonl", "reconstructions.npz", "claims.json")
#: lock of the top-level files (held while ``meta.json`` and the aggregates are rewritten)
FOLDER_LOCK = ".meta.lock"


class SweepInterrupted(LipboundError):
    """The sweep stopped early (SIGTERM, or ``run_sweep(stop_after=N)``); finished runs are kept:
    rerun the same command to finish."""


class UnknownExecutorError(LipboundError):
    """An executor name other than ``local`` or ``ray``."""


@dataclass
class SweepSummary:
    """What :func:`run_sweep` did: runs trained now, runs skipped (already finished with the same
    configuration), failures, and runs left alone because another process is training them."""

    out: Path
    trained: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    running_elsewhere: list[str] = field(default_factory=list)
    seconds: float = 0.0


def plan(preset: Preset | str, *, datasets: Sequence[str] | None = None, fusions: Sequence[str] | None = None,
         trials: int | None = None, epochs: int | None = None, device: str = "cpu", seed: int = 0,
         ablation: bool = True) -> list[RunConfig]:
    """The runs of ``preset`` (datasets x fusions x trials, then the lambda ablation), with overrides.
    A dataset ``folder:PATH`` (a user's folder, ``docs/datasets.md``) is stored with ``PATH`` absolute.

    >>> [c.run_id for c in plan("tiny", datasets=["synthetic"], fusions=["sum"], trials=2, ablation=False)]
    ['synthetic__sum__lamdef__t0', 'synthetic__sum__lamdef__t1']
    >>> plan("tiny", datasets=["mnist"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lipbound.datasets._base.UnknownDatasetError: unknown dataset 'mnist'; known: ...
    """
    from ..datasets import UnknownDatasetError

    p = get_preset(preset) if isinstance(preset, str) else preset
    ds = tuple(folder_dataset(d) for d in datasets) if datasets else (p.datasets or generated_datasets())
    for d in ds:
        if d not in known_datasets() and not d.startswith("folder:"):
            raise UnknownDatasetError(f"unknown dataset {d!r}; known: {', '.join(known_datasets())}, or "
                                      "folder:PATH for your own data")
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


def cpu_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the platform has one, else
    ``os.cpu_count()``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """Torch threads of each of ``workers`` parallel runs: ``max(1, cores // workers)``, so that the
    pool uses every core without oversubscribing them (one in-process run: all cores).

    >>> threads_per_worker(1, 16), threads_per_worker(4, 16), threads_per_worker(3, 2)
    (16, 4, 1)
    """
    return max(1, (cpu_cores() if cores is None else int(cores)) // max(1, int(workers)))


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(max(1, int(threads)))


#: the progress queue of a pool worker (set by :func:`_init_pool_worker`)
_WORKER_QUEUE = None
#: how many runs share this machine with a pool worker's run (its memory budget is 1/share)
_WORKER_SHARE = 1


def _init_pool_worker(threads: int, queue, parent_pid: int, share: int = 1) -> None:
    """Initialiser of a process-pool worker: end with the parent (:func:`die_with_parent`), torch
    threads, the queue that carries per-epoch progress to the parent, and the number of runs that
    share the machine (for the pre-flight memory check)."""
    global _WORKER_QUEUE, _WORKER_SHARE
    die_with_parent(parent_pid)
    _init_worker(threads)
    _WORKER_QUEUE = queue
    _WORKER_SHARE = max(1, int(share))


def run_one(cfg: dict, out: str, queue=None, threads: int | None = None, share: int | None = None) -> dict:
    """Train one run (a picklable top-level function for the executors); never raises for a failed
    run: returns ``{"run_id", "status": "trained" | "skipped" | "running-elsewhere" | "diverged" |
    "error", ...}`` (``running-elsewhere``: another process holds the run's lock). A run whose
    pre-flight memory check fails (:class:`~lipbound.experiments._build.MemoryBudgetError`) raises:
    it is a setting to change, not a failed run, and it stops the sweep. ``share``: the number of
    runs sharing the machine (default: the pool's, else 1)."""
    from ._harness import TrainingDivergedError, train_run
    from ._safety import RunLockedError

    if threads is not None:
        _init_worker(threads)
    queue = queue if queue is not None else _WORKER_QUEUE
    c = RunConfig.from_dict(cfg)
    report = (lambda e, n: queue.put((c.run_id, e, n))) if queue is not None else None
    if queue is not None:
        queue.put((c.run_id, 0, c.epochs))
    try:
        r = train_run(c, Path(out) / "runs" / c.run_id, on_epoch=report,
                      share=_WORKER_SHARE if share is None else share)
    except WorkerTerminated:  # a pool worker told to stop (its parent ended or stops the pool)
        os._exit(128 + int(signal.SIGTERM))
    except (SweepInterrupted, MemoryBudgetError):
        raise
    except RunLockedError as exc:
        return {"run_id": c.run_id, "status": "running-elsewhere", "error": str(exc)}
    except TrainingDivergedError as exc:
        return {"run_id": c.run_id, "status": "diverged", "error": str(exc)}
    except Exception as exc:  # a crashing run must not take the sweep down; reported at the end
        return {"run_id": c.run_id, "status": "error", "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc()}
    return {"run_id": c.run_id, "status": "skipped" if r.skipped else "trained", "seconds": r.seconds}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _meta(out: Path, configs: list[RunConfig], preset: str, command: str, device: str, extra: dict) -> dict:
    import torch

    from .. import __version__

    return {"kind": META_KIND, "format": 1, "command": command, "preset": preset,
            "lipbound": __version__, "torch": torch.__version__, "python": platform.python_version(),
            "device": device, "created": _now(),
            "seeds": sorted({c.run_seed for c in configs}),
            "datasets": list(dict.fromkeys(c.dataset_label for c in configs)),
            "fusions": list(dict.fromkeys(c.fusion for c in configs)),
            "runs": [c.run_id for c in configs], **extra}


def read_meta(out: str | os.PathLike) -> dict | None:
    """The ``meta.json`` of results folder ``out`` (None if there is none).

    Raises:
        OutputFolderError: ``meta.json`` is unreadable or not a lipbound results folder's, or the
            folder holds top-level result files but no ``meta.json`` (files lipbound did not write).
    """
    out = Path(out)
    meta = out / "meta.json"
    if not meta.exists():
        foreign = [n for n in AGGREGATES if (out / n).exists()]
        if foreign:
            raise OutputFolderError(f"{out} holds {', '.join(foreign)} but no meta.json of lipbound: these files were "
                                    "not written by lipbound train/reproduce and are not overwritten; choose another --out")
        return None
    try:
        m = json.loads(meta.read_text())
    except (OSError, ValueError) as exc:
        raise OutputFolderError(f"{meta} cannot be read ({type(exc).__name__}: {exc}); it is not overwritten: choose "
                                "another --out (or, if lipbound wrote it, delete it)") from None
    if not isinstance(m, dict) or m.get("kind") != META_KIND:
        kind = m.get("kind") if isinstance(m, dict) else type(m).__name__
        raise OutputFolderError(f"{meta} is not the meta.json of a lipbound results folder (kind {kind!r}, expected "
                                f"{META_KIND!r}); it is not overwritten: choose another --out")
    return m


def check_sweep(out: str | os.PathLike, configs: Sequence[RunConfig]) -> dict[str, str]:
    """Check every planned run against results folder ``out`` before any work; returns the state of
    each run id (:func:`~lipbound.experiments._harness.run_state`). The ``done.json`` of every other
    run in the folder must be readable too (:func:`finalize` gathers them). Writes nothing.

    Raises:
        OutputFolderError: ``out`` cannot be a results folder (:func:`check_out_dir`, :func:`read_meta`).
        ConfigMismatchError: runs of another configuration, all listed.
        CorruptCheckpointError: an unreadable ``done.json`` or ``checkpoint.pt``.
    """
    out = check_out_dir(out)
    read_meta(out)
    states, other = {}, []
    for c in configs:
        state, detail = run_state(c, out / "runs" / c.run_id)
        states[c.run_id] = state
        if state == "other-config":
            other.append((str(Path("runs") / c.run_id), detail))
    if other:
        raise mismatch_error(out, other, hint=MISMATCH_HINT)
    planned = {c.run_id for c in configs}
    for done in sorted((out / "runs").glob("*/done.json")):  # finalize reads them all: check them now
        if done.parent.name not in planned:
            read_json_marker(done)
    return states


@contextlib.contextmanager
def _folder_lock(out: Path):
    """Hold the lock of the top-level files of ``out`` (waits for another process to release it)."""
    lock = RunLock(out, blocking=True, name=FOLDER_LOCK)
    lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _record_invocation(out: Path, configs: list[RunConfig], *, preset: str, command: str, device: str,
                       executor: str, workers: int) -> None:
    """Append this invocation to ``meta.json`` (``invocations``; the first one's ``command``,
    ``preset`` and ``created`` stay) and mark the folder ``running``."""
    from .. import __version__

    entry = {"command": command, "preset": preset, "started": _now(), "lipbound": __version__, "device": device,
             "executor": executor, "workers": workers, "runs": len(configs)}
    with _folder_lock(out), no_interrupt():
        old = read_meta(out)
        if old is None:
            meta = _meta(out, configs, preset, command, device,
                         {"status": "running", "executor": executor, "workers": workers, "invocations": [entry]})
        else:
            meta = dict(old)
            meta["invocations"] = _invocations(old) + [entry]
            meta["runs"] = list(dict.fromkeys([*old.get("runs", []), *(c.run_id for c in configs)]))
            meta["status"] = "running"
        atomic_write_json(out / "meta.json", meta)


def _invocations(meta: dict) -> list[dict]:
    """The ``invocations`` of ``meta`` (for a folder written before they were recorded: its one command)."""
    inv = meta.get("invocations")
    if isinstance(inv, list):
        return list(inv)
    return [{"command": meta.get("command", ""), "preset": meta.get("preset"), "started": meta.get("created")}]


@contextlib.contextmanager
def _stop_on_signals():
    """Inside the block SIGTERM raises :class:`SweepInterrupted` and SIGINT :class:`KeyboardInterrupt`,
    once and only after a file write in progress (a second signal gets the previous handler), so that
    the pool is stopped, locks released and no file is left half-written; main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = [signal.SIGINT, signal.SIGTERM]
    old = {s: signal.getsignal(s) for s in sigs}

    def interrupted(signum: int) -> BaseException:
        for s, h in old.items():  # a second signal gets the previous handler
            signal.signal(s, h)
        if signum == signal.SIGINT:
            return KeyboardInterrupt()  # as Ctrl-C always is (the CLI: "interrupted", status 130)
        exc = SweepInterrupted(f"interrupted by {signal.Signals(signum).name}; finished runs are kept and a "
                               "half-finished one resumes from its last epoch: rerun the same command to finish")
        exc.exit_code = 128 + signum  # the shell's convention (143 for SIGTERM), as for any other command
        return exc

    handler = signal_raiser(interrupted)
    for s in sigs:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def run_sweep(out: str | os.PathLike, configs: Sequence[RunConfig], *, preset: str = "custom",
              executor: str = "local", workers: int = 1, command: str = "", progress: bool = True,
              claims: bool = True, threads: int | None = None, stop_after: int = 0,
              evaluate_claims: Callable[[Path], list[dict]] | None = None) -> SweepSummary:
    """Run ``configs`` (skipping finished ones) and write the results directory ``out``.

    ``claims`` / ``evaluate_claims``: how ``claims.json`` is written (:func:`finalize`).
    ``stop_after``: when positive, stop (raising :class:`SweepInterrupted`, as on SIGTERM) once that
    many runs have finished in this call; the finished runs are kept and a rerun resumes.

    First, before anything is trained or written, ``out`` must be (or be creatable as) a writable
    folder and every planned run is checked (:func:`check_sweep`): a finished or half-finished run
    of another configuration is an error listing them all. Runs another process is training (their
    lock is held) are left to it and reported in ``running_elsewhere``.

    ``executor="local"`` runs them in this process (``workers=1``; torch's thread count is left as
    it is, all cores by default, unless ``threads`` is given) or on a process pool of ``workers``
    spawned processes with ``threads`` torch threads each (default :func:`threads_per_worker`:
    ``max(1, cores // workers)``), which end when this process ends; ``executor="ray"`` submits them
    as Ray tasks (``ray.init(num_cpus=workers)`` unless Ray is already initialised), with the same
    default threads. A run whose pre-flight memory check fails stops the sweep with
    :class:`~lipbound.experiments._build.MemoryBudgetError` (runs finished before are kept); each
    of ``workers`` parallel runs is checked against 1/``workers`` of the free memory. Runs whose
    loss diverges are reported in ``meta.json``
    (``failed``) and do not stop the sweep. SIGTERM (:class:`SweepInterrupted`) or SIGINT
    (:class:`KeyboardInterrupt`) stop the sweep and the pool. Finally :func:`finalize` rebuilds the top-level files from every
    finished run in ``out``.
    """
    if executor not in EXECUTORS:
        raise UnknownExecutorError(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise LipboundError(f"--workers must be at least 1, got {workers}")
    configs = list(configs)
    ids = [c.run_id for c in configs]
    if len(set(ids)) != len(ids):
        raise LipboundError("the sweep has duplicate runs")
    out = Path(out)
    states = check_sweep(out, configs)
    pool_threads = threads if threads is not None else threads_per_worker(workers)  # parallel runs share the cores
    device = configs[0].device if configs else "cpu"
    t0 = time.perf_counter()
    (out / "runs").mkdir(parents=True, exist_ok=True)
    _record_invocation(out, configs, preset=preset, command=command, device=device, executor=executor,
                       workers=workers)
    summary = SweepSummary(out)
    todo = []
    for c in configs:
        if states[c.run_id] == "finished":
            summary.skipped.append(c.run_id)
        elif states[c.run_id] == "running":
            summary.running_elsewhere.append(c.run_id)
        else:
            todo.append(c)
    with _stop_on_signals(), _Bars(progress, len(configs), len(summary.skipped)) as bars:
        def finished(res: dict) -> None:
            bars.done(res["run_id"])
            if res["status"] in ("diverged", "error"):
                summary.failed[res["run_id"]] = res["error"]
            elif res["status"] == "skipped":
                summary.skipped.append(res["run_id"])
            elif res["status"] == "running-elsewhere":
                summary.running_elsewhere.append(res["run_id"])
            else:
                summary.trained.append(res["run_id"])
            if stop_after and len(summary.trained) + len(summary.failed) >= stop_after:
                raise SweepInterrupted(f"stopped after {stop_after} run(s) (stop_after); rerun to finish")

        def wrap_up(**more) -> None:
            summary.seconds = time.perf_counter() - t0
            finalize(out, configs, preset=preset, command=command, device=device, claims=claims,
                     evaluate_claims=evaluate_claims,
                     extra={"executor": executor, "workers": workers, "failed": summary.failed,
                            "running_elsewhere": summary.running_elsewhere,
                            "seconds_this_invocation": summary.seconds, "trained_this_invocation": len(summary.trained),
                            "skipped_this_invocation": len(summary.skipped), **more})

        try:
            if executor == "ray":
                _ray_map(todo, out, workers, pool_threads, finished, bars)
            elif workers == 1 or len(todo) <= 1:
                import torch

                old = torch.get_num_threads()
                if threads is not None:
                    torch.set_num_threads(threads)
                try:
                    for c in todo:
                        bars.start(c.run_id, c.epochs)
                        finished(run_one(c.to_dict(), str(out), queue=bars.inline_queue(), share=1))
                finally:
                    torch.set_num_threads(old)
            else:
                _pool_map(todo, out, workers, pool_threads, finished, bars)
        except MemoryBudgetError as exc:  # a setting to change: the folder's files describe what finished
            wrap_up(stopped=str(exc))
            raise
        wrap_up()
    return summary


def _pool_map(todo, out, workers, threads, finished, bars) -> None:
    import multiprocessing as mp
    import queue as queue_mod
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_pool_worker,
                               initargs=(threads, q, os.getpid(), min(workers, len(todo))))
    try:
        pending = {pool.submit(run_one, c.to_dict(), str(out)) for c in todo}
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
        _terminate_pool(pool)
        raise
    else:
        pool.shutdown(wait=True)
    finally:
        q.close()


def _terminate_pool(pool) -> None:
    """Stop a process pool now: SIGTERM to every worker (each removes its half-written files and
    releases its run lock), SIGKILL to one still alive after 10 s, pending tasks cancelled."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=10)
        if p.is_alive():
            p.kill()
            p.join(timeout=10)
    pool.shutdown(wait=False, cancel_futures=True)


def _ray_map(todo, out, workers, threads, finished, bars) -> None:
    ray = require("ray", "ray")
    if not ray.is_initialized():
        ray.init(num_cpus=workers, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    task = ray.remote(num_cpus=1)(run_one)
    pending = [task.remote(c.to_dict(), str(out), None, threads, min(workers, len(todo))) for c in todo]
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


def _finished_runs(out: Path, order: Sequence[str]) -> list[tuple[str, dict]]:
    """``(run_id, config)`` of every finished run in ``out/runs`` (``done.json``), the ids of ``order``
    first, then the others sorted."""
    found = {}
    for d in sorted((out / "runs").glob("*/done.json")):
        found[d.parent.name] = read_json_marker(d).get("config") or {}
    first = [r for r in dict.fromkeys(order) if r in found]
    return [(r, found[r]) for r in first + sorted(set(found) - set(first))]


def finalize(out: str | os.PathLike, configs: Sequence[RunConfig], *, preset: str, command: str, device: str,
             claims: bool = True, extra: dict | None = None,
             evaluate_claims: Callable[[Path], list[dict]] | None = None) -> None:
    """Rebuild the top-level result files of ``out`` from every finished run in ``out/runs`` (those of
    ``configs`` and any other, e.g. of an earlier ``train`` or sweep into the same folder).

    ``records.jsonl``, ``detection.jsonl`` and ``reconstructions.npz`` (the first default-lambda
    trial of each dataset x fusion) gather the runs; ``claims.json`` (the rows ``evaluate_claims(out)``
    returns: the caller passes the empirical claims' evaluation, ``lipbound reproduce`` and ``lipbound
    train`` do, since this package does not import the claims) is rewritten when ``claims`` is true or
    it exists already, so it never describes other records than ``records.jsonl``: an existing one
    that cannot be rewritten (no ``evaluate_claims``) is removed, and ``meta.json`` says so;
    ``meta.json`` keeps the first invocation's ``command``, ``preset`` and ``created``, lists every
    invocation (``invocations``), all runs planned so far (``runs``) and those not finished yet
    (``missing_runs``; ``status`` is ``complete`` when there are none).
    """
    out = Path(out)
    with _folder_lock(out), no_interrupt():
        old = read_meta(out) or {}
        planned = list(dict.fromkeys([*old.get("runs", []), *(c.run_id for c in configs)]))
        runs = _finished_runs(out, planned)
        records, detection, arrays = [], [], {}
        for rid, cfg in runs:
            d = out / "runs" / rid
            records += read_jsonl(d / "records.jsonl")
            if (d / "detection.jsonl").exists():
                detection += read_jsonl(d / "detection.jsonl")
            rec = d / "reconstructions.npz"
            if rec.exists() and cfg.get("lam") is None:
                with np.load(rec) as z:
                    for k in z.files:
                        arrays.setdefault(k, z[k])  # the first trial of each dataset x fusion
        write_jsonl(out / "records.jsonl", records)
        write_jsonl(out / "detection.jsonl", detection)
        if arrays or (out / "reconstructions.npz").exists():
            buf = io.BytesIO()
            np.savez_compressed(buf, **arrays)
            atomic_write_bytes(out / "reconstructions.npz", buf.getvalue())
        done_ids = [r for r, _ in runs]
        all_runs = list(dict.fromkeys([*planned, *done_ids]))
        missing = [r for r in all_runs if r not in set(done_ids)]
        failed = {}
        for r in missing:
            f = out / "runs" / r / "failed.json"
            if f.exists():
                try:
                    failed[r] = json.loads(f.read_text()).get("hint", "diverged (see failed.json)")
                except (OSError, ValueError):
                    failed[r] = f"diverged ({f} unreadable)"
        extra = dict(extra or {})
        failed.update(extra.pop("failed", {}) or {})
        meta = _meta(out, list(configs), preset, command, device,
                     {"status": "complete" if not missing else "incomplete", "finished_runs": len(done_ids),
                      "missing_runs": missing, "failed": failed, **extra})
        stored = [c for _, c in runs if c]
        meta["seeds"] = sorted({*old.get("seeds", []), *meta["seeds"],
                                *(int(c.get("seed", 0)) + int(c.get("trial", 0)) for c in stored)})
        meta["datasets"] = list(dict.fromkeys([*old.get("datasets", []), *(dataset_label(str(c.get("dataset")))
                                                                          for c in stored), *meta["datasets"]]))
        meta["fusions"] = list(dict.fromkeys([*old.get("fusions", []), *(c.get("fusion") for c in stored),
                                             *meta["fusions"]]))
        meta["runs"] = all_runs
        meta["invocations"] = _invocations(old) if old else [
            {"command": command, "preset": preset, "started": meta["created"], "device": device}]
        for key in ("command", "preset", "created"):
            if key in old:
                meta[key] = old[key]
        stale = out / "claims.json"
        if records and (claims or stale.exists()):
            if evaluate_claims is not None:
                atomic_write_json(stale, evaluate_claims(out))
            elif stale.exists():  # lipbound wrote it, for other records; rerun `lipbound reproduce` to rewrite it
                stale.unlink()
                meta["claims"] = ("claims.json removed: it described earlier records and no claim evaluation was passed "
                                  "to this finalize; `lipbound reproduce` (same command) rewrites it")
        atomic_write_json(out / "meta.json", meta)
