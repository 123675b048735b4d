r"""A training callback that records Lipschitz brackets of chosen submodules every N steps within
an overhead budget (plain PyTorch loops; Lightning in :mod:`lipbound.tracking._lightning`).

The schedule is the experiments harness's
(:func:`lipbound.experiments._tracking.within_budget`): a tracking due at step :math:`n` runs only
if :math:`t_\text{track} + c \le b\, t_\text{train}` (tracking seconds so far, the cost of one
tracking, the budget fraction and the training seconds so far); otherwise it is deferred to the
first later step where it fits. Brackets come from the engine (:func:`lipbound.bounds.bracket`:
certified upper bounds, lower bounds evaluated on the submodule itself), or for a
:class:`~lipbound.models.MultimodalAutoencoder` from the harness's
:func:`~lipbound.experiments._tracking.track`.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from ..errors import LipboundError

#: the cheap methods tracked by default: a certified upper and a sound lower bound
DEFAULT_METHODS = ("spectral-product", "power-iteration")
#: the default budget: the harness's (at most 15% of the training time)
DEFAULT_BUDGET = 0.15


def _capture(model: nn.Module, names: Sequence[str], inputs) -> dict[str, torch.Tensor]:
    """The input of each named submodule of ``model`` when ``model`` runs on ``inputs`` (forward
    pre-hooks on ``model``, removed before returning)."""
    seen: dict[str, Any] = {}
    handles = []
    for name in names:
        sub = model.get_submodule(name)

        def hook(_m, args, _name=name):
            seen.setdefault(_name, args[0] if len(args) == 1 else args)

        handles.append(sub.register_forward_pre_hook(hook))
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        for h in handles:
            h.remove()
    return seen


class BracketCallback:
    r"""Record the Lipschitz bracket of chosen submodules of ``model`` during training.

    Call :meth:`step` once per optimisation step (``cb.step()``; ``cb()`` is the same). Every
    ``every`` steps a tracking is *due*; it runs when it fits the ``budget``, the fraction of the
    training time (wall time between calls, tracking excluded) that tracking may take:

    .. math::

        t_\text{track} + c \le \text{budget} \cdot t_\text{train},

    with :math:`c` the last tracking's cost (before the first: two steps' worth), the harness's
    automatic schedule (:func:`~lipbound.experiments._tracking.within_budget`). A due tracking
    that does not fit is deferred, never dropped silently (:attr:`deferred` counts the steps).
    Only the first tracking can overshoot (its cost is unknown until measured); every later one
    keeps :math:`t_\text{track} \le \text{budget} \cdot t_\text{train}`.
    ``every=0`` tracks whenever the budget allows; ``budget=None`` tracks every ``every`` steps
    whatever it costs. :meth:`close` tracks once more at the end of training if nothing was
    tracked yet (as the harness does at the last epoch).

    A tracking copies the model to the CPU in float64 (the training model is left alone), runs
    the copy on ``inputs`` (a probe batch: what ``model(inputs)`` takes) to get each submodule's
    inputs, and records one row per method and submodule
    ``{"step", "submodule", "method", "kind", "value", "seconds", "solver", "status"}`` in
    :attr:`records` (``methods``: cheap by default, the spectral product and power iteration).
    ``submodules`` are names of :meth:`~torch.nn.Module.get_submodule` (``""``: the whole model;
    default). A submodule lipbound refuses gets a row of kind ``"refused"`` with the reason. A
    :class:`~lipbound.models.MultimodalAutoencoder` submodule is tracked by the harness's
    :func:`~lipbound.experiments._tracking.track` (every encoder, decoder, the fusion and the
    whole map; ``inputs`` one tensor per modality). ``clock`` (seconds) is replaceable for tests.

    >>> torch.manual_seed(0) and None
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> ticks = iter(range(1000))
    >>> cb = BracketCallback(net, torch.randn(16, 4), submodules=["", "0"], every=5, budget=None,
    ...                      clock=lambda: float(next(ticks)))
    >>> for _ in range(10):
    ...     _ = cb.step()
    >>> sorted({(r["step"], r["submodule"], r["kind"]) for r in cb.records})
    [(5, '', 'certified-upper'), (5, '', 'lower'), (5, '0', 'certified-upper'), (5, '0', 'lower'), (10, '', 'certified-upper'), (10, '', 'lower'), (10, '0', 'certified-upper'), (10, '0', 'lower')]
    """

    def __init__(self, model: nn.Module, inputs, *, submodules: Sequence[str] | None = None, every: int = 100,
                 budget: float | None = DEFAULT_BUDGET, methods: Sequence[str] = DEFAULT_METHODS,
                 samples: int = 32, seed: int = 0, clock: Callable[[], float] = time.perf_counter,
                 on_record: Callable[[list[dict]], None] | None = None) -> None:
        from ..bounds import METHODS

        if every < 0:
            raise ValueError(f"every must be >= 0 (0: whenever the budget allows), got {every}")
        if budget is not None and not budget > 0:
            raise ValueError(f"budget must be a positive fraction of the training time (or None), got {budget}")
        if every == 0 and budget is None:
            raise ValueError("every=0 tracks whenever the budget allows: give a budget")
        unknown = [m for m in methods if m not in METHODS]
        if unknown:
            raise ValueError(f"unknown method(s) {unknown}; choose from {list(METHODS)}")
        self.model, self.inputs = model, inputs
        self.submodules = [""] if submodules is None else list(submodules)
        for name in self.submodules:
            model.get_submodule(name)  # raises AttributeError naming a wrong name, before training
        self.every, self.budget, self.methods = int(every), budget, tuple(methods)
        self.samples, self.seed, self.clock, self.on_record = int(samples), int(seed), clock, on_record
        self.records: list[dict] = []
        self.steps = 0
        self.deferred = 0
        self.trackings = 0
        self.sched = {"train_s": 0.0, "track_s": 0.0, "last_track_s": 0.0}
        self._pending = False
        self._mark = clock()

    # ------------------------------------------------------------------------------ schedule
    def due(self) -> bool:
        """Whether the step just counted should be tracked (updates the pending/deferred state)."""
        from ..experiments._tracking import within_budget

        if self.every > 0 and self.steps % self.every == 0:
            self._pending = True
        if self.every > 0 and not self._pending:
            return False
        if self.budget is None or within_budget(self.sched, self.steps, self.budget):
            self._pending = False
            return True
        if self._pending:
            self.deferred += 1
        return False

    def step(self, step: int | None = None) -> list[dict] | None:
        """Count one training step (``step``: its number, default the count of calls) and track if
        due and within budget; returns the new rows, or None."""
        now = self.clock()
        self.sched["train_s"] += max(0.0, now - self._mark)
        self.steps = self.steps + 1 if step is None else int(step)
        rows = self.track() if self.due() else None
        self._mark = self.clock()
        return rows

    __call__ = step

    def close(self) -> list[dict] | None:
        """End of training: track once if nothing was tracked yet; returns the new rows, or None."""
        now = self.clock()
        self.sched["train_s"] += max(0.0, now - self._mark)
        rows = self.track() if self.trackings == 0 else None
        self._mark = self.clock()
        return rows

    @property
    def overhead(self) -> float:
        """Tracking seconds over training seconds so far (the quantity the budget bounds)."""
        return self.sched["track_s"] / self.sched["train_s"] if self.sched["train_s"] > 0 else 0.0

    # ------------------------------------------------------------------------------ tracking
    def track(self) -> list[dict]:
        """Track now (whatever the schedule): record and return one row per method and submodule."""
        t0 = self.clock()
        rows = self._rows()
        cost = max(0.0, self.clock() - t0)
        self.sched["last_track_s"] = cost
        self.sched["track_s"] += cost
        self.trackings += 1
        self.records += rows
        if self.on_record is not None:
            self.on_record(rows)
        return rows

    def _rows(self) -> list[dict]:
        from ..bounds import bracket
        from ..models import MultimodalAutoencoder

        was_training = self.model.training
        try:
            m = copy.deepcopy(self.model).to(device="cpu", dtype=torch.float64).eval()
        finally:
            self.model.train(was_training)
        x = self.inputs
        x = [t.detach().to("cpu", torch.float64) for t in x] if isinstance(x, (list, tuple)) else \
            x.detach().to("cpu", torch.float64)
        seen = _capture(m, [n for n in self.submodules if n], x)
        seen[""] = x
        rows = []
        base = {"step": self.steps}
        for name in self.submodules:
            sub = m.get_submodule(name)
            xin = seen.get(name)
            if isinstance(sub, MultimodalAutoencoder):
                from ..experiments._tracking import track

                xs = list(xin) if isinstance(xin, (list, tuple)) else None
                if xs is None:
                    rows.append({**base, "submodule": name, "kind": "refused", "value": None,
                                 "reason": "a MultimodalAutoencoder is tracked on one input tensor per modality"})
                    continue
                names = [f"m{i}" for i in range(len(xs))]
                for r in track(sub, [t[: self.samples] for t in xs], modality_names=names, seed=self.seed):
                    rows.append({**base, **r, "submodule": f"{name}/{r['submodule']}" if name else r["submodule"]})
                continue
            if not isinstance(xin, torch.Tensor):
                rows.append({**base, "submodule": name, "kind": "refused", "value": None,
                             "reason": "its input is not one tensor" if xin is not None else
                             "it did not run on the probe inputs"})
                continue
            try:
                br = bracket(sub, input_shape=tuple(xin.shape[1:]), inputs=xin[: self.samples],
                             methods=list(self.methods), seed=self.seed)
            except LipboundError as exc:
                rows.append({**base, "submodule": name, "kind": "refused", "value": None,
                             "reason": f"{type(exc).__name__}: {exc}"})
                continue
            for r in br.results:
                rows.append({**base, "submodule": name, "method": r.method, "kind": r.kind, "value": r.value,
                             "seconds": r.seconds, "solver": r.solver, "status": r.status})
        return rows
