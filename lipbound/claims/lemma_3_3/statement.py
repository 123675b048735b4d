r"""The statement of Lemma 3.3 (Section 3): Jacobian of concatenation fusion w.r.t. encoder parameters
(block sparsity).

Notation as in :mod:`lipbound.claims._shared.section3_wording`.
"""

from __future__ import annotations

from .._ledger import ClaimStatement, ReadingStatement

STATEMENT = ClaimStatement(
    id="lemma-3.3",
    doc_page="docs/claims/lemma-3.3.md",
    proof_script="lipbound/claims/lemma_3_3/proof.py",
    test_file="tests/test_lemma_3_3.py",
    ref="Lemma 3.3",
    section="Section 3",
    order=340,
    nav_title="Lemma 3.3: concatenation Jacobian",
    title="Jacobian of concatenation fusion w.r.t. encoder parameters (block sparsity)",
    paper_ref="Lemma 3.3 (Section 3.2; proof in Appendix A.3, Eqs. 17-19)",
    paper_wording=(
        "For the concatenation z = [E_1; ...; E_M] of dimension sum_k d_k, the derivative of z with respect to "
        "theta_Ei is block-sparse: dE_i/dtheta_Ei in block i and zero matrices elsewhere, aligned with the "
        "concatenation order."
    ),
    assumptions=("encoders differentiable in their parameters; disjoint parameter sets",),
    readings=(
        ReadingStatement(
            "formula",
            r"J_{\theta_{E_i}} z is the (\sum_k d_k) \times p_i matrix whose rows d_1+...+d_{i-1}+1 .. d_1+...+d_i "
            r"equal J_{\theta_{E_i}} E_i and whose other rows are exactly zero.",
            True, "concatenation copies coordinates"),
    ),
)
