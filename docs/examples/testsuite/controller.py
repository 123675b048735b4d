"""The model under test: a small policy network mapping a 4-d observation to a 2-d action."""

import torch
from torch import nn


def make_policy(hidden: int = 16, seed: int = 0) -> nn.Module:
    """A tanh MLP 4 -> hidden -> 2 with weights from ``seed``, scaled so its Lipschitz constant stays small."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(4, hidden), nn.Tanh(), nn.Linear(hidden, 2))
    with torch.no_grad():
        for layer in (net[0], net[2]):
            layer.weight.mul_(0.5)
    return net.eval()
