r"""A small, deterministic trainer for :class:`~lipbound.models.MultimodalAutoencoder` (Adam on Eq. 2)."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from ..errors import NonFiniteError, ShapeMismatchError
from ..models import MultimodalAutoencoder, check_finite_tensor

__all__ = ["TrainResult", "train"]


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
    data and arguments, training on CPU gives bitwise identical weights.

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
    start = time.perf_counter()
    try:
        for epoch in range(1, epochs + 1):
            perm = torch.randperm(n, generator=gen).to(device)
            total = torch.zeros((), dtype=dtype, device=device)
            for b, lo in enumerate(range(0, n, batch_size)):
                idx = perm[lo : lo + batch_size]
                batch = [x.index_select(0, idx) for x in data]
                loss = model.loss(batch)
                if not bool(torch.isfinite(loss)):
                    raise NonFiniteError(
                        f"train: the loss became {float(loss.detach())} in epoch {epoch} of {epochs} (batch {b}); "
                        f"lower the learning rate (lr={lr}) or check the data and the initial weights"
                    )
                opt.zero_grad(set_to_none=True)
                reg = getattr(model.fusion, "regularization_loss", None)
                (loss + reg() if reg is not None else loss).backward()
                opt.step()
                total += loss.detach() * idx.numel()
            losses.append(float(total) / n)
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
