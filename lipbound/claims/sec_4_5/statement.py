r"""Section 4.5: Lipschitz regularisation of the attention fusion (normalised inputs, spectral
normalisation, :math:`1/\sqrt{k}` score scaling, L2 penalty)."""

from __future__ import annotations

from .._ledger import ClaimStatement, ReadingStatement

STATEMENT = ClaimStatement(
    id="sec-4.5",
    ref="Section 4.5",
    section="Section 4",
    order=440,
    nav_title="Section 4.5: regularised attention",
    title="Regularised attention: normalisation, spectral control and L2",
    paper_ref="Section 4.5 (4.5.1 normalisation and spectral control; 4.5.2 regularised attention, Eq. 7)",
    paper_wording=(
        "Each input is normalised to unit norm before the linear transformation; each W_i is spectrally normalised "
        "(rescaled so its largest singular value is 1); the normalised transformations are applied to the normalised "
        "inputs, scores are divided by sqrt(d). 'By controlling both the input and operator norms, this ... scheme "
        "directly constrains the overall Lipschitz constant of the multimodal fusion mechanism.' With an L2 term "
        "lambda sum ||W_i||_F^2 the gradient pushes all singular values toward zero; spectral normalisation rescales "
        "the largest to one, so 'the relative magnitudes of the singular values are preserved, but their absolute "
        "scale is reduced'; the combination 'leads to weight matrices that are ... Lipschitz-constrained but also have "
        "suppressed smaller singular values', more so for larger lambda."
    ),
    assumptions=(
        "g(x) = f_{W'}(xhat): Definition 4.1's map with the effective weights W'_i = (W_i / ||W_i||_2) c, "
        "c = 1 or c = k^{-1/4} with score scaling (k = proj_dim), applied to xhat_i = x_i / ||x_i||; output blocks "
        "alpha_i xhat_i (lipbound.models.AttentionFusion, variants attention-regularized[-scaled])",
        "B_1 = {x : ||x_i|| <= 1 for all i} (contains the product of unit spheres where xhat lives); "
        "Lip(f; B_1) = sup over B_1 of ||J_f||_2 (B_1 convex)",
        "training readings: lipbound.zoo.train (Adam on Eq. 2 + lambda sum ||W_i||_F^2) of a small MLP autoencoder "
        "on lipbound.zoo.make_multimodal_data, lambda = 0 and lambda > 0 from the same initial weights, data and "
        "batch order; stable rank srank(W) = ||W||_F^2 / ||W||_2^2 = sum_r (sigma_r / sigma_1)^2",
    ),
    readings=(
        ReadingStatement(
            "unit-spectral-bound",
            r"For all raw W_i \ne 0: \mathrm{Lip}(f_{W'}; B_1) \le \tfrac1M\big(2 w_{\max} \sum_j w_j + \sum_j w_j^2\big) "
            r"= 3c^2, w_i = \lVert W'_i\rVert_2 = c (3 without scaling, 3/\sqrt{k} with), whatever the scale of the "
            r"raw inputs and weights.",
            True, "Theorem 4.1's bound with R = 1, w_i = c; attained (ratio 1) for scalar modalities"),
        ReadingStatement(
            "composed-scale-free",
            r"g(x) = f_{W'}(\hat x) is Lipschitz on \{x : x_i \ne 0\ \forall i\} with a constant independent of the "
            r"inputs' scale (in particular 3c^2).",
            False, "g(cx) = g(x) for c > 0, so near 0 two close points with different directions have outputs O(1) "
                   "apart; on {||x_i|| >= r} the local constant is C/r"),
        ReadingStatement(
            "l2-step-preserves-ratios",
            r"An L2 gradient step W \leftarrow W - 2\eta\lambda W (0 < 2\eta\lambda < 1) followed by spectral "
            r"normalisation leaves W / \lVert W \rVert_2, hence every \sigma_r / \sigma_1, unchanged.",
            True, "the paper's own mechanism sentence: the step multiplies W by a positive scalar"),
        ReadingStatement(
            "spectral-top-singular-value",
            r"After training with spectral normalisation (any \lambda), \sigma_1(W'_i) = c for every i.",
            True, "by construction (exact SVD normalisation)"),
        ReadingStatement(
            "l2-spectral-singular-values",
            r"Training with \lambda > 0 lowers the normalised singular values of the effective weights compared with "
            r"\lambda = 0 (same initial weights, data and batch order): per modality i, the mean per-seed log ratio "
            r"\log(\mathrm{srank}(W'_i)_\lambda / \mathrm{srank}(W'_i)_0) has a 95% interval below 0 (10 seeds per "
            r"\lambda \in \{0.01, 0.1, 1\}, 256 samples, 30 epochs).",
            None, "open tendency: the paper claims it ('suppressed smaller singular values'); an L2 step alone is undone "
                  "exactly by spectral normalisation (l2-step-preserves-ratios), so any effect comes through the data "
                  "term; decided on a seed study",
            kind="tendency"),
        # the j != i readings of Definition 4.1 (AttentionFusion(pairs=...)); c = M - 1 or M
        *(r for p, c, eq in (("others", "M-1", r"(2 + \sqrt{M/(M-1)})\,c^2 \le (2 + \sqrt2)\, c^2"),
                             ("others-over-M", "M", r"\tfrac{2(M-1) + \sqrt{M(M-1)}}{M}\, c^2 < 3c^2"))
          for r in (
            ReadingStatement(
                f"unit-spectral-bound-{p}",
                rf"For the fusion with pairs={p!r} (\alpha_i = \tfrac1{{{c}}} \sum_{{j \ne i}} s_{{ij}}) and all raw W_i \ne 0: "
                rf"\mathrm{{Lip}}(f_{{W'}}; B_1) \le \tfrac1{{{c}}}(2V + T) (Theorem 4.1's our-bound-{p} at R = 1) \le {eq} "
                rf"when every w_i = c, whatever the scale of the raw inputs and weights.",
                True, f"Theorem 4.1's bound for the reading (our-bound-{p}) with R = 1, w_i = c"),
            ReadingStatement(
                f"composed-scale-free-{p}",
                rf"For the fusion with pairs={p!r}, g(x) = f_{{W'}}(\hat x) is Lipschitz on \{{x : x_i \ne 0\}} with a "
                rf"constant independent of the inputs' scale (in particular the bound of unit-spectral-bound-{p}).",
                False, "g(cx) = g(x) under every reading: W_i = I_2, x = (1e-6 e_1, e_1), y = (1e-6 e_2, e_1) give "
                       "outputs O(1) apart at distance sqrt(2) 1e-6"),
        )),
    ),
    doc_page="docs/claims/sec-4.5.md",
    proof_script="lipbound/claims/sec_4_5/proof.py",
    test_file="tests/test_sec_4_5.py",
)
