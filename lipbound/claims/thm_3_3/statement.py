r"""The statement of Theorem 3.3 (Section 3): sum vs concatenation Lipschitz constants.

Notation as in :mod:`lipbound.claims._shared.section3_wording`.
"""

from __future__ import annotations

from .._ledger import ClaimStatement, ReadingStatement

STATEMENT = ClaimStatement(
    id="thm-3.3",
    doc_page="docs/claims/thm-3.3.md",
    proof_script="lipbound/claims/thm_3_3/proof.py",
    test_file="tests/test_thm_3_3.py",
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
