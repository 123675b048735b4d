r"""Sound lower bounds on the Lipschitz constant from actual evaluations of the Jacobian.

For any :math:`x` where :math:`f` is differentiable and any :math:`v \ne 0`,
:math:`\|J_f(x) v\| / \|v\| \le \|J_f(x)\|_2 \le \operatorname{Lip}(f)`, so every evaluated ratio is a
lower bound. Power iteration on :math:`J^\top J` (one ``jvp`` and one ``vjp`` per step, batched over
inputs with ``vmap``) pushes the ratio up to :math:`\|J(x)\|_2`; projected gradient ascent then moves
:math:`x` inside a box or ball to increase it.

Evaluations run on a float64 copy of the model. Rounding errs relatively (products and sums:
depth x width x 1.1e-16, far below 1e-9) and, in activation derivatives such as
:math:`1 - \tanh^2`, absolutely (about 1e-16 per slope, times the product of the other layers'
norms). The reported value is therefore :math:`(1 - 10^{-9})\,r - 10^{-10} P`, with :math:`P` the
certified spectral product: a lower bound for the model's weights in exact arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import jvp, vjp, vmap

from ..errors import ShapeMismatchError
from ..models import check_finite_tensor

DEFLATE = 1 - 1e-9
ABS_MARGIN = 1e-10
#: inputs (the best of the search) at which :func:`~lipbound.bounds.bracket` evaluates the user's
#: own model for its power-iteration lower bound
EVALUATED_CANDIDATES = 16


@dataclass
class Box:
    """The input set :math:`\\{x : low \\le x \\le high\\}` (tensors broadcast to the input shape)."""

    low: torch.Tensor | float
    high: torch.Tensor | float

    def project(self, x: torch.Tensor) -> torch.Tensor:
        lo = torch.as_tensor(self.low, dtype=x.dtype)
        hi = torch.as_tensor(self.high, dtype=x.dtype)
        return torch.maximum(torch.minimum(x, hi), lo)

    def sample(self, n: int, shape: tuple[int, ...], g: torch.Generator) -> torch.Tensor:
        lo = torch.as_tensor(self.low, dtype=torch.float64)
        hi = torch.as_tensor(self.high, dtype=torch.float64)
        x = lo + (hi - lo) * torch.rand((n, *shape), generator=g, dtype=torch.float64)
        return torch.maximum(torch.minimum(x, hi), lo)  # lo + (hi - lo) t can round past hi


@dataclass
class Ball:
    """The input set :math:`\\{x : \\|x - center\\|_2 \\le radius\\}` (center broadcast to the shape)."""

    center: torch.Tensor | float
    radius: float

    def project(self, x: torch.Tensor) -> torch.Tensor:
        c = torch.as_tensor(self.center, dtype=x.dtype)
        d = x - c
        n = d.flatten(1).norm(dim=1).clamp_min(1e-300).view(-1, *([1] * (x.ndim - 1)))
        return c + d * torch.clamp(self.radius / n, max=1.0)

    def sample(self, n: int, shape: tuple[int, ...], g: torch.Generator) -> torch.Tensor:
        d = torch.randn((n, *shape), generator=g, dtype=torch.float64)
        d = d / d.flatten(1).norm(dim=1).view(-1, *([1] * len(shape)))
        k = math.prod(shape)
        r = self.radius * torch.rand(n, generator=g, dtype=torch.float64) ** (1.0 / k)
        return torch.as_tensor(self.center, dtype=torch.float64) + d * r.view(-1, *([1] * len(shape)))


def _f64(model: nn.Module) -> nn.Module:
    """A float64 copy in eval mode whose parameters need no gradient (only input derivatives are taken)."""
    from ._accept import _f64_copy

    m = _f64_copy(model)
    for p in m.parameters():
        if p.is_leaf:  # a TorchScript module's cast parameters are not leaves; gradients are never asked of them
            p.requires_grad_(False)
    return m


def check_inputs(inputs: torch.Tensor, input_shape: tuple[int, ...], *, what: str = "inputs") -> torch.Tensor:
    """Validate a batch ``(n, *input_shape)`` (a single unbatched input is accepted) and return it in float64."""
    if not isinstance(inputs, torch.Tensor):
        inputs = torch.as_tensor(inputs)
    shape = tuple(input_shape)
    if tuple(inputs.shape) == shape:
        inputs = inputs.unsqueeze(0)
    if inputs.ndim != len(shape) + 1 or tuple(inputs.shape[1:]) != shape:
        raise ShapeMismatchError(
            f"{what} have shape {tuple(inputs.shape)}; expected (batch, {', '.join(map(str, shape))}) "
            "for this model's input shape"
        )
    if inputs.shape[0] == 0:
        raise ShapeMismatchError(f"{what} are empty (batch of 0); give at least one input")
    check_finite_tensor(inputs, name=what)
    return inputs.to(torch.float64)


def _single(model: nn.Module):
    return lambda x: model(x.unsqueeze(0)).squeeze(0)


def _rows_independent(model: nn.Module, shape: tuple[int, ...]) -> bool:
    """True if ``model`` is a chain that :func:`~lipbound.bounds.to_network` reads: then output row
    ``i`` depends on input row ``i`` only and the Jacobian of the batched map is block diagonal."""
    from ..errors import LipboundError
    from ._network import to_network

    try:
        to_network(model, shape)
    except LipboundError:
        return False
    return True


def _unit_rows(v: torch.Tensor) -> torch.Tensor:
    return v / v.flatten(1).norm(dim=1).clamp_min(1e-300).view(-1, *([1] * (v.ndim - 1)))


def jacobian_power_iteration(model: nn.Module, inputs: torch.Tensor, *, iters: int = 50, seed: int = 0,
                             scale: float | None = None, _f64_model: nn.Module | None = None,
                             batched: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Per-input lower bounds :math:`\|J(x)v\|/\|v\| \le \|J(x)\|_2` after ``iters`` power steps.

    Returns ``(values, vectors)``: values of shape ``(n,)`` (already deflated, see the module
    docstring) and the final right vectors. ``inputs`` is a float64 batch, on the device the model
    (or ``_f64_model``) is on: a GPU too; the random vectors are drawn on the CPU and moved.

    Two ways to run the steps :math:`v \leftarrow J^\top J v / \|v\|`, both batched over inputs:

    * ``batched=True`` (the default for every model :func:`~lipbound.bounds.to_network` reads, whose
      rows are independent, so the batched map's Jacobian is :math:`\operatorname{diag}(J(x_i))`):
      **one** forward pass with autograd, then per step one backward pass for
      :math:`J^\top u` and one for :math:`J v`, the latter as the derivative of the linear map
      :math:`u \mapsto J^\top u` (double backward; the graph is built once and reused). Cost per
      step: about one forward and one backward pass of the batch (the floor of
      ``benchmarks/bench_power_iteration.py``);
    * ``batched=False``: ``torch.func.jvp`` and ``vjp`` per input under ``vmap`` (any model).

    >>> lin = nn.Linear(3, 2, bias=False)
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.tensor([[3.0, 0, 0], [0, 1.0, 0]]))
    >>> vals, _ = jacobian_power_iteration(lin, torch.randn(4, 3, dtype=torch.float64))
    >>> bool(((vals <= 3.0) & (vals > 3.0 - 1e-6)).all())
    True
    >>> vals2, _ = jacobian_power_iteration(lin, torch.randn(4, 3, dtype=torch.float64), batched=False)
    >>> bool(((vals2 <= 3.0) & (vals2 > 3.0 - 1e-6)).all())
    True
    """
    m = _f64_model if _f64_model is not None else _f64(model)
    shape = tuple(inputs.shape[1:])
    if scale is None:
        from ._spectral import spectral_product

        scale = spectral_product(model, shape)[0]
    if batched is None:
        batched = _rows_independent(model, shape)
    g = torch.Generator().manual_seed(seed)
    dev = inputs.device

    def draw(shape_):  # on the CPU, then moved: every device starts from the same vectors
        return torch.randn(shape_, generator=g, dtype=torch.float64).to(dev)

    v = draw(inputs.shape)
    if batched:
        with torch.enable_grad():
            x = inputs.detach().to(torch.float64).requires_grad_(True)
            y = m(x)
            u0 = torch.zeros_like(y, requires_grad=True)
            (jt_u0,) = torch.autograd.grad(y, x, u0, create_graph=True)  # u -> J^T u, linear in u

            def jmul(w):  # J w = d<J^T u, w>/du
                return torch.autograd.grad(jt_u0, u0, w, retain_graph=True)[0]

            def jtmul(w):
                return torch.autograd.grad(y, x, w, retain_graph=True)[0]

            for _ in range(iters):
                v = jtmul(jmul(_unit_rows(v)))
                v = torch.where(v.flatten(1).norm(dim=1).view(-1, *([1] * (v.ndim - 1))) > 0, v, draw(v.shape))
            v = _unit_rows(v.detach())
            r = jmul(v).detach().flatten(1).norm(dim=1)
        vals = (r * DEFLATE - ABS_MARGIN * scale).clamp_min(0.0)
        return vals, v

    f = _single(m)

    def step(x, u):
        u = u / u.norm().clamp_min(1e-300)
        _, jv = jvp(f, (x,), (u,))
        _, back = vjp(f, x)
        (jtjv,) = back(jv)
        return jtjv, jv.norm()

    vstep = vmap(step)
    for _ in range(iters):
        v, _ = vstep(inputs, v)
        v = torch.where(v.flatten(1).norm(dim=1).view(-1, *([1] * (v.ndim - 1))) > 0, v,
                        torch.randn(v.shape, generator=g, dtype=torch.float64))

    def ratio(x, u):
        u = u / u.norm().clamp_min(1e-300)
        _, jv = jvp(f, (x,), (u,))
        return jv.norm()

    with torch.no_grad():
        vals = (vmap(ratio)(inputs, v) * DEFLATE - ABS_MARGIN * scale).clamp_min(0.0)
    return vals, v


def evaluate_directional(model, inputs: torch.Tensor, vectors: torch.Tensor, *, batch: int | None = None,
                         scale: float) -> torch.Tensor:
    r"""Lower bounds :math:`\|J_f(x_i) v_i\| / \|v_i\|` evaluated on ``model`` itself, one input at a
    time, in float64 (deflated as in the module docstring, with ``scale`` the certified spectral
    product of the chain the model was read as).

    ``model`` is the user's module as it is (an ``nn.Module``, a TorchScript module, the module of a
    torch.export program that takes only batches of ``batch`` rows: then the input is padded with
    detached copies of itself and row 0 is differentiated). Each value is the derivative of the
    model's own output along :math:`v_i` at :math:`x_i` (autograd: :math:`J v` as the derivative of
    the linear map :math:`u \mapsto J^\top u`), so it never exceeds the model's Lipschitz constant,
    whatever the search that chose :math:`x_i, v_i` assumed.

    >>> lin = nn.Linear(3, 2, bias=False)
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.tensor([[3.0, 0, 0], [0, 1.0, 0]]))
    >>> x, v = torch.randn(2, 3, dtype=torch.float64), torch.tensor([[1.0, 0, 0], [0, 1.0, 0]], dtype=torch.float64)
    >>> [round(float(t), 6) for t in evaluate_directional(lin, x, v, scale=3.0)]
    [3.0, 1.0]
    """
    from ._accept import _f64_copy, run_batched

    m = _f64_copy(model)  # autograd.grad below differentiates with respect to the input only
    out = []
    with torch.enable_grad():
        for x, v in zip(inputs.to(torch.float64), vectors.to(torch.float64)):
            xx = x.unsqueeze(0).detach().requires_grad_(True)
            y = run_batched(m, xx, batch)
            u = torch.zeros_like(y, requires_grad=True)
            (g,) = torch.autograd.grad(y, xx, u, create_graph=True)
            vn = v / v.norm().clamp_min(1e-300)
            (jv,) = torch.autograd.grad(g, u, vn.unsqueeze(0))
            out.append(jv.detach().norm())
    r = torch.stack(out)
    return (r * DEFLATE - ABS_MARGIN * scale).clamp_min(0.0)


def pgd_lower(model: nn.Module, domain: Box | Ball, input_shape: tuple[int, ...], *, starts: int = 32,
              steps: int = 30, step_size: float | None = None, iters: int = 20, seed: int = 0,
              init: torch.Tensor | None = None) -> tuple[float, torch.Tensor]:
    r"""Projected gradient ascent of :math:`\|J(x)v\|` over ``domain`` from ``starts`` random points
    (plus ``init``), alternating with power steps on :math:`v`. Returns ``(lower bound, argmax x)``;
    the value is the power-iteration ratio at the final points (a true evaluation)."""
    m = _f64(model)
    from ._spectral import spectral_product

    scale = spectral_product(model, tuple(input_shape))[0]
    f = _single(m)
    g = torch.Generator().manual_seed(seed)
    x = domain.sample(starts, tuple(input_shape), g)
    if init is not None:
        x = torch.cat([domain.project(init.to(torch.float64)), x])
    if step_size is None:
        if isinstance(domain, Ball):
            step_size = 0.1 * float(domain.radius)
        else:
            step_size = 0.1 * float((torch.as_tensor(domain.high) - torch.as_tensor(domain.low)).abs().max())
    _, v = jacobian_power_iteration(model, x, iters=iters, seed=seed, scale=scale, _f64_model=m)

    def obj(xx, u):
        u = u / u.norm().clamp_min(1e-300)
        _, jv = jvp(f, (xx,), (u,))
        return jv.norm()

    grad_fn = vmap(torch.func.grad(obj))
    for k in range(steps):
        gx = grad_fn(x, v)
        nrm = gx.flatten(1).norm(dim=1).clamp_min(1e-300).view(-1, *([1] * (x.ndim - 1)))
        x = domain.project(x + step_size * (1 - k / steps) * gx / nrm).detach()
        v = _refine(f, x, v)
    vals, _ = jacobian_power_iteration(model, x, iters=iters, seed=seed, scale=scale, _f64_model=m)
    i = int(torch.argmax(vals))
    return float(vals[i]), x[i]


def _refine(f, x, v, iters: int = 3):
    def step(xx, u):
        u = u / u.norm().clamp_min(1e-300)
        _, jv = jvp(f, (xx,), (u,))
        _, back = vjp(f, xx)
        return back(jv)[0]

    for _ in range(iters):
        v = vmap(step)(x, v)
    return v
