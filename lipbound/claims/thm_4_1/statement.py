r"""Theorem 4.1: the Lipschitz constant of the pairwise-averaged bilinear attention map (Section 4.2)."""

from __future__ import annotations

from .._ledger import ClaimStatement, ReadingStatement

STATEMENT = ClaimStatement(
    id="thm-4.1",
    ref="Theorem 4.1",
    section="Section 4",
    order=420,
    nav_title="Theorem 4.1: attention Lipschitz constant",
    title="Lipschitz constant of the attention fusion on a bounded set",
    paper_ref="Theorem 4.1 (Section 4.2; proof in Appendix C.2, Steps 1-5)",
    paper_wording=(
        "Let K be compact, R = max ||x_i|| over K and W_max = max_i ||W_i||_2. The attention map f of Definition 4.1 "
        "is Lipschitz on K with an explicit bound; the proof bounds |s_ij| <= W^2 R^2, the change of s_ij, of alpha_i "
        "and of each block (||f_i(x) - f_i(y)|| <= W^2 R^2 (2 ||x_i - y_i|| + (1/M) sum_j ||x_j - y_j||)), then "
        "combines with (a+b)^2 <= 2(a^2 + b^2), giving (as reconstructed) L <= sqrt(10) R^2 W_max^2. The text says "
        "the constant grows quadratically with the input magnitude and 'linearly with the spectral norms', and that "
        "attention is smoother than sum/concatenation when c R^2 times the product of the largest spectral norms is "
        "below 1 and more sensitive when it is above 1."
    ),
    assumptions=(
        "plain attention of Definition 4.1 with effective weights W_i in R^{k x d_i} (after any spectral "
        "normalisation and 1/sqrt(d) scaling), M >= 2",
        "input set B_R = {x : ||x_i|| <= R for every i} (convex); Lip(f; B_R) = sup over B_R of ||J_f(x)||_2",
        "w_i = ||W_i||_2, w_max = max w_i, S = sum w_i, sigma = ||[W_1 ... W_M]||_2, U = min(S, sigma sqrt(M)); "
        "omega = W_max^2 stands for the paper's 'product of the largest spectral norms'",
        "Lip(concat) = 1 and Lip(sum) = sqrt(M) as maps of the stacked latents",
        "readings ending in -others / -others-over-M: Definition 4.1 with alpha_i = (1/c) sum_{j != i} s_ij, c = M - 1 / "
        "c = M (AttentionFusion(pairs=...)); every other assumption as above",
    ),
    readings=(
        ReadingStatement("our-bound",
                         r"\mathrm{Lip}(f; B_R) \le \frac{R^2}{M}\big(2 w_{\max} U + \sigma \sqrt{\textstyle\sum_i w_i^2}\big).",
                         True, "J = D + X G with ||D|| <= max|alpha_i|, ||X|| <= R, ||G|| bounded blockwise"),
        ReadingStatement("paper-bound", r"\mathrm{Lip}(f; B_R) \le \sqrt{10}\, R^2 W_{\max}^2 (reconstructed constant).",
                         True, "the proof's steps are sound; ours is never larger"),
        ReadingStatement("quadratic-in-R", r"\mathrm{Lip}(f; B_{cR}) = c^2\, \mathrm{Lip}(f; B_R) for c > 0.", True,
                         "f is homogeneous of degree 3 in x"),
        ReadingStatement("linear-in-w",
                         r"The constant grows linearly with the spectral norms: \mathrm{Lip}(f_{tW}; B_R) = t\,\mathrm{Lip}(f_W; B_R).",
                         False, "f is homogeneous of degree 2 in W: the constant scales as t^2"),
        ReadingStatement("regime-below",
                         r"If \sqrt{10} R^2 \omega < 1 then \mathrm{Lip}(f; B_R) < 1 = \mathrm{Lip}(\text{concat}) \le \sqrt{M} = \mathrm{Lip}(\text{sum}).",
                         True, "follows from either bound"),
        ReadingStatement("regime-above",
                         r"If \sqrt{10} R^2 \omega > 1 then \mathrm{Lip}(f; B_R) > 1 (attention more sensitive than concatenation).",
                         False, "the bound is not attained: w^2 R^2 = 0.32, M = 2, scalar modalities give Lip <= 0.96"),
        # the j != i readings of Definition 4.1 (AttentionFusion(pairs=...)); c = M - 1 or M
        *(r for p, c, wit in (("others", "M-1", "M = 4 scalar modalities, w^2 = 0.3166: bound 0.3166 (2 + sqrt(4/3)) < 1"),
                              ("others-over-M", "M", "M = 2 scalar modalities, w^2 = 0.32: bound 0.32 (2 + sqrt 2)/2 < 1"))
          for r in (
            ReadingStatement(
                f"our-bound-{p}",
                rf"With \alpha_i = \tfrac1{{{c}}} \sum_{{j \ne i}} s_{{ij}} (pairs={p!r}): \mathrm{{Lip}}(f; B_R) \le "
                rf"\frac{{R^2}}{{{c}}}\big(2 V + T\big), V = \max_i w_i \min(S - w_i, \sigma\sqrt{{M-1}}), "
                rf"T = \min\big(\sigma \sqrt{{\textstyle\sum_i w_i^2}}, \sqrt{{(\sum_i w_i^2)^2 - \sum_i w_i^4}}\big).",
                True, "J = D + X G' with the s_ii terms removed: |alpha_i| <= R^2 V / c, ||G'|| <= R (V + T) / c"),
            ReadingStatement(
                f"paper-bound-{p}",
                rf"\mathrm{{Lip}}(f; B_R) \le \sqrt{{10}}\, R^2 W_{{\max}}^2 for the map with pairs={p!r}.",
                True, "Appendix C.2's steps hold with the average over j != i: |alpha_i| <= W^2 R^2, and "
                      "sum_i (mean_{j != i} ||x_j - y_j||)^2 <= ||x - y||^2"),
            ReadingStatement(
                f"quadratic-in-R-{p}",
                rf"\mathrm{{Lip}}(f; B_{{cR}}) = c^2\, \mathrm{{Lip}}(f; B_R) for the map with pairs={p!r}.",
                True, "f is homogeneous of degree 3 in x under every reading"),
            ReadingStatement(
                f"linear-in-w-{p}",
                rf"\mathrm{{Lip}}(f_{{tW}}; B_R) = t\,\mathrm{{Lip}}(f_W; B_R) for the map with pairs={p!r}.",
                False, "f is homogeneous of degree 2 in W under every reading: M = 2 scalar modalities, W_i = 1 give "
                       "Lip >= 3 t^2 at the corner (1, 1), above t times a certified bound at W"),
            ReadingStatement(
                f"regime-below-{p}",
                rf"If \sqrt{{10}} R^2 \omega < 1 then \mathrm{{Lip}}(f; B_R) < 1 for the map with pairs={p!r}.",
                True, f"follows from paper-bound-{p}"),
            ReadingStatement(
                f"regime-above-{p}",
                rf"If \sqrt{{10}} R^2 \omega > 1 then \mathrm{{Lip}}(f; B_R) > 1 for the map with pairs={p!r}.",
                False, f"the bound is not attained: {wit}"),
        )),
    ),
    doc_page="docs/claims/thm-4.1.md",
    proof_script="lipbound/claims/thm_4_1/proof.py",
    test_file="tests/test_thm_4_1.py",
)
