r"""The paper's claims on the user's own model: ``lipbound verify --model SOURCE``.

Three steps:

1. **Load** (:func:`load_source`): ``SOURCE`` is a factory ``module:function`` or
   ``path/to/file.py:function`` (a function without arguments that returns the model; calling it runs
   the user's code, which is the user's explicit choice), or a saved file: TorchScript (``.pt``,
   ``.pth``, ``.ts``: ``torch.jit.save`` of a traced model) or torch.export (``.pt2``). A file is
   mapped by the names of its submodules (``encoders.<i>``, ``fusion``, ``decoders.<j>``), rebuilt
   as lipbound's model only from parts proven to compute what lipbound's own do, and checked to give
   the file's outputs on random inputs (:mod:`lipbound.bounds._exported`); the claims run on the
   rebuilt model.
2. **Map** (:func:`map_model`): the model must be lipbound's
   :class:`~lipbound.models.MultimodalAutoencoder`, or a module with attributes ``encoders``,
   ``fusion`` and ``decoders`` (lists of modules and one of lipbound's fusions). Soundness reuses the
   bracket engine's acceptance checks (``docs/accepts.md``): every encoder and decoder must be read by
   :func:`~lipbound.bounds.to_network` as a chain of standard layers (a subclassed or look-alike layer
   is refused) and reproduce that chain (:func:`~lipbound.bounds._accept.check_equivalent`); the
   fusion and the model class must compute what lipbound's own do (``check_standard``); a module
   with its own ``forward`` must compute :math:`D_j(U(E_1(x_1), \dots, E_M(x_M)))` on the inputs.
   Whatever cannot be mapped is a :class:`ModelMappingError` (exit status 2).
3. **Check** (:func:`model_row`): every reading whose assumptions the model meets is checked on the
   model alone (its cases are the model at the inputs: rows of ``--data folder:PATH``, else standard
   normal inputs), with the claim's own evaluator; no generated case, ledger witness or symbolic
   proof takes part, so the row is a statement about this model. A reading the model does not meet
   the assumptions of is a ``skipped`` row that names the assumption.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import importlib.util
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from ..errors import LipboundError, ModelMappingError
from ._ledger import Claim, Evaluator, Row

#: inputs (cases) per model: rows of the data, or standard normal draws
INPUTS_PER_MODEL = 2
#: relative tolerance of "the model's own forward is D(U(E(x)))", against the size of the outputs
FORWARD_RTOL = 1e-9
#: smooth activations (Theorems 3.1 and 3.2 need Lipschitz derivatives)
_SMOOTH = (nn.Tanh, nn.Sigmoid, nn.GELU, nn.ELU)


@dataclass
class UserModel:
    """A user's model mapped to the paper's structure.

    Attributes:
        name: how rows name it (the ``--model`` source).
        model: the float64 :class:`~lipbound.models.MultimodalAutoencoder` of its parts, in eval mode.
        fusion: ``"sum"``, ``"concat"`` or ``"attention"``.
        in_shapes: the unbatched input shape of every modality.
        inputs: float64 inputs per modality, ``(N, *shape)`` (the user's data), or None (random).
        inputs_from: where the inputs come from, for the rows' method.
        origin: how a model read from a file was checked against it (None for a factory's model).
        original: the user's loaded module of a file (TorchScript or ``ExportedProgram.module()``).
    """

    name: str
    model: Any
    fusion: str
    in_shapes: list[tuple[int, ...]]
    inputs: list[torch.Tensor] | None = None
    inputs_from: str = "standard normal inputs"
    origin: str | None = None
    original: Any = None


# ------------------------------------------------------------------------------------------ loading
def _load_factory(source: str) -> Any:
    target, _, func = source.rpartition(":")
    if not target or not func.isidentifier():
        raise ModelMappingError(f"--model {source!r}: a factory is module:function or path/to/file.py:function")
    try:
        if target.endswith(".py"):
            path = Path(target)
            if not path.is_file():
                raise ModelMappingError(f"--model {source!r}: the file {target} does not exist")
            name = f"_lipbound_user_model_{abs(hash(str(path.resolve())))}"
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(target)
    except ModelMappingError:
        raise
    except Exception as exc:  # noqa: BLE001 - the user's module failed to import: say so, no traceback
        raise ModelMappingError(f"--model {source!r}: importing {target} raised {type(exc).__name__}: {exc}") from None
    fn = getattr(module, func, None)
    if not callable(fn):
        raise ModelMappingError(f"--model {source!r}: {target} has no function {func!r}")
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001
        raise ModelMappingError(f"--model {source!r}: calling {func}() raised {type(exc).__name__}: {exc}") from None


def load_source(source: str, input_shapes: list[tuple[int, ...]] | None = None) -> Any:
    """The model object of ``--model SOURCE`` (see the module docstring): a factory's return value,
    or the :class:`~lipbound.bounds._exported.ExportedModel` of a saved file."""
    from ..bounds._exported import load_file

    path = Path(source)
    if path.is_file():
        if path.suffix == ".py":
            raise ModelMappingError(f"--model {source}: a Python file; name the function that returns the model, "
                                    f"{source}:function")
        return load_file(path, f"--model {source}", input_shapes)
    if path.exists():
        raise ModelMappingError(f"--model {source}: not a file")
    if ":" in source:
        return _load_factory(source)
    raise ModelMappingError(f"--model {source!r}: no such file, and not a factory module:function")


# ------------------------------------------------------------------------------------------ mapping
def _parts(obj: Any, name: str) -> tuple[list[nn.Module], nn.Module, list[nn.Module]]:
    from ..models import MultimodalAutoencoder

    if isinstance(obj, torch.jit.ScriptModule):
        raise ModelMappingError(f"{name}: the factory returned a TorchScript module; return the nn.Module itself, or "
                                "save the TorchScript module with torch.jit.save and give the file as --model FILE.pt")
    if not isinstance(obj, nn.Module):
        raise ModelMappingError(f"{name}: the factory returned {type(obj).__name__}, not a torch.nn.Module")
    missing = [a for a in ("encoders", "fusion", "decoders") if not hasattr(obj, a)]
    if missing:
        raise ModelMappingError(
            f"{name}: cannot map {type(obj).__name__} to the paper's encoders, fusion and decoders: it has no "
            f"attribute {', '.join(missing)} (lipbound maps its MultimodalAutoencoder, or a module with attributes "
            "encoders and decoders, lists of modules, and fusion, one of lipbound's fusions)")
    encs, fusion, decs = obj.encoders, obj.fusion, obj.decoders
    for what, seq in (("encoders", encs), ("decoders", decs)):
        if not isinstance(seq, (nn.ModuleList, list, tuple)) or not all(isinstance(m, nn.Module) for m in seq):
            raise ModelMappingError(f"{name}: {what} is {type(seq).__name__}, not a list of modules (nn.ModuleList)")
    if len(encs) == 0 or len(encs) != len(decs):
        raise ModelMappingError(f"{name}: needs one decoder per encoder, got {len(encs)} encoders and {len(decs)} "
                                "decoders")
    if isinstance(obj, MultimodalAutoencoder):
        from ..bounds._bracket import _check_autoencoder

        try:
            _check_autoencoder(obj)  # the class and its fusion compute what lipbound's own do
        except LipboundError as exc:
            raise ModelMappingError(f"{name}: {exc}") from None
    return list(encs), fusion, list(decs)


def _fusion_kind(fusion: nn.Module, name: str) -> str:
    from ..bounds._accept import check_standard
    from ..models import AttentionFusion, ConcatFusion, SumFusion

    base = next((k for k in type(fusion).__mro__ if k in (SumFusion, ConcatFusion, AttentionFusion)), None)
    if base is None:
        raise ModelMappingError(
            f"{name}: the fusion is {type(fusion).__name__}, not one of lipbound's fusions (SumFusion, ConcatFusion, "
            "AttentionFusion and its variants, lipbound.models): lipbound cannot tell what it computes")
    registered = [k for k in type(fusion).__mro__ if k.__module__ == base.__module__]
    try:
        check_standard(fusion, registered[0], "fusion")
    except LipboundError as exc:
        raise ModelMappingError(f"{name}: {exc}") from None
    return {SumFusion: "sum", ConcatFusion: "concat", AttentionFusion: "attention"}[base]


def _chain(m: nn.Module, shape: tuple[int, ...], where: str, name: str) -> None:
    """Refuse ``m`` unless the engine reads it as a chain of standard layers that reproduces it."""
    from ..bounds import to_network
    from ..bounds._accept import check_equivalent

    try:
        check_equivalent(m, to_network(m, shape), n=8)
    except LipboundError as exc:
        raise ModelMappingError(f"{name}: {where}: {exc}") from None


def _in_shape(enc: nn.Module, i: int, given: list[tuple[int, ...]] | None, data_shapes, name: str) -> tuple[int, ...]:
    from ..bounds._network import default_input_shape

    if given is not None:
        return given[i]
    shape = getattr(enc, "in_shape", None) or default_input_shape(enc)
    if shape is None and data_shapes is not None:
        shape = data_shapes[i]
    if shape is None:
        raise ModelMappingError(f"{name}: cannot tell the input shape of encoder {i} ({type(enc).__name__}); give "
                                "--input-shape once per modality, e.g. --input-shape 6 --input-shape 1,16,16")
    return tuple(int(v) for v in shape)


def map_model(obj: Any, name: str, *, input_shapes: list[tuple[int, ...]] | None = None,
              data: list[torch.Tensor] | None = None, data_from: str = "") -> UserModel:
    """Map ``obj`` to the paper's structure (module docstring), or raise :class:`ModelMappingError`.

    ``input_shapes``: one unbatched shape per modality (``--input-shape``); ``data``: the user's
    inputs per modality, ``(N, *shape)``."""
    from ..bounds._accept import check_no_global_hooks
    from ..models import MultimodalAutoencoder

    encs, fusion, decs = _parts(obj, name)
    m = len(encs)
    kind = _fusion_kind(fusion, name)
    for what, given in (("--input-shape", input_shapes), ("--data", data)):
        if given is not None and len(given) != m:
            raise ModelMappingError(f"{name}: the model has {m} modalities, {what} gives {len(given)}")
    try:
        check_no_global_hooks()
    except LipboundError as exc:
        raise ModelMappingError(f"{name}: {exc}") from None
    data_shapes = None if data is None else [tuple(x.shape[1:]) for x in data]
    shapes = [_in_shape(e, i, input_shapes, data_shapes, name) for i, e in enumerate(encs)]
    if data_shapes is not None and data_shapes != shapes:
        raise ModelMappingError(f"{name}: the data's modalities have shapes {data_shapes}, the encoders take {shapes}")
    encs64 = [copy.deepcopy(e).double().eval() for e in encs]
    latent = []
    for i, (e, s) in enumerate(zip(encs64, shapes)):
        _chain(e, s, f"encoder {i}", name)
        with torch.no_grad():
            out = e(torch.zeros((1, *s), dtype=torch.float64))
        if out.ndim != 2:
            raise ModelMappingError(f"{name}: encoder {i} returns shape {tuple(out.shape[1:])} per sample; the paper's "
                                    "latents are vectors")
        latent.append(int(out.shape[1]))
    fusion64 = copy.deepcopy(fusion).double().eval()
    if tuple(fusion64.latent_dims) != tuple(latent):
        raise ModelMappingError(f"{name}: the fusion was built for latent widths {tuple(fusion64.latent_dims)}, the "
                                f"encoders produce {tuple(latent)}")
    decs64 = [copy.deepcopy(d).double().eval() for d in decs]
    for j, (d, s) in enumerate(zip(decs64, shapes)):
        _chain(d, (fusion64.output_dim,), f"decoder {j}", name)
        with torch.no_grad():
            out = d(torch.zeros((1, fusion64.output_dim), dtype=torch.float64))
        if tuple(out.shape[1:]) != s:
            raise ModelMappingError(f"{name}: decoder {j} outputs shape {tuple(out.shape[1:])}, modality {j} has {s}; "
                                    "the loss (Eq. 2) compares them")
    for e, s in zip(encs64, shapes):
        e.in_shape = s  # the case builders read it (on lipbound's float64 copies, not the user's modules)
    try:
        mapped = MultimodalAutoencoder(encs64, fusion64, decs64, latent_dims=latent).double().eval()
    except LipboundError as exc:
        raise ModelMappingError(f"{name}: {exc}") from None
    user = UserModel(name, mapped, kind, shapes)
    if data is not None:
        user.inputs = [x.to(torch.float64) for x in data]
        user.inputs_from = data_from
    if not isinstance(obj, MultimodalAutoencoder) and type(obj).forward is not nn.Module.forward:
        _check_forward(obj, user, name)
    return user


def _check_forward(obj: nn.Module, user: UserModel, name: str) -> None:
    """A module with its own ``forward`` must compute D_j(U(E(x))) on the inputs the claims use."""
    xs = [torch.cat([inputs_of(user, k)[i] for k in range(INPUTS_PER_MODEL)]) for i in range(len(user.in_shapes))]
    with torch.no_grad():
        ref = user.model(xs)
    o64 = copy.deepcopy(obj).double().eval()
    try:
        with torch.no_grad():
            got = o64(xs)
    except Exception as exc:  # noqa: BLE001
        raise ModelMappingError(f"{name}: its forward does not take the list of modality inputs ({type(exc).__name__}: "
                                f"{exc}), so it cannot be checked to be D_j(U(E_1(x_1), ..., E_M(x_M)))") from None
    ok = isinstance(got, (list, tuple)) and len(got) == len(ref) and all(
        isinstance(g, torch.Tensor) and g.shape == r.shape for g, r in zip(got, ref))
    if ok:
        scale = max(max(float(r.abs().max()) for r in ref), 1.0)
        ok = all(float((g - r).abs().max()) <= FORWARD_RTOL * scale for g, r in zip(got, ref))
    if not ok:
        raise ModelMappingError(f"{name}: its forward does not compute D_j(U(E_1(x_1), ..., E_M(x_M))) of its encoders, "
                                "fusion and decoders (checked on the inputs): the claims are about that composition")


def inputs_of(user: UserModel, k: int, seed: int = 0) -> list[torch.Tensor]:
    """Input ``k`` of the model's cases, one ``(1, *shape)`` float64 tensor per modality: an evenly
    spaced row of the data, else a standard normal draw from ``(seed, k)``."""
    if user.inputs is not None:
        n = user.inputs[0].shape[0]
        row = (k * n) // INPUTS_PER_MODEL if n >= INPUTS_PER_MODEL else k % n
        return [x[row:row + 1] for x in user.inputs]
    g = torch.Generator().manual_seed(1000 * int(seed) + int(k))
    return [torch.randn((1, *s), generator=g, dtype=torch.float64) for s in user.in_shapes]


# ------------------------------------------------------------------------------------ the registry
_active: list[UserModel] = []


def active_model(name: Any) -> UserModel | None:
    """The model of :func:`use_model` named ``name`` (a case's ``zoo`` key), else None."""
    return next((u for u in reversed(_active) if u.name == name), None)


class use_model:  # noqa: N801 - a context manager, used like a function
    """Inside the block the case builders (:func:`lipbound.claims._cases.build_autoencoder`,
    ``case_inputs``) resolve a case whose ``zoo`` is ``user.name`` to the user's model and inputs."""

    def __init__(self, user: UserModel) -> None:
        self.user = user

    def __enter__(self) -> UserModel:
        _active.append(self.user)
        return self.user

    def __exit__(self, *exc) -> None:
        _active.remove(self.user)


# ------------------------------------------------------------------------------------ applicability
def _activations(user: UserModel) -> list[nn.Module]:
    mods = [*user.model.encoders, *user.model.decoders]
    return [m for part in mods for m in part.modules() if not list(m.children()) and not isinstance(
        m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.Flatten, nn.Unflatten, nn.Identity))]


def _vector_inputs(user: UserModel) -> str | None:
    bad = [f"modality {i} has shape {s}" for i, s in enumerate(user.in_shapes) if len(s) != 1]
    return None if not bad else "vector inputs (the checks flatten each modality); " + ", ".join(bad)


def _equal_widths(user: UserModel) -> str | None:
    dims = user.model.latent_dims
    return None if len(set(dims)) == 1 else f"equal latent widths (the sum of the same encoders); the model's are {dims}"


def _fusion_is(*kinds: str):
    def need(user: UserModel) -> str | None:
        if user.fusion in kinds:
            return None
        return f"{' or '.join(kinds)} fusion; the model fuses by {user.fusion}"
    return need


def _plain_attention(user: UserModel) -> str | None:
    if user.fusion != "attention":
        return f"attention fusion; the model fuses by {user.fusion}"
    f = user.model.fusion
    if f.projection != "linear":
        return f"bilinear scores (a linear projection W_i); the model's attention uses projection={f.projection!r}"
    return None


def _switch(attr: str, what: str):
    def need(user: UserModel) -> str | None:
        why = _plain_attention(user)
        if why is not None:
            return why
        return None if getattr(user.model.fusion, attr) else f"{what}; the model's attention fusion has {attr}=False"
    return need


def _smooth(user: UserModel) -> str | None:
    rough = sorted({type(a).__name__ for a in _activations(user) if not isinstance(a, _SMOOTH)})
    if rough:
        return f"smooth activations (tanh, sigmoid, gelu, elu: Lipschitz derivatives); the model uses {', '.join(rough)}"
    if user.fusion == "attention" and (user.model.fusion.normalize_inputs or user.model.fusion.projection != "linear"):
        return "plain attention (Definition 4.1) when the fusion is attention; the model's normalises or uses mlp2"
    return _vector_inputs(user)


def _all(*needs):
    def need(user: UserModel) -> str | None:
        return next((w for w in (n(user) for n in needs) if w is not None), None)
    return need


def _cases_section3(user: UserModel, extra: dict | None = None) -> list[dict[str, Any]]:
    return [{"zoo": user.name, "fusion": user.fusion, "input_seed": 1000 + k, "input_index": k, **(extra or {})}
            for k in range(INPUTS_PER_MODEL)]


def _latents(user: UserModel) -> list[list[torch.Tensor]]:
    with torch.no_grad():
        return [[z.reshape(-1) for z in user.model.encode(inputs_of(user, k))] for k in range(INPUTS_PER_MODEL)]


def _attention_cases(user: UserModel, *, with_x: bool = False, raw: bool = False) -> list[dict[str, Any]]:
    """Weights cases of the model's attention: the effective weights W' (Definition 4.1's map that the
    fusion computes on its, possibly normalised, latents) or the raw ones; R the largest latent norm
    over the inputs (1 when the fusion normalises)."""
    f = user.model.fusion
    with torch.no_grad():
        ws = [w.detach().clone() for w in (f.weights if raw else f.effective_weights())]
    lats = _latents(user)
    if f.normalize_inputs and not raw:
        lats = [[z / z.norm().clamp_min(f.eps) for z in zs] for zs in lats]
    radius = 1.0 if f.normalize_inputs else max(float(z.norm()) for zs in lats for z in zs) * (1 + 1e-9)
    base = {"zoo": user.name, "family": f"model:{user.name}", "M": len(ws), "k": int(ws[0].shape[0]),
            "dims": [int(w.shape[1]) for w in ws], "R": radius, "weights": [w.tolist() for w in ws]}
    out = []
    for k, zs in enumerate(lats):
        case = {**base, "seed": 1000 + k, "x_seed": 1000 + k}
        if with_x:
            case["x"] = [z.tolist() for z in zs]
        if raw:
            case.update(spectral_norm=bool(f.spectral_norm), scale_scores=bool(f.scale))
        out.append(case)
    return out


def _gradient_cases(user: UserModel) -> list[dict[str, Any]]:
    xs = [inputs_of(user, k) for k in range(INPUTS_PER_MODEL)]
    b = max(float(x.norm()) for inp in xs for x in inp) * (1 + 1e-9)
    return _cases_section3(user, {"B": b})


_NO_MODEL = "it is not a property of one given model"
#: (claim, reading) -> (assumption check: None when met, else what is assumed and what the model has;
#: cases of the model). A reading absent here is not about a given model: NOT_ABOUT_A_MODEL says why.
APPLIES: dict[tuple[str, str], tuple[Callable[[UserModel], str | None], Callable[[UserModel], list]]] = {
    ("lemma-3.1", "formula"): (lambda u: None, _cases_section3),
    ("lemma-3.1", "locality"): (lambda u: None, _cases_section3),
    ("lemma-3.2", "formula"): (lambda u: None, _cases_section3),
    ("eq-3", "formula"): (_fusion_is("sum"), _cases_section3),
    ("lemma-3.3", "formula"): (_fusion_is("concat"), _cases_section3),
    **{("thm-3.1", r): (_smooth, _gradient_cases) for r in ("paper-bound", "our-bound")},
    **{("thm-3.2", r): (_smooth, _gradient_cases) for r in ("paper-bound", "our-bound", "encoder-exceeds-decoder")},
    ("thm-3.3", "true-separate"): (_all(_fusion_is("sum", "concat"), _equal_widths, _vector_inputs),
                                   lambda u: _cases_section3(u, {"setting": "separate"})),
    ("thm-3.3", "concat-le-l2"): (_all(_fusion_is("concat"), _equal_widths, _vector_inputs),
                                  lambda u: _cases_section3(u, {"setting": "separate"})),
    ("thm-3.3", "sum-subadditive"): (_all(_fusion_is("sum"), _vector_inputs),
                                     lambda u: _cases_section3(u, {"setting": "separate"})),
    **{("sec-3.4", r): (_all(_fusion_is("sum", "concat"), _equal_widths, _vector_inputs), _cases_section3)
       for r in ("jacobian-norms-equal", "lipschitz-equal")},
    **{("lemma-4.1", r): (_plain_attention, lambda u: _attention_cases(u, with_x=True))
       for r in ("blocks", "paper-cross-block", "paper-self-block")},
    ("lemma-4.1", "regularized"): (_switch("normalize_inputs", "regularised attention (normalised inputs, Section 4.5)"),
                                   lambda u: _attention_cases(u, with_x=True, raw=True)),
    **{("thm-4.1", r): (_plain_attention, _attention_cases)
       for r in ("our-bound", "paper-bound", "quadratic-in-R", "linear-in-w", "regime-above")},
    **{("thm-4.2", r): (_plain_attention, _attention_cases) for r in ("our-bound", "homogeneity", "cubic-in-w")},
    **{("sec-4.5", r): (_all(_switch("spectral_norm", "spectral normalisation of the W_i (Section 4.5)"),
                             _switch("normalize_inputs", "normalised inputs (Section 4.5)")),
                        lambda u: _attention_cases(u, raw=True))
       for r in ("unit-spectral-bound", "composed-scale-free", "l2-step-preserves-ratios")},
}

#: why a reading is not checked on a given model, by claim (or (claim, reading))
NOT_ABOUT_A_MODEL: dict[Any, str] = {
    ("thm-3.3", "proof-bounds"): f"a statement about the proof's numbers L_i (checked on generated numbers); {_NO_MODEL}",
    ("thm-3.3", "proof-bounds-equality"): f"a statement about the proof's numbers L_i; {_NO_MODEL}",
    ("thm-3.3", "true-separate-equality"): "assumes linear encoders (exact Lipschitz constants by SVD); "
                                           "the model's encoders are checked pointwise only",
    ("thm-3.3", "true-shared"): "assumes every encoder reads the same input x; the model's encoder i reads modality i",
    ("thm-3.3", "concat-equals-l2"): "assumes linear encoders (exact Lipschitz constants by SVD)",
    ("thm-4.1", "regime-below"): f"decided on weights rescaled to meet its premise; {_NO_MODEL}",
    ("thm-4.2", "linear-in-M"): f"a growth rate in the number of modalities M; one model has one M, {_NO_MODEL}",
    ("sec-4.5", "spectral-top-singular-value"): f"about training with and without lambda (lipbound's own short "
                                                f"trainings); {_NO_MODEL}",
    ("sec-4.5", "l2-spectral-singular-values"): f"about training with and without lambda; {_NO_MODEL}",
    "mvae": "a claim about the companion paper's multimodal VAE on the iCub data; it does not take a model",
    "emp": "an empirical claim about the paper's experiments (trainings over fusions and settings); "
           "it does not take a model",
}


def why_not(claim_id: str, reading: str) -> str:
    """Why a reading without an entry in :data:`APPLIES` is not checked on a model."""
    key = (claim_id, reading)
    if key in NOT_ABOUT_A_MODEL:
        return NOT_ABOUT_A_MODEL[key]
    return NOT_ABOUT_A_MODEL.get(claim_id.split("-")[0], _NO_MODEL)


def _skipped(claim: Claim, reading: str, seed: int, reason: str, method: str) -> Row:
    stmt = claim.statement.reading(reading)
    return Row(claim=claim.id, reading=reading, status="skipped", expected=stmt.expected, cases=0,
               tightest_ratio=None, counterexample=None, seconds=0.0, seed=seed, method=method,
               detail=f"not checked on the model: {reason}", proof=None, cases_data=None, kind=stmt.kind)


def model_row(user: UserModel, claim: Claim, reading: str, *, seed: int = 0) -> Row:
    """One row: ``reading`` of ``claim`` checked on the user's model alone, or ``skipped`` with the
    assumption the model does not meet (see the module docstring)."""
    from ._runner import check_reading

    ev = claim.evaluators.get(reading)
    entry = APPLIES.get((claim.id, reading))
    if entry is None or ev is None:
        return _skipped(claim, reading, seed, why_not(claim.id, reading), ev.method if ev else "symbolic only")
    need, cases_of = entry
    unmet = need(user)
    if unmet is not None:
        return _skipped(claim, reading, seed, f"{claim.statement.ref} assumes {unmet}", ev.method)
    t0 = time.perf_counter()
    with use_model(user):
        cases = cases_of(user)
        one = Evaluator(sample=None, evaluate=ev.evaluate, fixed_cases=lambda fixtures: cases,
                        method=f"{ev.method}; on the model {user.name} at {len(cases)} inputs ({user.inputs_from})")
        only = dataclasses.replace(claim, evaluators={reading: one}, proofs={})
        row = check_reading(only, reading, examples=0, seed=seed)
    row.detail = f"on the model: {row.detail}"
    row.seconds = time.perf_counter() - t0
    return row


def data_inputs(spec: str) -> tuple[list[torch.Tensor], str]:
    """The user's inputs of ``--data folder:PATH``: every sample of the folder (train, then test),
    per modality in the folder's order."""
    from ..datasets import DatasetFolderError, load_folder

    path = spec[len("folder:"):]
    try:
        ds = load_folder(path)
    except DatasetFolderError as exc:
        raise ModelMappingError(f"--data {spec}: {exc}") from None
    names = [m.name for m in ds.modalities]
    xs = [torch.cat([ds.train[n], ds.test[n]]).to(torch.float64) for n in names]
    return xs, f"rows of the data folder {path} (modalities {', '.join(names)})"


def shape_arg(text: str) -> tuple[int, ...]:
    """argparse type of ``--input-shape``: ``6`` or ``1,16,16`` (one modality's unbatched shape)."""
    import argparse

    try:
        shape = tuple(int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        shape = ()
    if not shape or any(v < 1 for v in shape) or math.prod(shape) > 10**8:
        raise argparse.ArgumentTypeError(f"expected a shape such as 6 or 1,16,16, got {text!r}")
    return shape


def from_args(args: Any) -> UserModel | None:
    """The mapped model of ``lipbound verify --model ...`` (None without ``--model``). Takes the
    ``--data folder:PATH`` entries out of ``args.data`` (they are the model's inputs, not a data set
    of the ledger); raises :class:`ModelMappingError` for anything that cannot be used."""
    folders = [f for n, f in (args.data or []) if n == "folder:"]
    args.data = [(n, f) for n, f in (args.data or []) if n != "folder:"] or None
    source = getattr(args, "model", None)
    if source is None:
        if folders or getattr(args, "input_shape", None):
            raise ModelMappingError("--data folder:PATH and --input-shape give the inputs of --model; add "
                                    "--model, or give the ledger's data sets as --data NAME=DIR")
        return None
    if len(folders) > 1:
        raise ModelMappingError(f"--data folder:PATH given {len(folders)} times; the model's inputs come from one folder")
    data, data_from = (None, "standard normal inputs") if not folders else data_inputs("folder:" + folders[0])
    from ..bounds._exported import ExportedModel

    shapes = getattr(args, "input_shape", None)
    obj = load_source(source, shapes)
    if not isinstance(obj, ExportedModel):
        return map_model(obj, source, input_shapes=shapes, data=data, data_from=data_from)
    if shapes is not None and obj.in_shapes is not None and [tuple(v) for v in shapes] != obj.in_shapes:
        raise ModelMappingError(f"{source}: the exported program takes inputs of shapes {obj.in_shapes} (unbatched); "
                                f"--input-shape says {[tuple(v) for v in shapes]}")
    if data is not None and obj.in_shapes is not None and [tuple(x.shape[1:]) for x in data] != obj.in_shapes:
        raise ModelMappingError(f"{source}: the data's modalities have shapes {[tuple(x.shape[1:]) for x in data]}, "
                                f"the exported program takes {obj.in_shapes}")
    user = map_model(obj.model, source, input_shapes=shapes, data=data, data_from=data_from)
    xs = [torch.cat([inputs_of(user, k)[i] for k in range(INPUTS_PER_MODEL)]) for i in range(len(user.in_shapes))]
    n = obj.check_at(xs, user.model, source)  # the file's own module at the very inputs the claims use
    user.origin = f"{obj.format} file, {obj.checked}; and at the {n} inputs the claims use"
    user.original = obj.original
    return user
