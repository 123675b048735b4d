r"""The one training loop of lipbound's multimodal autoencoders, and the zoo's deterministic trainer.

:func:`train_epoch` is the epoch loop that both :func:`train` (the zoo, Adam on Eq. 2) and the
experiments harness (:func:`lipbound.experiments.train_run`, Adam on the per-modality MSE) run;
they differ only in the loss they pass.

**NaN/Inf rule.** Inside an epoch the loss is not read back to the host at every batch (on a GPU
that synchronisation would stall the device at every step): each batch's loss stays on the device,
and it is checked on the host every :data:`NAN_CHECK_EVERY` batches and after the last batch of the
epoch (one synchronisation each). When a check finds a non-finite loss, the epoch is *replayed*
from its start (the weights and optimiser state, kept on the device when the epoch begins) with a
check at every batch, so the diagnosis is the one a check at every batch gives: the first batch
whose loss is NaN/Inf, its inputs and per-part losses, the weights before that batch's update, the
last finite loss and the gradient norm of the last update. (On a GPU whose kernels are not
deterministic the replay may not meet the NaN again; the diagnosis then uses the first pass's
batch and says so.)
"""

from __future__ import annotations

import copy
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from ..errors import NonFiniteError, ShapeMismatchError
from ..models import MultimodalAutoencoder, check_finite_tensor

__all__ = ["NAN_CHECK_EVERY", "EpochSums", "NonFiniteBatch", "TrainResult", "train", "train_epoch"]

#: the host checks the losses for NaN/Inf every this many batches (and after an epoch's last batch)
NAN_CHECK_EVERY = 50

#: ``loss_fn(model, xs) -> (loss, parts)``: the scalar loss to minimise and the parts it is made of
#: (one per modality for the harness, ``[loss]`` for the zoo), all scalar tensors
LossFn = Callable[[torch.nn.Module, list[torch.Tensor]], tuple[torch.Tensor, Sequence[torch.Tensor]]]


@dataclass
class NonFiniteBatch:
    """What :func:`train_epoch` passes to its ``on_nonfinite`` callback: the first batch (0-based,
    in the epoch) whose loss is NaN/Inf. ``inputs`` is that batch; the model holds the weights
    before its update; ``last_finite`` is the loss of the previous batch (None if unknown) and
    ``grad_norm`` the gradient norm of the previous update (None if unknown); ``reproduced`` is
    False when the replay did not meet the NaN again (then ``parts`` and ``loss`` come from the
    first pass)."""

    epoch: int
    batch: int
    loss: float
    parts: list[float]
    inputs: list[torch.Tensor]
    last_finite: float | None
    grad_norm: float | None
    reproduced: bool = True


@dataclass
class EpochSums:
    """Per-epoch sums of :func:`train_epoch`, on the device (read them once, after the epoch).

    ``total``: :math:`\\sum_b \\mathrm{loss}_b\\,|B_b|` in the loss's dtype, accumulated batch by
    batch; ``parts``: the same for each part, in float64; ``n``: the number of samples."""

    total: torch.Tensor
    parts: torch.Tensor
    n: int


def _grad_norm(model: torch.nn.Module) -> torch.Tensor | None:
    """The Euclidean norm of all gradients (float64, on the device), None when there are none."""
    gs = [p.grad.detach() for p in model.parameters() if p.grad is not None]
    if not gs:
        return None
    return torch.stack([g.double().pow(2).sum() for g in gs]).sum().sqrt()


def _step(model: torch.nn.Module, opt: torch.optim.Optimizer, loss: torch.Tensor, *, grad_norm: bool = False):
    """One update: gradients of ``loss`` (plus the fusion's ``regularization_loss()``, if it has
    one: the attention fusions' L2 term, Section 4.5.2), then ``opt.step()``; returns the gradient
    norm (as a float) when ``grad_norm``."""
    opt.zero_grad(set_to_none=True)
    reg = getattr(getattr(model, "fusion", None), "regularization_loss", None)
    (loss + reg() if reg is not None else loss).backward()
    gn = None
    if grad_norm:
        g = _grad_norm(model)
        gn = None if g is None else float(g)
    opt.step()
    return gn


def _as_float(t: torch.Tensor | None) -> float | None:
    return None if t is None else float(t)


def train_epoch(model: torch.nn.Module, opt: torch.optim.Optimizer, data: Sequence[torch.Tensor],
                perm: torch.Tensor, *, batch_size: int, loss_fn: LossFn, epoch: int,
                on_nonfinite: Callable[[NonFiniteBatch], None], carry: dict | None = None,
                check_every: int = NAN_CHECK_EVERY) -> EpochSums:
    """One epoch of minibatch training: batch ``b`` is the samples ``perm[b*batch_size:(b+1)*batch_size]``
    of every tensor of ``data``; each step minimises ``loss_fn(model, batch)[0]`` (plus the
    fusion's ``regularization_loss()``) with ``opt``.

    Losses stay on the device; NaN/Inf is checked as the module docstring states (every
    ``check_every`` batches and at the end, then a replay pins the batch) and ``on_nonfinite`` is
    called with the :class:`NonFiniteBatch`; it must raise (if it returns, :class:`NonFiniteError`
    is raised). ``carry`` (a dict, updated in place) carries the last loss and the last gradient
    norm from one epoch to the next, for the diagnosis of an epoch's first batch.
    """
    carry = {} if carry is None else carry
    n = int(perm.numel())
    starts = list(range(0, n, batch_size))
    dev = perm.device
    # the state the epoch starts from, kept on the device for a replay (weights, optimiser)
    snap = ({k: v.detach().clone() for k, v in model.state_dict().items()}, copy.deepcopy(opt.state_dict()))
    losses = torch.empty(len(starts), dtype=torch.float64, device=dev)
    part_rows: list[torch.Tensor] = []
    total = None
    parts_sum = None
    checked = 0
    for b, lo in enumerate(starts):
        idx = perm[lo: lo + batch_size]
        xs = [x.index_select(0, idx) for x in data]
        loss, parts = loss_fn(model, xs)
        _step(model, opt, loss)
        d = loss.detach()
        stacked = torch.stack([p.detach().double() for p in parts])
        losses[b] = d
        part_rows.append(stacked)
        if total is None:
            total = torch.zeros((), dtype=d.dtype, device=d.device)
            parts_sum = torch.zeros_like(stacked)
        total += d * idx.numel()
        parts_sum += stacked * idx.numel()
        if (b + 1) % check_every == 0 or b == len(starts) - 1:
            seg = losses[checked: b + 1]
            if not bool(torch.isfinite(seg).all()):
                bad = checked + int((~torch.isfinite(seg)).nonzero()[0, 0])
                first = NonFiniteBatch(epoch, bad, float(losses[bad]), [float(v) for v in part_rows[bad]],
                                       [x.index_select(0, perm[bad * batch_size: (bad + 1) * batch_size]) for x in data],
                                       _as_float(losses[bad - 1]) if bad else _as_float(carry.get("last_loss")),
                                       None, reproduced=False)
                _replay(model, opt, data, perm, starts, batch_size, loss_fn, epoch, snap, carry, first, on_nonfinite)
                raise NonFiniteError(f"the loss became {first.loss} in epoch {epoch} (batch {bad})")
            checked = b + 1
    carry["last_loss"] = losses[-1]
    carry["grad_norm"] = _grad_norm(model)
    return EpochSums(total, parts_sum, n)


def _replay(model, opt, data, perm, starts, batch_size, loss_fn, epoch, snap, carry, first: NonFiniteBatch,
            on_nonfinite) -> None:
    """Rerun the epoch from its start with a check at every batch, up to the first non-finite loss
    (or past the first pass's batch: then report that one, ``reproduced=False``)."""
    model.load_state_dict(snap[0])
    opt.load_state_dict(snap[1])
    last = _as_float(carry.get("last_loss"))
    gn = _as_float(carry.get("grad_norm"))
    for b, lo in enumerate(starts):
        idx = perm[lo: lo + batch_size]
        xs = [x.index_select(0, idx) for x in data]
        loss, parts = loss_fn(model, xs)
        value = float(loss.detach())
        if not math.isfinite(value):
            on_nonfinite(NonFiniteBatch(epoch, b, value, [float(p.detach()) for p in parts], xs, last, gn))
            return
        if b >= first.batch:
            break
        gn = _step(model, opt, loss, grad_norm=True)
        last = value
    first.grad_norm = gn
    on_nonfinite(first)


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` reports.

    Attributes:
        losses: the mean training loss of each epoch (the per-batch losses of Eq. 2, weighted by
            batch size, i.e. the mean per-sample loss seen during that epoch).
        seconds: wall-clock seconds the training took.
        final_loss: the loss (Eq. 2, mean over samples) of the trained model on the whole
            training set, evaluated after the last epoch.
        initial_loss: the same loss before the first update.
        epochs: number of epochs run.
        device: the device trained on.
    """

    losses: list[float] = field(repr=False)
    seconds: float
    final_loss: float
    initial_loss: float
    epochs: int
    device: str


def _check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _eq2_loss(model, xs):
    loss = model.loss(xs)
    return loss, [loss]


@torch.no_grad()
def _full_loss(model: MultimodalAutoencoder, data: Sequence[torch.Tensor], batch_size: int) -> float:
    n = data[0].shape[0]
    total = 0.0
    for start in range(0, n, batch_size):
        batch = [x[start : start + batch_size] for x in data]
        total += float(model.loss(batch, reduction="sum"))
    return total / n


def train(
    model: MultimodalAutoencoder,
    data: Sequence[torch.Tensor],
    *,
    epochs: int,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    device: str | torch.device = "cpu",
    progress: bool = False,
) -> TrainResult:
    r"""Train ``model`` in place with Adam on the paper's loss (Eq. 2).

    Each step minimises :meth:`MultimodalAutoencoder.loss` on a minibatch,

    .. math::

        L = \frac{1}{|B|} \sum_{t \in B} \sum_{j=1}^{M} \lVert x_j^{(t)} - D_j(z^{(t)}) \rVert_2^2,

    with the samples reshuffled every epoch by a :class:`torch.Generator` seeded with ``seed``.
    If the model's fusion has a ``regularization_loss()`` method (the attention fusions, Section
    4.5.2), the step minimises :math:`L + \lambda \sum_i \lVert W_i \rVert_F^2` instead: that term is
    added to each minibatch loss before the backward pass. The reported losses
    (:class:`TrainResult`) stay the reconstruction loss of Eq. 2 alone; with :math:`\lambda = 0` the
    term is a constant zero and training is unchanged.
    The model is moved to ``device`` (and stays there); the data are copied to the device and cast
    to the model's floating dtype. Weight initialisation is the caller's business (seed torch
    before building the model, as :func:`lipbound.zoo.build` does): given the same initial weights,
    data and arguments, training on CPU gives bitwise identical weights. The epoch loop is
    :func:`train_epoch`, the one the experiments harness runs too (NaN/Inf rule in the module
    docstring).

    Args:
        model: the autoencoder to train; its parameters are updated in place.
        data: M tensors, one per modality, sharing the sample dimension 0.
        epochs: number of passes over the data (at least 1).
        batch_size: minibatch size; the last batch of an epoch may be smaller.
        lr: Adam learning rate.
        seed: seed of the shuffling generator.
        device: where to train (``"cpu"``, ``"cuda"``, ...).
        progress: print one line per epoch to standard error.

    Returns:
        A :class:`TrainResult`.

    Raises:
        NonFiniteError: non-finite training data, or a loss that becomes NaN or Inf (the message
            names the epoch and batch; lower ``lr`` or check the data).
        ShapeMismatchError: the number of tensors is not the model's M, or they disagree on the
            number of samples.
        ValueError: a non-positive ``epochs``, ``batch_size`` or ``lr``.

    >>> from lipbound.models import MLPDecoder, MLPEncoder
    >>> from lipbound.zoo import make_multimodal_data
    >>> _ = torch.manual_seed(0)
    >>> model = MultimodalAutoencoder(
    ...     [MLPEncoder(2, 2, hidden=(8,)), MLPEncoder(3, 2, hidden=(8,))], "sum",
    ...     [MLPDecoder(2, 2, hidden=(8,)), MLPDecoder(2, 3, hidden=(8,))])
    >>> result = train(model, make_multimodal_data(128, (2, 3)), epochs=20, lr=1e-2)
    >>> len(result.losses), result.final_loss < result.initial_loss
    (20, True)
    """
    epochs = _check_positive_int(epochs, "epochs")
    batch_size = _check_positive_int(batch_size, "batch_size")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite positive number, got {lr!r}")
    data = list(data)
    if len(data) != model.num_modalities:
        raise ShapeMismatchError(
            f"train: the model has M = {model.num_modalities} modalities but {len(data)} data tensors were given"
        )
    sizes = [int(x.shape[0]) if x.ndim else 0 for x in data]
    if len(set(sizes)) != 1 or sizes[0] < 1:
        raise ShapeMismatchError(
            f"train: every modality needs the same positive number of samples (dimension 0), got {sizes}"
        )
    for i, x in enumerate(data):
        check_finite_tensor(x, name=f"training data of modality {i}")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("train: device 'cuda' was asked for, but torch.cuda.is_available() is False")
    model.to(device)
    dtype = next(model.parameters()).dtype
    data = [x.to(device=device, dtype=dtype) for x in data]
    n = sizes[0]

    gen = torch.Generator(device="cpu")
    gen.manual_seed(int(seed))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    was_training = model.training
    model.eval()
    initial = _full_loss(model, data, max(batch_size, 1024))
    model.train()
    losses: list[float] = []
    carry: dict = {}

    def diverged(bad: NonFiniteBatch) -> None:
        raise NonFiniteError(
            f"train: the loss became {bad.loss} in epoch {bad.epoch} of {epochs} (batch {bad.batch}); "
            f"lower the learning rate (lr={lr}) or check the data and the initial weights"
        )

    start = time.perf_counter()
    try:
        for epoch in range(1, epochs + 1):
            perm = torch.randperm(n, generator=gen).to(device)
            sums = train_epoch(model, opt, data, perm, batch_size=batch_size, loss_fn=_eq2_loss, epoch=epoch,
                               on_nonfinite=diverged, carry=carry)
            losses.append(float(sums.total) / n)
            if progress:
                print(f"epoch {epoch}/{epochs}: loss {losses[-1]:.6g}", file=sys.stderr)
        model.eval()
        final = _full_loss(model, data, max(batch_size, 1024))
        if not math.isfinite(final):
            raise NonFiniteError(
                f"train: the loss of the trained model is {final} after epoch {epochs}; lower the learning rate"
            )
    finally:
        model.train(was_training)
    seconds = time.perf_counter() - start
    return TrainResult(
        losses=losses, seconds=seconds, final_loss=final, initial_loss=initial, epochs=epochs, device=str(device)
    )
