r"""Theorem 3.1: the decoder-parameter gradient of the loss is Lipschitz in the input (Section 3.3).

Notation: :math:`x = (x_1, \dots, x_M)` stacked, :math:`X_B = \{x : \lVert x_k \rVert_2 \le B\ \forall k\}`,
:math:`z = U(E_1(x_1), \dots, E_M(x_M))`, :math:`g_{D_j}(x) = \nabla_{\theta_{D_j}} L(x) =
-2\, A_j(z)^\top (x_j - D_j(z))` with :math:`A_j(z) = J_{\theta_{D_j}} D_j(z)` (Lemma 3.1), all norms
Euclidean / spectral.
"""

from __future__ import annotations

from .._ledger import ClaimStatement, ReadingStatement

STATEMENT = ClaimStatement(
    id="thm-3.1",
    ref="Theorem 3.1",
    section="Section 3",
    order=350,
    nav_title="Theorem 3.1: decoder-gradient Lipschitz constant",
    title="Lipschitz constant of the decoder gradient as a function of the input",
    paper_ref="Theorem 3.1 (Section 3.3; proof in Appendix B.1, Eqs. 20-29)",
    paper_wording=(
        "The gradient of the loss with respect to the decoder parameters theta_Dj has the Lipschitz constant "
        "(as recovered from Eqs. 26-29) L_Dj^grad = 2 (G + G L_D L_agg sum_i L_Ei + L_gradD B L_agg sum_i L_Ei), "
        "where G is an upper bound on the decoder gradient norm ||dD_j/dtheta_Dj||, L_D the Lipschitz constant of "
        "the decoder, L_gradD the Lipschitz constant of the decoder gradient, B a bound on the input norm, L_agg "
        "the Lipschitz constant of the aggregation and L_Ei those of the encoders. The proof splits the gradient "
        "difference into three parts (Eqs. 23-25), applies the triangle inequality (Eq. 26) and assumptions "
        "(i) ||dD_j/dtheta|| <= G, (ii) D_j L_D-Lipschitz, (iii) dD_j/dtheta L_gradD-Lipschitz in z, "
        "(iv) bounded input norm, and bounds ||z - z'|| <= L_agg sum_i L_Ei ||x - y|| (Eqs. 27-28)."
    ),
    assumptions=(
        "per-sample loss L = sum_k ||x_k - D_k(z)||^2, z = U(E_1(x_1), ..., E_M(x_M)), separate inputs; "
        "g_Dj(x) = -2 J_theta D_j(z)^T (x_j - D_j(z)) (Lemma 3.1)",
        "input set X_B = {x : ||x_k|| <= B for every k} (convex); Lip(g; X_B) = sup over x != y in X_B of "
        "||g(x) - g(y)|| / ||x - y||, Euclidean norms, spectral norms for matrices",
        "encoders and decoders MLPs with C^1 activations whose derivatives are Lipschitz (tanh, sigmoid, GELU, ELU "
        "with alpha = 1); ReLU excluded: J_theta D_j jumps at its kinks, L_gradD does not exist",
        "G >= sup_{z in Z} ||J_theta D_j(z)||_2 and L_gradD >= Lip(z -> J_theta D_j(z); Z), Z = z(X_B); "
        "L_Dj >= Lip(D_j), L_Ei >= Lip(E_i)",
        "L_agg: Lipschitz constant of U as a map of the stacked latents: sqrt(M) (sum), 1 (concatenation), for "
        "attention (R^2/M)(2 w_max sum_j w_j + sum_j w_j^2) on {||e_i|| <= R}, R = max_i (||E_i(0)|| + L_Ei B)",
        "L_z >= Lip(x -> z; X_B): sqrt(sum_i L_Ei^2) (sum), max_i L_Ei (concatenation), L_agg max_i L_Ei (attention)",
        "R_j >= sup_{X_B} ||x_j - D_j(z)||, e.g. R_j = B + ||D_j(z(0))|| + L_Dj L_z sqrt(M) B",
    ),
    readings=(
        ReadingStatement(
            "paper-bound",
            r"\mathrm{Lip}(g_{D_j}; X_B) \le 2\big(G + G\,L_{D_j} \Lambda + L_{\nabla D}\, B\, \Lambda\big), "
            r"\Lambda = L_{agg} \sum_i L_{E_i} (the paper's constant as recovered, with B bounding the input norm).",
            False,
            "the proof bounds the residual ||x_j - D_j(z)|| by the input bound B; a decoder whose output is far from "
            "the inputs (output bias 100, B = 1) violates it by a factor ~40"),
        ReadingStatement(
            "our-bound",
            r"\mathrm{Lip}(g_{D_j}; X_B) \le 2\big(G\,(1 + L_{D_j} L_z) + L_{\nabla D}\, L_z\, R_j\big).",
            True,
            "three-term split (A - A')^T r + A'^T (x_j - y_j) - A'^T (D_j(z) - D_j(z')) with the residual bound R_j"),
    ),
    doc_page="docs/claims/thm-3.1.md",
    proof_script="lipbound/claims/thm_3_1/proof.py",
    test_file="tests/test_thm_3_1.py",
)
