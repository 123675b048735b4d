r"""``lipbound bound MODEL --input-shape D[,D...]``: the bracket of a saved model from the command line.

MODEL is read without unpickling arbitrary code (:func:`~lipbound.bounds.load_model`):

* a **TorchScript** file (``torch.jit.save``), loaded with ``torch.jit.load``;
* a **torch.export** archive (``.pt2``, ``torch.export.save``), loaded with ``torch.export.load``
  and ``.module()``;
* a pickled ``torch.save`` of an ``nn.Module`` only with ``--trust-pickle`` (unpickling runs
  arbitrary code; a warning is printed). Without it such a file is refused.

The model is rebuilt as a chain of standard layers whose every layer is proven to be the standard
one (TorchScript graphs checked, the torch.export ATen graph read op by op), the chain is compared
with the loaded model on many inputs, certified bounds are computed on the chain and lower bounds
evaluated on the loaded model itself (``docs/accepts.md``). Every option is validated before any
work, and the ``--json`` path is checked to be writable before the model is even loaded.

Exit status: 0 on success, 2 on bad input (a message, no traceback), 3 if the soundness guard
fires (a lower bound above a certified upper bound: a bug, reported with the model), 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import sys
import time
from pathlib import Path

from .._args import int_range, positive_float
from .._progress import Steps
from ..errors import LipboundError, ShapeMismatchError
from ._import import ModelFileError, load_model  # noqa: F401 - re-exported for the CLI's callers

#: largest --samples accepted at parse time (the lower bounds need a few hundred; more is wasted)
MAX_SAMPLES = 100_000
#: the default SDP time budget: BASE_TIME_LIMIT seconds plus this many seconds per n^3 of the
#: hidden widths (one dense factorisation of each block per solver step), at most MAX_TIME_LIMIT
BASE_TIME_LIMIT, TIME_PER_CUBE, MAX_TIME_LIMIT = 30.0, 1e-9, 600.0
#: fraction of the machine's memory a run may plan to use before it is refused up front
MEMORY_FRACTION = 0.5


# ------------------------------------------------------------------------------- argument types
def _shape_arg(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(p) for p in text.replace("x", ",").split(",") if p.strip() != "")
    except ValueError:
        shape = ()
    if not shape or any(d < 1 for d in shape):
        raise argparse.ArgumentTypeError(f"{text!r}: expected positive integers like 784 or 3,32,32")
    return shape


def _radii_arg(text: str) -> list[float]:
    try:
        vals = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        vals = []
    if not vals or not all(math.isfinite(v) and v > 0 for v in vals) or len(vals) > 50:
        raise argparse.ArgumentTypeError(f"{text!r}: expected R1,R2,... (1 to 50 positive radii)")
    return sorted(set(vals))


def _center_arg(text: str):
    """``x1,x2,...`` or a ``.npy`` file: the centre of ``--domain ball:R`` and ``--radii``."""
    import numpy as np

    path = Path(text)
    if text.endswith(".npy"):
        if not path.is_file():
            raise argparse.ArgumentTypeError(f"{text!r}: no such .npy file")
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise argparse.ArgumentTypeError(f"{text!r}: not a readable .npy array ({exc})") from None
    else:
        try:
            arr = np.array([float(v) for v in text.split(",")])
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: expected x1,x2,... or a .npy file") from None
    arr = np.asarray(arr, dtype=np.float64)
    if arr.size == 0 or not np.isfinite(arr).all():
        raise argparse.ArgumentTypeError(f"{text!r}: the centre must be non-empty and finite")
    return text, arr


def _domain_arg(text: str):
    from ._lower import Ball, Box

    kind, _, rest = text.partition(":")
    try:
        nums = [float(v) for v in rest.split(",")] if rest else []
    except ValueError:
        nums = None
    if kind == "box" and nums is not None and len(nums) == 2 and all(map(math.isfinite, nums)) and nums[0] < nums[1]:
        return text, Box(nums[0], nums[1])
    if kind == "ball" and nums is not None and len(nums) == 1 and math.isfinite(nums[0]) and nums[0] > 0:
        return text, Ball(0.0, nums[0])
    raise argparse.ArgumentTypeError(f"{text!r}: expected box:LO,HI with LO < HI or ball:R with R > 0 (centred at 0)")


# ------------------------------------------------------------------------- checks before the work
def check_output_path(path: str, kind: str) -> None:
    """Raise before any work unless lipbound may write ``path``: it can be written
    (:func:`lipbound._io.check_output_file`) and, if it exists, it is a JSON document of ``kind``
    that lipbound wrote (lipbound never overwrites a file it did not write)."""
    from .._io import check_output_file

    p = check_output_file(path, "--json")
    if p.exists():
        try:
            ours = json.loads(p.read_text()).get("kind") == kind
        except (OSError, ValueError, AttributeError):
            ours = False
        if not ours:
            raise LipboundError(f"--json {path!r} exists and was not written by lipbound bound; lipbound never "
                                "overwrites such a file: choose another path or remove it yourself")


def memory_budget() -> int:
    """Bytes a run may plan to use: :data:`MEMORY_FRACTION` of the machine's physical memory."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        total = 8 * 2**30
    return int(MEMORY_FRACTION * total)


def check_memory(nbytes: float, what: str, fix: str) -> None:
    """Refuse, before allocating, work that would need more than :func:`memory_budget` bytes."""
    budget = memory_budget()
    if nbytes > budget:
        raise LipboundError(f"{what} would need about {nbytes / 2**30:.3g} GiB, more than the "
                            f"{budget / 2**30:.3g} GiB this run may use ({MEMORY_FRACTION:.0%} of the memory); {fix}")


def default_time_limit(net) -> float:
    """The SDP time budget when ``--time-limit`` is not given: :data:`BASE_TIME_LIMIT` plus
    :data:`TIME_PER_CUBE` per cubed width of every layer of ``net``, at most :data:`MAX_TIME_LIMIT`."""
    cubes = sum(float(math.prod(l.out_shape)) ** 3 for l in net.layers if l.kind == "linear")
    return min(BASE_TIME_LIMIT + TIME_PER_CUBE * cubes, MAX_TIME_LIMIT)


def _command(args: argparse.Namespace) -> str:
    parts = ["lipbound", "bound", str(args.model)]
    if args.autoencoder:
        parts.append("--autoencoder")
    for shp in args.input_shape or []:
        parts += ["--input-shape", ",".join(map(str, shp))]
    for m in args.method or []:
        parts += ["--method", m]
    if args.domain:
        parts += ["--domain", args.domain[0]]
    if args.center is not None:
        parts += ["--center", args.center[0]]
    if args.radii:
        parts += ["--radii", ",".join(f"{r:g}" for r in args.radii)]
    if args.latent_radius is not None:
        parts += ["--latent-radius", f"{args.latent_radius:g}"]
    parts += ["--samples", str(args.samples), "--seed", str(args.seed)]
    if args.time_limit is not None:
        parts += ["--time-limit", f"{args.time_limit:g}"]
    if args.json:
        parts += ["--json", args.json]
    if args.trust_pickle:
        parts.append("--trust-pickle")
    return " ".join(shlex.quote(p) for p in parts)


def _cmd_bound(args: argparse.Namespace) -> int:
    import torch
    from rich.console import Console
    from rich.table import Table

    from .. import __version__
    from .._io import atomic_write_json
    from ._bracket import bracket, default_methods
    from ._network import to_network
    from ._result import SoundnessError

    if args.autoencoder:
        return _cmd_autoencoder(args)
    if args.latent_radius is not None:
        print("lipbound: --latent-radius is for --autoencoder (the attention fusion's latent radius)", file=sys.stderr)
        return 2
    if not args.input_shape or len(args.input_shape) != 1:
        print("lipbound: --input-shape: give the model's unbatched input shape once (several only with "
              "--autoencoder, one per modality)", file=sys.stderr)
        return 2
    shape = args.input_shape[0]
    domain_text, domain = args.domain if args.domain else (None, None)
    if args.center is not None:
        from ._lower import Ball

        if not isinstance(domain, Ball):
            print("lipbound: --center needs --domain ball:R", file=sys.stderr)
            return 2
        if args.center[1].size != math.prod(shape):
            print(f"lipbound: --center has {args.center[1].size} values, the input shape {shape} needs "
                  f"{math.prod(shape)}", file=sys.stderr)
            return 2
        domain = Ball(torch.from_numpy(args.center[1].reshape(shape)), domain.radius)
        domain_text += f" at {args.center[0]}"
    if args.radii is not None and not (domain is not None and type(domain).__name__ == "Ball"):
        print("lipbound: --radii needs --domain ball:R (its centre is the sweep's; --center to move it)",
              file=sys.stderr)
        return 2
    if args.json and args.json != "-":
        check_output_path(args.json, "lipbound-bracket")
    n_in = math.prod(shape)
    check_memory(8.0 * n_in * (args.samples + 4 * 32 + 1), f"--input-shape {shape} with --samples {args.samples}",
                 "lower --samples or check --input-shape")
    say = Steps(0, "lipbound bound")
    say.say(f"loading {args.model}")
    loaded = load_model(args.model, trust_pickle=args.trust_pickle, input_shape=shape)
    net = to_network(loaded.chain, shape)
    widths = sum(math.prod(l.out_shape) for l in net.layers)
    # forward values, the autograd graph and the double backward of the lower bounds: ~6 copies
    check_memory(8.0 * 6 * widths * max(args.samples, 4 * 32), f"the lower bounds on {args.samples} inputs of this model",
                 "lower --samples")
    g = torch.Generator().manual_seed(args.seed)
    if domain is not None:
        inputs = domain.sample(args.samples, shape, g)
    else:
        inputs = torch.randn((args.samples, *shape), generator=g, dtype=torch.float64)
    # the registry's default set for these data (inputs are always sampled here), so that the
    # progress display knows the steps; bracket runs them all in one call (PGD starts from the
    # best power-iteration input)
    methods = (list(dict.fromkeys(args.method)) if args.method else
               default_methods(dense=net.sdp_ready, inputs=True, domain=domain is not None))
    time_limit = args.time_limit if args.time_limit is not None else default_time_limit(net)
    if any(m.startswith("lipsdp") for m in methods):
        say.say(f"SDP time limit {time_limit:.0f} s" + ("" if args.time_limit else " (default for this size; "
                                                         "--time-limit to change)"))
    to_stdout = args.json == "-"
    console = Console(stderr=to_stdout, width=None if sys.stdout.isatty() else 120)
    def on_step(method, result, steps):
        if result is None:
            steps.start(method)
        else:
            steps.done(method, f"{result.kind} {result.value:.6g} ({result.seconds:.2f} s; {result.status[:120]})")

    try:
        with Steps(len(methods), "lipbound bound") as steps:
            br = bracket(loaded, input_shape=shape, inputs=inputs, domain=domain, methods=methods, seed=args.seed,
                         time_limit=time_limit, on_step=lambda m, r: on_step(m, r, steps))
    except SoundnessError as exc:
        print(f"lipbound: soundness check failed: {exc}. No bound is reported.", file=sys.stderr)
        return 3

    sweep = _radius_sweep(loaded, shape, domain, args, br) if args.radii else None
    table = Table(title=f"lipbound bound {Path(args.model).name} (input shape {shape}, {loaded.format})")
    for col in ("method", "kind", "value", "solver", "status", "seconds"):
        table.add_column(col, overflow="fold")
    for r in br.results:
        table.add_row(r.method, r.kind, f"{r.value:.6g}", r.solver, r.status, f"{r.seconds:.2f}")
    console.print(table)
    console.print(f"bracket: {br.best_lower:.6g} <= Lip <= {br.best_upper:.6g}")
    domain_lows = [r.value for r in br.results if r.kind == "lower" and r.details.get("on_domain")]
    if domain is not None and any(r.kind == "certified-local-upper" for r in br.results):
        console.print(f"on the domain {domain_text}: {max(domain_lows, default=0.0):.6g} <= Lip_D <= "
                      f"{br.best_local_upper:.6g}")
    doc = {
        "kind": "lipbound-bracket",
        "model": str(args.model),
        "format": loaded.format,
        "input_shape": list(shape),
        "domain": domain_text,
        "samples": args.samples,
        "time_limit": time_limit,
        "best_lower": br.best_lower,
        "best_upper": br.best_upper if math.isfinite(br.best_upper) else "inf",
        "domain_lower": max(domain_lows, default=0.0) if domain is not None else None,
        "domain_upper": (br.best_local_upper if math.isfinite(br.best_local_upper) else "inf") if domain is not None else None,
        "results": br.as_rows(),
        **({"radius_sweep": sweep} if sweep is not None else {}),
        "meta": {"lipbound": __version__, "torch": torch.__version__, "python": platform.python_version(),
                 "seed": args.seed, "command": _command(args), "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
    }
    if sweep:
        sw = Table(title="certified local bound and PGD lower bound on balls of each radius (same centre)")
        for col in ("radius", "local (certified)", "pgd (lower)", "local / pgd", "unstable neurons", "seconds"):
            sw.add_column(col)
        for r in sweep:
            sw.add_row(f"{r['radius']:g}", f"{r['local']:.6g}", f"{r['pgd']:.6g}", f"{r['local'] / r['pgd']:.3f}"
                       if r["pgd"] > 0 else "-", str(r["unstable"]), f"{r['local_seconds'] + r['pgd_seconds']:.2f}")
        console.print(sw)
    if to_stdout:
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif args.json:
        atomic_write_json(args.json, doc)
        console.print(f"wrote {args.json}")
    return 0


def _cmd_autoencoder(args: argparse.Namespace) -> int:
    """``lipbound bound FILE --autoencoder``: a saved :class:`~lipbound.models.MultimodalAutoencoder`
    (TorchScript or torch.export, read and checked by :mod:`lipbound.bounds._exported`) bounded per
    encoder and decoder by a certified method of the registry, and as a whole by
    :func:`~lipbound.bounds.autoencoder_bounds` (Theorem 4.1's attention bound on a stated set)."""
    import torch
    from rich.console import Console
    from rich.table import Table

    from .. import __version__
    from .._io import atomic_write_json
    from ..models import AttentionFusion
    from ._bracket import REGISTRY, autoencoder_bounds
    from ._exported import load_file
    from ._lower import Ball

    methods = list(dict.fromkeys(args.method or ["lipsdp-neuron"]))
    ok = [n for n, e in REGISTRY.items() if e.kind == "certified-upper" and e.needs == "none"]
    if len(methods) != 1 or methods[0] not in ok:
        print(f"lipbound: --autoencoder takes one certified global --method, one of {', '.join(ok)}", file=sys.stderr)
        return 2
    for flag, given in (("--radii", args.radii), ("--center", args.center)):
        if given:
            print(f"lipbound: {flag} is not used with --autoencoder", file=sys.stderr)
            return 2
    if args.domain is not None and not isinstance(args.domain[1], Ball):
        print("lipbound: --autoencoder takes --domain ball:R (a ball of radius R around 0 in every modality)",
              file=sys.stderr)
        return 2
    if args.domain is not None and args.latent_radius is not None:
        print("lipbound: give --domain ball:R or --latent-radius R, not both", file=sys.stderr)
        return 2
    if args.json and args.json != "-":
        check_output_path(args.json, "lipbound-autoencoder-bounds")
    shapes = [tuple(s) for s in args.input_shape] if args.input_shape else None
    if not Path(args.model).is_file():
        print(f"lipbound: {args.model}: not a file", file=sys.stderr)
        return 2
    exported = load_file(Path(args.model), str(args.model), shapes)
    model = exported.model.double().eval()
    given = shapes
    shapes = [tuple(e.in_shape) for e in model.encoders]
    if given is not None and given != shapes:
        print(f"lipbound: --input-shape says {given}, the file's encoders take {shapes} (one --input-shape per "
              "modality, in order)", file=sys.stderr)
        return 2
    attention = isinstance(model.fusion, AttentionFusion)
    kw: dict = {"method": methods[0]}
    where = "all inputs"
    if attention:
        if args.domain is not None:
            r = float(args.domain[1].radius)
            kw.update(centers=[torch.zeros(s, dtype=torch.float64) for s in shapes], radii=[r] * len(shapes))
            where = f"inputs with every modality in the ball of radius {r:g} around 0"
        elif args.latent_radius is not None:
            kw["latent_radius"] = args.latent_radius
            where = f"latents of norm at most {args.latent_radius:g} (stated, not checked)"
        else:
            print("lipbound: the attention fusion is Lipschitz only on a bounded set: give --domain ball:R (input "
                  "balls, certified) or --latent-radius R (conditional)", file=sys.stderr)
            return 2
    out = autoencoder_bounds(model, **kw)
    radius = float(args.domain[1].radius) if attention and args.domain is not None else None
    if attention and radius is None:
        lower = None  # the conditional bound's set (latent norms) is not an input set to search
    else:
        lower = _autoencoder_secant(exported, model, shapes, radius, args.seed)
    rows = ([{"part": f"encoders.{i}", **r.as_row()} for i, r in enumerate(out["encoders"])]
            + [{"part": f"decoders.{j}", **r.as_row()} for j, r in enumerate(out["decoders"])]
            + [{"part": "composed", **out["composed"].as_row()}]
            + ([{"part": "composed", **lower.as_row()}] if lower is not None else []))
    if lower is not None and lower.value > out["composed"].value:
        from ._result import SoundnessError

        raise SoundnessError(f"soundness bug: the whole model's lower bound {lower.value} exceeds its certified bound "
                             f"{out['composed'].value}; please report it with the model")
    to_stdout = args.json == "-"
    console = Console(stderr=to_stdout, width=None if sys.stdout.isatty() else 120)
    table = Table(title=f"lipbound bound --autoencoder {Path(args.model).name} ({exported.format}, fusion "
                        f"{out['fusion']['name']}, input shapes {shapes})")
    for col in ("part", "method", "kind", "value", "solver", "status", "seconds"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["part"], r["method"], r["kind"], f"{r['value']:.6g}", r["solver"], r["status"],
                      f"{r['seconds']:.2f}")
    console.print(table)
    f = out["fusion"]
    console.print(f"fusion {f['name']}: Lipschitz {f['lipschitz']:.6g}, encoder part {f['encoder_part']:.6g} "
                  f"({f['rule']}); whole model <= {out['composed'].value:.6g} on {where}")
    doc = {"kind": "lipbound-autoencoder-bounds", "model": str(args.model), "format": exported.format,
           "input_shapes": [list(s) for s in shapes], "fusion": f, "where": where, "method": methods[0],
           "checked": exported.checked, "parts": rows,
           "meta": {"lipbound": __version__, "torch": torch.__version__, "python": platform.python_version(),
                    "command": _command(args), "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}}
    if to_stdout:
        sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")
    elif args.json:
        atomic_write_json(args.json, doc)
        console.print(f"wrote {args.json}")
    return 0


def _autoencoder_secant(exported, model, shapes, radius: float | None, seed: int, n: int = 32):
    """A lower bound on the whole model's constant: at ``n`` inputs (in the balls of ``radius`` around
    0 when given, else standard normal) the top right singular vector ``v`` of the rebuilt model's
    stacked Jacobian, then the secant ``||F(x + h v) - F(x)|| / h`` of the **file's own module**
    (float64 when it converts), deflated by ``2e-12 (||F(x)|| + 1) / h`` for the evaluation error
    (as in ``tests/test_ground_truth.py``); both points lie in the balls."""
    import math

    import torch

    from ._result import BoundResult

    t0 = time.perf_counter()
    g = torch.Generator().manual_seed(seed)
    sizes = [math.prod(s) for s in shapes]
    split = lambda v: [c.reshape(1, *s) for c, s in zip(torch.split(v, sizes), shapes)]  # noqa: E731
    stacked = lambda v: torch.cat([y.reshape(-1) for y in model(split(v))])  # noqa: E731
    user = exported.original64 if exported.original64 is not None else exported.original
    dtype = torch.float64 if exported.original64 is not None else next(exported.model.parameters()).dtype
    best, where = 0.0, None
    for _ in range(n):
        x = torch.randn(sum(sizes), generator=g, dtype=torch.float64)
        if radius is not None:  # a point well inside every modality's ball
            x = torch.cat([c / max(float(c.norm()), 1e-300) * 0.5 * radius for c in torch.split(x, sizes)])
        J = torch.func.jacrev(stacked)(x)
        v = torch.linalg.svd(J)[2][0]
        h = 1e-4 * (radius if radius is not None else 1.0)
        b = exported.batch or 1  # an exported program takes its example's batch size only

        def run(point):
            ys = user([c.to(dtype).expand(b, *c.shape[1:]) for c in split(point)])
            return [y[:1].to(torch.float64) for y in ys]

        with torch.no_grad():
            f0, f1 = run(x), run(x + h * v)
        diff = torch.cat([(b - a).reshape(-1) for a, b in zip(f0, f1)]).norm()
        size = float(torch.cat([a.reshape(-1) for a in f0]).norm())
        val = (float(diff) - 2e-12 * (size + 1.0)) / h if dtype == torch.float64 else 0.0
        if val > best:
            best, where = val, float(x.norm())
    return BoundResult("secant", "lower", max(best, 0.0), time.perf_counter() - t0, "none",
                       f"ok: ||F(x + h v) - F(x)|| / h of the file's module at {n} inputs "
                       + ("in the balls" if radius is not None else "(standard normal)")
                       + ", v the rebuilt model's top Jacobian direction; deflated by the evaluation error"
                       + ("" if dtype == torch.float64 else "; the file's module does not run in float64: not computed"),
                       {"inputs": n, "witness_norm": where})


def _radius_sweep(loaded, shape, domain, args, br) -> list[dict]:
    """``lipsdp-local`` and ``pgd`` on balls of each radius of ``--radii`` around the domain's centre
    (each local value at most the best global certified bound of ``br``)."""
    from ._bracket import bracket
    from ._lower import Ball

    rows = []
    glob = br.best_upper
    for r in args.radii:
        b = bracket(loaded, input_shape=shape, domain=Ball(domain.center, r), methods=["lipsdp-local", "pgd"],
                    seed=args.seed, time_limit=args.time_limit)
        loc, pgd = b["lipsdp-local"], b["pgd"]
        rows.append({"radius": r, "local": min(loc.value, glob), "local_raw": loc.value, "local_seconds": loc.seconds,
                     "local_status": loc.status, "pgd": pgd.value, "pgd_seconds": pgd.seconds,
                     "unstable": sum(n.get("unstable", 0) for n in loc.details.get("neurons", [])),
                     "global": glob if math.isfinite(glob) else "inf"})
        if pgd.value > rows[-1]["local"]:  # the guard of Bracket.check, for the reported (capped) value
            from ._result import SoundnessError

            raise SoundnessError(f"soundness bug: pgd {pgd.value} above the local bound {rows[-1]['local']} "
                                 f"at radius {r}; please report it with the model")
    return rows


def register(subparsers) -> None:
    """Add ``lipbound bound`` to the ``lipbound`` command's subparsers."""
    from ._bracket import METHODS

    p = subparsers.add_parser(
        "bound", help="certified upper and sampled lower bounds on a saved model's Lipschitz constant",
        description="Bracket the Lipschitz constant (Euclidean norms) of a TorchScript or torch.export model. "
                    "Exit status: 0 success, 2 bad input, 3 soundness guard fired, 130 interrupted.")
    p.add_argument("model", help="TorchScript file or torch.export archive (.pt2)")
    p.add_argument("--input-shape", action="append", type=_shape_arg, metavar="D[,D...]",
                   help="unbatched input shape, e.g. 784 or 3,32,32 (required; with --autoencoder once per "
                        "modality, or omitted when the file states them)")
    p.add_argument("--autoencoder", action="store_true",
                   help="MODEL is a saved multimodal autoencoder (encoders.<i>, fusion, decoders.<j>): bound every "
                        "encoder and decoder and the whole model (attention fusion: with --domain ball:R or "
                        "--latent-radius R)")
    p.add_argument("--latent-radius", type=positive_float, default=None, metavar="R",
                   help="with --autoencoder and an attention fusion: bound on the latents' norms (stated, not checked)")
    p.add_argument("--method", action="append", choices=METHODS, metavar="M",
                   help=f"method to run (repeatable; default: all applicable); one of {', '.join(METHODS)}")
    p.add_argument("--json", metavar="PATH", help="write the bracket as JSON to PATH ('-' for stdout)")
    p.add_argument("--domain", type=_domain_arg, metavar="box:LO,HI|ball:R",
                   help="input set for pgd and for sampling inputs (default: standard normal samples, no pgd)")
    p.add_argument("--center", type=_center_arg, metavar="x1,x2,...|FILE.npy",
                   help="centre of --domain ball:R (default: the origin), e.g. a data point saved with numpy.save")
    p.add_argument("--radii", type=_radii_arg, metavar="R1,R2,...",
                   help="with --domain ball:R: also bound the constant on balls of these radii around its centre "
                        "(certified local LipSDP beside PGD), a table and 'radius_sweep' in the JSON")
    p.add_argument("--samples", type=int_range(1, MAX_SAMPLES, "inputs for the lower bounds"), default=256, metavar="N",
                   help=f"inputs for power iteration and the paper's estimator (1..{MAX_SAMPLES}, default 256)")
    p.add_argument("--seed", type=int_range(0, 2**63 - 1, "seed"), default=0, metavar="S",
                   help="seed of samples and iterations (default 0)")
    p.add_argument("--time-limit", type=positive_float, default=None, metavar="SECONDS",
                   help="time budget of each SDP solve; when it runs out the best multipliers so far are verified "
                        f"(or the spectral product is reported). Default: {BASE_TIME_LIMIT:g} s plus "
                        f"{TIME_PER_CUBE:g} s per cubed layer width, at most {MAX_TIME_LIMIT:g} s")
    p.add_argument("--trust-pickle", action="store_true",
                   help="allow loading a pickled torch.save model (runs code from the file)")
    p.set_defaults(func=_cmd_bound)
