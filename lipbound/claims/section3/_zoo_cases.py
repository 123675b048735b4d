"""Cases that run a reading on the trained models of :mod:`lipbound.zoo` (trained on first use, cached)."""

from __future__ import annotations

import os
from typing import Any

#: inputs drawn per trained model
INPUTS_PER_MODEL = 2


def zoo_cases(fusion: str | None = None, kind: str | None = "mlp") -> list[dict[str, Any]]:
    """One case per (trained zoo model, input seed), optionally only models with ``fusion``.

    Set ``LIPBOUND_NO_ZOO=1`` to skip trained models (generated cases only).
    """
    if os.environ.get("LIPBOUND_NO_ZOO"):
        return []
    from ...zoo import ZOO

    cases = []
    for name, spec in ZOO.items():
        if fusion is not None and spec.fusion != fusion:
            continue
        if kind is not None and spec.kind != kind:
            continue
        for s in range(INPUTS_PER_MODEL):
            cases.append({"zoo": name, "fusion": spec.fusion, "input_seed": 1000 + s})
    return cases
