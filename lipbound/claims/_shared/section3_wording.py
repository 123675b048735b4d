r"""Wording the Section 3 statements share.

The paper's text lost its formulas; "as recovered" wording is reconstructed from the surrounding
words and the appendix proofs (see ``docs/claims/``). Notation: per-sample loss
:math:`L = \sum_{k=1}^M \lVert x_k - D_k(z)\rVert_2^2`, :math:`z = U(E_1(x_1;\theta_{E_1}), \dots,
E_M(x_M;\theta_{E_M}))`, decoders :math:`D_j(z;\theta_{D_j})`, :math:`J_a f` the Jacobian of
:math:`f` w.r.t. :math:`a`.
"""

#: the differentiability and disjointness assumptions of Lemmas 3.1-3.3, Eq. (3), Theorem 3.3 and Section 3.4
DIFFERENTIABLE = (
    "M >= 1 modalities; encoders E_i, fusion U and decoders D_j differentiable at the point considered "
    "(ReLU networks: almost everywhere)",
    "parameter sets theta_E1..theta_EM, theta_D1..theta_DM pairwise disjoint; inputs x_j do not depend on parameters",
    "per-sample loss L = sum_k ||x_k - D_k(z)||_2^2 (Eq. 2); batch losses are means/sums of it",
)
