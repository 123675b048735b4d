r"""The statement of ``mvae-kl-whole-vs-part`` (MVAE measures): whole-vector KL measures dominate their
single-modality versions.

Claims of the companion paper (arXiv 2411.00522, summary in ``../shared/papers``): the relation
between the whole-vector and single-modality KL measures, and the paper's empirical findings on
the iCub multimodal VAE. Definitions: :mod:`lipbound.mvae._measures`, ``docs/mvae.md``.
"""

from __future__ import annotations

from .._ledger import ClaimStatement, ReadingStatement

STATEMENT = ClaimStatement(
    id="mvae-kl-whole-vs-part",
    ref="MVAE measures",
    section="Companion paper",
    order=610,
    nav_title="MVAE: whole-vector vs single-modality KL",
    title="Whole-vector KL measures dominate their single-modality versions",
    paper_ref="arXiv 2411.00522, the four measures (single modality error, loss of precision)",
    paper_wording=(
        "delta_all(M) >= delta_M(M) and Delta_all(M) >= Delta_M(M) hold for all modalities; if delta_all(M) ~ "
        "delta_M(M), M is hard to predict from the others; if Delta_all(M) < Delta_M(M), M is highly informative "
        "for the others (as summarised)."
    ),
    assumptions=(
        "output distributions are factorized Gaussians N(mu, diag sigma^2) over the 28 dimensions, sigma > 0",
        "I_M is the set of modality M's dimensions; the modalities partition the dimensions",
        "measures are sums of per-dimension KL(full || partial), averaged over test samples (docs/mvae.md)",
    ),
    readings=(
        ReadingStatement("additivity",
                         r"\mathrm{KL}(P \| Q) = \sum_{M} \mathrm{KL}(P|_{I_M} \| Q|_{I_M}) for factorized Gaussians P, Q.",
                         True, "log-density of a product is a sum; expectation is linear"),
        ReadingStatement("single-whole-ge-part", r"\Delta_{\text{all}}(M) \ge \Delta_M(M) for every modality M.",
                         True, "whole minus part is a sum of KLs of the other modalities, each >= 0"),
        ReadingStatement("precision-whole-ge-part", r"\delta_{\text{all}}(M) \ge \delta_M(M) for every modality M.",
                         True, "same argument"),
        ReadingStatement("per-dim-average",
                         r"The inequality also holds for per-dimension averages: "
                         r"\mathrm{KL}(P \| Q)/|A| \ge \mathrm{KL}(P|_{I_M} \| Q|_{I_M})/|I_M|.",
                         False, "fails when P and Q differ only on I_M (2 dims, M = first: k/2 < k)"),
    ),
    doc_page="docs/claims/mvae-kl-whole-vs-part.md",
    proof_script="lipbound/claims/mvae_kl_whole_vs_part/proof.py",
    test_file="tests/test_mvae.py",
)
