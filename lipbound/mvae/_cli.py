"""``lipbound mvae train`` and ``lipbound mvae measures``: the companion paper's VAE on the iCub data."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import LipboundError

#: training presets of ``lipbound mvae train`` (model variant "original" unless --variant says otherwise):
#: ``cpu`` is the committed study the ledger decides the findings on (4 schedules x 20 seeds trained as
#: one vectorised ensemble; learning rate 20x the original's to fit a CPU budget; docs/mvae.md), ``paper``
#: the paper's protocol (20 models x 80,000 epochs per schedule at the original's learning rate: a GPU
#: preset), ``quick`` a short look (3 seeds, 100 epochs)
PRESETS: dict[str, dict] = {
    "cpu": {"epochs": 600, "seeds": tuple(range(20)), "lr": 1e-3},
    "paper": {"epochs": 80_000, "seeds": tuple(range(20)), "lr": 5e-5},
    "quick": {"epochs": 100, "seeds": (0, 1, 2), "lr": 1e-3},
}
DEFAULT_PRESET = "cpu"
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
    t.add_argument("--preset", choices=sorted(PRESETS), default=DEFAULT_PRESET,
                   help=f"epochs, seeds and learning rate (default {DEFAULT_PRESET}: "
                        + "; ".join(f"{k}: {v['epochs']} epochs, {len(v['seeds'])} seeds, lr {v['lr']:g}" for k, v in PRESETS.items())
                        + "); the options below override it")
    t.add_argument("--variant", choices=("original", "lipbound-v1"), default="original",
                   help="model and loss: the original's (default) or lipbound's earlier variant (docs/mvae.md)")
    t.add_argument("--epochs", type=positive_int, default=None, help="epochs per run")
    t.add_argument("--fall", type=positive_int, default=None,
                   help="epochs of the dynamic schedules' fall from 1 to 0 (default: epochs / 80, the original's 1000 of 80,000)")
    t.add_argument("--seeds", type=_seeds, default=None, metavar="S[,S...]", help="training seeds")
    t.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"results directory (default {DEFAULT_OUT})")
    t.add_argument("--batch-size", type=positive_int, default=None, help="minibatch size (default: the variant's)")
    t.add_argument("--lr", type=positive_float, default=None, help="Adam learning rate (default: the preset's)")
    t.add_argument("--device", default="cpu", help="torch device of the ensemble (cpu, cuda, cuda:1, ...)")
    t.add_argument("--workers", type=positive_int, default=None,
                   help="processes, one ensemble each (default: one per CPU core, at most 2, on cpu; 1 on cuda)")
    t.add_argument("--brackets", action=argparse.BooleanOptionalAction, default=True,
                   help="Lipschitz brackets of each finished model (default on)")
    t.add_argument("--lipsdp", action="store_true", help="add LipSDP-neuron upper bounds to the brackets (slower)")
    t.add_argument("--data", metavar="DIR", help="folder of the iCub .mat files (default: $LIPBOUND_ICUB_DIR, "
                   "else ../shared/data/icub-multimodal)")
    t.set_defaults(func=_cmd_train)
    m = sub.add_parser("measures", help="print the four KL measures per modality per schedule (mean +- std over seeds)")
    m.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"results directory (default {DEFAULT_OUT})")
    m.add_argument("--json", metavar="PATH", help="write the measures as JSON to PATH ('-' for stdout)")
    m.set_defaults(func=_cmd_measures)


def _cmd_train(args: argparse.Namespace) -> int:
    import os

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..experiments._safety import check_out_dir
    from ._data import load_icub
    from ._model import variant
    from ._schedules import SCHEDULES
    from ._train import RunSpec, check_runs, train_group

    preset = PRESETS[args.preset]
    epochs = args.epochs or preset["epochs"]
    seeds = list(dict.fromkeys(args.seeds if args.seeds is not None else preset["seeds"]))
    changes = {"lr": args.lr or preset["lr"]}
    if args.batch_size is not None:
        changes["batch_size"] = args.batch_size
    cfg = variant(args.variant, **changes)
    device = _device(args.device)
    check_out_dir(args.out)
    schedules = args.schedule or list(SCHEDULES)
    specs = [RunSpec(s, k, epochs, cfg, args.fall) for s in schedules for k in seeds]
    check_runs(specs, args.out)  # every run, before any training: another spec is an error, never replaced
    data = load_icub(args.data)
    console = Console(stderr=True)
    workers = args.workers or (1 if device.type == "cuda" else max(1, min(2, os.cpu_count() or 1)))
    workers = min(workers, len(specs))
    console.print(f"training {len(specs)} runs ({', '.join(schedules)} x seeds {seeds[0]}..{seeds[-1]}) as "
                  f"{'one ensemble' if workers == 1 else f'{workers} ensembles (one process each)'}: "
                  f"variant {args.variant}, {epochs} epochs, fall {specs[0].fall}, lr {cfg.lr:g}, batch {cfg.batch_size}, "
                  f"device {device}")
    if workers > 1:
        from ._train import train_parallel

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as progress:
            task = progress.add_task("processes finished", total=workers)
            done = train_parallel(specs, args.out, workers=workers, data_folder=args.data, lipsdp=args.lipsdp,
                                  brackets=args.brackets, device=str(device),
                                  on_done=lambda ids: progress.advance(task))
    else:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as progress:
            task = progress.add_task("epochs", total=epochs)
            first = specs[0]

            def on_epoch(spec, epoch, rec):
                if spec is first:
                    progress.update(task, completed=epoch + 1,
                                    description=f"epoch {epoch + 1} ({spec.run_id} loss {rec['loss']:.3f})")

            done = train_group(specs, args.out, data, lipsdp=args.lipsdp, brackets=args.brackets, on_epoch=on_epoch,
                               device=device)
    for d in done:
        g, c = d["diagnostics"], d["convergence"]
        console.print(f"{d['run_id']}: test MSE {g['mse']:.4f}, latent KL {g['latent_kl']:.2f} nats, "
                      f"{int(g['active_units'])} active units; {c['status']}")
    console.print(f"results in {Path(args.out)}; next: lipbound mvae measures --out {args.out}")
    return 0


def _device(name: str):
    import torch

    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError):
        raise LipboundError(f"--device {name!r} is not a torch device (cpu, cuda, cuda:1, ...)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise LipboundError(f"--device {name}: CUDA is not available on this machine (torch {torch.__version__})")
    if dev.type not in ("cpu", "cuda"):
        raise LipboundError(f"--device {name}: only cpu and cuda are supported")
    return dev


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
