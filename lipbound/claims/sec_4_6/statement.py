r"""Section 4.6 / Algorithm 1 / Eq. 8: the paper's Lipschitz estimator.

Notation: :math:`f: \mathbb R^n \to \mathbb R^m` a sub-model (an encoder or a decoder),
:math:`J(x) = J_f(x)` its input Jacobian, :math:`\operatorname{Lip}(f) = \sup_x \lVert J(x) \rVert_2`
(Euclidean norms), :math:`x_1, x_2, \dots` i.i.d. samples from a distribution :math:`P` with support
:math:`S`, and Eq. 8's estimate on the first :math:`N` samples

.. math::  \hat L_N = \max_{k \le N} \lVert J(x_k) \rVert_F ,

with its limit :math:`S_F = \operatorname{ess\,sup}_{x \sim P} \lVert J(x) \rVert_F`. Algorithm 1's
gradient-Lipschitz figure is :math:`\max \lVert g(x) - g(y) \rVert / (\lVert x - y \rVert + \epsilon)`
over sampled pairs, :math:`g` the rows of :math:`J` for a random subset of outputs
(:func:`lipbound.bounds.paper_estimator`).
"""

from __future__ import annotations

from .._ledger import ClaimStatement, ReadingStatement

STATEMENT = ClaimStatement(
    id="sec-4.6",
    ref="Section 4.6",
    section="Section 4",
    order=450,
    nav_title="Section 4.6: the paper's Lipschitz estimator",
    title="The paper's Lipschitz estimator",
    paper_ref="Section 4.6 (Lipschitz constant estimation), Eq. 8 and Algorithm 1",
    paper_wording=(
        "For each sub-model (each encoder or decoder) the Lipschitz constant is 'the smallest value that bounds the "
        "maximum rate of change in the model's output relative to changes in its input'; computing it exactly is "
        "NP-hard (Virmaux and Scaman, 2018), so 'we approximate it by assessing the maximum Frobenius norm of the "
        "model's gradient with respect to the input' (Eq. 8, over random samples instead of the full data set). The "
        "gradient Lipschitz constant is estimated from the gradients at sampled pairs of points by the ratio "
        "||g(x) - g(y)|| / (||x - y|| + eps), with a small threshold eps against division by zero, on random "
        "subsets of output gradients (Algorithm 1). 'Our strategy offers a practical and robust approximation of "
        "the Lipschitz behavior during training.' Every Lipschitz figure of Section 5 is produced this way."
    ),
    assumptions=(
        "f: R^n -> R^m a linear map f(x) = W x + b or a one-hidden-layer ReLU network f(x) = W2 relu(W1 x + b1) + b2 "
        "with W1 (h x n) of full row rank h <= n (then Lip(f) = max over activation patterns D of ||W2 D W1||_2, "
        "lipbound.bounds.exact_lipschitz); the paper's sub-models are deeper ReLU networks, for which the same "
        "arguments apply but no exact constant is computed",
        "Euclidean norms; Lip(f) = sup_x ||J(x)||_2; samples i.i.d. standard Gaussian (times a scale) on R^n, "
        "so the support S is all of R^n and every activation pattern of a full-row-rank W1 has positive probability",
        "the estimate hat L_N = max over the first N samples of ||J(x_k)||_F, computed by "
        "lipbound.bounds.paper_estimator (float64, torch.func Jacobians); at a kink autograd takes relu'(0) = 0 "
        "(samples hit a kink with probability 0)",
        "gradient-Lipschitz figure: Algorithm 1's ratio with eps = 1e-8 (the paper does not give its value)",
    ),
    readings=(
        ReadingStatement(
            "upper-bound",
            r"\hat L_N \ge \operatorname{Lip}(f) for every network and sample set: the estimate bounds the Lipschitz "
            r"constant from above.",
            False,
            "a maximum over finitely many samples misses a region of larger slope that the samples do not visit: "
            "f(x) = relu(x_1) + 5 relu(x_2 - 10) has Lip = sqrt(26) but hat L = 1 on Gaussian samples (none has "
            "x_2 > 10); for scalar outputs ||J||_F = ||J||_2, so hat L_N <= Lip always"),
        ReadingStatement(
            "lower-bound",
            r"\hat L_N \le \operatorname{Lip}(f) for every network and sample set: the estimate is a sampled lower "
            r"bound, as a maximum of Jacobian norms over samples would be with the spectral norm.",
            False,
            "the Frobenius norm exceeds the spectral norm by up to sqrt(rank J): the identity of R^2 has Lip = 1 and "
            "hat L = sqrt(2) at every sample"),
        ReadingStatement(
            "frobenius-sandwich",
            r"At every sample, \lVert J(x) \rVert_2 \le \lVert J(x) \rVert_F \le \sqrt{\min(m, n)}\,"
            r"\lVert J(x) \rVert_2; hence \hat L_N \le \sqrt{\min(m,n)}\,\operatorname{Lip}(f).",
            True,
            "||J||_F^2 = sum of the squared singular values, at most min(m, n) of them nonzero; tight on the left "
            "for rank one, on the right for equal singular values"),
        ReadingStatement(
            "consistent",
            r"As the number of samples grows, \hat L_N \to \operatorname{Lip}(f): the estimate is consistent for "
            r"the Lipschitz constant.",
            False,
            "hat L_N increases to S_F = ess sup ||J(x)||_F over the samples' distribution, which is >= Lip(f) and "
            "equals it only when a Jacobian of largest Frobenius norm is rank one with that norm equal to Lip(f) "
            "(for example scalar outputs); the identity of R^2 gives S_F = sqrt(2) != 1"),
        ReadingStatement(
            "converges-to-sup-frobenius",
            r"\hat L_N is non-decreasing in N, \hat L_N \le S_F, and \hat L_N \to S_F almost surely, where "
            r"S_F = \operatorname{ess\,sup}_{x \sim P} \lVert J(x) \rVert_F; for Gaussian samples, linear maps and "
            r"one-hidden-layer ReLU networks with full-row-rank W_1, S_F = \max_D \lVert W_2 D W_1 \rVert_F.",
            True,
            "a running maximum of i.i.d. draws converges a.s. to their essential supremum; a piecewise-constant "
            "Jacobian reaches it once a sample falls in a maximising region (probability > 0 each draw)"),
        ReadingStatement(
            "gradient-lipschitz-relu",
            r"For the paper's ReLU networks the gradient x \mapsto J(x) is Lipschitz, so Algorithm 1's "
            r"gradient-Lipschitz figure estimates a finite constant: \lVert J(x) - J(y) \rVert_F \le L_g "
            r"\lVert x - y \rVert for some L_g < \infty.",
            False,
            "J is piecewise constant and jumps across every kink hyperplane of a unit i with W2[:, i] != 0: the jump "
            "is ||W2[:, i]|| ||W1[i, :]|| however close the pair, so the ratio ~ jump / (||x - y|| + eps) measures the "
            "jump and the sample spacing (up to jump / eps), not a Lipschitz constant; witness relu on R"),
    ),
    doc_page="docs/claims/sec-4.6.md",
    proof_script="lipbound/claims/sec_4_6/proof.py",
    test_file="tests/test_sec_4_6.py",
)
