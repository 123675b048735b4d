"""LipSDP at scale: lipbound's LipSDP-Neuron (second-order ``BARRIER`` solver, verified in float64)
side by side with the previous first-order solver (``EIGOPT``), a cvxpy reference solve of the same
SDP where it is feasible, the spectral product and ECLipsE / ECLipsE-Fast (``pip install eclipse-nn``)
on the same networks in the same run; writes section ``sdp`` of ``benchmarks/RESULTS.md``.

Networks (issue 13, goal 1), ReLU, PyTorch default initialisation from ``--seed`` unless trained:

* ``784-256-10`` (target: within 1e-3 of the SDP optimum in at most 5x ECLipsE-Fast's time);
* ``784-500-200-50-10`` (target: at most 30 s);
* ``deep-50x100``: 50 hidden layers of 100 neurons, 100 inputs, 10 outputs (``lipsdp-decomposed``:
  first-order solve on the block-tridiagonal structure, block-Cholesky verification; its LMI is
  beyond the barrier solver's dense matrices);
* ``enc-32-64-128-128-256-256-288``: the shape of the paper-size sensor encoder, default
  initialisation (the trained ones are the ``paper-*`` rows);
* ``64-40-20-10-10``: small enough for Clarabel's reference solve;
* ``zoo-concat-relu-enc1`` and ``zoo-sum-tanh-enc1``: encoders of the CPU zoo's trained autoencoders
  (``lipbound.zoo.load``; small, trained in seconds);
* ``paper-{sum,concat,attention}-relu-enc0``: the first sensor encoder (32-64-128-128-256-256-288)
  of the paper-size zoo's trained autoencoders (``lipbound.zoo.ZOO_GPU``: 60 epochs on 16384
  samples); trained on the CPU when no GPU is present (same spec, about 1.5 min each);
* ``digits-64-128-64-10``: a classifier of scikit-learn's handwritten digits (real data shipped with
  scikit-learn), trained here with ``--seed`` (``benchmarks/_trained.py``; held-out accuracy ~0.97).

Timing: ``seconds`` of lipbound's ``BARRIER`` row and of ECLipsE-Fast are the best of ``--repeat``
runs, alternating in this process (so that both see the same machine load); ECLipsE's SDP mode runs
in a child process stopped after ``--eclipse-timeout`` (the time is that of its ``estimate`` call);
everything else one run. The reference solve is Clarabel (interior
point, tolerance 1e-8) while its PSD block fits (side <= 150), else SCS when ``--scs-timeout`` is
given; ``BARRIER``'s own dual bound states its distance to the SDP optimum on every network.
``--size small`` runs shrunken versions in seconds.

Run from the repository root::

    python benchmarks/bench_sdp.py                 # full size, writes RESULTS.md section "sdp"
    python benchmarks/bench_sdp.py --size small --no-write

ECLipsE is optional (``pip install "lipbound[bench]"`` or ``pip install eclipse-nn``); without it
its rows say so.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import multiprocessing as mp
import sys
import time
from pathlib import Path

import torch
from torch import nn

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `lipbound` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

NETWORKS = {
    "full": {
        "784-256-10": [784, 256, 10],
        "784-500-200-50-10": [784, 500, 200, 50, 10],
        "deep-50x100": [100] + [100] * 50 + [10],
        "enc-32-64-128-128-256-256-288": [32, 64, 128, 128, 256, 256, 288],
        "64-40-20-10-10": [64, 40, 20, 10, 10],
        "zoo-concat-relu-enc1": "zoo:concat-relu:1",
        "zoo-sum-tanh-enc1": "zoo:sum-tanh:1",
        "digits-64-128-64-10": "digits:128,64",
        "paper-sum-relu-enc0": "zoo:paper-sum-relu:0",
        "paper-concat-relu-enc0": "zoo:paper-concat-relu:0",
        "paper-attention-relu-enc0": "zoo:paper-attention-relu:0",
    },
    "small": {
        "64-32-10": [64, 32, 10],
        "64-40-20-10-10": [64, 40, 20, 10, 10],
        "deep-10x20": [20] + [20] * 10 + [10],
        "zoo-concat-relu-enc1": "zoo:concat-relu:1",
    },
}


def make_net(dims: list[int] | str, seed: int) -> nn.Sequential:
    """A ReLU MLP with PyTorch's default initialisation drawn from ``seed`` (float64), for
    ``"zoo:NAME:K"`` the K-th encoder of the CPU zoo's trained autoencoder NAME (float64), for
    ``"digits:H1,H2"`` the digits classifier 64-H1-H2-10 trained from ``seed``."""
    if isinstance(dims, str) and dims.startswith("digits:"):
        from benchmarks._trained import digits_classifier

        return digits_classifier(tuple(int(v) for v in dims.split(":")[1].split(",")), seed=seed)[0]
    if isinstance(dims, str):
        from lipbound.zoo import load

        _, name, k = dims.split(":")
        # the paper-size zoo is specified for CUDA; without a GPU it is trained on the CPU (same
        # spec, its own cache entry)
        device = None if not name.startswith("paper-") or torch.cuda.is_available() else "cpu"
        return load(name, device=device).encoders[int(k)].net.double().eval()
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for i in range(len(dims) - 1):
        layers.append(nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers).double()


def _eclipse_child(weights, method, repeat, queue):  # runs in a child process (killable on timeout)
    from eclipse_nn import LipConstEstimator

    out = io.StringIO()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(out):
            est = LipConstEstimator(weights=weights).estimate(method=method)
        best = min(best, time.perf_counter() - t0)
    queue.put((float(est), best, out.getvalue().strip()))


def run_eclipse(net: nn.Sequential, method: str, timeout: float, repeat: int = 1) -> dict:
    """ECLipsE / ECLipsE-Fast on the network's weights, in a child process with a time limit; the
    time is the best of ``repeat`` calls of its ``estimate``."""
    try:
        import eclipse_nn  # noqa: F401
    except ImportError:
        return {"method": method, "skipped": "eclipse-nn not installed (pip install eclipse-nn)"}
    weights = [m.weight.detach().to(torch.float64).clone() for m in net if isinstance(m, nn.Linear)]
    ctx = mp.get_context("spawn")  # fork after torch has started its thread pool can deadlock
    q = ctx.Queue()
    p = ctx.Process(target=_eclipse_child, args=(weights, method, repeat, q))
    t0 = time.perf_counter()
    p.start()
    try:
        value, secs, printed = q.get(timeout=timeout)
    except Exception:  # noqa: BLE001 - queue.Empty on timeout, or a crashed child
        p.terminate()
        p.join()
        return {"method": method, "skipped": f"no result within {timeout:.0f} s (stopped)",
                "seconds": time.perf_counter() - t0}
    p.join()
    return {"method": method, "value": value, "seconds": secs,
            "status": "fell back to ECLipsE-Fast" if "Falling back" in printed else "ok"}


def eclipse_fast_inline(net: nn.Sequential) -> dict:
    """ECLipsE-Fast in this process (it is a closed-form computation: no time limit needed)."""
    try:
        from eclipse_nn import LipConstEstimator
    except ImportError:
        return {"method": "ECLipsE_Fast", "skipped": "eclipse-nn not installed (pip install eclipse-nn)"}
    weights = [m.weight.detach().to(torch.float64).clone() for m in net if isinstance(m, nn.Linear)]
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        est = LipConstEstimator(weights=weights).estimate(method="ECLipsE_Fast")
    return {"method": "ECLipsE_Fast", "value": float(est), "seconds": time.perf_counter() - t0, "status": "ok"}


def _row(r, label: str | None = None, seconds: float | None = None) -> dict:
    return {"method": label or r.method, "kind": r.kind, "value": r.value,
            "seconds": r.seconds if seconds is None else seconds, "solver": r.solver, "status": r.status,
            "inflation": r.details.get("inflation"), "verify_seconds": r.details.get("verify_seconds"),
            "gap": r.details.get("gap_to_sdp_optimum")}


def bench_network(name: str, dims, args) -> list[dict]:
    from lipbound.bounds import lipsdp, spectral_product
    from lipbound.bounds._network import dense_chain, to_network
    from lipbound.bounds._sdp import CLARABEL_MAX_PSD, SCS_MAX_PSD

    net = make_net(dims, args.seed)
    rows: list[dict] = []
    t0 = time.perf_counter()
    sp, _ = spectral_product(net)
    rows.append({"method": "spectral-product", "kind": "certified-upper", "value": sp,
                 "seconds": time.perf_counter() - t0, "solver": "none", "status": "exact layer norms"})
    Ws, _, _ = dense_chain(to_network(net))
    n_psd = min(Ws[0].shape) + sum(W.shape[0] for W in Ws[:-1])  # reduced LMI side
    n_hidden = sum(W.shape[0] for W in Ws[:-1])
    lipsdp(make_net([4, 3, 2], 0))  # warm-up: imports and first calls outside the timings
    fast: list[dict] = []  # ECLipsE-Fast runs alternating with BARRIER's
    if n_hidden > 3000:  # beyond the barrier solver's dense matrices
        r = lipsdp(net, form="decomposed", solvers=["EIGOPT"])
        rows.append(_row(r))
    else:
        # BARRIER and ECLipsE-Fast alternate, so that both see the same machine load
        runs = []
        for _ in range(args.repeat):
            runs.append(lipsdp(net, form="neuron", solvers=["BARRIER"]))
            if not args.no_eclipse:
                fast.append(eclipse_fast_inline(net))
        rows.append(_row(runs[0], "lipsdp-neuron", min(r.seconds for r in runs)))
        if not args.no_eigopt:
            r = lipsdp(net, form="neuron", solvers=["EIGOPT"], time_limit=args.eigopt_timeout)
            rows.append(_row(r, "lipsdp-neuron (EIGOPT, previous solver)"))
        ref = None
        if n_psd <= CLARABEL_MAX_PSD:
            ref = lipsdp(net, form="neuron", solvers=["CLARABEL"])
        elif args.scs_timeout and n_psd <= SCS_MAX_PSD:
            ref = lipsdp(net, form="neuron", solvers=["SCS"], time_limit=args.scs_timeout)
        if ref is not None:
            rows.append(_row(ref, f"lipsdp-neuron ({ref.solver} reference)"))
    if not args.no_eclipse:
        for m in ("ECLipsE", "ECLipsE_Fast"):
            if m == "ECLipsE_Fast" and fast and "skipped" not in fast[0]:
                e = {**fast[0], "seconds": min(f["seconds"] for f in fast),
                     "status": f"ok (in this process, alternating with lipbound's {len(fast)} runs)"}
            else:
                e = run_eclipse(net, m, args.eclipse_timeout, args.repeat if m == "ECLipsE_Fast" else 1)
            if "skipped" in e:
                rows.append({"method": m, "kind": "peer estimate", "value": None,
                             "seconds": e.get("seconds"), "solver": "eclipse-nn", "status": e["skipped"]})
            else:
                rows.append({"method": m, "kind": "peer estimate (unverified)", "value": e["value"],
                             "seconds": e["seconds"], "solver": "eclipse-nn (SCS)" if m == "ECLipsE" else "eclipse-nn",
                             "status": e["status"]})
    for r in rows:
        r["ratio"] = r["value"] / sp if r.get("value") is not None else None
    return rows


#: issue 13, goal 1: LipSDP-Neuron (within 1e-3 of the SDP optimum) in at most 5x ECLipsE-Fast's time,
#: or within a number of seconds
TARGETS = {"784-256-10": ("peer", 5.0), "784-500-200-50-10": ("seconds", 30.0),
           "enc-32-64-128-128-256-256-288": ("peer", 5.0)}


def _target_line(name: str, rows: list[dict]) -> str | None:
    what, limit = TARGETS.get(name, (None, None))
    ours = next((r for r in rows if r["method"] == "lipsdp-neuron"), None)
    if what is None or ours is None:
        return None
    gap = ours.get("gap")
    tight = gap is not None and gap <= 1e-3
    if what == "seconds":
        ok = tight and ours["seconds"] <= limit
        return (f"Target (at most {limit:g} s, within 1e-3 of the SDP optimum): {'met' if ok else 'not met'} "
                f"({ours['seconds']:.3g} s, gap {_fmt(gap, '.1e')}).")
    fast = next((r for r in rows if r["method"] == "ECLipsE_Fast" and r.get("value") is not None), None)
    if fast is None:
        return f"Target (at most {limit:g}x ECLipsE-Fast's time): not measured (no ECLipsE-Fast result)."
    ratio = ours["seconds"] / fast["seconds"]
    ok = tight and ratio <= limit
    return (f"Target (at most {limit:g}x ECLipsE-Fast's time, within 1e-3 of the SDP optimum): "
            f"{'met' if ok else 'not met'} ({ratio:.3g}x, gap {_fmt(gap, '.1e')}).")


def _fmt(v, spec=".4g"):
    return "-" if v is None else format(v, spec)


def to_markdown(results: dict, args) -> str:
    from benchmarks._results import command_line, machine

    title = "LipSDP at scale" if args.section == "sdp" else f"LipSDP at scale, section {args.section}"
    lines = [f"## {title} (`benchmarks/bench_sdp.py`)", "",
             f"Command: `{command_line()}`  ", f"Machine: {machine()}  ",
             f"Networks: MLPs, PyTorch default init, seed {args.seed}, float64 weights, ReLU (the `zoo-*` "
             "rows: encoders of the CPU zoo's trained autoencoders; `digits-*`: a classifier trained here on "
             "scikit-learn's handwritten digits). `ratio` = bound / product of exact "
             "spectral norms. lipbound's values are certified (multipliers verified in float64, solver "
             "value never used); ECLipsE values are the package's own unverified estimates. `seconds` of "
             f"`lipsdp-neuron` (BARRIER) and ECLipsE_Fast: best of {args.repeat} runs, alternating in one process; "
             "the rest one run (ECLipsE's SDP mode in a child process with a time limit). "
             "`gap to the SDP optimum`: certified bound / sqrt(BARRIER's dual lower bound on the SDP "
             "optimum) - 1 (a solver diagnostic, exact up to rounding). `paper-*-enc0`: the first sensor encoder "
             "(32-64-128-128-256-256-288) of the paper-size zoo's trained autoencoders (trained on the CPU when "
             "no GPU is present: same spec); `enc-32-64-128-128-256-256-288` is that shape at default "
             "initialisation.", ""]
    if args.note:
        lines += [f"**Note:** {args.note}", ""]
    for name, rows in results.items():
        lines += [f"### {name}", "",
                  "| method | kind | bound | ratio | seconds | solver | inflation | status |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in rows:
            status = str(r.get("status", "")).replace("|", "/")
            if len(status) > 160:
                status = status[:157] + "..."
            lines.append(f"| {r['method']} | {r['kind']} | {_fmt(r.get('value'), '.6g')} | {_fmt(r.get('ratio'))} | "
                         f"{_fmt(r.get('seconds'), '.3g')} | {r.get('solver', '')} | {_fmt(r.get('inflation'), '.2e')} | "
                         f"{status} |")
        ours = next((r for r in rows if r["method"] in ("lipsdp-neuron", "lipsdp-decomposed")), None)
        old = next((r for r in rows if "previous solver" in r["method"]), None)
        ref = next((r for r in rows if "reference" in r["method"]), None)
        summ = []
        if ours and ours.get("gap") is not None:
            summ.append(f"gap to the SDP optimum {ours['gap']:.1e}")
        if ours and ref:
            summ.append(f"{ours['solver']} / {ref['solver']} bound: {ours['value'] / ref['value']:.6f}")
        if ours and old:
            summ.append(f"{ours['solver']} / EIGOPT: bound {ours['value'] / old['value']:.6f}, "
                        f"time {ours['seconds'] / old['seconds']:.3g}")
        for peer in ("ECLipsE", "ECLipsE_Fast"):
            e = next((r for r in rows if r["method"] == peer and r.get("value") is not None), None)
            if ours and e:
                summ.append(f"lipbound / {peer}: bound {ours['value'] / e['value']:.3f}, "
                            f"time {ours['seconds'] / e['seconds']:.3g}")
        if summ:
            lines += ["", "; ".join(summ) + "."]
        target = _target_line(name, rows)
        if target:
            lines += ["", target]
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=sorted(NETWORKS), default="full")
    ap.add_argument("--only", nargs="*", help="network names to run (default: all of --size)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-eclipse", action="store_true", help="skip the ECLipsE comparison")
    ap.add_argument("--eclipse-timeout", type=float, default=900.0, help="seconds per ECLipsE run")
    ap.add_argument("--repeat", type=int, default=3, help="runs of BARRIER and ECLipsE-Fast (best time)")
    ap.add_argument("--no-eigopt", action="store_true", help="skip the previous solver (EIGOPT)")
    ap.add_argument("--eigopt-timeout", type=float, default=120.0, help="seconds for the EIGOPT solve")
    ap.add_argument("--scs-timeout", type=float, default=0.0,
                    help="seconds for an SCS reference solve where Clarabel does not fit (0: none)")
    ap.add_argument("--no-write", action="store_true", help="print, do not write RESULTS.md")
    ap.add_argument("--note", default="", help="a remark printed in the section (e.g. 'machine under load')")
    ap.add_argument("--section", default="sdp",
                    help="RESULTS.md section to write (default 'sdp'; e.g. 'sdp-trained' for an --only run that "
                         "must not replace the full table)")
    args = ap.parse_args(argv)
    nets = NETWORKS[args.size]
    unknown = [n for n in args.only or [] if n not in nets]
    if unknown:
        ap.error(f"unknown network(s) {unknown}; choose from {list(nets)}")
    results = {}
    for name in args.only or list(nets):  # in the order given
        dims = nets[name]
        results[name] = bench_network(name, dims, args)
        if not args.no_write:  # after each network, so an interrupted run keeps what it measured
            from benchmarks._results import write_section

            write_section(args.section, to_markdown(results, args))
        for r in results[name]:
            print(f"{name:20s} {r['method']:34s} {_fmt(r.get('value'), '.6g'):>10s} "
                  f"ratio {_fmt(r.get('ratio')):>7s} {_fmt(r.get('seconds'), '.3g'):>7s} s  {r.get('status', '')[:90]}",
                  flush=True)
    md = to_markdown(results, args)
    if args.no_write:
        print(md)
    else:
        from benchmarks._results import write_section

        write_section(args.section, md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
