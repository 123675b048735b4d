r"""Assertions on a model's Lipschitz constant for a test suite, and the record of every bracket
they computed (for the pytest plugin's summary).

Both assertions call :func:`lipbound.bounds.bracket` (the engine: the model is read strictly and
compared with its chain before anything is computed, ``docs/accepts.md``) and decide on one side
of the bracket only:

* :func:`assert_lipschitz_at_most` passes only on a result of kind ``certified-upper``;
* :func:`assert_lipschitz_at_least` passes only on a result of kind ``lower``, which the engine
  evaluates on the user's own model.

A model the engine refuses fails the test (:class:`LipschitzCheckError`, an ``AssertionError``)
with the engine's reason; it never passes.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ..bounds import METHODS, Ball, Box, Bracket
from ..errors import LipboundError

#: certified methods tried by default (``lipsdp-neuron`` only for networks of Linear layers)
UPPER_METHODS = ("spectral-product", "lipsdp-neuron", "lipsdp-layer", "lipsdp-decomposed")
#: lower-bound methods (evaluated on the user's model)
LOWER_METHODS = ("power-iteration", "pgd")
#: inputs drawn for the lower bounds when the caller gives none
DEFAULT_SAMPLES = 64


class LipschitzCheckError(AssertionError):
    """A Lipschitz assertion failed: the bound was not certified (or not attained), or lipbound
    refused the model. An ``AssertionError``, so any test runner reports it as a failure."""


@dataclass
class Defaults:
    """Defaults of the assertions, set by the pytest plugin's options (``--lipbound-method``,
    ``--lipbound-time-limit``, ``--lipbound-device``).

    Attributes:
        method: a method of :data:`lipbound.bounds.METHODS` or ``None`` (the applicable ones).
        time_limit: seconds per SDP solve, or ``None`` (the engine's default).
        device: where lipbound computes the bracket. The engine computes on the CPU, so only
            ``"cpu"`` is accepted; a model on another device is bounded on a float64 CPU copy.
    """

    method: str | None = None
    time_limit: float | None = None
    device: str = "cpu"


DEFAULTS = Defaults()


@dataclass
class Record:
    """One check made by an assertion: what was asked, the bracket (or the refusal) and the outcome.
    :meth:`as_dict` is an entry of the plugin's JSON summary (``docs/testing.md``)."""

    test: str
    check: str
    bound: float
    model: str
    input_shape: list[int]
    domain: str | None
    passed: bool
    results: list[dict[str, Any]] = field(default_factory=list)
    refused: str | None = None
    seconds: float = 0.0

    @property
    def best_upper(self) -> float:
        kinds = ("certified-upper", "certified-local-upper") if self.check == "at_most_local" else ("certified-upper",)
        ups = [r["value"] for r in self.results if r["kind"] in kinds]
        return min(ups) if ups else math.inf

    @property
    def best_lower(self) -> float:
        los = [r["value"] for r in self.results if r["kind"] == "lower"]
        return max(los) if los else 0.0

    def as_dict(self) -> dict[str, Any]:
        from .._io import json_safe

        return json_safe({"test": self.test, "check": self.check, "bound": self.bound, "model": self.model,
                          "input_shape": self.input_shape, "domain": self.domain, "passed": self.passed,
                          "refused": self.refused, "best_lower": self.best_lower, "best_upper": self.best_upper,
                          "seconds": self.seconds, "results": self.results})


#: every check made in this process, in order
RECORDS: list[Record] = []
#: the record lists of the pytest sessions running now, innermost last (the plugin pushes one per
#: session): a check goes to the innermost only, so a session run inside another one (pytester)
#: does not show up in the outer session's summary
SESSIONS: list[list[Record]] = []


def _keep(rec: Record) -> None:
    RECORDS.append(rec)
    if SESSIONS:
        SESSIONS[-1].append(rec)


def _current_test() -> str:
    """The running pytest test's id (pytest sets ``PYTEST_CURRENT_TEST``), or ``""``."""
    cur = os.environ.get("PYTEST_CURRENT_TEST", "")
    return cur.rsplit(" (", 1)[0] if cur else ""


def domain_text(domain: Box | Ball | None) -> str | None:
    """A short description of a domain, for messages and the JSON summary.

    >>> domain_text(Box(-1.0, 1.0)), domain_text(Ball(0.0, 2.0)), domain_text(None)
    ('box:-1,1', 'ball:2 around 0', None)
    """
    def num(v) -> str:
        t = torch.as_tensor(v)
        return f"{float(t):g}" if t.numel() == 1 else f"tensor{tuple(t.shape)}"

    if domain is None:
        return None
    if isinstance(domain, Box):
        return f"box:{num(domain.low)},{num(domain.high)}"
    if isinstance(domain, Ball):
        return f"ball:{domain.radius:g} around {num(domain.center)}"
    raise TypeError(f"domain must be lipbound.bounds.Box or Ball (or None), got {type(domain).__name__}")


def _methods(method: str | Sequence[str] | None, allowed: Sequence[str], what: str) -> list[str] | None:
    if method is None:
        return None
    ms = [method] if isinstance(method, str) else list(method)
    unknown = [m for m in ms if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; choose from {list(METHODS)}")
    if not any(m in allowed for m in ms):
        raise ValueError(f"{what} needs a method of kind {'certified-upper' if allowed is UPPER_METHODS else 'lower'} "
                         f"({', '.join(allowed)}); got {ms}")
    return ms


def _check_device(device: str | None) -> str:
    device = DEFAULTS.device if device is None else device
    if torch.device(device).type != "cpu":
        raise ValueError(f"device {device!r}: lipbound computes brackets on the CPU (a model on another device is "
                         "bounded on a float64 CPU copy); use device='cpu'")
    return device


def _cpu_copy(model):
    """The model itself when it is on the CPU; else a CPU copy (the engine computes on the CPU)."""
    import copy

    params = list(model.parameters()) if isinstance(model, torch.nn.Module) else []
    if any(p.device.type != "cpu" for p in params):
        return copy.deepcopy(model).cpu()
    return model


def _samples(shape: tuple[int, ...], domain, n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(int(seed))
    if domain is not None:
        return domain.sample(n, shape, g)
    return torch.randn((n, *shape), generator=g, dtype=torch.float64)


def _name(model) -> str:
    return type(model).__name__


def format_bracket(br: Bracket | list[dict[str, Any]]) -> str:
    """The bracket as a small table: one line per method with its value, kind, solver and status.

    >>> from lipbound.bounds import BoundResult
    >>> print(format_bracket(Bracket([BoundResult("spectral-product", "certified-upper", 2.0, 0.0)])))
      spectral-product   certified-upper  2            solver none: ok
    """
    rows = br.as_rows() if isinstance(br, Bracket) else br
    return "\n".join(f"  {r['method']:<18} {r['kind']:<16} {float(r['value']):<12.6g} solver {r['solver']}: "
                     f"{r['status']}" for r in rows)


def _witness_text(results: Sequence[dict[str, Any]]) -> str:
    los = [r for r in results if r["kind"] == "lower"]
    if not los:
        return "no witness (no lower bound was computed)"
    best = max(los, key=lambda r: r["value"])
    w = best.get("details", {}).get("witness")
    if not w:
        return f"witness of {best['method']}: not recorded"
    where = f" (input {best['details']['witness_index']} of those searched)" if "witness_index" in best["details"] else ""
    vals = f", x = {[round(v, 6) for v in w['values']]}" if "values" in w else ""
    return (f"witness input of {best['method']}{where}: shape {w['shape']}, ||x|| = {w['norm']:.6g}, "
            f"entries in [{w['min']:.6g}, {w['max']:.6g}]{vals}")


def _run(check: str, model, bound: float, input_shape, domain, methods, inputs, samples: int, seed: int,
         time_limit, device, local: bool = False) -> tuple[Record, Bracket | None]:
    if not (isinstance(bound, (int, float)) and math.isfinite(bound) and bound >= 0):
        raise ValueError(f"bound must be a finite number >= 0, got {bound!r}")
    if input_shape is None:
        raise ValueError("input_shape is required: the unbatched shape of one input, e.g. (784,) or (3, 32, 32)")
    shape = (int(input_shape),) if isinstance(input_shape, int) else tuple(int(d) for d in input_shape)
    _check_device(device)
    time_limit = DEFAULTS.time_limit if time_limit is None else time_limit
    rec = Record(_current_test(), check, float(bound), _name(model), list(shape), domain_text(domain), False)
    t0 = time.perf_counter()
    try:
        x = inputs if inputs is not None else _samples(shape, domain, samples, seed)
        # certified upper bounds are global: without a lower method asked for on the domain (pgd), the
        # domain only supplies the inputs (also compared with the chain before anything is computed)
        dom = domain if local or methods is not None and "pgd" in methods else None
        br = bracket_for(model, shape, dom, methods, x, seed, time_limit)
    except LipboundError as exc:  # refused: a failure that names the reason, never a pass
        rec.refused = f"{type(exc).__name__}: {exc}"
        rec.seconds = time.perf_counter() - t0
        _keep(rec)
        return rec, None
    rec.results = br.as_rows()
    rec.seconds = time.perf_counter() - t0
    _keep(rec)
    return rec, br


def bracket_for(model, shape, domain, methods, inputs, seed, time_limit) -> Bracket:
    """:func:`lipbound.bounds.bracket` of a CPU copy of ``model`` (the model itself when it is on
    the CPU): ``methods`` as given, or the engine's defaults on ``inputs``."""
    from ..bounds import bracket

    return bracket(_cpu_copy(model), input_shape=shape, inputs=inputs, domain=domain, methods=methods, seed=seed,
                   time_limit=time_limit)


def _refusal(rec: Record, what: str) -> LipschitzCheckError:
    return LipschitzCheckError(
        f"{what}: lipbound refused the model {rec.model} (input shape {tuple(rec.input_shape)}), so nothing is "
        f"certified and the check fails.\nReason: {rec.refused}\nSee 'What lipbound accepts and refuses' "
        "(docs/accepts.md).")


def assert_lipschitz_at_most(model, bound: float, *, input_shape: Sequence[int] | int,
                             domain: Box | Ball | None = None, method: str | Sequence[str] | None = None,
                             inputs: torch.Tensor | None = None, samples: int = DEFAULT_SAMPLES, seed: int = 0,
                             time_limit: float | None = None, device: str | None = None,
                             local: bool = False) -> Bracket:
    r"""Pass only if a **certified** upper bound on the Lipschitz constant of ``model`` (Euclidean
    norms) is at most ``bound``:

    .. math::

        \operatorname{Lip}(f) \le U_\text{certified} \le \text{bound}.

    ``method`` (default: ``--lipbound-method``, else the engine's applicable methods) may be one
    method or several, and must include one of kind ``certified-upper``; lower bounds computed
    beside it on ``samples`` inputs (drawn from ``domain``, or standard normal; or ``inputs``) are
    shown in the message but never decide. The failure message shows every method's value, kind,
    solver and status, and the gap. A model the engine refuses fails with the engine's reason.
    With ``local=True`` the claim is about the constant **on** ``domain`` (pairs of inputs in it):
    a certified local bound (``lipsdp-local``, run by default with the domain's other methods) or a
    global one may decide, and the domain's lower bound (``pgd``) is shown beside it.
    Returns the :class:`~lipbound.bounds.Bracket`.

    >>> from torch import nn
    >>> lin = nn.Linear(2, 2, bias=False)
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.tensor([[3.0, 0.0], [0.0, 1.0]]))
    >>> br = assert_lipschitz_at_most(lin, 3.01, input_shape=(2,), method="spectral-product")
    >>> assert_lipschitz_at_most(lin, 2.5, input_shape=(2,), method="spectral-product")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lipbound.testing._assert.LipschitzCheckError: Lip(Linear) <= 2.5 is not certified: the best certified upper bound is 3 (spectral-product), 0.5 above the bound (20%)...
    """
    if local and domain is None:
        raise ValueError("local=True bounds the constant on a domain: pass domain=Box(...) or Ball(...)")
    allowed = (*UPPER_METHODS, "lipsdp-local") if local else UPPER_METHODS
    default = DEFAULTS.method if DEFAULTS.method in allowed else None
    methods = _methods(method if method is not None else default, allowed, "assert_lipschitz_at_most")
    if methods is not None and not any(m in LOWER_METHODS for m in methods):
        # the other side of the bracket, for the message only
        methods = [*methods, "pgd" if local else "power-iteration"]
    rec, br = _run("at_most_local" if local else "at_most", model, bound, input_shape, domain, methods, inputs,
                   samples, seed, time_limit, device, local)
    what = f"Lip({rec.model}) on {rec.domain} <= {bound:g}" if local else f"Lip({rec.model}) <= {bound:g}"
    if br is None:
        raise _refusal(rec, what)
    kinds = ("certified-upper", "certified-local-upper") if local else ("certified-upper",)
    ups = [r for r in br.results if r.kind in kinds]
    if not ups:
        rec.passed = False
        raise LipschitzCheckError(f"{what}: no certified upper bound was computed (methods "
                                  f"{[r.method for r in br.results]}):\n{format_bracket(br)}")
    best = min(ups, key=lambda r: r.value)
    if best.value <= bound:
        rec.passed = True
        return br
    gap = best.value - bound
    # on a domain, only lower bounds attained in it count (pgd); power iteration may use other inputs
    lo = (max([r.value for r in br.results if r.kind == "lower" and r.details.get("on_domain")], default=0.0)
          if local else br.best_lower)
    verdict = (f"the claim is false: a sound lower bound {lo:.6g} already exceeds {bound:g}" if lo > bound else
               f"the true constant lies in [{lo:.6g}, {best.value:.6g}]; a tighter certified method may still prove "
               "it" + ("" if lo > 0 else " (no lower bound was computed)"))
    raise LipschitzCheckError(
        f"{what} is not certified: the best certified upper bound is {best.value:.6g} ({best.method}), "
        f"{gap:.6g} above the bound ({100 * gap / bound if bound > 0 else math.inf:.3g}%); {verdict}.\n"
        f"Bracket (domain {rec.domain or 'all inputs'}):\n{format_bracket(br)}")


def assert_lipschitz_at_least(model, bound: float, *, input_shape: Sequence[int] | int,
                              domain: Box | Ball | None = None, method: str | Sequence[str] | None = None,
                              inputs: torch.Tensor | None = None, samples: int = DEFAULT_SAMPLES, seed: int = 0,
                              time_limit: float | None = None, device: str | None = None) -> Bracket:
    r"""Pass only if a **sound lower bound** on the Lipschitz constant of ``model`` is at least
    ``bound``: a value :math:`\|J_f(x) v\| / \|v\|` evaluated on the user's own model at an input
    :math:`x` (float64, deflated), so

    .. math::

        \text{bound} \le \frac{\|J_f(x)\, v\|}{\|v\|} \le \operatorname{Lip}(f).

    ``method`` defaults to ``--lipbound-method`` if it is a lower-bound method, else
    ``power-iteration`` on ``inputs`` (or ``samples`` inputs drawn from ``domain``, standard normal
    without one) plus ``pgd`` when a ``domain`` is given, with the spectral product beside them
    for the message. The failure message includes the bracket and the witness input (entries of a
    small input, a summary of a large one). Returns the :class:`~lipbound.bounds.Bracket`.

    >>> from torch import nn
    >>> lin = nn.Linear(2, 2, bias=False)
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.tensor([[3.0, 0.0], [0.0, 1.0]]))
    >>> br = assert_lipschitz_at_least(lin, 2.99, input_shape=2)
    >>> assert_lipschitz_at_least(lin, 3.5, input_shape=2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lipbound.testing._assert.LipschitzCheckError: Lip(Linear) >= 3.5 is not attained: the best sound lower bound is 3 (power-iteration), 0.5 below the bound...
    """
    default = DEFAULTS.method if DEFAULTS.method in LOWER_METHODS else None
    methods = _methods(method if method is not None else default, LOWER_METHODS, "assert_lipschitz_at_least")
    if methods is None:
        methods = ["spectral-product", "power-iteration"] + (["pgd"] if domain is not None else [])
    elif "spectral-product" not in methods:
        methods = ["spectral-product", *methods]
    rec, br = _run("at_least", model, bound, input_shape, domain, methods, inputs, samples, seed, time_limit, device)
    what = f"Lip({rec.model}) >= {bound:g}"
    if br is None:
        raise _refusal(rec, what)
    los = [r for r in br.results if r.kind == "lower"]
    best = max(los, key=lambda r: r.value)
    if best.value >= bound:
        rec.passed = True
        return br
    up = br.best_upper
    verdict = (f"the claim is false: a certified upper bound {up:.6g} is below {bound:g}" if up < bound else
               f"the true constant lies in [{best.value:.6g}, {up:.6g}]; more inputs or a domain for pgd may find it")
    raise LipschitzCheckError(
        f"{what} is not attained: the best sound lower bound is {best.value:.6g} ({best.method}), "
        f"{bound - best.value:.6g} below the bound; {verdict}.\n{_witness_text(rec.results)}\n"
        f"Bracket (domain {rec.domain or 'all inputs'}):\n{format_bracket(br)}")
