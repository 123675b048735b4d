r"""Saved files for ``lipbound verify --model FILE``: a TorchScript file (``torch.jit.save`` of a
traced :class:`~lipbound.models.MultimodalAutoencoder`) or a torch.export archive
(``torch.export.save``), mapped to encoders, fusion and decoders and rebuilt as lipbound's own model.

Nothing in a file is trusted by its name. The file is opened only when it exists, has a model
file's suffix (``.pt``, ``.pth``, ``.ts`` for TorchScript, ``.pt2`` for torch.export) and is an
archive of that format (a ``torch.save`` pickle is refused: lipbound does not unpickle). Then:

* **Structure.** The file must be a module with submodules ``encoders.<i>``, ``fusion`` and
  ``decoders.<j>`` (the names :class:`~lipbound.models.MultimodalAutoencoder` gives them), and its
  forward must be :math:`D_j(U(E_1(x_1), \dots, E_M(x_M)))` and nothing else: in TorchScript its
  graph is read call by call; in torch.export every ATen operation is assigned to the submodule
  that ran it and the data flow between the parts is checked (each encoder reads its modality only,
  the fusion the encoders' outputs in order, each decoder the fused latent only, and the program
  returns the decoders' outputs in order).
* **Encoders and decoders** are rebuilt as chains of standard layers by the bracket engine's
  readers (:mod:`lipbound.bounds._import`): a TorchScript leaf only when its graph is the graph of
  torch's layer, an exported part from its ATen operations.
* **The fusion** is rebuilt as lipbound's fusion with the file's parameters, for the one setting
  (``normalize_inputs``, ``spectral_norm``, ``scale``, ``projection``; always ``pairs="all"``: an
  attention fusion saved under a j != i reading of Definition 4.1 is refused, naming it) whose computation is
  *identical* to the file's: its TorchScript graph, or its sequence of ATen operations, equals the
  one lipbound's fusion gives when saved the same way. A fusion of another class, or of lipbound's
  class with a changed computation, is refused, naming it.
* **Equivalence.** The rebuilt model and the user's loaded module are evaluated on the same random
  inputs (float64 when the file can be converted, else in the file's precision); any part that
  differs is named and the model refused.

The claims then run on the rebuilt model (in float64), which :func:`~lipbound.claims._user_model.map_model`
checks as it checks a factory's model.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import LipboundError

TORCHSCRIPT_SUFFIXES = (".pt", ".pth", ".ts")
EXPORT_SUFFIXES = (".pt2",)
#: random inputs per scale on which the rebuilt model must reproduce the file's module
EQUIVALENCE_INPUTS = 4
#: input scales of the equivalence check (latents of trained models range over several magnitudes)
EQUIVALENCE_SCALES = (0.1, 1.0, 10.0)
#: relative tolerance of the equivalence check, by the precision it runs in
RTOL = {torch.float64: 1e-10, torch.float32: 1e-5}
_PART = re.compile(r"^(encoders\.\d+|fusion|decoders\.\d+)$")


def _error(message: str) -> LipboundError:
    from ..errors import ModelMappingError

    return ModelMappingError(message)


@dataclass
class ExportedModel:
    """A saved file mapped to the paper's structure.

    Attributes:
        model: lipbound's :class:`~lipbound.models.MultimodalAutoencoder` rebuilt from the file (in
            the file's precision).
        original: the user's loaded module (called with the list of modality inputs).
        format: ``"torchscript"`` or ``"torch.export"``.
        in_shapes: the unbatched input shapes when the file states them (torch.export), else None.
        checked: how the rebuilt model was checked against the file (for the report).
    """

    model: Any
    original: Any
    format: str
    in_shapes: list[tuple[int, ...]] | None
    checked: str = ""
    original64: Any = None
    batch: int | None = None

    def check_at(self, xs: list[torch.Tensor], mapped: Any, name: str) -> int:
        """Check that the user's module gives the outputs of ``mapped`` (the float64 model the claims
        run on) at the inputs ``xs`` the claims use, ``(N, *shape)`` per modality; returns N.
        In float64 when the module converts, else in the file's precision."""
        n = int(xs[0].shape[0])
        ref = self.original64 if self.original64 is not None else self.original
        dtype = torch.float64 if self.original64 is not None else _dtype([self.model])
        rtol = RTOL.get(dtype, 1e-5)
        with torch.no_grad():
            want = mapped([x.to(torch.float64) for x in xs])
            got: list[list[torch.Tensor]] = []
            step = self.batch or n
            for k in range(0, n, step):  # an exported program takes its example's batch size only
                chunk = [x[k:k + step].to(dtype) for x in xs]
                short = step - chunk[0].shape[0]
                if short:
                    chunk = [torch.cat([c, c[:1].expand(short, *c.shape[1:])]) for c in chunk]
                try:
                    outs_k = ref(chunk)
                except Exception as exc:  # noqa: BLE001 - the file's module failed on the claims' inputs
                    raise _error(f"{name}: the file's module cannot be evaluated at the inputs the claims use "
                                 f"({type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''})"
                                 ) from None
                got.append([y[:step - short] for y in outs_k])
        outs = [torch.cat([g[j] for g in got]).to(torch.float64) for j in range(len(want))]
        for j, (a, b) in enumerate(zip(outs, want)):
            scale = max(float(b.abs().max()), 1.0)
            if a.shape != b.shape or not bool(torch.isfinite(a).all()) or float((a - b).abs().max()) > rtol * scale:
                raise _error(f"{name}: at the inputs the claims use, output {j} of the file's module differs from the "
                             "model rebuilt from it; the claims would be about another model")
        return n


def _zip_names(path: Path) -> list[str] | None:
    try:
        with zipfile.ZipFile(path) as z:
            return z.namelist()
    except (zipfile.BadZipFile, OSError):
        return None


def load_file(path: Path, name: str, input_shapes: list[tuple[int, ...]] | None = None) -> ExportedModel:
    """Read, map, rebuild and check the saved model ``path`` (module docstring), or raise
    :class:`~lipbound.errors.ModelMappingError`."""
    suffix = path.suffix.lower()
    if suffix not in TORCHSCRIPT_SUFFIXES + EXPORT_SUFFIXES:
        raise _error(f"{name}: not a model file lipbound reads (expected {', '.join(TORCHSCRIPT_SUFFIXES)} for "
                     f"TorchScript or {', '.join(EXPORT_SUFFIXES)} for torch.export; a Python file is given as "
                     "path/to/file.py:function)")
    if path.stat().st_size == 0:
        raise _error(f"{name}: the file is empty")
    names = _zip_names(path)
    if names is None:
        raise _error(f"{name}: not a TorchScript or torch.export archive (not a zip archive: a corrupted or "
                     "truncated file, or another format)")
    is_script = any(n.endswith("constants.pkl") for n in names) and any("/code/" in n for n in names)
    is_export = not is_script and any("serialized_exported_program" in n or n.endswith("/archive_format")
                                      or n == "archive_format" for n in names)
    if suffix in EXPORT_SUFFIXES or is_export:
        if not is_export:
            raise _error(f"{name}: a .pt2 file that is not a torch.export archive (save one with "
                         "torch.export.save(torch.export.export(model, (xs,)), 'model.pt2'))")
        return _load_export(path, name)
    if not is_script:
        pickled = any(n.endswith("data.pkl") for n in names)
        raise _error(f"{name}: not a TorchScript archive" + (
            " but a torch.save pickle: lipbound does not unpickle (it can run code); save the model with "
            "torch.jit.save(torch.jit.trace(model, (xs,)), 'model.pt') or as torch.export" if pickled else
            " (a corrupted file, or another format)"))
    return _load_torchscript(path, name, input_shapes)


# ------------------------------------------------------------------------------------ the fusion
def _fusion_classes() -> dict[str, type]:
    from ..models import FUSIONS

    return {c.__name__: c for c in FUSIONS.values()}


def _fusion_candidates(cls_name: str, params: dict[str, torch.Tensor], dims: tuple[int, ...], where: str,
                       name: str) -> list[nn.Module]:
    """lipbound's fusions of class ``cls_name`` for latents ``dims`` with the parameters ``params``,
    one per setting the file's computation may be (the settings are not stored in the file)."""
    from ..models import AttentionFusion, ConcatFusion, SumFusion

    classes = _fusion_classes()
    cls = classes.get(cls_name)
    if cls is None:
        raise _error(f"{name}: the fusion ({where}) is {cls_name}, not one of lipbound's fusions "
                     f"({', '.join(sorted(classes))}; lipbound.models): lipbound cannot tell what it computes")
    dtype = next(iter(params.values())).dtype if params else None
    if issubclass(cls, (SumFusion, ConcatFusion)) and not issubclass(cls, AttentionFusion):
        if params:
            raise _error(f"{name}: the fusion ({where}) is named {cls_name} but holds parameters "
                         f"{', '.join(params)}; lipbound's {cls_name} has none")
        base = SumFusion if issubclass(cls, SumFusion) else ConcatFusion
        try:
            return [base(dims)]
        except (LipboundError, ValueError) as exc:
            raise _error(f"{name}: the fusion ({where}): {exc}") from None
    projection = "mlp2" if any(k.startswith("weights2.") for k in params) else "linear"
    try:
        w = params["weights.0"]
        k = int(params["weights2.0"].shape[0]) if projection == "mlp2" else int(w.shape[0])
        hidden = int(w.shape[0]) if projection == "mlp2" else None
    except KeyError:
        raise _error(f"{name}: the fusion ({where}) is named {cls_name} but has no parameters weights.0, ... "
                     "(lipbound's attention fusion has one score matrix per modality)") from None
    out = []
    for norm in (False, True):
        for spec in (False, True):
            for scale in (False, True):
                try:
                    f = AttentionFusion(dims, proj_dim=k, normalize_inputs=norm, spectral_norm=spec, scale=scale,
                                        projection=projection, hidden=hidden, l2=0.0)
                    f.load_state_dict(params, strict=True)
                except (LipboundError, RuntimeError, ValueError) as exc:
                    raise _error(f"{name}: the fusion ({where}) has parameters that lipbound's {cls_name} for latent "
                                 f"widths {dims} does not: {str(exc).splitlines()[0]}") from None
                out.append(f.to(dtype).eval())
    return out


def _no_fusion_match(cls_name: str, where: str, name: str) -> LipboundError:
    from ..models import AttentionFusion

    cls = _fusion_classes().get(cls_name)
    pairs = ("; the settings tried all average every pair (pairs='all'): a fusion saved with pairs='others' or "
             "'others-over-M' (the j != i readings of Definition 4.1) is not mapped from a file"
             if cls is not None and issubclass(cls, AttentionFusion) else "")
    return _error(f"{name}: the fusion ({where}) is named {cls_name} but computes something else than lipbound's "
                  f"{cls_name} in any of its settings (normalize_inputs, spectral_norm, scale, projection): a "
                  "changed fusion, or a file saved with another torch or lipbound version (save it again with this one)"
                  + pairs)


def _same(reference, target) -> bool:
    """Whether the computation ``reference()`` describes is ``target`` (False when it cannot be made)."""
    try:
        return reference() == target
    except Exception:  # noqa: BLE001 - a candidate that cannot even be saved is not the file's fusion
        return False


class _Holder(nn.Module):
    """Calls a fusion as a :class:`~lipbound.models.MultimodalAutoencoder` does (the reference of
    the fusion's saved computation)."""

    def __init__(self, fusion: nn.Module) -> None:
        super().__init__()
        self.fusion = fusion

    def forward(self, zs: list[torch.Tensor]) -> torch.Tensor:
        return self.fusion(zs)


# ----------------------------------------------------------------------------------- TorchScript
def _unmangle(sig: Any) -> Any:
    """A graph signature without TorchScript's per-compilation class-name mangling."""
    if isinstance(sig, tuple):
        return tuple(_unmangle(v) for v in sig)
    if isinstance(sig, str):
        return re.sub(r"___torch_mangle_\d+\.", "", sig)
    return sig


def _ts_signature(graph) -> tuple:
    from ._import import graph_signature

    return _unmangle(graph_signature(graph))


def _ts_reference(fusion: nn.Module, dims: tuple[int, ...], dtype: torch.dtype) -> tuple:
    import io

    zs = [torch.randn(2, d, dtype=dtype) for d in dims]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracing warns about the shape checks it cannot record
        traced = torch.jit.trace(_Holder(fusion), (zs,), check_trace=False)
        buf = io.BytesIO()
        torch.jit.save(traced, buf)
        buf.seek(0)
        reloaded = torch.jit.load(buf)
    return _ts_signature(reloaded.fusion.graph)


def _ts_list(container, what: str, name: str) -> list:
    kids = dict(container.named_children())
    if not kids or sorted(kids) != sorted(str(i) for i in range(len(kids))):
        raise _error(f"{name}: {what} holds submodules {', '.join(kids) or 'none'}; lipbound maps {what}.0, "
                     f"{what}.1, ... (one per modality)")
    return [kids[str(i)] for i in range(len(kids))]


def _ts_top(ts, m: int, name: str) -> None:
    """The module's forward must be D_j(U(E_1(x_1), ..., E_M(x_M))) of its submodules, and nothing else."""
    g = ts.graph
    inputs = list(g.inputs())
    if len(inputs) != 2:
        raise _error(f"{name}: its forward takes {len(inputs) - 1} arguments; lipbound maps forward(xs), xs the list "
                     "of modality inputs (trace the model as torch.jit.trace(model, (xs,)))")
    paths: dict[int, str] = {inputs[0].unique(): ""}
    vals: dict[int, Any] = {}
    consts: dict[int, Any] = {}
    called: list[str] = []
    for node in g.nodes():
        k = node.kind()
        ins = list(node.inputs())
        outs = list(node.outputs())
        if k == "prim::GetAttr" and ins[0].unique() in paths:
            parent = paths[ins[0].unique()]
            paths[outs[0].unique()] = f"{parent}.{node.s('name')}" if parent else node.s("name")
            continue
        if k == "prim::ListUnpack" and ins[0].unique() == inputs[1].unique():
            if len(outs) != m:
                raise _error(f"{name}: its forward unpacks {len(outs)} inputs; the model has {m} encoders")
            for i, o in enumerate(outs):
                vals[o.unique()] = ("x", i)
            continue
        if k == "prim::CallMethod" and node.s("name") == "forward" and ins[0].unique() in paths:
            part = paths[ins[0].unique()]
            args = [vals.get(v.unique()) for v in ins[1:]]
            got = None
            enc, dec = re.fullmatch(r"encoders\.(\d+)", part), re.fullmatch(r"decoders\.(\d+)", part)
            if enc and args == [("x", int(enc.group(1)))]:
                got = ("enc", int(enc.group(1)))
            elif part == "fusion" and args in ([("enc", i) for i in range(m)], [("out", [("enc", i) for i in range(m)])]):
                got = ("fusion",)
            elif dec and args == [("fusion",)]:
                got = ("dec", int(dec.group(1)))
            if got is None or part in called:
                raise _error(f"{name}: its forward calls {part} on {args}: not D_j(U(E_1(x_1), ..., E_M(x_M))) "
                             "(each encoder on its modality, the fusion on the encoders' outputs in order, each "
                             "decoder on the fused latent, each once)")
            called.append(part)
            vals[outs[0].unique()] = got
            continue
        if k == "prim::Constant":  # a value only: an operation that uses it is refused below
            consts[outs[0].unique()] = outs[0].toIValue()
            continue
        if (k == "aten::__getitem__" and len(ins) == 2 and ins[0].unique() == inputs[1].unique()
                and isinstance(consts.get(ins[1].unique()), int) and 0 <= consts[ins[1].unique()] < m):
            vals[outs[0].unique()] = ("x", consts[ins[1].unique()])  # xs[i] of a scripted forward
            continue
        if k in ("prim::ListConstruct", "prim::TupleConstruct"):
            vals[outs[0].unique()] = ("out", [vals.get(v.unique()) for v in ins])
            continue
        raise _error(f"{name}: its forward runs {k} outside its encoders, fusion and decoders; lipbound maps a "
                     "forward that is D_j(U(E_1(x_1), ..., E_M(x_M))) and nothing else")
    result = [vals.get(v.unique()) for v in g.outputs()]
    if result != [("out", [("dec", j) for j in range(m)])]:
        raise _error(f"{name}: its forward does not return the decoders' outputs D_1(z), ..., D_M(z) in order")


_TRACED_REFERENCES: dict[tuple, tuple] = {}


def _traced_leaf(where: str, m) -> nn.Module:
    """Rebuild a leaf of a *traced* TorchScript file as the standard layer it claims to be, after
    checking that its graph is the traced graph of that layer (a traced module keeps its parameters
    but not its hyperparameters: those are constants of the graph, tried one by one)."""
    import io

    from ..errors import UnsupportedModuleError

    kind = m.original_name
    params = {k: v.detach() for k, v in m.named_parameters(recurse=False)}
    floats = sorted({float(n.output().toIValue()) for n in m.inlined_graph.nodes()
                     if n.kind() == "prim::Constant" and str(n.output().type()) == "float"})
    simple = {"ReLU": nn.ReLU, "Tanh": nn.Tanh, "Sigmoid": nn.Sigmoid, "Identity": nn.Identity}
    width = 3
    if kind == "Linear" and "weight" in params and params["weight"].ndim == 2:
        w = params["weight"]
        width = int(w.shape[1])
        cands = [(("Linear", tuple(w.shape), "bias" in params), nn.Linear(w.shape[1], w.shape[0], bias="bias" in params))]
    elif kind in simple and not params:
        cands = [((kind,), simple[kind]())]
    elif kind == "GELU" and not params:
        cands = [((kind, a), nn.GELU(approximate=a)) for a in ("none", "tanh")]
    elif kind in ("LeakyReLU", "ELU") and not params:
        cls = nn.LeakyReLU if kind == "LeakyReLU" else nn.ELU
        cands = [((kind, c), cls(c)) for c in floats]
    else:
        raise UnsupportedModuleError(
            f"layer {where!r} (a traced TorchScript module named {kind}) is not read from traced files (Linear, ReLU, "
            "Tanh, Sigmoid, GELU, ELU, LeakyReLU, Identity are); export the model with torch.export (.pt2) instead")
    target = _ts_signature(m.inlined_graph)
    for key, new in cands:
        if key not in _TRACED_REFERENCES:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                traced = torch.jit.trace(new, (torch.zeros(2, width),), check_trace=False)
                buf = io.BytesIO()
                torch.jit.save(traced, buf)
                buf.seek(0)
                _TRACED_REFERENCES[key] = _ts_signature(torch.jit.load(buf).inlined_graph)
        if _TRACED_REFERENCES[key] == target:
            if params:
                new = new.to(next(iter(params.values())).dtype)
                new.load_state_dict(params, strict=True)
            return new
    raise UnsupportedModuleError(
        f"layer {where!r} is a TorchScript module named {kind} whose graph is neither the scripted nor the traced "
        f"graph of torch's nn.{kind} (a custom forward under a standard name, or a file saved with another torch "
        "version: save it again with this one, or as torch.export)")


def _ts_layers(m, where: str) -> list[nn.Module]:
    """The standard layers a TorchScript part computes: containers whose forward is a chain of
    submodule calls, leaves whose graph is the scripted or the traced graph of torch's layer."""
    from ._import import _TS_LEAVES, _ts_chain, _ts_leaf
    from ..errors import UnsupportedModuleError

    if m.original_name in _TS_LEAVES:
        try:
            return [_ts_leaf(where, m)]  # a scripted leaf
        except UnsupportedModuleError:
            return [_traced_leaf(where, m)]
    layers: list[nn.Module] = []
    for child_name, child in _ts_chain(m, where):
        layers += [child] if not isinstance(child, torch.jit.ScriptModule) else _ts_layers(child, child_name)
    return layers


def _ts_part(child, where: str, name: str) -> nn.Module:
    try:
        return nn.Sequential(*_ts_layers(child, where)).eval()
    except LipboundError as exc:
        raise _error(f"{name}: {where}: {exc}") from None


def _load_torchscript(path: Path, name: str, input_shapes) -> ExportedModel:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.jit.load is deprecated upstream
            ts = torch.jit.load(str(path), map_location="cpu").eval()
    except Exception as exc:  # noqa: BLE001 - any failure: not a readable TorchScript file
        raise _error(f"{name}: not a readable TorchScript file ({type(exc).__name__}: "
                     f"{str(exc).strip().splitlines()[0] if str(exc).strip() else 'no message'})") from None
    kids = dict(ts.named_children())
    missing = [a for a in ("encoders", "fusion", "decoders") if a not in kids]
    if missing:
        raise _error(f"{name}: cannot map the TorchScript module {ts.original_name} to the paper's encoders, fusion "
                     f"and decoders: it has no submodule {', '.join(missing)} (lipbound maps a saved "
                     "MultimodalAutoencoder: submodules encoders.<i>, fusion, decoders.<j>)")
    encs_ts = _ts_list(kids["encoders"], "encoders", name)
    decs_ts = _ts_list(kids["decoders"], "decoders", name)
    if len(encs_ts) != len(decs_ts):
        raise _error(f"{name}: {len(encs_ts)} encoders and {len(decs_ts)} decoders; the paper's model has one "
                     "decoder per modality")
    m = len(encs_ts)
    if input_shapes is not None and len(input_shapes) != m:
        raise _error(f"{name}: the model has {m} modalities, --input-shape gives {len(input_shapes)}")
    _ts_top(ts, m, name)
    encs = [_ts_part(e, f"encoders.{i}", name) for i, e in enumerate(encs_ts)]
    decs = [_ts_part(d, f"decoders.{j}", name) for j, d in enumerate(decs_ts)]
    shapes = _shapes(encs, input_shapes, name)
    dtype = _dtype(encs)
    dims = _latent_dims(encs, shapes, dtype, name)
    fusion_ts = kids["fusion"]
    params = {k: v.detach() for k, v in fusion_ts.named_parameters()}
    target = _ts_signature(fusion_ts.graph)
    fusion = next((f for f in _fusion_candidates(fusion_ts.original_name, params, dims, "fusion", name)
                   if _same(lambda: _ts_reference(f, dims, dtype), target)), None)
    if fusion is None:
        raise _no_fusion_match(fusion_ts.original_name, "fusion", name)
    model = _assemble(encs, fusion, decs, dims, shapes, name)

    def part(what: str, i: int | None = None):
        if what == "fusion":
            return lambda zs: fusion_ts(*zs)
        return getattr(kids[what], str(i))

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ts64 = torch.jit.load(str(path), map_location="cpu").double().eval()
        kids64 = dict(ts64.named_children())
    except Exception:  # noqa: BLE001 - keep the file's precision
        ts64 = kids64 = None

    def part64(what: str, i: int | None = None):
        if what == "fusion":
            return lambda zs: kids64["fusion"](*zs)
        return getattr(kids64[what], str(i))

    checked = _equivalent(model, ts, part, shapes, None, name, original64=ts64, part64=part64)
    return ExportedModel(model, ts, "torchscript", None, checked, ts64 if "float64" in checked else None)


# ----------------------------------------------------------------------------------- torch.export
def _stack_part(node) -> str | None:
    stack = node.meta.get("nn_module_stack") or {}
    paths = [v[0] for v in stack.values() if v and v[0]]
    return paths[0] if paths else None


def _stack_class(node) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    for v in stack.values():
        if v and v[0] == "fusion":
            t = v[1]
            return (t if isinstance(t, str) else getattr(t, "__qualname__", str(t))).rsplit(".", 1)[-1]
    return "?"


def _export_parts(gm, name: str) -> tuple[list, dict[str, list], dict[str, Any]]:
    """The user inputs of the program, its operations by part, and each part's output node."""
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    parts: dict[str, list] = {}
    for node in gm.graph.nodes:
        if node.op in ("placeholder", "get_attr", "output"):
            continue
        if node.op == "call_module" and str(node.target) == "_guards_fn" and not node.users:
            continue  # torch.export's input guards: they raise or return nothing used
        part = _stack_part(node)
        if node.op != "call_function" or part is None or not _PART.match(part):
            raise _error(f"{name}: the exported program runs {node.op} {node.target} "
                         f"{'in ' + part if part else 'outside any submodule'}, not in encoders.<i>, fusion or "
                         "decoders.<j>: lipbound cannot map it to the paper's encoders, fusion and decoders "
                         "(export lipbound's MultimodalAutoencoder, or a module with those submodules)")
        parts.setdefault(part, []).append(node)
    outputs: dict[str, Any] = {}
    for part, nodes in parts.items():
        inside = set(nodes)
        used_outside = {n for n in nodes if any(u not in inside for u in n.users)}
        if len(used_outside) != 1:
            raise _error(f"{name}: {part} of the exported program has {len(used_outside)} results used elsewhere; "
                         "a part of the paper's model returns one tensor")
        outputs[part] = used_outside.pop()
    return placeholders, parts, outputs


def _external(nodes: list) -> list:
    inside = set(nodes)
    seen: list = []
    for n in nodes:
        for a in n.all_input_nodes:
            if a not in inside and a.op != "get_attr" and a not in seen:
                seen.append(a)
    return seen


def _attr(gm, target: str) -> Any:
    obj = gm
    for key in str(target).split("."):
        obj = getattr(obj, key)
    return obj


def _positive_dims(node) -> None:
    """Write a negative dimension of ``aten.flatten`` / ``aten.unflatten`` (``flatten(start_dim=-3)``
    of lipbound's ConvEncoder) as the positive one it is for the input's recorded rank, the form the
    chain reader takes: the same operation on the same input."""
    aten = torch.ops.aten
    which = {aten.flatten.using_ints: (1, 2), aten.unflatten.int: (1,)}.get(node.target)
    val = node.args[0].meta.get("val") if which and node.args and isinstance(node.args[0], torch.fx.Node) else None
    if val is None or not hasattr(val, "ndim"):
        return
    args = list(node.args)
    for i in which:
        if i < len(args) and isinstance(args[i], int) and args[i] < 0:
            args[i] += val.ndim
    node.args = tuple(args)


def _sub_graph(gm, nodes: list, inputs: list, prefix: str, name: str):
    """The part ``nodes`` of ``gm`` as a GraphModule of its own, with placeholders for ``inputs``."""
    import torch.fx as fx

    g = fx.Graph()
    env: dict = {}
    root: dict[str, Any] = {}
    for k, a in enumerate(inputs):
        env[a] = g.placeholder(f"x{k}")
        env[a].meta = dict(a.meta)
    for n in nodes:
        for a in n.all_input_nodes:
            if a.op == "get_attr" and a not in env:
                if not str(a.target).startswith(prefix + "."):
                    raise _error(f"{name}: {prefix} of the exported program reads {a.target}, a tensor of another part")
                root[a.target] = _attr(gm, a.target)
                env[a] = g.get_attr(a.target)
        env[n] = g.node_copy(n, lambda x: env[x])
        _positive_dims(env[n])
    g.output(env[nodes[-1]] if len(nodes) else env[inputs[0]])
    return fx.GraphModule(root, g)


def _canonical(gm, inputs: list, prefix: str) -> tuple:
    """A name-free description of the operations of ``gm`` reached from ``inputs``: each ATen
    operation with its arguments (inputs by position, tensors by their name in the part,
    earlier operations by position, constants by value)."""
    ids: dict = {a: ("in", i) for i, a in enumerate(inputs)}
    out = []

    def arg(v):
        if isinstance(v, torch.fx.Node):
            if v in ids:
                return ids[v]
            if v.op == "get_attr":
                return ("t", str(v.target)[len(prefix) + 1:])
            return ("?", v.op)
        if isinstance(v, (list, tuple)):
            return (type(v).__name__, tuple(arg(x) for x in v))
        if isinstance(v, dict):
            return ("dict", tuple(sorted((k, arg(x)) for k, x in v.items())))
        return ("c", repr(v))

    for n in gm.graph.nodes:
        if n.op != "call_function":
            continue
        out.append((str(n.target), arg(tuple(n.args)), arg(dict(n.kwargs))))
        ids[n] = ("op", len(out) - 1)
    return tuple(out)


def _export_reference(fusion: nn.Module, dims: tuple[int, ...], batch: int, dtype: torch.dtype) -> tuple:
    zs = [torch.randn(batch, d, dtype=dtype) for d in dims]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm = torch.export.export(_Holder(fusion), (zs,)).module()
    ph = [n for n in gm.graph.nodes if n.op == "placeholder"]
    return _canonical(gm, ph, "fusion")


def _load_export(path: Path, name: str) -> ExportedModel:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ep = torch.export.load(str(path))
        gm = ep.module()
    except Exception as exc:  # noqa: BLE001 - any failure: not a readable archive
        raise _error(f"{name}: not a readable torch.export archive ({type(exc).__name__}: "
                     f"{str(exc).strip().splitlines()[0] if str(exc).strip() else 'no message'})") from None
    placeholders, parts, outs = _export_parts(gm, name)
    encs_p = sorted((p for p in parts if p.startswith("encoders.")), key=lambda p: int(p.split(".")[1]))
    decs_p = sorted((p for p in parts if p.startswith("decoders.")), key=lambda p: int(p.split(".")[1]))
    m = len(placeholders)
    want = ([f"encoders.{i}" for i in range(m)], [f"decoders.{j}" for j in range(m)])
    if "fusion" not in parts or (encs_p, decs_p) != want:
        have = ", ".join(sorted(parts)) or "no operations of named submodules"
        raise _error(f"{name}: cannot map the exported program to the paper's encoders, fusion and decoders: it has "
                     f"{m} inputs and runs {have}; lipbound maps encoders.0..{m - 1}, fusion and decoders.0..{m - 1} "
                     "(a MultimodalAutoencoder exported as torch.export.export(model, (xs,)))")
    # data flow: E_i(x_i), U(E_1, ..., E_M), D_j(U), returned in order
    for i, p in enumerate(encs_p):
        if _external(parts[p]) != [placeholders[i]]:
            raise _error(f"{name}: {p} of the exported program does not read exactly modality {i}'s input")
    fusion_in = _external(parts["fusion"])
    enc_out = [outs[p] for p in encs_p]
    if set(fusion_in) != set(enc_out):
        raise _error(f"{name}: the fusion of the exported program does not read exactly the encoders' outputs")
    for p in decs_p:
        if _external(parts[p]) != [outs["fusion"]]:
            raise _error(f"{name}: {p} of the exported program does not read exactly the fused latent")
    out_node = next(n for n in gm.graph.nodes if n.op == "output")
    result = out_node.args[0]
    flat = list(result) if isinstance(result, (list, tuple)) else [result]
    if flat != [outs[p] for p in decs_p]:
        raise _error(f"{name}: the exported program does not return the decoders' outputs D_1(z), ..., D_M(z) in order")
    from ._import import _from_export

    def chain(p: str, inp) -> nn.Module:
        try:
            return nn.Sequential(*_from_export(_sub_graph(gm, parts[p], [inp], p, name))).eval()
        except LipboundError as exc:
            raise _error(f"{name}: {p}: {exc}") from None

    encs = [chain(p, placeholders[i]) for i, p in enumerate(encs_p)]
    decs = [chain(p, outs["fusion"]) for p in decs_p]
    vals = [n.meta.get("val") for n in placeholders]
    if any(v is None or not hasattr(v, "shape") for v in vals):
        raise _error(f"{name}: the exported program does not record the shapes of its inputs")
    shapes = [tuple(int(d) for d in v.shape[1:]) for v in vals]
    batch = int(vals[0].shape[0])
    dtype = vals[0].dtype
    dims = _latent_dims(encs, shapes, dtype, name)
    params = {}
    for n in parts["fusion"]:
        for a in n.all_input_nodes:
            if a.op == "get_attr":
                if not str(a.target).startswith("fusion."):
                    raise _error(f"{name}: the fusion of the exported program reads {a.target}, a tensor of another part")
                params[str(a.target)[len("fusion."):]] = _attr(gm, a.target)
    fusion_gm = _sub_graph(gm, parts["fusion"], enc_out, "fusion", name)
    target = _canonical(fusion_gm, [n for n in fusion_gm.graph.nodes if n.op == "placeholder"], "fusion")
    cls_name = _stack_class(parts["fusion"][0])
    fusion = next((f for f in _fusion_candidates(cls_name, {k: v.detach() for k, v in params.items()}, dims,
                                                   "fusion", name)
                   if _same(lambda: _export_reference(f, dims, batch, dtype), target)), None)
    if fusion is None:
        raise _no_fusion_match(cls_name, "fusion", name)
    model = _assemble(encs, fusion, decs, dims, shapes, name)

    def part(what: str, i: int | None = None):
        if what == "fusion":
            return lambda zs: fusion_gm(*zs)
        sub = encs_p[i] if what == "encoders" else decs_p[i]
        inp = placeholders[i] if what == "encoders" else outs["fusion"]
        return _sub_graph(gm, parts[sub], [inp], sub, name)

    import copy

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # copying a graph module warns about torch's own internals
            gm64 = copy.deepcopy(gm).double()
            fusion64 = copy.deepcopy(fusion_gm).double()
    except Exception:  # noqa: BLE001 - keep the file's precision
        gm64 = None

    def part64(what: str, i: int | None = None):
        if what == "fusion":
            return lambda zs: fusion64(*zs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return copy.deepcopy(part(what, i)).double()

    checked = _equivalent(model, gm, part, shapes, batch, name, original64=gm64, part64=part64)
    return ExportedModel(model, gm, "torch.export", shapes, checked, gm64 if "float64" in checked else None, batch)


# ------------------------------------------------------------------------------ shared steps
def _dtype(parts: list[nn.Module]) -> torch.dtype:
    p = next((p for m in parts for p in m.parameters()), None)
    return torch.float32 if p is None else p.dtype


def _shapes(encs: list[nn.Module], given, name: str) -> list[tuple[int, ...]]:
    from ._network import default_input_shape

    if given is not None:
        return [tuple(s) for s in given]
    out = []
    for i, e in enumerate(encs):
        s = default_input_shape(e)
        if s is None:
            raise _error(f"{name}: cannot tell the input shape of encoders.{i} from the file; give --input-shape once "
                         "per modality, e.g. --input-shape 6 --input-shape 1,16,16")
        out.append(tuple(int(v) for v in s))
    return out


def _latent_dims(encs: list[nn.Module], shapes, dtype, name: str) -> tuple[int, ...]:
    dims = []
    for i, (e, s) in enumerate(zip(encs, shapes)):
        try:
            with torch.no_grad():
                out = e(torch.zeros((1, *s), dtype=dtype))
        except Exception as exc:  # noqa: BLE001 - a shape the encoder cannot take
            raise _error(f"{name}: encoders.{i} cannot take inputs of shape {tuple(s)} ({type(exc).__name__}: "
                         f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}); check --input-shape") from None
        if out.ndim != 2:
            raise _error(f"{name}: encoders.{i} returns shape {tuple(out.shape[1:])} per sample; the paper's latents "
                         "are vectors")
        dims.append(int(out.shape[1]))
    return tuple(dims)


def _assemble(encs, fusion, decs, dims, shapes, name: str):
    from ..models import MultimodalAutoencoder

    for e, s in zip(encs, shapes):
        e.in_shape = tuple(s)
    try:
        return MultimodalAutoencoder(encs, fusion, decs, latent_dims=dims).eval()
    except (LipboundError, ValueError, TypeError) as exc:
        raise _error(f"{name}: the parts read from the file do not form the paper's model: {exc}") from None


class _Float64Failed(Exception):
    """The file's module, converted to float64, could not be evaluated: check in its own precision."""


def _equivalent(model, original, part, shapes, batch: int | None, name: str, *, original64=None,
                part64=None) -> str:
    """Evaluate the user's module and the rebuilt model on the same random inputs and name the first
    part that differs. In float64 when the file's module converts (``original64``, ``part64``),
    else in the file's precision."""
    import copy

    if original64 is not None:
        try:
            return _compare(copy.deepcopy(model).double().eval(), original64, part64, shapes, batch, name,
                            torch.float64, fallible=True)
        except _Float64Failed:
            pass
    return _compare(model, original, part, shapes, batch, name, _dtype([model]), fallible=False)


def _compare(mine, ref, upart, shapes, batch: int | None, name: str, dtype: torch.dtype, *, fallible: bool) -> str:
    g = torch.Generator().manual_seed(20240)
    n = batch or EQUIVALENCE_INPUTS
    rtol = RTOL.get(dtype, 1e-5)
    total = 0

    def close(a, b) -> bool:
        if not isinstance(a, torch.Tensor) or a.shape != b.shape or a.dtype != b.dtype:
            return False
        scale = max(float(b.abs().max()) if b.numel() else 0.0, 1.0)
        return bool(torch.isfinite(a).all()) and float((a - b).abs().max()) <= rtol * scale

    def differ(what: str) -> LipboundError:
        return _error(f"{name}: {what} of the file and its rebuilt {'fusion' if what == 'the fusion' else 'chain'} "
                      "differ on random inputs; the claims would be about another model")

    for s in EQUIVALENCE_SCALES:
        xs = [s * torch.randn((n, *sh), generator=g, dtype=torch.float64).to(dtype) for sh in shapes]
        with torch.no_grad():
            try:
                zs_u = [upart("encoders", i)(x) for i, x in enumerate(xs)]
                zs = mine.encode(xs)
                z_u, z = upart("fusion")(zs), mine.fuse(zs)
                dec_u = [upart("decoders", j)(z) for j in range(len(mine.decoders))]
                dec = [d(z) for d in mine.decoders]
                got, want = ref(xs), mine(xs)
            except Exception as exc:  # noqa: BLE001 - the file's module failed on valid inputs
                if fallible:
                    raise _Float64Failed from None
                raise _error(f"{name}: evaluating the file's module on inputs of shapes {[tuple(x.shape) for x in xs]} "
                             f"raised {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
                             ) from None
        for i, (a, b) in enumerate(zip(zs_u, zs)):
            if not close(a, b):
                raise differ(f"encoders.{i}")
        if not close(z_u, z):
            raise differ("the fusion")
        for j, (a, b) in enumerate(zip(dec_u, dec)):
            if not close(a, b):
                raise differ(f"decoders.{j}")
        if not (isinstance(got, (list, tuple)) and len(got) == len(want) and all(close(a, b) for a, b in zip(got, want))):
            raise _error(f"{name}: the file's module and the model rebuilt from its parts differ on random inputs "
                         "(its forward is not the composition of its parts)")
        total += n
    prec = str(dtype).replace("torch.", "")
    return f"rebuilt from the file and equal to it at {total} random inputs ({prec}, relative tolerance {rtol:g})"
