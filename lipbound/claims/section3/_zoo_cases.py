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
