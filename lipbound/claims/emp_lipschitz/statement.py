r"""The statement of ``emp-lipschitz`` (Sections 5.4-5.6): attention gives the lowest Lipschitz constants.

How every empirical reading is decided, and why its expectation is open, is said once for all of
them in :mod:`lipbound.claims.empirical._wording`.
"""

from __future__ import annotations

from .._ledger import ClaimStatement, ReadingStatement
from ..empirical._wording import UNKNOWN, DATA, BOOT

STATEMENT = ClaimStatement(
    id="emp-lipschitz",
    ref="Sections 5.4-5.6",
    section="Section 5",
    order=710,
    nav_title="Attention gives the lowest Lipschitz constants",
    title="Attention gives the lowest Lipschitz constants",
    paper_ref="Sections 5.4 (Figures 4-6), 5.5 (Figure 10), 5.6 (Figure 13)",
    paper_wording=(
        "'For attention-based fusion, regularization and scaling constrain the Lipschitz constant growth, steering "
        "the model toward low Lipschitz constants'; 'both methods (sum and concatenation) produce values more than "
        "ten times higher than those obtained with regularized attention'; 'concatenation-based aggregation again "
        "yields lower Lipschitz constants than summation, with both methods exceeding regularized attention'. The "
        "paper's numbers come from its estimator (Section 4.6, Algorithm 1)."
    ),
    assumptions=(DATA, "the whole-model map (stacked inputs to stacked reconstructions), final epoch", BOOT),
    readings=(
        ReadingStatement(
            "lower-bound",
            r"For every dataset: \overline{L}^{\mathrm{low}}_{\mathrm{att}} < \min(\overline{L}^{\mathrm{low}}_{\mathrm{sum}}, "
            r"\overline{L}^{\mathrm{low}}_{\mathrm{concat}}), with L^{\mathrm{low}} the power-iteration lower bound "
            r"(a true evaluation) of the whole model and the bar the mean over trials.",
            None, UNKNOWN, kind="tendency"),
        ReadingStatement(
            "paper-estimator",
            r"The same with the paper's estimator (max Frobenius norm of the Jacobian over test inputs; a heuristic).",
            None, UNKNOWN, kind="tendency"),
        ReadingStatement(
            "ten-times",
            r"For every dataset: 10\,\overline{L}^{\mathrm{est}}_{\mathrm{att}} < \min(\overline{L}^{\mathrm{est}}_{\mathrm{sum}}, "
            r"\overline{L}^{\mathrm{est}}_{\mathrm{concat}}) (Section 5.5's 'more than ten times higher', paper's estimator).",
            None, UNKNOWN, kind="tendency"),
    ),
    doc_page="docs/claims/empirical-lipschitz.md",
    proof_script="lipbound/claims/emp_lipschitz/evaluators.py",
    test_file="tests/test_experiments.py",
)
