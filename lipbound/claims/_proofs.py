"""Shared helpers for the proof scripts: a three-valued symbolic equality and step bookkeeping."""

from __future__ import annotations

import sys
from collections.abc import Callable

import sympy as sp

from lipbound.claims._ledger import ProofResult


def is_zero(expr: sp.Expr | sp.MatrixBase) -> bool | None:
    """True if ``expr`` simplifies to zero, False if sympy shows it is nonzero, None if undecided.

    ``sympy``'s ``.equals()`` may return None ("cannot decide"): that is "not proven", never "true".
    """
    if isinstance(expr, sp.MatrixBase):
        verdicts = [is_zero(e) for e in expr]
        if any(v is False for v in verdicts):
            return False
        return True if all(v is True for v in verdicts) else None
    e = sp.simplify(sp.expand(sp.sympify(expr).doit()))
    if e == 0:
        return True
    v = e.equals(0)
    return v  # True, False or None


def is_nonnegative(expr: sp.Expr) -> bool | None:
    """sympy's assumption system verdict on ``expr >= 0`` (None when undecided)."""
    return sp.sympify(expr).is_nonnegative


class Steps:
    """Collects named proof steps; the proof holds only if every step is True."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, bool | None]] = []

    def check(self, name: str, verdict: bool | None) -> None:
        self.steps.append((name, verdict))

    def result(self, scope: str, refuting_steps: int = 1) -> ProofResult:
        """The proof's result: ``scope`` says what was checked; ``refuting_steps`` how many of the
        last steps refute the reading when it is expected to fail (the steps before them support)."""
        verdicts = [v for _, v in self.steps]
        if any(v is False for v in verdicts):
            proved: bool | None = False
        elif all(v is True for v in verdicts) and verdicts:
            proved = True
        else:
            proved = None
        text = tuple(f"{'ok' if v else ('FAILED' if v is False else 'undecided')}: {n}" for n, v in self.steps)
        return ProofResult(proved, scope, text, refuting_steps)


def main(proofs: dict[str, Callable[[], ProofResult]], claim_id: str) -> int:
    """Print each reading's proof result; exit status 1 if any result differs from the ledger's
    expectation (a reading expected to hold not proved, or one expected to fail not disproved)."""
    from lipbound.claims import get_claim

    statement = get_claim(claim_id).statement
    bad = 0
    for name, fn in proofs.items():
        res = fn()
        expected = statement.reading(name).expected
        agrees = res.proved is expected
        print(f"{claim_id} / {name}: proved={res.proved} (ledger expects it to {'hold' if expected else 'fail'})"
              f"{'' if agrees else '  <-- DISAGREES'} [{res.scope}]")
        for s in res.steps:
            print(f"    {s}")
        bad += not agrees
    return 1 if bad else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(0)
