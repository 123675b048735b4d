r"""The statement of ``emp-variance`` (Section 5.4): concatenation varies less over trials than summation.

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
