"""Read the result files the report shows, recognising each by its content (not its name).

Recognised inputs (the formats are fixed in ``docs/report.md``):

* a JSON list of claim-ledger rows (``lipbound verify --json``; :meth:`lipbound.claims.Row.as_dict`);
* a bracket document ``{"kind": "lipbound-bracket", ...}`` (``lipbound bound --json``);
* an MVAE measures document ``{"kind": "lipbound-mvae-measures", ...}``;
* a results directory of ``lipbound train`` / ``lipbound reproduce`` (``meta.json`` with
  ``"kind": "lipbound-reproduce"``, ``records.jsonl``, optional ``detection.jsonl``,
  ``reconstructions.npz``, ``claims.json``);
* any other directory: the recognised ``*.json`` files in it and the results directories below it
  (one level), unrecognised files are listed as skipped.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LipboundError


class ReportInputError(LipboundError, ValueError):
    """A result file the report cannot read: missing, not JSON, or of an unknown kind."""


def as_float(v: Any) -> float:
    """A number from a result file: floats, ints, and the strings ``'inf'``, ``'-inf'``, ``'nan'``
    that lipbound writes for non-finite values (JSON has none).

    >>> as_float(2), as_float("inf"), math.isnan(as_float(None))
    (2.0, inf, True)
    """
    if v is None:
        return math.nan
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


@dataclass
class LedgerRows:
    """Claim-ledger rows from one source, with what is known of the command that produced them."""

    path: str
    rows: list[dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class BracketDoc:
    """One ``lipbound bound --json`` document."""

    path: str
    model: str
    input_shape: list[Any]
    results: list[dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class MvaeDoc:
    """One ``lipbound mvae measures --json`` document."""

    path: str
    rows: list[dict[str, Any]]
    lipschitz: list[dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class ReproduceDir:
    """One results directory of ``lipbound train`` / ``lipbound reproduce``."""

    path: str
    meta: dict[str, Any]
    records: list[dict[str, Any]]
    detection: list[dict[str, Any]]
    reconstructions: dict[str, np.ndarray]
    notes: list[str] = field(default_factory=list)


@dataclass
class Results:
    """Everything :func:`load_results` found, by kind, in input order."""

    ledgers: list[LedgerRows] = field(default_factory=list)
    brackets: list[BracketDoc] = field(default_factory=list)
    mvae: list[MvaeDoc] = field(default_factory=list)
    reproduce: list[ReproduceDir] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def empty(self) -> bool:
        """True when nothing was found."""
        return not (self.ledgers or self.brackets or self.mvae or self.reproduce)


def _is_ledger_rows(obj: Any) -> bool:
    return isinstance(obj, list) and all(
        isinstance(r, dict) and {"claim", "reading", "status"} <= set(r) for r in obj)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ReportInputError(f"{path}: not valid JSON ({exc})") from exc
    except OSError as exc:
        raise ReportInputError(f"{path}: cannot read it ({exc})") from exc


def _read_jsonl(path: Path, notes: list[str]) -> list[dict[str, Any]]:
    """JSON lines; a malformed *last* line (a run interrupted mid-write) is skipped with a note,
    a malformed line elsewhere is an error."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    for k, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            if k == len(lines) - 1:
                notes.append(f"{path.name}: skipped an incomplete last line {k + 1}")
                continue
            raise ReportInputError(f"{path}:{k + 1}: not a JSON object ({exc})") from exc
        if not isinstance(obj, dict):
            raise ReportInputError(f"{path}:{k + 1}: expected a JSON object, got {type(obj).__name__}")
        out.append(obj)
    return out


RECORD_KEYS = ("run_id", "dataset", "fusion", "trial", "lam", "epoch", "submodule", "metric", "value")


def _load_reproduce(d: Path, meta: dict[str, Any], res: Results) -> None:
    notes: list[str] = []
    rec_path = d / "records.jsonl"
    records = _read_jsonl(rec_path, notes) if rec_path.exists() else []
    if not rec_path.exists():
        notes.append("no records.jsonl")
    for k, r in enumerate(records):
        missing = [key for key in RECORD_KEYS if key not in r]
        if missing:
            raise ReportInputError(f"{rec_path}: record {k + 1} lacks {missing}")
        r["value"] = as_float(r["value"])
        r["lam"] = as_float(r["lam"])
    det_path = d / "detection.jsonl"
    detection = _read_jsonl(det_path, notes) if det_path.exists() else []
    recon: dict[str, np.ndarray] = {}
    npz = d / "reconstructions.npz"
    if npz.exists():
        try:
            with np.load(npz, allow_pickle=False) as z:
                recon = {k: np.asarray(z[k]) for k in z.files}
        except (OSError, ValueError) as exc:
            raise ReportInputError(f"{npz}: cannot read it ({exc})") from exc
    res.reproduce.append(ReproduceDir(str(d), meta, records, detection, recon, notes))
    claims = d / "claims.json"
    if claims.exists():
        rows = _read_json(claims)
        if not _is_ledger_rows(rows):
            raise ReportInputError(f"{claims}: expected a JSON list of claim-ledger rows")
        cmeta = {k: meta.get(k) for k in ("command", "lipbound", "torch", "python", "device", "seeds")
                 if k in meta}
        res.ledgers.append(LedgerRows(str(claims), rows, cmeta))


def _load_file(path: Path, res: Results, *, strict: bool) -> None:
    if path.suffix not in (".json",):
        if strict:
            raise ReportInputError(f"{path}: expected a .json result file or a results directory")
        res.skipped.append(str(path))
        return
    obj = _read_json(path)
    if _is_ledger_rows(obj):
        res.ledgers.append(LedgerRows(str(path), obj, {}))
        return
    kind = obj.get("kind") if isinstance(obj, dict) else None
    if kind == "lipbound-bracket":
        if not isinstance(obj.get("results"), list):
            raise ReportInputError(f"{path}: a lipbound-bracket document needs a 'results' list")
        res.brackets.append(BracketDoc(str(path), str(obj.get("model", path.stem)),
                                       list(obj.get("input_shape") or []), obj["results"],
                                       dict(obj.get("meta") or {})))
    elif kind == "lipbound-mvae-measures":
        if not isinstance(obj.get("rows"), list):
            raise ReportInputError(f"{path}: a lipbound-mvae-measures document needs a 'rows' list")
        res.mvae.append(MvaeDoc(str(path), obj["rows"], list(obj.get("lipschitz") or []),
                                dict(obj.get("meta") or {})))
    elif kind == "lipbound-reproduce":
        _load_reproduce(path.parent, obj, res)
    elif strict:
        raise ReportInputError(
            f"{path}: not a result file lipbound knows (a list of ledger rows, or a document of kind "
            f"lipbound-bracket, lipbound-mvae-measures or lipbound-reproduce); kind={kind!r}")
    else:
        res.skipped.append(str(path))


def _load_dir(d: Path, res: Results, *, depth: int) -> None:
    meta = d / "meta.json"
    if meta.exists():
        obj = _read_json(meta)
        if isinstance(obj, dict) and obj.get("kind") == "lipbound-reproduce":
            _load_reproduce(d, obj, res)
            return
    for p in sorted(d.iterdir()):
        if p.name.startswith("."):
            continue
        if p.is_file() and p.suffix == ".json":
            _load_file(p, res, strict=False)
        elif p.is_dir() and depth > 0:
            _load_dir(p, res, depth=depth - 1)


def load_results(paths: list[str | Path]) -> Results:
    """Read every result file or directory in ``paths`` (see the module docstring).

    >>> load_results([]).empty()
    True
    """
    res = Results()
    for p in map(Path, paths):
        if not p.exists():
            raise ReportInputError(f"{p}: no such file or directory")
        if p.is_dir():
            _load_dir(p, res, depth=1)
        else:
            _load_file(p, res, strict=True)
    return res
