"""Local LipSDP against the PGD lower bound on the same ball, as a function of the radius.

Issue 13, goal 3: for balls B(c, r) around data points, the certified local bound
(``lipsdp-local``: per-neuron slopes from CROWN pre-activation bounds, LipSDP-Neuron with the point
multipliers fixed, verified in float64) beside the PGD lower bound on the same ball
(``pgd``, evaluated on the model) and the global LipSDP bound. Writes section ``local`` of
``benchmarks/RESULTS.md`` and the figure ``benchmarks/local_bounds.png``. A second table (goal 4)
bounds convolutional encoders with their convolutions unrolled into exact matrices.

Networks (float64):

* ``zoo-concat-relu-enc0/1`` and ``zoo-sum-tanh-enc1``: encoders of the CPU zoo's trained
  autoencoders (``lipbound.zoo``), centres = held-out samples of their modality;
* ``paper-{sum,concat,attention}-relu-enc0``: the first sensor encoder of the paper-size zoo's
  trained autoencoders (trained on the CPU when no GPU is present), centres = held-out samples;
* ``digits-64-128-64-10``: a classifier of scikit-learn's digits (real data shipped with
  scikit-learn) trained here (``benchmarks/_trained.py``), centres = held-out digits;
* ``784-256-10`` and ``enc-32-64-128-128-256-256-288`` (the paper's sensor-encoder shape): ReLU MLPs
  with PyTorch's default initialisation from ``--seed`` (untrained: the paper-size zoo is trained on
  CUDA and not shipped), centres N(0, I) from ``--seed``.

Usage (from the repository root)::

    python benchmarks/bench_local.py            # writes RESULTS.md section "local" and the figure
    python benchmarks/bench_local.py --small    # two networks, three radii, prints only
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `lipbound` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RADII = (1e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0)
FIGURE = Path(__file__).with_name("local_bounds.png")


def networks(seed: int, small: bool):
    """``(name, model, centres)`` triples."""
    from benchmarks.bench_sdp import make_net
    from lipbound.zoo import load, spec_data

    out = []
    for name, k in (("concat-relu", 0), ("concat-relu", 1), ("sum-tanh", 1))[: 1 if small else 3]:
        enc = load(name).encoders[k].net.double().eval()
        x = spec_data(name, sample_seed=seed + 1000, n_samples=2, dtype=torch.float64)[k]
        out.append((f"zoo-{name}-enc{k}", enc, x))
    if not small:  # the paper-size zoo (trained on the CPU when no GPU is present: same spec)
        for name in ("paper-sum-relu", "paper-concat-relu", "paper-attention-relu"):
            device = None if torch.cuda.is_available() else "cpu"
            enc = load(name, device=device).encoders[0].net.double().eval()
            x = spec_data(name, sample_seed=seed + 1000, n_samples=2, dtype=torch.float64)[0]
            out.append((f"{name}-enc0 (32-64-128-128-256-256-288, trained)", enc, x))
        from benchmarks._trained import digits_classifier

        net, acc, xte = digits_classifier(seed=seed)
        out.append((f"digits-64-128-64-10 (trained, test acc {acc:.3f})", net, xte[:2]))
    dims = {"784-256-10": [784, 256, 10], "enc-32-64-128-128-256-256-288": [32, 64, 128, 128, 256, 256, 288]}
    for name, d in list(dims.items())[: 1 if small else 2]:
        g = torch.Generator().manual_seed(seed)
        out.append((name, make_net(d, seed), torch.randn(2, d[0], generator=g, dtype=torch.float64)))
    return out


def run(args) -> list[dict]:
    from lipbound.bounds import Ball, bracket, lipsdp

    rows = []
    radii = RADII[::2] if args.small else RADII
    for name, net, centres in networks(args.seed, args.small):
        glob = lipsdp(net)
        for ci, c in enumerate(centres):
            for r in radii:
                b = bracket(net, domain=Ball(c, r), methods=["lipsdp-local", "pgd"], seed=args.seed)
                loc, pgd = b["lipsdp-local"], b["pgd"]
                value = min(loc.value, glob.value)
                rows.append({"network": name, "centre": ci, "radius": r, "local": value, "local_raw": loc.value,
                             "local_s": loc.seconds, "solver": loc.solver, "status": loc.status,
                             "neurons": loc.details.get("neurons"), "pgd": pgd.value, "pgd_s": pgd.seconds,
                             "global": glob.value, "global_s": glob.seconds})
                print(f"{name} c{ci} r={r:g}: local {value:.5g} ({loc.seconds:.2f} s, {loc.status[:50]}) "
                      f"pgd {pgd.value:.5g} ratio {value / pgd.value:.3f} global {glob.value:.5g}", flush=True)
    return rows


def conv_rows(args) -> list[dict]:
    """Issue 13, goal 4: convolutional encoders, their convolutions unrolled into exact matrices, so
    that LipSDP takes them; beside the product of certified layer norms and the evaluated lower bound."""
    from lipbound.bounds import bracket
    from lipbound.zoo import load, spec_data

    nets = [("zoo-conv-sum-relu-enc0 (1x16x16)", load("conv-sum-relu").encoders[0].double().eval(),
             spec_data("conv-sum-relu", sample_seed=args.seed + 1000, n_samples=64, dtype=torch.float64)[0])]
    torch.manual_seed(args.seed)
    cnn = nn_small_cnn()
    g = torch.Generator().manual_seed(args.seed)
    nets.append(("cnn 3x16x16: conv8-s2, conv16-s2, linear 10 (untrained)", cnn,
                 torch.randn(64, 3, 16, 16, generator=g, dtype=torch.float64)))
    rows = []
    for name, net, x in nets[: 1 if args.small else 2]:
        b = bracket(net, input_shape=tuple(x.shape[1:]), inputs=x,
                    methods=["spectral-product", "lipsdp-neuron", "power-iteration"], seed=args.seed)
        sp, sdp, lo = b["spectral-product"], b["lipsdp-neuron"], b["power-iteration"]
        rows.append({"network": name, "product": sp.value, "product_s": sp.seconds, "lipsdp": sdp.value,
                     "lipsdp_s": sdp.seconds, "solver": sdp.solver, "side": sdp.details.get("lmi_side"),
                     "lower": lo.value})
        print(f"{name}: product {sp.value:.5g} lipsdp {sdp.value:.5g} ({sdp.seconds:.2f} s, {sdp.solver}) "
              f"lower {lo.value:.5g}", flush=True)
    return rows


def nn_small_cnn():
    from torch import nn

    return nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, stride=2, padding=1),
                         nn.ReLU(), nn.Flatten(), nn.Linear(16 * 4 * 4, 10)).double().eval()


def figure(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nets = list(dict.fromkeys(r["network"] for r in rows))
    ncols = min(len(nets), 5)
    nrows = math.ceil(len(nets) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.4 * ncols, 3.1 * nrows), squeeze=False)
    for ax in axes.flat[len(nets):]:
        ax.set_visible(False)
    for ax, net in zip(axes.flat, nets):
        sub = [r for r in rows if r["network"] == net]
        for ci, mk, col in zip(sorted({r["centre"] for r in sub}), ("o", "s", "^"), ("tab:blue", "tab:orange", "tab:green")):
            pts = [r for r in sub if r["centre"] == ci]
            ax.plot([r["radius"] for r in pts], [r["local"] / r["pgd"] for r in pts], marker=mk, color=col,
                    label=f"local / PGD, centre {ci}")
            ax.plot([r["radius"] for r in pts], [r["global"] / r["pgd"] for r in pts], ":", color=col, lw=0.9,
                    label=f"global / PGD, centre {ci}")
        ax.axhline(1.0, color="grey", lw=0.8)
        ax.axhline(1.5, color="tab:red", lw=0.6, ls="--", label="goal 1.5")
        ax.set_xscale("log")
        ax.set_title(net if len(net) < 48 else net[:46] + "...", fontsize=7)
        ax.set_xlabel("ball radius")
        ax.set_ylabel("certified / PGD lower (same ball)")
    axes[0][0].legend(fontsize=6)
    fig.suptitle("certified local LipSDP over the PGD lower bound on the same ball (1 = closed)", fontsize=9)
    fig.tight_layout()
    from lipbound._io import atomic_write_bytes

    buf = __import__("io").BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def conv_markdown(rows: list[dict]) -> str:
    lines = ["", "### Convolutions inside the SDP", "",
             "Each convolution unrolled into its exact matrix (weights copied by the index map, no arithmetic; "
             "`lipbound/bounds/_unroll.py`), then LipSDP-Neuron (BARRIER, verified in float64) on the result, beside "
             "the product of certified layer norms (convolutions by their certified FFT norm) and the power-iteration "
             "lower bound on 64 inputs evaluated on the model.", "",
             "| network | product | s | LipSDP (unrolled) | s | LMI side | lower | product / LipSDP | LipSDP / lower |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['network']} | {r['product']:.5g} | {r['product_s']:.2f} | {r['lipsdp']:.5g} | "
                     f"{r['lipsdp_s']:.2f} | {r['side']} | {r['lower']:.5g} | {r['product'] / r['lipsdp']:.2f} | "
                     f"{r['lipsdp'] / r['lower']:.2f} |")
    return "\n".join(lines)


def to_markdown(rows: list[dict], args) -> str:
    from benchmarks._results import command_line, machine

    lines = ["## local: certified local LipSDP vs PGD lower bound by radius (`benchmarks/bench_local.py`)", "",
             f"Command: `{command_line()}`; {machine()}; seed {args.seed}.", "",
             "Each row: a ball B(c, r) around a centre; `local` = certified local bound (`lipsdp-local`, kind "
             "certified-local-upper: CROWN pre-activation bounds, per-neuron slopes, inactive neurons pruned, "
             "LipSDP-Neuron by BARRIER with point multipliers fixed at 1e6 times their layer's scale, verified "
             "in float64; never above the global bound); `pgd` = projected ascent on the same ball, evaluated "
             "on the model (a sound lower bound on the local constant); `ratio` = local / pgd (1 = the bracket "
             "is closed); `global` = global LipSDP-Neuron. Neurons: unstable / total after the relaxation.", "",
             "![local vs PGD](local_bounds.png)", "",
             "| network | centre | radius | local | s | pgd | ratio | global | global / pgd | unstable |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        n = r["neurons"] or []
        uns = sum(x["unstable"] for x in n)
        tot = sum(sum(x.values()) for x in n)
        lines.append(f"| {r['network']} | {r['centre']} | {r['radius']:g} | {r['local']:.5g} | {r['local_s']:.2f} | "
                     f"{r['pgd']:.5g} | {r['local'] / r['pgd']:.3f} | {r['global']:.5g} | "
                     f"{r['global'] / r['pgd']:.2f} | {uns}/{tot} |")
    small = [r["local"] / r["pgd"] for r in rows if r["radius"] <= 1e-2]
    worst = max((r["local"] / r["pgd"], r["network"], r["radius"]) for r in rows)
    lines += ["", f"Goal (at most 1.5x for small radii): largest ratio at r <= 0.01 is {max(small):.3f}. Largest "
              f"ratio overall {worst[0]:.3f} ({worst[1]}, r = {worst[2]:g}): at large radii most neurons are unstable "
              "and the local bound tends to the global one, while PGD explores only the ball. Every local value is "
              "at most the global bound by construction."]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--small", action="store_true", help="two networks, three radii; print only")
    ap.add_argument("--no-write", action="store_true", help="print, do not write RESULTS.md or the figure")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    rows = run(args)
    crow = conv_rows(args)
    md = (to_markdown(rows, args) + "\n" + conv_markdown(crow)
          + f"\n\nTotal {time.perf_counter() - t0:.0f} s (one thread).")
    print(md)
    if not (args.no_write or args.small):
        from benchmarks._results import write_section

        figure(rows, FIGURE)
        write_section("local", md)
    return 0 if all(math.isfinite(r["local"]) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
