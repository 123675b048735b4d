r"""The multimodal VAE of Zambelli et al. (2020) as used in arXiv 2411.00522.

Architecture (defaults follow the original's sizes; the activation is lipbound's choice, the
original's is not recorded in the material available here):

* encoder: one MLP per modality (joints, vision, motor: widths [40, 20]; touch, sound: [10, 5]),
  their outputs concatenated, a shared layer of 100 units, then two linear heads giving the mean
  :math:`\mu_z(x)` and log-variance :math:`\log\sigma_z^2(x)` of a 28-dimensional Gaussian
  :math:`q(z \mid x)`;
* decoder: a shared layer of 100 units, one MLP per modality with the widths reversed, then two
  linear heads per modality giving the mean :math:`\mu(z)` and log-variance :math:`\log\sigma^2(z)`
  of a factorized Gaussian over the modality's dimensions. The log-variance is squashed into
  ``[LOGVAR_MIN, LOGVAR_MAX]`` so that the binary touch dimensions cannot drive the likelihood to
  :math:`-\infty`.

Loss per sample (the negative β-ELBO with the latent sampled once, reparameterised):

.. math::

    \ell(x, y) = \sum_{d=1}^{28} \tfrac12\Big(\log 2\pi + \log\sigma_d^2 + \frac{(y_d - \mu_d)^2}{\sigma_d^2}\Big)
    + \beta\, \mathrm{KL}\big(q(z\mid x)\,\|\,\mathcal N(0, I)\big),

with :math:`x` the (possibly muted) input and :math:`y` the clean target.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from ..errors import LipboundError
from ._data import DIM, MODALITIES

LOGVAR_MIN, LOGVAR_MAX = -8.0, 4.0
_ACTS = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU}

#: the original's encoder widths per modality (decoders use them reversed)
DEFAULT_HIDDEN: dict[str, tuple[int, ...]] = {
    "joints": (40, 20), "vision": (40, 20), "touch": (10, 5), "sound": (10, 5), "motor": (40, 20),
}


@dataclass(frozen=True)
class VAEConfig:
    """Sizes and training settings of a :class:`MultimodalVAE` run.

    Args:
        hidden: per-modality encoder widths (decoders reversed); every modality must have the same
            depth, so that the encoder and decoder are exactly dense networks (see
            :meth:`MultimodalVAE.encoder_mean_network`).
        shared: width of the shared encoder and decoder layers.
        latent: latent dimension.
        activation: ``"tanh"``, ``"relu"`` or ``"elu"``.
        lr: Adam learning rate.
        batch_size: minibatch size.
    """

    hidden: dict[str, tuple[int, ...]] = field(default_factory=lambda: dict(DEFAULT_HIDDEN))
    shared: int = 100
    latent: int = 28
    activation: str = "tanh"
    lr: float = 2e-3
    batch_size: int = 512

    def __post_init__(self) -> None:
        if set(self.hidden) != set(MODALITIES):
            raise LipboundError(f"VAEConfig.hidden needs widths for exactly {list(MODALITIES)}, got {list(self.hidden)}")
        depths = {len(v) for v in self.hidden.values()}
        if len(depths) != 1 or any(int(w) < 1 for v in self.hidden.values() for w in v):
            raise LipboundError(f"every modality needs the same number of positive widths, got {self.hidden}")
        if self.activation not in _ACTS:
            raise LipboundError(f"unknown activation {self.activation!r}; choose from {sorted(_ACTS)}")
        if self.shared < 1 or self.latent < 1 or self.batch_size < 1 or not self.lr > 0:
            raise LipboundError(f"VAEConfig sizes and lr must be positive: {self}")

    def as_dict(self) -> dict:
        d = asdict(self)
        d["hidden"] = {k: list(v) for k, v in self.hidden.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> VAEConfig:
        d = dict(d)
        d["hidden"] = {k: tuple(v) for k, v in d["hidden"].items()}
        return cls(**d)


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one intra-op thread inside the block (restored afterwards). The layers here are at
    most a few hundred wide: one thread is fastest, and it does not fight other processes for cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _mlp(widths: list[int], act: type[nn.Module]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), act()]
    return nn.Sequential(*layers)


def _squash(raw: torch.Tensor) -> torch.Tensor:
    return LOGVAR_MIN + (LOGVAR_MAX - LOGVAR_MIN) * torch.sigmoid(raw)


class MultimodalVAE(nn.Module):
    """Per-modality encoders -> shared layer -> Gaussian latent -> shared layer -> per-modality decoders.

    >>> m = MultimodalVAE()
    >>> mu, logvar, zm, zl = m(torch.zeros(5, 28))
    >>> tuple(mu.shape), tuple(logvar.shape), tuple(zm.shape)
    ((5, 28), (5, 28), (5, 28))
    """

    def __init__(self, config: VAEConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or VAEConfig()
        act = _ACTS[cfg.activation]
        self.names = list(MODALITIES)
        self.slices = [MODALITIES[n] for n in self.names]
        self.enc = nn.ModuleDict({n: _mlp([s.stop - s.start, *cfg.hidden[n]], act) for n, s in zip(self.names, self.slices)})
        enc_out = sum(cfg.hidden[n][-1] for n in self.names)
        self.enc_shared = nn.Sequential(nn.Linear(enc_out, cfg.shared), act())
        self.z_mean = nn.Linear(cfg.shared, cfg.latent)
        self.z_logvar = nn.Linear(cfg.shared, cfg.latent)
        self.dec_shared = nn.Sequential(nn.Linear(cfg.latent, cfg.shared), act())
        self.dec = nn.ModuleDict({n: _mlp([cfg.shared, *reversed(cfg.hidden[n])], act) for n in self.names})
        self.out_mean = nn.ModuleDict({n: nn.Linear(cfg.hidden[n][0], s.stop - s.start) for n, s in zip(self.names, self.slices)})
        self.out_logvar = nn.ModuleDict({n: nn.Linear(cfg.hidden[n][0], s.stop - s.start) for n, s in zip(self.names, self.slices)})

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of :math:`q(z \\mid x)` for inputs ``x`` of shape (N, 28)."""
        if x.shape[-1] != DIM:
            raise LipboundError(f"MultimodalVAE expects inputs of width {DIM}, got shape {tuple(x.shape)}")
        h = torch.cat([self.enc[n](x[..., s]) for n, s in zip(self.names, self.slices)], dim=-1)
        h = self.enc_shared(h)
        return self.z_mean(h), self.z_logvar(h)

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance (each (N, 28), in column order) of the output distribution at ``z``."""
        h = self.dec_shared(z)
        hs = [self.dec[n](h) for n in self.names]
        mean = torch.cat([self.out_mean[n](g) for n, g in zip(self.names, hs)], dim=-1)
        logvar = torch.cat([_squash(self.out_logvar[n](g)) for n, g in zip(self.names, hs)], dim=-1)
        return mean, logvar

    def forward(self, x: torch.Tensor, eps: torch.Tensor | None = None):
        """``(out_mean, out_logvar, z_mean, z_logvar)``; decodes ``z_mean + exp(z_logvar / 2) * eps``,
        or the latent mean when ``eps`` is None (the deterministic decoding used by the measures)."""
        zm, zl = self.encode(x)
        z = zm if eps is None else zm + torch.exp(0.5 * zl) * eps
        mean, logvar = self.decode(z)
        return mean, logvar, zm, zl

    # -- exact dense equivalents, for the Lipschitz brackets --------------------------------------
    def encoder_mean_network(self) -> nn.Sequential:
        r"""The map :math:`x \mapsto \mu_z(x)` as one ``nn.Sequential`` of Linear layers and activations
        (float64): the per-modality layers become block-diagonal Linear layers. Equal to
        :meth:`encode`'s mean up to float rounding (checked in the tests)."""
        cfg = self.config
        act = _ACTS[cfg.activation]
        depth = len(cfg.hidden[self.names[0]])
        layers: list[nn.Module] = []
        for k in range(depth):
            blocks = [self.enc[n][2 * k] for n in self.names]
            layers += [_block_diag(blocks), act()]
        layers += [_copy(self.enc_shared[0]), act(), _copy(self.z_mean)]
        return nn.Sequential(*layers).double()

    def decoder_mean_network(self) -> nn.Sequential:
        r"""The map :math:`z \mapsto \mu(z)` (output means, 28 columns in order) as one dense
        ``nn.Sequential`` (float64): the first per-modality layers stacked, the later ones block-diagonal."""
        cfg = self.config
        act = _ACTS[cfg.activation]
        depth = len(cfg.hidden[self.names[0]])
        layers: list[nn.Module] = [_copy(self.dec_shared[0]), act()]
        for k in range(depth):
            blocks = [self.dec[n][2 * k] for n in self.names]
            layers += [_stack(blocks) if k == 0 else _block_diag(blocks), act()]
        layers.append(_block_diag([self.out_mean[n] for n in self.names]))
        return nn.Sequential(*layers).double()


def _copy(lin: nn.Linear) -> nn.Linear:
    out = nn.Linear(lin.in_features, lin.out_features).double()
    with torch.no_grad():
        out.weight.copy_(lin.weight)
        out.bias.copy_(lin.bias)
    return out


def _block_diag(blocks: list[nn.Linear]) -> nn.Linear:
    out = nn.Linear(sum(b.in_features for b in blocks), sum(b.out_features for b in blocks)).double()
    with torch.no_grad():
        out.weight.copy_(torch.block_diag(*[b.weight.double() for b in blocks]))
        out.bias.copy_(torch.cat([b.bias.double() for b in blocks]))
    return out


def _stack(blocks: list[nn.Linear]) -> nn.Linear:
    out = nn.Linear(blocks[0].in_features, sum(b.out_features for b in blocks)).double()
    with torch.no_grad():
        out.weight.copy_(torch.cat([b.weight.double() for b in blocks], dim=0))
        out.bias.copy_(torch.cat([b.bias.double() for b in blocks]))
    return out


def gaussian_nll(y: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    r"""Per-sample Gaussian negative log-likelihood :math:`\sum_d \tfrac12(\log 2\pi + \log\sigma_d^2 + (y_d-\mu_d)^2/\sigma_d^2)`."""
    return 0.5 * (math.log(2 * math.pi) + logvar + (y - mean) ** 2 * torch.exp(-logvar)).sum(-1)


def latent_kl(z_mean: torch.Tensor, z_logvar: torch.Tensor) -> torch.Tensor:
    r"""Per-sample :math:`\mathrm{KL}(\mathcal N(\mu, \mathrm{diag}\,\sigma^2) \| \mathcal N(0, I)) =
    \tfrac12 \sum_j (\mu_j^2 + \sigma_j^2 - 1 - \log\sigma_j^2)`.

    >>> float(latent_kl(torch.zeros(1, 3), torch.zeros(1, 3))[0])
    0.0
    """
    return 0.5 * (z_mean**2 + torch.exp(z_logvar) - 1.0 - z_logvar).sum(-1)


def vae_loss(model: MultimodalVAE, x: torch.Tensor, y: torch.Tensor, beta: float,
             generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(loss, nll, kl)``: batch means of the β-ELBO loss, its reconstruction and latent terms."""
    zm, zl = model.encode(x)
    eps = torch.randn(zm.shape, generator=generator, dtype=zm.dtype)
    mean, logvar = model.decode(zm + torch.exp(0.5 * zl) * eps)
    nll = gaussian_nll(y, mean, logvar).mean()
    kl = latent_kl(zm, zl).mean()
    return nll + beta * kl, nll, kl
