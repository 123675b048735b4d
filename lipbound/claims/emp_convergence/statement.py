r"""The statement of ``emp-convergence`` (Sections 5.4-5.6): attention converges fastest and reaches the
lowest loss.

How every empirical reading is decided, and why its expectation is open, is said once for all of
them in :mod:`lipbound.claims.empirical._wording`.
"""

from __future__ import annotations

from .._ledger import ClaimStatement, ReadingStatement
from ..empirical._wording import UNKNOWN, DATA, BOOT

STATEMENT = ClaimStatement(
    id="emp-convergence",
    ref="Sections 5.4-5.6",
    section="Section 5",
    order=720,
    nav_title="Attention converges fastest, lowest loss",
    title="Attention converges fastest and reaches the lowest loss",
    paper_ref="Sections 5.4 (Figures 7-9), 5.5 (Figures 11-12), 5.6 (Figures 14-15)",
    paper_wording=(
        "'The attention-based model exhibits the fastest convergence and reaches the lowest loss across all input "
        "types'; 'The attention mechanism consistently achieves the lowest test loss across all modalities'."
    ),
    assumptions=(DATA, "loss = sum over modalities of the per-modality MSE; final epoch", BOOT),
    readings=(
        ReadingStatement(
            "fastest",
            r"For every dataset: t_{\mathrm{att}} < \min(t_{\mathrm{sum}}, t_{\mathrm{concat}}), where t_f is the "
            r"(linearly interpolated) epoch at which the trial-mean training loss of fusion f first reaches "
            r"T = \max_f(\text{final trial-mean training loss of } f), a level every fusion reaches.",
            None, UNKNOWN, kind="tendency"),
        ReadingStatement(
            "lowest-train-loss",
            r"For every dataset: the final trial-mean training loss of attention is below those of sum and concat.",
            None, UNKNOWN, kind="tendency"),
        ReadingStatement(
            "lowest-test-loss",
            r"For every dataset: the final trial-mean test loss of attention is below those of sum and concat.",
            None, UNKNOWN, kind="tendency"),
    ),
    doc_page="docs/claims/empirical-convergence.md",
    proof_script="lipbound/claims/emp_convergence/evaluators.py",
    test_file="tests/test_experiments.py",
)
