r"""Read saved or scripted models as chains the bracket engine certifies, without trusting names.

Sources:

* a **TorchScript** module (``torch.jit.load`` of a file, or ``torch.jit.script(model)``): rebuilt
  by walking submodules whose ``forward`` graphs are plain chains of submodule calls. A leaf is
  rebuilt as the standard layer it claims to be (its ``original_name``) only after its *inlined
  graph* is checked to be identical to the graph of that standard layer scripted with the same
  hyperparameters (:func:`graph_signature`): node kinds, constants, attributes read, types and data
  flow. A module whose class is merely *named* ``ReLU`` is refused;
* a **torch.export** archive (``.pt2``) or ``ExportedProgram.module()``: rebuilt by walking the ATen
  graph (``aten.linear``, ``aten.conv2d``, ``aten.relu``, ...): the graph *is* the computation;
* a pickled ``torch.save`` of an ``nn.Module`` only with ``trust_pickle`` (unpickling runs arbitrary
  code); the unpickled module is read by :func:`~lipbound.bounds.to_network`'s strict rules.

Whatever the source, :class:`LoadedModel` keeps both the **original** module (lower bounds and the
paper's estimator are evaluated on it) and the rebuilt **chain** (certified bounds are computed on
it), and :func:`~lipbound.bounds.bracket` checks that the two agree
(:func:`~lipbound.bounds._accept.check_equivalent`) before it computes anything.
"""

from __future__ import annotations

import warnings
import zipfile
from dataclasses import dataclass
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
def graph_signature(graph) -> tuple:
    """A canonical, name-free description of a TorchScript graph: for every node (recursively into
    blocks) its kind, attributes, inputs (as indices of the values defined before) and output types.
    Two graphs with equal signatures compute the same function of their inputs and the attributes
    they read (source locations and value names play no role; the first input, ``self``, is
    identified by position, not by its class name)."""
    ids: dict[int, int] = {}

    def vid(v) -> int:
        return ids.setdefault(v.unique(), len(ids))

    def attr(node, name):
        kind = node.kindOf(name)
        val = getattr(node, kind)(name)
        if kind == "t":
            return ("tensor", str(val.dtype), tuple(val.shape), tuple(val.flatten().tolist()))
        if kind == "ts":
            return tuple(("tensor", str(t.dtype), tuple(t.shape), tuple(t.flatten().tolist())) for t in val)
        if kind in ("g", "gs"):
            return repr(val)
        return (kind, repr(val))

    def nodes(block_or_graph) -> tuple:
        out = []
        for node in block_or_graph.nodes():
            out.append((node.kind(),
                        tuple(sorted((n, attr(node, n)) for n in node.attributeNames())),
                        tuple(vid(v) for v in node.inputs()),
                        tuple(str(o.type()) for o in node.outputs()),
                        tuple(block(b) for b in node.blocks())))
            for o in node.outputs():
                vid(o)
        return tuple(out)

    def block(b) -> tuple:
        params = tuple(vid(v) for v in b.inputs())
        body = nodes(b)
        return params, body, tuple(vid(v) for v in b.outputs())

    inputs = list(graph.inputs())
    head = tuple([vid(inputs[0])] + [(vid(v), str(v.type())) for v in inputs[1:]]) if inputs else ()
    return head, nodes(graph), tuple(vid(v) for v in graph.outputs())


_REFERENCE_SIGNATURES: dict[tuple, tuple] = {}


def _reference_signature(key: tuple, new) -> tuple[tuple, ...]:
    """:func:`graph_signature` of the standard module ``new`` scripted, and of the same after a
    ``torch.jit.save`` / ``torch.jit.load`` round trip (loading recompiles the saved code, which may
    order constants differently), cached by hyperparameters. A leaf whose graph equals either is
    torch's standard layer."""
    if key not in _REFERENCE_SIGNATURES:
        import io

        import torch

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.jit.script is deprecated upstream
            scripted = torch.jit.script(new)
            buf = io.BytesIO()
            torch.jit.save(scripted, buf)
            buf.seek(0)
            reloaded = torch.jit.load(buf)
        _REFERENCE_SIGNATURES[key] = (graph_signature(scripted.inlined_graph), graph_signature(reloaded.inlined_graph))
    return _REFERENCE_SIGNATURES[key]


def _ts_leaf(name: str, m) -> Any:
    """Rebuild one TorchScript leaf module as the standard nn module it claims to be, after checking
    that its inlined graph is that module's graph (:func:`graph_signature`)."""
    import torch
    from torch import nn

    kind = m.original_name

    def copy_params(new: nn.Module) -> nn.Module:
        with torch.no_grad():
            new.weight.copy_(m.weight)
            if getattr(m, "bias", None) is not None:
                new.bias.copy_(m.bias)
        return new

    try:
        if kind == "Linear":
            w = m.weight
            new = copy_params(nn.Linear(w.shape[1], w.shape[0], bias=m.bias is not None, dtype=w.dtype))
            key = (kind, m.bias is not None)
        elif kind in ("Conv2d", "ConvTranspose2d"):
            w = m.weight
            common = dict(stride=tuple(m.stride),
                          padding=m.padding if isinstance(m.padding, str) else tuple(m.padding),
                          dilation=tuple(m.dilation), groups=int(m.groups), bias=m.bias is not None,
                          padding_mode=m.padding_mode, dtype=w.dtype)
            if kind == "Conv2d":
                new = nn.Conv2d(int(m.in_channels), int(m.out_channels), tuple(m.kernel_size), **common)
            else:
                new = nn.ConvTranspose2d(int(m.in_channels), int(m.out_channels), tuple(m.kernel_size),
                                         output_padding=tuple(m.output_padding), **common)
            new = copy_params(new)
            key = (kind, tuple(sorted((k, repr(v)) for k, v in common.items())), tuple(m.kernel_size),
                   int(m.in_channels), int(m.out_channels), repr(getattr(m, "output_padding", None)))
        elif kind == "ReLU":
            new, key = nn.ReLU(), (kind,)
        elif kind == "LeakyReLU":
            new = nn.LeakyReLU(float(m.negative_slope))
            key = (kind, float(m.negative_slope))
        elif kind == "Tanh":
            new, key = nn.Tanh(), (kind,)
        elif kind == "Sigmoid":
            new, key = nn.Sigmoid(), (kind,)
        elif kind == "GELU":
            new = nn.GELU(approximate=str(m.approximate))
            key = (kind, str(m.approximate))
        elif kind == "ELU":
            new = nn.ELU(float(m.alpha))
            key = (kind, float(m.alpha))
        elif kind == "Flatten":
            new = nn.Flatten(int(m.start_dim), int(m.end_dim))
            key = (kind, int(m.start_dim), int(m.end_dim))
        elif kind == "Unflatten":
            new = nn.Unflatten(int(m.dim), tuple(int(v) for v in m.unflattened_size))
            key = (kind, int(m.dim), tuple(int(v) for v in m.unflattened_size))
        elif kind == "Identity":
            new, key = nn.Identity(), (kind,)
        else:
            raise _unsupported(name, f"TorchScript module {kind}")
    except (AttributeError, RuntimeError, TypeError, ValueError) as exc:
        raise _unsupported(name, f"a TorchScript module named {kind} without the attributes of torch's "
                                 f"nn.{kind} ({exc})") from None
    if graph_signature(m.inlined_graph) not in _reference_signature(key, new):
        raise _unsupported(
            name, f"a TorchScript module named {kind} whose graph is not the graph of torch's nn.{kind} "
                  "(a custom forward under a standard name, or a model scripted with another torch version: "
                  "re-save it with this torch, or as torch.export)")
    return new


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
        if node.op == "call_module" and str(node.target) == "_guards_fn" and not node.users:
            continue  # input guards of torch.export: they raise or return nothing used
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


@dataclass
class LoadedModel:
    """A user's model read for the bracket engine.

    Attributes:
        original: the module as the user has it (a TorchScript module, ``ExportedProgram.module()``,
            an unpickled or in-memory ``nn.Module``): lower bounds and the paper's estimator are
            evaluated on it.
        chain: an ``nn.Sequential`` of standard layers that the certified bounds are computed on
            (the original itself when it is already such a module).
        format: ``"torchscript"``, ``"torch.export"``, ``"pickle"`` or ``"module"``.
        batch: the only batch size the original accepts (a torch.export program is specialised to
            its example's batch), or ``None`` for any.
    """

    original: Any
    chain: Any
    format: str
    batch: int | None = None


def _export_batch(gm) -> tuple[int, ...] | None:
    val = next(n for n in gm.graph.nodes if n.op == "placeholder").meta.get("val")
    if val is not None and hasattr(val, "shape"):
        return tuple(int(d) for d in val.shape)
    return None


def as_loaded(model: Any) -> LoadedModel:
    """Read an in-memory model: a TorchScript module (rebuilt from checked graphs), the module of a
    torch.export program (rebuilt from its ATen graph), or an ``nn.Module`` (read as it is, by the
    strict rules of :func:`~lipbound.bounds.to_network`).

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU())
    >>> loaded = as_loaded(torch.jit.script(net))
    >>> loaded.format, [type(m).__name__ for m in loaded.chain]
    ('torchscript', ['Linear', 'ReLU'])
    """
    import torch
    from torch import nn

    if isinstance(model, LoadedModel):
        return model
    if isinstance(model, torch.jit.ScriptModule):
        return LoadedModel(model.eval(), nn.Sequential(*_from_torchscript(model)).eval(), "torchscript")
    if isinstance(model, torch.export.ExportedProgram):
        model = model.module()
    if isinstance(model, torch.fx.GraphModule) and any(
            n.op == "call_function" and isinstance(n.target, torch._ops.OpOverload) for n in model.graph.nodes):
        shape = _export_batch(model)
        return LoadedModel(model, nn.Sequential(*_from_export(model)).eval(), "torch.export",
                           None if shape is None else shape[0])
    if not isinstance(model, nn.Module):
        raise UnsupportedModuleError(f"expected a torch.nn.Module, got {type(model).__name__}")
    return LoadedModel(model, model, "module")


def load_model(path: str | Path, *, trust_pickle: bool = False,
               input_shape: tuple[int, ...] | None = None) -> LoadedModel:
    """Load a saved model for :func:`~lipbound.bounds.bracket` (see the module docstring).

    Args:
        path: a TorchScript file, a ``torch.export`` archive (``.pt2``) or, with ``trust_pickle``, a
            pickled ``torch.save`` of an ``nn.Module``.
        trust_pickle: allow ``torch.load(weights_only=False)`` (runs arbitrary code from the file).
        input_shape: the unbatched input shape; when given, it is checked against an exported
            program's input and the chain is read (:func:`~lipbound.bounds.to_network`) here
            already. :func:`~lipbound.bounds.bracket` compares the chain with the original
            (:func:`~lipbound.bounds._accept.check_equivalent`) before it computes anything.

    Returns:
        a :class:`LoadedModel` with ``format`` one of ``"torchscript"``, ``"torch.export"``, ``"pickle"``.

    Raises:
        ModelFileError: missing or unreadable file, not a model, an untrusted pickle.
        UnsupportedModuleError: a layer the bracket engine does not handle, or a chain that does not
            reproduce the model.
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
        result = LoadedModel(loaded.eval(), loaded, "pickle")
    elif fmt == "torchscript":
        result = LoadedModel(loaded.eval(), nn.Sequential(*_from_torchscript(loaded)).eval(), fmt)
    else:
        exported = _export_batch(loaded)
        if input_shape is not None and exported is not None and exported[1:] != tuple(input_shape):
            raise ShapeMismatchError(
                f"the exported program takes inputs of shape {exported} (batch first); "
                f"--input-shape says {tuple(input_shape)}"
            )
        result = LoadedModel(loaded, nn.Sequential(*_from_export(loaded)).eval(), fmt,
                             None if exported is None else exported[0])
    if input_shape is not None:
        from ._network import to_network

        to_network(result.chain, tuple(input_shape))  # unsupported layers and shape errors, before any work
    return result
