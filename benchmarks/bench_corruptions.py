"""Failure injection (Section 5.7) at the paper's size: seconds and peak memory of every corruption,
old (whole batch in float64 on the CPU) vs new (chunks of samples within a memory budget).

Each measurement runs in a fresh Python process: it builds the batch (float32, filled from
``torch.Generator().manual_seed(seed)``), runs the corruption once on a tiny slice (kernels loaded),
then records the wall time of ``corrupt(name, x, severity, seed)`` and the growth of the process's
peak resident memory over that call (``VmHWM`` of ``/proc/self/status``, reset through
``/proc/self/clear_refs`` just before: Linux only); the output is part of the growth, the input is
not. Peak memory is measured with glibc's mmap threshold fixed at 1 MiB
(``MALLOC_MMAP_THRESHOLD_``), so freed blocks go back to the system at once and the figure is the
peak of live allocations; the new implementation is measured once more with glibc's defaults
(adaptive threshold: freed blocks may stay in the heap), the memory a user actually sees.

The old implementation is the one of commit ``61d74ae`` (read with ``git show``). It runs only where
its projected memory fits ``--old-max-gib``: the old ``dust`` builds an (n, discs, H, W) float64
array and the old ``blur`` im2col columns of n C K H W float64 values, which are reported as
projected sizes (a lower bound on the old peak: the largest single tensor). Where both ran, the
outputs are compared (equal bitwise, or the largest absolute difference). Writes the "corruptions"
section of ``benchmarks/RESULTS.md``.

    python benchmarks/bench_corruptions.py                          # the paper size: 560 x 3 x 256 x 256
    python benchmarks/bench_corruptions.py --n 40 --no-write        # a quick check
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

OLD_COMMIT = "61d74ae"  # the whole-batch float64 implementation this one replaced
IMAGES = ("gaussian_noise", "blur", "occlusion", "dust", "lens_flare", "image")
SERIES = ("noise", "trend", "cutout", "time_warp", "channel_scaling", "series")


# ------------------------------------------------------------------------------------ the worker
def _old_module():
    """The old lipbound.datasets._corruptions, from git, as a module of the lipbound.datasets package."""
    import types

    src = subprocess.run(["git", "show", f"{OLD_COMMIT}:lipbound/datasets/_corruptions.py"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    mod = types.ModuleType("lipbound.datasets._corruptions_old")
    mod.__package__ = "lipbound.datasets"
    exec(compile(src, f"{OLD_COMMIT}:lipbound/datasets/_corruptions.py", "exec"), mod.__dict__)
    return mod


def _worker(spec: dict) -> dict:
    import time

    import torch

    torch.set_num_threads(spec["threads"])
    if spec["impl"] == "old":
        fn = _old_module().corrupt
    else:
        from lipbound.datasets import corrupt as fn
    g = torch.Generator().manual_seed(spec["seed"])
    shape, dtype = spec["shape"], getattr(torch, spec["dtype"])
    if len(shape) == 4:
        x = torch.rand(*shape, generator=g, dtype=dtype)  # no float64 temporary to inflate the baseline
        tiny = x[:2, :, :8, :8].clone()
    else:
        x = torch.randn(*shape, generator=g, dtype=torch.float64).cumsum(1).to(dtype)
        tiny = x[:2].clone()
    kw = {} if spec["impl"] == "old" or spec["budget"] is None else {"chunk_bytes": spec["budget"]}
    fn(spec["name"], tiny, severity=spec["severity"], seed=spec["seed"], **kw)

    def status() -> tuple[int, int]:  # (peak resident bytes since the reset, resident bytes now)
        d = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
        return int(d["VmHWM"].split()[0]) * 1024, int(d["VmRSS"].split()[0]) * 1024

    # the process's own high-water mark, reset here (Linux >= 4.0); ru_maxrss would not do: Linux
    # starts a child's ru_maxrss at its parent's resident size
    Path("/proc/self/clear_refs").write_text("5")
    base = status()[1]
    t0 = time.perf_counter()
    y = fn(spec["name"], x, severity=spec["severity"], seed=spec["seed"], **kw)
    out = {"seconds": time.perf_counter() - t0, "peak": status()[0] - base}
    if spec.get("save"):
        torch.save(y, spec["save"])
    if spec.get("compare"):
        ref = torch.load(spec["compare"])
        out["equal"] = bool(torch.equal(y, ref))
        out["max_abs_diff"] = float((y.double() - ref.double()).abs().max())
        out["max_abs_old"] = float(ref.double().abs().max())
    return out


def _run_worker(spec: dict, live: bool) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if live:
        env["MALLOC_MMAP_THRESHOLD_"] = str(2**20)
    else:
        env.pop("MALLOC_MMAP_THRESHOLD_", None)
    res = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)],
                         capture_output=True, text=True, env=env, cwd=ROOT)
    if res.returncode != 0:
        raise RuntimeError(f"worker {spec['impl']} {spec['name']} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------- projections
def _old_projection(name: str, shape: tuple, severity: float, seed: int) -> tuple[int, str]:
    """(bytes, what) of the old implementation's largest single tensor, float64, besides the
    float64 copy of the batch (8 bytes per element) that every old corruption made. The old dust
    held four tensors of that size at once (distances, coverage, 0.75 x coverage, 1 - that)."""
    import torch

    if len(shape) == 3:
        return 8 * math.prod(shape), "float64 copy of the batch"
    n, c, h, w = shape
    if name == "dust":
        k = int(round(severity * (math.ceil(0.01 * h * w) + 1)))
        return 8 * n * k * h * w, f"(n, {k} discs, H, W) float64 distances"
    if name == "blur":
        sigma = 2.5 * severity * max(h, w) / 32.0
        r = min(int(math.ceil(3 * sigma)), h - 1, w - 1)
        return 8 * n * c * (2 * r + 1) * h * w, f"im2col columns, K = {2 * r + 1} taps"
    if name == "image":  # the dust and blur samples of the mixed set, as the old pick draws them
        pick = torch.randint(5, (n,), generator=torch.Generator().manual_seed(seed))
        names = sorted(IMAGES[:-1])
        sub = {nm: int((pick == j).sum()) for j, nm in enumerate(names)}
        b_dust = _old_projection("dust", (sub["dust"], c, h, w), severity, seed)[0]
        b_blur = _old_projection("blur", (sub["blur"], c, h, w), severity, seed)[0]
        return max(b_dust, b_blur), f"dust on its {sub['dust']} samples, blur on its {sub['blur']}"
    return 8 * math.prod(shape), "float64 copy of the batch"


# ------------------------------------------------------------------------------------- main
def _shape(text: str) -> tuple:
    return tuple(int(v) for v in text.lower().split("x"))


def _mib(b: float) -> str:
    m = max(b, 0) / 2**20  # a growth: tiny negative readings are page-accounting noise
    return f"{m:,.0f}" if abs(m) >= 10 else f"{m:.2f}"


def _secs(t: float) -> str:
    return f"{t:.2f}" if t >= 0.1 else f"{t:.4f}"


def _gib(b: float) -> str:
    return f"{b / 2**30:,.1f} GiB"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, default=560, help="samples (the paper's test set: 560)")
    p.add_argument("--image", default="3x256x256", help="C x H x W of an image (the paper: 3x256x256)")
    p.add_argument("--series", nargs="+", default=["10x8", "10x30"],
                   help="T x C of series windows (the paper's L = 10; joints up to 8, wifi 30 subcarriers)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32", help="the datasets' float32")
    p.add_argument("--severity", type=float, default=1.0, help="the failure detection's severity: 1.0")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads in each worker")
    p.add_argument("--budget", type=int, help="chunk_bytes (default: lipbound's CHUNK_BYTES)")
    p.add_argument("--old-max-gib", type=float, default=4.0,
                   help="run the old implementation only where its projected memory is below this")
    p.add_argument("--only", nargs="+", choices=IMAGES + SERIES, help="measure these corruptions only")
    p.add_argument("--no-write", action="store_true", help="print, do not write benchmarks/RESULTS.md")
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(json.loads(args.worker))))
        return 0

    from benchmarks._results import command_line, machine, write_section
    from lipbound.datasets._corruptions import CHUNK_BYTES

    budget = args.budget or CHUNK_BYTES
    load0 = os.getloadavg()
    jobs = [(nm, (args.n, *_shape(args.image))) for nm in IMAGES]
    jobs += [(nm, (args.n, *_shape(s))) for s in args.series for nm in SERIES]
    if args.only:
        jobs = [j for j in jobs if j[0] in args.only]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, shape in jobs:
            base = {"name": name, "shape": list(shape), "dtype": args.dtype, "severity": args.severity,
                    "seed": args.seed, "threads": args.threads, "budget": budget}
            itemsize = 4 if args.dtype == "float32" else 8
            proj, what = _old_projection(name, shape, args.severity, args.seed)
            # the old float64 copy of the batch, its result, and the projected tensor (four of them for
            # dust: distances, coverage, 0.75 x coverage, 1 - that)
            old_need = proj * (4 if name in ("dust", "image") else 1) + 3 * 8 * math.prod(shape)
            row = {"name": name, "shape": shape, "proj": proj, "what": what, "data": itemsize * math.prod(shape)}
            saved = os.path.join(tmp, "old.pt")
            limit = args.old_max_gib * 2**30
            if old_need <= limit:
                row["old"] = _run_worker(dict(base, impl="old", save=saved), live=True)
            new = dict(base, impl="new", compare=saved if "old" in row else None)
            row["new"] = _run_worker(new, live=True)
            row["new_default"] = _run_worker(dict(base, impl="new"), live=False)
            if os.path.exists(saved):
                os.remove(saved)
            n_fit = int(limit // (old_need / shape[0]))
            if "old" not in row and n_fit >= 1:  # the old one on as many samples as fit, beside the new
                small = dict(base, shape=[n_fit, *shape[1:]])
                row["old_small"] = _run_worker(dict(small, impl="old", save=saved), live=True)
                row["new_small"] = _run_worker(dict(small, impl="new", compare=saved), live=True)
                row["n_fit"] = n_fit
                os.remove(saved)
            rows.append(row)
            o = row.get("old")
            print(f"{name} {shape}: new {row['new']['seconds']:.2f} s, {_mib(row['new']['peak'])} MiB"
                  + (f"; old {o['seconds']:.2f} s, {_mib(o['peak'])} MiB" if o else f"; old projected >= {_gib(proj)}"),
                  flush=True)
    load1 = os.getloadavg()

    md = [
        "## corruptions: failure injection at the paper's size (Section 5.7)",
        "",
        f"Command: `{command_line()}`  ",
        f"Machine: {machine()}; {args.threads} torch thread(s) per measurement; load average "
        f"{load0[0]:.1f} at the start, {load1[0]:.1f} at the end (the machine was shared: timings "
        + ("inflated)" if max(load0[0], load1[0]) > (os.cpu_count() or 1) * 0.5 else "from a quiet machine)"),
        "",
        f"Batch: {args.n} samples, {args.dtype}, severity {args.severity}, seed {args.seed}; new chunk budget "
        f"{budget / 2**20:g} MiB. Each figure comes from a fresh process: seconds = wall time of one "
        "`corrupt(name, x, severity=..., seed=...)` call after a warm-up on a tiny slice; peak = growth of the "
        "process's peak resident memory (VmHWM) over the call (the output included, the input not), with glibc's mmap "
        "threshold fixed at 1 MiB so that it follows live allocations; `new, glibc defaults` = the same for the "
        "new implementation without that setting (freed chunks may stay in the heap). Old = commit "
        f"`{OLD_COMMIT}` (whole batch in float64 on the CPU), run only where it fits {args.old_max_gib:g} GiB; "
        "otherwise its largest single tensor is given (a lower bound on its peak) and both are measured on as "
        "many samples as the old one fits in that memory. `old vs new`: outputs compared element by element "
        "(float32 results: the new one computes in float32 where the old one rounded float64 results once).",
        "",
        "| corruption | batch | data (MiB) | old (s) | old peak (MiB) | new (s) | new peak (MiB) "
        "| new, glibc defaults (MiB) | old vs new |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        o, nw = r.get("old"), r["new"]
        if o:
            old_s, old_m = _secs(o["seconds"]), _mib(o["peak"])
            cmp = ("bitwise equal" if nw.get("equal") else
                   f"max abs diff {nw['max_abs_diff']:.1e} (values up to {nw['max_abs_old']:.3g})")
        else:
            old_s, old_m, cmp = "not run", f"projected >= {_gib(r['proj'])} ({r['what']})", "-"
            if "old_small" in r:
                os_, ns = r["old_small"], r["new_small"]
                k = r["n_fit"]
                old_s = f"not run; on {k} samples: {_secs(os_['seconds'])} (new: {_secs(ns['seconds'])})"
                old_m += f"; on {k} samples: {_mib(os_['peak'])} (new: {_mib(ns['peak'])})"
                cmp = (f"on {k} samples: " + ("bitwise equal" if ns.get("equal") else
                       f"max abs diff {ns['max_abs_diff']:.1e} (values up to {ns['max_abs_old']:.3g})"))
        md.append(f"| {r['name']} | {' x '.join(map(str, r['shape']))} | {_mib(r['data'])} | {old_s} | {old_m} "
                  f"| {_secs(nw['seconds'])} | {_mib(nw['peak'])} | {_mib(r['new_default']['peak'])} | {cmp} |")
    text = "\n".join(md) + "\n"
    print(text)
    if not args.no_write:
        write_section("corruptions", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
