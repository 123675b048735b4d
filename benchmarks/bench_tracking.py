"""Lipschitz tracking overhead and the smoke preset's wall time (section "training" of RESULTS.md).

1. Epoch time with tracking on (the default automatic schedule, at most 15% of training time;
   the final epoch is tracked only if nothing was before) vs off, the same run (dataset, fusion, seed) side by side in one
   process: ratio = (training + tracking seconds) / (training seconds without tracking). Target <= 1.15.
2. The smoke preset (all fusions x all generated datasets x 3 trials, small images) end to end
   with the local executor: wall time (target < 10 minutes on a 2-core CPU).

Usage (from the repository root)::

    python -m benchmarks.bench_tracking                       # full size
    python -m benchmarks.bench_tracking --epochs 4 --datasets synthetic --no-smoke --no-write   # quick check
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch


def overhead(dataset: str, fusion: str, epochs: int, repeats: int) -> dict:
    from lipbound.experiments import RunConfig, get_dataset, train_run

    ds = get_dataset(dataset, size="small", seed=0)
    rows = {"on": [], "off": []}
    tmp = Path(tempfile.mkdtemp(prefix="bench-tracking-"))
    try:
        # warm-up (imports, first-call costs) outside the measurement
        train_run(RunConfig(dataset, fusion, epochs=1, detect=False), tmp / "warm", dataset=ds)
        for r in range(repeats):
            for mode, every in (("off", -1), ("on", 0)):  # alternate so load drifts hit both
                cfg = RunConfig(dataset, fusion, epochs=epochs, track_every=every, detect=False, seed=r)
                t0 = time.perf_counter()
                res = train_run(cfg, tmp / f"{mode}{r}", dataset=ds)
                wall = time.perf_counter() - t0
                train = sum(x["value"] for x in res.records if x["metric"] == "epoch_seconds")
                track = sum(x["value"] for x in res.records if x["metric"] == "tracking_seconds")
                rows[mode].append({"wall": wall, "train": train, "track": track,
                                   "tracked_epochs": len({x["epoch"] for x in res.records if x["metric"] == "lipschitz"})})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    off = statistics.median(x["train"] for x in rows["off"])
    on = statistics.median(x["train"] + x["track"] for x in rows["on"])
    return {"dataset": dataset, "fusion": fusion, "epochs": epochs, "repeats": repeats, "off_s": off, "on_s": on,
            "ratio": on / off, "tracked_epochs": rows["on"][0]["tracked_epochs"],
            "track_share": statistics.median(x["track"] / x["train"] for x in rows["on"])}


def smoke(workers: int, trials: int | None, datasets: list[str] | None, keep: Path | None = None) -> dict:
    from lipbound.experiments import plan, run_sweep

    configs = plan("smoke", trials=trials, datasets=datasets)
    if keep is not None and keep.exists() and any(keep.iterdir()):
        raise SystemExit(f"--smoke-out {keep} is not empty: a resumed sweep would not measure the wall time")
    out = keep or Path(tempfile.mkdtemp(prefix="bench-smoke-"))
    t0 = time.perf_counter()
    try:
        s = run_sweep(out, configs, preset="smoke", workers=workers, progress=False)
    finally:
        if keep is None:
            shutil.rmtree(out, ignore_errors=True)
    return {"runs": len(configs), "workers": workers, "seconds": time.perf_counter() - t0, "failed": len(s.failed)}


def main() -> None:
    from benchmarks._results import command_line, machine, write_section

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=None, help="datasets of the overhead measurement "
                    "(default: the smoke preset's generated datasets)")
    ap.add_argument("--fusions", nargs="+", default=["sum", "attention-regularized-scaled"])
    ap.add_argument("--epochs", type=int, nargs="+", default=[30, 100],
                    help="run lengths of the overhead runs (default 30 100)")
    ap.add_argument("--repeats", type=int, default=3, help="runs per mode (median reported; default 3)")
    ap.add_argument("--workers", type=int, default=2, help="workers of the smoke sweep (default 2)")
    ap.add_argument("--smoke-trials", type=int, default=None, help="trials of the smoke sweep (default: the preset's 3)")
    ap.add_argument("--smoke-datasets", nargs="+", default=None, help="datasets of the smoke sweep (default: all generated)")
    ap.add_argument("--no-smoke", action="store_true", help="skip the smoke sweep")
    ap.add_argument("--smoke-out", type=Path, default=None,
                    help="keep the smoke sweep's results in this (empty or new) directory, e.g. lipbound-results/smoke")
    ap.add_argument("--no-overhead", action="store_true", help="skip the tracking-overhead measurement")
    ap.add_argument("--no-write", action="store_true", help="print only; do not write benchmarks/RESULTS.md")
    args = ap.parse_args()
    torch.set_num_threads(1)
    from lipbound.experiments import generated_datasets

    ds_list = args.datasets or list(generated_datasets())
    rows = [] if args.no_overhead else [overhead(d, f, e, args.repeats) for e in args.epochs for d in ds_list
                                        for f in args.fusions]
    lines = ["## training", "", f"Command: `{command_line()}`", "", f"Machine: {machine()}", "",
             "Lipschitz tracking overhead at the default (automatic) frequency: training seconds with tracking "
             "(training + tracking) / training seconds without, medians of the repeats, same process, modes "
             "alternated; target <= 1.15. The first tracking's cost is unknown until measured (assumed: two epochs), so "
             "when one tracking costs many epochs (small datasets, image models) short runs overshoot.", "",
             "| dataset | fusion | epochs | tracked epochs | off (s) | on (s) | ratio | tracking / training |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['dataset']} | {r['fusion']} | {r['epochs']} | {r['tracked_epochs']} | {r['off_s']:.2f} | "
                     f"{r['on_s']:.2f} | {r['ratio']:.3f} | {r['track_share']:.3f} |")
    if not args.no_smoke:
        s = smoke(args.workers, args.smoke_trials, args.smoke_datasets, args.smoke_out)
        lines += ["", f"Smoke preset: {s['runs']} runs with the local executor, {s['workers']} workers: "
                      f"{s['seconds']:.0f} s wall ({s['seconds'] / 60:.1f} min; target < 10 min), {s['failed']} failed."]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        write_section("training", text)


if __name__ == "__main__":
    main()
