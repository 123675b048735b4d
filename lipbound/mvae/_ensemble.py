r"""Vectorised ensembles: many :class:`~lipbound.mvae.MultimodalVAE` of one architecture trained as one model.

Every linear layer of the :math:`E` members is stored stacked, weights :math:`(E, \text{in}, \text{out})`
and biases :math:`(E, 1, \text{out})`, and applied with one batched matrix product
(``torch.baddbmm``) to inputs of shape :math:`(E, B, \text{in})`: member :math:`k` sees only its
own rows and its own weights. The training loss is the **sum** of the members' losses, so the
gradient of member :math:`k`'s parameters is the gradient of its own loss, and Adam (an
element-wise update) moves each member exactly as if it were trained alone. Each member keeps its
own random generator for the minibatch order and the latent noise, seeded with its seed, drawn in
the same order as a single model's training: a member of an ensemble and the same run trained
alone follow the same trajectory up to float rounding (checked in ``tests/test_mvae.py``).

Members may differ in their KL weight schedule (a per-member :math:`\beta` at every epoch) and
seed; they share the architecture, learning rate and batch size.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._model import MultimodalVAE, VAEConfig, decode_with, encode_with, latent_kl, reconstruction_nll


class EnsembleVAE(nn.Module):
    """``E`` members of one :class:`VAEConfig`, stacked (see the module docstring).

    >>> members = [MultimodalVAE() for _ in range(3)]
    >>> ens = EnsembleVAE.from_members(members)
    >>> x = torch.randn(7, 28)
    >>> zm, _ = ens.encode(x.expand(3, 7, 28))
    >>> bool(torch.allclose(zm[1], members[1].encode(x)[0], atol=1e-6))
    True
    """

    def __init__(self, config: VAEConfig, size: int) -> None:
        super().__init__()
        self.config = config
        self.size = size
        self.weights = nn.ParameterDict()
        self.biases = nn.ParameterDict()
        for name, (a, b) in config.layers().items():
            key = name.replace(".", "/")
            self.weights[key] = nn.Parameter(torch.zeros(size, a, b))
            self.biases[key] = nn.Parameter(torch.zeros(size, 1, b))

    @classmethod
    def from_members(cls, members: Sequence[MultimodalVAE]) -> EnsembleVAE:
        """Stack the parameters of ``members`` (same config) into an ensemble of the same dtype."""
        cfg = members[0].config
        if any(m.config != cfg for m in members):
            raise ValueError("ensemble members must share one VAEConfig")
        ens = cls(cfg, len(members)).to(next(members[0].parameters()).dtype)
        with torch.no_grad():
            for name in cfg.layers():
                key = name.replace(".", "/")
                ens.weights[key].copy_(torch.stack([m.layer(name).weight.t() for m in members]))
                ens.biases[key].copy_(torch.stack([m.layer(name).bias[None, :] for m in members]))
        return ens

    def member(self, k: int) -> MultimodalVAE:
        """Member ``k`` as a standalone :class:`MultimodalVAE` (a copy, same dtype)."""
        m = MultimodalVAE(self.config).to(next(self.parameters()).dtype)
        with torch.no_grad():
            for name in self.config.layers():
                key = name.replace(".", "/")
                m.layer(name).weight.copy_(self.weights[key][k].t())
                m.layer(name).bias.copy_(self.biases[key][k, 0])
        return m

    def linear(self, name: str, h: torch.Tensor) -> torch.Tensor:
        key = name.replace(".", "/")
        return torch.baddbmm(self.biases[key], h, self.weights[key])

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(z_mean, z_logvar)`` for inputs of shape (E, B, 28)."""
        return encode_with(self.config, self.linear, x)

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return decode_with(self.config, self.linear, z)

    def losses(self, x: torch.Tensor, y: torch.Tensor, eps: torch.Tensor,
               beta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-member batch means ``(loss, nll, kl)``, each of shape (E,): the loss of
        :func:`~lipbound.mvae.vae_loss` with latent noise ``eps`` (E, B, latent) and KL weights ``beta`` (E,)."""
        zm, zl = self.encode(x)
        mean, logvar = self.decode(zm + torch.exp(0.5 * zl) * eps)
        nll = reconstruction_nll(self.config, y, mean, logvar).mean(-1)
        kl = latent_kl(zm, zl).mean(-1)
        return nll + beta * kl, nll, kl
