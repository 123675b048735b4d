"""Cases that run a reading on trained models of :mod:`lipbound.zoo` (trained on first use, cached).

Which trained models the claims use is chosen explicitly, by :func:`use_zoo` (``lipbound verify
--zoo small|paper|none``), never through the environment:

* ``small`` (default): :data:`lipbound.zoo.ZOO`, small models trained on the CPU in seconds;
* ``paper``: :data:`lipbound.zoo.ZOO_GPU`, the paper-size models (Section 5.3 widths), trained on
  CUDA when it is available, else on the CPU (``verify`` prints an estimate first);
* ``none``: no trained models; the generated cases alone decide.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

#: inputs drawn per trained model
INPUTS_PER_MODEL = 2
#: the zoo selections of :func:`use_zoo`
ZOO_CHOICES = ("small", "paper", "none")

_choice: list[str] = []


@contextmanager
def use_zoo(which: str) -> Iterator[None]:
    """Check the claims on the trained models of ``which`` (:data:`ZOO_CHOICES`) inside the block."""
    if which not in ZOO_CHOICES:
        from ...errors import LipboundError

        raise LipboundError(f"unknown zoo {which!r}; choose one of {', '.join(ZOO_CHOICES)}")
    _choice.append(which)
    try:
        yield
    finally:
        _choice.pop()


def zoo_choice() -> str:
    """The selection in force (``small`` outside any :func:`use_zoo` block)."""
    return _choice[-1] if _choice else "small"


def zoo_table() -> dict:
    """name -> :class:`~lipbound.zoo.ZooSpec` of the selected zoo (empty for ``none``)."""
    from ...zoo import ZOO, ZOO_GPU

    return {"small": ZOO, "paper": ZOO_GPU, "none": {}}[zoo_choice()]


def zoo_device(spec) -> str:
    """Where a zoo model is trained: its spec's device, except that a CUDA spec trains on the CPU
    when this machine has no GPU (the paper-size zoo on a CPU)."""
    import torch

    return spec.device if spec.device != "cuda" or torch.cuda.is_available() else "cpu"


def zoo_cases(fusion: str | None = None, kind: str | None = "mlp") -> list[dict[str, Any]]:
    """One case per (trained model of the selected zoo, input seed), optionally only models with
    ``fusion`` or of ``kind``; each case names the model and the device it is trained on."""
    cases = []
    for name, spec in zoo_table().items():
        if fusion is not None and spec.fusion != fusion:
            continue
        if kind is not None and spec.kind != kind:
            continue
        for s in range(INPUTS_PER_MODEL):
            cases.append({"zoo": name, "fusion": spec.fusion, "input_seed": 1000 + s, "device": zoo_device(spec)})
    return cases


def estimate_training_seconds(spec, device: str, batches: int = 3) -> float:
    """Seconds :func:`lipbound.zoo.load` will take to train ``spec`` on ``device``: the time of
    ``batches`` timed training steps (after one warm-up step) times the steps of the whole training
    (``epochs x ceil(n_samples / batch_size)``). An estimate from a measurement, said as such."""
    import math
    import time

    import torch

    from ...zoo import build, spec_data

    model = build(spec).to(device)
    data = [x[: spec.batch_size].to(device) for x in spec_data(spec, n_samples=spec.batch_size)]
    opt = torch.optim.Adam(model.parameters(), lr=spec.lr)

    def step():
        opt.zero_grad(set_to_none=True)
        model.loss(data).backward()
        opt.step()

    step()
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(batches):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    per_step = (time.perf_counter() - t0) / batches
    return per_step * spec.epochs * math.ceil(spec.n_samples / spec.batch_size)


def prepare_zoo(say) -> None:
    """Train, before any claim is checked, the models of the selected zoo that are not cached yet,
    each after an up-front estimate (``say(line)``) and with one progress line per epoch on standard
    error (:func:`lipbound.zoo.load` with ``progress``). Only the paper-size zoo needs this: the small
    zoo trains in seconds when first used."""
    from ...zoo import cache_path, load

    if zoo_choice() != "paper":
        return
    todo = []
    for name, spec in zoo_table().items():
        dev = zoo_device(spec)
        pt = cache_path(replace(spec, device=dev))  # load(device=dev) caches under this spec
        if not (pt.is_file() and pt.with_suffix(".json").is_file()):
            todo.append((name, spec, dev))
    if not todo:
        return
    where = {d for _, _, d in todo}
    say(f"the paper-size zoo: {len(todo)} model(s) to train on {', '.join(sorted(where))} "
        f"({'no CUDA on this machine' if 'cpu' in where else 'CUDA'}); estimating from timed training steps")
    ests = [(name, spec, dev, estimate_training_seconds(spec, dev)) for name, spec, dev in todo]
    total = sum(e for *_, e in ests)
    say(f"estimated training time: about {total / 60:.1f} min in all (" +
        ", ".join(f"{n} {e / 60:.1f} min" for n, _, _, e in ests) + "); the weights are cached afterwards")
    for name, spec, dev, est in ests:
        say(f"training {name} on {dev} ({spec.epochs} epochs of {spec.n_samples} samples; about {est / 60:.1f} min)")
        load(replace(spec, device=dev), progress=True)
