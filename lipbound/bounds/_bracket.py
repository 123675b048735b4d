r"""One entry point, :func:`bracket`, and the composed bounds of a multimodal autoencoder."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..errors import ShapeMismatchError, UnsupportedModuleError
from ..models import AttentionFusion, ConcatFusion, MultimodalAutoencoder, SumFusion
from ._estimator import paper_estimator
from ._lower import (EVALUATED_CANDIDATES, Ball, Box, _f64, check_inputs, evaluate_directional,
                     jacobian_power_iteration, pgd_lower)
from ._network import to_network
from ._result import Bracket, BoundResult
from ._sdp import lipsdp
from ._spectral import _up, linear_norm, spectral_product

@dataclass(frozen=True)
class BoundMethod:
    """One entry of :data:`REGISTRY`: a bound method :func:`bracket` can run.

    ``kind``: the kind of its results, ``"certified-upper"`` (holds globally, verified),
    ``"lower"`` (sampled: the model's own directional derivative at points found, a sound lower
    bound) or ``"heuristic"`` (neither); ``needs``: what it needs beyond the model, ``"none"``,
    ``"inputs"``, ``"domain"`` or ``"inputs or domain"``; ``dense_only``: only for networks of
    Linear layers; ``default``: run when ``methods`` is not given and it applies; ``run``: computes
    its :class:`BoundResult` from a :class:`BracketRun`.
    """

    name: str
    kind: str
    needs: str
    dense_only: bool
    default: bool
    run: Callable[[BracketRun], BoundResult]
    summary: str

    def applies(self, *, dense: bool, inputs: bool, domain: bool) -> bool:
        """Whether the method can run on a (dense or not) network with these data."""
        need = {"none": True, "inputs": inputs, "domain": domain, "inputs or domain": inputs or domain}[self.needs]
        return need and (dense or not self.dense_only)


@dataclass
class BracketRun:
    """What the methods of one :func:`bracket` call share: the model (the user's ``original``, the
    strictly read ``chain`` and its :class:`Network`), the data, the options, and what earlier
    methods found (the best power-iteration input warms PGD up; the spectral product scales both)."""

    net: Any
    chain: Any
    original: Any
    batch: Any
    inputs: torch.Tensor | None
    domain: Box | Ball | None
    seed: int
    solvers: Sequence[str] | None
    time_limit: float | None
    equivalence: Any = None
    best_x: torch.Tensor | None = None
    scale: float | None = None
    done: list = field(default_factory=list)

    def spectral_scale(self) -> float:
        if self.scale is None:
            self.scale = spectral_product(self.net)[0]
        return self.scale


def _run_spectral(run: BracketRun) -> BoundResult:
    t0 = time.perf_counter()
    v, rows = spectral_product(run.net)
    return BoundResult("spectral-product", "certified-upper", v, time.perf_counter() - t0, "none",
                       "ok: product of certified layer norms", {"layers": rows, "equivalence_check": run.equivalence})


def _run_lipsdp(form: str) -> Callable[[BracketRun], BoundResult]:
    def go(run: BracketRun) -> BoundResult:
        return lipsdp(run.net, form=form, solvers=run.solvers, time_limit=run.time_limit)

    return go


def _run_power_iteration(run: BracketRun) -> BoundResult:
    t0 = time.perf_counter()
    if run.inputs is None:
        raise ShapeMismatchError("method 'power-iteration' needs inputs=(batch, *input_shape)")
    iters = 50
    scale = run.spectral_scale()
    inputs = run.inputs
    vals, vecs = jacobian_power_iteration(run.chain, inputs, iters=iters, seed=run.seed, scale=scale)
    top = torch.argsort(vals, descending=True)[:EVALUATED_CANDIDATES]
    ev = evaluate_directional(run.original, inputs[top], vecs[top], batch=run.batch, scale=scale)
    i = int(torch.argmax(ev))
    run.best_x = inputs[top[i]]
    return BoundResult("power-iteration", "lower", float(ev[i]), time.perf_counter() - t0, "none",
                       "ok: ||J(x) v|| / ||v|| of the user's model, evaluated in float64 one input at a time",
                       {"inputs": int(inputs.shape[0]), "iterations": iters, "evaluated_on_model": int(top.numel()),
                        "witness_index": int(top[i]), "witness": _witness(run.best_x)})


def _run_pgd(run: BracketRun) -> BoundResult:
    t0 = time.perf_counter()
    if run.domain is None:
        raise ShapeMismatchError("method 'pgd' needs domain=Box(...) or Ball(...)")
    scale = run.spectral_scale()
    init = run.best_x.unsqueeze(0) if run.best_x is not None else None
    _, x = pgd_lower(run.chain, run.domain, run.net.in_shape, seed=run.seed, init=init)
    xs = x.unsqueeze(0)
    _, v = jacobian_power_iteration(run.chain, xs, iters=50, seed=run.seed, scale=scale)
    val = float(evaluate_directional(run.original, xs, v, batch=run.batch, scale=scale)[0])
    return BoundResult("pgd", "lower", val, time.perf_counter() - t0, "none",
                       f"ok: projected ascent over {type(run.domain).__name__}; the value is the "
                       "user's model evaluated at the point found", {"witness": _witness(x), "on_domain": True})


def _run_lipsdp_local(run: BracketRun) -> BoundResult:
    if run.domain is None:
        raise ShapeMismatchError("method 'lipsdp-local' needs domain=Box(...) or Ball(...)")
    from ._localsdp import lipsdp_local

    glob = [r.value for r in run.done if r.kind == "certified-upper"]
    return lipsdp_local(run.net, run.domain, solvers=run.solvers, time_limit=run.time_limit,
                        global_bound=min(glob) if glob else None)


def _run_paper_estimator(run: BracketRun) -> BoundResult:
    t0 = time.perf_counter()
    if run.inputs is not None:
        samples = run.inputs
    elif run.domain is not None:
        samples = run.domain.sample(64, run.net.in_shape, torch.Generator().manual_seed(run.seed))
    else:
        raise ShapeMismatchError("method 'paper-estimator' needs inputs or a domain to sample from")
    est = paper_estimator(run.original, samples, seed=run.seed, batch=run.batch)
    return BoundResult("paper-estimator", "heuristic", est["lipschitz"], time.perf_counter() - t0, "none",
                       "heuristic: max Frobenius norm of the Jacobian (not a lower bound)", est)


#: every bound method by name, in the order :func:`bracket` runs its default set; the CLI
#: (``lipbound bound --method``), training tracking and the pytest plugin validate names against it
REGISTRY: dict[str, BoundMethod] = {m.name: m for m in (
    BoundMethod("spectral-product", "certified-upper", "none", False, True, _run_spectral,
                "product of certified layer norms"),
    BoundMethod("lipsdp-neuron", "certified-upper", "none", True, True, _run_lipsdp("neuron"),
                "LipSDP with one multiplier per neuron, verified in float64"),
    BoundMethod("lipsdp-layer", "certified-upper", "none", True, False, _run_lipsdp("layer"),
                "LipSDP with one multiplier per layer, verified in float64"),
    BoundMethod("lipsdp-decomposed", "certified-upper", "none", True, False, _run_lipsdp("decomposed"),
                "LipSDP-Neuron by the first-order solver on the block structure, block-Cholesky verified"),
    BoundMethod("lipsdp-local", "certified-local-upper", "domain", True, True, _run_lipsdp_local,
                "LipSDP on the domain: per-neuron slopes from propagated pre-activation bounds"),
    BoundMethod("power-iteration", "lower", "inputs", False, True, _run_power_iteration,
                "Jacobian power iteration at the given inputs, evaluated on the model"),
    BoundMethod("pgd", "lower", "domain", False, True, _run_pgd,
                "projected ascent of the Jacobian norm over the domain, evaluated on the model"),
    BoundMethod("paper-estimator", "heuristic", "inputs or domain", False, True, _run_paper_estimator,
                "the paper's Frobenius-norm estimator (not a bound)"),
)}

METHODS = tuple(REGISTRY)


def default_methods(*, dense: bool, inputs: bool, domain: bool) -> list[str]:
    """The methods :func:`bracket` (and ``lipbound bound``) run when none are named: those of
    :data:`REGISTRY` marked default that apply.

    >>> default_methods(dense=True, inputs=True, domain=False)
    ['spectral-product', 'lipsdp-neuron', 'power-iteration', 'paper-estimator']
    >>> default_methods(dense=False, inputs=False, domain=True)
    ['spectral-product', 'pgd', 'paper-estimator']
    """
    return [m.name for m in REGISTRY.values() if m.default and m.applies(dense=dense, inputs=inputs, domain=domain)]


def bracket(model, *, input_shape: tuple[int, ...] | None = None, inputs: torch.Tensor | None = None,
            domain: Box | Ball | None = None, methods: Sequence[str] | None = None, seed: int = 0,
            solvers: Sequence[str] | None = None, time_limit: float | None = None,
            on_step: Callable[[str, BoundResult | None], None] | None = None) -> Bracket:
    r"""Bounds on both sides of the Lipschitz constant of ``model`` (Euclidean norms).

    ``model`` is an ``nn.Module`` made of standard layers, a TorchScript module, a torch.export
    program (or its ``.module()``), or a :class:`~lipbound.bounds.LoadedModel` from
    :func:`~lipbound.bounds.load_model`. Before anything is computed, the chain the certified
    bounds are computed on is read strictly (:func:`~lipbound.bounds.to_network`) and compared with
    the model on many inputs (:func:`~lipbound.bounds._accept.check_equivalent`); a model that is
    not provably that chain is refused (:class:`~lipbound.errors.UnsupportedModuleError`).

    ``methods`` defaults to every applicable one: ``spectral-product`` always; ``lipsdp-neuron`` for
    networks of Linear layers; ``power-iteration`` and ``paper-estimator`` when ``inputs`` are given;
    ``pgd`` (and the estimator, on samples) when a ``domain`` (:class:`Box` or :class:`Ball`) is given.
    Certified upper bounds hold globally; ``pgd`` bounds the constant on the domain (hence globally)
    from below. Lower bounds are *searched* on the chain and *evaluated* on the user's own model,
    one input at a time (:func:`~lipbound.bounds._lower.evaluate_directional`), so a chain that
    differed from the model would show as a lower bound above a certified upper bound
    (:class:`~lipbound.bounds.SoundnessError`). ``time_limit`` (seconds) caps each SDP solve; a solve
    that runs out still returns a verified certificate or the spectral product, said in its status.
    ``on_step(method, result)`` is called before each method (``result`` None) and after it.

    >>> torch.manual_seed(0) and None
    >>> net = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))
    >>> b = bracket(net, inputs=torch.randn(8, 3))
    >>> [r.method for r in b.results]
    ['spectral-product', 'lipsdp-neuron', 'power-iteration', 'paper-estimator']
    >>> 0 < b.best_lower <= b.best_upper
    True
    """
    from ._accept import check_equivalent
    from ._import import as_loaded

    loaded = as_loaded(model)
    chain, original = loaded.chain, loaded.original
    net = to_network(chain, input_shape)
    shape = net.in_shape
    if inputs is not None:
        inputs = check_inputs(inputs, shape)
    if methods is None:
        methods = default_methods(dense=net.sdp_ready, inputs=inputs is not None, domain=domain is not None)
    unknown = [m for m in methods if m not in REGISTRY]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; choose from {list(METHODS)}")
    equivalence = check_equivalent(original, net, batch=loaded.batch, domain=domain, inputs=inputs, seed=seed)
    run = BracketRun(net, chain, original, loaded.batch, inputs, domain, seed, solvers, time_limit, equivalence)
    results: list[BoundResult] = []
    for method in methods:
        if on_step is not None:
            on_step(method, None)
        results.append(REGISTRY[method].run(run))
        run.done = results
        if on_step is not None:
            on_step(method, results[-1])
    return Bracket(results)


#: a witness input with at most this many entries is recorded in full; a larger one as a summary
WITNESS_ENTRIES = 16


def _witness(x: torch.Tensor) -> dict:
    """The input at which a lower bound was attained, for the record: its norm, range and shape,
    and its entries when it has at most :data:`WITNESS_ENTRIES` of them (JSON-able)."""
    x = x.detach().to(torch.float64).cpu()
    out = {"shape": list(x.shape), "norm": float(x.norm()), "min": float(x.min()), "max": float(x.max())}
    if x.numel() <= WITNESS_ENTRIES:
        out["values"] = x.flatten().tolist()
    return out


def _submodule_bound(m: nn.Module, method: str, solvers) -> BoundResult:
    """One encoder's or decoder's certified global bound by ``method`` of :data:`REGISTRY` (the
    spectral product where the method does not apply, e.g. an SDP on a convolution too large to
    unroll)."""
    entry = REGISTRY.get(method)
    if entry is None or entry.kind != "certified-upper" or entry.needs != "none":
        ok = [n for n, e in REGISTRY.items() if e.kind == "certified-upper" and e.needs == "none"]
        raise ValueError(f"autoencoder_bounds needs a certified global method, one of {ok}; got {method!r}")
    net = to_network(m)
    if not entry.applies(dense=net.sdp_ready, inputs=False, domain=False):
        entry = REGISTRY["spectral-product"]
    return entry.run(BracketRun(net, m, m, None, None, None, 0, solvers, None))


def attention_bound(fusion: AttentionFusion, radius: float) -> float:
    r"""Certified Lipschitz constant of attention fusion on :math:`\{\|x_i\| \le R\ \forall i\}`.

    With :math:`s = \sum_j W_j x_j`, :math:`\alpha_i = (W_i x_i)^\top s / M` and
    :math:`f_i = \alpha_i x_i`: :math:`\|s\| \le R U`, :math:`U = \min(\sum_j w_j, \sigma\sqrt M)`
    (:math:`w_j = \|W_j\|_2`, :math:`\sigma = \|[W_1 \cdots W_M]\|_2`), so
    :math:`|\alpha_i| \le w_i R^2 U / M`. The differential is
    :math:`df_i = \alpha_i\, dx_i + x_i\, d\alpha_i` with
    :math:`M\, d\alpha_i = (W_i dx_i)^\top s + (W_i x_i)^\top W dx`, so
    :math:`\|[\alpha_i dx_i]\| \le w_{\max} R^2 U/M\, \|dx\|` and
    :math:`\|[x_i d\alpha_i]\| \le R\|d\alpha\| \le (R^2/M)(w_{\max} U + \sigma\sqrt{\textstyle\sum_i w_i^2})\|dx\|`.
    The set is convex, so by the mean value theorem

    .. math::

        L \le \frac{R^2}{M}\Big(2 w_{\max} U + \sigma \sqrt{\textstyle\sum_i w_i^2}\Big).

    The bound is computed on the fusion's *effective* weights (after spectral normalisation and
    score scaling). Input normalisation is rejected: the composed map x -> f(x / ||x||) is not
    Lipschitz near 0 (claim ``sec-4.5``, reading ``composed-scale-free``).
    """
    if getattr(fusion, "normalize_inputs", False):
        raise UnsupportedModuleError(
            "attention with normalize_inputs=True has no Lipschitz bound on a ball around 0 "
            "(x -> x/||x|| is not Lipschitz there); bound the fusion on normalised latents instead"
        )
    eff = [w.detach() for w in fusion.effective_weights()]  # raises for the two-layer projection
    ws = [linear_norm(w) for w in eff]
    sigma = linear_norm(torch.cat(eff, dim=1))
    return _up(attention_lipschitz(ws, sigma, radius) * (1 + 1e-14))  # a few roundings of positive terms


def attention_lipschitz(weight_norms: Sequence[float], sigma: float, radius: float) -> float:
    r"""The Theorem 4.1 bound (lipbound's) from the norms: :math:`w_i` (``weight_norms``),
    :math:`\sigma` and :math:`R`: :math:`\tfrac{R^2}{M}(2 w_{\max} U + \sigma\sqrt{\sum_i w_i^2})`,
    :math:`U = \min(\sum_i w_i, \sigma\sqrt M)`. Monotone in every argument, so upper bounds on the
    norms give an upper bound.

    >>> attention_lipschitz([1.0, 1.0], 2 ** 0.5, 1.0)
    3.0
    """
    m = len(weight_norms)
    u = min(sum(weight_norms), sigma * math.sqrt(m))
    return (radius**2 / m) * (2 * max(weight_norms) * u + sigma * math.sqrt(sum(w * w for w in weight_norms)))


def _check_autoencoder(model: MultimodalAutoencoder) -> None:
    """The composed bound models lipbound's :class:`~lipbound.models.MultimodalAutoencoder` and its
    own fusions: refuse subclasses that change their computation (``docs/accepts.md``)."""
    from ..models import FUSIONS
    from ._accept import check_standard

    if not isinstance(model, MultimodalAutoencoder):
        raise UnsupportedModuleError(f"expected a lipbound MultimodalAutoencoder, got {type(model).__name__}")
    check_standard(model, MultimodalAutoencoder, "<model>")
    own = tuple(c for c in FUSIONS.values() if c.__module__ == MultimodalAutoencoder.__module__.replace(
        "_autoencoder", "_fusion"))
    base = next((k for k in type(model.fusion).__mro__ if k in own), None)
    if base is None:
        raise UnsupportedModuleError(f"fusion {type(model.fusion).__name__} is not one of lipbound's fusions; "
                                     "the composed bound covers sum, concat and the attention fusions")
    check_standard(model.fusion, base, "fusion")


def autoencoder_bounds(model: MultimodalAutoencoder, *, method: str = "lipsdp-neuron",
                       centers: Sequence[torch.Tensor] | None = None, radii: Sequence[float] | None = None,
                       latent_radius: float | None = None, solvers: Sequence[str] | None = None) -> dict:
    r"""Certified bounds for every encoder and decoder and for the whole map
    :math:`(x_1, \dots, x_M) \mapsto (D_1(z), \dots, D_M(z))` with the stacked input's Euclidean norm.

    * sum fusion: :math:`\|\sum_i (E_i(x_i) - E_i(y_i))\| \le \sum_i L_{E_i}\|d_i\|
      \le \sqrt{\sum_i L_{E_i}^2}\,\|d\|` (Cauchy-Schwarz);
    * concat: :math:`\|[E_i(x_i) - E_i(y_i)]_i\|^2 \le \sum_i L_{E_i}^2 \|d_i\|^2 \le \max_i L_{E_i}^2 \|d\|^2`;
    * attention: only on a stated set. Give ``latent_radius`` :math:`R` (the bound holds where every
      latent has norm at most :math:`R`; status says it is conditional), or input balls
      ``centers``/``radii``: then :math:`R = \max_i (\|E_i(c_i)\| + L_{E_i} r_i)` is certified and so is the
      bound on that input set; :math:`L \le L_\text{att}(R) \max_i L_{E_i}`;
    * decoders stacked: :math:`\|[D_j(z) - D_j(z')]_j\| \le \sqrt{\sum_j L_{D_j}^2}\,\|z - z'\|`.

    ``method``: any certified global method of :data:`REGISTRY` (each submodule gets the spectral
    product where the method does not apply).

    >>> from lipbound.models import MLPEncoder, MLPDecoder
    >>> encs = [MLPEncoder(3, 2, hidden=(4,)), MLPEncoder(5, 2, hidden=(4,))]
    >>> decs = [MLPDecoder(2, 3, hidden=(4,)), MLPDecoder(2, 5, hidden=(4,))]
    >>> out = autoencoder_bounds(MultimodalAutoencoder(encs, "sum", decs), method="spectral-product")
    >>> sorted(out)
    ['composed', 'decoders', 'encoders', 'fusion']
    >>> autoencoder_bounds(MultimodalAutoencoder(encs, "sum", decs), method="pgd")
    Traceback (most recent call last):
    ...
    ValueError: autoencoder_bounds needs a certified global method, one of ['spectral-product', 'lipsdp-neuron', 'lipsdp-layer', 'lipsdp-decomposed']; got 'pgd'
    """
    _check_autoencoder(model)
    encs = [_submodule_bound(e, method, solvers) for e in model.encoders]
    decs = [_submodule_bound(d, method, solvers) for d in model.decoders]
    le = [r.value for r in encs]
    ld = [r.value for r in decs]
    fusion = model.fusion
    status = "certified for all inputs"
    if isinstance(fusion, SumFusion):
        lf, fdesc = _up(math.sqrt(sum(v * v for v in le)) * (1 + 1e-13)), "sqrt(sum L_Ei^2)"
        fuse_val = 1.0
    elif isinstance(fusion, ConcatFusion):
        lf, fdesc = max(le), "max L_Ei"
        fuse_val = 1.0
    elif isinstance(fusion, AttentionFusion):
        if latent_radius is None:
            if centers is None or radii is None:
                raise ShapeMismatchError(
                    "attention fusion is only Lipschitz on a bounded set: pass latent_radius=R (latents' "
                    "norms) or centers=[...] and radii=[...] (input balls, one per modality)"
                )
            if len(centers) != model.num_modalities or len(radii) != model.num_modalities:
                raise ShapeMismatchError(
                    f"need one center and one radius per modality (M = {model.num_modalities}), got "
                    f"{len(centers)} and {len(radii)}"
                )
            R = 0.0
            for e, c, r, L in zip(model.encoders, centers, radii, le):
                with torch.no_grad():
                    zc = _f64(e)(c.to(torch.float64).unsqueeze(0)).norm()
                R = max(R, float(zc) * (1 + 1e-9) + L * float(r))  # 1e-9: float64 evaluation error
            R = _up(R)
            status = f"certified on the input balls (radii {list(radii)}); latent radius R = {R}"
        else:
            R = float(latent_radius)
            status = f"conditional: holds where every latent norm is <= R = {R} (stated, not checked)"
        fuse_val = attention_bound(fusion, R)
        lf, fdesc = _up(fuse_val * max(le)), "L_att(R) * max L_Ei"
    else:
        raise ShapeMismatchError(f"no composed bound for fusion {type(fusion).__name__}")
    total = _up(math.sqrt(sum(v * v for v in ld)) * (1 + 1e-13) * lf)
    return {
        "encoders": encs,
        "decoders": decs,
        "fusion": {"name": fusion.name, "lipschitz": fuse_val, "encoder_part": lf, "rule": fdesc},
        "composed": BoundResult("composed", "certified-upper", total, sum(r.seconds for r in encs + decs),
                                "none", status, {"rule": f"sqrt(sum L_Dj^2) * {fdesc}"}),
    }
