r"""The paper's Lipschitz estimator (Section 4.6, Algorithm 1, Eq. 8): a **heuristic**.

* Lipschitz estimate: :math:`\hat L = \max_{x \in \text{samples}} \|J_f(x)\|_F` over random samples
  (Eq. 8, following Virmaux and Scaman, 2018). Since :math:`\|J\|_F \ge \|J\|_2`, this value is
  *not* a lower bound on the Lipschitz constant (it can exceed it by up to a factor
  :math:`\sqrt{\operatorname{rank} J}`), and as a maximum over finitely many samples it is not an
  upper bound either.
* Gradient-Lipschitz estimate: :math:`\max \|g(x) - g(y)\| / (\|x - y\| + \epsilon)` over sampled
  pairs, with :math:`g` the gradients of a random subset of output coordinates (the paper's
  "random subsets of output gradients") and :math:`\epsilon` the paper's small threshold (its value
  is not given; we use ``1e-8``).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import jacrev, vmap

from ._lower import _f64, _single


def paper_estimator(model: nn.Module, samples: torch.Tensor, *, n_samples: int = 64, n_pairs: int = 64,
                    n_outputs: int = 8, threshold: float = 1e-8, seed: int = 0, batch: int | None = None) -> dict:
    """Algorithm 1 on a float64 batch ``samples``; returns ``{"lipschitz", "gradient_lipschitz", ...}``.

    ``model`` is evaluated as it is (any module autograd runs through); ``batch`` is the only batch
    size it accepts, if it has one (a torch.export program): then each Jacobian is taken on a batch
    padded with detached copies of the input.

    >>> lin = nn.Linear(2, 2, bias=False)
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.eye(2))
    >>> round(paper_estimator(lin, torch.randn(5, 2, dtype=torch.float64))["lipschitz"], 6)  # sqrt(2) > 1
    1.414214
    """
    g = torch.Generator().manual_seed(seed)
    n = samples.shape[0]
    idx = torch.randperm(n, generator=g)[: min(n_samples, n)]
    xs = samples[idx]
    if batch is None:
        m = _f64(model)
        J = vmap(jacrev(_single(m)))(xs).detach()  # (k, *out, *in)
    else:
        from ._accept import _f64_copy, run_batched

        m = _f64_copy(model)
        J = torch.stack([torch.autograd.functional.jacobian(lambda z: run_batched(m, z.unsqueeze(0), batch)[0], x)
                         for x in xs]).detach()
    k = xs.shape[0]
    Jf = J.reshape(k, -1, xs[0].numel())
    fro = Jf.flatten(1).norm(dim=1)
    n_out = Jf.shape[1]
    rows = torch.randperm(n_out, generator=g)[: min(n_outputs, n_out)]
    grads = Jf[:, rows, :]
    ratios = []
    if k >= 2:
        a = torch.randint(0, k, (n_pairs,), generator=g)
        b = torch.randint(0, k, (n_pairs,), generator=g)
        keep = a != b
        a, b = a[keep], b[keep]
        if a.numel():
            num = (grads[a] - grads[b]).flatten(1).norm(dim=1)
            den = (xs[a] - xs[b]).flatten(1).norm(dim=1) + threshold
            ratios = (num / den).tolist()
    return {
        "lipschitz": float(fro.max()),
        "gradient_lipschitz": max(ratios) if ratios else None,
        "samples": int(k),
        "pairs": len(ratios),
        "output_rows": int(rows.numel()),
        "threshold": threshold,
    }
