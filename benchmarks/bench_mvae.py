"""Time the multimodal VAE (lipbound.mvae) on the iCub data: training E runs as one vectorised ensemble
against the per-model loop (the same E runs one after another), side by side in one run, and the
presets' lengths projected from the measured rate. Writes section "mvae-ensemble" of
benchmarks/RESULTS.md.

    python benchmarks/bench_mvae.py                      # E = 20 runs x 3 epochs, both ways, CPU
    python benchmarks/bench_mvae.py --sizes 4,20,80 --device cuda   # on a GPU, when one is available
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._results import command_line, machine, write_section  # noqa: E402


def _specs(n: int, epochs: int, cfg):
    from lipbound.mvae import SCHEDULES, RunSpec

    return [RunSpec(SCHEDULES[k % 4], k // 4, epochs, cfg) for k in range(n)]


def _train_seconds(done: list[dict]) -> float:
    """Seconds spent in training epochs (each run's per-epoch records; an ensemble's epoch time is
    shared equally by its members, so the sum over runs is the total)."""
    return sum(h["seconds"] for d in done for h in d["history"])


def _time_ensemble(n, epochs, cfg, data, device) -> tuple[float, float]:
    from lipbound.mvae import train_group

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        done = train_group(_specs(n, epochs, cfg), tmp, data, brackets=False, device=device)
        return time.perf_counter() - t0, _train_seconds(done)


def _time_loop(n, epochs, cfg, data, device) -> tuple[float, float]:
    from lipbound.mvae import train_group

    with tempfile.TemporaryDirectory() as tmp:
        t0, done = time.perf_counter(), []
        for spec in _specs(n, epochs, cfg):
            done += train_group([spec], tmp, data, brackets=False, device=device)
        return time.perf_counter() - t0, _train_seconds(done)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="20", help="ensemble sizes E, comma-separated (default 20)")
    p.add_argument("--epochs", type=int, default=3, help="epochs per run (default 3)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--note", default="", help="a note on the machine's load, printed with the section")
    p.add_argument("--no-write", action="store_true", help="print the section instead of writing RESULTS.md")
    args = p.parse_args(argv)

    import torch

    from lipbound.mvae import PAPER_EPOCHS, load_icub, variant
    from lipbound.mvae._cli import PRESETS
    from lipbound.mvae._model import single_thread

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"--device {args.device}: CUDA is not available here")
    data = load_icub()
    cfg = variant("original", lr=1e-3)
    rows = []
    with single_thread():
        _time_ensemble(2, 1, cfg, data, args.device)  # warm-up
        for n in [int(s) for s in args.sizes.split(",")]:
            ens = _time_ensemble(n, args.epochs, cfg, data, args.device)
            loop = _time_loop(n, args.epochs, cfg, data, args.device)
            rows.append((n, ens, loop))  # (wall, training seconds) each
    lines = [
        "## mvae-ensemble: training many MVAE runs as one vectorised ensemble (lipbound.mvae)", "",
        f"Command: `{command_line()}`. Machine: {machine()}; device {args.device}, one torch thread.", "",
    ]
    if args.note:
        lines += [f"**Note:** {args.note}", ""]
    lines += [
        f"The original model (variant `original`: 28.4k parameters), batch 1000 (7 Adam steps per epoch over the 7380 "
        f"training rows), {args.epochs} epochs per run, schedules and seeds as in the study. Per-model loop: the same runs "
        "trained one after another (an ensemble of one each), in the same process. Training time: the epochs only; wall: "
        "also the test-set measures of each finished run (about the same in both columns), without Lipschitz brackets.", "",
        "| runs E | ensemble: training (s) | loop: training (s) | loop / ensemble (training) | ensemble: model-epochs per s "
        "| loop: model-epochs per s | wall: ensemble / loop (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for n, (ew, et), (lw, lt) in rows:
        lines.append(f"| {n} | {et:.2f} | {lt:.2f} | {lt / et:.2f} | {n * args.epochs / et:.1f} | {n * args.epochs / lt:.1f} "
                     f"| {ew:.1f} / {lw:.1f} |")
    n, (_, et), _ = rows[-1]
    rate = n * args.epochs / et
    lines += [""]
    for name in ("cpu", "paper"):
        pr = PRESETS[name]
        model_epochs = 4 * len(pr["seeds"]) * pr["epochs"]
        lines.append(f"- preset `{name}` ({4 * len(pr['seeds'])} runs x {pr['epochs']} epochs = {model_epochs:,} model-epochs) "
                     f"at the E = {n} rate on this device: **{model_epochs / rate / 60:.0f} min** projected in one process, "
                     f"**{model_epochs / rate / 120:.0f} min** with `--workers 2` (the CLI's default on a 2-core CPU: two "
                     "ensembles of half the runs, one per core, if both cores are free)")
    if not args.device.startswith("cuda"):
        lines.append(f"- on a GPU: not measured (no GPU on this machine); the paper preset's {PAPER_EPOCHS:,} epochs are "
                     "560,000 Adam steps of one 80-member ensemble, so its time is 560,000 x the step time of that "
                     "ensemble: rerun this script with `--sizes 80 --device cuda` on a GPU to measure it")
    text = "\n".join(lines) + "\n"
    if args.no_write:
        print(text)
    else:
        write_section("mvae-ensemble", text)
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
