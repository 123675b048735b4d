r"""The multimodal VAE of Zambelli et al. (2020) as reused by arXiv 2411.00522, and lipbound's earlier variant.

The architecture is described by a :class:`VAEConfig`; two named variants exist (:data:`MODEL_VARIANTS`):

``original`` (the default) follows the public code of Zambelli et al. (repository
ImperialCollegeLondon/Zambelli2019_RAS_multimodal_VAE, ``train_final_completeloss.py``, network
configuration 1; facts taken, code not copied; docs/mvae.md lists every item with its source):

* encoder: one ReLU MLP per modality (joints, vision: widths [40, 20]; touch, sound: [10, 5]; motor:
  [40, 10]), outputs concatenated (60 units), a shared ReLU layer of 100 units, then two linear heads
  giving the mean :math:`\mu_z(x)` and the log-variance of a 28-dimensional Gaussian
  :math:`q(z \mid x)`;
* decoder: shared ReLU layers of 100 and 70 units; the 70 units are **sliced** into consecutive
  groups of 20, 20, 5, 5, 20 units, one per modality, each feeding a ReLU MLP (joints, vision,
  motor: [40, 8]; touch, sound: [10, 2]) and then two linear heads per modality (mean and
  log-variance of a factorized Gaussian over the modality's dimensions);
* every variance (latent and output) is **floored**: :math:`\sigma^2 = e^{a} + 10^{-4}` with
  :math:`a` the head's output, i.e. :math:`\log\sigma^2 = \log(e^{a} + 10^{-4})`;
* weights initialised uniform on :math:`\pm\sqrt{1/(\text{fan-in} + \text{fan-out})}`, biases 0;
* loss: each modality's Gaussian negative log-likelihood **divided by its number of dimensions**,
  summed over the modalities, plus :math:`\beta` times the latent KL (batch means):

.. math::

    \ell(x, y) = \sum_{M} \frac{1}{|I_M|} \sum_{d \in I_M} \tfrac12\Big(\log 2\pi + \log\sigma_d^2
    + \frac{(y_d - \mu_d)^2}{\sigma_d^2}\Big) + \beta\, \mathrm{KL}\big(q(z\mid x)\,\|\,\mathcal N(0, I)\big),

with :math:`x` the (possibly muted) input and :math:`y` the clean target; Adam, learning rate
:math:`5\cdot 10^{-5}`, minibatches of 1000 (the last incomplete one dropped).

``lipbound-v1`` is the model lipbound used before it followed the original, kept because the
paper's findings flip between the two (docs/mvae.md, "Why the variant matters"): tanh units,
encoder widths [40, 20] for motor too, one shared layer of 100 units on each side with every
modality decoder reading all of it (widths reversed: [20, 40]), the output log-variance squashed
into ``[LOGVAR_MIN, LOGVAR_MAX]`` by a sigmoid, the latent log-variance unconstrained, PyTorch's
default initialisation, the NLL **summed** over all 28 dimensions (so the KL weighs about 5.6 times
less at the same :math:`\beta`), Adam at :math:`2\cdot 10^{-3}` on minibatches of 512.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace

import torch
from torch import nn

from ..errors import LipboundError
from ._data import DIM, MODALITIES

LOGVAR_MIN, LOGVAR_MAX = -8.0, 4.0
#: the original's variance floor: sigma^2 = exp(a) + VAR_FLOOR
VAR_FLOOR = 1e-4
_ACTS = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU}
_ACT_FNS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {"tanh": torch.tanh, "relu": torch.relu,
                                                                "elu": nn.functional.elu}
VARIANCES = ("floor", "squash")
LIKELIHOODS = ("per-modality-mean", "sum")
INITS = ("xavier-original", "torch-default")


def _per_mod(**kw) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v) for k, v in kw.items()}


@dataclass(frozen=True)
class VAEConfig:
    """Architecture and training settings of a :class:`MultimodalVAE` (see the module docstring).

    Args:
        enc_hidden: per-modality encoder widths; every modality the same depth, so that the encoder is
            exactly a dense network (:meth:`MultimodalVAE.encoder_mean_network`).
        enc_shared: widths of the shared encoder layers.
        latent: latent dimension.
        dec_shared: widths of the shared decoder layers.
        dec_slices: units of the last shared decoder layer given to each modality (consecutive, in
            modality order, summing to its width), or None: every modality decoder reads all of it.
        dec_hidden: per-modality decoder widths (same depth for every modality).
        activation: ``"relu"``, ``"tanh"`` or ``"elu"`` (every hidden layer).
        variance: ``"floor"`` (:math:`\\sigma^2 = e^a + 10^{-4}`, latent and output) or ``"squash"``
            (output log-variance squashed into ``[LOGVAR_MIN, LOGVAR_MAX]``, latent unconstrained).
        likelihood: ``"per-modality-mean"`` (each modality's NLL divided by its dimensions, summed) or
            ``"sum"`` (summed over all 28 dimensions).
        init: ``"xavier-original"`` or ``"torch-default"``.
        lr: Adam learning rate.
        batch_size: minibatch size.
        drop_last: drop the last incomplete minibatch of an epoch (the original does).
    """

    enc_hidden: dict[str, tuple[int, ...]] = field(default_factory=lambda: _per_mod(
        joints=(40, 20), vision=(40, 20), touch=(10, 5), sound=(10, 5), motor=(40, 10)))
    enc_shared: tuple[int, ...] = (100,)
    latent: int = 28
    dec_shared: tuple[int, ...] = (100, 70)
    dec_slices: dict[str, int] | None = field(default_factory=lambda: {
        "joints": 20, "vision": 20, "touch": 5, "sound": 5, "motor": 20})
    dec_hidden: dict[str, tuple[int, ...]] = field(default_factory=lambda: _per_mod(
        joints=(40, 8), vision=(40, 8), touch=(10, 2), sound=(10, 2), motor=(40, 8)))
    activation: str = "relu"
    variance: str = "floor"
    likelihood: str = "per-modality-mean"
    init: str = "xavier-original"
    lr: float = 5e-5
    batch_size: int = 1000
    drop_last: bool = True

    def __post_init__(self) -> None:
        for name, d in (("enc_hidden", self.enc_hidden), ("dec_hidden", self.dec_hidden)):
            if set(d) != set(MODALITIES):
                raise LipboundError(f"VAEConfig.{name} needs widths for exactly {list(MODALITIES)}, got {list(d)}")
            depths = {len(v) for v in d.values()}
            if len(depths) != 1 or 0 in depths or any(int(w) < 1 for v in d.values() for w in v):
                raise LipboundError(f"VAEConfig.{name}: every modality needs the same number (>= 1) of positive widths, got {d}")
        if not self.enc_shared or not self.dec_shared or any(w < 1 for w in (*self.enc_shared, *self.dec_shared)):
            raise LipboundError(f"VAEConfig shared widths must be one or more positive integers: {self.enc_shared}, {self.dec_shared}")
        if self.dec_slices is not None:
            if set(self.dec_slices) != set(MODALITIES) or any(v < 1 for v in self.dec_slices.values()) \
                    or sum(self.dec_slices.values()) != self.dec_shared[-1]:
                raise LipboundError(f"VAEConfig.dec_slices must give each of {list(MODALITIES)} a positive number of "
                                    f"units summing to the last shared decoder width {self.dec_shared[-1]}, got {self.dec_slices}")
        for name, value, allowed in (("activation", self.activation, tuple(_ACTS)), ("variance", self.variance, VARIANCES),
                                     ("likelihood", self.likelihood, LIKELIHOODS), ("init", self.init, INITS)):
            if value not in allowed:
                raise LipboundError(f"unknown {name} {value!r}; choose from {', '.join(allowed)}")
        if self.latent < 1 or self.batch_size < 1 or not self.lr > 0:
            raise LipboundError(f"VAEConfig latent, batch_size and lr must be positive: {self}")

    def as_dict(self) -> dict:
        d = asdict(self)
        for k in ("enc_hidden", "dec_hidden"):
            d[k] = {m: list(v) for m, v in d[k].items()}
        d["enc_shared"], d["dec_shared"] = list(self.enc_shared), list(self.dec_shared)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> VAEConfig:
        d = dict(d)
        for k in ("enc_hidden", "dec_hidden"):
            d[k] = {m: tuple(v) for m, v in d[k].items()}
        d["enc_shared"], d["dec_shared"] = tuple(d["enc_shared"]), tuple(d["dec_shared"])
        return cls(**d)

    def layers(self) -> dict[str, tuple[int, int]]:
        """Every linear layer of the model, ``name -> (in, out)``, in forward order. Names:
        ``enc.<modality>.<k>``, ``enc_shared.<k>``, ``z_mean``, ``z_logvar``, ``dec_shared.<k>``,
        ``dec.<modality>.<k>``, ``out_mean.<modality>``, ``out_logvar.<modality>``."""
        out: dict[str, tuple[int, int]] = {}
        for m, s in MODALITIES.items():
            w = [s.stop - s.start, *self.enc_hidden[m]]
            out.update({f"enc.{m}.{k}": (a, b) for k, (a, b) in enumerate(zip(w[:-1], w[1:]))})
        w = [sum(v[-1] for v in self.enc_hidden.values()), *self.enc_shared]
        out.update({f"enc_shared.{k}": (a, b) for k, (a, b) in enumerate(zip(w[:-1], w[1:]))})
        out["z_mean"] = out["z_logvar"] = (self.enc_shared[-1], self.latent)
        w = [self.latent, *self.dec_shared]
        out.update({f"dec_shared.{k}": (a, b) for k, (a, b) in enumerate(zip(w[:-1], w[1:]))})
        for m, s in MODALITIES.items():
            w = [self.dec_shared[-1] if self.dec_slices is None else self.dec_slices[m], *self.dec_hidden[m]]
            out.update({f"dec.{m}.{k}": (a, b) for k, (a, b) in enumerate(zip(w[:-1], w[1:]))})
        for m, s in MODALITIES.items():
            out[f"out_mean.{m}"] = out[f"out_logvar.{m}"] = (self.dec_hidden[m][-1], s.stop - s.start)
        return out


#: the named model variants (module docstring; docs/mvae.md compares them item by item)
MODEL_VARIANTS: dict[str, VAEConfig] = {
    "original": VAEConfig(),
    "lipbound-v1": VAEConfig(
        enc_hidden=_per_mod(joints=(40, 20), vision=(40, 20), touch=(10, 5), sound=(10, 5), motor=(40, 20)),
        enc_shared=(100,), dec_shared=(100,), dec_slices=None,
        dec_hidden=_per_mod(joints=(20, 40), vision=(20, 40), touch=(5, 10), sound=(5, 10), motor=(20, 40)),
        activation="tanh", variance="squash", likelihood="sum", init="torch-default", lr=2e-3, batch_size=512,
        drop_last=False),
}


def variant(name: str, **changes) -> VAEConfig:
    """The :class:`VAEConfig` of the named variant, with ``changes`` applied (e.g. ``lr=1e-3``)."""
    if name not in MODEL_VARIANTS:
        raise LipboundError(f"unknown model variant {name!r}; choose from {', '.join(MODEL_VARIANTS)}")
    return replace(MODEL_VARIANTS[name], **changes)


def variant_of(config: VAEConfig) -> str | None:
    """The name of the variant whose architecture and loss ``config`` has (training settings aside), else None."""
    train = ("lr", "batch_size", "drop_last")
    key = {k: v for k, v in config.as_dict().items() if k not in train}
    for name, c in MODEL_VARIANTS.items():
        if {k: v for k, v in c.as_dict().items() if k not in train} == key:
            return name
    return None


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


def _logvar(cfg: VAEConfig, raw: torch.Tensor, output: bool) -> torch.Tensor:
    if cfg.variance == "floor":
        return torch.logaddexp(raw, torch.full_like(raw, math.log(VAR_FLOOR)))
    if output:
        return LOGVAR_MIN + (LOGVAR_MAX - LOGVAR_MIN) * torch.sigmoid(raw)
    return raw


Linear = Callable[[str, torch.Tensor], torch.Tensor]


def encode_with(cfg: VAEConfig, lin: Linear, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The encoder of ``cfg`` with its linear layers given by ``lin(name, h)`` (a model's own layers,
    or an ensemble's stacked ones): ``(z_mean, z_logvar)``."""
    act = _ACT_FNS[cfg.activation]
    hs = []
    for m, s in MODALITIES.items():
        h = x[..., s]
        for k in range(len(cfg.enc_hidden[m])):
            h = act(lin(f"enc.{m}.{k}", h))
        hs.append(h)
    h = torch.cat(hs, dim=-1)
    for k in range(len(cfg.enc_shared)):
        h = act(lin(f"enc_shared.{k}", h))
    return lin("z_mean", h), _logvar(cfg, lin("z_logvar", h), output=False)


def decode_with(cfg: VAEConfig, lin: Linear, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The decoder of ``cfg`` (see :func:`encode_with`): output means and log-variances, 28 columns in order."""
    act = _ACT_FNS[cfg.activation]
    h = z
    for k in range(len(cfg.dec_shared)):
        h = act(lin(f"dec_shared.{k}", h))
    means, logvars, start = [], [], 0
    for m in MODALITIES:
        if cfg.dec_slices is None:
            g = h
        else:
            g = h[..., start:start + cfg.dec_slices[m]]
            start += cfg.dec_slices[m]
        for k in range(len(cfg.dec_hidden[m])):
            g = act(lin(f"dec.{m}.{k}", g))
        means.append(lin(f"out_mean.{m}", g))
        logvars.append(_logvar(cfg, lin(f"out_logvar.{m}", g), output=True))
    return torch.cat(means, dim=-1), torch.cat(logvars, dim=-1)


def init_linear(cfg: VAEConfig, layer: nn.Linear) -> None:
    """Initialise ``layer`` as ``cfg.init`` says (in place; draws from torch's global generator)."""
    if cfg.init == "xavier-original":
        bound = math.sqrt(1.0 / (layer.in_features + layer.out_features))
        with torch.no_grad():
            layer.weight.uniform_(-bound, bound)
            layer.bias.zero_()


class MultimodalVAE(nn.Module):
    """Per-modality encoders -> shared layers -> Gaussian latent -> shared layers -> per-modality decoders.

    The linear layers live in ``self.linears`` under the names of :meth:`VAEConfig.layers`.

    >>> m = MultimodalVAE()
    >>> mu, logvar, zm, zl = m(torch.zeros(5, 28))
    >>> tuple(mu.shape), tuple(logvar.shape), tuple(zm.shape)
    ((5, 28), (5, 28), (5, 28))
    """

    def __init__(self, config: VAEConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or VAEConfig()
        self.names = list(MODALITIES)
        # nn.ModuleDict keys may not contain dots
        self.linears = nn.ModuleDict()
        for name, (a, b) in cfg.layers().items():
            layer = nn.Linear(a, b)
            init_linear(cfg, layer)
            self.linears[name.replace(".", "/")] = layer

    def linear(self, name: str, h: torch.Tensor) -> torch.Tensor:
        """Apply the linear layer ``name`` (a :meth:`VAEConfig.layers` name) to ``h``."""
        return self.linears[name.replace(".", "/")](h)

    def layer(self, name: str) -> nn.Linear:
        return self.linears[name.replace(".", "/")]

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of :math:`q(z \\mid x)` for inputs ``x`` of shape (N, 28)."""
        if x.shape[-1] != DIM:
            raise LipboundError(f"MultimodalVAE expects inputs of width {DIM}, got shape {tuple(x.shape)}")
        return encode_with(self.config, self.linear, x)

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance (each (N, 28), in column order) of the output distribution at ``z``."""
        return decode_with(self.config, self.linear, z)

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
        layers: list[nn.Module] = []
        for k in range(len(cfg.enc_hidden[self.names[0]])):
            layers += [_block_diag([self.layer(f"enc.{m}.{k}") for m in self.names]), act()]
        for k in range(len(cfg.enc_shared)):
            layers += [_copy(self.layer(f"enc_shared.{k}")), act()]
        layers.append(_copy(self.layer("z_mean")))
        return nn.Sequential(*layers).double()

    def decoder_mean_network(self) -> nn.Sequential:
        r"""The map :math:`z \mapsto \mu(z)` (output means, 28 columns in order) as one dense
        ``nn.Sequential`` (float64): the first per-modality layers block-diagonal on the slices (or
        stacked when every modality reads the whole shared layer), the later ones block-diagonal."""
        cfg = self.config
        act = _ACTS[cfg.activation]
        layers: list[nn.Module] = []
        for k in range(len(cfg.dec_shared)):
            layers += [_copy(self.layer(f"dec_shared.{k}")), act()]
        for k in range(len(cfg.dec_hidden[self.names[0]])):
            blocks = [self.layer(f"dec.{m}.{k}") for m in self.names]
            layers += [_stack(blocks) if k == 0 and cfg.dec_slices is None else _block_diag(blocks), act()]
        layers.append(_block_diag([self.layer(f"out_mean.{m}") for m in self.names]))
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
    r"""Per-dimension Gaussian negative log-likelihood :math:`\tfrac12(\log 2\pi + \log\sigma_d^2 + (y_d-\mu_d)^2/\sigma_d^2)`
    (same shape as ``y``)."""
    return 0.5 * (math.log(2 * math.pi) + logvar + (y - mean) ** 2 * torch.exp(-logvar))


def reconstruction_nll(cfg: VAEConfig, y: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    r"""Per-sample reconstruction term of ``cfg``'s loss (shape ``y.shape[:-1]``): the NLL summed over
    the 28 dimensions (``likelihood="sum"``) or each modality's NLL divided by its number of
    dimensions, summed over the modalities (``"per-modality-mean"``, the original's).

    >>> cfg = VAEConfig()
    >>> y = torch.zeros(1, 28)
    >>> round(float(reconstruction_nll(cfg, y, y, torch.zeros(1, 28))) / (0.5 * math.log(2 * math.pi)), 6)
    5.0
    """
    nll = gaussian_nll(y, mean, logvar)
    if cfg.likelihood == "sum":
        return nll.sum(-1)
    return sum(nll[..., s].mean(-1) for s in MODALITIES.values())


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
    nll = reconstruction_nll(model.config, y, mean, logvar).mean()
    kl = latent_kl(zm, zl).mean()
    return nll + beta * kl, nll, kl
