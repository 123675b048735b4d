"""Numeric evaluators of the Section 4 claims (attention fusion: Lemma 4.1, Theorems 4.1 and 4.2, Section 4.5;
the paper's Lipschitz estimator: Section 4.6, Algorithm 1, Eq. 8)."""

from . import lemma_4_1, sec_4_5, sec_4_6
