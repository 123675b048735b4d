"""``lipbound mvae train`` and ``lipbound mvae measures``: the companion paper's VAE on the iCub data."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import LipboundError

#: the default run: all four schedules, 3 seeds, 200 epochs (about 10 minutes on one idle CPU core)
DEFAULT_EPOCHS = 200
DEFAULT_SEEDS = (0, 1, 2)
DEFAULT_OUT = "lipbound-report/mvae"


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.replace(",", " ").split()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must be integers separated by commas, got {text!r}") from None
    if not seeds or any(s < 0 for s in seeds):
        raise argparse.ArgumentTypeError(f"need one or more non-negative seeds, got {text!r}")
    return seeds


def register(subparsers) -> None:
    """Add ``mvae train`` and ``mvae measures`` to the ``lipbound`` parser."""
    from ..experiments._safety import positive_float, positive_int
    from ._schedules import SCHEDULES

    p = subparsers.add_parser("mvae", help="the multimodal VAE of arXiv 2411.00522 on the iCub data")
    sub = p.add_subparsers(dest="mvae_command", required=True)
    t = sub.add_parser("train", help="train one run per (schedule, seed); resumes interrupted runs")
    t.add_argument("--schedule", action="append", choices=SCHEDULES, metavar="NAME",
                   help=f"KL weight schedule (repeatable; default: all of {', '.join(SCHEDULES)})")
    t.add_argument("--epochs", type=positive_int, default=DEFAULT_EPOCHS, help=f"epochs per run (default {DEFAULT_EPOCHS})")
    t.add_argument("--seeds", type=_seeds, default=list(DEFAULT_SEEDS), metavar="S[,S...]",
                   help="training seeds (default 0,1,2)")
    t.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"results directory (default {DEFAULT_OUT})")
    t.add_argument("--batch-size", type=positive_int, default=None, help="minibatch size (default 512)")
    t.add_argument("--lr", type=positive_float, default=None, help="Adam learning rate (default 2e-3)")
    t.add_argument("--lipsdp", action="store_true", help="add LipSDP-neuron upper bounds to the brackets (slower)")
    t.add_argument("--data", metavar="DIR", help="folder of the iCub .mat files (default: $LIPBOUND_ICUB_DIR, "
                   "else ../shared/data/icub-multimodal)")
    t.set_defaults(func=_cmd_train)
    m = sub.add_parser("measures", help="print the four KL measures per modality per schedule (mean +- std over seeds)")
    m.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"results directory (default {DEFAULT_OUT})")
    m.add_argument("--json", metavar="PATH", help="write the measures as JSON to PATH ('-' for stdout)")
    m.set_defaults(func=_cmd_measures)


def _cmd_train(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..experiments._safety import check_out_dir
    from ._data import load_icub
    from ._model import VAEConfig
    from ._schedules import SCHEDULES
    from ._train import RunSpec, check_runs, train_run

    if args.epochs < 1:
        raise LipboundError(f"--epochs must be at least 1, got {args.epochs}")
    check_out_dir(args.out)
    cfg = VAEConfig()
    if args.batch_size is not None:
        cfg = replace(cfg, batch_size=args.batch_size)
    if args.lr is not None:
        cfg = replace(cfg, lr=args.lr)
    schedules = args.schedule or list(SCHEDULES)
    specs = [RunSpec(s, k, args.epochs, cfg) for s in schedules for k in dict.fromkeys(args.seeds)]
    check_runs(specs, args.out)  # every run, before any training: another spec is an error, never replaced
    data = load_icub(args.data)
    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        total = progress.add_task("all runs", total=len(specs) * args.epochs)
        for spec in specs:
            task = progress.add_task(spec.run_id, total=args.epochs)

            def on_epoch(epoch, rec, task=task):
                progress.update(task, completed=epoch + 1,
                                description=f"{spec.run_id} beta={rec['beta']:.2f} loss={rec['loss']:.3f}")
                progress.advance(total)

            done = train_run(spec, args.out, data, lipsdp=args.lipsdp, on_epoch=on_epoch)
            progress.update(task, completed=args.epochs)
            progress.remove_task(task)
            progress.update(total, completed=(specs.index(spec) + 1) * args.epochs)
            d = done["diagnostics"]
            console.print(f"{spec.run_id}: test MSE {d['mse']:.4f}, latent KL {d['latent_kl']:.2f} nats, "
                          f"{int(d['active_units'])} active units, {done['train_seconds']:.1f} s training")
    console.print(f"results in {Path(args.out)}; next: lipbound mvae measures --out {args.out}")
    return 0


def measures_payload(out: str | Path) -> dict:
    """The JSON of ``lipbound mvae measures``: ``{"kind": "lipbound-mvae-measures", "rows": [...],
    "lipschitz": [...], "diagnostics": [...], "meta": {...}}``; rows are ``{schedule, seed, modality,
    measure, value}``."""
    import platform

    import torch

    from .._version import __version__
    from ._train import completed_runs

    runs = completed_runs(out)
    if not runs:
        raise LipboundError(f"no finished runs in {out}; train first with `lipbound mvae train --out {out}`")
    rows, lip, diag = [], [], []
    for d in runs:
        s, k = d["spec"]["schedule"], d["spec"]["seed"]
        for measure, per in d["measures"].items():
            for modality, v in per.items():
                rows.append({"schedule": s, "seed": k, "modality": modality, "measure": measure, "value": v})
        lip += [{"schedule": s, "seed": k, **r} for r in d.get("lipschitz", [])]
        diag.append({"schedule": s, "seed": k, **d["diagnostics"], "train_seconds": d["train_seconds"],
                     "epochs": d["spec"]["epochs"]})
    meta = {"lipbound": __version__, "torch": torch.__version__, "python": platform.python_version(),
            "results_dir": str(out), "runs": [d["run_id"] for d in runs],
            "definitions": "docs/mvae.md; KL(full-input output || partial-input output), factorized Gaussians, "
                           "decoded at the latent mean, averaged over the 1487 test samples"}
    return {"kind": "lipbound-mvae-measures", "rows": rows, "lipschitz": lip, "diagnostics": diag, "meta": meta}


def _ms(vals: list[float]) -> str:
    import numpy as np

    v = np.asarray(vals, dtype=float)
    sd = v.std(ddof=1) if len(v) > 1 else 0.0
    return f"{v.mean():.3g} ± {sd:.2g}"


def _cmd_measures(args: argparse.Namespace) -> int:
    import json
    import sys

    from rich.console import Console
    from rich.table import Table

    from .._io import atomic_write_json
    from ._data import MODALITIES
    from ._measures import MEASURES

    payload = measures_payload(args.out)
    console = Console(stderr=args.json == "-", width=None if sys.stdout.isatty() else 140)
    schedules = list(dict.fromkeys(r["schedule"] for r in payload["rows"]))
    for s in schedules:
        seeds = sorted({r["seed"] for r in payload["rows"] if r["schedule"] == s})
        table = Table(title=f"schedule {s}: KL measures (nats), mean ± std over seeds {seeds}")
        table.add_column("modality")
        for m in MEASURES:
            table.add_column(m, justify="right")
        for mod in MODALITIES:
            table.add_row(mod, *[_ms([r["value"] for r in payload["rows"]
                                      if r["schedule"] == s and r["modality"] == mod and r["measure"] == m])
                                 for m in MEASURES])
        console.print(table)
    table = Table(title="reconstruction, latent and Lipschitz brackets (mean ± std over seeds)")
    for col in ("schedule", "test MSE", "latent KL", "active units", "encoder: lower .. upper", "decoder: lower .. upper"):
        table.add_column(col, justify="right")
    for s in schedules:
        dg = [d for d in payload["diagnostics"] if d["schedule"] == s]
        cells = []
        for sub in ("encoder", "decoder"):
            lo = [r["value"] for r in payload["lipschitz"] if r["schedule"] == s and r["submodule"] == sub and r["kind"] == "lower"]
            up = [r["value"] for r in payload["lipschitz"] if r["schedule"] == s and r["submodule"] == sub
                  and r["kind"] == "certified-upper"]
            cells.append(f"{_ms(lo)} .. {_ms(up)}" if lo and up else "-")
        table.add_row(s, _ms([d["mse"] for d in dg]), _ms([d["latent_kl"] for d in dg]),
                      _ms([d["active_units"] for d in dg]), *cells)
    console.print(table)
    console.print("lower = power iteration at test inputs (an evaluation), upper = certified spectral product"
                  " (or LipSDP when trained with --lipsdp); Euclidean norms, encoder x -> mu_z, decoder z -> mu.")
    if args.json == "-":
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    elif args.json:
        atomic_write_json(args.json, payload)
        console.print(f"wrote {len(payload['rows'])} rows to {args.json}")
    return 0
