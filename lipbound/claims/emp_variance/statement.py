r"""The statement of ``emp-variance`` (Section 5.4): concatenation varies less over trials than summation.

How every empirical reading is decided, and why its expectation is open, is said once for all of
them in :mod:`lipbound.claims.empirical._wording`.
"""

from __future__ import annotations

from .._ledger import ClaimStatement, ReadingStatement
from ..empirical._wording import UNKNOWN, DATA, BOOT

STATEMENT = ClaimStatement(
    id="emp-variance",
    ref="Section 5.4",
    section="Section 5",
    order=730,
    nav_title="Concatenation varies less than sum",
    title="Concatenation varies less over trials than summation",
    paper_ref="Section 5.4 (Figures 8-9)",
    paper_wording=(
        "'the concatenation method, as demonstrated theoretically in Subsection 3.3, exhibits lower variation in "
        "both training and test loss across the 10 trials compared to the sum'."
    ),
    assumptions=(DATA, "sample standard deviation over trials (at least 2) of the final-epoch loss", BOOT),
    readings=(
        ReadingStatement("test-loss", r"For every dataset: \mathrm{sd}_{\mathrm{trials}}(\text{test loss})_{\mathrm{concat}} "
                         r"< \mathrm{sd}_{\mathrm{trials}}(\text{test loss})_{\mathrm{sum}}.", None, UNKNOWN, kind="tendency"),
        ReadingStatement("train-loss", r"The same for the final training loss.", None, UNKNOWN, kind="tendency"),
    ),
    doc_page="docs/claims/empirical-variance.md",
    proof_script="lipbound/claims/emp_variance/evaluators.py",
    test_file="tests/test_experiments.py",
)
