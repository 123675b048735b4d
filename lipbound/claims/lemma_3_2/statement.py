r"""The statement of Lemma 3.2 (Section 3): loss gradient w.r.t. encoder parameters.

Notation as in :mod:`lipbound.claims._shared.section3_wording`.
"""

from __future__ import annotations

from .._ledger import ClaimStatement, ReadingStatement
from .._shared.section3_wording import DIFFERENTIABLE as _DIFF

STATEMENT = ClaimStatement(
    id="lemma-3.2",
    doc_page="docs/claims/lemma-3.2.md",
    proof_script="lipbound/claims/lemma_3_2/proof.py",
    test_file="tests/test_lemma_3_2.py",
    ref="Lemma 3.2",
    section="Section 3",
    order=320,
    nav_title="Lemma 3.2: encoder gradient",
    title="Loss gradient w.r.t. encoder parameters",
    paper_ref="Lemma 3.2 (Section 3.2; proof in Appendix A.2, Eqs. 13-16)",
    paper_wording=(
        "The loss L has the derivative with respect to any encoder parameters theta_Ei of "
        "-2 sum_j (x_j - D_j(z))^T dD_j/dz dz/dtheta_Ei: every decoder contributes."
    ),
    assumptions=_DIFF,
    readings=(
        ReadingStatement(
            "formula",
            r"\nabla_{\theta_{E_i}} L = -2 \sum_{j=1}^M (J_{\theta_{E_i}} z)^\top (J_z D_j(z))^\top (x_j - D_j(z)) "
            r"for every i and every fusion U (sum, concatenation, attention).",
            True, "chain rule through z"),
    ),
)
