r"""The statement of ``emp-lambda`` (Section 5.9): the lambda ablation has an optimum.

The paper's empirical claims (Sections 5.4-5.9) as readings checked on training results.

Every reading is decided on a results directory (``lipbound reproduce``; see
``docs/experiments.md``), per dataset, from the values of each run at its final epoch, averaged
over trials. "Attention" means the paper's full method, ``attention-regularized-scaled``
(Section 4.5: normalised inputs, spectral normalisation, score scaling, L2), or, when a results
directory lacks it, the first present of ``attention-regularized``, ``attention-scaled``,
``attention``. Only runs with each fusion's default :math:`\lambda` enter the fusion comparisons;
the ablation runs enter only ``emp-lambda``.

The expected outcome of every reading is **unknown**: nothing in the paper's theory predicts
training results on lipbound's generated data, and the paper's own datasets are not available. The
ledger therefore marks each reading ``expected=None`` ("open"): whichever status comes out is a
finding about our data, never a ledger failure; the note of each reading says so. Every reading is
decided with effect sizes and 95% intervals over all trials (:mod:`lipbound.claims.empirical._stats`):
``holds`` (supported), ``not-supported`` (the data says the opposite: these readings are tendencies,
``kind="tendency"``, so never ``refuted``) or ``not-proven`` (inconclusive).
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
