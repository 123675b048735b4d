r"""The statement of Lemma 3.1 (Section 3): loss gradient w.r.t. decoder parameters.

The paper's text lost its formulas; "as recovered" wording is reconstructed from the surrounding
words and the appendix proofs (see ``docs/claims/``). Notation: per-sample loss
:math:`L = \sum_{k=1}^M \lVert x_k - D_k(z)\rVert_2^2`, :math:`z = U(E_1(x_1;\theta_{E_1}), \dots,
E_M(x_M;\theta_{E_M}))`, decoders :math:`D_j(z;\theta_{D_j})`, :math:`J_a f` the Jacobian of
:math:`f` w.r.t. :math:`a`.
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
