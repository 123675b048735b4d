r"""``lipbound bound MODEL --input-shape D[,D...]``: the bracket of a saved model from the command line.

MODEL is read without unpickling arbitrary code:

* a **TorchScript** file (``torch.jit.save``), loaded with ``torch.jit.load``;
* a **torch.export** archive (``.pt2``, ``torch.export.save``), loaded with ``torch.export.load``
  and ``.module()``;
* a pickled ``torch.save`` of an ``nn.Module`` only with ``--trust-pickle`` (unpickling runs
  arbitrary code; a warning is printed). Without it such a file is refused.

The bracket engine reads ``nn.Module`` layer chains (:func:`~lipbound.bounds.to_network`), so a
loaded TorchScript or exported module is rebuilt as an equivalent ``nn.Sequential`` of supported
layers (:func:`load_model`): TorchScript by walking submodules whose ``forward`` graphs are plain
chains of submodule calls, torch.export by walking the ATen graph (``aten.linear``,
``aten.conv2d``, ``aten.relu``, ...). Anything else raises
:class:`~lipbound.errors.UnsupportedModuleError` naming the layer and the supported list. The
rebuilt model is compared with the loaded one on random inputs before any bound is computed.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import shlex
import sys
import time
import warnings
import zipfile
from pathlib import Path
from typing import Any

from ..errors import LipboundError, ShapeMismatchError, UnsupportedModuleError


class ModelFileError(LipboundError, ValueError):
    """A model file that is missing, unreadable, not a model, or an untrusted pickle."""


_TS_LEAVES = ("Linear", "Conv2d", "ConvTranspose2d", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "GELU",
              "ELU", "Flatten", "Unflatten", "Identity")


def _supported() -> str:
    from ._network import SUPPORTED

    return ", ".join(SUPPORTED)


def _unsupported(where: str, what: str) -> UnsupportedModuleError:
    return UnsupportedModuleError(
        f"layer {where!r} ({what}) is not supported by lipbound.bounds; supported: {_supported()}"
    )


# ----------------------------------------------------------------------------------- TorchScript
def _ts_leaf(name: str, m) -> Any:
    """Rebuild one TorchScript leaf module as the nn module it was scripted from."""
    import torch
    from torch import nn

    kind = m.original_name

    def copy_params(new: nn.Module) -> nn.Module:
        with torch.no_grad():
            new.weight.copy_(m.weight)
            if getattr(m, "bias", None) is not None:
                new.bias.copy_(m.bias)
        return new

    if kind == "Linear":
        w = m.weight
        return copy_params(nn.Linear(w.shape[1], w.shape[0], bias=m.bias is not None, dtype=w.dtype))
    if kind in ("Conv2d", "ConvTranspose2d"):
        w = m.weight
        common = dict(stride=tuple(m.stride), padding=m.padding if isinstance(m.padding, str) else tuple(m.padding),
                      dilation=tuple(m.dilation), groups=int(m.groups), bias=m.bias is not None,
                      padding_mode=m.padding_mode, dtype=w.dtype)
        if kind == "Conv2d":
            new = nn.Conv2d(int(m.in_channels), int(m.out_channels), tuple(m.kernel_size), **common)
        else:
            new = nn.ConvTranspose2d(int(m.in_channels), int(m.out_channels), tuple(m.kernel_size),
                                     output_padding=tuple(m.output_padding), **common)
        return copy_params(new)
    if kind == "ReLU":
        return nn.ReLU()
    if kind == "LeakyReLU":
        return nn.LeakyReLU(float(m.negative_slope))
    if kind == "Tanh":
        return nn.Tanh()
    if kind == "Sigmoid":
        return nn.Sigmoid()
    if kind == "GELU":
        return nn.GELU(approximate=str(m.approximate))
    if kind == "ELU":
        return nn.ELU(float(m.alpha))
    if kind == "Flatten":
        return nn.Flatten(int(m.start_dim), int(m.end_dim))
    if kind == "Unflatten":
        return nn.Unflatten(int(m.dim), tuple(int(v) for v in m.unflattened_size))
    if kind == "Identity":
        return nn.Identity()
    raise _unsupported(name, f"TorchScript module {kind}")


def _ts_chain(m, name: str) -> list[tuple[str, Any]]:
    """The children a TorchScript container calls, in order, if its forward is a plain chain."""
    graph = m.graph
    inputs = list(graph.inputs())
    if len(inputs) != 2:
        raise _unsupported(name, f"{m.original_name} whose forward takes {len(inputs) - 1} inputs")
    attrs: dict[int, str] = {}  # graph values are compared by their unique ids
    self_id, current = inputs[0].unique(), inputs[1].unique()
    consts: dict[int, Any] = {}
    calls: list[str | Any] = []  # child names, or rebuilt modules for inline torch.flatten calls
    for node in graph.nodes():
        k = node.kind()
        if k == "prim::GetAttr" and list(node.inputs())[0].unique() == self_id:
            attrs[node.output().unique()] = node.s("name")
            continue
        if k == "prim::Constant":
            consts[node.output().unique()] = node.output().toIValue()
            continue
        ins = [v.unique() for v in node.inputs()]
        if k == "prim::CallMethod" and node.s("name") == "forward":
            # extra arguments may only be constant None (ConvTranspose2d's output_size)
            if (len(ins) >= 2 and ins[0] in attrs and ins[1] == current
                    and all(i in consts and consts[i] is None for i in ins[2:])):
                calls.append(attrs[ins[0]])
                current = node.output().unique()
                continue
        if k == "aten::flatten" and len(ins) == 3 and ins[0] == current and all(i in consts for i in ins[1:]):
            start, end = (int(consts[i]) for i in ins[1:])
            if start != 0:  # start 0 would flatten the batch dimension
                from torch import nn

                calls.append(nn.Flatten(start, end))
                current = node.output().unique()
                continue
        raise _unsupported(f"{name or '<model>'}", f"{m.original_name}: its forward runs {k}, not a chain of submodule calls")
    if [v.unique() for v in graph.outputs()] != [current]:
        raise _unsupported(name or "<model>", f"{m.original_name}: its forward does not return the last call's output")
    children = dict(m.named_children())
    out = []
    for c in calls:
        if not isinstance(c, str):
            out.append((f"{name}.<flatten>" if name else "<flatten>", c))
            continue
        if c not in children:
            raise _unsupported(f"{name}.{c}" if name else c, "an attribute that is not a submodule")
        out.append((f"{name}.{c}" if name else c, children[c]))
    return out


def _from_torchscript(m, name: str = "") -> list[Any]:
    import torch
    from torch import nn

    kind = m.original_name
    if kind in _TS_LEAVES:
        return [_ts_leaf(name or kind, m)]
    layers = []
    for child_name, child in _ts_chain(m, name):
        layers += [child] if isinstance(child, nn.Module) and not isinstance(child, torch.jit.ScriptModule) \
            else _from_torchscript(child, child_name)
    return layers


# ----------------------------------------------------------------------------------- torch.export
def _from_export(gm) -> list[Any]:
    """Rebuild the ATen graph of ``ExportedProgram.module()`` as a list of nn layers."""
    import torch
    from torch import nn

    aten = torch.ops.aten
    params = dict(gm.named_parameters())
    params.update(dict(gm.named_buffers()))

    def tensor(node) -> torch.Tensor | None:
        if node is None:
            return None
        if getattr(node, "op", None) != "get_attr":
            raise _unsupported(str(node), "a weight that is computed, not a stored parameter")
        return params[node.target] if node.target in params else getattr(gm, node.target)

    def arg(node, i, key, default):
        if len(node.args) > i:
            return node.args[i]
        return node.kwargs.get(key, default)

    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    if len(placeholders) != 1:
        raise _unsupported("<model>", f"an exported program with {len(placeholders)} inputs (need exactly 1)")
    current = placeholders[0]
    layers: list[nn.Module] = []
    for node in gm.graph.nodes:
        if node.op in ("placeholder", "get_attr"):
            continue
        if node.op == "call_module" and str(node.target).startswith("_guards"):
            continue
        if node.op == "output":
            outs = node.args[0]
            outs = outs if isinstance(outs, (tuple, list)) else (outs,)
            if len(outs) != 1 or outs[0] is not current:
                raise _unsupported("<output>", "an exported program whose output is not the end of one chain")
            break
        if node.op != "call_function" or not node.args or node.args[0] is not current:
            raise _unsupported(node.name, f"{node.op} {node.target}: not a step of a single layer chain")
        t = node.target
        if t == aten.linear.default:
            w, b = tensor(node.args[1]), tensor(arg(node, 2, "bias", None))
            new = nn.Linear(w.shape[1], w.shape[0], bias=b is not None, dtype=w.dtype)
        elif t in (aten.conv2d.default, aten.conv_transpose2d.input):
            w, b = tensor(node.args[1]), tensor(arg(node, 2, "bias", None))
            stride = tuple(arg(node, 3, "stride", (1, 1)))
            padding = tuple(arg(node, 4, "padding", (0, 0)))
            if t == aten.conv2d.default:
                dil, groups = tuple(arg(node, 5, "dilation", (1, 1))), int(arg(node, 6, "groups", 1))
                new = nn.Conv2d(w.shape[1] * groups, w.shape[0], tuple(w.shape[2:]), stride=stride, padding=padding,
                                dilation=dil, groups=groups, bias=b is not None, dtype=w.dtype)
            else:
                outp = tuple(arg(node, 5, "output_padding", (0, 0)))
                groups, dil = int(arg(node, 6, "groups", 1)), tuple(arg(node, 7, "dilation", (1, 1)))
                new = nn.ConvTranspose2d(w.shape[0], w.shape[1] * groups, tuple(w.shape[2:]), stride=stride,
                                         padding=padding, output_padding=outp, dilation=dil, groups=groups,
                                         bias=b is not None, dtype=w.dtype)
        elif t == aten.relu.default:
            new, w = nn.ReLU(), None
        elif t == aten.leaky_relu.default:
            new, w = nn.LeakyReLU(float(arg(node, 1, "negative_slope", 0.01))), None
        elif t == aten.tanh.default:
            new, w = nn.Tanh(), None
        elif t == aten.sigmoid.default:
            new, w = nn.Sigmoid(), None
        elif t == aten.gelu.default:
            new, w = nn.GELU(approximate=str(arg(node, 1, "approximate", "none"))), None
        elif t == aten.elu.default:
            if float(arg(node, 2, "scale", 1)) != 1.0 or float(arg(node, 3, "input_scale", 1)) != 1.0:
                raise _unsupported(node.name, "elu with scale != 1 (SELU-like)")
            new, w = nn.ELU(float(arg(node, 1, "alpha", 1.0))), None
        elif t == aten.flatten.using_ints:
            start, end = int(arg(node, 1, "start_dim", 0)), int(arg(node, 2, "end_dim", -1))
            if start < 1:
                raise _unsupported(node.name, "flatten over the batch dimension")
            new, w = nn.Flatten(start, end), None
        elif t == aten.unflatten.int:
            dim = int(arg(node, 1, "dim", 1))
            if dim < 1:
                raise _unsupported(node.name, "unflatten of the batch dimension")
            new, w = nn.Unflatten(dim, tuple(int(v) for v in node.args[2])), None
        elif t in (aten.dropout.default, aten.alias.default, aten.clone.default) and (
                t != aten.dropout.default or arg(node, 2, "train", False) is False):
            current = node
            continue
        else:
            raise _unsupported(node.name, f"operator {t}")
        if w is not None:
            with torch.no_grad():
                new.weight.copy_(w)
                if b is not None:
                    new.bias.copy_(b)
        layers.append(new)
        current = node
    return layers


# ------------------------------------------------------------------------------------- loading
def _is_zip(path: Path) -> bool:
    return zipfile.is_zipfile(path)


def _zip_names(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as z:
            return z.namelist()
    except (zipfile.BadZipFile, OSError):
        return []


def _looks_like_pickle(path: Path) -> bool:
    """A torch.save zip archive (``data.pkl``) or a legacy pickle (protocol header ``0x80``)."""
    names = _zip_names(path)
    if names:
        return any(n.endswith("/data.pkl") or n == "data.pkl" for n in names)
    with open(path, "rb") as fh:
        return fh.read(1) == b"\x80"


def _is_export_archive(path: Path) -> bool:
    names = _zip_names(path)
    return path.suffix == ".pt2" or any("serialized_exported_program" in n for n in names)


def load_model(path: str | Path, *, trust_pickle: bool = False, input_shape: tuple[int, ...] | None = None,
               check_seed: int = 0) -> tuple["torch.nn.Module", str]:
    """Load a saved model as an ``nn.Sequential`` of layers that :func:`~lipbound.bounds.to_network` reads.

    Args:
        path: a TorchScript file, a ``torch.export`` archive (``.pt2``) or, with ``trust_pickle``, a
            pickled ``torch.save`` of an ``nn.Module``.
        trust_pickle: allow ``torch.load(weights_only=False)`` (runs arbitrary code from the file).
        input_shape: the unbatched input shape; when given, the rebuilt model is compared with the
            loaded one on 4 random inputs (seed ``check_seed``).

    Returns:
        ``(model, fmt)`` with ``fmt`` one of ``"torchscript"``, ``"torch.export"``, ``"pickle"``.

    Raises:
        ModelFileError: missing or unreadable file, not a model, an untrusted pickle.
        UnsupportedModuleError: a layer the bracket engine does not handle.
    """
    import torch
    from torch import nn

    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"model file {str(path)!r} does not exist")
    if not path.is_file():
        raise ModelFileError(f"model path {str(path)!r} is not a file")
    if path.stat().st_size == 0:
        raise ModelFileError(f"model file {str(path)!r} is empty")
    loaded: Any = None
    fmt = ""
    if _is_export_archive(path):
        try:
            loaded = torch.export.load(str(path)).module()
            fmt = "torch.export"
        except Exception as exc:  # noqa: BLE001 - any failure means: not a readable export archive
            if path.suffix == ".pt2":
                raise ModelFileError(f"{str(path)!r} is not a readable torch.export archive: {exc}") from None
    if loaded is None:
        try:
            loaded = torch.jit.load(str(path), map_location="cpu")
            fmt = "torchscript"
        except Exception:  # noqa: BLE001 - not TorchScript; decide below what it is
            loaded = None
    if loaded is None:
        if not _looks_like_pickle(path):
            raise ModelFileError(
                f"{str(path)!r} is not a model: neither a TorchScript file nor a torch.export archive "
                "(save a model with torch.jit.save(torch.jit.script(model), path) or "
                "torch.export.save(torch.export.export(model, (x,)), 'model.pt2'))"
            )
        try:  # safe: tensors and plain containers only
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception:  # noqa: BLE001 - it needs full unpickling
            obj = None
        else:
            raise ModelFileError(
                f"{str(path)!r} holds {type(obj).__name__} (weights only, e.g. a state_dict), not a model: "
                "an architecture is needed; save the model as TorchScript or torch.export"
            )
        if not trust_pickle:
            raise ModelFileError(
                f"{str(path)!r} is a pickled torch.save file; unpickling it can run arbitrary code. "
                "Re-save the model as TorchScript or torch.export, or pass --trust-pickle if you trust the file"
            )
        warnings.warn(f"unpickling {str(path)!r} with weights_only=False (--trust-pickle): this runs code "
                      "from the file", UserWarning, stacklevel=2)
        try:
            loaded = torch.load(str(path), map_location="cpu", weights_only=False)
        except Exception as exc:  # noqa: BLE001
            raise ModelFileError(f"cannot unpickle {str(path)!r}: {exc}") from None
        if not isinstance(loaded, nn.Module):
            raise ModelFileError(f"{str(path)!r} holds {type(loaded).__name__}, not a torch.nn.Module")
        fmt = "pickle"
    if fmt == "torchscript":
        model = nn.Sequential(*_from_torchscript(loaded))
    elif fmt == "torch.export":
        model = nn.Sequential(*_from_export(loaded))
    else:
        model = loaded
    if isinstance(model, nn.Module):
        model = model.eval()
    if input_shape is not None and fmt != "pickle":
        batch = 4
        if fmt == "torch.export":  # an exported program is specialised to its example input's shape
            val = next(n for n in loaded.graph.nodes if n.op == "placeholder").meta.get("val")
            if val is not None and hasattr(val, "shape"):
                exported = tuple(int(d) for d in val.shape)
                if exported[1:] != tuple(input_shape):
                    raise ShapeMismatchError(
                        f"the exported program takes inputs of shape {exported} (batch first); "
                        f"--input-shape says {tuple(input_shape)}"
                    )
                batch = exported[0]
        _check_equivalent(loaded, model, tuple(input_shape), check_seed, batch)
    return model, fmt


def _check_equivalent(loaded, rebuilt, input_shape: tuple[int, ...], seed: int, batch: int = 4) -> None:
    """Compare the rebuilt chain with the loaded module on ``batch`` random inputs.

    The rebuilt layers run the same float kernels as the loaded ones, so outputs agree to rounding;
    the tolerance (1e-4 relative to the output scale, in the weights' dtype) is far above that
    (float32 reorderings: ~1e-6) and far below any real difference of architecture.
    """
    import torch

    from ._network import to_network

    to_network(rebuilt, input_shape)  # shape / unsupported / non-finite errors come from the engine
    dtype = next((p.dtype for p in rebuilt.parameters()), torch.float32)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((batch, *input_shape), generator=g).to(dtype)
    with torch.no_grad():
        try:
            a = loaded(x)
        except Exception as exc:  # noqa: BLE001
            raise ShapeMismatchError(f"the model cannot run on inputs of shape {input_shape}: {exc}") from None
        b = rebuilt(x)
    if not isinstance(a, torch.Tensor) or a.shape != b.shape or not torch.isfinite(a).all():
        raise UnsupportedModuleError(
            "the model's output is not one finite tensor of the rebuilt layer chain's shape; "
            f"supported: {_supported()}"
        )
    scale = float(a.abs().max()) + 1.0
    if float((a - b).abs().max()) > 1e-4 * scale:
        raise UnsupportedModuleError(
            "the rebuilt layer chain does not reproduce the model's outputs (a custom forward?); "
            f"supported: {_supported()}"
        )


# ------------------------------------------------------------------------------------------ CLI
def _parse_shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(p) for p in text.replace("x", ",").split(",") if p.strip() != "")
    except ValueError:
        raise ShapeMismatchError(f"--input-shape {text!r}: expected positive integers like 784 or 3,32,32") from None
    if not shape or any(d < 1 for d in shape):
        raise ShapeMismatchError(f"--input-shape {text!r}: expected positive integers like 784 or 3,32,32")
    return shape


def _parse_domain(text: str | None):
    from ._lower import Ball, Box

    if text is None:
        return None
    kind, _, rest = text.partition(":")
    try:
        nums = [float(v) for v in rest.split(",")] if rest else []
    except ValueError:
        nums = None
    if kind == "box" and nums is not None and len(nums) == 2 and all(map(math.isfinite, nums)) and nums[0] < nums[1]:
        return Box(nums[0], nums[1])
    if kind == "ball" and nums is not None and len(nums) == 1 and math.isfinite(nums[0]) and nums[0] > 0:
        return Ball(0.0, nums[0])
    raise ShapeMismatchError(f"--domain {text!r}: expected box:LO,HI with LO < HI or ball:R with R > 0 (centred at 0)")


def _command(args: argparse.Namespace) -> str:
    parts = ["lipbound", "bound", str(args.model), "--input-shape", args.input_shape]
    for m in args.method or []:
        parts += ["--method", m]
    if args.domain:
        parts += ["--domain", args.domain]
    parts += ["--samples", str(args.samples), "--seed", str(args.seed)]
    if args.json:
        parts += ["--json", args.json]
    if args.trust_pickle:
        parts.append("--trust-pickle")
    return " ".join(shlex.quote(p) for p in parts)


def _cmd_bound(args: argparse.Namespace) -> int:
    import torch
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from .. import __version__
    from .._io import atomic_write_json
    from ._bracket import METHODS, bracket
    from ._network import to_network
    from ._result import Bracket

    shape = _parse_shape(args.input_shape)
    domain = _parse_domain(args.domain)
    if args.samples < 1:
        raise ShapeMismatchError(f"--samples must be at least 1 (inputs for the lower bounds), got {args.samples}")
    unknown = [m for m in args.method or [] if m not in METHODS]
    if unknown:
        raise LipboundError(f"unknown --method {unknown}; choose from {list(METHODS)}")
    model, fmt = load_model(args.model, trust_pickle=args.trust_pickle, input_shape=shape, check_seed=args.seed)
    net = to_network(model, shape)
    g = torch.Generator().manual_seed(args.seed)
    if domain is not None:
        inputs = domain.sample(args.samples, shape, g)
    else:
        inputs = torch.randn((args.samples, *shape), generator=g, dtype=torch.float64)
    methods = list(dict.fromkeys(args.method)) if args.method else None
    if methods is None:
        methods = ["spectral-product"] + (["lipsdp-neuron"] if net.is_dense else []) + ["power-iteration"]
        methods += (["pgd"] if domain is not None else []) + ["paper-estimator"]
    to_stdout = args.json == "-"
    console = Console(stderr=to_stdout, width=None if sys.stdout.isatty() else 120)
    results = []
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("bounding", total=len(methods))
        for m in methods:
            progress.update(task, description=f"{m}")
            results += bracket(model, input_shape=shape, inputs=inputs, domain=domain, methods=[m],
                               seed=args.seed).results
            progress.advance(task)
    br = Bracket(results)  # raises SoundnessError if a lower bound exceeds a certified upper bound

    table = Table(title=f"lipbound bound {Path(args.model).name} (input shape {shape}, {fmt})")
    for col in ("method", "kind", "value", "solver", "status", "seconds"):
        table.add_column(col, overflow="fold")
    for r in br.results:
        table.add_row(r.method, r.kind, f"{r.value:.6g}", r.solver, r.status, f"{r.seconds:.2f}")
    console.print(table)
    console.print(f"bracket: {br.best_lower:.6g} <= Lip <= {br.best_upper:.6g}")
    doc = {
        "kind": "lipbound-bracket",
        "model": str(args.model),
        "format": fmt,
        "input_shape": list(shape),
        "domain": args.domain,
        "samples": args.samples,
        "best_lower": br.best_lower,
        "best_upper": br.best_upper if math.isfinite(br.best_upper) else "inf",
        "results": br.as_rows(),
        "meta": {"lipbound": __version__, "torch": torch.__version__, "python": platform.python_version(),
                 "seed": args.seed, "command": _command(args), "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
    }
    if to_stdout:
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif args.json:
        atomic_write_json(args.json, doc)
        console.print(f"wrote {args.json}")
    return 0


def register(subparsers) -> None:
    """Add ``lipbound bound`` to the ``lipbound`` command's subparsers."""
    from ._bracket import METHODS

    p = subparsers.add_parser(
        "bound", help="certified upper and sampled lower bounds on a saved model's Lipschitz constant",
        description="Bracket the Lipschitz constant (Euclidean norms) of a TorchScript or torch.export model.")
    p.add_argument("model", help="TorchScript file or torch.export archive (.pt2)")
    p.add_argument("--input-shape", required=True, metavar="D[,D...]", help="unbatched input shape, e.g. 784 or 3,32,32")
    p.add_argument("--method", action="append", choices=METHODS, metavar="M",
                   help=f"method to run (repeatable; default: all applicable); one of {', '.join(METHODS)}")
    p.add_argument("--json", metavar="PATH", help="write the bracket as JSON to PATH ('-' for stdout)")
    p.add_argument("--domain", metavar="box:LO,HI|ball:R",
                   help="input set for pgd and for sampling inputs (default: standard normal samples, no pgd)")
    p.add_argument("--samples", type=int, default=256, metavar="N",
                   help="inputs for power iteration and the paper's estimator (default 256)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of samples and iterations (default 0)")
    p.add_argument("--trust-pickle", action="store_true",
                   help="allow loading a pickled torch.save model (runs code from the file)")
    p.set_defaults(func=_cmd_bound)
