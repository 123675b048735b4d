"""Case builders shared by the Section 3 evaluators: small generated autoencoders (float64) and
Jacobians with :mod:`torch.func`.

A case is a plain dict (JSON-serialisable) from which the model and inputs are rebuilt
deterministically, so a reported counterexample can be re-run exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, jacrev

from ..models import MLPDecoder, MLPEncoder, MultimodalAutoencoder

#: smooth activations are preferred (the lemmas assume differentiability); ReLU is drawn too, its
#: kinks have measure zero and generated inputs hit them with probability zero
ACTIVATIONS: tuple[str, ...] = ("tanh", "sigmoid", "gelu", "elu", "relu")
FUSION_NAMES: tuple[str, ...] = ("sum", "concat", "attention")

#: relative tolerance for identities between two float64 computations of the same gradient:
#: both sides are O(depth) float64 operations (unit roundoff 1.1e-16) on O(1) values, so the
#: expected discrepancy is ~1e-14; 1e-9 leaves five orders of margin while a real error (a missing
#: factor 2, a missing decoder term) shows up as O(1).
GRAD_RTOL = 1e-9

#: the smallest positive double: as a "bound" it turns an exact-zero requirement into a ratio of 0
#: (holds) or inf (refuted).
EXACT = float(np.finfo(np.float64).tiny)


def case_strategy(sample: Callable[..., dict[str, Any]], /, **kwargs: Any):
    """The hypothesis strategy of a seeded case sampler: hypothesis draws the seed, the sampler (the
    one the evaluator uses) draws the case from ``numpy.random.default_rng(seed)``. A claim's case
    space is thus defined once; tests and ``lipbound verify`` draw from the same space, and a
    failing example shrinks towards seed 0.

    >>> from hypothesis import find
    >>> find(case_strategy(sample_autoencoder_case, fusion="sum"), lambda c: True)["fusion"]
    'sum'
    """
    from hypothesis import strategies as st

    return st.integers(0, 2**31 - 2).map(lambda seed: sample(np.random.default_rng(seed), **kwargs))


def sample_autoencoder_case(rng: np.random.Generator, fusion: str | None = None) -> dict[str, Any]:
    """Draw the parameters of a small MLP autoencoder case (fusion, M, widths, activation, seeds)."""
    fusion = fusion or str(rng.choice(FUSION_NAMES))
    m_min = 2 if fusion == "attention" else 1
    m = int(rng.integers(m_min, 4))
    in_dims = [int(v) for v in rng.integers(1, 6, size=m)]
    if fusion == "sum":
        latent_dims = [int(rng.integers(1, 5))] * m
    else:
        latent_dims = [int(v) for v in rng.integers(1, 5, size=m)]
    n_hidden = int(rng.integers(0, 3))
    hidden = [int(v) for v in rng.integers(2, 7, size=n_hidden)]
    return {
        "fusion": fusion,
        "M": m,
        "in_dims": in_dims,
        "latent_dims": latent_dims,
        "hidden": hidden,
        "activation": str(rng.choice(ACTIVATIONS)),
        "init_seed": int(rng.integers(0, 2**31 - 1)),
        "input_seed": int(rng.integers(0, 2**31 - 1)),
        "input_scale": float(rng.choice([0.1, 1.0, 3.0])),
    }


def build_autoencoder(case: dict[str, Any]) -> MultimodalAutoencoder:
    """Rebuild the float64 model of a generated case (or load a trained zoo model, or a copy of the
    user's model of ``lipbound verify --model``)."""
    if "zoo" in case:
        from ._user_model import active_model

        user = active_model(case["zoo"])
        if user is not None:  # a copy: evaluators may switch gradients off
            import copy

            return copy.deepcopy(user.model)
        from ..zoo import load

        return load(case["zoo"], dtype=torch.float64, device=case.get("device"))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(case["init_seed"])
        encs = [
            MLPEncoder(d, latent_dim=k, hidden=case["hidden"], activation=case["activation"])
            for d, k in zip(case["in_dims"], case["latent_dims"])
        ]
        fused = {"sum": case["latent_dims"][0]}.get(case["fusion"], sum(case["latent_dims"]))
        decs = [
            MLPDecoder(fused, d, hidden=list(reversed(case["hidden"])), activation=case["activation"])
            for d in case["in_dims"]
        ]
        model = MultimodalAutoencoder(encs, case["fusion"], decs)
    return model.double()


def case_inputs(model: MultimodalAutoencoder, case: dict[str, Any]) -> list[torch.Tensor]:
    """One sample per modality, with a batch dimension of 1, drawn from ``case['input_seed']`` (for
    the user's model of ``lipbound verify --model``: its input ``case['input_index']``)."""
    if "zoo" in case:
        from ._user_model import active_model, inputs_of

        user = active_model(case["zoo"])
        if user is not None:
            return inputs_of(user, case.get("input_index", 0))
    rng = np.random.default_rng(case["input_seed"])
    scale = float(case.get("input_scale", 1.0))
    xs = []
    for e in model.encoders:
        shape = getattr(e, "in_shape")
        xs.append(torch.from_numpy(scale * rng.standard_normal((1, *shape))))
    return xs


def params_of(module: nn.Module) -> dict[str, torch.Tensor]:
    """Detached copies of a module's parameters, by name (the input of :func:`functional_call`)."""
    return {n: p.detach().clone() for n, p in module.named_parameters()}


def flat_param_jacobian(fn: Callable[[dict[str, torch.Tensor]], torch.Tensor],
                        params: dict[str, torch.Tensor]) -> torch.Tensor:
    """Jacobian of ``fn(params)`` w.r.t. all parameters, as a matrix ``(out_numel, n_params)``."""
    jac = jacrev(fn)(params)
    out_numel = fn(params).numel()
    return torch.cat([jac[n].reshape(out_numel, -1) for n in params], dim=1).detach()


def fused_latent_fn(model: MultimodalAutoencoder, xs: Sequence[torch.Tensor], i: int,
                    fusion: nn.Module | None = None) -> Callable[[dict[str, torch.Tensor]], torch.Tensor]:
    """``theta_Ei -> z`` with the other encoders fixed: the map whose Jacobian Eq. 3 / Lemma 3.3 give."""
    fusion = model.fusion if fusion is None else fusion
    others = [e(x).detach() if k != i else None for k, (e, x) in enumerate(zip(model.encoders, xs))]

    def fn(p: dict[str, torch.Tensor]) -> torch.Tensor:
        lat = list(others)
        lat[i] = functional_call(model.encoders[i], p, (xs[i],))
        return fusion(lat).reshape(-1)

    return fn


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    """``||a - b|| / max(||a||, ||b||)``, and 0 when both are exactly zero."""
    a, b = a.detach(), b.detach()
    scale = max(float(a.norm()), float(b.norm()))
    if scale == 0.0:
        return 0.0
    return float((a - b).norm()) / scale
