r"""The MVAE study the ``mvae-findings`` readings are decided on, in a compact form small enough to commit.

``lipbound mvae train --preset cpu`` (4 schedules x 20 seeds, the original model, trained as one
vectorised ensemble) writes one folder per run. :func:`compact_study` keeps, per run, what the
findings and the figures need: the spec (schedule, seed, epochs, fall, learning rate, model variant),
the convergence verdict, the test diagnostics (MSE overall and per modality, latent KL, active units),
the four KL measures per modality (means over the 1487 test samples), the Lipschitz brackets, and
the monitoring evaluations every 50 epochs; plus, once per study, each modality's variance on the
clean test set (for the variance-normalised errors). One gzip-compressed JSON file,
``results/cpu.json.gz`` next to this module, with the sha256 of every source ``done.json``.

:func:`load_study` reads the committed file (the default) or, when given a folder of
``lipbound mvae train``, compacts it in memory (that needs the iCub test data for the variances).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..._io import atomic_write_bytes
from ...errors import LipboundError

#: the committed study (written by ``python -m lipbound.claims.mvae._study RUNS_DIR``)
COMMITTED = Path(__file__).parent / "results" / "cpu.json.gz"
KIND = "lipbound-mvae-study"
#: evaluations kept per run (every EVAL_KEEP epochs, and the last)
EVAL_KEEP = 50


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run_record(d: dict) -> dict:
    spec = d["spec"]
    from ...mvae import variant_of
    from ...mvae._model import VAEConfig

    evals = d.get("evals", [])
    kept = [e for e in evals if e["epoch"] % EVAL_KEEP == 0 or e is evals[-1]]
    return {
        "schedule": spec["schedule"], "seed": int(spec["seed"]), "epochs": int(spec["epochs"]), "fall": int(spec["fall"]),
        "lr": spec["config"]["lr"], "batch_size": spec["config"]["batch_size"],
        "variant": variant_of(VAEConfig.from_dict(spec["config"])) or "custom",
        "convergence": d["convergence"],
        "diagnostics": d["diagnostics"],
        "measures": d["measures"],
        "evals": [{"epoch": e["epoch"], "mse": e["mse"], "active_units": e["active_units"]} for e in kept],
        "final_loss": d["history"][-1]["loss"], "final_kl": d["history"][-1]["kl"],
        "train_seconds": d["train_seconds"],
        "lipschitz": [{k: r[k] for k in ("submodule", "method", "kind", "value") if k in r} for r in d.get("lipschitz", [])],
    }


def study_from_runs(runs_dir: str | os.PathLike, test: np.ndarray) -> dict:
    """The compact study of the finished runs under ``runs_dir`` (a ``--out`` of ``lipbound mvae
    train``), with each modality's variance on the clean test samples ``test``."""
    from ...mvae import MODALITIES, SCHEDULES

    runs_dir = Path(runs_dir)
    paths = sorted((runs_dir / "runs").glob("*/done.json"))
    if not paths:
        raise LipboundError(f"{runs_dir} holds no finished runs of `lipbound mvae train` (runs/*/done.json)")
    runs, sources = [], {}
    for p in paths:
        try:
            d = json.loads(p.read_text())
            runs.append(_run_record(d))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise LipboundError(f"{p}: not a finished run of this lipbound ({type(exc).__name__}: {exc})") from None
        sources[str(p.relative_to(runs_dir))] = _sha256(p)
    keys = {(r["epochs"], r["fall"], r["lr"], r["batch_size"], r["variant"]) for r in runs}
    if len(keys) != 1:
        raise LipboundError(f"{runs_dir}: the runs were trained with different settings {sorted(keys)}; a study "
                            "is one setting")
    order = {s: k for k, s in enumerate(SCHEDULES)}
    runs.sort(key=lambda r: (order.get(r["schedule"], 99), r["seed"]))
    variance = {m: float(np.var(test[:, s])) for m, s in MODALITIES.items()}
    epochs, fall, lr, bs, var = next(iter(keys))
    return {"kind": KIND, "setting": {"epochs": epochs, "fall": fall, "lr": lr, "batch_size": bs, "variant": var},
            "test_variance": variance, "n_test": int(len(test)), "runs": runs, "sources": sources}


def compact_study(runs_dir: str | os.PathLike, dest: str | os.PathLike = COMMITTED, *, test: np.ndarray | None = None) -> dict:
    """Write :func:`study_from_runs` gzip-compressed to ``dest`` (atomically; deterministic bytes).
    Refuses a study missing a schedule or whose schedules have different seeds, and any run not converged
    by the stated criterion is kept but counted in the file (the findings say how many)."""
    from ...mvae import SCHEDULES, load_icub

    test = load_icub().test if test is None else test
    study = study_from_runs(runs_dir, test)
    seeds = {s: sorted(r["seed"] for r in study["runs"] if r["schedule"] == s) for s in SCHEDULES}
    if any(not v for v in seeds.values()) or len({tuple(v) for v in seeds.values()}) != 1:
        raise LipboundError(f"{runs_dir}: a study needs every schedule with the same seeds, got {seeds}")
    text = json.dumps(study, sort_keys=True, allow_nan=False)
    atomic_write_bytes(Path(dest), gzip.compress(text.encode(), mtime=0))
    return study


@dataclass
class Study:
    """A loaded study: its runs per schedule (sorted by seed) and where it came from."""

    data: dict[str, Any]
    label: str

    @property
    def setting(self) -> dict:
        return self.data["setting"]

    def runs(self, schedule: str) -> list[dict]:
        return [r for r in self.data["runs"] if r["schedule"] == schedule]

    def seeds(self) -> list[int]:
        return sorted({r["seed"] for r in self.data["runs"]})

    def per_seed(self, schedule: str, get) -> np.ndarray:
        """``get(run)`` for the runs of ``schedule``, in seed order (paired across schedules by seed)."""
        by = {r["seed"]: r for r in self.runs(schedule)}
        return np.array([float(get(by[s])) for s in self.seeds()])

    def describe(self) -> str:
        st = self.setting
        n_conv = sum(1 for r in self.data["runs"] if r["convergence"].get("converged"))
        return (f"{self.label}: {len(self.data['runs'])} runs ({len(self.seeds())} seeds x 4 schedules), model "
                f"{st['variant']}, {st['epochs']} epochs, fall {st['fall']}, lr {st['lr']:g}, batch {st['batch_size']}; "
                f"{n_conv} of {len(self.data['runs'])} runs converged by the stated criterion")


_CACHE: dict[str, Study] = {}


def load_study(path: str | os.PathLike | None = None, icub: str | os.PathLike | None = None) -> Study:
    """The committed study (``path`` None), a compact study file, or a ``lipbound mvae train`` folder
    (whose runs are evaluated on the iCub test data in ``icub``, by default where
    :func:`lipbound.mvae.data_dir` finds it)."""
    key = str(path or COMMITTED)
    if key in _CACHE:
        return _CACHE[key]
    p = Path(key)
    if p.is_dir():
        from ...mvae import data_dir, load_icub

        study = Study(study_from_runs(p, load_icub(Path(icub) if icub is not None else data_dir()).test), f"runs in {p}")
    else:
        try:
            data = json.loads(gzip.decompress(p.read_bytes()))
        except (OSError, ValueError, EOFError) as exc:
            raise LipboundError(f"{p}: not a compact MVAE study ({type(exc).__name__}: {exc})") from None
        if not isinstance(data, dict) or data.get("kind") != KIND:
            raise LipboundError(f"{p}: not a compact MVAE study (kind {KIND!r})")
        label = "committed CPU study" if p == COMMITTED else f"study {p}"
        study = Study(data, label)
    _CACHE[key] = study
    return study


if __name__ == "__main__":  # python -m lipbound.claims.mvae._study RUNS_DIR [DEST]
    import sys

    args = sys.argv[1:]
    if not 1 <= len(args) <= 2:
        print("usage: python -m lipbound.claims.mvae._study RUNS_DIR [DEST]", file=sys.stderr)
        raise SystemExit(2)
    try:
        s = compact_study(args[0], args[1] if len(args) > 1 else COMMITTED)
    except LipboundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"wrote {len(s['runs'])} runs to {args[1] if len(args) > 1 else COMMITTED}")
