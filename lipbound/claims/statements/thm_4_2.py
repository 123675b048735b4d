r"""Theorem 4.2: the Lipschitz constant of the attention map's Jacobian (Section 4.4)."""

from __future__ import annotations

from .._ledger import ClaimStatement, ReadingStatement

STATEMENT = ClaimStatement(
    id="thm-4.2",
    ref="Theorem 4.2",
    title="Lipschitz constant of the attention Jacobian",
    paper_ref="Theorem 4.2 (Section 4.4; proof sketch in Appendix C.3)",
    paper_wording=(
        "With the matrices W_i fixed, the gradient (Jacobian) map of the attention fusion is Lipschitz on a compact "
        "set, with a constant bounded by C_M times a cubic expression in the operator norms of the W_i times the "
        "input bound, where C_M depends linearly on M: 'a Lipschitz constant that depends cubically on the operator "
        "norms of the weight matrices'; the proof sketch argues each derivative of a Jacobian block adds one weight "
        "matrix, and summing pairwise terms adds a linear dependence on M."
    ),
    assumptions=(
        "plain attention of Definition 4.1 with effective weights W_i, M >= 2; input set B_R = {x : ||x_i|| <= R}",
        "Lip(J; B_R) = sup over x in B_R and unit v of ||dJ(x)[v]||_2 (spectral norm of the directional derivative "
        "of the Jacobian), which equals the Lipschitz constant of x -> J(x) in the spectral norm on the convex B_R",
        "w_i, w_max, S, sigma, U as in Theorem 4.1",
    ),
    readings=(
        ReadingStatement("our-bound",
                         r"\mathrm{Lip}(J; B_R) \le \frac{2 R\, w_{\max}}{M}\,(U + 2\sigma).", True,
                         "second derivative d^2 f[h, v] split into three terms, each bounded"),
        ReadingStatement("homogeneity",
                         r"f(x; tW) = t^2 f(x; W) and f(cx; W) = c^3 f(x; W); hence \mathrm{Lip}(J; B_R)(tW) = t^2 R\, \mathrm{Lip}(J; B_1)(W).",
                         True, "f is a cubic form in x and a quadratic form in W"),
        ReadingStatement("cubic-in-w",
                         r"There is C_M with \mathrm{Lip}(J; B_R) \le C_M W_{\max}^3 R for all weights (cubic in the operator norms).",
                         False, "the constant scales as t^2 under W -> tW, so small weights violate any such C_M: the "
                         "bound itself is false (universal), not merely loose"),
        ReadingStatement("linear-in-M",
                         r"Growth rate of the bound's constant C_M (linear in M) is attained by the true constant: for "
                         r"weights of unit spectral norm \mathrm{Lip}(J)(8M) \ge 4\,\mathrm{Lip}(J)(M).",
                         False, "with unit-norm weights our bound is at most 2R(1 + 2/sqrt(M)): bounded in M, so a C_M "
                         "linear in M is loose (the paper's C_M is a constant of its bound, not the true constant)",
                         kind="growth-rate"),
    ),
    doc_page="docs/claims/thm-4.2.md",
    proof_script="proofs/thm_4_2.py",
    test_file="tests/test_thm_4_2.py",
)
