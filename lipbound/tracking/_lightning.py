"""The :class:`~lipbound.tracking.BracketCallback` as a Lightning callback (optional: needs the
``lightning`` package, ``pip install "lipbound[lightning]"``)."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import require
from ._callback import DEFAULT_BUDGET, DEFAULT_METHODS, BracketCallback


def lightning_callback(inputs, *, submodules: Sequence[str] | None = None, every: int = 100,
                       budget: float | None = DEFAULT_BUDGET, methods: Sequence[str] = DEFAULT_METHODS,
                       samples: int = 32, seed: int = 0):
    """A ``lightning.pytorch.Callback`` that runs a :class:`~lipbound.tracking.BracketCallback` on
    the trained ``LightningModule``: one step per training batch, :meth:`~BracketCallback.close`
    at the end of training; the rows are in its ``tracker.records``. Raises
    :class:`~lipbound.errors.MissingDependencyError` when ``lightning`` is not installed.

    Example (with lightning installed)::

        trainer = lightning.Trainer(callbacks=[lightning_callback(probe_batch, every=50)])
    """
    pl = require("lightning.pytorch", extra="lightning")

    class LightningBracketCallback(pl.Callback):
        """Tracks Lipschitz brackets of the trained module (see :class:`~lipbound.tracking.BracketCallback`)."""

        def __init__(self) -> None:
            self.tracker: BracketCallback | None = None

        def on_train_start(self, trainer, pl_module) -> None:
            self.tracker = BracketCallback(pl_module, inputs, submodules=submodules, every=every, budget=budget,
                                           methods=methods, samples=samples, seed=seed)

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            if self.tracker is not None:
                self.tracker.step()

        def on_train_end(self, trainer, pl_module) -> None:
            if self.tracker is not None:
                self.tracker.close()

    return LightningBracketCallback()
