r"""The statement of ``emp-convergence`` (Sections 5.4-5.6): attention converges fastest and reaches the lowest loss.

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
