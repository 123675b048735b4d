r"""The statements of the Section 3 claims: the paper's wording as recovered, and lipbound's readings.

The paper's text lost its formulas; "as recovered" wording is reconstructed from the surrounding
words and the appendix proofs (see ``docs/claims/``). Notation: per-sample loss
:math:`L = \sum_{k=1}^M \lVert x_k - D_k(z)\rVert_2^2`, :math:`z = U(E_1(x_1;\theta_{E_1}), \dots,
E_M(x_M;\theta_{E_M}))`, decoders :math:`D_j(z;\theta_{D_j})`, :math:`J_a f` the Jacobian of
:math:`f` w.r.t. :math:`a`.
"""

from __future__ import annotations

from .._ledger import ClaimStatement, ReadingStatement

_DIFF = (
    "M >= 1 modalities; encoders E_i, fusion U and decoders D_j differentiable at the point considered "
    "(ReLU networks: almost everywhere)",
    "parameter sets theta_E1..theta_EM, theta_D1..theta_DM pairwise disjoint; inputs x_j do not depend on parameters",
    "per-sample loss L = sum_k ||x_k - D_k(z)||_2^2 (Eq. 2); batch losses are means/sums of it",
)


def _claim(cid: str, module: str, **kw) -> ClaimStatement:
    return ClaimStatement(
        id=cid,
        doc_page=f"docs/claims/{cid}.md",
        proof_script=f"proofs/{module}.py",
        test_file=f"tests/test_{module}.py",
        **kw,
    )


LEMMA_3_1 = _claim(
    "lemma-3.1", "lemma_3_1",
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

LEMMA_3_2 = _claim(
    "lemma-3.2", "lemma_3_2",
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

EQ_3 = _claim(
    "eq-3", "eq_3",
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

LEMMA_3_3 = _claim(
    "lemma-3.3", "lemma_3_3",
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

THM_3_3 = _claim(
    "thm-3.3", "thm_3_3",
    ref="Theorem 3.3",
    section="Section 3",
    order=370,
    nav_title="Theorem 3.3: sum vs concatenation",
    title="Sum vs concatenation Lipschitz constants",
    paper_ref="Theorem 3.3 (Section 3.4; proof in Appendix B.3, Eqs. 39-43)",
    paper_wording=(
        "Let E_1..E_M be encoders with functional Lipschitz constants L_i (bounded in the proof by products of "
        "layer operator norms and activation constants, Eq. 39). For the concatenated function and the summed "
        "function, Lip(concat) = sqrt(sum L_i^2) (Eq. 40) <= sum L_i (Eq. 42), and Lip(sum) <= sum L_i (Eq. 41); "
        "'therefore' Lip(concat) <= Lip(sum), with equality if and only if at most one L_i is nonzero. The text "
        "concludes that concatenation yields a more stable model."
    ),
    assumptions=(
        "f_cat = [E_1; ...; E_M], f_sum = sum_i E_i (equal output widths for the sum); Euclidean norms",
        "separate setting: encoder i reads its own x_i, input = stacked (x_1..x_M) with the Euclidean norm",
        "shared setting: every encoder reads the same x",
        "L_i = Lip(E_i) (true constants) unless the reading says 'proof bounds'",
    ),
    readings=(
        ReadingStatement("proof-bounds", r"For reals L_i \ge 0: \sqrt{\sum_i L_i^2} \le \sum_i L_i.", True,
                         "Cauchy-Schwarz / expansion of the square"),
        ReadingStatement("proof-bounds-equality",
                         r"For reals L_i \ge 0: \sqrt{\sum_i L_i^2} = \sum_i L_i iff at most one L_i \ne 0.", True,
                         "the cross terms 2 sum_{i<j} L_i L_j vanish iff at most one is nonzero"),
        ReadingStatement("true-separate",
                         r"Separate inputs: \mathrm{Lip}(f_{cat}) \le \mathrm{Lip}(f_{sum}) for the true constants.",
                         True, "Lip(f_cat) = max_i Lip(E_i) <= Lip(f_sum)"),
        ReadingStatement("true-separate-equality",
                         r"Separate inputs: \mathrm{Lip}(f_{cat}) = \mathrm{Lip}(f_{sum}) only if at most one E_i is "
                         r"non-constant.", False, "encoders with orthogonal ranges give equality"),
        ReadingStatement("true-shared",
                         r"Shared input: \mathrm{Lip}(f_{cat}) \le \mathrm{Lip}(f_{sum}) for the true constants.",
                         False, "E_2 = -E_1 makes f_sum constant"),
        ReadingStatement("concat-equals-l2",
                         r"Eq. (40) as an equality: \mathrm{Lip}(f_{cat}) = \sqrt{\sum_i \mathrm{Lip}(E_i)^2}.",
                         False, "separate inputs give max_i L_i; shared inputs with orthogonal row spaces too"),
        ReadingStatement("concat-le-l2",
                         r"\mathrm{Lip}(f_{cat}) \le \sqrt{\sum_i \mathrm{Lip}(E_i)^2}, both settings.", True,
                         "sum of squared block differences"),
        ReadingStatement("sum-subadditive",
                         r"Eq. (41): \mathrm{Lip}(f_{sum}) \le \sum_i \mathrm{Lip}(E_i), both settings.", True,
                         "triangle inequality"),
        ReadingStatement("frobenius-separate",
                         r"In the Frobenius norm of the input Jacobians (the comparison Section 3.4 frames, the norm "
                         r"Algorithm 1 measures), separate inputs: \lVert J f_{cat}(x) \rVert_F \le \lVert J f_{sum}(x) "
                         r"\rVert_F at every x (hence also for the suprema over x).", True,
                         "both equal sqrt(sum_i ||J_i||_F^2): blockdiag(J_i) and [J_1 ... J_M] have the same entries"),
        ReadingStatement("frobenius-separate-equality",
                         r"In the Frobenius norm, separate inputs: \lVert J f_{cat}(x) \rVert_F = \lVert J f_{sum}(x) "
                         r"\rVert_F only if at most one J_i(x) \ne 0.", False,
                         "the two norms are always equal: A_1 = A_2 = [1] gives sqrt(2) = sqrt(2)"),
        ReadingStatement("frobenius-shared",
                         r"In the Frobenius norm, shared input: \lVert J f_{cat}(x) \rVert_F \le \lVert J f_{sum}(x) "
                         r"\rVert_F at every x.", False,
                         "E_2 = -E_1: ||[I; -I]||_F = 2 > 0 = ||I - I||_F"),
    ),
)

SEC_3_4 = _claim(
    "sec-3.4", "sec_3_4",
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

SECTION_3: tuple[ClaimStatement, ...] = (LEMMA_3_1, LEMMA_3_2, EQ_3, LEMMA_3_3, THM_3_3, SEC_3_4)
