r"""Theorem 3.2: the encoder-parameter gradient of the loss is Lipschitz in the input (Section 3.3), and
the paragraph after it (the encoder's constant exceeds the decoder's).

Notation as in :mod:`lipbound.claims.thm_3_1.statement`; :math:`g_{E_i}(x) = \nabla_{\theta_{E_i}} L(x) =
-2 \sum_j P_i(x)^\top Q_j(z)^\top (x_j - D_j(z))` with :math:`P_i(x) = J_{\theta_{E_i}} z` and
:math:`Q_j(z) = J_z D_j(z)` (Lemma 3.2).
"""

from __future__ import annotations

from .._ledger import ClaimStatement, ReadingStatement

STATEMENT = ClaimStatement(
    id="thm-3.2",
    ref="Theorem 3.2",
    section="Section 3",
    order=360,
    nav_title="Theorem 3.2: encoder-gradient Lipschitz constant",
    title="Lipschitz constant of the encoder gradient as a function of the input",
    paper_ref="Theorem 3.2 (Section 3.3; proof in Appendix B.2, Eqs. 30-38) and the paragraph after it",
    paper_wording=(
        "The gradient of the loss with respect to the encoder parameters theta_Ei has the Lipschitz constant "
        "(as recovered from Eqs. 34-38) L_Ei^grad = 2 sum_j [G_z L_Dj (1 + L_Dj L_agg sum_k L_Ek) + "
        "B (G_z L_gradDj L_agg sum_k L_Ek + L_Dj L_Gz)], where L_Dj is the Lipschitz constant of D_j, L_gradDj that "
        "of its gradient dD_j/dz, G_z a bound on ||dz/dtheta_Ei|| and L_Gz its sensitivity to input changes, L_agg "
        "the aggregation's constant and B the bound on the input norm. The proof adds and subtracts intermediate "
        "terms (four parts, Eqs. 34-37) under assumptions (i)-(vi). The paragraph after the theorem: the encoder "
        "constant aggregates over all decoders and involves derivatives of both encoder and decoder, so L_Ei^grad "
        "'is typically higher' than L_Dj^grad and encoder training 'more sensitive'."
    ),
    assumptions=(
        "as Theorem 3.1 (thm-3.1): separate inputs, X_B = {x : ||x_k|| <= B for every k}, smooth activations, "
        "certified L_Dj, L_Ei, L_agg, L_z, R_j",
        "g_Ei(x) = -2 sum_j (J_theta_Ei z)^T (J_z D_j(z))^T (x_j - D_j(z)) (Lemma 3.2)",
        "G_z >= sup_{X_B} ||J_theta_Ei z(x)||_2, L_Gz >= Lip(x -> J_theta_Ei z(x); X_B), "
        "L_gradDj >= Lip(z -> J_z D_j(z); Z), ||J_z D_j|| <= L_Dj",
        "encoder-exceeds-decoder compares the true constants Lip(g_Ei; X_B) and Lip(g_Dj; X_B) of one model",
    ),
    readings=(
        ReadingStatement(
            "paper-bound",
            r"\mathrm{Lip}(g_{E_i}; X_B) \le 2 \sum_j \big[G_z L_{D_j}(1 + L_{D_j}\Lambda) + B\,(G_z L_{\nabla D_j}\Lambda "
            r"+ L_{D_j} L_{G_z})\big], \Lambda = L_{agg} \sum_k L_{E_k} (recovered; B bounds the input norm).",
            False,
            "the residual ||x_j - D_j(z)|| is bounded by B; output bias 100 with B = 1 violates it by a factor ~20"),
        ReadingStatement(
            "our-bound",
            r"\mathrm{Lip}(g_{E_i}; X_B) \le 2 \sum_j \big[L_{G_z} L_{D_j} R_j + G_z L_{\nabla D_j} L_z R_j "
            r"+ G_z L_{D_j}(1 + L_{D_j} L_z)\big].",
            True,
            "three-term split (P - P')^T Q^T r + P'^T (Q - Q')^T r + P'^T Q'^T (r - r') per decoder"),
        ReadingStatement(
            "encoder-exceeds-decoder",
            r"Tendency ('typically'): \mathrm{Lip}(g_{E_i}; X_B) \ge \mathrm{Lip}(g_{D_j}; X_B) for the encoders i and "
            r"decoders j of a model; checked on every generated and trained model, reporting on how many it held.",
            False,
            "the paper hedges ('typically'), so a reversed case makes it not-supported, not refuted; the ledger "
            "expects it not supported: the decoder gradient contains -2 r_j (output bias), whose Lipschitz constant "
            "is about 2, while the encoder gradient scales with the decoder's Jacobian and the input scale, so small "
            "decoders or small inputs reverse the order (exact linear witness E(x) = x, D(z) = z/100)",
            kind="tendency"),
    ),
    doc_page="docs/claims/thm-3.2.md",
    proof_script="lipbound/claims/thm_3_2/proof.py",
    test_file="tests/test_thm_3_2.py",
)
