r"""What the bracket engine accepts: layers proven to compute the standard function, and a check
that the engine's reading of a model reproduces the model.

A certified upper bound is a statement about the function the engine *models*: a chain of
standard layers (:mod:`lipbound.bounds._network`). It is a bound on the user's model only if the
model computes that function. Two checks, both on every path (``bracket``, ``lipbound bound``,
TorchScript, torch.export, pickles):

1. **Structural** (:func:`check_standard`): a layer is accepted only if its computation is *proven*
   to be the standard one:

   * its class is a standard class (``nn.Linear``, ``nn.ReLU``, ..., ``nn.Sequential``, lipbound's
     encoders/decoders), or a subclass that adds nothing to the computation: every class in its
     method resolution order that is not part of the standard class's own defines only
     constructors, ``reset_parameters``, ``extra_repr`` / ``__repr__`` and plain data (numbers,
     strings, tuples); a subclass that defines ``forward``, ``_conv_forward``, ``__call__``,
     ``__iter__``, a property or any other method is refused;
   * the instance holds no callable of its own (``m.forward = ...``, a compiled call);
   * no forward or backward hook is registered on it, and no global module hook is registered
     (hooks change outputs or gradients);
   * parametrised weights (``torch.nn.utils.parametrize``) are refused: remove the
     parametrisation first.

   TorchScript leaves are checked on their graphs (:mod:`lipbound.bounds._import`).

2. **By evaluation** (:func:`check_equivalent`): the engine's own evaluation of the chain
   (:func:`engine_forward`: ``F.linear``, ``F.conv2d``, ... on the layers' parameters, never the
   layers' ``forward``) is compared with the user's model on many inputs: standard normal ones at
   three scales (:math:`10^{-3}, 1, 10^{3}`), samples of the domain when one is given, and the
   caller's inputs. Both run in float64. The difference must be at most
   :math:`\text{rtol}\cdot m(x)` per input, with :math:`m(x)` the largest entry of a magnitude bound
   propagated through the chain (:math:`|W||x| + |b|`, activations :math:`\max|\text{slope}|\,|x| +
   |\varphi(0)|`), which bounds every intermediate value, so float64 rounding (a few hundred ulps of
   :math:`m(x)` for the widths here) stays far below :data:`RTOL` and any real difference of
   computation above it.

The structural check is the proof; the evaluation is a second, independent net (it would catch a
rebuild error of the loaders, whose chains are *made* of standard layers).
"""

from __future__ import annotations

import copy
import math
import torch
from torch import nn
from torch.nn import functional as F

from ..errors import ShapeMismatchError, UnsupportedModuleError

#: relative tolerance of :func:`check_equivalent`, against the propagated magnitude m(x)
RTOL = 1e-9

#: members a subclass may define without changing what a standard layer computes
HARMLESS_MEMBERS = frozenset({
    "__init__", "__module__", "__qualname__", "__doc__", "__annotations__", "__dict__", "__weakref__",
    "__firstlineno__", "__static_attributes__", "__orig_bases__", "__parameters__", "__slotnames__",
    "__annotate__", "__annotate_func__", "__classcell__", "__constants__", "extra_repr", "__repr__", "reset_parameters",
})

_HOOK_ATTRS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
_GLOBAL_HOOKS = ("_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks",
                 "_global_backward_pre_hooks")


def _plain_data(v) -> bool:
    if v is None or isinstance(v, (bool, int, float, complex, str, bytes)):
        return True
    if isinstance(v, (tuple, frozenset)):
        return all(_plain_data(x) for x in v)
    return False


def global_hooks() -> list[str]:
    """Names of the global module hook registries that hold a hook (they change every module)."""
    from torch.nn.modules import module as _mod

    return [name for name in _GLOBAL_HOOKS if len(getattr(_mod, name, {}) or {}) > 0]


def check_standard(m: nn.Module, base: type, path: str) -> None:
    """Raise :class:`~lipbound.errors.UnsupportedModuleError` unless ``m`` provably computes what
    the standard class ``base`` computes (see the module docstring).

    >>> check_standard(nn.ReLU(), nn.ReLU, "0")
    >>> class Steeper(nn.ReLU):
    ...     def forward(self, x):
    ...         return 3 * super().forward(x)
    >>> check_standard(Steeper(), nn.ReLU, "1")
    Traceback (most recent call last):
    ...
    lipbound.errors.UnsupportedModuleError: layer '1' is Steeper, a subclass of ReLU that defines forward: its computation is not proven to be ReLU's, so lipbound does not certify it (use the standard ReLU, or bound a model made of standard layers)
    """
    cls = type(m)
    name = cls.__name__
    try:
        from torch.nn.utils import parametrize

        if parametrize.is_parametrized(m):
            raise UnsupportedModuleError(
                f"layer {path!r} ({name}) has parametrised weights (torch.nn.utils.parametrize): lipbound "
                "certifies only plain stored weights; call torch.nn.utils.parametrize.remove_parametrizations("
                "module, 'weight') (e.g. after spectral normalisation) and bound the result"
            )
    except ImportError:  # pragma: no cover - parametrize exists in every supported torch
        pass
    for klass in cls.__mro__:
        if klass in base.__mro__:
            continue
        bad = sorted(k for k, v in vars(klass).items() if k not in HARMLESS_MEMBERS and not _plain_data(v))
        if bad:
            what = f"a subclass of {base.__name__}" if klass is cls else f"built on {klass.__name__}, which"
            raise UnsupportedModuleError(
                f"layer {path!r} is {name}, {what} that defines {', '.join(bad)}: its computation is not "
                f"proven to be {base.__name__}'s, so lipbound does not certify it (use the standard "
                f"{base.__name__}, or bound a model made of standard layers)"
            )
    own = sorted(k for k, v in vars(m).items() if callable(v) and not isinstance(v, (nn.Module, torch.Tensor)))
    if own:
        raise UnsupportedModuleError(
            f"layer {path!r} ({name}) carries its own callable attribute(s) {', '.join(own)} (a replaced forward "
            "or a compiled call): its computation is not proven to be the standard one"
        )
    hooks = [h for h in _HOOK_ATTRS if len(getattr(m, h, {}) or {}) > 0]
    hooks += [h for h in ("_forward_hooks_with_kwargs", "_forward_pre_hooks_with_kwargs")
              if len(getattr(m, h, {}) or {}) > 0 and h.replace("_with_kwargs", "") not in hooks]
    if hooks:
        raise UnsupportedModuleError(
            f"layer {path!r} ({name}) has hooks registered ({', '.join(hooks)}): hooks change its outputs or "
            "gradients (old-style spectral_norm is one: use torch.nn.utils.remove_spectral_norm); remove them "
            "before bounding"
        )


def check_no_global_hooks() -> None:
    """Raise if a global module hook (``torch.nn.modules.module.register_module_forward_hook``, ...)
    is registered: it runs inside every module call."""
    active = global_hooks()
    if active:
        raise UnsupportedModuleError(
            f"global module hooks are registered ({', '.join(active)}): they run inside every layer, so no "
            "layer computes the standard function; remove them before bounding"
        )


# ------------------------------------------------------------------------ the engine's evaluation
def _layer_forward(layer, x: torch.Tensor, magnitude: bool = False) -> torch.Tensor:
    """The standard function of one :class:`~lipbound.bounds.Layer` on a float64 batch, from its
    parameters (never its ``forward``). With ``magnitude``: an entrywise bound on the absolute value
    of the output given a bound ``x`` on the absolute value of the input."""
    m = layer.module
    f64 = lambda t: None if t is None else t.detach().to(torch.float64)  # noqa: E731
    if layer.kind == "linear":
        W, b = f64(m.weight), f64(m.bias)
        if magnitude:
            return F.linear(x, W.abs(), None if b is None else b.abs())
        return F.linear(x, W, b)
    if layer.kind in ("conv", "convT"):
        W, b = f64(m.weight), f64(m.bias)
        if magnitude:
            W, b = W.abs(), (None if b is None else b.abs())
        pad = m.padding if isinstance(m.padding, str) else tuple(m.padding)
        if layer.kind == "conv":
            return F.conv2d(x, W, b, tuple(m.stride), pad, tuple(m.dilation), int(m.groups))
        return F.conv_transpose2d(x, W, b, tuple(m.stride), pad, tuple(m.output_padding), int(m.groups),
                                  tuple(m.dilation))
    if layer.kind == "residual":  # x + f(x); |x + f(x)| <= |x| + |f(x)|
        return x + engine_forward(layer.body, x, magnitude=magnitude)
    if layer.kind == "reshape":
        if isinstance(m, nn.Flatten):
            return x.flatten(int(m.start_dim), int(m.end_dim))
        if isinstance(m, nn.Unflatten):
            return x.unflatten(int(m.dim), tuple(int(v) for v in m.unflattened_size))
        return x
    a, b = layer.slopes
    if magnitude:
        zero = _activation(m, torch.zeros((), dtype=torch.float64)).abs()
        return max(abs(a), abs(b)) * x + zero
    return _activation(m, x)


def _activation(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
    if isinstance(m, nn.ReLU):
        return F.relu(x)
    if isinstance(m, nn.LeakyReLU):
        return F.leaky_relu(x, float(m.negative_slope))
    if isinstance(m, nn.Tanh):
        return torch.tanh(x)
    if isinstance(m, nn.Sigmoid):
        return torch.sigmoid(x)
    if isinstance(m, nn.ELU):
        return F.elu(x, float(m.alpha))
    if isinstance(m, nn.GELU):
        return F.gelu(x, approximate=str(m.approximate))
    raise UnsupportedModuleError(f"{type(m).__name__} is not a supported activation")  # pragma: no cover


def engine_forward(net, x: torch.Tensor, *, magnitude: bool = False) -> torch.Tensor:
    """The function the engine certifies, evaluated in float64 on a batch ``x``: the standard
    function of every layer of ``net`` (a :class:`~lipbound.bounds.Network`) in order."""
    y = x.to(torch.float64)
    for layer in net.layers:
        y = _layer_forward(layer, y, magnitude)
    return y


def _f64_copy(model: nn.Module) -> nn.Module:
    """A float64 copy in eval mode of any module (TorchScript and exported ones included)."""
    import warnings

    with warnings.catch_warnings():  # casting a TorchScript module reads .grad of non-leaf parameters
        warnings.filterwarnings("ignore", message="The .grad attribute of a Tensor that is not a leaf")
        m = copy.deepcopy(model).to(torch.float64)
    return m.eval() if hasattr(m, "eval") else m


def run_batched(model, x: torch.Tensor, batch: int | None) -> torch.Tensor:
    """``model(x)``, in chunks of exactly ``batch`` rows when the model only takes that batch size
    (a torch.export program is specialised to its example's batch): the last chunk is padded with
    copies of its first row, and the padding's outputs dropped."""
    if batch is None:
        return model(x)
    out = []
    for lo in range(0, x.shape[0], batch):
        chunk = x[lo:lo + batch]
        k = chunk.shape[0]
        if k < batch:  # padding: detached copies, so no derivative flows through them
            chunk = torch.cat([chunk, chunk[:1].detach().expand(batch - k, *chunk.shape[1:])])
        out.append(model(chunk)[:k])
    return torch.cat(out)


def equivalence_inputs(shape: tuple[int, ...], *, domain=None, inputs: torch.Tensor | None = None,
                       seed: int = 0, n: int = 32) -> list[tuple[str, torch.Tensor]]:
    """The float64 input groups :func:`check_equivalent` compares on: ``n`` standard normal inputs at
    scales 1e-3, 1 and 1e3, ``n`` samples of ``domain`` and up to ``2n`` of ``inputs``."""
    g = torch.Generator().manual_seed(int(seed) + 7919)  # not the samples the bounds use
    base = torch.randn((n, *shape), generator=g, dtype=torch.float64)
    groups = [(f"N(0, 1) x {s:g}", base * s) for s in (1e-3, 1.0, 1e3)]
    if domain is not None:
        groups.append((f"samples of the domain {type(domain).__name__}", domain.sample(n, shape, g)))
    if inputs is not None:
        groups.append(("the given inputs", inputs[: 2 * n].to(torch.float64)))
    return groups


def check_equivalent(model, net, *, batch: int | None = None, domain=None, inputs: torch.Tensor | None = None,
                     seed: int = 0, n: int = 32, rtol: float = RTOL) -> dict:
    """Raise :class:`~lipbound.errors.UnsupportedModuleError` unless ``model`` (the user's module, or
    a loaded TorchScript / torch.export module) reproduces :func:`engine_forward` of ``net`` on the
    inputs of :func:`equivalence_inputs`, within ``rtol`` times the propagated magnitude per input.
    Returns ``{"inputs": count, "max_relative_difference": ...}`` for the record.

    >>> from lipbound.bounds import to_network
    >>> lin = nn.Sequential(nn.Linear(3, 2))
    >>> check_equivalent(lin, to_network(lin))["max_relative_difference"] < 1e-15
    True
    """
    shape = tuple(net.in_shape)
    try:
        m64 = _f64_copy(model)
    except Exception as exc:  # noqa: BLE001 - any failure: the model cannot be evaluated in float64
        raise UnsupportedModuleError(f"the model cannot be copied to float64 to check it: {exc}") from None
    worst, count = 0.0, 0
    with torch.no_grad():
        for label, x in equivalence_inputs(shape, domain=domain, inputs=inputs, seed=seed, n=n):
            ref = engine_forward(net, x)
            mag = engine_forward(net, x.abs(), magnitude=True).flatten(1).amax(dim=1)
            try:
                got = run_batched(m64, x, batch)
            except Exception as exc:  # noqa: BLE001
                raise ShapeMismatchError(f"the model cannot run on inputs of shape {shape}: {exc}") from None
            if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(ref.shape):
                raise UnsupportedModuleError(
                    f"the model's output ({type(got).__name__} of shape {tuple(getattr(got, 'shape', ()))}) is not "
                    f"one tensor of the layer chain's output shape {tuple(ref.shape)}: its computation is not the "
                    "chain lipbound reads"
                )
            diff = (got.to(torch.float64) - ref).flatten(1).abs().amax(dim=1)
            if not bool(torch.isfinite(got).all()) and bool(torch.isfinite(ref).all()):
                raise UnsupportedModuleError(f"the model returns non-finite outputs on {label} where the layer "
                                             "chain it was read as does not")
            rel = torch.where(mag > 0, diff / mag.clamp_min(1e-300), torch.where(diff > 0, math.inf, 0.0))
            k = int(torch.argmax(rel))
            if float(rel[k]) > rtol:
                raise UnsupportedModuleError(
                    "the layer chain lipbound reads does not reproduce the model's outputs: on "
                    f"{label} (input {k}) they differ by {float(diff[k]):.3g}, {float(rel[k]):.3g} of the "
                    f"propagated magnitude (tolerance {rtol:g}); a layer computes something other than the "
                    "standard layer it looks like (a custom forward, a hook, a changed attribute), so no "
                    "bound is certified"
                )
            worst, count = max(worst, float(rel.max())), count + x.shape[0]
    return {"inputs": count, "max_relative_difference": worst, "rtol": rtol}

