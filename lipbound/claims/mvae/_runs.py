"""The trained runs the ``mvae-*`` claims are checked on, and their per-sample quantities.

By default the ledger trains its own small preset (:data:`LEDGER_PRESET`) once and caches it under
``<cache dir>/mvae/ledger-<key>`` (``lipbound.zoo.default_cache_dir()``, i.e. ``$LIPBOUND_CACHE``);
the runs are written atomically and reused while their spec is unchanged. If
``$LIPBOUND_MVAE_RESULTS`` names a directory written by ``lipbound mvae train``, its finished runs
are used instead (they must cover all four schedules).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ...errors import LipboundError
from ...mvae import MODALITIES, SCHEDULES, VAEConfig, completed_runs, load_icub, load_model, per_sample_measures
from ...mvae._measures import ACTIVE_THRESHOLD
from ...mvae._model import single_thread

#: the ledger's runs: 4 schedules x 3 seeds, 15 epochs, batch 512, lr 3e-3 (about 40-60 s on one
#: CPU core; large batches and a larger step than the CLI default keep it short)
LEDGER_PRESET = {"schedules": SCHEDULES, "seeds": (0, 1, 2), "epochs": 15,
                 "config": VAEConfig(batch_size=512, lr=3e-3)}
ENV_RESULTS = "LIPBOUND_MVAE_RESULTS"


@dataclass
class RunArrays:
    """Per-sample quantities of one trained run on the test set (float64)."""

    schedule: str
    seed: int
    measures: dict[str, dict[str, np.ndarray]]  # measure -> modality -> (n,)
    sq_err: np.ndarray  # (n, 28) squared errors of the output mean, full input
    z_mean: np.ndarray  # (n, latent)

    def mse(self, modality: str | None = None, index: np.ndarray | None = None) -> float:
        e = self.sq_err if index is None else self.sq_err[index]
        if modality is not None:
            e = e[:, MODALITIES[modality]]
        return float(e.mean())

    def active_units(self, index: np.ndarray | None = None) -> int:
        z = self.z_mean if index is None else self.z_mean[index]
        return int((z.var(axis=0, ddof=1) > ACTIVE_THRESHOLD).sum())


_CACHE: dict[str, list[RunArrays]] = {}


def _ledger_dir() -> Path:
    from ...zoo import default_cache_dir

    p = LEDGER_PRESET
    key = hashlib.sha256(json.dumps({"seeds": p["seeds"], "epochs": p["epochs"], "config": p["config"].as_dict(),
                                     "schedules": p["schedules"]}, sort_keys=True).encode()).hexdigest()[:12]
    return default_cache_dir() / "mvae" / f"ledger-{key}"


def results_dir() -> Path:
    """``$LIPBOUND_MVAE_RESULTS`` if set, else the ledger's cache folder (trained on first use)."""
    env = os.environ.get(ENV_RESULTS)
    return Path(env) if env else _ledger_dir()


def ledger_runs() -> list[RunArrays]:
    """Every run's per-sample arrays (training the ledger preset first if needed); memoised per process."""
    out = results_dir()
    key = str(out)
    if key in _CACHE:
        return _CACHE[key]
    data = load_icub()
    if not os.environ.get(ENV_RESULTS):
        from ...mvae import train_all

        p = LEDGER_PRESET
        train_all(p["schedules"], p["seeds"], p["epochs"], out, config=p["config"], data=data, brackets=False)
    done = completed_runs(out)
    have = {d["spec"]["schedule"] for d in done}
    if not set(SCHEDULES) <= have:
        raise LipboundError(f"{out} holds runs of {sorted(have)}; the mvae claims need all of {list(SCHEDULES)} "
                            f"(run `lipbound mvae train --out {out}` or unset {ENV_RESULTS})")
    runs = []
    for d in done:
        model = load_model(out, d["run_id"])
        with torch.no_grad(), single_thread():
            t = torch.as_tensor(data.test, dtype=torch.float64)
            mean, _, zm, _ = model(t)
            per = per_sample_measures(model, data.test)
        runs.append(RunArrays(d["spec"]["schedule"], int(d["spec"]["seed"]), per, (mean.numpy() - data.test) ** 2,
                              zm.numpy()))
    _CACHE[key] = runs
    return runs


def by_schedule(runs: list[RunArrays]) -> dict[str, list[RunArrays]]:
    out: dict[str, list[RunArrays]] = {s: [] for s in SCHEDULES}
    for r in runs:
        out.setdefault(r.schedule, []).append(r)
    return out
