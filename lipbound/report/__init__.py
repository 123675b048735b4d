"""The lipbound report: ``lipbound report [RESULTS...] -o DIR`` writes a self-contained
``index.html`` and ``report.md`` with the claim ledger, bound-vs-measured scatters, Lipschitz
brackets, training curves, the analogues of the paper's Tables 1 and 2 (Section 5.8), failure
detection (Section 5.7), the lambda ablation (Section 5.9) and MVAE measures. See ``docs/report.md``.

>>> from lipbound.report import load_results, build_doc
>>> doc = build_doc(load_results([]), docs_url=None, command="lipbound report")
>>> doc.blocks[0]
('h', 1, 'lipbound report', None)
"""

from __future__ import annotations

import importlib
from typing import Any

# names -> the private module defining them; imported on first use, so that ``lipbound --help``
# (which imports lipbound.report._cli) does not pay for matplotlib
_WHERE = {
    **dict.fromkeys(("BAND_LABEL", "CASE_STYLES", "KIND_WORDS", "RATIO_ONE_LABEL", "bound_vs_measured_figure", "case_category",
                     "case_ratio", "bracket_figure", "confusion_figure",
                     "detection_histograms_figure", "final_loss_boxplots_figure", "lambda_ablation_figure",
                     "lipschitz_curves_figure", "loss_curves_figure", "mvae_measures_figure",
                     "radius_sweep_figure", "reconstruction_figure"), "_figures"),
    **dict.fromkeys(("BracketDoc", "LedgerRows", "MvaeDoc", "ReportInputError", "ReproduceDir", "Results",
                     "load_results"), "_load"),
    **dict.fromkeys(("PAPER_MODALITIES", "PAPER_TABLES", "PAPER_TABLE_SOURCE"), "_paper"),
    **dict.fromkeys(("ReportDir",), "_outdir"),
    **dict.fromkeys(("Doc", "Link", "ReportFiles", "build_doc", "docs_link", "source_link", "to_html",
                     "to_markdown", "write_report"), "_render"),
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'lipbound.report' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "BAND_LABEL",
    "CASE_STYLES",
    "KIND_WORDS",
    "RATIO_ONE_LABEL",
    "PAPER_MODALITIES",
    "PAPER_TABLES",
    "PAPER_TABLE_SOURCE",
    "BracketDoc",
    "Doc",
    "LedgerRows",
    "Link",
    "MvaeDoc",
    "ReportFiles",
    "ReportDir",
    "ReportInputError",
    "ReproduceDir",
    "Results",
    "bound_vs_measured_figure",
    "bracket_figure",
    "build_doc",
    "case_category",
    "case_ratio",
    "confusion_figure",
    "source_link",
    "detection_histograms_figure",
    "docs_link",
    "final_loss_boxplots_figure",
    "lambda_ablation_figure",
    "lipschitz_curves_figure",
    "load_results",
    "loss_curves_figure",
    "mvae_measures_figure",
    "reconstruction_figure",
    "to_html",
    "to_markdown",
    "write_report",
]
