r"""The statement of Lemma 3.2 (Section 3): loss gradient w.r.t. encoder parameters.

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
