r"""The statement of Lemma 3.3 (Section 3): jacobian of concatenation fusion w.r.t. encoder parameters (block sparsity).

The paper's text lost its formulas; "as recovered" wording is reconstructed from the surrounding
words and the appendix proofs (see ``docs/claims/``). Notation: per-sample loss
:math:`L = \sum_{k=1}^M \lVert x_k - D_k(z)\rVert_2^2`, :math:`z = U(E_1(x_1;\theta_{E_1}), \dots,
E_M(x_M;\theta_{E_M}))`, decoders :math:`D_j(z;\theta_{D_j})`, :math:`J_a f` the Jacobian of
:math:`f` w.r.t. :math:`a`.
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
