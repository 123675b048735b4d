r"""The statement of ``emp-trimodal`` (Section 5.8): with a third modality attention still gives the lowest loss and Lipschitz constant.

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
    id="emp-trimodal",
    ref="Section 5.8",
    section="Section 5",
    order=750,
    nav_title="Third modality",
    title="With a third modality attention still gives the lowest loss and Lipschitz constant",
    paper_ref="Section 5.8 (Table 2, Figure 21)",
    paper_wording=(
        "'Across both the training and testing phases, the Attention-based fusion model consistently yields the lowest "
        "loss'; 'Consistent with findings from bimodal experiments, the attention-based fusion method yields the "
        "lowest Lipschitz constant values'."
    ),
    assumptions=(DATA, "datasets with at least three modalities only", BOOT),
    readings=(
        ReadingStatement("lowest-test-loss", r"For every dataset with M \ge 3: the final trial-mean test loss of attention "
                         r"is below those of sum and concat.", None, UNKNOWN, kind="tendency"),
        ReadingStatement("lowest-lipschitz", r"For every dataset with M \ge 3: the trial-mean whole-model lower bound of "
                         r"attention is below those of sum and concat.", None, UNKNOWN, kind="tendency"),
    ),
    doc_page="docs/claims/empirical-trimodal.md",
    proof_script="lipbound/claims/emp_trimodal/evaluators.py",
    test_file="tests/test_experiments.py",
)
