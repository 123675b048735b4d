"""Numeric evaluators of the Section 4 claims (attention fusion: Lemma 4.1, Theorems 4.1 and 4.2, Section 4.5)."""

from . import lemma_4_1, sec_4_5
