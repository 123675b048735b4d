r"""Training runs of the multimodal VAE, one per (schedule, seed), with checkpoint and resume.

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
from ._model import MultimodalVAE, VAEConfig, single_thread, vae_loss
from ._schedules import SCHEDULES, beta, check_schedule

#: bump when training or the file layout changes: runs of an older format are then refused (a
#: :class:`~lipbound.experiments.ConfigMismatchError` saying so), never silently reused or replaced
FORMAT = 1


@dataclass(frozen=True)
class RunSpec:
    """One training run: schedule, seed, epochs and model/optimiser config."""

    schedule: str
    seed: int
    epochs: int
    config: VAEConfig = field(default_factory=VAEConfig)

    def __post_init__(self) -> None:
        check_schedule(self.schedule)
        if self.epochs < 1:
            raise LipboundError(f"epochs must be at least 1, got {self.epochs}")
        if self.seed < 0:
            raise LipboundError(f"seeds must be non-negative, got {self.seed}")

    @property
    def run_id(self) -> str:
        return f"{self.schedule}__seed{self.seed}"

    def as_dict(self) -> dict[str, Any]:
        return {"schedule": self.schedule, "seed": self.seed, "epochs": self.epochs,
                "config": self.config.as_dict(), "format": FORMAT, "lipbound": __version__}


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

    ``brackets=False`` skips the Lipschitz brackets (:func:`stability`) of the finished model. The
    run folder is locked while this process trains it.

    Raises:
        ConfigMismatchError: a finished run or a checkpoint of another spec (see :func:`check_runs`).
        CorruptCheckpointError: an unreadable ``done.json`` or checkpoint.
        RunLockedError: another process is training the run.
    """
    run_dir = Path(out) / "runs" / spec.run_id
    done_path = run_dir / "done.json"
    state = check_runs([spec], out)[spec.run_id]
    if state == "finished":
        return read_json_marker(done_path)
    with RunLock(run_dir):
        if done_path.exists():  # another process finished it meanwhile
            state, detail = _state(spec, out)
            if state == "other-spec":
                raise mismatch_error(Path(out), [(str(Path("runs") / spec.run_id), detail)], hint=_hint(out))
            return read_json_marker(done_path)
        return _train_locked(spec, run_dir, data, checkpoint_every=checkpoint_every, lipsdp=lipsdp,
                             brackets=brackets, on_epoch=on_epoch)


def _train_locked(spec: RunSpec, run_dir: Path, data: ICubData | None, *, checkpoint_every: int, lipsdp: bool,
                  brackets: bool, on_epoch) -> dict[str, Any]:
    done_path = run_dir / "done.json"
    data = data or load_icub()
    x_all = torch.as_tensor(data.train_input, dtype=torch.float32)
    y_all = torch.as_tensor(data.train_target, dtype=torch.float32)
    torch.manual_seed(spec.seed)
    model = MultimodalVAE(spec.config)
    opt = torch.optim.Adam(model.parameters(), lr=spec.config.lr)
    gen = torch.Generator().manual_seed(spec.seed)
    history: list[dict[str, float]] = []
    start = 0
    ckpt_path = run_dir / "checkpoint.pt"
    if ckpt_path.is_file():
        ck = load_checkpoint(ckpt_path)
        if ck.get("spec") != spec.as_dict():  # checked before; the file changed since
            raise mismatch_error(run_dir, [(str(run_dir), f"half-finished; {config_diff(ck.get('spec'), spec.as_dict())}")],
                                 hint=_hint(run_dir.parent.parent))
        try:
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["optim"])
            gen.set_state(ck["gen"])
            history, start = list(ck["history"]), int(ck["epoch"])
        except (KeyError, RuntimeError, TypeError, ValueError) as exc:
            raise corrupt_error(ckpt_path, exc) from None
    with single_thread():
        _epochs(spec, model, opt, gen, x_all, y_all, history, start, ckpt_path, checkpoint_every, on_epoch)
        _save_torch(run_dir / "model.pt", model.state_dict())
        per = per_sample_measures(model, data.test)
        done = {
            "spec": spec.as_dict(),
            "run_id": spec.run_id,
            "history": history,
            "train_seconds": sum(h["seconds"] for h in history),
            "measures": measure_means(per),
            "diagnostics": diagnostics(model, data.test),
            "lipschitz": stability(model, data.test, seed=spec.seed, lipsdp=lipsdp) if brackets else [],
        }
    with no_interrupt():
        atomic_write_json(done_path, done)
        if ckpt_path.exists():
            ckpt_path.unlink()
    return done


def _epochs(spec, model, opt, gen, x_all, y_all, history, start, ckpt_path, checkpoint_every, on_epoch) -> None:
    n = len(x_all)
    bs = spec.config.batch_size
    for epoch in range(start, spec.epochs):
        t0, c0 = time.perf_counter(), time.process_time()
        b = beta(spec.schedule, epoch, spec.epochs)
        model.train()
        perm = torch.randperm(n, generator=gen)
        tot = {"loss": 0.0, "nll": 0.0, "kl": 0.0}
        for k in range(0, n, bs):
            i = perm[k:k + bs]
            loss, nll, kl = vae_loss(model, x_all[i], y_all[i], b, generator=gen)
            opt.zero_grad()
            loss.backward()
            opt.step()
            w = len(i) / n
            tot["loss"] += loss.item() * w
            tot["nll"] += nll.item() * w
            tot["kl"] += kl.item() * w
        if not all(np.isfinite(v) for v in tot.values()):
            raise LipboundError(f"run {spec.run_id}: non-finite loss at epoch {epoch} ({tot}); lower the learning rate")
        rec = {"epoch": epoch, "beta": b, **tot, "seconds": time.perf_counter() - t0,
               "cpu_seconds": time.process_time() - c0}
        history.append(rec)
        if on_epoch is not None:
            on_epoch(epoch, rec)
        if (epoch + 1) % checkpoint_every == 0 and epoch + 1 < spec.epochs:
            save_checkpoint(ckpt_path, {"model": model.state_dict(), "optim": opt.state_dict(), "gen": gen.get_state()},
                            {"spec": spec.as_dict(), "history": history, "epoch": epoch + 1})


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
              brackets: bool = True, on_epoch: Callable[[RunSpec, int, dict[str, float]], None] | None = None) -> list[dict[str, Any]]:
    """:func:`train_run` for every (schedule, seed); returns the ``done.json`` contents in that order.
    Every run is checked (:func:`check_runs`) before the first is trained."""
    config = config or VAEConfig()
    specs = [RunSpec(s, int(k), epochs, config) for s in schedules for k in seeds]
    check_runs(specs, out)
    data = data or load_icub()
    res = []
    for spec in specs:
        cb = None if on_epoch is None else (lambda e, r, spec=spec: on_epoch(spec, e, r))
        res.append(train_run(spec, out, data, lipsdp=lipsdp, brackets=brackets, on_epoch=cb))
    return res
