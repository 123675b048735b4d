"""Overhead of lipbound.tracking.BracketCallback in a plain PyTorch loop (section "callback" of RESULTS.md).

The same training (an MLP regression with Adam, same seed, same batches) runs without and with the
callback, side by side in one process (``--repeats`` runs per mode, alternated; the median run is
shown); ratio = wall time with the callback / wall time without.
The callback tracks the whole model and its first block every ``--every`` steps (spectral product
and power-iteration lower bound) within its budget (default 15% of the training time), so the
ratio should stay at most about 1 + budget.

Usage (from the repository root)::

    python -m benchmarks.bench_callback                                  # default sizes
    python -m benchmarks.bench_callback --steps 300 --width 64 --no-write    # quick check
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch import nn

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `lipbound` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make(width: int, depth: int, dim: int, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    d = dim
    for _ in range(depth):
        layers += [nn.Linear(d, width), nn.ReLU()]
        d = width
    block = nn.Sequential(*layers)
    return nn.Sequential(block, nn.Linear(d, dim))


def train(steps: int, width: int, depth: int, dim: int, batch: int, seed: int, callback: dict | None) -> dict:
    from lipbound.tracking import BracketCallback

    model = make(width, depth, dim, seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(seed)
    data = torch.randn(steps, batch, dim, generator=g)
    cb = None
    if callback is not None:
        cb = BracketCallback(model, torch.randn(32, dim, generator=g), submodules=["", "0"], **callback)
    t0 = time.perf_counter()
    for s in range(steps):
        x = data[s]
        loss = (model(x) - x.flip(-1)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if cb is not None:
            cb.step()
    if cb is not None:
        cb.close()
    wall = time.perf_counter() - t0
    out = {"wall": wall, "loss": float(loss.detach())}
    if cb is not None:
        ups = [r["value"] for r in cb.records if r["submodule"] == "" and r["kind"] == "certified-upper"]
        los = [r["value"] for r in cb.records if r["submodule"] == "" and r["kind"] == "lower"]
        out.update(trackings=cb.trackings, deferred=cb.deferred, track_s=cb.sched["track_s"],
                   train_s=cb.sched["train_s"], overhead=cb.overhead, last_upper=ups[-1] if ups else None,
                   last_lower=los[-1] if los else None)
    return out


def main() -> None:
    from benchmarks._results import command_line, machine, write_section

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000, help="training steps per run (default 2000)")
    ap.add_argument("--width", type=int, default=256, help="hidden width (default 256)")
    ap.add_argument("--depth", type=int, default=3, help="hidden layers (default 3)")
    ap.add_argument("--dim", type=int, default=64, help="input and output dimension (default 64)")
    ap.add_argument("--batch", type=int, default=128, help="batch size (default 128)")
    ap.add_argument("--every", type=int, default=50, help="callback: a tracking is due every N steps (default 50)")
    ap.add_argument("--budget", type=float, default=0.15, help="callback: budget fraction (default 0.15)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3, help="runs per mode, alternated; the median run is shown (default 3)")
    ap.add_argument("--no-write", action="store_true", help="print only; do not write benchmarks/RESULTS.md")
    args = ap.parse_args()
    torch.set_num_threads(1)
    sizes = dict(steps=args.steps, width=args.width, depth=args.depth, dim=args.dim, batch=args.batch, seed=args.seed)
    train(**{**sizes, "steps": min(50, args.steps)}, callback=None)  # warm-up (first-call costs) outside the measurement
    offs, ons = [], []
    for _ in range(args.repeats):  # alternated, so drifts of the machine's load hit both
        offs.append(train(**sizes, callback=None))
        ons.append(train(**sizes, callback={"every": args.every, "budget": args.budget}))
    off = offs[sorted(range(len(offs)), key=lambda i: offs[i]["wall"])[len(offs) // 2]]
    on = ons[sorted(range(len(ons)), key=lambda i: ons[i]["wall"])[len(ons) // 2]]
    ratio = on["wall"] / off["wall"]
    pairs = ", ".join(f"{a['wall'] / b['wall']:.3f}" for a, b in zip(ons, offs))
    lines = ["## callback", "", f"Command: `{command_line()}`", "", f"Machine: {machine()}", "",
             "`lipbound.tracking.BracketCallback` in a plain PyTorch loop: the same training (MLP "
             f"{args.dim}-{'-'.join([str(args.width)] * args.depth)}-{args.dim}, Adam, batch {args.batch}, "
             f"{args.steps} steps, one torch thread) without and with the callback, side by side in one process, "
             f"{args.repeats} runs per mode alternated (the median run by wall time is shown); the "
             f"callback tracks the whole model and its first block (spectral product + power iteration on 32 probe "
             f"inputs) every {args.every} steps within a budget of {args.budget:.0%} of the training time.", "",
             "| run | wall (s) | trackings | deferred steps | tracking (s) | tracking / training | ratio to off |",
             "|---|---|---|---|---|---|---|",
             f"| off | {off['wall']:.2f} | - | - | - | - | 1.000 |",
             f"| on | {on['wall']:.2f} | {on['trackings']} | {on['deferred']} | {on['track_s']:.2f} | "
             f"{on['overhead']:.3f} | {ratio:.3f} |", "",
             f"The budget bounds the tracking / training column (training: the loop's own time in the run with the "
             f"callback); the wall ratio adds the run-to-run variation of the training itself (on a loaded machine, "
             f"several percent). Target: tracking / training <= {args.budget:.2f}, ratio near {1 + args.budget:.2f}. "
             f"Wall ratios of all runs (on / off, pairwise): {pairs}. "
             "Last bracket of the model: "
             f"{on['last_lower']:.4g} <= Lip <= {on['last_upper']:.4g}."]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        write_section("callback", text)


if __name__ == "__main__":
    main()
