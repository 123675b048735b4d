"""Numeric evaluators of the Section 3 claims (Lemmas 3.1-3.3, Eq. 3, Theorem 3.3, Section 3.4)."""

from . import lemma_3_1, lemma_3_2, sec_3_4, thm_3_3
from ._fusion_jacobian import EQ3_EVALUATORS, LEMMA33_EVALUATORS

__all__ = ["EQ3_EVALUATORS", "LEMMA33_EVALUATORS", "lemma_3_1", "lemma_3_2", "sec_3_4", "thm_3_3"]
