r"""The statement of ``emp-lambda`` (Section 5.9): the lambda ablation has an optimum.

How every empirical reading is decided, and why its expectation is open, is said once for all of
them in :mod:`lipbound.claims.empirical._wording`.
"""

from __future__ import annotations

from .._ledger import ClaimStatement, ReadingStatement
from ..empirical._wording import UNKNOWN, DATA, BOOT

STATEMENT = ClaimStatement(
    id="emp-lambda",
    ref="Section 5.9",
    section="Section 5",
    order=760,
    nav_title="Lambda ablation",
    title="The lambda ablation has an optimum",
    paper_ref="Section 5.9 (Figure 22)",
    paper_wording=(
        "'the magnitude of the parameters remains high for [small lambda] and then undergoes a steep decline until "
        "saturating'; 'the Lipschitz constant starts at a high, unstable value, rapidly decreasing and stabilizing'; "
        "'The optimal region for regularization ... (minimum Lipschitz constant), is identified around [a value lost "
        "in the recovered text]'."
    ),
    assumptions=(DATA, "the ablation fusion (attention-regularized-scaled) on the ablation dataset(s), at least three "
                 "lambda values; whole-model lower bound and parameter norm at the final epoch, trial means", BOOT),
    readings=(
        ReadingStatement(
            "interior-optimum",
            r"The trial-mean whole-model lower bound L(\lambda) is smallest at a \lambda strictly between the smallest "
            r"and the largest \lambda of the sweep: \min_{\text{interior}} L < \min(L(\lambda_{\min}), L(\lambda_{\max})).",
            None, UNKNOWN + ". The paper's words ('decreasing and stabilizing') suggest a monotone curve rather than "
            "an interior minimum, so the two halves of its statement may not agree", kind="tendency"),
        ReadingStatement(
            "param-norm-decreasing",
            r"The trial-mean parameter norm of the whole model does not increase with \lambda.",
            None, UNKNOWN, kind="tendency"),
    ),
    doc_page="docs/claims/empirical-lambda.md",
    proof_script="lipbound/claims/emp_lambda/evaluators.py",
    test_file="tests/test_experiments.py",
)
