"""Cases that run a reading on trained models of :mod:`lipbound.zoo` (trained on first use, cached).

Which trained models the claims use is chosen explicitly, by the run's
:class:`~lipbound.claims.Fixtures` (``Fixtures.zoo``; ``lipbound verify --zoo small|paper|none``),
which the runner passes to every evaluator's ``fixed_cases``; never through the environment:

* ``small`` (default): :data:`lipbound.zoo.ZOO`, small models trained on the CPU in seconds;
* ``paper``: :data:`lipbound.zoo.ZOO_GPU`, the paper-size models (Section 5.3 widths), trained on
  CUDA when it is available, else on the CPU (``verify`` prints an estimate first);
* ``none``: no trained models; the generated cases alone decide.

Each case names its model (``"zoo"``, looked up by :func:`lipbound.zoo.get_spec` in either zoo), so
that evaluating it needs nothing but the case.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .._fixtures import ZOO_CHOICES, Fixtures

#: inputs drawn per trained model
INPUTS_PER_MODEL = 2

__all__ = ["INPUTS_PER_MODEL", "ZOO_CHOICES", "estimate_training_seconds", "prepare_zoo", "zoo_cases", "zoo_device",
           "zoo_table"]


def zoo_table(zoo: str) -> dict:
    """name -> :class:`~lipbound.zoo.ZooSpec` of the zoo ``zoo`` (:data:`ZOO_CHOICES`; empty for ``none``)."""
    from ...zoo import ZOO, ZOO_GPU

    return {"small": ZOO, "paper": ZOO_GPU, "none": {}}[Fixtures(zoo=zoo).zoo]


def zoo_device(spec) -> str:
    """Where a zoo model is trained: its spec's device, except that a CUDA spec trains on the CPU
    when this machine has no GPU (the paper-size zoo on a CPU)."""
    import torch

    return spec.device if spec.device != "cuda" or torch.cuda.is_available() else "cpu"


def zoo_cases(fixtures: Fixtures, fusion: str | None = None, kind: str | None = "mlp") -> list[dict[str, Any]]:
    """One case per (trained model of the zoo ``fixtures.zoo``, input seed), optionally only models
    with ``fusion`` or of ``kind``; each case names the model and the device it is trained on.

    >>> zoo_cases(Fixtures(zoo="none"))
    []
    >>> sorted(zoo_cases(Fixtures(), "sum")[0])
    ['device', 'fusion', 'input_seed', 'zoo']
    """
    cases = []
    for name, spec in zoo_table(fixtures.zoo).items():
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


def prepare_zoo(zoo: str, say) -> None:
    """Train, before any claim is checked, the models of the zoo ``zoo`` that are not cached yet,
    each after an up-front estimate (``say(line)``) and with one progress line per epoch on standard
    error (:func:`lipbound.zoo.load` with ``progress``). Only the paper-size zoo needs this: the small
    zoo trains in seconds when first used."""
    from ...zoo import cache_path, load

    if zoo != "paper":
        return
    todo = []
    for name, spec in zoo_table(zoo).items():
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
