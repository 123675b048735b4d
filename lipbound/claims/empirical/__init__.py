"""Evaluators of the paper's empirical claims (Sections 5.4-5.9), decided on training results.

:func:`evaluate_results` checks every empirical reading on one results directory and returns the
ledger rows that ``lipbound reproduce`` writes to ``claims.json``.
"""

from __future__ import annotations

from ._evaluators import make_evaluator
from ._source import (
    COMMITTED_RESULTS,
    RESULTS_ENV,
    env_results_dir,
    Results,
    load_results,
    results_source,
    tiny_results_dir,
)

__all__ = ["COMMITTED_RESULTS", "RESULTS_ENV", "Results", "empirical_claims", "evaluate_results", "load_results",
           "env_results_dir", "make_evaluator", "results_source", "tiny_results_dir"]


def empirical_claims() -> list:
    """The claims decided on training results: those of the ledger's "Section 5" (``emp-*``), in order."""
    from .._registry import CLAIMS

    return [c for c in CLAIMS.values() if c.statement.section == "Section 5"]


def evaluate_results(path, *, examples: int = 50, seed: int = 0) -> list:
    """Ledger rows (:class:`~lipbound.claims.Row`) of every empirical reading on results dir ``path``;
    each row's detail names the data it was decided on."""
    import importlib

    from .._fixtures import Fixtures
    from .._ledger import Row
    from .._runner import check_reading

    rows = []
    fixtures = Fixtures(results=str(path))
    res = load_results(fixtures.results)
    for claim in empirical_claims():
        specs = importlib.import_module(f"lipbound.claims.{claim.id.replace('-', '_')}.evaluators").SPECS
        for r in claim.statement.readings:
            spec = specs[r.name]
            if not any(spec.applies(res, d) for d in res.datasets):  # no fallback here: say so
                rows.append(Row(claim.id, r.name, "not-proven", r.expected, 0, None, None, 0.0, seed, spec.method,
                                f"no data for this reading in {res.path} (fusions, trials, lambdas or "
                                "modalities missing)", kind=r.kind))
                continue
            row = check_reading(claim, r.name, examples=examples, seed=seed, fixtures=fixtures)
            row.detail = f"{row.detail}; data: {res.label}"
            rows.append(row)
    return rows
