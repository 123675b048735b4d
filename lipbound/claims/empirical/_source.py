"""Where the empirical claims get their data, and the per-trial numbers they compare.

:func:`results_source` picks, in order: an explicit override (:func:`use_results`), the directory
in ``$LIPBOUND_RESULTS``, ``lipbound-results/smoke`` (relative to the working directory), and
finally a built-in tiny sweep (preset ``tiny``: synthetic vector data, seconds on a CPU) run once
and cached under the zoo cache directory (``$LIPBOUND_CACHE``, see :func:`lipbound.zoo.default_cache_dir`).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

import numpy as np

RESULTS_ENV = "LIPBOUND_RESULTS"
DEFAULT_RESULTS = Path("lipbound-results") / "smoke"
#: the paper's method first, then the other attention variants
ATTENTION_PREFERENCE = ("attention-regularized-scaled", "attention-regularized", "attention-scaled", "attention")

_override: list[Path] = []
_cache: dict[tuple, "Results"] = {}


@contextmanager
def use_results(path: str | os.PathLike):
    """Decide the empirical claims on the results directory ``path`` inside this block."""
    _override.append(Path(path))
    try:
        yield
    finally:
        _override.pop()


def tiny_results_dir() -> Path:
    from ...zoo import default_cache_dir

    return default_cache_dir() / "empirical-tiny"


def _ensure_tiny() -> Path:
    out = tiny_results_dir()
    meta = out / "meta.json"
    if meta.exists() and json.loads(meta.read_text()).get("status") == "complete" and (out / "records.jsonl").exists():
        return out
    from ...experiments import plan, run_sweep

    run_sweep(out, plan("tiny"), preset="tiny", command="built-in tiny sweep of lipbound.claims.empirical",
              progress=False, claims=False)
    return out


def results_source() -> tuple[Path, str]:
    """``(directory, label)`` of the results the empirical claims read now."""
    if _override:
        return _override[-1], f"results dir {_override[-1]}"
    env = os.environ.get(RESULTS_ENV)
    if env:
        p = Path(env)
        if not (p / "records.jsonl").exists():
            from ...errors import LipboundError

            raise LipboundError(f"${RESULTS_ENV}={env} has no records.jsonl; run `lipbound reproduce --out {env}` first")
        return p, f"results dir {p} (${RESULTS_ENV})"
    if (DEFAULT_RESULTS / "records.jsonl").exists():
        return DEFAULT_RESULTS, f"results dir {DEFAULT_RESULTS}"
    return _ensure_tiny(), "built-in tiny sweep (preset tiny: synthetic vector data, cached in the zoo cache dir)"


class Results:
    """The records and detection rows of a results directory, indexed for the claims.

    ``final(dataset, fusion, submodule, metric, kind)`` gives one value per trial (the run's last
    epoch), default-lambda runs only; ``curve(...)`` the per-epoch trial means;
    ``lam_final(...)`` the ablation's per-lambda trial values.
    """

    def __init__(self, path: Path, label: str) -> None:
        from ...experiments._harness import read_jsonl

        self.path, self.label = path, label
        recs = read_jsonl(path / "records.jsonl")
        det = read_jsonl(path / "detection.jsonl") if (path / "detection.jsonl").exists() else []
        self.modalities: dict[str, set] = defaultdict(set)
        # (dataset, fusion, submodule, metric, kind) -> run_id -> {epoch: value}
        self._by: dict[tuple, dict[str, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
        self._lam: dict[str, float] = {}
        self._default: dict[str, bool] = {}
        for r in recs:
            key = (r["dataset"], r["fusion"], r["submodule"], r["metric"], r["kind"])
            self._by[key][r["run_id"]][int(r["epoch"])] = float(r["value"])
            self._lam[r["run_id"]] = float(r["lam"])
            self._default[r["run_id"]] = "__lamdef__" in r["run_id"]
            if r["submodule"].startswith("modality:"):
                self.modalities[r["dataset"]].add(r["submodule"])
        self.detection: dict[tuple, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
        for d in det:
            if "__lamdef__" in d["run_id"]:
                self.detection[(d["dataset"], d["fusion"])][d["run_id"]].append(d)

    @property
    def datasets(self) -> list[str]:
        return sorted({k[0] for k in self._by})

    def fusions(self, dataset: str) -> set[str]:
        """Fusions with default-lambda runs on ``dataset`` (ablation-only fusions are not listed)."""
        return {k[1] for k, runs in self._by.items() if k[0] == dataset and any(self._default[r] for r in runs)}

    def attention(self, dataset: str) -> str | None:
        """The attention variant the claims compare (:data:`ATTENTION_PREFERENCE`), or None."""
        have = self.fusions(dataset)
        return next((f for f in ATTENTION_PREFERENCE if f in have), None)

    def final(self, dataset, fusion, submodule, metric, kind) -> np.ndarray:
        runs = self._by.get((dataset, fusion, submodule, metric, kind), {})
        return np.array([v[max(v)] for rid, v in sorted(runs.items()) if self._default[rid] and v])

    def curve(self, dataset, fusion, submodule, metric, kind) -> tuple[np.ndarray, np.ndarray]:
        """``(epochs, trial-mean values)`` over the epochs every default-lambda run has."""
        runs = [v for rid, v in sorted(self._by.get((dataset, fusion, submodule, metric, kind), {}).items())
                if self._default[rid]]
        if not runs:
            return np.array([]), np.array([])
        epochs = sorted(set.intersection(*(set(v) for v in runs)))
        return np.array(epochs, float), np.array([[v[e] for e in epochs] for v in runs])

    def lam_final(self, dataset, fusion, submodule, metric, kind) -> dict[float, np.ndarray]:
        out: dict[float, list] = defaultdict(list)
        for rid, v in sorted(self._by.get((dataset, fusion, submodule, metric, kind), {}).items()):
            if v:
                out[self._lam[rid]].append(v[max(v)])
        return {k: np.array(vs) for k, vs in sorted(out.items())}

    def youden(self, dataset, fusion) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per trial: mean over corruptions of TPR - FPR, of TPR, of FPR."""
        runs = self.detection.get((dataset, fusion), {})
        rows = [runs[k] for k in sorted(runs)]
        tpr = np.array([np.mean([r["tpr"] for r in rs]) for rs in rows])
        fpr = np.array([np.mean([r["fpr"] for r in rs]) for rs in rows])
        return tpr - fpr, tpr, fpr


def load_results() -> Results:
    """The :class:`Results` of :func:`results_source`, cached while ``records.jsonl`` is unchanged."""
    path, label = results_source()
    st = (path / "records.jsonl").stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size, label)
    if key not in _cache:
        _cache.clear()
        _cache[key] = Results(path, label)
    return _cache[key]
