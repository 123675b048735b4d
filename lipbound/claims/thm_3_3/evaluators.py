r"""Numeric evaluators for Theorem 3.3 (sum vs concatenation Lipschitz constants), one per reading.

Notation: :math:`f_{cat}(x) = [E_1(\cdot); \dots; E_M(\cdot)]`, :math:`f_{sum} = \sum_i E_i(\cdot)`,
:math:`L_i = \mathrm{Lip}(E_i)`. Setting ``separate``: encoder i reads its own :math:`x_i` and the
input is the stacked vector with the Euclidean norm. Setting ``shared``: every encoder reads the
same :math:`x`.

Exact constants: for linear encoders :math:`E_i(x) = A_i x` every constant is a spectral norm,
computed by LAPACK SVD in float64 on the assembled operator (block-diagonal, horizontal or vertical
stack, or sum), never by a shortcut formula, so the check does not assume what it tests. For
trained nonlinear encoders the separate-input readings are checked pointwise on Jacobians: the
pointwise inequality at every input implies the one between the suprema, which are the constants.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import scipy.linalg
import torch
from torch.func import jacrev

from .._ledger import Evaluator, Outcome
from .._shared.zoo_cases import zoo_cases

#: Relative tolerance for inequalities between float64 spectral norms. LAPACK's SVD is backward
#: stable: computed singular values carry an absolute error of about n * eps * ||A|| (~1e-15 here);
#: 1e-9 is far above that and far below any violation we report (counterexamples are O(1)).
NORM_RTOL = 1e-9
#: Relative tolerance for "equal" in the equality-condition reading (premise of an implication):
#: two spectral norms that agree mathematically agree to ~1e-15 after SVD.
EQUAL_RTOL = 1e-12

LINEAR_FAMILIES = ("gaussian", "correlated", "orthogonal", "rank1", "some-zero", "scaled")


def spec(a: np.ndarray) -> float:
    """Spectral norm (largest singular value) of a matrix, float64 LAPACK SVD."""
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0:
        return 0.0
    return float(np.linalg.norm(a, 2))


def lipschitz_constants(mats: list[np.ndarray], setting: str) -> dict[str, float]:
    r"""Exact :math:`\mathrm{Lip}(f_{cat})`, :math:`\mathrm{Lip}(f_{sum})` and :math:`L_i` for linear encoders.

    ``separate``: :math:`f_{cat} = \mathrm{blockdiag}(A_i)`, :math:`f_{sum} = [A_1 \cdots A_M]`.
    ``shared``: :math:`f_{cat} = [A_1; \dots; A_M]`, :math:`f_{sum} = \sum_i A_i`.
    """
    if setting == "separate":
        cat, summ = scipy.linalg.block_diag(*mats), np.hstack(mats)
    elif setting == "shared":
        cat, summ = np.vstack(mats), np.sum(mats, axis=0)
    else:
        raise ValueError(f"setting must be 'separate' or 'shared', got {setting!r}")
    ls = [spec(a) for a in mats]
    return {"cat": spec(cat), "sum": spec(summ), "L": ls, "l2": math.sqrt(sum(v * v for v in ls)), "l1": sum(ls)}


# ----------------------------------------------------------------------------- linear cases
def sample_linear_case(rng: np.random.Generator, setting: str | None = None) -> dict[str, Any]:
    """Parameters of a linear-encoder case: setting, M, widths, family, correlation, seed."""
    setting = setting or str(rng.choice(["separate", "shared"]))
    family = str(rng.choice(LINEAR_FAMILIES))
    m = int(rng.integers(2, 5))
    out_dim = int(rng.integers(1, 5))
    if setting == "shared" or family == "correlated":
        in_dims = [int(rng.integers(1, 5))] * m
    else:
        in_dims = [int(v) for v in rng.integers(1, 5, size=m)]
    return {"setting": setting, "family": family, "M": m, "out_dim": out_dim, "in_dims": in_dims,
            "rho": float(rng.uniform(-1.0, 1.0)), "seed": int(rng.integers(0, 2**31 - 1))}


def linear_matrices(case: dict[str, Any]) -> list[np.ndarray]:
    """The matrices :math:`A_i` of a linear case (or the explicit ``matrices`` of a witness)."""
    if "matrices" in case:
        return [np.asarray(a, dtype=np.float64) for a in case["matrices"]]
    rng = np.random.default_rng(case["seed"])
    fam, m, d, ns = case["family"], case["M"], case["out_dim"], case["in_dims"]
    g = [rng.standard_normal((d, n)) / math.sqrt(n) for n in ns]
    if fam == "correlated":
        rho = case["rho"]
        return [g[0]] + [rho * g[0] + math.sqrt(max(0.0, 1 - rho * rho)) * gi for gi in g[1:]]
    if fam == "orthogonal":  # encoder i writes only to coordinates congruent to i mod M
        out = []
        for i, gi in enumerate(g):
            mask = np.zeros((d, 1))
            mask[i::m] = 1.0
            out.append(gi * mask)
        return out
    if fam == "rank1":
        return [np.outer(rng.standard_normal(d), rng.standard_normal(n)) for n in ns]
    if fam == "some-zero":
        keep = rng.random(m) < 0.5
        return [gi if k else np.zeros_like(gi) for gi, k in zip(g, keep)]
    if fam == "scaled":
        return [gi * 10.0 ** rng.uniform(-3, 3) for gi in g]
    return g


def _serial(case: dict[str, Any], mats: list[np.ndarray], c: dict[str, Any]) -> dict[str, Any]:
    return {"setting": case["setting"], "family": case.get("family", "witness"),
            "matrices": [a.tolist() for a in mats], "lip_cat": c["cat"], "lip_sum": c["sum"],
            "L": c["L"], "case": {k: v for k, v in case.items() if k != "matrices"}}


# ----------------------------------------------------------------------------- trained cases
def encoder_jacobians(case: dict[str, Any]) -> list[np.ndarray]:
    """Jacobians :math:`J_i = \\partial E_i / \\partial x_i` of a trained zoo model at seeded inputs."""
    from .._cases import build_autoencoder, case_inputs

    model = build_autoencoder(case)
    xs = case_inputs(model, case)
    return [jacrev(lambda v, e=e: e(v.reshape(1, -1)).reshape(-1))(x.reshape(-1)).detach().numpy()
            for e, x in zip(model.encoders, xs)]


def _constants(case: dict[str, Any]) -> tuple[dict[str, Any], list[np.ndarray]]:
    mats = encoder_jacobians(case) if "zoo" in case else linear_matrices(case)
    setting = case.get("setting", "separate")
    return lipschitz_constants(mats, setting), mats


def _trained_cases(fixtures, setting: str = "separate") -> list[dict[str, Any]]:
    """Zoo MLP models (of ``fixtures.zoo``) with equal latent widths (f_sum needs them), one case per
    seeded input."""
    cases = zoo_cases(fixtures, kind="mlp")
    if not cases:
        return []
    from ...zoo import get_spec

    return [{**c, "setting": setting} for c in cases if len(set(get_spec(c["zoo"]).latent_dims)) == 1]


def _label(case: dict[str, Any]) -> str:
    if "zoo" in case:
        return f"trained:{case['zoo']} (pointwise Jacobians)"
    return f"{case['setting']}:{case.get('family', 'witness')}"


def _le(measured: float, bound: float, case, mats, c) -> Outcome:
    ok = measured <= bound * (1 + NORM_RTOL) + 1e-300
    return Outcome(ok, measured, bound, None if ok else _serial(case, mats, c), label=_label(case))


def _true_inequality(case):
    c, mats = _constants(case)
    return _le(c["cat"], c["sum"], case, mats, c)


def _concat_le_l2(case):
    c, mats = _constants(case)
    return _le(c["cat"], c["l2"], case, mats, c)


def _sum_subadditive(case):
    c, mats = _constants(case)
    return _le(c["sum"], c["l1"], case, mats, c)


def _concat_equals_l2(case):
    c, mats = _constants(case)
    ok = abs(c["cat"] - c["l2"]) <= NORM_RTOL * c["l2"]
    return Outcome(ok, c["cat"], c["l2"], None if ok else _serial(case, mats, c), label=_label(case))


def _separate_equality(case):
    c, mats = _constants(case)
    equal = abs(c["cat"] - c["sum"]) <= EQUAL_RTOL * max(c["sum"], c["cat"])
    nonconstant = sum(1 for a in mats if np.any(a != 0))
    ok = not (equal and nonconstant >= 2)
    cex = None if ok else {**_serial(case, mats, c), "nonconstant_encoders": nonconstant}
    return Outcome(ok, c["cat"], c["sum"], cex, label=_label(case))


def frobenius_norms(mats: list[np.ndarray], setting: str) -> dict[str, float]:
    r"""Frobenius norms of the Jacobians of :math:`f_{cat}` and :math:`f_{sum}` assembled from the encoder
    Jacobians (or linear maps) ``mats``: ``separate``: blockdiag / hstack; ``shared``: vstack / sum."""
    if setting == "separate":
        cat, summ = scipy.linalg.block_diag(*mats), np.hstack(mats)
    else:
        cat, summ = np.vstack(mats), np.sum(mats, axis=0)
    return {"cat_fro": float(np.linalg.norm(cat)), "sum_fro": float(np.linalg.norm(summ))}


def _fro_case(case):
    c, mats = _constants(case)
    return {**c, **frobenius_norms(mats, case.get("setting", "separate"))}, mats


def _frobenius_le(case):
    c, mats = _fro_case(case)
    ok = c["cat_fro"] <= c["sum_fro"] * (1 + NORM_RTOL) + 1e-300
    cex = None if ok else {**_serial(case, mats, c), "fro_cat": c["cat_fro"], "fro_sum": c["sum_fro"]}
    return Outcome(ok, c["cat_fro"], c["sum_fro"], cex, label=_label(case))


def _frobenius_equality(case):
    c, mats = _fro_case(case)
    equal = abs(c["cat_fro"] - c["sum_fro"]) <= EQUAL_RTOL * max(c["cat_fro"], c["sum_fro"])
    nonzero = sum(1 for a in mats if np.any(a != 0))
    ok = not (equal and nonzero >= 2)
    cex = None if ok else {**_serial(case, mats, c), "fro_cat": c["cat_fro"], "fro_sum": c["sum_fro"],
                           "nonzero_jacobians": nonzero}
    return Outcome(ok, c["cat_fro"], c["sum_fro"], cex, label=_label(case))


# ----------------------------------------------------------------------------- the proof's bounds
BOUND_FAMILIES = ("random", "one-nonzero", "all-zero", "equal", "wide-range", "network")


def sample_bounds_case(rng: np.random.Generator, index: int = 0) -> dict[str, Any]:
    """Nonnegative rationals :math:`L_i` (numerator/denominator pairs), or Eq. 39 products (``network``)."""
    fam = str(rng.choice(BOUND_FAMILIES))
    m = int(rng.integers(1, 7))
    num = [int(v) for v in rng.integers(0, 1000, size=m)]
    den = [int(v) for v in rng.integers(1, 1000, size=m)]
    if fam == "one-nonzero":
        num = [0] * m
        num[int(rng.integers(m))] = int(rng.integers(1, 1000))
    elif fam == "all-zero":
        num = [0] * m
    elif fam == "equal":
        num, den = [num[0] or 1] * m, [den[0]] * m
    elif fam == "wide-range":
        den = [int(10 ** rng.integers(0, 12)) for _ in range(m)]
    case = {"family": fam, "num": num, "den": den, "seed": int(rng.integers(0, 2**31 - 1))}
    return case


def proof_bounds(case: dict[str, Any]) -> list[Fraction] | list[float]:
    r"""The proof's encoder bounds :math:`L_i`: exact rationals, or for the ``network`` family the
    Eq. 39 products :math:`\prod_l \lVert W_l \rVert_2 \cdot \mathrm{Lip}(\sigma_l)` of random MLP layers."""
    if case["family"] == "network":
        rng = np.random.default_rng(case["seed"])
        out = []
        for _ in case["num"]:
            widths = [int(v) for v in rng.integers(1, 6, size=int(rng.integers(2, 5)))]
            act = float(rng.choice([1.0, 0.25, 1.0]))  # ReLU/tanh slope 1, sigmoid 1/4
            out.append(float(np.prod([spec(rng.standard_normal((b, a))) for a, b in zip(widths[:-1], widths[1:])]))
                       * act ** (len(widths) - 2))
        return out
    return [Fraction(n, d) for n, d in zip(case["num"], case["den"])]


def _bounds_le(case):
    ls = proof_bounds(case)
    l2 = math.sqrt(float(sum(v * v for v in ls)))
    l1 = float(sum(ls))
    ok = l2 <= l1 * (1 + NORM_RTOL) + 1e-300
    return Outcome(ok, l2, l1, None if ok else {**case, "L": [float(v) for v in ls]}, label=case["family"])


def _bounds_equality(case):
    ls = proof_bounds(case)
    if case["family"] == "network":  # floats: use the exact-rational families for this reading
        ls = [Fraction(v) for v in ls]
    s1, s2 = sum(ls, Fraction(0)), sum((v * v for v in ls), Fraction(0))
    equal = s1 * s1 == s2  # sqrt(s2) == s1  <=>  s1^2 == s2, for s1, s2 >= 0; exact in rationals
    nonzero = sum(1 for v in ls if v != 0)
    ok = equal == (nonzero <= 1)
    l2, l1 = math.sqrt(float(s2)), float(s1)
    return Outcome(ok, l2, l1, None if ok else {**case, "equal": equal, "nonzero": nonzero}, label=case["family"])


# ----------------------------------------------------------------------------- witnesses
def witness_separate_equality() -> dict[str, Any]:
    """E_1(x_1) = (x_1, 0), E_2(x_2) = (0, x_2): orthogonal ranges, Lip(f_cat) = Lip(f_sum) = 1."""
    return {"setting": "separate", "family": "witness", "matrices": [[[1.0], [0.0]], [[0.0], [1.0]]]}


def witness_shared() -> dict[str, Any]:
    """A_1 = I, A_2 = -I with a shared input: f_sum = 0, Lip(f_cat) = sqrt(2) > 0 = Lip(f_sum)."""
    return {"setting": "shared", "family": "witness", "matrices": [np.eye(2).tolist(), (-np.eye(2)).tolist()]}


def witness_concat_l2() -> dict[str, Any]:
    """Separate inputs, A_1 = A_2 = [1]: Lip(f_cat) = 1 < sqrt(2) = sqrt(L_1^2 + L_2^2)."""
    return {"setting": "separate", "family": "witness", "matrices": [[[1.0]], [[1.0]]]}


_LIN = "float64 LAPACK spectral norms of the assembled linear operators"


def _method(what: str, tol: float = NORM_RTOL) -> str:
    return f"{what}; {_LIN} (linear encoders), relative tolerance {tol:g}"


EVALUATORS = {
    "proof-bounds": Evaluator(
        sample=sample_bounds_case, evaluate=_bounds_le,
        method=f"sqrt(sum L_i^2) <= sum L_i on rational and Eq. 39 bounds, float64, relative tolerance {NORM_RTOL:g}"),
    "proof-bounds-equality": Evaluator(
        sample=sample_bounds_case, evaluate=_bounds_equality,
        method="(sum L_i)^2 == sum L_i^2 decided exactly in rational arithmetic vs 'at most one L_i != 0'"),
    "true-separate": Evaluator(
        sample=lambda rng, k: sample_linear_case(rng, "separate"), evaluate=_true_inequality,
        method=_method("Lip(f_cat) <= Lip(f_sum), separate inputs; trained encoders pointwise"),
        fixed_cases=lambda fx: _trained_cases(fx, "separate")),
    "true-separate-equality": Evaluator(
        sample=lambda rng, k: sample_linear_case(rng, "separate"), evaluate=_separate_equality,
        method=_method("Lip(f_cat) = Lip(f_sum) implies at most one nonzero A_i", EQUAL_RTOL),
        witness=witness_separate_equality),
    "true-shared": Evaluator(
        sample=lambda rng, k: sample_linear_case(rng, "shared"), evaluate=_true_inequality,
        method=_method("Lip(f_cat) <= Lip(f_sum), shared input"),
        witness=witness_shared),
    "concat-equals-l2": Evaluator(
        sample=lambda rng, k: sample_linear_case(rng), evaluate=_concat_equals_l2,
        method=_method("Lip(f_cat) == sqrt(sum L_i^2), both settings"),
        witness=witness_concat_l2),
    "concat-le-l2": Evaluator(
        sample=lambda rng, k: sample_linear_case(rng), evaluate=_concat_le_l2,
        method=_method("Lip(f_cat) <= sqrt(sum L_i^2), both settings; trained encoders pointwise"),
        fixed_cases=lambda fx: _trained_cases(fx, "separate")),
    "sum-subadditive": Evaluator(
        sample=lambda rng, k: sample_linear_case(rng), evaluate=_sum_subadditive,
        method=_method("Lip(f_sum) <= sum L_i, both settings; trained encoders pointwise"),
        fixed_cases=lambda fx: _trained_cases(fx, "separate")),
    "frobenius-separate": Evaluator(
        sample=lambda rng, k: sample_linear_case(rng, "separate"), evaluate=_frobenius_le,
        method=f"||J f_cat||_F <= ||J f_sum||_F (blockdiag vs hstack), separate inputs; Frobenius norms of the "
               f"assembled float64 Jacobians, relative tolerance {NORM_RTOL:g}; linear encoders and trained encoders "
               f"pointwise",
        fixed_cases=lambda fx: _trained_cases(fx, "separate")),
    "frobenius-separate-equality": Evaluator(
        sample=lambda rng, k: sample_linear_case(rng, "separate"), evaluate=_frobenius_equality,
        method=f"||J f_cat||_F = ||J f_sum||_F (to {EQUAL_RTOL:g}) implies at most one nonzero J_i, separate inputs",
        witness=witness_concat_l2),
    "frobenius-shared": Evaluator(
        sample=lambda rng, k: sample_linear_case(rng, "shared"), evaluate=_frobenius_le,
        method=f"||J f_cat||_F <= ||J f_sum||_F (vstack vs sum), shared input, relative tolerance {NORM_RTOL:g}",
        witness=witness_shared),
}


#: reading whose witness -> the readings expected to hold that accept it (the witness lies in their
#: domain: a counterexample to the paper's reading is not one to lipbound's own); checked by
#: tests/test_witnesses.py
#: Left out: the shared-input witness under ``true-separate`` (a statement about separate inputs), and
#: ``proof-bounds*``, whose evaluators take another kind of case (rational L_i).
WITNESS_ACCEPTED_BY: dict[str, tuple[str, ...]] = {
    "true-separate-equality": ("true-separate", "concat-le-l2", "sum-subadditive",),
    "true-shared": ("concat-le-l2", "sum-subadditive",),
    "concat-equals-l2": ("true-separate", "concat-le-l2", "sum-subadditive",),
    "frobenius-separate-equality": ("frobenius-separate", "true-separate", "concat-le-l2", "sum-subadditive",),
    "frobenius-shared": ("concat-le-l2", "sum-subadditive",),
}
