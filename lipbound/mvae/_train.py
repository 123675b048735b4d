r"""Training runs of the multimodal VAE, one per (schedule, seed), trained together as a vectorised
ensemble (:class:`~lipbound.mvae.EnsembleVAE`), with checkpoint and resume.

Layout of a results directory ``OUT`` (written by ``lipbound mvae train``, read by
``lipbound mvae measures`` and by the ledger's ``mvae-*`` claims):

```text
OUT/runs/<schedule>__seed<k>/checkpoint.pt   model, optimizer, RNG states (tensors); spec, epoch and
                                             history (JSON); loads with torch.load(weights_only=True)
OUT/runs/<schedule>__seed<k>/model.pt        final state dict (float32)
OUT/runs/<schedule>__seed<k>/done.json       spec, per-epoch history (loss, nll, kl, beta, wall and CPU
                                             seconds), measures, diagnostics, brackets
OUT/runs/<schedule>__seed<k>/lock            held while a process trains the run
```

Every file is written atomically; a run whose ``done.json`` exists and matches the spec is not
retrained; an interrupted run resumes from its last checkpoint (every ``checkpoint_every`` epochs).
A finished run or a checkpoint of another spec (other epochs or config, or written by another
lipbound version or run format), an unreadable ``done.json`` or checkpoint, and a run another
process is training are errors, checked for every run before any training (:func:`check_runs`):
nothing is silently retrained, restarted or replaced.
Training is deterministic on the CPU for a given spec: ``torch.manual_seed(seed)`` initialises the
weights, a separate generator seeded with ``seed`` shuffles the minibatches and draws the latent noise.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._io import atomic_write_bytes, atomic_write_json
from .._version import __version__
from ..errors import LipboundError
from ..experiments._safety import (
    RunLock,
    check_out_dir,
    config_diff,
    corrupt_error,
    is_locked,
    load_checkpoint,
    mismatch_error,
    no_interrupt,
    read_json_marker,
    save_checkpoint,
)
from ._data import ICubData, load_icub
from ._measures import diagnostics, measure_means, per_sample_measures
from ._ensemble import EnsembleVAE
from ._model import MultimodalVAE, VAEConfig, single_thread
from ._schedules import SCHEDULES, beta, check_schedule, fall_epochs

#: bump when training or the file layout changes: runs of an older format are then refused (a
#: :class:`~lipbound.experiments.ConfigMismatchError` saying so), never silently reused or replaced
FORMAT = 2


@dataclass(frozen=True)
class RunSpec:
    """One training run: schedule, seed, epochs, the dynamic schedules' fall length and the model/optimiser
    config. ``fall`` defaults to :func:`~lipbound.mvae.fall_epochs` of ``epochs`` (the original's
    proportion, 1000 of 80,000)."""

    schedule: str
    seed: int
    epochs: int
    config: VAEConfig = field(default_factory=VAEConfig)
    fall: int | None = None

    def __post_init__(self) -> None:
        check_schedule(self.schedule)
        if self.epochs < 1:
            raise LipboundError(f"epochs must be at least 1, got {self.epochs}")
        if self.seed < 0:
            raise LipboundError(f"seeds must be non-negative, got {self.seed}")
        if self.fall is None:
            object.__setattr__(self, "fall", fall_epochs(self.epochs))
        elif self.fall < 1:
            raise LipboundError(f"the schedule's fall must last at least one epoch, got {self.fall}")

    @property
    def run_id(self) -> str:
        return f"{self.schedule}__seed{self.seed}"

    def as_dict(self) -> dict[str, Any]:
        return {"schedule": self.schedule, "seed": self.seed, "epochs": self.epochs, "fall": self.fall,
                "config": self.config.as_dict(), "format": FORMAT, "lipbound": __version__}


#: the stated convergence criterion (:func:`convergence`): tolerances and the evaluation period
CONVERGENCE_TOL = {"test_mse_rel": 0.05, "loss_rel": 0.02}
#: every EVAL_EVERY epochs (and at the end) each run's test MSE and active units are recorded
EVAL_EVERY = 10


def _window_means(values: np.ndarray, w: int) -> tuple[float, float]:
    return float(values[-2 * w:-w].mean()), float(values[-w:].mean())


def convergence(history: Sequence[dict[str, float]], evals: Sequence[dict[str, float]], fall: int) -> dict[str, Any]:
    r"""Whether a run has converged, by the stated criterion (:data:`CONVERGENCE_TOL`).

    With :math:`W` the last tenth of the epochs (at least 5 epochs and 3 evaluations):

    * **criterion** (what the findings compare has settled): the mean test MSE (full input) over the
      evaluations of the last :math:`W` epochs differs from that of the :math:`W` epochs before by at
      most 5% of it, and the number of active latent units is the same at the last three evaluations;
    * reported beside it, not part of the verdict: the training loss's change over the last window as a
      fraction of its fall since the schedule's weight was fixed (epoch :math:`T`); the Gaussian NLL
      keeps falling while the output variances shrink towards their floor, long after the means settle.

    Runs shorter than :math:`T + 2W` epochs, or with fewer than six evaluations, are ``"too short"``.
    """
    n = len(history)
    w = max(5, n // 10)
    tol = CONVERGENCE_TOL
    out: dict[str, Any] = {
        "criterion": f"test MSE (full input) mean over the last {w} epochs' evaluations within {tol['test_mse_rel']:.0%} "
                     f"of the {w} epochs before, and the same number of active latent units at the last 3 evaluations",
        "window_epochs": w}
    ev = [e for e in evals if e["epoch"] > n - 2 * w]
    last = [e for e in ev if e["epoch"] > n - w]
    prev = [e for e in ev if e["epoch"] <= n - w]
    if n < fall + 2 * w or len(evals) < 6 or not last or not prev:
        return {**out, "converged": None, "status": "too short"}
    m_prev, m_last = float(np.mean([e["mse"] for e in prev])), float(np.mean([e["mse"] for e in last]))
    rel = abs(m_last - m_prev) / m_prev
    units = [int(e["active_units"]) for e in evals[-3:]]
    ok = bool(rel <= tol["test_mse_rel"] and len(set(units)) == 1)
    losses = np.array([h["loss"] for h in history], dtype=float)
    l_prev, l_last = _window_means(losses, w)
    fall_since = float(losses[fall:fall + w].mean() - l_last)
    return {**out, "converged": ok, "status": "converged" if ok else "still changing",
            "test_mse_rel_change": rel, "active_units_last3": units,
            "loss_window_change": l_prev - l_last, "loss_fall_since_fixed": fall_since,
            "loss_settled": bool(fall_since > 0 and abs(l_prev - l_last) <= tol["loss_rel"] * fall_since)}


def _save_torch(path: Path, obj: Any) -> None:
    buf = io.BytesIO()
    torch.save(obj, buf)
    with no_interrupt():
        atomic_write_bytes(path, buf.getvalue())


def stability(model: MultimodalVAE, test: np.ndarray, *, seed: int = 0, lipsdp: bool = False,
              n_inputs: int = 64) -> list[dict[str, Any]]:
    """Lipschitz brackets (:func:`lipbound.bounds.bracket`) of the encoder :math:`x \\mapsto \\mu_z(x)`
    and the decoder :math:`z \\mapsto \\mu(z)`, Euclidean norms, as bracket rows with a ``submodule`` key.

    Methods: ``spectral-product`` (certified upper), ``power-iteration`` (lower, at ``n_inputs`` test
    inputs or their latent means), ``paper-estimator`` (heuristic); ``lipsdp-neuron`` (certified upper)
    too when ``lipsdp`` is True (slower).
    """
    from ..bounds import bracket

    rows: list[dict[str, Any]] = []
    idx = np.random.default_rng(seed).choice(len(test), size=min(n_inputs, len(test)), replace=False)
    x = torch.as_tensor(test[idx], dtype=torch.float64)
    enc, dec = model.encoder_mean_network(), model.decoder_mean_network()
    with torch.no_grad():
        z = enc(x)
    methods = ["spectral-product", *(["lipsdp-neuron"] if lipsdp else []), "power-iteration", "paper-estimator"]
    for sub, net, inp in (("encoder", enc, x), ("decoder", dec, z)):
        br = bracket(net, inputs=inp, methods=methods, seed=seed)
        for r in br.as_rows():
            rows.append({"submodule": sub, **r})
    return rows


def _hint(out: str | Path) -> str:
    return (f"Use another --out, rerun with the settings stored there, or delete those run folders "
            f"({Path(out) / 'runs'}/<run_id>/) to train them again (lipbound mvae measures --out {out} still "
            "reads the finished ones).")


def _state(spec: RunSpec, out: str | Path) -> tuple[str, str]:
    """``(state, detail)`` of ``spec`` under ``out``: ``finished``, ``partial``, ``running`` (another
    process holds the run's lock), ``new``, or ``other-spec`` (detail: which and the differences).

    Raises:
        CorruptCheckpointError: an unreadable ``done.json`` or ``checkpoint.pt``, or a finished run
            without its ``model.pt``.
    """
    run_dir = Path(out) / "runs" / spec.run_id
    want = spec.as_dict()
    done_path = run_dir / "done.json"
    if done_path.exists():
        prev = read_json_marker(done_path).get("spec")
        if prev != want:
            return "other-spec", f"finished; {config_diff(prev, want)}"
        if not (run_dir / "model.pt").is_file():
            raise corrupt_error(done_path, "the run is marked finished but its model.pt is missing; delete the run "
                                f"folder {run_dir} to retrain it")
        return "finished", ""
    if is_locked(run_dir):
        return "running", ""
    ckpt_path = run_dir / "checkpoint.pt"
    if ckpt_path.exists():
        prev = load_checkpoint(ckpt_path, mmap=True).get("spec")
        if prev != want:
            return "other-spec", f"half-finished; {config_diff(prev, want)}"
        return "partial", ""
    return "new", ""


def check_runs(specs: Sequence[RunSpec], out: str | Path) -> dict[str, str]:
    """Check every run of ``specs`` under ``out`` before any training; returns each run id's state
    (``finished``, ``partial``, ``new``). Writes nothing.

    Raises:
        OutputFolderError: ``out`` is a file or not writable.
        ConfigMismatchError: finished or half-finished runs of another spec (all listed, with the
            differences; another lipbound version or run format is named as such).
        RunLockedError: another process is training one of the runs.
        CorruptCheckpointError: an unreadable ``done.json`` or checkpoint (named, with the fix).
    """
    from ..experiments._safety import RunLockedError

    out = check_out_dir(out)
    states, other, busy = {}, [], []
    for spec in specs:
        state, detail = _state(spec, out)
        states[spec.run_id] = state
        if state == "other-spec":
            other.append((str(Path("runs") / spec.run_id), detail))
        elif state == "running":
            busy.append(spec.run_id)
    if other:
        raise mismatch_error(out, other, hint=_hint(out))
    if busy:
        raise RunLockedError(f"{out}: run(s) {', '.join(busy)} are being trained by another process (their lock is "
                             "held); wait for it to finish, or stop it, then rerun")
    return states


def train_run(spec: RunSpec, out: str | Path, data: ICubData | None = None, *,
              checkpoint_every: int = 25, lipsdp: bool = False, brackets: bool = True,
              on_epoch: Callable[[int, dict[str, float]], None] | None = None) -> dict[str, Any]:
    """Train (or resume, or reuse) the run ``spec`` under ``out``; returns its ``done.json`` content.
    The same as :func:`train_group` with one run.

    Raises:
        ConfigMismatchError: a finished run or a checkpoint of another spec (see :func:`check_runs`).
        CorruptCheckpointError: an unreadable ``done.json`` or checkpoint.
        RunLockedError: another process is training the run.
    """
    cb = None if on_epoch is None else (lambda sp, e, r: on_epoch(e, r))
    return train_group([spec], out, data, checkpoint_every=checkpoint_every, lipsdp=lipsdp, brackets=brackets,
                       on_epoch=cb)[0]


def train_group(specs: Sequence[RunSpec], out: str | Path, data: ICubData | None = None, *,
                checkpoint_every: int = 25, lipsdp: bool = False, brackets: bool = True,
                on_epoch: Callable[[RunSpec, int, dict[str, float]], None] | None = None,
                device: str | torch.device = "cpu") -> list[dict[str, Any]]:
    """Train (or resume, or reuse) the runs ``specs`` (one architecture and optimiser config, one epoch
    count) under ``out`` as **one vectorised ensemble** (:class:`~lipbound.mvae.EnsembleVAE`); returns
    their ``done.json`` contents in order. Every run is checked first (:func:`check_runs`); finished
    runs are reused; the others are locked, resumed from their checkpoints (runs checkpointed at
    different epochs are trained as separate ensembles) and trained together. Each run keeps its own
    files (checkpoint every ``checkpoint_every`` epochs, ``model.pt``, ``done.json``), so a run trained
    in an ensemble is indistinguishable from one trained alone. ``device`` runs the ensemble there
    (the random draws stay on the CPU generators, so a run's minibatches and noise do not depend on it).
    """
    from contextlib import ExitStack

    if any(sp.config != specs[0].config or sp.epochs != specs[0].epochs for sp in specs):
        raise LipboundError("an ensemble's runs must share the model config and the number of epochs")
    if len({sp.run_id for sp in specs}) != len(specs):
        raise LipboundError("an ensemble's runs must be distinct (schedule, seed) pairs")
    out = Path(out)
    states = check_runs(specs, out)
    todo = [sp for sp in specs if states[sp.run_id] != "finished"]
    if todo:
        data = data or load_icub()
        with ExitStack() as stack:
            for sp in todo:
                stack.enter_context(RunLock(out / "runs" / sp.run_id))
            # another process may have finished some meanwhile (check_runs ran before the locks)
            for sp in list(todo):
                done_path = out / "runs" / sp.run_id / "done.json"
                if done_path.exists():
                    prev = read_json_marker(done_path).get("spec")
                    if prev != sp.as_dict():
                        raise mismatch_error(out, [(str(Path("runs") / sp.run_id), f"finished; {config_diff(prev, sp.as_dict())}")],
                                             hint=_hint(out))
                    todo.remove(sp)
            resumed = {sp.run_id: _load_member(sp, out) for sp in todo}
            for start in sorted({r[2] for r in resumed.values()}):
                group = [sp for sp in todo if resumed[sp.run_id][2] == start]
                _train_ensemble(group, [resumed[sp.run_id] for sp in group], out, data,
                                checkpoint_every=checkpoint_every, lipsdp=lipsdp, brackets=brackets, on_epoch=on_epoch,
                                device=torch.device(device))
    return [read_json_marker(out / "runs" / sp.run_id / "done.json") for sp in specs]


def _load_member(spec: RunSpec, out: Path) -> tuple[dict | None, list, int]:
    """``(checkpoint tensors or None, history, start epoch)`` of a run (a fresh run: None, [], 0)."""
    ckpt_path = out / "runs" / spec.run_id / "checkpoint.pt"
    if not ckpt_path.is_file():
        return None, [], 0
    ck = load_checkpoint(ckpt_path)
    if ck.get("spec") != spec.as_dict():  # checked before; the file changed since
        raise mismatch_error(out, [(str(Path("runs") / spec.run_id),
                                    f"half-finished; {config_diff(ck.get('spec'), spec.as_dict())}")], hint=_hint(out))
    try:
        return ck, list(ck["history"]), int(ck["epoch"])
    except (KeyError, TypeError, ValueError) as exc:
        raise corrupt_error(ckpt_path, exc) from None


def _member_init(spec: RunSpec) -> MultimodalVAE:
    torch.manual_seed(spec.seed)
    return MultimodalVAE(spec.config)


def _train_ensemble(specs: list[RunSpec], resumed: list[tuple], out: Path, data: ICubData, *, checkpoint_every: int,
                    lipsdp: bool, brackets: bool, on_epoch, device: torch.device) -> None:
    cfg, epochs = specs[0].config, specs[0].epochs
    members = [_member_init(sp) for sp in specs]
    gens = [torch.Generator().manual_seed(sp.seed) for sp in specs]
    histories = [r[1] for r in resumed]
    evals = [list((r[0] or {}).get("evals", [])) for r in resumed]
    start = resumed[0][2]
    ens = EnsembleVAE.from_members(members).to(device)
    opt = torch.optim.Adam(ens.parameters(), lr=cfg.lr)
    if start > 0:
        _restore(ens, opt, gens, [r[0] for r in resumed], specs, out)
    x_all = torch.as_tensor(data.train_input, dtype=torch.float32, device=device)
    y_all = torch.as_tensor(data.train_target, dtype=torch.float32, device=device)
    test = torch.as_tensor(data.test, dtype=torch.float32, device=device)
    n, bs = len(x_all), cfg.batch_size
    n_batches = n // bs if cfg.drop_last and n >= bs else -(-n // bs)
    rows = min(n, n_batches * bs)  # rows seen per epoch (the original drops the last incomplete batch)
    with single_thread():
        for epoch in range(start, epochs):
            t0, c0 = time.perf_counter(), time.process_time()
            betas = torch.tensor([beta(sp.schedule, epoch, sp.fall) for sp in specs], device=device)
            perms = [torch.randperm(n, generator=g) for g in gens]
            tot = torch.zeros(3, len(specs), dtype=torch.float64, device=device)
            for j in range(n_batches):
                idx = torch.stack([p[j * bs:(j + 1) * bs] for p in perms]).to(device)
                eps = torch.stack([torch.randn((idx.shape[1], cfg.latent), generator=g) for g in gens]).to(device)
                loss, nll, kl = ens.losses(x_all[idx], y_all[idx], eps, betas)
                opt.zero_grad()
                loss.sum().backward()
                opt.step()
                tot += torch.stack([loss, nll, kl]).detach().double() * (idx.shape[1] / rows)
            if not torch.isfinite(tot).all():
                bad = [sp.run_id for k, sp in enumerate(specs) if not torch.isfinite(tot[:, k]).all()]
                raise LipboundError(f"run(s) {', '.join(bad)}: non-finite loss at epoch {epoch}; lower the learning rate")
            secs, cpu = (time.perf_counter() - t0) / len(specs), (time.process_time() - c0) / len(specs)
            for k, sp in enumerate(specs):
                rec = {"epoch": epoch, "beta": float(betas[k]), "loss": float(tot[0, k]), "nll": float(tot[1, k]),
                       "kl": float(tot[2, k]), "seconds": secs, "cpu_seconds": cpu}
                histories[k].append(rec)
                if on_epoch is not None:
                    on_epoch(sp, epoch, rec)
            if (epoch + 1) % EVAL_EVERY == 0 or epoch + 1 == epochs:
                for k, rec in enumerate(_evaluate(ens, test)):
                    evals[k].append({"epoch": epoch + 1, **rec})
            if (epoch + 1) % checkpoint_every == 0 and epoch + 1 < epochs:
                _checkpoint(ens, opt, gens, histories, evals, specs, out, epoch + 1)
        for k, sp in enumerate(specs):
            _finish(sp, ens.member(k).cpu(), histories[k], evals[k], out, data, lipsdp=lipsdp, brackets=brackets)


@torch.no_grad()
def _evaluate(ens: EnsembleVAE, test: torch.Tensor) -> list[dict[str, float]]:
    """Each member's test MSE (full input, decoded at the latent mean; overall and per modality) and
    active latent units (Var_x mu_z(x)_j > ACTIVE_THRESHOLD): monitoring only, nothing is tuned on it."""
    from ._data import MODALITIES
    from ._measures import ACTIVE_THRESHOLD

    x = test.expand(ens.size, *test.shape)
    zm, _ = ens.encode(x)
    mean, _ = ens.decode(zm)
    err = (mean - x) ** 2
    out = []
    for k in range(ens.size):
        rec = {"mse": float(err[k].mean())}
        rec.update({f"mse:{m}": float(err[k][:, s].mean()) for m, s in MODALITIES.items()})
        rec["active_units"] = int((zm[k].var(dim=0) > ACTIVE_THRESHOLD).sum())
        out.append(rec)
    return out


def _adam_state(opt: torch.optim.Optimizer, p: torch.Tensor) -> dict:
    return opt.state.get(p, {})


def _checkpoint(ens: EnsembleVAE, opt, gens, histories, evals, specs, out: Path, epoch: int) -> None:
    """One checkpoint per run: its slice of every stacked parameter and of Adam's moments."""
    named = dict(ens.named_parameters())
    for k, sp in enumerate(specs):
        tensors: dict[str, Any] = {"gen": gens[k].get_state()}
        for name, p in named.items():
            st = _adam_state(opt, p)
            tensors[f"param:{name}"] = p.detach()[k].cpu().clone()
            if st:
                tensors[f"exp_avg:{name}"] = st["exp_avg"][k].cpu().clone()
                tensors[f"exp_avg_sq:{name}"] = st["exp_avg_sq"][k].cpu().clone()
                tensors[f"step:{name}"] = torch.as_tensor(st["step"]).cpu().clone()
        save_checkpoint(out / "runs" / sp.run_id / "checkpoint.pt", tensors,
                        {"spec": sp.as_dict(), "history": histories[k], "evals": evals[k], "epoch": epoch})


def _restore(ens: EnsembleVAE, opt, gens, cks: list[dict], specs, out: Path) -> None:
    named = dict(ens.named_parameters())
    try:
        with torch.no_grad():
            for name, p in named.items():
                p.copy_(torch.stack([ck[f"param:{name}"] for ck in cks]))
                if f"exp_avg:{name}" in cks[0]:
                    opt.state[p] = {"step": cks[0][f"step:{name}"].clone(),
                                    "exp_avg": torch.stack([ck[f"exp_avg:{name}"] for ck in cks]).to(p.device),
                                    "exp_avg_sq": torch.stack([ck[f"exp_avg_sq:{name}"] for ck in cks]).to(p.device)}
        for g, ck in zip(gens, cks):
            g.set_state(ck["gen"])
    except (KeyError, RuntimeError, TypeError, ValueError) as exc:
        raise corrupt_error(out / "runs" / specs[0].run_id / "checkpoint.pt", exc) from None


def _finish(spec: RunSpec, model: MultimodalVAE, history: list, evals: list, out: Path, data: ICubData, *, lipsdp: bool,
            brackets: bool) -> None:
    run_dir = out / "runs" / spec.run_id
    _save_torch(run_dir / "model.pt", model.state_dict())
    per = per_sample_measures(model, data.test)
    done = {
        "spec": spec.as_dict(),
        "run_id": spec.run_id,
        "history": history,
        "train_seconds": sum(h["seconds"] for h in history),
        "evals": evals,
        "convergence": convergence(history, evals, spec.fall),
        "measures": measure_means(per),
        "diagnostics": diagnostics(model, data.test),
        "lipschitz": stability(model, data.test, seed=spec.seed, lipsdp=lipsdp) if brackets else [],
    }
    with no_interrupt():
        atomic_write_json(run_dir / "done.json", done)
        ckpt = run_dir / "checkpoint.pt"
        if ckpt.exists():
            ckpt.unlink()


def _spec_from_dict(d: dict[str, Any]) -> RunSpec:
    return RunSpec(d["schedule"], int(d["seed"]), int(d["epochs"]), VAEConfig.from_dict(d["config"]), int(d["fall"]))


def _train_part(spec_dicts: list[dict], out: str, data_folder: str | None, lipsdp: bool, brackets: bool,
                device: str) -> list[str]:  # runs in a worker process
    from ._data import load_icub

    specs = [_spec_from_dict(d) for d in spec_dicts]
    train_group(specs, out, load_icub(data_folder), lipsdp=lipsdp, brackets=brackets, device=device)
    return [sp.run_id for sp in specs]


def train_parallel(specs: Sequence[RunSpec], out: str | Path, *, workers: int, data_folder: str | None = None,
                   lipsdp: bool = False, brackets: bool = True, device: str = "cpu",
                   on_done: Callable[[list[str]], None] | None = None) -> list[dict[str, Any]]:
    """:func:`train_group` split over ``workers`` processes (one ensemble each, one torch thread each:
    on a CPU, one per core is fastest). Runs are dealt round-robin, so each process gets every schedule.
    Every run is checked first (:func:`check_runs`); a worker's error stops the others (their runs keep
    their last checkpoints) and is raised here. Returns the ``done.json`` contents in the order of ``specs``."""
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from ..experiments._sweep import _terminate_pool

    states = check_runs(specs, out)
    todo = [sp for sp in specs if states[sp.run_id] != "finished"]
    parts = [p for p in ([sp.as_dict() for sp in todo[k::workers]] for k in range(max(1, workers))) if p]
    if len(parts) <= 1:
        train_group(specs, out, load_icub(data_folder), lipsdp=lipsdp, brackets=brackets, device=device)
    else:
        pool = ProcessPoolExecutor(max_workers=len(parts), mp_context=mp.get_context("spawn"))
        try:
            pending = {pool.submit(_train_part, part, str(out), data_folder, lipsdp, brackets, str(device)) for part in parts}
            while pending:
                done, pending = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
                for f in done:
                    ids = f.result()
                    if on_done is not None:
                        on_done(ids)
        except BaseException:
            _terminate_pool(pool)
            raise
        else:
            pool.shutdown(wait=True)
    return [read_json_marker(Path(out) / "runs" / sp.run_id / "done.json") for sp in specs]


def load_model(out: str | Path, run_id: str) -> MultimodalVAE:
    """The trained model of run ``run_id`` under ``out`` (float64, eval mode)."""
    run_dir = Path(out) / "runs" / run_id
    try:
        done = json.loads((run_dir / "done.json").read_text())
        state = torch.load(run_dir / "model.pt", weights_only=True)
    except (OSError, json.JSONDecodeError) as exc:
        raise LipboundError(f"run {run_id!r} in {out} is missing or incomplete ({exc}); train it with "
                            "`lipbound mvae train`") from exc
    model = MultimodalVAE(VAEConfig.from_dict(done["spec"]["config"]))
    model.load_state_dict(state)
    return model.double().eval()


def completed_runs(out: str | Path) -> list[dict[str, Any]]:
    """The ``done.json`` contents of every finished run under ``out``, sorted by schedule then seed."""
    runs = []
    for p in sorted((Path(out) / "runs").glob("*/done.json")):
        try:
            runs.append(json.loads(p.read_text()))
        except (OSError, json.JSONDecodeError):
            continue
    order = {s: k for k, s in enumerate(SCHEDULES)}
    return sorted(runs, key=lambda d: (order.get(d["spec"]["schedule"], 99), d["spec"]["seed"]))


def train_all(schedules: Sequence[str], seeds: Sequence[int], epochs: int, out: str | Path, *,
              config: VAEConfig | None = None, data: ICubData | None = None, lipsdp: bool = False,
              brackets: bool = True, fall: int | None = None, checkpoint_every: int = 25,
              on_epoch: Callable[[RunSpec, int, dict[str, float]], None] | None = None) -> list[dict[str, Any]]:
    """Every (schedule, seed) run trained as one vectorised ensemble (:func:`train_group`); returns the
    ``done.json`` contents in that order. Every run is checked (:func:`check_runs`) before any training."""
    config = config or VAEConfig()
    specs = [RunSpec(s, int(k), epochs, config, fall) for s in schedules for k in seeds]
    return train_group(specs, out, data, lipsdp=lipsdp, brackets=brackets, checkpoint_every=checkpoint_every,
                       on_epoch=on_epoch)
