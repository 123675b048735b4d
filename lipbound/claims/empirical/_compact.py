r"""Compact results: what the empirical claims read from a sweep, small enough to commit.

A results directory of ``lipbound reproduce`` holds every record of every epoch (tens of MB for a
full preset). :func:`compact_results` keeps what :class:`~lipbound.claims.empirical.Results` and
the report's training figures need:

* the whole model's training and test loss at every epoch (the convergence curves);
* every record of the whole model and of each modality at the run's final epoch (losses,
  Lipschitz brackets, parameter norms);
* every ``lipschitz`` record of the whole model (the tracked epochs);
* the detection rows without their per-sample distance lists;

gzip-compressed (``records.jsonl.gz``, ``detection.jsonl.gz``), with the sweep's ``meta.json`` and a
``compact`` entry in it saying what was kept, from where, and the sha256 of the source files.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from pathlib import Path

from ..._io import atomic_write_bytes, atomic_write_json
from ...errors import LipboundError

#: metrics of the whole model kept at every epoch
CURVE_METRICS = ("train_loss", "test_loss")
#: fields of a detection row dropped by the compaction (per-sample lists)
DROPPED_DETECTION_FIELDS = ("distances_clean", "distances_faulty")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _jsonl(rows: list[dict]) -> bytes:
    text = "".join(json.dumps(r, allow_nan=False, sort_keys=True) + "\n" for r in rows)
    return gzip.compress(text.encode("utf-8"), mtime=0)  # mtime 0: the same rows give the same bytes


def compact_results(src: str | os.PathLike, dest: str | os.PathLike) -> dict:
    """Write the compact form of results directory ``src`` into ``dest`` (see the module
    docstring); returns the ``compact`` entry added to ``dest/meta.json``. ``dest`` must be new,
    empty, or an earlier compact form (its ``meta.json`` has a ``compact`` entry)."""
    from ._source import DETECTION_FIELDS, RECORD_FIELDS, read_lines

    src, dest = Path(src), Path(dest)
    if not (src / "records.jsonl").is_file() or not (src / "meta.json").is_file():
        raise LipboundError(f"{src} is not a results directory of lipbound reproduce (records.jsonl, meta.json)")
    if dest.exists() and any(dest.iterdir()):
        try:
            ok = "compact" in json.loads((dest / "meta.json").read_text())
        except (OSError, ValueError):
            ok = False
        if not ok:
            raise LipboundError(f"{dest} holds files that are not a compact results folder of lipbound; "
                                "choose an empty or new folder")
    status = json.loads((src / "meta.json").read_text()).get("status")
    if status != "complete":
        raise LipboundError(f"the sweep in {src} is not complete (status {status!r}): rerun its lipbound reproduce "
                            "command to finish it before compacting (the claims would be decided on part of it)")
    recs = read_lines(src / "records.jsonl", RECORD_FIELDS)
    last: dict[str, int] = {}
    for r in recs:
        last[r["run_id"]] = max(last.get(r["run_id"], -1), int(r["epoch"]))
    keep = [r for r in recs
            if (r["submodule"] == "model" and (r["metric"] in CURVE_METRICS or r["metric"] == "lipschitz"))
            or (int(r["epoch"]) == last[r["run_id"]] and (r["submodule"] == "model" or r["submodule"].startswith("modality:")
                                                         or r["metric"] in ("lipschitz", "param_norm")))]
    det = []
    if (src / "detection.jsonl").is_file():
        det = [{k: v for k, v in d.items() if k not in DROPPED_DETECTION_FIELDS}
               for d in read_lines(src / "detection.jsonl", DETECTION_FIELDS)]
    meta = json.loads((src / "meta.json").read_text())
    info = {"source": str(src), "records_kept": len(keep), "records_total": len(recs), "detection_rows": len(det),
            "kept": "whole-model train/test loss every epoch, whole-model Lipschitz records, every whole-model and "
                    "per-modality record at each run's final epoch, detection rows without distance lists",
            "source_sha256": {n: _sha256(src / n) for n in ("records.jsonl", "detection.jsonl", "meta.json")
                              if (src / n).is_file()}}
    dest.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(dest / "records.jsonl.gz", _jsonl(keep))
    atomic_write_bytes(dest / "detection.jsonl.gz", _jsonl(det))
    atomic_write_json(dest / "meta.json", {**meta, "compact": info})
    return info


def main(argv: list[str] | None = None) -> int:
    """``python -m lipbound.claims.empirical._compact SRC DEST``: :func:`compact_results` from the
    command line (``make results`` runs it after the medium sweep); exit 2 with a message on bad input."""
    import argparse
    import sys

    p = argparse.ArgumentParser(prog="python -m lipbound.claims.empirical._compact",
                                description="Write the compact form of a results directory (what the empirical "
                                            "claims read) into DEST.")
    p.add_argument("src", help="results directory of lipbound reproduce")
    p.add_argument("dest", help="new, empty, or earlier compact results folder")
    args = p.parse_args(argv)
    try:
        info = compact_results(args.src, args.dest)
    except LipboundError as exc:
        print(f"lipbound: error: {exc}", file=sys.stderr)
        return 2
    print(f"kept {info['records_kept']} of {info['records_total']} records and {info['detection_rows']} detection "
          f"rows in {args.dest}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
