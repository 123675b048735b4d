r"""The statement of ``emp-detection`` (Section 5.7): attention separates faulty from clean data best.

How every empirical reading is decided, and why its expectation is open, is said once for all of
them in :mod:`lipbound.claims.empirical._wording`.
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
