"""LipSDP at scale: lipbound's first-order LipSDP-Neuron (``EIGOPT``, verified in float64) side by
side with the spectral product and ECLipsE / ECLipsE-Fast (``pip install eclipse-nn``) on the same
networks in the same run; writes section ``sdp`` of ``benchmarks/RESULTS.md``.

Networks (issue 4, "Performance"), ReLU, PyTorch default initialisation from ``--seed``:

* ``784-256-10`` (target: LipSDP-Neuron tightness in < 30 s);
* ``784-500-200-50-10`` (target: < 300 s);
* ``deep-50x100``: 50 hidden layers of 100 neurons, 100 inputs, 10 outputs (target: a decomposed
  mode in < 120 s; ``lipsdp-decomposed``: block-tridiagonal solve, block-Cholesky verification).

``--size small`` runs shrunken versions (64-32-10, 64-40-20-10-10, 10x20) in seconds, with a
Clarabel (interior point) reference solve of the same SDP to measure tightness.

Run from the repository root::

    python benchmarks/bench_sdp.py                 # full size, writes RESULTS.md section "sdp"
    python benchmarks/bench_sdp.py --size small --no-write

ECLipsE is optional (``pip install "lipbound[bench]"`` or ``pip install eclipse-nn``); without it
its rows say so. Each ECLipsE run happens in a child process stopped after ``--eclipse-timeout``.
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
    },
    "small": {
        "64-32-10": [64, 32, 10],
        "64-40-20-10-10": [64, 40, 20, 10, 10],
        "deep-10x20": [20] + [20] * 10 + [10],
    },
}


def make_net(dims: list[int], seed: int) -> nn.Sequential:
    """A ReLU MLP with PyTorch's default initialisation drawn from ``seed`` (float64)."""
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for i in range(len(dims) - 1):
        layers.append(nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers).double()


def _eclipse_child(weights, method, queue):  # runs in a child process (killable on timeout)
    from eclipse_nn import LipConstEstimator

    out = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(out):
        est = LipConstEstimator(weights=weights).estimate(method=method)
    queue.put((float(est), time.perf_counter() - t0, out.getvalue().strip()))


def run_eclipse(net: nn.Sequential, method: str, timeout: float) -> dict:
    """ECLipsE / ECLipsE-Fast on the network's weights, in a child process with a time limit."""
    try:
        import eclipse_nn  # noqa: F401
    except ImportError:
        return {"method": method, "skipped": "eclipse-nn not installed (pip install eclipse-nn)"}
    weights = [m.weight.detach().to(torch.float64).clone() for m in net if isinstance(m, nn.Linear)]
    ctx = mp.get_context("spawn")  # fork after torch has started its thread pool can deadlock
    q = ctx.Queue()
    p = ctx.Process(target=_eclipse_child, args=(weights, method, q))
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


def bench_network(name: str, dims: list[int], args) -> list[dict]:
    from lipbound.bounds import lipsdp, spectral_product

    net = make_net(dims, args.seed)
    rows: list[dict] = []
    t0 = time.perf_counter()
    sp, _ = spectral_product(net)
    rows.append({"method": "spectral-product", "kind": "certified-upper", "value": sp,
                 "seconds": time.perf_counter() - t0, "solver": "none", "status": "exact layer norms"})
    deep = len(dims) > 6
    forms = ["decomposed"] if deep else ["neuron"]
    if args.size == "small" and not deep:
        forms.append("neuron-clarabel")
    for form in forms:
        if form == "neuron-clarabel":
            r = lipsdp(net, form="neuron", solvers=["CLARABEL"])
        else:
            r = lipsdp(net, form=form, solvers=["EIGOPT"])
        rows.append({"method": r.method + (" (Clarabel reference)" if form == "neuron-clarabel" else ""),
                     "kind": r.kind, "value": r.value, "seconds": r.seconds, "solver": r.solver,
                     "status": r.status, "inflation": r.details.get("inflation"),
                     "verify_seconds": r.details.get("verify_seconds")})
    if not args.no_eclipse:
        for m in ("ECLipsE", "ECLipsE_Fast"):
            e = run_eclipse(net, m, args.eclipse_timeout)
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


def _fmt(v, spec=".4g"):
    return "-" if v is None else format(v, spec)


def to_markdown(results: dict, args) -> str:
    from benchmarks._results import command_line, machine

    lines = ["## LipSDP at scale (`benchmarks/bench_sdp.py`)", "",
             f"Command: `{command_line()}`  ", f"Machine: {machine()}  ",
             f"Networks: ReLU MLPs, PyTorch default init, seed {args.seed}, float64 weights. "
             "`ratio` = bound / product of exact spectral norms. lipbound's values are certified "
             "(multipliers verified in float64, solver value never used); ECLipsE values are the "
             "package's own unverified estimates.", ""]
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
        ours = next((r for r in rows if r["method"].startswith("lipsdp") and "reference" not in r["method"]), None)
        ref = next((r for r in rows if "reference" in r["method"]), None)
        summ = []
        if ours and ref:
            summ.append(f"EIGOPT / Clarabel bound: {ours['value'] / ref['value']:.6f}")
        for peer in ("ECLipsE", "ECLipsE_Fast"):
            e = next((r for r in rows if r["method"] == peer and r.get("value") is not None), None)
            if ours and e:
                summ.append(f"lipbound / {peer}: bound {ours['value'] / e['value']:.3f}, "
                            f"time {ours['seconds'] / e['seconds']:.3g}")
        if summ:
            lines += ["", "; ".join(summ) + "."]
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=sorted(NETWORKS), default="full")
    ap.add_argument("--only", nargs="*", help="network names to run (default: all of --size)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-eclipse", action="store_true", help="skip the ECLipsE comparison")
    ap.add_argument("--eclipse-timeout", type=float, default=900.0, help="seconds per ECLipsE run")
    ap.add_argument("--no-write", action="store_true", help="print, do not write RESULTS.md")
    ap.add_argument("--note", default="", help="a remark printed in the section (e.g. 'machine under load')")
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

            write_section("sdp", to_markdown(results, args))
        for r in results[name]:
            print(f"{name:20s} {r['method']:34s} {_fmt(r.get('value'), '.6g'):>10s} "
                  f"ratio {_fmt(r.get('ratio')):>7s} {_fmt(r.get('seconds'), '.3g'):>7s} s  {r.get('status', '')[:90]}",
                  flush=True)
    md = to_markdown(results, args)
    if args.no_write:
        print(md)
    else:
        from benchmarks._results import write_section

        write_section("sdp", md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
