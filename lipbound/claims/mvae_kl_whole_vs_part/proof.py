r"""Symbolic checks for ``mvae-kl-whole-vs-part`` (the KL measures of arXiv 2411.00522).

``additivity``: for one dimension, the closed form of KL(N(m1, s1^2) || N(m2, s2^2)) equals
E_P[log p - log q], computed by expanding the log-density ratio as a polynomial in x and replacing
E[x] = m1, E[x^2] = s1^2 + m1^2; for two independent blocks the log-density ratio of the product is
the sum of the blocks' ratios, so its expectation is the sum of the blocks' KLs (each depends only
on its own block's moments).
``single-whole-ge-part`` / ``precision-whole-ge-part``: with r = s1^2/s2^2 > 0 the per-dimension KL is
(r - 1 - log r)/2 + (m1 - m2)^2/(2 s2^2); g(r) = r - 1 - log r has g(1) = 0, g'(1) = 0 and
g''(r) = 1/r^2 > 0, so g >= 0 and every per-dimension KL is >= 0; whole - part is the sum of the KLs
of the other dimensions (additivity), hence >= 0. Both measures are this statement with different
partial inputs, so the same proof covers both.
``per-dim-average``: exact witness: two dimensions, P and Q equal on the second, KL k > 0 on the
first: whole / 2 = k/2 < k = part / 1.
"""

from __future__ import annotations

import sys

import sympy as sp

from lipbound.claims._ledger import ProofResult
from lipbound.claims._proofs import Steps, is_zero, main


def _kl_closed(m1, s1, m2, s2):
    return sp.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - sp.Rational(1, 2)


def _log_ratio(x, m1, s1, m2, s2):
    """log N(x; m1, s1^2) - log N(x; m2, s2^2) (the 2 pi terms cancel)."""
    return sp.log(s2 / s1) - (x - m1) ** 2 / (2 * s1**2) + (x - m2) ** 2 / (2 * s2**2)


def _expect(poly, x, m, s):
    """E[poly(x)] for x ~ N(m, s^2), poly of degree <= 2 in x."""
    p = sp.Poly(sp.expand(poly), x)
    if p.degree() > 2:
        raise ValueError("degree > 2")
    c = {k[0]: v for k, v in p.terms()}
    return c.get(0, 0) + c.get(1, 0) * m + c.get(2, 0) * (s**2 + m**2)


def prove_additivity() -> ProofResult:
    steps = Steps()
    x, y = sp.symbols("x y", real=True)
    m1, m2, n1, n2 = sp.symbols("m1 m2 n1 n2", real=True)
    s1, s2, t1, t2 = sp.symbols("s1 s2 t1 t2", positive=True)
    e1 = _expect(_log_ratio(x, m1, s1, m2, s2), x, m1, s1)
    steps.check("1-d: E_P[log p - log q] == log(s2/s1) + (s1^2 + (m1-m2)^2)/(2 s2^2) - 1/2",
                is_zero(e1 - _kl_closed(m1, s1, m2, s2)))
    joint = _log_ratio(x, m1, s1, m2, s2) + _log_ratio(y, n1, t1, n2, t2)
    # the expectation of a sum of functions of independent coordinates: each term under its own marginal
    parts = sp.Add.make_args(sp.expand(joint))
    ex = sum(_expect(a, x, m1, s1) if a.has(x) else (_expect(a, y, n1, t1) if a.has(y) else a) for a in parts)
    steps.check("2 blocks: log ratio of the product == sum of the blocks' log ratios",
                is_zero(sp.expand(joint) - sp.expand(_log_ratio(x, m1, s1, m2, s2)) - sp.expand(_log_ratio(y, n1, t1, n2, t2))))
    steps.check("2 blocks: KL(P || Q) == KL(P_1 || Q_1) + KL(P_2 || Q_2)",
                is_zero(ex - _kl_closed(m1, s1, m2, s2) - _kl_closed(n1, t1, n2, t2)))
    return steps.result("any factorized Gaussians: per-dimension identity, and blocks by induction on the 2-block step")


def _nonneg_steps() -> Steps:
    steps = Steps()
    m1, m2 = sp.symbols("m1 m2", real=True)
    s1, s2, r = sp.symbols("s1 s2 r", positive=True)
    g = r - 1 - sp.log(r)
    kl = _kl_closed(m1, s1, m2, s2)
    steps.check("KL == g(s1^2/s2^2)/2 + (m1-m2)^2/(2 s2^2) with g(r) = r - 1 - log r",
                is_zero(sp.expand_log(kl - (g.subs(r, s1**2 / s2**2) / 2 + (m1 - m2) ** 2 / (2 * s2**2)), force=True)))
    steps.check("g(1) == 0", is_zero(g.subs(r, 1)))
    steps.check("g'(1) == 0", is_zero(sp.diff(g, r).subs(r, 1)))
    steps.check("g''(r) == 1/r^2 > 0 for r > 0 (g convex, minimum 0 at r = 1)",
                is_zero(sp.diff(g, r, 2) - 1 / r**2) and bool((1 / r**2).is_positive))
    steps.check("(m1-m2)^2/(2 s2^2) >= 0", bool(((m1 - m2) ** 2 / (2 * s2**2)).is_nonnegative))
    k = sp.symbols("k0:3", nonnegative=True)
    whole, part = sum(k), k[0]
    steps.check("whole - part == sum of the other dimensions' KLs >= 0 (additivity)",
                bool(sp.simplify(whole - part).is_nonnegative))
    return steps


def prove_single() -> ProofResult:
    return _nonneg_steps().result("factorized Gaussian outputs, any partial input (only M given)")


def prove_precision() -> ProofResult:
    return _nonneg_steps().result("factorized Gaussian outputs, any partial input (M muted)")


def refute_per_dim() -> ProofResult:
    steps = Steps()
    k = sp.Symbol("k", positive=True)
    whole_avg, part_avg = (k + 0) / 2, k / 1
    steps.check("whole/|A| >= part/|I_M| on the witness (|A| = 2, |I_M| = 1, KL k on I_M, 0 elsewhere)",
                bool(sp.simplify(whole_avg - part_avg).is_nonnegative))
    return steps.result("exact witness: two 1-d modalities, P and Q differ on the first only")


PROOFS = {
    "additivity": prove_additivity,
    "single-whole-ge-part": prove_single,
    "precision-whole-ge-part": prove_precision,
    "per-dim-average": refute_per_dim,
}

if __name__ == "__main__":
    sys.exit(main(PROOFS, "mvae-kl-whole-vs-part"))
