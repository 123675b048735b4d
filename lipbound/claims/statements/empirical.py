r"""The paper's empirical claims (Sections 5.4-5.9) as readings checked on training results.

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
``holds`` (supported), ``refuted`` (the data says the opposite) or ``not-proven`` (inconclusive).
"""

from __future__ import annotations

from .._ledger import ClaimStatement, ReadingStatement

#: empirical claims have no sympy proof; their ``proof_script`` names the module that decides them
EVALUATOR_MODULE = "lipbound/claims/empirical/_evaluators.py"

UNKNOWN = ("expectation open: the outcome depends on our generated data and training budget, so either "
           "status is reported as a finding, not as a ledger failure")

_DATA = ("results: the directory in $LIPBOUND_RESULTS, else lipbound-results/smoke, else a built-in tiny sweep "
         "(synthetic vector data, seconds, cached in the zoo cache directory), named in each case's label")
_BOOT = ("decided per dataset on every trial at once: the fusions' per-trial values are paired by trial index (the same "
         "seed), and the claimed effect gets a 95% confidence interval (paired t on log ratios or differences, an F "
         "interval for standard deviations, a paired bootstrap for the lambda curve); 'holds' when every interval lies "
         "on the claimed side on every dataset, 'refuted' when one lies on the other side (the data says the "
         "opposite), 'not-proven' (inconclusive) otherwise: a single disagreeing trial refutes nothing")

EMP_LIPSCHITZ = ClaimStatement(
    id="emp-lipschitz",
    ref="Sections 5.4-5.6",
    title="Attention gives the lowest Lipschitz constants",
    paper_ref="Sections 5.4 (Figures 4-6), 5.5 (Figure 10), 5.6 (Figure 13)",
    paper_wording=(
        "'For attention-based fusion, regularization and scaling constrain the Lipschitz constant growth, steering "
        "the model toward low Lipschitz constants'; 'both methods (sum and concatenation) produce values more than "
        "ten times higher than those obtained with regularized attention'; 'concatenation-based aggregation again "
        "yields lower Lipschitz constants than summation, with both methods exceeding regularized attention'. The "
        "paper's numbers come from its estimator (Section 4.6, Algorithm 1)."
    ),
    assumptions=(_DATA, "the whole-model map (stacked inputs to stacked reconstructions), final epoch", _BOOT),
    readings=(
        ReadingStatement(
            "lower-bound",
            r"For every dataset: \overline{L}^{\mathrm{low}}_{\mathrm{att}} < \min(\overline{L}^{\mathrm{low}}_{\mathrm{sum}}, "
            r"\overline{L}^{\mathrm{low}}_{\mathrm{concat}}), with L^{\mathrm{low}} the power-iteration lower bound "
            r"(a true evaluation) of the whole model and the bar the mean over trials.",
            None, UNKNOWN),
        ReadingStatement(
            "paper-estimator",
            r"The same with the paper's estimator (max Frobenius norm of the Jacobian over test inputs; a heuristic).",
            None, UNKNOWN),
        ReadingStatement(
            "ten-times",
            r"For every dataset: 10\,\overline{L}^{\mathrm{est}}_{\mathrm{att}} < \min(\overline{L}^{\mathrm{est}}_{\mathrm{sum}}, "
            r"\overline{L}^{\mathrm{est}}_{\mathrm{concat}}) (Section 5.5's 'more than ten times higher', paper's estimator).",
            None, UNKNOWN),
    ),
    doc_page="docs/claims/empirical-lipschitz.md",
    proof_script=EVALUATOR_MODULE,
    test_file="tests/test_experiments.py",
)

EMP_CONVERGENCE = ClaimStatement(
    id="emp-convergence",
    ref="Sections 5.4-5.6",
    title="Attention converges fastest and reaches the lowest loss",
    paper_ref="Sections 5.4 (Figures 7-9), 5.5 (Figures 11-12), 5.6 (Figures 14-15)",
    paper_wording=(
        "'The attention-based model exhibits the fastest convergence and reaches the lowest loss across all input "
        "types'; 'The attention mechanism consistently achieves the lowest test loss across all modalities'."
    ),
    assumptions=(_DATA, "loss = sum over modalities of the per-modality MSE; final epoch", _BOOT),
    readings=(
        ReadingStatement(
            "fastest",
            r"For every dataset: t_{\mathrm{att}} < \min(t_{\mathrm{sum}}, t_{\mathrm{concat}}), where t_f is the "
            r"(linearly interpolated) epoch at which the trial-mean training loss of fusion f first reaches "
            r"T = \max_f(\text{final trial-mean training loss of } f), a level every fusion reaches.",
            None, UNKNOWN),
        ReadingStatement(
            "lowest-train-loss",
            r"For every dataset: the final trial-mean training loss of attention is below those of sum and concat.",
            None, UNKNOWN),
        ReadingStatement(
            "lowest-test-loss",
            r"For every dataset: the final trial-mean test loss of attention is below those of sum and concat.",
            None, UNKNOWN),
    ),
    doc_page="docs/claims/empirical-convergence.md",
    proof_script=EVALUATOR_MODULE,
    test_file="tests/test_experiments.py",
)

EMP_VARIANCE = ClaimStatement(
    id="emp-variance",
    ref="Section 5.4",
    title="Concatenation varies less over trials than summation",
    paper_ref="Section 5.4 (Figures 8-9)",
    paper_wording=(
        "'the concatenation method, as demonstrated theoretically in Subsection 3.3, exhibits lower variation in "
        "both training and test loss across the 10 trials compared to the sum'."
    ),
    assumptions=(_DATA, "sample standard deviation over trials (at least 2) of the final-epoch loss", _BOOT),
    readings=(
        ReadingStatement("test-loss", r"For every dataset: \mathrm{sd}_{\mathrm{trials}}(\text{test loss})_{\mathrm{concat}} "
                         r"< \mathrm{sd}_{\mathrm{trials}}(\text{test loss})_{\mathrm{sum}}.", None, UNKNOWN),
        ReadingStatement("train-loss", r"The same for the final training loss.", None, UNKNOWN),
    ),
    doc_page="docs/claims/empirical-variance.md",
    proof_script=EVALUATOR_MODULE,
    test_file="tests/test_experiments.py",
)

EMP_LAMBDA = ClaimStatement(
    id="emp-lambda",
    ref="Section 5.9",
    title="The lambda ablation has an optimum",
    paper_ref="Section 5.9 (Figure 22)",
    paper_wording=(
        "'the magnitude of the parameters remains high for [small lambda] and then undergoes a steep decline until "
        "saturating'; 'the Lipschitz constant starts at a high, unstable value, rapidly decreasing and stabilizing'; "
        "'The optimal region for regularization ... (minimum Lipschitz constant), is identified around [a value lost "
        "in the recovered text]'."
    ),
    assumptions=(_DATA, "the ablation fusion (attention-regularized-scaled) on the ablation dataset(s), at least three "
                 "lambda values; whole-model lower bound and parameter norm at the final epoch, trial means", _BOOT),
    readings=(
        ReadingStatement(
            "interior-optimum",
            r"The trial-mean whole-model lower bound L(\lambda) is smallest at a \lambda strictly between the smallest "
            r"and the largest \lambda of the sweep: \min_{\text{interior}} L < \min(L(\lambda_{\min}), L(\lambda_{\max})).",
            None, UNKNOWN + ". The paper's words ('decreasing and stabilizing') suggest a monotone curve rather than "
            "an interior minimum, so the two halves of its statement may not agree"),
        ReadingStatement(
            "param-norm-decreasing",
            r"The trial-mean parameter norm of the whole model does not increase with \lambda.",
            None, UNKNOWN),
    ),
    doc_page="docs/claims/empirical-lambda.md",
    proof_script=EVALUATOR_MODULE,
    test_file="tests/test_experiments.py",
)

EMP_DETECTION = ClaimStatement(
    id="emp-detection",
    ref="Section 5.7",
    title="Attention separates faulty from clean data best",
    paper_ref="Section 5.7 (Figures 18-19)",
    paper_wording=(
        "'the attention-regulated fusion approach exhibits a more pronounced separation between the clean and "
        "corrupted samples'; 'the attention-regulated fusion achieves higher true positive rates and lower false "
        "positive rates'."
    ),
    assumptions=(_DATA, "kernel PCA on clean training latents, Mahalanobis distance, threshold at the 95th percentile "
                 "of clean training distances (lipbound.experiments._detect); every corruption of every modality", _BOOT),
    readings=(
        ReadingStatement(
            "youden",
            r"For every dataset: the trial-mean of \mathrm{TPR} - \mathrm{FPR} (averaged over corruptions) is larger "
            r"for attention than for sum and for concat.",
            None, UNKNOWN),
        ReadingStatement(
            "tpr-and-fpr",
            r"For every dataset: attention has both a higher mean TPR and a lower mean FPR than sum and concat.",
            None, UNKNOWN),
    ),
    doc_page="docs/claims/empirical-detection.md",
    proof_script=EVALUATOR_MODULE,
    test_file="tests/test_experiments.py",
)

EMP_TRIMODAL = ClaimStatement(
    id="emp-trimodal",
    ref="Section 5.8",
    title="With a third modality attention still gives the lowest loss and Lipschitz constant",
    paper_ref="Section 5.8 (Table 2, Figure 21)",
    paper_wording=(
        "'Across both the training and testing phases, the Attention-based fusion model consistently yields the lowest "
        "loss'; 'Consistent with findings from bimodal experiments, the attention-based fusion method yields the "
        "lowest Lipschitz constant values'."
    ),
    assumptions=(_DATA, "datasets with at least three modalities only", _BOOT),
    readings=(
        ReadingStatement("lowest-test-loss", r"For every dataset with M \ge 3: the final trial-mean test loss of attention "
                         r"is below those of sum and concat.", None, UNKNOWN),
        ReadingStatement("lowest-lipschitz", r"For every dataset with M \ge 3: the trial-mean whole-model lower bound of "
                         r"attention is below those of sum and concat.", None, UNKNOWN),
    ),
    doc_page="docs/claims/empirical-trimodal.md",
    proof_script=EVALUATOR_MODULE,
    test_file="tests/test_experiments.py",
)

#: the empirical claims, in the paper's order
EMPIRICAL = (EMP_LIPSCHITZ, EMP_CONVERGENCE, EMP_VARIANCE, EMP_DETECTION, EMP_TRIMODAL, EMP_LAMBDA)
