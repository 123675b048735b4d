r"""The statement of ``mvae-findings`` (MVAE findings): the paper's empirical findings on the iCub VAE,
on lipbound's study of the original model.

Claims of the companion paper (arXiv 2411.00522, summary in ``../shared/papers``): the relation
between the whole-vector and single-modality KL measures, and the paper's empirical findings on
the iCub multimodal VAE. Definitions: :mod:`lipbound.mvae._measures`, ``docs/mvae.md``.
"""

from __future__ import annotations

from .._ledger import ClaimStatement, ReadingStatement
from ..mvae._wording import OPEN

STATEMENT = ClaimStatement(
    id="mvae-findings",
    ref="MVAE findings",
    section="Companion paper",
    order=620,
    nav_title="MVAE: the paper's findings on our runs",
    title="The paper's empirical findings on the iCub VAE, on lipbound's study of the original model",
    paper_ref="arXiv 2411.00522, results on the four KL weight schedules",
    paper_wording=(
        "Visual modality is the most informative across all weighting schedules; touch and sound are difficult to "
        "predict regardless of the provided information; the constant 1 schedule suffers from posterior collapse; "
        "the constant 0 schedule performs best for reconstruction; dynamic schedules show intermediate performance, "
        "becoming more similar to their constant counterparts after the weighting is fixed; if delta_all(M) ~ "
        "delta_M(M), M is hard to predict from the others (as summarised)."
    ),
    assumptions=(
        "every reading is a tendency with no prediction of ours (expected None): another paper's empirical finding, "
        "decided by our runs and reported whichever way it falls; a case against it makes it not-supported, never refuted",
        "the study: the original model and loss (lipbound.mvae variant 'original'), 4 schedules x 20 seeds trained as "
        "one vectorised ensemble; by default the committed CPU study (lipbound/claims/mvae/results/cpu.json.gz: 600 "
        "epochs at learning rate 1e-3, 20x the original's, instead of 80,000 at 5e-5), or `lipbound verify --mvae-study` / $LIPBOUND_MVAE_RESULTS",
        "seed k of every schedule starts from the same weights and minibatch order: comparisons are paired by seed, "
        "95% t intervals of per-seed log ratios (positive quantities) or differences",
        "quantities on the 1487 clean test samples, decoded at the latent mean; measures are means over samples",
        "active latent unit (Burda et al. 2016): Var_x mu_z(x)_j > 0.01 over the test set",
        "every row states how many runs met the convergence criterion (lipbound.mvae.convergence)",
    ),
    readings=(
        ReadingStatement("vision-most-informative",
                         r"For every schedule, \Delta_{\text{all}}(\text{vision}) < \Delta_{\text{all}}(M) for every "
                         r"other modality M (vision alone reconstructs the whole vector closest to the full-input output).",
                         None, OPEN, kind="tendency"),
        ReadingStatement("vision-largest-precision-loss",
                         r"For every schedule, \delta_{\text{all}}(\text{vision}) > \delta_{\text{all}}(M) for every other M "
                         r"(muting vision costs the most).",
                         None, OPEN, kind="tendency"),
        ReadingStatement("touch-sound-hard",
                         r"For every schedule, the test MSE with full input divided by the modality's variance on the test "
                         r"set is larger for touch and for sound than for joints, vision and motor.",
                         None, OPEN + "; normalised by each modality's variance, since raw MSE depends on the scale",
                         kind="tendency"),
        ReadingStatement("touch-sound-hard-diagnostic",
                         r"The paper's diagnostic: for every schedule, the share \delta_M(M) / \delta_{\text{all}}(M) is "
                         r"larger for touch and for sound than for joints, vision and motor (muting M changes mostly M's own "
                         r"reconstruction: the others do not predict it).",
                         None, OPEN, kind="tendency"),
        ReadingStatement("per-dim-average-on-runs",
                         r"On the study's models, for every schedule and modality, the measures averaged over samples satisfy "
                         r"\Delta_{\text{all}}(M)/28 \ge \Delta_M(M)/|I_M| and \delta_{\text{all}}(M)/28 \ge \delta_M(M)/|I_M| "
                         r"(the per-dimension reading of mvae-kl-whole-vs-part, decided at the level of the paper's averages).",
                         None, OPEN + "; false in general (mvae-kl-whole-vs-part per-dim-average has a witness)",
                         kind="tendency"),
        ReadingStatement("const1-collapse",
                         r"The constant-1 runs have fewer than half of their latent units active (posterior collapse): "
                         r"the 95% interval of their mean number of active units lies below 14.",
                         None, OPEN, kind="tendency"),
        ReadingStatement("const0-beats-const1",
                         r"The constant-0 schedule has a lower test MSE (full input) than constant 1.",
                         None, OPEN, kind="tendency"),
        ReadingStatement("const0-best-reconstruction",
                         r"The constant-0 schedule has a lower test MSE (full input) than each of the other three schedules.",
                         None, OPEN, kind="tendency"),
        ReadingStatement("dynamic-intermediate",
                         r"Each dynamic schedule's test MSE lies between those of constant 0 (above it) and constant 1 "
                         r"(below it): intermediate performance.",
                         None, OPEN, kind="tendency"),
        ReadingStatement("dynamic-like-counterpart",
                         r"After the weight is fixed, each dynamic schedule is closer to the constant schedule at its plateau "
                         r"than to the other: |\log \mathrm{MSE}_{dyn-p} - \log \mathrm{MSE}_{const-p}| < "
                         r"|\log \mathrm{MSE}_{dyn-p} - \log \mathrm{MSE}_{const-(1-p)}|.",
                         None, OPEN, kind="tendency"),
    ),
    doc_page="docs/claims/mvae-findings.md",
    proof_script="lipbound/claims/mvae_findings/evaluators.py",
    test_file="tests/test_mvae.py",
)
