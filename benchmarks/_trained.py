"""Networks trained on real data that a package ships, for the bound benchmarks.

``digits_classifier``: an MLP classifier of scikit-learn's handwritten digits (1797 8x8 images,
shipped with scikit-learn, read from its package files: no network access), trained here in a few
seconds with a fixed seed. Its held-out accuracy is returned so a benchmark can state what it bounds.
"""

from __future__ import annotations

import torch
from torch import nn


def digits_data(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(x_train, y_train, x_test, y_test)``: pixels scaled to [0, 1] (float64), a seeded 80/20 split."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.as_tensor(d.data / 16.0, dtype=torch.float64)
    y = torch.as_tensor(d.target, dtype=torch.long)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    cut = int(0.8 * len(y))
    return x[perm[:cut]], y[perm[:cut]], x[perm[cut:]], y[perm[cut:]]


def digits_classifier(hidden: tuple[int, ...] = (128, 64), *, seed: int = 0, epochs: int = 300
                      ) -> tuple[nn.Sequential, float, torch.Tensor]:
    """A ReLU MLP 64 -> hidden -> 10 trained on the digits (Adam, lr 1e-2, full batch, ``epochs``);
    returns ``(model in float64 eval mode, test accuracy, test inputs)``."""
    xtr, ytr, xte, yte = digits_data(seed)
    torch.manual_seed(seed)
    dims = [64, *hidden, 10]
    layers: list[nn.Module] = []
    for i in range(len(dims) - 1):
        layers.append(nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(nn.ReLU())
    net = nn.Sequential(*layers).double()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(epochs):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(xtr), ytr)
        loss.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        acc = float((net(xte).argmax(1) == yte).double().mean())
    return net.requires_grad_(False), acc, xte
