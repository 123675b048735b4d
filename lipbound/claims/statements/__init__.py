"""What each claim says: the paper's wording as recovered and lipbound's readings, one module per
claim or section (Section 3 lives in :mod:`~lipbound.claims.statements.section3`)."""

from .section3 import EQ_3, LEMMA_3_1, LEMMA_3_2, LEMMA_3_3, SEC_3_4, SECTION_3, THM_3_3

__all__ = ["EQ_3", "LEMMA_3_1", "LEMMA_3_2", "LEMMA_3_3", "SECTION_3", "SEC_3_4", "THM_3_3"]
