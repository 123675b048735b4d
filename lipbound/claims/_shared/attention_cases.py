"""Weight cases for the attention theorems: small shapes drawn from a numpy Generator, matrices
filled from a seed, so every case (and counterexample) is a small JSON dict that rebuilds exactly."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

FAMILIES = ("gaussian", "scalar", "orthogonal", "low-rank", "equal")


def sample_weights_case(rng: np.random.Generator, index: int = 0) -> dict[str, Any]:
    """Draw M in 2..4, score width k in 1..4, widths d_i in 1..4, a family, a scale and R."""
    fam = str(rng.choice(FAMILIES))
    m = int(rng.integers(2, 5))
    k = 1 if fam == "scalar" else int(rng.integers(1, 5))
    dims = [1] * m if fam == "scalar" else [int(v) for v in rng.integers(1, 5, size=m)]
    return {"family": fam, "M": m, "k": k, "dims": dims, "scale": float(10 ** rng.uniform(-1, 0.5)),
            "R": float(rng.choice([0.5, 1.0, 2.0])), "seed": int(rng.integers(0, 2**31 - 1))}


def case_weights(case: dict[str, Any]) -> list[torch.Tensor]:
    """The effective weights W_i (float64) of a case, or its explicit ``weights``."""
    if "weights" in case:
        return [torch.tensor(w, dtype=torch.float64) for w in case["weights"]]
    rng = np.random.default_rng(case["seed"])
    k, dims, fam = case["k"], case["dims"], case["family"]
    ws = [rng.standard_normal((k, d)) / np.sqrt(d) for d in dims]
    if fam == "orthogonal":  # modality i scores only in coordinates congruent to i mod M
        for i, w in enumerate(ws):
            mask = np.zeros((k, 1))
            mask[i % k:: len(ws)] = 1.0
            ws[i] = w * mask
    elif fam == "low-rank":
        ws = [np.outer(rng.standard_normal(k), rng.standard_normal(d)) / np.sqrt(k * d) for d in dims]
    elif fam == "equal" and len(set(dims)) == 1:
        ws = [ws[0].copy() for _ in ws]
    return [torch.tensor(case["scale"] * w, dtype=torch.float64) for w in ws]


def serial(ws) -> list:
    """Weights as nested lists (for counterexamples)."""
    return [w.detach().numpy().tolist() for w in ws]


def family_parametrization(case: dict[str, Any], ws: list[torch.Tensor]):
    """Parameters and a ``build(params) -> weights`` that keep the case's family while the weights are
    searched: shapes always; ``scalar`` stays 1 x 1; ``orthogonal`` keeps its zero pattern (the score
    coordinates of modality i); ``low-rank`` stays rank one (W_i = a_i b_i^T); ``equal`` stays one
    shared matrix; every other case (``gaussian``, explicit weights) is searched over all entries."""
    fam = case.get("family")
    if fam == "low-rank":
        params = []
        for w in ws:
            u, s, vh = torch.linalg.svd(w)
            params += [u[:, 0] * s[0].sqrt(), vh[0] * s[0].sqrt()]
        return params, lambda p: [torch.outer(p[2 * i], p[2 * i + 1]) for i in range(len(p) // 2)]
    if fam == "equal" and all(w.shape == ws[0].shape and torch.equal(w, ws[0]) for w in ws):
        n = len(ws)
        return [ws[0]], lambda p: [p[0]] * n
    if fam == "orthogonal":
        masks = [(w != 0).to(w.dtype) for w in ws]
        return list(ws), lambda p: [q * mk for q, mk in zip(p, masks)]
    return list(ws), lambda p: list(p)
