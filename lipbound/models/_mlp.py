"""Fully connected modality encoders and decoders (the sensor branch of Section 5.3)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

_ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
    "identity": nn.Identity,
}

#: Hidden widths of the sensor encoder of Section 5.3 (n-64-128-128-256-256-288).
PAPER_SENSOR_HIDDEN: tuple[int, ...] = (64, 128, 128, 256, 256)
#: Latent width of the paper's encoders (Section 5.3).
PAPER_LATENT_DIM: int = 288


def activation(name: str) -> nn.Module:
    """Return a fresh activation module by name (``relu``, ``tanh``, ``sigmoid``, ``gelu``, ``elu``,
    ``leaky_relu``, ``identity``)."""
    try:
        return _ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; choose one of {sorted(_ACTIVATIONS)}"
        ) from None


def _mlp(sizes: Sequence[int], act: str, final_act: str | None) -> nn.Sequential:
    if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
        raise ValueError(f"an MLP needs at least two positive layer sizes, got {list(sizes)}")
    layers: list[nn.Module] = []
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(int(a), int(b)))
        last = k == len(sizes) - 2
        if not last:
            layers.append(activation(act))
        elif final_act is not None:
            layers.append(activation(final_act))
    return nn.Sequential(*layers)


class MLPEncoder(nn.Module):
    r"""Modality encoder :math:`E_i(x_i;\theta_{E_i})`: an MLP ``in_features -> hidden -> latent_dim``.

    The last layer is linear unless ``final_activation`` is given. With the defaults
    ``hidden=PAPER_SENSOR_HIDDEN`` and ``latent_dim=288`` it is the sensor encoder of Section 5.3.

    >>> enc = MLPEncoder(6, latent_dim=4, hidden=(8,))
    >>> enc(torch.zeros(3, 6)).shape
    torch.Size([3, 4])
    """

    def __init__(
        self,
        in_features: int,
        latent_dim: int = PAPER_LATENT_DIM,
        hidden: Sequence[int] = PAPER_SENSOR_HIDDEN,
        activation: str = "relu",
        final_activation: str | None = None,
    ) -> None:
        super().__init__()
        self.in_shape = (int(in_features),)
        self.latent_dim = int(latent_dim)
        self.net = _mlp([in_features, *hidden, latent_dim], activation, final_activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class MLPDecoder(nn.Module):
    r"""Modality decoder :math:`D_j(z;\theta_{D_j})`: an MLP ``in_features -> hidden -> out_features``.

    ``in_features`` is the fused latent width (``fusion.output_dim``). With ``hidden`` reversed from
    the encoder's it mirrors the sensor encoder of Section 5.3.

    >>> dec = MLPDecoder(4, out_features=6, hidden=(8,))
    >>> dec(torch.zeros(3, 4)).shape
    torch.Size([3, 6])
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        hidden: Sequence[int] = tuple(reversed(PAPER_SENSOR_HIDDEN)),
        activation: str = "relu",
        final_activation: str | None = None,
    ) -> None:
        super().__init__()
        self.in_features = int(in_features)
        self.out_shape = (int(out_features),)
        self.net = _mlp([in_features, *hidden, out_features], activation, final_activation)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)
