r"""The statement of ``emp-detection`` (Section 5.7): attention separates faulty from clean data best.

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
    id="emp-detection",
    ref="Section 5.7",
    section="Section 5",
    order=740,
    nav_title="Attention detects failures best",
    title="Attention separates faulty from clean data best",
    paper_ref="Section 5.7 (Figures 18-19)",
    paper_wording=(
        "'the attention-regulated fusion approach exhibits a more pronounced separation between the clean and "
        "corrupted samples'; 'the attention-regulated fusion achieves higher true positive rates and lower false "
        "positive rates'."
    ),
    assumptions=(DATA, "kernel PCA on clean training latents, Mahalanobis distance, threshold at the 95th percentile "
                 "of clean training distances (lipbound.experiments._detect); every corruption of every modality", BOOT),
    readings=(
        ReadingStatement(
            "youden",
            r"For every dataset: the trial-mean of \mathrm{TPR} - \mathrm{FPR} (averaged over corruptions) is larger "
            r"for attention than for sum and for concat.",
            None, UNKNOWN, kind="tendency"),
        ReadingStatement(
            "tpr-and-fpr",
            r"For every dataset: attention has both a higher mean TPR and a lower mean FPR than sum and concat.",
            None, UNKNOWN, kind="tendency"),
    ),
    doc_page="docs/claims/empirical-detection.md",
    proof_script="lipbound/claims/emp_detection/evaluators.py",
    test_file="tests/test_experiments.py",
)
