r"""Shared machinery for Theorems 3.1 and 3.2: Lipschitz constants of the loss gradients as
functions of the input.

Notation (docs/claims/thm-3.1.md): :math:`x = (x_1, \dots, x_M)` stacked, input set
:math:`X_B = \{x : \lVert x_k \rVert_2 \le B \ \forall k\}` (a product of balls, hence convex),
:math:`z = U(E_1(x_1), \dots, E_M(x_M))`, :math:`r_j = x_j - D_j(z)`,

* decoder gradient :math:`g_{D_j}(x) = -2 A_j(z)^\top r_j` with :math:`A_j(z) = J_{\theta_{D_j}} D_j(z)`;
* encoder gradient :math:`g_{E_i}(x) = -2 \sum_j P_i(x)^\top Q_j(z)^\top r_j` with
  :math:`P_i(x) = J_{\theta_{E_i}} z` and :math:`Q_j(z) = J_z D_j(z)`.

Every number is labelled for what it is:

* **certified** upper bounds (never below the true value): :math:`L_{D_j}`, :math:`L_{E_i}` (products
  of exact spectral norms and activation slope bounds, rounded up), :math:`L_{agg}` (exact for sum
  and concatenation; for attention the bound of Theorem 4.1 on the ball that certifiably contains the
  latents), :math:`L_z` (Lipschitz constant of :math:`x \mapsto z` on :math:`X_B`) and the residual
  bound :math:`R_j \ge \sup_{X_B} \lVert x_j - D_j(z) \rVert`;
* **estimates** (sampled suprema, i.e. lower bounds on the true suprema): :math:`G`,
  :math:`L_{\nabla D}` and their encoder-side analogues. They are taken over a pool of points that
  includes both ends of every pair whose ratio is measured, so for every measured pair the
  per-pair inequality of the proof holds with the estimated components: a ratio above a bound can
  only come from a wrong proof or a wrong certified component, which is what the check tests.

The search for large ratios: random points of :math:`X_B` (biased to the boundary, where the
residual is largest), the local Lipschitz constant :math:`\lVert J_x g(x) \rVert_2` at each, a short
random hill climb on it from the best point, and for each point the pair
:math:`(x, \Pi(x + h v))` along the top right singular vector :math:`v` of :math:`J_x g(x)`
(:math:`\Pi` the projection onto :math:`X_B`, :math:`h = 10^{-4} B`), plus random far pairs. Every
reported ratio is an actual difference quotient of a pair in :math:`X_B`: a sampled lower bound.
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, jacrev, vmap

from .._cases import build_autoencoder, sample_autoencoder_case
from .zoo_cases import zoo_cases

#: activations drawn for the generated cases. ReLU is excluded: its derivative jumps at 0, so the
#: parameter Jacobians (hence the gradients g) are not Lipschitz in x and L_gradD does not exist.
SMOOTH_ACTIVATIONS: tuple[str, ...] = ("tanh", "sigmoid", "gelu", "elu")

#: relative inflation of every float64 spectral norm and forward-pass norm used in a certified number:
#: LAPACK's SVD is backward stable (error about n * eps * ||W|| ~ 1e-15 for these sizes) and a forward
#: pass of depth <= 6 on O(1) values errs by ~1e-14 relative; 1e-9 covers both with a wide margin and
#: always rounds toward the larger number.
ROUND_UP = 1e-9

#: relative tolerance for "ratio <= bound". Ratios are difference quotients with a step of at least
#: 1e-4 B: a numerator of O(1) float64 values errs by ~1e-15 absolute, the quotient by ~1e-11
#: relative. 1e-6 is far above that and far below any real violation (the witnesses violate by 10x+).
GRADLIP_RTOL = 1e-6

#: the input bound B of the trained models: every training sample of the zoo's MLP models has
#: ||x_k|| < 3 (max 2.97, concat3-tanh modality 3), so X_3 contains the data.
ZOO_B = 3.0

#: search budget per gradient map: random starting points, hill-climb steps, random far pairs
N_START, N_CLIMB, N_FAR = 6, 4, 4
PAIR_STEP = 1e-4


# ----------------------------------------------------------------------------- certified constants
def mlp_lipschitz(module: nn.Module) -> float:
    r"""Certified :math:`\mathrm{Lip}` of an MLP: the engine's product of layer norms and activation
    slope bounds (Eq. 39), every factor rounded up (:func:`lipbound.bounds.spectral_product`)."""
    from ...bounds import spectral_product

    return spectral_product(module)[0]


def _norm_up(t: torch.Tensor) -> float:
    return float(t.detach().norm()) * (1 + ROUND_UP)


def latent_constants(model, b: float) -> dict[str, Any]:
    r"""Certified :math:`L_{E_i}`, :math:`L_{agg}`, :math:`L_z` (ours) and :math:`\Lambda = L_{agg} \sum_i L_{E_i}` (paper's).

    ``L_z`` bounds :math:`\mathrm{Lip}(x \mapsto z)` on :math:`X_B`: the stacked latents
    :math:`x \mapsto (E_1(x_1), \dots, E_M(x_M))` have constant :math:`\max_i L_{E_i}` (block-diagonal),
    then :math:`U`: concatenation 1; sum :math:`\sqrt{\sum_i L_{E_i}^2}` (Cauchy-Schwarz, at most
    :math:`\sqrt{M} \max_i L_{E_i}`); attention :math:`L_{att} \max_i L_{E_i}` with
    :math:`L_{att} = (R^2/M)(2 w_{max} \sum_j w_j + \sum_j w_j^2)` on
    :math:`\{\lVert e_i \rVert \le R\}`, :math:`R = \max_i (\lVert E_i(0) \rVert + L_{E_i} B)`.
    """
    le = [mlp_lipschitz(e) for e in model.encoders]
    m = len(le)
    fusion = model.fusion
    name = fusion.name
    out: dict[str, Any] = {"L_E": le}
    if name == "sum":
        out["L_agg"] = math.sqrt(m) * (1 + ROUND_UP)
        out["L_z"] = math.sqrt(sum(v * v for v in le)) * (1 + ROUND_UP)
    elif name == "concat":
        out["L_agg"] = 1.0
        out["L_z"] = max(le)
    elif name == "attention":
        if fusion.normalize_inputs or fusion.projection != "linear":
            raise ValueError("only plain attention (Definition 4.1, linear projection) has a certified bound here")
        with torch.no_grad():
            r = [_norm_up(e(torch.zeros(1, *e.in_shape, dtype=torch.float64))) + lv * b
                 for e, lv in zip(model.encoders, le)]
        rad = max(r) * (1 + ROUND_UP)
        from ...bounds import attention_bound

        out["R_latent"] = rad
        out["L_agg"] = attention_bound(fusion, rad)
        out["L_z"] = out["L_agg"] * max(le)
    else:
        raise ValueError(f"no certified aggregation constant for fusion {name!r}")
    out["Lambda_paper"] = out["L_agg"] * sum(le)
    return out


# ----------------------------------------------------------------------------- cases
def sample_case(rng: np.random.Generator, index: int = 0) -> dict[str, Any]:
    """A generated case with a smooth activation; ``B`` (the input bound) is its ``input_scale``."""
    case = sample_autoencoder_case(rng)
    case["activation"] = str(rng.choice(SMOOTH_ACTIVATIONS))
    case["B"] = case["input_scale"]
    return case


def trained_cases(fixtures) -> list[dict[str, Any]]:
    """The MLP models of the zoo ``fixtures.zoo`` with smooth activations (sum-tanh, attention-tanh,
    concat3-tanh), B = 3."""
    from ...zoo import get_spec

    return [{**c, "B": ZOO_B} for c in zoo_cases(fixtures, kind="mlp") if get_spec(c["zoo"]).activation in SMOOTH_ACTIVATIONS]


def _set(linear: nn.Linear, w, b) -> None:
    with torch.no_grad():
        linear.weight.copy_(torch.tensor(w, dtype=torch.float64))
        linear.bias.copy_(torch.tensor(b, dtype=torch.float64))


def build_case(case: dict[str, Any]):
    """The float64 model of a case: generated, trained (``zoo``) or a ledger witness (``witness``)."""
    if "witness" not in case:
        return build_autoencoder(case)
    from ...models import MLPDecoder, MLPEncoder, MultimodalAutoencoder

    kind = case["witness"]
    if kind == "big-output-bias":
        # M = 1, E(x) = x, D(z) = v2 tanh(z) + c2: a decoder whose output is far from the inputs
        enc = MLPEncoder(1, latent_dim=1, hidden=(), activation="tanh")
        dec = MLPDecoder(1, 1, hidden=(1,), activation="tanh")
        model = MultimodalAutoencoder([enc], "sum", [dec]).double()
        _set(model.encoders[0].net[0], [[1.0]], [0.0])
        _set(model.decoders[0].net[0], [[1.0]], [0.0])
        _set(model.decoders[0].net[2], [[case["v2"]]], [case["c2"]])
        return model
    if kind == "small-decoder":
        # M = 1, linear: E(x) = x, D(z) = eps z: the decoder gradient keeps -2 r (bias), the encoder's is O(eps)
        enc = MLPEncoder(1, latent_dim=1, hidden=(), activation="tanh")
        dec = MLPDecoder(1, 1, hidden=(), activation="tanh")
        model = MultimodalAutoencoder([enc], "sum", [dec]).double()
        _set(model.encoders[0].net[0], [[1.0]], [0.0])
        _set(model.decoders[0].net[0], [[case["eps"]]], [0.0])
        return model
    raise ValueError(f"unknown witness {kind!r}")


def case_bound(case: dict[str, Any]) -> float:
    return float(case["B"])


def label(case: dict[str, Any]) -> str:
    if "zoo" in case:
        return f"trained:{case['zoo']}"
    if "witness" in case:
        return f"witness:{case['witness']}"
    return f"generated:{case['fusion']}-{case['activation']}"


# ----------------------------------------------------------------------------- the maps
class _Maps:
    """The functions of the flat input x that the theorems are about, for one model."""

    def __init__(self, model) -> None:
        self.model = model.requires_grad_(False)
        self.dims = [int(np.prod(e.in_shape)) for e in model.encoders]
        self.m = len(self.dims)
        self.enc_p = [{n: p.detach() for n, p in e.named_parameters()} for e in model.encoders]
        self.dec_p = [{n: p.detach() for n, p in d.named_parameters()} for d in model.decoders]

    def split(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [t.reshape(1, -1) for t in torch.split(x, self.dims)]

    def latents(self, x, enc_params=None, i=None):
        xs = self.split(x)
        lat = []
        for k, (e, xk) in enumerate(zip(self.model.encoders, xs)):
            p = enc_params if k == i else self.enc_p[k]
            lat.append(functional_call(e, p, (xk,)))
        return lat

    def z(self, x, enc_params=None, i=None) -> torch.Tensor:
        return self.model.fusion(self.latents(x, enc_params, i)).reshape(-1)

    def dec_out(self, j, z, params=None) -> torch.Tensor:
        return functional_call(self.model.decoders[j], self.dec_p[j] if params is None else params,
                               (z.reshape(1, -1),)).reshape(-1)

    def _loss(self, x, z, dec_params=None, j=None):
        xs = self.split(x)
        total = 0.0
        for k in range(self.m):
            d = self.dec_out(k, z, dec_params if k == j else None)
            total = total + (xs[k].reshape(-1) - d).pow(2).sum()
        return total

    # gradients of L (per sample) as flat vectors
    def g_dec(self, j: int, x: torch.Tensor) -> torch.Tensor:
        z = self.z(x)
        gr = grad(lambda p: self._loss(x, z, p, j))(self.dec_p[j])
        return torch.cat([v.reshape(-1) for v in gr.values()])

    def g_enc(self, i: int, x: torch.Tensor) -> torch.Tensor:
        gr = grad(lambda p: self._loss(x, self.z(x, p, i)))(self.enc_p[i])
        return torch.cat([v.reshape(-1) for v in gr.values()])

    # the Jacobians the proofs bound
    def A(self, j, z) -> torch.Tensor:
        """J_theta D_j(z), (n_j, p_j)."""
        jac = jacrev(lambda p: self.dec_out(j, z, p))(self.dec_p[j])
        return torch.cat([v.reshape(v.shape[0], -1) for v in jac.values()], dim=1)

    def Q(self, j, z) -> torch.Tensor:
        """J_z D_j(z), (n_j, d_z)."""
        return jacrev(lambda v: self.dec_out(j, v))(z)

    def P(self, i, x) -> torch.Tensor:
        """J_theta_Ei z(x), (d_z, p_i)."""
        jac = jacrev(lambda p: self.z(x, p, i))(self.enc_p[i])
        return torch.cat([v.reshape(v.shape[0], -1) for v in jac.values()], dim=1)

    def batch(self, fn, rows: np.ndarray) -> np.ndarray:
        """``fn`` applied to every row (vmap), as numpy."""
        return vmap(fn)(torch.from_numpy(np.ascontiguousarray(rows))).detach().numpy()


def _project(x: np.ndarray, dims: list[int], b: float) -> np.ndarray:
    out, k = x.copy(), 0
    for d in dims:
        n = np.linalg.norm(out[k:k + d])
        if n > b:
            out[k:k + d] *= b / n
        k += d
    return out


def _random_point(rng: np.random.Generator, dims: list[int], b: float) -> np.ndarray:
    parts = []
    for d in dims:
        v = rng.standard_normal(d)
        v /= max(np.linalg.norm(v), 1e-300)
        radius = b if rng.random() < 0.5 else b * rng.random() ** (1.0 / d)  # half on the boundary
        parts.append(radius * v)
    return np.concatenate(parts)


def _spec(a: np.ndarray) -> float:
    return float(np.linalg.norm(a, 2)) if a.size else 0.0


def _search(g, dims, b, rng) -> tuple[float, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Largest sampled ratio ||g(x) - g(y)|| / ||x - y|| over pairs in X_B; returns it, all points touched
    (rows) and the best pair. Batched with :func:`torch.func.vmap` (two rounds of local Jacobians)."""
    t = torch.from_numpy
    jac = vmap(jacrev(g))
    gv = vmap(g)

    def local(xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        jx = jac(t(xs)).detach().numpy()  # (K, p, n)
        if jx.shape[1] == 0:
            return np.zeros(len(xs)), np.zeros_like(xs)
        _, s, vt = np.linalg.svd(jx)
        return s[:, 0], vt[:, 0, :]

    n = sum(dims)
    starts = np.stack([_random_point(rng, dims, b) for _ in range(N_START)])
    s1, v1 = local(starts)
    # round 2: perturbations of the best start (a one-step random hill climb on ||J_x g||)
    best = starts[int(np.argmax(s1))]
    climb = np.stack([_project(best + 0.3 * b * rng.standard_normal(n) / math.sqrt(n), dims, b)
                      for _ in range(N_CLIMB)])
    s2, v2 = local(climb)
    xs = np.concatenate([starts, climb])
    vs = np.concatenate([v1, v2])
    ys = np.stack([_project(x + PAIR_STEP * b * v, dims, b) for x, v in zip(xs, vs)])
    far_x = np.stack([_random_point(rng, dims, b) for _ in range(N_FAR)])
    far_y = np.stack([_random_point(rng, dims, b) for _ in range(N_FAR)])
    xs, ys = np.concatenate([xs, far_x]), np.concatenate([ys, far_y])
    gx, gy = gv(t(xs)).detach().numpy(), gv(t(ys)).detach().numpy()
    dx = np.linalg.norm(xs - ys, axis=1)
    ratios = np.where(dx > 0, np.linalg.norm(gx - gy, axis=1) / np.where(dx > 0, dx, 1.0), -1.0)
    k = int(np.argmax(ratios))
    return float(ratios[k]), np.concatenate([xs, ys]), (xs[k], ys[k])


def _max_quotient(vals: np.ndarray, args: np.ndarray) -> float:
    """max over pairs of ||F(a) - F(a')||_2 / ||a - a'|| (spectral norm of the matrix difference)."""
    p, q = np.triu_indices(len(vals), k=1)
    da = np.linalg.norm(args[p] - args[q], axis=1)
    keep = da > 0
    if not keep.any() or vals[0].size == 0:
        return 0.0
    dv = np.linalg.norm(vals[p[keep]] - vals[q[keep]], ord=2, axis=(1, 2))
    return float(np.max(dv / da[keep]))


def _max_spec(vals: np.ndarray) -> float:
    return float(np.max(np.linalg.norm(vals, ord=2, axis=(1, 2)))) if vals[0].size else 0.0


def _dedupe(points: np.ndarray) -> np.ndarray:
    _, idx = np.unique(points, axis=0, return_index=True)
    return points[np.sort(idx)]


# ----------------------------------------------------------------------------- analyses
def _common(model, b) -> dict[str, Any]:
    lat = latent_constants(model, b)
    maps = _Maps(model)
    ld = [mlp_lipschitz(d) for d in model.decoders]
    with torch.no_grad():
        z0 = maps.z(torch.zeros(sum(maps.dims), dtype=torch.float64))
        d0 = [_norm_up(maps.dec_out(j, z0)) for j in range(maps.m)]
    # R_j >= sup ||x_j - D_j(z)|| <= B + ||D_j(z(0))|| + L_Dj L_z ||x - 0||, ||x|| <= sqrt(M) B on X_B
    res = [(b + d0[j] + ld[j] * lat["L_z"] * math.sqrt(maps.m) * b) * (1 + ROUND_UP) for j in range(maps.m)]
    return {"maps": maps, "lat": lat, "L_D": ld, "R": res}


@functools.lru_cache(maxsize=256)
def _analyse(case_json: str, side: str) -> dict[str, Any]:
    case = json.loads(case_json)
    model = build_case(case)
    b = case_bound(case)
    c = _common(model, b)
    maps, lat, ld, res = c["maps"], c["lat"], c["L_D"], c["R"]
    rng = np.random.default_rng(case.get("input_seed", 0))
    lz, lam = lat["L_z"], lat["Lambda_paper"]
    per: list[dict[str, Any]] = []
    if side == "decoder":
        for j in range(maps.m):
            ratio, points, best = _search(lambda x, j=j: maps.g_dec(j, x), maps.dims, b, rng)
            pts = _dedupe(points)
            zs = maps.batch(maps.z, pts)
            amats = maps.batch(lambda zv, j=j: maps.A(j, zv), zs)
            g_est = _max_spec(amats)
            lg_est = _max_quotient(amats, zs)
            ours = 2 * (g_est * (1 + ld[j] * lz) + lg_est * lz * res[j])
            paper = 2 * (g_est + g_est * ld[j] * lam + lg_est * b * lam)
            per.append({"index": j, "ratio": ratio, "G_est": g_est, "L_gradD_est": lg_est, "L_D": ld[j],
                        "R_cert": res[j], "our_bound": ours, "paper_bound": paper,
                        "pair": [best[0].tolist(), best[1].tolist()], "points": len(pts)})
    else:
        for i in range(maps.m):
            ratio, points, best = _search(lambda x, i=i: maps.g_enc(i, x), maps.dims, b, rng)
            pts = _dedupe(points)
            zs = maps.batch(maps.z, pts)
            pmats = maps.batch(lambda xv, i=i: maps.P(i, xv), pts)
            gp_est = _max_spec(pmats)
            lp_est = _max_quotient(pmats, pts)
            h_est = [_max_quotient(maps.batch(lambda zv, j=j: maps.Q(j, zv), zs), zs) for j in range(maps.m)]
            ours = 2 * sum(lp_est * ld[j] * res[j] + gp_est * h_est[j] * lz * res[j]
                           + gp_est * ld[j] * (1 + ld[j] * lz) for j in range(maps.m))
            paper = 2 * sum(gp_est * ld[j] * (1 + ld[j] * lam) + b * (gp_est * h_est[j] * lam + ld[j] * lp_est)
                            for j in range(maps.m))
            per.append({"index": i, "ratio": ratio, "Gz_est": gp_est, "L_Gz_est": lp_est, "L_gradD_est": h_est,
                        "our_bound": ours, "paper_bound": paper,
                        "pair": [best[0].tolist(), best[1].tolist()], "points": len(pts)})
    return {"B": b, "L_E": lat["L_E"], "L_agg": lat["L_agg"], "L_z": lz, "Lambda_paper": lam,
            "L_D": ld, "R_cert": res, "R_latent": lat.get("R_latent"), "per": per}


def analyse(case: dict[str, Any], side: str) -> dict[str, Any]:
    """Search and components for every decoder (``side="decoder"``) or encoder (``"encoder"``) of a case."""
    return _analyse(json.dumps(case, sort_keys=True), side)


def bound_outcome(case: dict[str, Any], side: str, which: str):
    """Outcome of 'sampled ratio <= bound' for the worst map (largest ratio / bound) of the case."""
    from .._ledger import Outcome

    a = analyse(case, side)
    key = f"{which}_bound"
    worst = max(a["per"], key=lambda p: p["ratio"] / p[key] if p[key] > 0 else math.inf)
    measured, bound = worst["ratio"], worst[key]
    ok = measured <= bound * (1 + GRADLIP_RTOL) + 1e-300
    cex = None
    if not ok:
        cex = {"case": dict(case), "map": f"{side} {worst['index']}", "sampled_ratio": measured,
               f"{which}_bound": bound, "components": {k: v for k, v in worst.items() if k not in ("pair",)},
               "certified": {k: a[k] for k in ("B", "L_E", "L_agg", "L_z", "Lambda_paper", "L_D", "R_cert")},
               "pair": worst["pair"],
               "note": ("G / L_gradD-type components are sampled estimates (lower bounds of the true suprema), "
                        "so the formula at the true components may be larger; the ledger witness has "
                        "certified components (proofs/)") if "witness" not in case else
                       "witness: the proof script re-evaluates it with certified components in exact arithmetic"}
    return Outcome(ok, measured, bound, cex, label=label(case))


def exceeds_outcome(case: dict[str, Any]):
    r"""Paper's paragraph after Theorem 3.2: :math:`\min_i \mathrm{Lip}(g_{E_i}) \ge \max_j \mathrm{Lip}(g_{D_j})`,
    compared on sampled lower bounds (estimates). ``measured`` = max_j est(g_Dj), ``bound`` = min_i est(g_Ei)."""
    from .._ledger import Outcome

    dec, enc = analyse(case, "decoder"), analyse(case, "encoder")
    d_est = max(p["ratio"] for p in dec["per"])
    e_est = min(p["ratio"] for p in enc["per"])
    ok = d_est <= e_est
    cex = None
    if not ok:
        d_best = max(dec["per"], key=lambda p: p["ratio"])
        e_worst = min(enc["per"], key=lambda p: p["ratio"])
        cex = {"case": dict(case), "decoder": d_best["index"], "encoder": e_worst["index"],
               "decoder_sampled_ratio": d_est, "encoder_sampled_ratio": e_est,
               "decoder_pair": d_best["pair"],
               "encoder_our_bound": e_worst["our_bound"], "decoder_our_bound": d_best["our_bound"],
               "encoder_paper_bound": e_worst["paper_bound"], "decoder_paper_bound": d_best["paper_bound"],
               "decisive": bool(e_worst["our_bound"] < d_est),
               "note": ("decoder value: a sampled lower bound of Lip(g_Dj); 'decisive' means it exceeds even "
                        "our upper bound for Lip(g_Ei) (whose G/L_grad components are estimates)")}
    return Outcome(ok, d_est, e_est, cex, label=label(case))
