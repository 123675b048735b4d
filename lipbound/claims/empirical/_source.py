"""Where the empirical claims get their data, and the per-trial numbers they compare.

:func:`results_source` turns a choice into a folder: a results directory, ``committed`` (the
default: the **committed results** of the ``medium`` preset, :data:`COMMITTED_RESULTS`, shipped with
lipbound in compact form: see :mod:`~lipbound.claims.empirical._compact` and
``docs/experiments.md``) or ``tiny``. The choice is the run's ``Fixtures.results``
(:class:`~lipbound.claims.Fixtures`), which the runner passes to the evaluators and each case
carries; nothing here reads the environment except :func:`env_results_dir`, which ``lipbound
verify`` calls once to honour ``$LIPBOUND_RESULTS``. The built-in tiny sweep
(preset ``tiny``: synthetic vector data, seconds on a CPU, cached under the zoo cache directory) is
used only when asked for (``--results tiny``); it decides nothing about the paper's setting and its
rows say so. A reading for which the chosen results hold no data is not decided on other data: its
row says that the data is missing.

A results directory is read strictly: a line of ``records.jsonl`` or ``detection.jsonl`` (or their
``.gz`` forms) that is not a JSON object with the fields the claims read is an error naming the file
and line. :func:`check_results_env` runs that check on ``$LIPBOUND_RESULTS`` before ``lipbound
verify`` starts any work.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

import numpy as np

from ...errors import ConfigurationError, LipboundError
from .._fixtures import NAMED_RESULTS

RESULTS_ENV = "LIPBOUND_RESULTS"
#: the results the empirical claims are decided on by default: the ``medium`` preset's sweep, committed
#: in compact form (regenerate: ``make results``, see docs/experiments.md)
COMMITTED_RESULTS = Path(__file__).resolve().parent / "results" / "medium"
#: the paper's method first, then the other attention variants
ATTENTION_PREFERENCE = ("attention-regularized-scaled", "attention-regularized", "attention-scaled", "attention")

_cache: dict[tuple, "Results"] = {}


def tiny_results_dir() -> Path:
    """The cache folder of the built-in tiny sweep: ``<cache dir>/empirical-tiny-<key>``, the key a
    hash of the tiny preset's run configurations and lipbound's version, so that a changed preset
    or version trains into a new folder (a results folder refuses runs of another configuration)."""
    import hashlib

    from ..._version import __version__
    from ...experiments import plan
    from ...zoo import default_cache_dir

    spec = {"runs": [c.to_dict() for c in plan("tiny")], "lipbound": __version__}
    key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]
    return default_cache_dir() / f"empirical-tiny-{key}"


def _ensure_tiny() -> Path:
    out = tiny_results_dir()
    meta = out / "meta.json"
    if meta.exists() and json.loads(meta.read_text()).get("status") == "complete" and (out / "records.jsonl").exists():
        return out
    from ...experiments import plan, run_sweep

    run_sweep(out, plan("tiny"), preset="tiny", command="built-in tiny sweep of lipbound.claims.empirical",
              progress=False, claims=False)
    return out


def env_results_dir() -> Path | None:
    """The directory ``$LIPBOUND_RESULTS`` names (None when unset); :class:`ConfigurationError` when
    it is no folder or holds no ``records.jsonl``."""
    env = os.environ.get(RESULTS_ENV)
    if not env:
        return None
    p = Path(env).expanduser()
    fix = f"set it to a results directory of `lipbound reproduce --out DIR` (holding records.jsonl), or unset it"
    if not p.exists():
        raise ConfigurationError(f"${RESULTS_ENV}={env}: no such folder; {fix}")
    if not p.is_dir():
        raise ConfigurationError(f"${RESULTS_ENV}={env} is a file, not a results directory; {fix}")
    if results_file(p, "records.jsonl") is None:
        raise ConfigurationError(f"${RESULTS_ENV}={env} has no records.jsonl; run `lipbound reproduce --out {env}` "
                                 f"first, or unset {RESULTS_ENV}")
    return p


def check_results_env() -> Path | None:
    """Check ``$LIPBOUND_RESULTS`` before any work: unset (None), or a results directory whose
    ``records.jsonl`` (and ``detection.jsonl``) parse; returns that directory. Raises
    :class:`~lipbound.errors.ConfigurationError` naming the setting, the file and the line."""
    p = env_results_dir()
    if p is None:
        return None
    try:
        load_results(p)
    except ConfigurationError:
        raise
    except LipboundError as exc:
        raise ConfigurationError(f"${RESULTS_ENV}={os.environ[RESULTS_ENV]}: {exc}") from exc
    return p


_TINY_LABEL = ("built-in tiny sweep (preset tiny: synthetic vector data, 3 epochs; asked for with --results tiny; it "
               "says nothing about the paper's setting)")


def committed_label() -> str:
    """The label of the committed results: what they are and the command that made them."""
    try:
        meta = json.loads((COMMITTED_RESULTS / "meta.json").read_text())
    except (OSError, ValueError):
        meta = {}
    runs = len(meta.get("runs", [])) or "?"
    return (f"committed results of the medium preset ({runs} runs; {meta.get('command', 'lipbound reproduce --preset medium')}; "
            f"lipbound {meta.get('lipbound', '?')}, torch {meta.get('torch', '?')})")


def results_source(choice: str | os.PathLike = "committed") -> tuple[Path, str]:
    """``(directory, label)`` of the results ``choice`` names: ``committed``, ``tiny`` (trained on
    first use) or a results directory (module docstring)."""
    if choice == "tiny":
        return _ensure_tiny(), _TINY_LABEL
    if choice == "committed":
        if results_file(COMMITTED_RESULTS, "records.jsonl") is None:
            raise LipboundError(f"the committed results are missing from {COMMITTED_RESULTS} (a damaged install?); "
                                "reinstall lipbound, or pass --results DIR or --results tiny")
        return COMMITTED_RESULTS, committed_label()
    return Path(choice), f"results dir {choice}"


#: the fields of a ``records.jsonl`` line that the claims read: ``str``, ``int``, or ``num`` (a
#: number, or a string such as ``'inf'`` that :class:`float` reads)
RECORD_FIELDS: dict[str, str] = {
    "run_id": "str", "dataset": "str", "fusion": "str", "submodule": "str", "metric": "str", "kind": "str",
    "epoch": "int", "value": "num", "lam": "num"}
#: the same for ``detection.jsonl``
DETECTION_FIELDS: dict[str, str] = {"run_id": "str", "dataset": "str", "fusion": "str", "tpr": "num", "fpr": "num"}
_WORDS = {"str": "a string", "int": "an integer", "num": "a number"}


def _field_ok(v: object, kind: str) -> bool:
    if isinstance(v, bool):
        return False
    if kind == "str":
        return isinstance(v, str)
    if kind == "int":
        return isinstance(v, int)
    if isinstance(v, str):
        try:
            float(v)
        except ValueError:
            return False
        return True
    return isinstance(v, (int, float))


def results_file(folder: Path, name: str) -> Path | None:
    """``folder/name`` or its gzip-compressed form ``folder/name.gz`` (a compact results folder,
    :mod:`lipbound.claims.empirical._compact`), whichever exists, else None."""
    for p in (folder / name, folder / f"{name}.gz"):
        if p.is_file():
            return p
    return None


def read_lines(path: Path, fields: dict[str, str]) -> list[dict]:
    """The JSON objects of a JSON-lines file (``.gz``: gzip-compressed; blank lines skipped), each
    checked to hold ``fields`` (see :data:`RECORD_FIELDS`); :class:`~lipbound.errors.LipboundError`
    naming the file and line otherwise."""
    try:
        if path.suffix == ".gz":
            import gzip

            lines = gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()
        else:
            lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError, EOFError) as exc:  # gzip: BadGzipFile is an OSError, truncation EOFError
        raise LipboundError(f"{path}: cannot read it ({type(exc).__name__}: {exc})") from exc
    out = []
    for k, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise LipboundError(f"{path}:{k}: not a JSON object ({exc})") from exc
        if not isinstance(obj, dict):
            raise LipboundError(f"{path}:{k}: expected a JSON object, got {type(obj).__name__}")
        for key, kind in fields.items():
            if key not in obj:
                raise LipboundError(f"{path}:{k}: the object lacks {key!r}")
            if not _field_ok(obj[key], kind):
                raise LipboundError(f"{path}:{k}: {key!r} is {obj[key]!r}, expected {_WORDS[kind]}")
        out.append(obj)
    return out


class Results:
    """The records and detection rows of a results directory, indexed for the claims.

    ``final(dataset, fusion, submodule, metric, kind)`` gives one value per trial (the run's last
    epoch), default-lambda runs only; ``curve(...)`` the per-epoch trial means;
    ``lam_final(...)`` the ablation's per-lambda trial values.
    """

    def __init__(self, path: Path, label: str) -> None:
        self.path, self.label = path, label
        rec_file, det_file = results_file(path, "records.jsonl"), results_file(path, "detection.jsonl")
        if rec_file is None:
            raise LipboundError(f"{path} holds no records.jsonl (nor records.jsonl.gz): not a results directory")
        recs = read_lines(rec_file, RECORD_FIELDS)
        det = read_lines(det_file, DETECTION_FIELDS) if det_file is not None else []
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

    # ------------------------------------------------------------------- per trial (paired use)
    @staticmethod
    def trial_of(run_id: str) -> int:
        """The trial index of a run id ``..._t<k>`` (runs with the same index share their seed)."""
        return int(run_id.rsplit("__t", 1)[1])

    def final_by_trial(self, dataset, fusion, submodule, metric, kind) -> dict[int, float]:
        """Default-lambda runs: trial index -> the value at the run's last recorded epoch."""
        runs = self._by.get((dataset, fusion, submodule, metric, kind), {})
        return {self.trial_of(rid): v[max(v)] for rid, v in runs.items() if self._default[rid] and v}

    def curves_by_trial(self, dataset, fusion, submodule, metric, kind) -> dict[int, dict[int, float]]:
        """Default-lambda runs: trial index -> {epoch: value}."""
        runs = self._by.get((dataset, fusion, submodule, metric, kind), {})
        return {self.trial_of(rid): dict(v) for rid, v in runs.items() if self._default[rid] and v}

    def lam_by_trial(self, dataset, fusion, submodule, metric, kind) -> dict[float, dict[int, float]]:
        """All runs of ``fusion``: lambda -> trial index -> final value."""
        out: dict[float, dict[int, float]] = defaultdict(dict)
        for rid, v in self._by.get((dataset, fusion, submodule, metric, kind), {}).items():
            if v:
                out[self._lam[rid]][self.trial_of(rid)] = v[max(v)]
        return dict(sorted(out.items()))

    def youden_by_trial(self, dataset, fusion) -> dict[int, tuple[float, float, float]]:
        """Trial index -> (mean over corruptions of TPR - FPR, of TPR, of FPR)."""
        out = {}
        for rid, rows in self.detection.get((dataset, fusion), {}).items():
            tpr = float(np.mean([r["tpr"] for r in rows]))
            fpr = float(np.mean([r["fpr"] for r in rows]))
            out[self.trial_of(rid)] = (tpr - fpr, tpr, fpr)
        return out

    def youden(self, dataset, fusion) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per trial: mean over corruptions of TPR - FPR, of TPR, of FPR."""
        runs = self.detection.get((dataset, fusion), {})
        rows = [runs[k] for k in sorted(runs)]
        tpr = np.array([np.mean([r["tpr"] for r in rs]) for rs in rows])
        fpr = np.array([np.mean([r["fpr"] for r in rs]) for rs in rows])
        return tpr - fpr, tpr, fpr


def load_results(choice: str | os.PathLike = "committed") -> Results:
    """The :class:`Results` of :func:`results_source` ``(choice)``, cached while ``records.jsonl`` is
    unchanged."""
    path, label = results_source(choice)
    rec = results_file(path, "records.jsonl")
    if rec is None:
        raise LipboundError(f"{path} holds no records.jsonl (nor records.jsonl.gz): not a results directory")
    st = rec.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size, label)
    if key not in _cache:
        _cache.clear()
        _cache[key] = Results(path, label)
    return _cache[key]
