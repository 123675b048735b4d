r"""Turn a torch module into a flat list of layers that the bound computations understand.

A network is read as a chain :math:`x \mapsto \ell_K(\dots \ell_1(x))` of

* **affine layers** (``Linear``, ``Conv2d``, ``ConvTranspose2d``): their Lipschitz constant is the
  operator norm of the linear part; the bias plays no role;
* **reshapes** (``Flatten``, ``Unflatten``, ``Identity``): isometries, Lipschitz constant 1;
* **activations** applied elementwise, each *slope-restricted*: for all :math:`u \ne v`,

  .. math::

      \alpha \le \frac{\varphi(u) - \varphi(v)}{u - v} \le \beta,

  so :math:`\operatorname{Lip}(\varphi) = \max(|\alpha|, |\beta|)` and LipSDP's quadratic
  constraints apply with the interval :math:`[\alpha, \beta]`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

import torch
from torch import nn

from ..errors import ShapeMismatchError, UnsupportedModuleError
from ..models import ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder, Residual, check_finite

SUPPORTED = (
    "Sequential (nested)", "Linear", "Conv2d", "ConvTranspose2d", "Flatten", "Unflatten",
    "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "GELU", "ELU", "Identity",
    "lipbound MLPEncoder/MLPDecoder/ConvEncoder/ConvDecoder/Residual",
)


def _gelu_exact_range() -> tuple[float, float]:
    r"""Slope range of the exact GELU :math:`x\Phi(x)`.

    The slope is :math:`s(x) = \Phi(x) + x\phi(x)` and :math:`s'(x) = \phi(x)(2 - x^2)`, so the only
    extrema are at :math:`x = \pm\sqrt 2` (the limits at :math:`\pm\infty` are 1 and 0, inside the
    range), and :math:`s(-x) = 1 - s(x)`: :math:`s(\sqrt2) = \Phi(\sqrt2) + \sqrt2\,\phi(\sqrt2)
    \approx 1.128904` and :math:`s(-\sqrt2) \approx -0.128904` (a dense grid agrees). Evaluated in
    float64 (error ~1e-16) and rounded outward by 1e-9, far above that error.
    """
    r2 = math.sqrt(2.0)

    def s(x: float) -> float:
        return 0.5 * (1.0 + math.erf(x / r2)) + x * math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)

    return s(-r2) - 1e-9, s(r2) + 1e-9


def _gelu_tanh_range() -> tuple[float, float]:
    """Slope range of GELU(approximate='tanh'), by a dense float64 grid on [-10, 10] (outside it the
    slope is within 1e-15 of 0 or 1). Grid step h = 1e-4; the slope's second derivative is below 2 in
    magnitude, so the grid misses an extremum by at most h^2 = 1e-8; we round outward by 1e-6."""
    with torch.enable_grad():  # callers may run under torch.no_grad()
        x = torch.linspace(-10, 10, 200_001, dtype=torch.float64, requires_grad=True)
        (g,) = torch.autograd.grad(nn.functional.gelu(x, approximate="tanh").sum(), x)
    return float(g.min()) - 1e-6, max(float(g.max()), 1.0) + 1e-6


def slope_interval(act: nn.Module) -> tuple[float, float]:
    """Slope interval ``[alpha, beta]`` of a supported elementwise activation.

    >>> slope_interval(nn.ReLU()), slope_interval(nn.LeakyReLU(0.1)), slope_interval(nn.Sigmoid())
    ((0.0, 1.0), (0.1, 1.0), (0.0, 0.25))
    >>> lo, hi = slope_interval(nn.GELU()); round(lo, 4), round(hi, 4)
    (-0.1289, 1.1289)
    >>> with torch.no_grad():
    ...     lo, hi = slope_interval(nn.GELU(approximate="tanh"))
    >>> round(lo, 3), round(hi, 3)
    (-0.129, 1.129)
    """
    if isinstance(act, nn.ReLU):
        return 0.0, 1.0
    if isinstance(act, nn.LeakyReLU):
        a = float(act.negative_slope)
        return min(a, 1.0), max(a, 1.0)
    if isinstance(act, nn.Tanh):
        return 0.0, 1.0
    if isinstance(act, nn.Sigmoid):
        return 0.0, 0.25
    if isinstance(act, nn.ELU):
        # x > 0: slope 1; x < 0: slope alpha * e^x, between 0 and alpha (either sign of alpha)
        a = float(act.alpha)
        return min(0.0, a, 1.0), max(0.0, a, 1.0)
    if isinstance(act, nn.GELU):
        return _gelu_tanh_range() if act.approximate == "tanh" else _gelu_exact_range()
    raise UnsupportedModuleError(f"{type(act).__name__} is not a supported activation")


_ACTS = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.ELU, nn.GELU)


@dataclass
class Layer:
    """One layer of a :class:`Network`.

    Attributes:
        name: the module's path inside the model (``"net.2"``).
        kind: ``"linear"``, ``"conv"``, ``"convT"``, ``"reshape"``, ``"activation"`` or
            ``"residual"`` (a :class:`~lipbound.models.Residual` block :math:`x + f(x)`).
        module: the torch module that computes it.
        in_shape, out_shape: unbatched shapes.
        slopes: ``(alpha, beta)`` for activations, else ``None``.
        body: for a residual block, its body :math:`f` read as a :class:`Network`.
    """

    name: str
    kind: str
    module: nn.Module
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    slopes: tuple[float, float] | None = None
    body: Network | None = None


@dataclass
class Network:
    """A model read as a chain of :class:`Layer` s, with its unbatched input and output shapes."""

    layers: list[Layer]
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...] = field(default=())

    @property
    def is_dense(self) -> bool:
        """True if every affine layer is ``Linear`` (residual bodies included)."""
        return all(l.kind in ("linear", "activation", "reshape") or l.kind == "residual" and l.body.is_dense
                   for l in self.layers)

    @property
    def sdp_ready(self) -> bool:
        """True if the SDP bounds take the network: every affine layer is ``Linear`` or a
        convolution small enough to be unrolled into its exact matrix
        (:func:`~lipbound.bounds._unroll.conv_matrix`)."""
        from ._unroll import unrollable

        return all(unrollable(l.module, l.in_shape, l.out_shape) is None if l.kind in ("conv", "convT") else
                   _residual_problem(l) is None if l.kind == "residual" else True
                   for l in self.layers)


#: the standard leaf classes, in the order an instance is matched against them
_LEAVES = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.Flatten, nn.Unflatten, nn.Identity, *_ACTS)


def _standard_base(m: nn.Module, bases: tuple[type, ...]) -> type | None:
    """The standard class of ``bases`` that ``m`` is an instance of (the most derived one)."""
    for klass in type(m).__mro__:
        if klass in bases:
            return klass
    return None


def _flatten_modules(module: nn.Module, prefix: str) -> list[tuple[str, nn.Module]]:
    """Expand containers into ``(path, leaf)`` pairs in execution order. A container is expanded
    only if it provably computes what its standard class does (:func:`~lipbound.bounds._accept.check_standard`):
    a ``Sequential`` subclass with its own ``forward`` or ``__iter__`` is refused, not read as a chain."""
    from ._accept import check_standard

    join = (lambda n: f"{prefix}.{n}") if prefix else (lambda n: n)
    where = prefix or "<model>"
    base = _standard_base(module, (nn.Sequential, MLPEncoder, MLPDecoder, ConvEncoder, ConvDecoder, Residual))
    if base is not None:
        check_standard(module, base, where)
    if base is Residual:  # one leaf: its body is read as a Network of its own by to_network
        return [(prefix or "Residual", module)]
    if base is nn.Sequential:
        out = []
        for n, m in module._modules.items():  # not named_children(): it skips repeated modules
            out += _flatten_modules(m, join(n))
        return out
    if base in (MLPEncoder, MLPDecoder):
        return _flatten_modules(module.net, join("net"))
    if base is ConvEncoder:
        return (_flatten_modules(module.features, join("features"))
                + [(join("<flatten>"), nn.Flatten(start_dim=1))]
                + _flatten_modules(module.head, join("head")))
    if base is ConvDecoder:
        return (_flatten_modules(module.head, join("head"))
                + [(join("<unflatten>"), nn.Unflatten(1, tuple(module.feature_shape)))]
                + _flatten_modules(module.features, join("features")))
    leaf = _standard_base(module, _LEAVES)
    if leaf is None:
        raise UnsupportedModuleError(
            f"layer {where!r} of type {type(module).__name__} is not supported by lipbound.bounds; "
            f"supported: {', '.join(SUPPORTED)}"
        )
    check_standard(module, leaf, where)
    return [(prefix or type(module).__name__, module)]


def default_input_shape(model: nn.Module) -> tuple[int, ...] | None:
    """The unbatched input shape a model states (``in_shape``, ``in_features`` or a first Linear)."""
    for attr in ("in_shape",):
        if hasattr(model, attr):
            return tuple(int(v) for v in getattr(model, attr))
    if isinstance(model, (MLPDecoder, ConvDecoder)):
        return (int(model.in_features),)
    if isinstance(model, nn.Linear):
        return (model.in_features,)
    if isinstance(model, nn.Sequential) and len(model) > 0:
        return default_input_shape(model[0])
    if isinstance(model, Residual):
        return default_input_shape(model.body)
    return None


def to_network(model: nn.Module, input_shape: tuple[int, ...] | None = None) -> Network:
    """Read ``model`` as a :class:`Network`; ``input_shape`` is unbatched (e.g. ``(3, 32, 32)``).

    Every layer and container must provably compute its standard function: exact standard classes,
    or subclasses that add nothing to the computation, with no hooks and no replaced ``forward``
    (:func:`~lipbound.bounds._accept.check_standard`; ``docs/accepts.md``). Anything else is refused,
    never read as the layer it looks like.

    Raises :class:`~lipbound.errors.UnsupportedModuleError` naming the first unsupported layer,
    :class:`~lipbound.errors.NonFiniteError` for NaN/Inf weights and
    :class:`~lipbound.errors.ShapeMismatchError` when the shape does not fit the layers.

    >>> net = to_network(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Sequential(nn.Linear(4, 2))))
    >>> [(l.name, l.kind, l.out_shape) for l in net.layers]
    [('0', 'linear', (4,)), ('1', 'activation', (4,)), ('2.0', 'linear', (2,))]
    >>> to_network(nn.Sequential(nn.Linear(3, 3), nn.Softmax(dim=-1)))
    Traceback (most recent call last):
    ...
    lipbound.errors.UnsupportedModuleError: layer '1' of type Softmax is not supported by lipbound.bounds; supported: Sequential (nested), Linear, Conv2d, ConvTranspose2d, Flatten, Unflatten, ReLU, LeakyReLU, Tanh, Sigmoid, GELU, ELU, Identity, lipbound MLPEncoder/MLPDecoder/ConvEncoder/ConvDecoder/Residual
    """
    if not isinstance(model, nn.Module):
        raise UnsupportedModuleError(f"expected a torch.nn.Module, got {type(model).__name__}")
    if isinstance(model, torch.jit.ScriptModule):
        raise UnsupportedModuleError(
            "a TorchScript module is read through lipbound.bounds.as_loaded(model) (or load_model(path)), "
            "which checks its graphs; pass that to bracket()"
        )
    from ._accept import check_no_global_hooks

    check_no_global_hooks()
    check_finite(model, name=type(model).__name__)
    leaves = _flatten_modules(model, "")
    shape = tuple(input_shape) if input_shape is not None else default_input_shape(model)
    if shape is None:
        raise ShapeMismatchError(
            f"cannot tell the input shape of {type(model).__name__}; pass input_shape=(...) (unbatched)"
        )
    shape = tuple(int(s) for s in shape)
    in_shape = shape
    layers: list[Layer] = []
    with torch.no_grad():
        dtype = next((p.dtype for p in model.parameters()), torch.float32)
        x = torch.zeros((1, *shape), dtype=dtype)
        for path, m in leaves:
            try:
                y = m(x)
            except RuntimeError as exc:
                raise ShapeMismatchError(
                    f"layer {path!r} ({type(m).__name__}) cannot take inputs of shape {tuple(x.shape[1:])}: "
                    f"{exc}; check input_shape={in_shape}"
                ) from None
            out = tuple(y.shape[1:])
            if math.prod(out) == 0 or math.prod(x.shape[1:]) == 0:
                raise ShapeMismatchError(
                    f"layer {path!r} ({type(m).__name__}) maps {math.prod(x.shape[1:])} to {math.prod(out)} "
                    "values: a layer of width zero makes the model constant or its output empty; lipbound "
                    "bounds models whose every layer has at least one unit"
                )
            body = None
            if isinstance(m, Residual):
                kind = "residual"
                body = to_network(m.body, tuple(x.shape[1:]))
                if body.out_shape != tuple(x.shape[1:]):
                    raise ShapeMismatchError(f"residual block {path!r}: its body maps {tuple(x.shape[1:])} to "
                                             f"{body.out_shape}; x + f(x) needs the same shape")
            elif isinstance(m, nn.Linear):
                kind = "linear"
            elif isinstance(m, nn.Conv2d):
                kind = "conv"
            elif isinstance(m, nn.ConvTranspose2d):
                kind = "convT"
            elif isinstance(m, _ACTS):
                kind = "activation"
            else:
                kind = "reshape"
            slopes = slope_interval(m) if kind == "activation" else None
            layers.append(Layer(path, kind, m, tuple(x.shape[1:]), out, slopes, body))
            x = y
    return Network(layers, in_shape, tuple(x.shape[1:]))


def _residual_problem(layer: Layer) -> str | None:
    """Why the SDP bounds cannot read a residual block exactly (``None`` when they can): its body
    must be SDP-ready, start with an affine layer and end with one (no trailing activation), and
    not be a single affine layer (``x + Vx`` would need the rounded sum ``I + V``)."""
    body = layer.body
    if not body.sdp_ready:
        return "its body has a layer the SDP does not take"
    kinds = [l.kind for l in body.layers if l.kind != "reshape"]
    if not kinds or kinds[0] not in ("linear", "conv", "convT", "residual"):
        return "its body does not start with an affine layer"
    if kinds[-1] not in ("linear", "conv", "convT"):
        return "its body does not end with an affine layer"
    if all(k in ("linear", "conv", "convT") for k in kinds) and len(kinds) == 1:
        return "its body is one affine layer (x + Vx is the linear map I + V: bound it as a Linear layer)"
    return None


def dense_chain(net: Network) -> tuple[list[torch.Tensor], list[tuple[float, float]], float]:
    r"""Weights and slope intervals of a dense network in LipSDP form (convolutions unrolled into
    their exact matrices, :func:`~lipbound.bounds._unroll.conv_matrix`).

    Returns ``(Ws, slopes, post)`` with float64 weights :math:`W_0, \dots, W_\ell` and one interval per
    hidden layer such that the network's Lipschitz constant is at most ``post`` times that of
    :math:`x \mapsto W_\ell \varphi_\ell(W_{\ell-1} \cdots \varphi_1(W_0 x))`. Two consecutive linear
    layers get an identity "activation" with slope interval ``[1, 1]`` between them (never a
    rounded matrix product, so the weights are exactly the model's); consecutive activations are
    merged into one whose interval contains the composite's slopes (products of the endpoints); a
    leading activation gets an identity first layer; trailing activations go into ``post`` (their
    largest absolute slope).
    """
    from ._unroll import conv_matrix, unrollable

    for bad in net.layers:
        why = unrollable(bad.module, bad.in_shape, bad.out_shape) if bad.kind in ("conv", "convT") else None
        if why is not None:
            raise UnsupportedModuleError(
                f"the SDP bounds take Linear layers and convolutions they can unroll; layer {bad.name!r} "
                f"({type(bad.module).__name__}) is not unrolled: {why}; use the 'spectral-product' method"
            )
        why = _residual_problem(bad) if bad.kind == "residual" else None
        if why is not None:
            raise UnsupportedModuleError(f"the SDP bounds do not take residual block {bad.name!r}: {why}; use the "
                                         "'spectral-product' method")
    Ws: list[torch.Tensor] = []
    slopes: list[tuple[float, float]] = []
    act: tuple[float, float] | None = None
    n = int(math.prod(net.in_shape))
    for l in net.layers:
        if l.kind == "reshape":
            continue
        if l.kind == "residual":
            # carry the state u alongside the body's hidden layers (module docstring of Residual):
            # [u; V_0 u] -> [u; z_1] -> ... -> u + V_m z_m, every matrix a copy of I or of a V_k
            Vs, bslopes, bpost = dense_chain(l.body)
            n = int(math.prod(l.in_shape))
            if not Ws and act is not None:  # a leading activation: an identity first layer, as below
                Ws.append(torch.eye(n, dtype=torch.float64))
            if Ws:  # make u a hidden layer: the pending activation, or an identity
                slopes.append(act if act is not None else (1.0, 1.0))
            act = None
            eye = torch.eye(n, dtype=torch.float64)
            for k, V in enumerate(Vs[:-1]):
                h = V.shape[0]
                top = eye if k == 0 else torch.cat([eye, torch.zeros(n, V.shape[1], dtype=torch.float64)], 1)
                Vk = V if k == 0 else torch.cat([torch.zeros(h, n, dtype=torch.float64), V], 1)
                Ws.append(torch.cat([top, Vk], 0))
                a, b = bslopes[k]
                av = np.concatenate([np.ones(n), np.broadcast_to(np.asarray(a, dtype=np.float64), (h,))])
                bv = np.concatenate([np.ones(n), np.broadcast_to(np.asarray(b, dtype=np.float64), (h,))])
                slopes.append((av, bv))
            Ws.append(torch.cat([eye, Vs[-1]], 1))  # (a body of one affine layer is refused above)
            continue
        if l.kind in ("linear", "conv", "convT"):
            if len(Ws) == 0 and act is not None:
                Ws.append(torch.eye(n, dtype=torch.float64))
            if len(Ws) > 0:
                slopes.append(act if act is not None else (1.0, 1.0))
            act = None
            W = (l.module.weight.detach().to(torch.float64) if l.kind == "linear"
                 else torch.from_numpy(conv_matrix(l.module, l.in_shape, l.out_shape)))
            Ws.append(W)
            n = W.shape[0]
        else:
            a, b = l.slopes
            if act is None:
                act = (a, b)
            else:  # composite slopes are products of a slope of each
                prods = [act[0] * a, act[0] * b, act[1] * a, act[1] * b]
                act = (min(prods), max(prods))
    post = 1.0
    if act is not None:
        post = max(abs(act[0]), abs(act[1]))
    if not Ws:
        Ws.append(torch.eye(n, dtype=torch.float64))
    return Ws, slopes, post
