r"""The statement of Eq. (3) (Section 3): Jacobian of sum fusion w.r.t. encoder parameters.

Notation as in :mod:`lipbound.claims._shared.section3_wording`.
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
