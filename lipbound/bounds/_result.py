"""Result records: one :class:`BoundResult` per method, collected in a :class:`Bracket`."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("certified-upper", "certified-local-upper", "lower", "heuristic")


class SoundnessError(AssertionError):
    """A lower bound above a certified upper bound: a bug in lipbound, never a user error."""


@dataclass
class BoundResult:
    """One bound on the Lipschitz constant (Euclidean norms on input and output).

    Attributes:
        method: ``"spectral-product"``, ``"lipsdp-neuron"``, ``"lipsdp-layer"``,
            ``"lipsdp-decomposed"``, ``"power-iteration"``, ``"pgd"`` or ``"paper-estimator"``.
        kind: ``"certified-upper"`` (never below the true constant, rounding included),
            ``"certified-local-upper"`` (never below the constant of the model restricted to the
            domain in ``details["domain"]``), ``"lower"`` (attained by an actual evaluation, never
            above it; ``details["on_domain"]`` when the evaluation point lies in the domain) or
            ``"heuristic"`` (neither).
        value: the number.
        seconds: wall time of the computation.
        solver: the solver that produced it (``"none"`` when no solver is involved).
        status: what happened, including solver status and any fallback.
        details: method-specific extras (tolerances, inflation, per-layer norms, ...), JSON-able.
    """

    method: str
    kind: str
    value: float
    seconds: float
    solver: str = "none"
    status: str = "ok"
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        self.value = float(self.value)
        if math.isnan(self.value):
            raise ValueError(f"{self.method}: bound value is NaN")

    def as_row(self) -> dict[str, Any]:
        """A JSON-able dict of all fields."""
        return _jsonable(asdict(self))


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else str(obj)
    if isinstance(obj, (int, str, bool)) or obj is None:
        return obj
    try:
        return float(obj)
    except (TypeError, ValueError):
        return str(obj)


@dataclass
class Bracket:
    """The results of :func:`~lipbound.bounds.bracket`: bounds on both sides of the true constant.

    >>> b = Bracket([BoundResult("spectral-product", "certified-upper", 2.0, 0.0),
    ...              BoundResult("power-iteration", "lower", 1.5, 0.0)])
    >>> b.best_lower, b.best_upper
    (1.5, 2.0)
    >>> Bracket([BoundResult("x", "certified-upper", 1.0, 0.0), BoundResult("y", "lower", 2.0, 0.0)])
    Traceback (most recent call last):
    ...
    lipbound.bounds._result.SoundnessError: soundness bug: lower bound 2.0 (y) exceeds certified upper bound 1.0 (x); please report it with the model
    """

    results: list[BoundResult]

    def __post_init__(self) -> None:
        self.check()

    @property
    def best_upper(self) -> float:
        """Smallest certified upper bound (``inf`` if none was computed)."""
        ups = [r.value for r in self.results if r.kind == "certified-upper"]
        return min(ups) if ups else math.inf

    @property
    def best_lower(self) -> float:
        """Largest lower bound (0 if none was computed: 0 is always a lower bound)."""
        los = [r.value for r in self.results if r.kind == "lower"]
        return max(los) if los else 0.0

    @property
    def best_local_upper(self) -> float:
        """Smallest bound that holds on the domain: certified local or global (``inf`` if none)."""
        ups = [r.value for r in self.results if r.kind in ("certified-upper", "certified-local-upper")]
        return min(ups) if ups else math.inf

    def check(self) -> None:
        """Raise :class:`SoundnessError` if a lower bound exceeds a certified upper bound, or a lower
        bound found on the domain exceeds a certified local one."""
        ups = [r for r in self.results if r.kind == "certified-upper"]
        local = [r for r in self.results if r.kind == "certified-local-upper"]
        los = [r for r in self.results if r.kind == "lower"]
        for uppers, lowers in ((ups, los), (local, [r for r in los if r.details.get("on_domain")])):
            if uppers and lowers:
                u = min(uppers, key=lambda r: r.value)
                lo = max(lowers, key=lambda r: r.value)
                if lo.value > u.value:
                    raise SoundnessError(
                        f"soundness bug: lower bound {lo.value} ({lo.method}) exceeds certified upper "
                        f"bound {u.value} ({u.method}); please report it with the model"
                    )

    def as_rows(self) -> list[dict[str, Any]]:
        """One JSON-able dict per result."""
        return [r.as_row() for r in self.results]

    def __getitem__(self, method: str) -> BoundResult:
        for r in self.results:
            if r.method == method:
                return r
        raise KeyError(f"no result for method {method!r}; have {[r.method for r in self.results]}")
