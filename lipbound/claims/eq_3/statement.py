r"""The statement of Eq. (3) (Section 3): jacobian of sum fusion w.r.t. encoder parameters.

The paper's text lost its formulas; "as recovered" wording is reconstructed from the surrounding
words and the appendix proofs (see ``docs/claims/``). Notation: per-sample loss
:math:`L = \sum_{k=1}^M \lVert x_k - D_k(z)\rVert_2^2`, :math:`z = U(E_1(x_1;\theta_{E_1}), \dots,
E_M(x_M;\theta_{E_M}))`, decoders :math:`D_j(z;\theta_{D_j})`, :math:`J_a f` the Jacobian of
:math:`f` w.r.t. :math:`a`.
"""

from __future__ import annotations

from .._ledger import ClaimStatement, ReadingStatement

STATEMENT = ClaimStatement(
    id="eq-3",
    doc_page="docs/claims/eq-3.md",
    proof_script="lipbound/claims/eq_3/proof.py",
    test_file="tests/test_eq_3.py",
    ref="Eq. (3)",
    section="Section 3",
    order=330,
    nav_title="Eq. (3): sum fusion Jacobian",
    title="Jacobian of sum fusion w.r.t. encoder parameters",
    paper_ref="Eq. (3) (Section 3.2)",
    paper_wording=(
        "For z = sum_k E_k(x_k; theta_Ek), the derivative of z with respect to theta_Ei is dE_i/dtheta_Ei, "
        "and all other derivatives for k != i are zero."
    ),
    assumptions=("encoders differentiable in their parameters; disjoint parameter sets; equal latent widths",),
    readings=(
        ReadingStatement(
            "formula",
            r"For z = \sum_k E_k(x_k;\theta_{E_k}): J_{\theta_{E_i}} z = J_{\theta_{E_i}} E_i(x_i;\theta_{E_i}), and "
            r"J_{\theta_{E_i}} E_k = 0 for k \ne i.",
            True, "linearity of the sum; disjoint parameters"),
    ),
)
