r"""Numeric evaluators for Section 4.6 / Algorithm 1 / Eq. 8: the paper's Lipschitz estimator.

A case is a plain JSON dict holding the network's weights as nested lists (``W``, ``b`` for a linear
map; ``W1``, ``b1``, ``W2``, ``b2`` for a one-hidden-layer ReLU network), the sampling
(``input_seed``, ``n_samples``, ``input_scale``: i.i.d. standard Gaussian samples times the scale)
and a ``family`` label. :func:`make_case` builds one from ``(family, n, m, h, seed)``; the runner's
sampler (:func:`sample_case`, :func:`sample_convergence_case`) and the tests' hypothesis strategies
both call it, so the case space is defined once.

Every case is decided against exact constants (:func:`lipbound.bounds.exact_lipschitz`: the spectral
norm of a linear map; the maximum of :math:`\lVert W_2 D W_1 \rVert_2` over activation patterns of a
one-hidden-layer ReLU network with full-row-rank :math:`W_1`) and the exact supremum of the Frobenius
norm over :math:`\mathbb R^n`, :math:`S_F = \max_D \lVert W_2 D W_1 \rVert_F` (every pattern is
realised on an open set, which Gaussian samples reach with positive probability). The estimate is
the engine's :func:`lipbound.bounds.paper_estimator` on the case's samples.

Tolerances: relative ``1e-9`` (:data:`RTOL`) on every comparison of norms: the float64 Jacobians are
exact products of at most 16 x 16 matrices and a LAPACK SVD, so rounding is about ``1e-15``
relative; every failing case fails by far more (``sqrt(2)`` for the identity, ``1/sqrt(26)`` for the
far-kink witness). A case counts as failing only beyond the tolerance.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import jacrev, vmap

from ...bounds import exact_lipschitz, paper_estimator
from .._ledger import Evaluator, Outcome

#: relative tolerance of every norm comparison (see the module docstring)
RTOL = 1e-9
#: Algorithm 1's threshold (the paper does not give its value; lipbound.bounds.paper_estimator's default)
EPS = 1e-8
#: the families of :func:`make_case`; the convergence readings draw from :data:`CONVERGENCE_FAMILIES` only
FAMILIES = ("linear", "equal-sv", "rank-one", "relu", "relu-scalar", "relu-far", "relu-cone")
#: families whose maximising Jacobian is reached by a Gaussian sample with probability >= 0.07 per draw
#: (linear maps: every sample; relu-cone: zero biases, h <= 2, row correlation |rho| <= 0.9, so each
#: activation pattern is an orthant of a bivariate Gaussian, probability >= 1/4 - asin(0.9)/(2 pi) > 0.07
#: by Sheppard's formula): N = 1024 samples miss it with probability < 0.93^1024 < 1e-32
CONVERGENCE_FAMILIES = ("linear", "equal-sv", "rank-one", "relu-cone")
#: the nested sample counts of the convergence readings (prefixes of one stream of 1024 samples)
SEQUENCE = tuple(2**k for k in range(11))
#: distances of the probe pairs across a kink, as fractions of the largest (gradient-lipschitz-relu)
DELTA_DECADES = 6


def _lists(a: np.ndarray) -> list:
    return np.asarray(a, dtype=np.float64).tolist()


def make_case(family: str, n: int, m: int, h: int, seed: int, *, n_samples: int = 64,
              input_scale: float = 1.0) -> dict[str, Any]:
    """The case of ``family`` with input dimension ``n``, output dimension ``m``, hidden width
    ``h`` (ReLU families; clipped to ``1..n``, and to 2 for ``relu-cone``) drawn from ``seed``.

    >>> c = make_case("equal-sv", 3, 2, 1, 0)
    >>> c["family"], len(c["W"]), len(c["W"][0])
    ('equal-sv', 2, 3)
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; families: {', '.join(FAMILIES)}")
    rng = np.random.default_rng(seed)
    case: dict[str, Any] = {"family": family, "n": int(n), "input_seed": int(seed) + 1,
                            "n_samples": int(n_samples), "input_scale": float(input_scale)}
    scale = float(np.exp(rng.uniform(-2.0, 2.0)))  # weights over about two orders of magnitude
    if family in ("linear", "equal-sv", "rank-one"):
        if family == "linear":
            W = rng.standard_normal((m, n))
        elif family == "equal-sv":  # r = min(m, n) equal singular values: ||W||_F = sqrt(r) ||W||_2
            q1, _ = np.linalg.qr(rng.standard_normal((m, m)))
            q2, _ = np.linalg.qr(rng.standard_normal((n, n)))
            r = min(m, n)
            W = q1[:, :r] @ q2[:, :r].T
        else:  # rank one: ||W||_F = ||W||_2
            W = np.outer(rng.standard_normal(m), rng.standard_normal(n))
        return case | {"m": int(m), "W": _lists(scale * W), "b": _lists(rng.standard_normal(m))}
    if family == "relu-scalar":
        m = 1
    h = max(1, min(int(h), int(n), 2 if family == "relu-cone" else 16))
    W1 = rng.standard_normal((h, n))
    b1 = 0.5 * rng.standard_normal(h)
    W2 = rng.standard_normal((m, h))
    if family == "relu-cone":  # zero biases, rows not too correlated (see CONVERGENCE_FAMILIES)
        b1 = np.zeros(h)
        while h == 2 and abs(W1[0] @ W1[1]) > 0.9 * np.linalg.norm(W1[0]) * np.linalg.norm(W1[1]):
            W1[1] = rng.standard_normal(n)
    if family == "relu-far":  # unit 0, output weights x5, switches on only 4-8 standard deviations out
        i = 0
        b1[i] = -rng.uniform(4.0, 8.0) * np.linalg.norm(W1[i]) * input_scale
        W2[:, i] *= 5.0
    return case | {"m": int(m), "h": int(h), "W1": _lists(scale * W1), "b1": _lists(scale * b1),
                   "W2": _lists(W2), "b2": _lists(rng.standard_normal(m))}


def sample_case(rng: np.random.Generator, index: int) -> dict[str, Any]:
    """The ``index``-th case of the runner for the bound readings: any family, small shapes."""
    family = FAMILIES[index % len(FAMILIES)]
    n, m = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    return make_case(family, n, m, int(rng.integers(1, 5)), int(rng.integers(0, 2**31 - 2)),
                     n_samples=int(rng.choice([8, 16, 64])))


def sample_convergence_case(rng: np.random.Generator, index: int) -> dict[str, Any]:
    """A case for the convergence readings: a family of :data:`CONVERGENCE_FAMILIES`, the nested
    sample counts :data:`SEQUENCE`."""
    family = CONVERGENCE_FAMILIES[index % len(CONVERGENCE_FAMILIES)]
    n, m = int(rng.integers(2 if family == "relu-cone" else 1, 5)), int(rng.integers(1, 5))
    return make_case(family, n, m, int(rng.integers(1, 3)), int(rng.integers(0, 2**31 - 2)),
                     n_samples=SEQUENCE[-1])


def sample_relu_case(rng: np.random.Generator, index: int) -> dict[str, Any]:
    """A case for ``gradient-lipschitz-relu``: mostly ReLU networks, every fourth a linear map (whose
    constant Jacobian has no jump: the check passes there)."""
    family = ("relu", "relu-scalar", "relu-far", "linear")[index % 4]
    n, m = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    return make_case(family, n, m, int(rng.integers(1, 5)), int(rng.integers(0, 2**31 - 2)))


# --------------------------------------------------------------------------- witnesses (JSON dicts)

#: ``upper-bound``: f(x) = relu(x_1) + 5 relu(x_2 - 10), Lip = sqrt(26); 64 Gaussian samples never reach x_2 > 10
WITNESS_FAR_KINK: dict[str, Any] = {
    "family": "witness-far-kink", "n": 2, "m": 1, "h": 2, "W1": [[1.0, 0.0], [0.0, 1.0]], "b1": [0.0, -10.0],
    "W2": [[1.0, 5.0]], "b2": [0.0], "input_seed": 0, "n_samples": 64, "input_scale": 1.0}
#: ``lower-bound`` and ``consistent``: the identity of R^2, Lip = 1, ||J||_F = sqrt(2) everywhere
WITNESS_IDENTITY: dict[str, Any] = {
    "family": "witness-identity", "n": 2, "m": 2, "W": [[1.0, 0.0], [0.0, 1.0]], "b": [0.0, 0.0],
    "input_seed": 0, "n_samples": SEQUENCE[-1], "input_scale": 1.0}
#: ``gradient-lipschitz-relu``: relu on R, J(x) = 1[x > 0] jumps by 1 at 0
WITNESS_RELU: dict[str, Any] = {
    "family": "witness-relu", "n": 1, "m": 1, "h": 1, "W1": [[1.0]], "b1": [0.0], "W2": [[1.0]], "b2": [0.0],
    "input_seed": 0, "n_samples": 64, "input_scale": 1.0}


# --------------------------------------------------------------------------- building a case


def _t(x) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float64)


def build_model(case: dict[str, Any]) -> nn.Module:
    """The float64 network of ``case`` (``nn.Linear``, or ``Linear -> ReLU -> Linear``)."""
    if "W" in case:
        W = _t(case["W"])
        lin = nn.Linear(W.shape[1], W.shape[0]).double()
        with torch.no_grad():
            lin.weight.copy_(W)
            lin.bias.copy_(_t(case["b"]))
        return nn.Sequential(lin)
    W1, W2 = _t(case["W1"]), _t(case["W2"])
    l1 = nn.Linear(W1.shape[1], W1.shape[0]).double()
    l2 = nn.Linear(W2.shape[1], W2.shape[0]).double()
    with torch.no_grad():
        l1.weight.copy_(W1)
        l1.bias.copy_(_t(case["b1"]))
        l2.weight.copy_(W2)
        l2.bias.copy_(_t(case["b2"]))
    return nn.Sequential(l1, nn.ReLU(), l2)


def samples_of(case: dict[str, Any], count: int | None = None) -> torch.Tensor:
    """The case's i.i.d. Gaussian samples (``count`` of them, default ``n_samples``), shape (count, n)."""
    rng = np.random.default_rng(case["input_seed"])
    k = int(case["n_samples"] if count is None else count)
    return torch.from_numpy(float(case["input_scale"]) * rng.standard_normal((k, int(case["n"]))))


def _patterns(case: dict[str, Any]) -> list[np.ndarray]:
    """Every Jacobian the network can have: W, or W2 diag(d) W1 for each d in {0, 1}^h."""
    if "W" in case:
        return [np.asarray(case["W"], dtype=np.float64)]
    W1, W2 = np.asarray(case["W1"], dtype=np.float64), np.asarray(case["W2"], dtype=np.float64)
    h = W1.shape[0]
    return [(W2 * np.array([(p >> i) & 1 for i in range(h)], dtype=np.float64)) @ W1 for p in range(2**h)]


def exact_constants(case: dict[str, Any]) -> dict[str, float]:
    """``lip``: the exact Lipschitz constant (:func:`~lipbound.bounds.exact_lipschitz`, which refuses a
    rank-deficient W1); ``sup_fro``: :math:`S_F`, the largest Frobenius norm of the Jacobian over
    :math:`\\mathbb R^n` (the maximum over all patterns, each realised since W1 has full row rank)."""
    res = exact_lipschitz(build_model(case), (int(case["n"]),))
    if not res.exact:
        raise ValueError("exact_lipschitz did not return the exact constant")
    return {"lip": float(res.value), "sup_fro": max(float(np.linalg.norm(J)) for J in _patterns(case))}


def _estimate(case: dict[str, Any], count: int | None = None) -> dict[str, Any]:
    xs = samples_of(case, count)
    return paper_estimator(build_model(case), xs, n_samples=xs.shape[0], seed=0)


def _cx(case: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"case": dict(case), **{k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in extra.items()}}


# --------------------------------------------------------------------------- the readings


def _upper(case: dict[str, Any]) -> Outcome:
    """``upper-bound``: Lip(f) <= hat L (ratio Lip / hat L)."""
    est, lip = _estimate(case)["lipschitz"], exact_constants(case)["lip"]
    ok = lip <= est * (1 + RTOL)
    return Outcome(ok, lip, est, None if ok else _cx(case, estimate=est, lipschitz=lip), case["family"])


def _lower(case: dict[str, Any]) -> Outcome:
    """``lower-bound``: hat L <= Lip(f) (ratio hat L / Lip)."""
    est, lip = _estimate(case)["lipschitz"], exact_constants(case)["lip"]
    ok = est <= lip * (1 + RTOL)
    return Outcome(ok, est, lip, None if ok else _cx(case, estimate=est, lipschitz=lip), case["family"])


def _sandwich(case: dict[str, Any]) -> Outcome:
    """``frobenius-sandwich`` at every sample: ||J||_2 <= ||J||_F <= sqrt(min(m, n)) ||J||_2; the ratio
    is the larger of ||J||_2 / ||J||_F and ||J||_F / (sqrt(min(m, n)) ||J||_2) over the samples with
    J != 0 (both sides vanish where J = 0)."""
    model, xs = build_model(case), samples_of(case)
    J = vmap(jacrev(lambda x: model(x.unsqueeze(0)).squeeze(0)))(xs).detach().reshape(xs.shape[0], -1, xs.shape[1])
    k = min(J.shape[1], J.shape[2])
    spec = torch.linalg.matrix_norm(J, ord=2)
    fro = torch.linalg.matrix_norm(J, ord="fro")
    nz = fro > 0
    if not bool(nz.any()):
        return Outcome(True, 0.0, 1.0, None, case["family"])
    left = spec[nz] / fro[nz]
    right = fro[nz] / (math.sqrt(k) * spec[nz])
    worst = float(torch.maximum(left, right).max())
    ok = worst <= 1 + RTOL
    i = int(torch.argmax(torch.maximum(left, right)))
    return Outcome(ok, worst, 1.0, None if ok else _cx(case, sample=int(i), spectral=float(spec[nz][i]),
                                                      frobenius=float(fro[nz][i]), min_dim=k), case["family"])


def estimate_sequence(case: dict[str, Any]) -> list[float]:
    """hat L_N for N in :data:`SEQUENCE`, each on the first N samples of the case's stream."""
    return [float(_estimate(case, n)["lipschitz"]) for n in SEQUENCE]


def _consistent(case: dict[str, Any]) -> Outcome:
    """``consistent``: the estimate at N = 1024 (the limit, see ``converges-to-sup-frobenius``) equals
    Lip(f) to RTOL; ratio hat L_N / Lip."""
    seq, c = estimate_sequence(case), exact_constants(case)
    ok = abs(seq[-1] - c["lip"]) <= RTOL * c["lip"]
    return Outcome(ok, seq[-1], c["lip"], None if ok else _cx(
        case, samples=list(SEQUENCE), estimates=seq, lipschitz=c["lip"], sup_frobenius=c["sup_fro"],
        limit="S_F = max_D ||W2 D W1||_F (the estimates reach it), not Lip(f)"), case["family"])


def _converges(case: dict[str, Any]) -> Outcome:
    """``converges-to-sup-frobenius``: the nested estimates are non-decreasing, at most S_F, and the
    last equals S_F (all to RTOL); ratio max_N hat L_N / S_F."""
    seq, c = estimate_sequence(case), exact_constants(case)
    s = c["sup_fro"]
    monotone = all(b >= a * (1 - RTOL) for a, b in zip(seq, seq[1:]))
    below = max(seq) <= s * (1 + RTOL)
    reached = seq[-1] >= s * (1 - RTOL)
    ok = monotone and below and reached
    return Outcome(ok, max(seq), s, None if ok else _cx(
        case, samples=list(SEQUENCE), estimates=seq, sup_frobenius=s, monotone=monotone, below=below,
        reached=reached), case["family"])


def kink_probe(case: dict[str, Any]) -> dict[str, Any]:
    """Pairs across a kink of a ReLU network, closer and closer, through Algorithm 1's ratio.

    The unit ``i`` with the largest jump ``||W2[:, i]|| ||W1[i, :]||`` is chosen; ``x*`` is the
    minimum-norm solution of ``W1 x* + b1 = z`` with ``z_i = 0`` and ``z_j = 1`` for ``j != i`` (W1 has
    full row rank), ``u = W1[i] / ||W1[i]||``, and no other unit switches within ``delta0 = min_j
    1 / |W1[j] u|`` of ``x*`` along ``u``. For ``delta = d_max 10^-k`` (``d_max = min(0.1, delta0 / 2)``,
    k = 0..5), :func:`~lipbound.bounds.paper_estimator` gets the two samples ``x* -+ delta u`` and returns
    ``||J(x+) - J(x-)||_F / (2 delta + eps)``; ``jumps`` are those ratios times ``2 delta + eps``. A linear
    map has no kink: the pair is taken at 0 along ``e_1``."""
    model, n = build_model(case), int(case["n"])
    if "W" in case:
        x0, u, d_max, unit, expected_jump = np.zeros(n), np.eye(n)[0], 0.1, None, 0.0
    else:
        W1, W2, b1 = (np.asarray(case[k], dtype=np.float64) for k in ("W1", "W2", "b1"))
        jumps = np.linalg.norm(W2, axis=0) * np.linalg.norm(W1, axis=1)
        unit = int(np.argmax(jumps))
        z = np.ones(W1.shape[0])
        z[unit] = 0.0
        x0 = np.linalg.pinv(W1) @ (z - b1)
        u = W1[unit] / np.linalg.norm(W1[unit])
        rates = np.abs(np.delete(W1 @ u, unit))
        delta0 = float(1.0 / rates.max()) if rates.size and rates.max() > 0 else math.inf
        d_max, expected_jump = min(0.1, delta0 / 2), float(jumps[unit])
    deltas = [d_max * 10.0**-k for k in range(DELTA_DECADES)]
    ratios = []
    for d in deltas:
        pair = torch.from_numpy(np.stack([x0 - d * u, x0 + d * u]))
        ratios.append(float(paper_estimator(model, pair, n_samples=2, n_pairs=8, n_outputs=int(case["m"]),
                                            threshold=EPS)["gradient_lipschitz"]))
    return {"unit": unit, "x_star": _lists(x0), "direction": _lists(u), "deltas": deltas, "ratios": ratios,
            "jumps": [r * (2 * d + EPS) for r, d in zip(ratios, deltas)], "expected_jump": expected_jump}


def _gradient_lipschitz(case: dict[str, Any]) -> Outcome:
    """``gradient-lipschitz-relu``: J is continuous across the probed kink (required of a Lipschitz J).
    The reading fails when the jump ``||J(x*+delta u) - J(x*-delta u)||_F`` is the same nonzero number
    (to RTOL) at every delta over six decades and equals ``||W2[:, i]|| ||W1[i, :]||``: the one-sided
    Jacobians are constant, so the jump persists as delta -> 0 and no finite L_g bounds the ratio.
    measured: the jump; bound: the tolerance RTOL * ||W2||_F ||W1||_F (ratio = jump / tolerance)."""
    p = kink_probe(case)
    scale = (float(np.linalg.norm(case["W"])) if "W" in case
             else float(np.linalg.norm(case["W2"]) * np.linalg.norm(case["W1"])))
    tol = RTOL * max(scale, 1e-300)
    jumps, c = p["jumps"], p["expected_jump"]
    persistent = c > tol and all(abs(j - c) <= RTOL * c for j in jumps)
    ok = not persistent and min(jumps) <= tol
    return Outcome(ok, min(jumps), tol, None if ok else _cx(
        case, **p, note="the ratio grows like jump / (2 delta + eps): the figure measures the jump and the "
                        "spacing of the pair, bounded only by jump / eps"), case["family"])


_SHAPES = "one-hidden-layer ReLU networks (h <= n, full-row-rank W1) and linear maps, n, m in 1..4"
EVALUATORS = {
    "upper-bound": Evaluator(
        sample=sample_case, evaluate=_upper, witness=lambda: dict(WITNESS_FAR_KINK),
        method=f"exact Lip (lipbound.bounds.exact_lipschitz) <= paper_estimator's max ||J||_F over the case's "
               f"8-64 Gaussian samples, relative tolerance {RTOL:g}; {_SHAPES}, families {', '.join(FAMILIES)}"),
    "lower-bound": Evaluator(
        sample=sample_case, evaluate=_lower, witness=lambda: dict(WITNESS_IDENTITY),
        method=f"paper_estimator's max ||J||_F <= exact Lip, relative tolerance {RTOL:g}; {_SHAPES}"),
    "frobenius-sandwich": Evaluator(
        sample=sample_case, evaluate=_sandwich,
        method=f"||J||_2 <= ||J||_F <= sqrt(min(m,n)) ||J||_2 at every sample (torch.func Jacobians, LAPACK "
               f"norms, float64), relative tolerance {RTOL:g}; {_SHAPES}"),
    "consistent": Evaluator(
        sample=sample_convergence_case, evaluate=_consistent, witness=lambda: dict(WITNESS_IDENTITY),
        method=f"paper_estimator on the first N of 1024 Gaussian samples, N = 1, 2, ..., 1024; hat L_1024 == "
               f"exact Lip to {RTOL:g}; families {', '.join(CONVERGENCE_FAMILIES)}"),
    "converges-to-sup-frobenius": Evaluator(
        sample=sample_convergence_case, evaluate=_converges,
        method=f"paper_estimator on the first N of 1024 Gaussian samples, N = 1, 2, ..., 1024: non-decreasing, "
               f"<= S_F = max_D ||W2 D W1||_F, and hat L_1024 == S_F, relative tolerance {RTOL:g}; families "
               f"{', '.join(CONVERGENCE_FAMILIES)} (a maximising region has probability > 0.07 per sample)"),
    "gradient-lipschitz-relu": Evaluator(
        sample=sample_relu_case, evaluate=_gradient_lipschitz, witness=lambda: dict(WITNESS_RELU),
        method=f"Algorithm 1's ratio (paper_estimator, eps = {EPS:g}) on pairs x* -+ delta u across a kink, "
               f"delta over six decades: the jump ||J(x+) - J(x-)||_F must vanish (tolerance {RTOL:g} x "
               f"||W2||_F ||W1||_F) for a Lipschitz J; ReLU families and linear maps"),
}


#: reading whose witness -> the readings expected to hold that accept it (the witness lies in their
#: domain: a counterexample to the paper's reading is not one to lipbound's own); checked by
#: tests/test_witnesses.py
WITNESS_ACCEPTED_BY: dict[str, tuple[str, ...]] = {
    "upper-bound": ("frobenius-sandwich",),
    "lower-bound": ("frobenius-sandwich", "converges-to-sup-frobenius",),
    "consistent": ("frobenius-sandwich", "converges-to-sup-frobenius",),
}
