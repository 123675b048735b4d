"""The small trained runs the ``mvae-kl-whole-vs-part`` fixed cases are checked on (per-sample KL
measures of trained models), and their per-sample quantities. (``mvae-findings`` is decided on the
committed study instead: :mod:`._study`.)

The ledger trains its own small preset (:data:`LEDGER_PRESET`) once and caches it under
``<cache dir>/mvae/ledger-<key>`` (``lipbound.zoo.default_cache_dir()``, i.e. ``$LIPBOUND_CACHE``);
the runs are written atomically and reused while their spec is unchanged.

The runs need the iCub data, which lipbound does not ship: :data:`ICUB` declares it (a
:class:`~lipbound.claims._ledger.DataNeed`). ``lipbound verify`` locates it once before any work
(:func:`locate_icub`) and the runner hands the location to the evaluators in its
:class:`~lipbound.claims.Fixtures`; each trained case names the folder it was drawn from, and
:func:`ledger_runs` takes it as an argument.
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
from ...mvae._data import ENV_VAR as ICUB_ENV
from ...mvae._data import DataNotFoundError, ICubData, data_dir
from ...mvae._measures import ACTIVE_THRESHOLD
from ...mvae._model import single_thread
from .._ledger import DataNeed

#: the ledger's runs for the per-sample KL checks: the original model, 4 schedules x 3 seeds, 15 epochs,
#: batch 512, lr 3e-3 (under a minute on one CPU core; any trained model serves these identities)
LEDGER_PRESET = {"schedules": SCHEDULES, "seeds": (0, 1, 2), "epochs": 15,
                 "config": VAEConfig(batch_size=512, lr=3e-3)}


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


_CACHE: dict[tuple[str, str], list[RunArrays]] = {}
_DATA: dict[str, ICubData] = {}


def _load(folder: Path) -> ICubData:
    """:func:`lipbound.mvae.load_icub` of ``folder``, memoised; any failure to read the files is a
    :class:`~lipbound.errors.LipboundError` naming the folder (scipy raises its own error types for
    files that are no MAT files)."""
    key = str(folder)
    if key not in _DATA:
        try:
            _DATA[key] = load_icub(folder)
        except LipboundError:
            raise
        except Exception as exc:  # noqa: BLE001 - scipy's MatReadError and friends are not ValueErrors
            raise LipboundError(f"cannot read the iCub data in {folder}: {type(exc).__name__}: {exc}") from exc
    return _DATA[key]


def locate_icub(path: str | None = None) -> tuple[Path | None, str]:
    """``(folder, where looked)`` of the iCub data: ``path`` only when given, else
    ``$LIPBOUND_ICUB_DIR``, else ``../shared/data/icub-multimodal`` next to the checkout
    (:func:`lipbound.mvae.data_dir`); folder None when the files are not there. Data that is there
    but unreadable raises :class:`~lipbound.errors.LipboundError` (bad input, not absent data)."""
    if path is not None:
        searched = str(path)
    elif os.environ.get(ICUB_ENV):
        searched = f"${ICUB_ENV}={os.environ[ICUB_ENV]}"
    else:
        searched = "../shared/data/icub-multimodal next to the lipbound checkout (the default; $LIPBOUND_ICUB_DIR is unset)"
    try:
        folder = data_dir(path)
    except DataNotFoundError:
        return None, searched
    _load(folder)  # check the files now, before any work
    return folder, str(folder)


#: the iCub data the ``mvae-*`` claims are checked on (declared by their readings and evaluators)
ICUB = DataNeed(
    name="icub",
    what="the iCub multimodal data set (final_database_train.mat and final_database_test.mat; not shipped with lipbound)",
    how_to_get="get the two files from the repository ImperialCollegeLondon/Zambelli2019_RAS_multimodal_VAE "
               "(folder matlab/database), then set $LIPBOUND_ICUB_DIR to their folder, or put them in "
               "../shared/data/icub-multimodal next to the checkout, or pass `lipbound verify --data icub=DIR` "
               "(docs/mvae.md)",
    locate=locate_icub,
)


def _ledger_dir() -> Path:
    from ...zoo import default_cache_dir

    from ..._version import __version__
    from ...mvae._train import FORMAT

    p = LEDGER_PRESET
    # the run format and lipbound's version are part of every run's spec (lipbound.mvae refuses runs
    # written by another): a cache of another version is a different folder, never an error
    key = hashlib.sha256(json.dumps({"seeds": p["seeds"], "epochs": p["epochs"], "config": p["config"].as_dict(),
                                     "schedules": p["schedules"], "format": FORMAT, "lipbound": __version__},
                                    sort_keys=True).encode()).hexdigest()[:12]
    return default_cache_dir() / "mvae" / f"ledger-{key}"


def results_dir() -> Path:
    """The ledger's cache folder (trained on first use)."""
    return _ledger_dir()


def ledger_runs(folder: str | os.PathLike) -> list[RunArrays]:
    """Every run's per-sample arrays (training the ledger preset first if needed) on the iCub data in
    ``folder``; memoised per process."""
    out = results_dir()
    folder = Path(folder)
    key = (str(out), str(folder))
    if key in _CACHE:
        return _CACHE[key]
    data = _load(folder)
    from ...mvae import train_all

    p = LEDGER_PRESET
    train_all(p["schedules"], p["seeds"], p["epochs"], out, config=p["config"], data=data, brackets=False)
    done = [d for d in completed_runs(out)]
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
