"""``lipbound train`` (one run) and ``lipbound reproduce`` (a preset sweep); both write the results
directory described in ``docs/experiments.md``.

This module joins two packages that do not import each other the other way round: it runs the
sweep of :mod:`lipbound.experiments` and hands it the empirical claims' evaluation
(:func:`lipbound.claims.empirical.evaluate_results`), which writes ``claims.json``. The claims read
the experiments' results; the experiments know nothing of the claims.
"""

from __future__ import annotations

import argparse
import shlex
import sys


def _claims_rows(out) -> list[dict]:
    """The empirical claims' rows on the results directory ``out`` (what ``claims.json`` holds)."""
    from .claims.empirical import evaluate_results

    return [r.as_dict() for r in evaluate_results(out)]


def _command(argv_tail: list[str]) -> str:
    return "lipbound " + " ".join(shlex.quote(a) for a in argv_tail)


def _device_check(device: str) -> None:
    import torch

    from .errors import LipboundError

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise LipboundError("--device cuda was asked for, but torch.cuda.is_available() is False "
                            "(a CPU build of torch or no GPU); use --device cpu")


def _summary(summary, console) -> int:
    """Print what the sweep did; exit code 1 if a run failed or is still being trained elsewhere."""
    elsewhere = f", {len(summary.running_elsewhere)} running elsewhere" if summary.running_elsewhere else ""
    console.print(f"{len(summary.trained)} run(s) trained, {len(summary.skipped)} already finished, "
                  f"{len(summary.failed)} failed{elsewhere}; results in {summary.out} ({summary.seconds:.1f} s)")
    for rid, err in summary.failed.items():
        console.print(f"[red]{rid}: {err}")
    for rid in summary.running_elsewhere:
        console.print(f"[yellow]{rid}: running elsewhere (another process holds its lock; not trained here, not "
                      "finished): rerun when that process has ended")
    return 1 if summary.failed or summary.running_elsewhere else 0


def _cmd_train(args: argparse.Namespace) -> int:
    from rich.console import Console

    from .experiments._config import RunConfig, folder_dataset
    from .experiments._data import get_dataset, known_datasets
    from .experiments._safety import check_out_dir
    from .experiments._sweep import run_sweep

    dataset = args.dataset
    if dataset.startswith("folder:"):
        dataset = folder_dataset(dataset)  # a missing folder: DatasetFolderError (exit 2)
        get_dataset(dataset)  # the layout is checked now, not in the middle of the sweep
    elif dataset not in known_datasets():
        from .datasets import UnknownDatasetError

        raise UnknownDatasetError(f"unknown dataset {dataset!r}; known: {', '.join(known_datasets())}, or "
                                  "folder:PATH for your own data")
    _device_check(args.device)
    check_out_dir(args.out)
    cfg = RunConfig(dataset, args.fusion, trial=0, lam=args.lam, epochs=args.epochs, lr=args.lr,
                    seed=args.seed, device=args.device, size=args.size, arch=args.arch, track_every=args.track_every)
    s = run_sweep(args.out, [cfg], preset="train", command=_command(sys.argv[1:]) if args.command is None else args.command,
                  progress=not args.no_progress, claims=False, evaluate_claims=_claims_rows)
    return _summary(s, Console(stderr=True))


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from rich.console import Console

    from .experiments._safety import check_out_dir
    from .experiments._sweep import plan, run_sweep

    _device_check(args.device)
    check_out_dir(args.out)
    configs = plan(args.preset, datasets=args.dataset, fusions=args.fusion, trials=args.trials, epochs=args.epochs,
                   device=args.device, seed=args.seed)
    console = Console(stderr=True)
    console.print(f"preset {args.preset}: {len(configs)} runs, executor {args.executor}, {args.workers} worker(s)")
    s = run_sweep(args.out, configs, preset=args.preset, executor=args.executor, workers=args.workers,
                  command=_command(sys.argv[1:]) if args.command is None else args.command,
                  progress=not args.no_progress, evaluate_claims=_claims_rows)
    return _summary(s, console)


def register(subparsers) -> None:
    """Add the ``train`` and ``reproduce`` subcommands (numbers are range-checked when parsed)."""
    from .experiments._config import ALL_FUSIONS, PRESETS
    from .experiments._safety import non_negative_float, non_negative_int, positive_float, positive_int, track_every

    t = subparsers.add_parser("train", help="train one multimodal autoencoder with Lipschitz tracking")
    t.add_argument("--dataset", required=True,
                   help="dataset name (lipbound.datasets, or synthetic-3), or folder:PATH for your own data")
    t.add_argument("--fusion", required=True, choices=ALL_FUSIONS, help="fusion")
    t.add_argument("--epochs", type=positive_int, default=5, metavar="N", help="epochs (default 5)")
    t.add_argument("--lam", type=non_negative_float, default=None, metavar="L",
                   help="L2 weight of the attention score matrices (default: the fusion's)")
    t.add_argument("--lr", type=positive_float, default=1e-3, help="Adam learning rate (default 1e-3)")
    t.add_argument("--seed", type=non_negative_int, default=0, metavar="S", help="seed of weights and batch order (default 0)")
    t.add_argument("--size", choices=("small", "paper"), default="small", help="dataset size (default small)")
    t.add_argument("--arch", choices=("small", "medium", "paper"), default="small",
                   help="architecture (default small; medium: Section 5.3 on 32-pixel images; paper: Section 5.3)")
    t.add_argument("--track-every", type=track_every, default=0, metavar="K",
                   help="Lipschitz tracking every K epochs; 0 = automatic (<= 15%% of training time), -1 = off")
    t.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    t.add_argument("--out", required=True, metavar="DIR", help="results directory")
    t.add_argument("--no-progress", action="store_true", help="no progress bars")
    t.set_defaults(func=_cmd_train, command=None)

    r = subparsers.add_parser("reproduce", help="run a preset sweep of the paper's experiments (Section 5)")
    r.add_argument("--preset", required=True, choices=tuple(PRESETS), help="tiny | smoke | medium (the CPU preset) | paper (for a GPU)")
    r.add_argument("--dataset", action="append", metavar="NAME",
                   help="dataset, or folder:PATH (repeatable; default: the preset's)")
    r.add_argument("--fusion", action="append", metavar="NAME", help="fusion (repeatable; default: the preset's)")
    r.add_argument("--trials", type=positive_int, default=None, metavar="N", help="trials per dataset x fusion")
    r.add_argument("--epochs", type=positive_int, default=None, metavar="N", help="epochs per run (default: the preset's)")
    r.add_argument("--seed", type=non_negative_int, default=0, metavar="S", help="base seed (trial t uses S + t)")
    r.add_argument("--executor", choices=("local", "ray"), default="local", help="local process pool or Ray")
    r.add_argument("--workers", type=positive_int, default=1, metavar="N", help="parallel runs (default 1)")
    r.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    r.add_argument("--out", required=True, metavar="DIR", help="results directory (rerun to resume)")
    r.add_argument("--no-progress", action="store_true", help="no progress bars")
    r.set_defaults(func=_cmd_reproduce, command=None)
