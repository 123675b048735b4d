r"""The statement of ``emp-trimodal`` (Section 5.8): with a third modality attention still gives the
lowest loss and Lipschitz constant.

How every empirical reading is decided, and why its expectation is open, is said once for all of
them in :mod:`lipbound.claims.empirical._wording`.
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
