r"""The statement of Section 3.4 (Section 3): fusion gradient w.r.t. encoder parameters: same Lipschitz
constant under sum and concat.

Notation as in :mod:`lipbound.claims._shared.section3_wording`.
"""

from __future__ import annotations

from .._ledger import ClaimStatement, ReadingStatement

STATEMENT = ClaimStatement(
    id="sec-3.4",
    doc_page="docs/claims/sec-3.4.md",
    proof_script="lipbound/claims/sec_3_4/proof.py",
    test_file="tests/test_sec_3_4.py",
    ref="Section 3.4",
    section="Section 3",
    order=380,
    nav_title="Section 3.4: equally Lipschitz fusion gradients",
    title="Fusion gradient w.r.t. encoder parameters: same Lipschitz constant under sum and concat",
    paper_ref="Section 3.4 (paragraph after Theorem 3.3)",
    paper_wording=(
        "For both fusion methods, summation and concatenation, the gradient with respect to encoder parameters "
        "exhibits identical Lipschitz continuity: the Jacobian reduces to dE_i/dtheta_i (with zero-padding for "
        "other encoders), preserving the spectral norm, so the local Lipschitz constant depends solely on the "
        "i-th encoder's smoothness, irrespective of the aggregation method."
    ),
    assumptions=(
        "the same encoders and parameters under both fusions; equal latent widths (needed by the sum)",
        "the claim is about the fused latent z, not the loss gradient (decoders see different z under sum and concat)",
    ),
    readings=(
        ReadingStatement("jacobian-norms-equal",
                         r"\lVert J_{\theta_{E_i}} z_{sum}\rVert_2 = \lVert J_{\theta_{E_i}} z_{cat}\rVert_2 and the "
                         r"same for the Frobenius norm, at every input and parameter.", True,
                         "zero padding preserves singular values"),
        ReadingStatement("lipschitz-equal",
                         r"The maps \theta_{E_i} \mapsto J_{\theta_{E_i}} z and x_i \mapsto J_{\theta_{E_i}} z have "
                         r"equal Lipschitz constants under sum and concat.", True,
                         "their differences at any two points differ only by zero padding"),
    ),
)
