"""Read the result files the report shows, recognising each by its content (not its name).

Recognised inputs (the formats are fixed in ``docs/report.md``):

* a JSON list of claim-ledger rows (``lipbound verify --json``; :meth:`lipbound.claims.Row.as_dict`);
* a bracket document ``{"kind": "lipbound-bracket", ...}`` (``lipbound bound --json``);
* the pytest plugin's summary ``{"kind": "lipbound-pytest", ...}`` (``pytest --lipbound-json``): one
  bracket per check that computed one (a refused model is listed as skipped);
* an MVAE measures document ``{"kind": "lipbound-mvae-measures", ...}``;
* a results directory of ``lipbound train`` / ``lipbound reproduce`` (``meta.json`` with
  ``"kind": "lipbound-reproduce"``, ``records.jsonl``, optional ``detection.jsonl``,
  ``reconstructions.npz``, ``claims.json``), or its compact form (``records.jsonl.gz``,
  ``detection.jsonl.gz``: :mod:`lipbound.claims.empirical._compact`, e.g. the committed results
  of the medium preset, ``lipbound/claims/empirical/results/medium``);
* any other directory: the recognised ``*.json`` files in it and the results directories below it
  (one level), unrecognised files are listed as skipped.
"""

from __future__ import annotations

import gzip
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


def _what(v: Any) -> str:
    """How a JSON value is named in messages.

    >>> _what(5), _what("x"), _what([1]), _what(None)
    ('a number', 'a string', 'a list', 'null')
    """
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true/false"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "a list"
    return "an object" if isinstance(v, dict) else type(v).__name__


def _objects(path: Any, items: Any, what: str, required: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """``items`` when it is a list of JSON objects each holding the ``required`` keys; else a
    :class:`ReportInputError` naming the file, the item and what was expected."""
    keys = f" with {', '.join(required)}" if required else ""
    if not isinstance(items, list):
        raise ReportInputError(f"{path}: {what} is {_what(items)}, expected a list of objects{keys}")
    for k, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise ReportInputError(f"{path}: {what}, item {k} is {_what(item)}, expected an object{keys}")
        missing = [key for key in required if key not in item]
        if missing:
            raise ReportInputError(f"{path}: {what}, item {k} lacks {', '.join(missing)} (expected an object{keys})")
    return items


def _typed(path: Any, where: str, obj: dict[str, Any], key: str, types: tuple[type, ...], expected: str,
           optional: bool = True) -> None:
    """Raise ReportInputError unless ``obj[key]`` (absent or null when ``optional``) is of ``types``
    (``bool`` is never accepted as a number)."""
    if key not in obj or (optional and obj[key] is None):
        return
    v = obj[key]
    if not isinstance(v, types) or (isinstance(v, bool) and bool not in types):
        raise ReportInputError(f"{path}: {where}: {key!r} is {_what(v)}, expected {expected}")


_NUM = (int, float, str)  # numbers, and the strings 'inf', '-inf', 'nan' lipbound writes for non-finite ones
_NUM_WORDS = "a number (or 'inf', '-inf', 'nan')"


def _meta(path: Any, obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("meta")
    if meta is not None and not isinstance(meta, dict):
        raise ReportInputError(f"{path}: 'meta' is {_what(meta)}, expected an object")
    return dict(meta or {})


def _check_ledger_rows(path: Any, rows: list[dict[str, Any]]) -> None:
    """Types of the fields the report reads from ledger rows (recognised by claim/reading/status)."""
    from ..claims._ledger import KINDS, STATUSES

    for k, r in enumerate(rows, 1):
        where = f"row {k}"
        for key in ("claim", "reading", "status"):
            _typed(path, where, r, key, (str,), "a string", optional=False)
        if r["status"] not in STATUSES:
            raise ReportInputError(f"{path}: {where}: status {r['status']!r} is none of {', '.join(STATUSES)}")
        _typed(path, where, r, "expected", (bool,), "true, false or null")
        _typed(path, where, r, "cases", (int,), "an integer")
        _typed(path, where, r, "seed", (int,), "an integer")
        _typed(path, where, r, "tightest_ratio", _NUM, _NUM_WORDS)
        _typed(path, where, r, "seconds", _NUM, _NUM_WORDS)
        _typed(path, where, r, "counterexample", (dict,), "an object or null")
        for key in ("method", "detail", "proof"):
            _typed(path, where, r, key, (str,), "a string")
        _typed(path, where, r, "kind", (str,), "a string")
        if r.get("kind") is not None and r["kind"] not in KINDS:
            raise ReportInputError(f"{path}: {where}: kind {r['kind']!r} is none of {', '.join(KINDS)}")
        if r.get("cases_data") is not None:
            _objects(path, r["cases_data"], f"{where}: cases_data")


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
    #: ``lipbound bound --radii``: one row per radius (certified local bound beside PGD on that ball)
    sweep: list[dict[str, Any]] = field(default_factory=list)


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


#: the keys by which a JSON list is recognised as claim-ledger rows
LEDGER_KEYS = ("claim", "reading", "status")


def _is_ledger_rows(obj: Any) -> bool:
    return isinstance(obj, list) and all(isinstance(r, dict) and set(LEDGER_KEYS) <= set(r) for r in obj)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ReportInputError(f"{path}: not valid JSON ({type(exc).__name__}: {exc})") from exc
    except OSError as exc:
        raise ReportInputError(f"{path}: cannot read it ({exc})") from exc


def _read_jsonl(path: Path, notes: list[str]) -> list[dict[str, Any]]:
    """JSON lines; a malformed *last* line (a run interrupted mid-write) is skipped with a note,
    a malformed line elsewhere is an error."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                lines = fh.read().splitlines()
        else:
            lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise ReportInputError(f"{path}: cannot read it ({type(exc).__name__}: {exc})") from exc
    out = []
    for k, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            if k == len(lines) - 1:
                notes.append(f"{path.name}: skipped an incomplete last line {k + 1}")
                continue
            raise ReportInputError(f"{path}:{k + 1}: not a JSON object ({exc})") from exc
        if not isinstance(obj, dict):
            raise ReportInputError(f"{path}:{k + 1}: expected a JSON object, got {type(obj).__name__}")
        out.append(obj)
    return out


RECORD_KEYS = ("run_id", "dataset", "fusion", "trial", "lam", "epoch", "submodule", "metric", "value")


#: per-record fields that must be strings, and that must be integers
RECORD_STR = ("run_id", "dataset", "fusion", "submodule", "metric")
RECORD_INT = ("trial", "epoch")


def _check_records(path: Path, records: list[dict[str, Any]]) -> None:
    for k, r in enumerate(records, 1):
        missing = [key for key in RECORD_KEYS if key not in r]
        if missing:
            raise ReportInputError(f"{path}: record {k} lacks {missing}")
        for key in RECORD_STR:
            _typed(path, f"record {k}", r, key, (str,), "a string", optional=False)
        for key in RECORD_INT:
            _typed(path, f"record {k}", r, key, (int,), "an integer", optional=False)
        for key in ("value", "lam"):
            _typed(path, f"record {k}", r, key, _NUM, _NUM_WORDS)
        for key in ("kind", "method"):
            _typed(path, f"record {k}", r, key, (str,), "a string")
        r["value"] = as_float(r["value"])
        r["lam"] = as_float(r["lam"])


def _check_detection(path: Path, rows: list[dict[str, Any]]) -> None:
    for k, r in enumerate(rows, 1):
        where = f"line {k}"
        _typed(path, where, r, "run_id", (str,), "a string")
        if r.get("dataset") is None:
            continue
        for key in ("dataset", "fusion", "corruption"):
            _typed(path, where, r, key, (str,), "a string", optional=False)
        for key in ("tpr", "fpr", "threshold"):
            _typed(path, where, r, key, _NUM, _NUM_WORDS)
        for key in ("distances_clean", "distances_faulty"):
            _typed(path, where, r, key, (list,), "a list of numbers")
        conf = r.get("confusion")
        if conf is not None and not (isinstance(conf, list) and len(conf) == 2 and all(
                isinstance(row, list) and len(row) == 2 and all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in row) for row in conf)):
            raise ReportInputError(f"{path}: {where}: 'confusion' is not a 2 x 2 list of counts")


def _jsonl_path(d: Path, name: str) -> Path:
    """``d/name``, or its gzip-compressed form ``d/name.gz`` (compact results) when only that exists."""
    p = d / name
    gz = d / f"{name}.gz"
    return gz if not p.exists() and gz.exists() else p


def _load_reproduce(d: Path, meta: dict[str, Any], res: Results) -> None:
    notes: list[str] = []
    rec_path = _jsonl_path(d, "records.jsonl")
    records = _read_jsonl(rec_path, notes) if rec_path.exists() else []
    if not rec_path.exists():
        notes.append("no records.jsonl")
    _check_records(rec_path, records)
    det_path = _jsonl_path(d, "detection.jsonl")
    detection = _read_jsonl(det_path, notes) if det_path.exists() else []
    _check_detection(det_path, detection)
    recon: dict[str, np.ndarray] = {}
    npz = d / "reconstructions.npz"
    if npz.exists():
        try:
            with np.load(npz, allow_pickle=False) as z:
                recon = {k: np.asarray(z[k]) for k in z.files}
        except (OSError, ValueError, EOFError) as exc:
            raise ReportInputError(f"{npz}: cannot read it ({exc})") from exc
    res.reproduce.append(ReproduceDir(str(d), meta, records, detection, recon, notes))
    claims = d / "claims.json"
    if claims.exists():
        rows = _read_json(claims)
        _objects(claims, rows, "the claim-ledger rows", LEDGER_KEYS)
        _check_ledger_rows(claims, rows)
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
        _check_ledger_rows(path, obj)
        res.ledgers.append(LedgerRows(str(path), obj, {}))
        return
    kind = obj.get("kind") if isinstance(obj, dict) else None
    if kind == "lipbound-bracket":
        _typed(path, "the document", obj, "model", (str,), "a string")
        _typed(path, "the document", obj, "input_shape", (list,), "a list")
        results = _objects(path, obj.get("results"), "'results' of the lipbound-bracket document",
                           ("method", "kind", "value"))
        for k, r in enumerate(results, 1):
            for key in ("value", "seconds"):
                _typed(path, f"result {k}", r, key, _NUM, _NUM_WORDS)
        sweep = []
        if obj.get("radius_sweep") is not None:
            sweep = _objects(path, obj.get("radius_sweep"), "'radius_sweep' of the lipbound-bracket document",
                             ("radius", "local", "pgd"))
            for k, r in enumerate(sweep, 1):
                for key in ("radius", "local", "pgd"):
                    _typed(path, f"radius_sweep row {k}", r, key, _NUM, _NUM_WORDS)
        res.brackets.append(BracketDoc(str(path), str(obj.get("model") or path.stem),
                                       list(obj.get("input_shape") or []), results, _meta(path, obj), sweep))
    elif kind == "lipbound-pytest":  # the pytest plugin's summary (--lipbound-json): one bracket per check
        checks = _objects(path, obj.get("checks"), "'checks' of the lipbound-pytest document",
                          ("test", "check", "bound", "model", "passed"))
        meta = _meta(path, obj)
        for k, c in enumerate(checks, 1):
            rows = _objects(path, c.get("results") or [], f"'results' of check {k}", ("method", "kind", "value"))
            for j, r in enumerate(rows, 1):
                for key in ("value", "seconds"):
                    _typed(path, f"check {k}, result {j}", r, key, _NUM, _NUM_WORDS)
            if not rows:  # a refused model has no bracket: the document's own summary says why
                res.skipped.append(f"{path}: check {k} ({c.get('test')}): refused, no bracket")
                continue
            op = "<=" if str(c.get("check")).startswith("at_most") else ">="
            lip = f"Lip on {c.get('domain')}" if c.get("check") == "at_most_local" else "Lip"
            verdict = "passed" if c.get("passed") else "failed"
            name = f"{c.get('test') or '<outside a test>'}: {c.get('model')} ({lip} {op} {c.get('bound')}: {verdict})"
            res.brackets.append(BracketDoc(str(path), name, list(c.get("input_shape") or []), rows, meta))
    elif kind == "lipbound-mvae-measures":
        rows = _objects(path, obj.get("rows"), "'rows' of the lipbound-mvae-measures document",
                        ("schedule", "modality", "measure", "value"))
        lip = _objects(path, obj.get("lipschitz") or [], "'lipschitz' of the lipbound-mvae-measures document")
        for what, items in (("row", rows), ("lipschitz entry", lip)):
            for k, r in enumerate(items, 1):
                _typed(path, f"{what} {k}", r, "value", _NUM, _NUM_WORDS)
        res.mvae.append(MvaeDoc(str(path), rows, lip, _meta(path, obj)))
    elif kind == "lipbound-reproduce":
        _load_reproduce(path.parent, obj, res)
    elif strict and isinstance(obj, list):
        # the only list format is ledger rows, and this list is not one: _objects names the first
        # item that is no object or lacks a key, and raises
        _objects(path, obj, "the JSON list (read as claim-ledger rows)", LEDGER_KEYS)
    elif strict:
        got = f"kind={kind!r}" if isinstance(obj, dict) else f"the file holds {_what(obj)}"
        raise ReportInputError(
            f"{path}: not a result file lipbound knows (expected a list of claim-ledger rows, or an object with "
            f'"kind" lipbound-bracket, lipbound-pytest, lipbound-mvae-measures or lipbound-reproduce); {got}')
    else:
        res.skipped.append(str(path))


def _load_dir(d: Path, res: Results, *, depth: int) -> None:
    meta = d / "meta.json"
    if meta.exists():
        obj = _read_json(meta)
        if isinstance(obj, dict) and obj.get("kind") == "lipbound-reproduce":
            _load_reproduce(d, obj, res)
            return
    try:
        entries = sorted(d.iterdir())
    except OSError as exc:
        raise ReportInputError(f"{d}: cannot list the folder ({exc.strerror or exc})") from exc
    for p in entries:
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
