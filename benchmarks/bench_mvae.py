"""Time the multimodal VAE (lipbound.mvae) on the iCub data: per-epoch time per schedule, and the
default run's length (4 schedules x 3 seeds x 200 epochs) extrapolated from it or, with --full,
measured. Writes section "mvae" of benchmarks/RESULTS.md.

    python benchmarks/bench_mvae.py                # per-epoch time (5 epochs per schedule), extrapolation
    python benchmarks/bench_mvae.py --full         # also runs `lipbound mvae train` at full length and times it
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._results import command_line, machine, write_section  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=5, help="epochs per schedule for the per-epoch timing (default 5)")
    p.add_argument("--full", action="store_true", help="also time the full default run (4 x 3 x 200 epochs)")
    p.add_argument("--keep", default=None, metavar="DIR",
                   help="with --full: keep the full run's results in DIR (empty or new; e.g. lipbound-report/mvae)")
    p.add_argument("--no-write", action="store_true", help="print the section instead of writing RESULTS.md")
    args = p.parse_args(argv)

    from lipbound.mvae import SCHEDULES, RunSpec, VAEConfig, load_icub, train_run
    from lipbound.mvae._cli import DEFAULT_EPOCHS, DEFAULT_SEEDS

    data = load_icub()
    cfg = VAEConfig()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for s in SCHEDULES:
            t0 = time.perf_counter()
            done = train_run(RunSpec(s, 0, args.epochs, cfg), tmp, data)
            wall = time.perf_counter() - t0
            per_epoch = [h["seconds"] for h in done["history"]]
            cpu = [h["cpu_seconds"] for h in done["history"]]
            rows.append((s, min(per_epoch), sum(per_epoch) / len(per_epoch), wall - sum(per_epoch), sum(cpu) / len(cpu)))
    mean_epoch = sum(r[2] for r in rows) / len(rows)
    n_runs = len(SCHEDULES) * len(DEFAULT_SEEDS)
    overhead = sum(r[3] for r in rows) / len(rows)
    predicted = n_runs * (DEFAULT_EPOCHS * mean_epoch + overhead)
    mean_cpu = sum(r[4] for r in rows) / len(rows)
    predicted_cpu = n_runs * (DEFAULT_EPOCHS * mean_cpu + overhead)
    lines = [
        "## mvae: multimodal VAE on the iCub data (lipbound.mvae)", "",
        f"Command: `{command_line()}`. Machine: {machine()}.", "",
        f"Default model (encoders [40,20]/[10,5], shared 100, latent 28), batch {cfg.batch_size}, Adam lr {cfg.lr}, "
        f"7380 training rows, one torch thread; {args.epochs} epochs per schedule, seed 0.", "",
        "| schedule | fastest epoch (s) | mean epoch (s) | mean epoch, CPU time (s) | per-run overhead: measures + brackets (s) |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {s} | {a:.3f} | {b:.3f} | {d:.3f} | {c:.2f} |" for s, a, b, c, d in rows]
    lines += ["", f"Default run (`lipbound mvae train`: {len(SCHEDULES)} schedules x {len(DEFAULT_SEEDS)} seeds x "
              f"{DEFAULT_EPOCHS} epochs = {n_runs} runs), extrapolated from the mean epoch: **{predicted / 60:.1f} min** "
              f"wall ({predicted_cpu / 60:.1f} min from the CPU time, i.e. on an otherwise idle core)."]
    if args.full:
        from lipbound.cli import main as cli

        with tempfile.TemporaryDirectory() as tmp:
            out = args.keep or tmp
            if args.keep and Path(args.keep).exists() and any(Path(args.keep).iterdir()):
                raise SystemExit(f"--keep {args.keep} is not empty: a resumed run would not measure the wall time")
            t0 = time.perf_counter()
            rc = cli(["mvae", "train", "--out", str(out)])
            full = time.perf_counter() - t0
        lines.append(f"Measured full default run: **{full / 60:.1f} min** (exit status {rc}).")
    else:
        lines.append("Full default run not measured here (rerun with `--full`).")
    text = "\n".join(lines) + "\n"
    if args.no_write:
        print(text)
    else:
        write_section("mvae", text)
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
