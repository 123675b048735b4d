r"""The statement of Lemma 3.1 (Section 3): loss gradient w.r.t. decoder parameters.

Notation as in :mod:`lipbound.claims._shared.section3_wording`.
"""

from __future__ import annotations

from .._ledger import ClaimStatement, ReadingStatement
from .._shared.section3_wording import DIFFERENTIABLE as _DIFF

STATEMENT = ClaimStatement(
    id="lemma-3.1",
    doc_page="docs/claims/lemma-3.1.md",
    proof_script="lipbound/claims/lemma_3_1/proof.py",
    test_file="tests/test_lemma_3_1.py",
    ref="Lemma 3.1",
    section="Section 3",
    order=310,
    nav_title="Lemma 3.1: decoder gradient",
    title="Loss gradient w.r.t. decoder parameters",
    paper_ref="Lemma 3.1 (Section 3.2; proof in Appendix A.1, Eqs. 9-12)",
    paper_wording=(
        "The loss L, the squared Euclidean reconstruction error of a multimodal autoencoder, has the derivative "
        "with respect to any decoder parameters theta_Dj of -2 (x_j - D_j(z))^T dD_j/dtheta_Dj; 'the sum vanishes "
        "because the only remaining term is the one involving j'."
    ),
    assumptions=_DIFF,
    readings=(
        ReadingStatement(
            "formula",
            r"\nabla_{\theta_{D_j}} L = -2\,(J_{\theta_{D_j}} D_j(z))^\top (x_j - D_j(z)) for every j and every fusion U.",
            True, "chain rule; z does not depend on theta_Dj"),
        ReadingStatement(
            "locality",
            r"For k \ne j: \nabla_{\theta_{D_j}} \lVert x_k - D_k(z)\rVert^2 = 0 (only decoder j's term depends on theta_Dj).",
            True, "disjoint parameters"),
    ),
)
