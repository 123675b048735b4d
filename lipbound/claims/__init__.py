"""The claim ledger: every lemma and theorem of the paper as precise readings, with their checks.

>>> from lipbound.claims import CLAIMS, check_claim
>>> [r.name for r in CLAIMS["thm-3.3"].statement.readings][:2]
['proof-bounds', 'proof-bounds-equality']
"""

from ._fixtures import Fixtures
from ._ledger import (
    STATUSES,
    Claim,
    ClaimStatement,
    DataLocation,
    DataNeed,
    Evaluator,
    Outcome,
    ProofResult,
    ReadingStatement,
    Row,
)
from ._registry import CLAIMS, DATA_NEEDS, get_claim
from ._runner import case_rng, check_claim, check_reading

__all__ = [
    "CLAIMS",
    "DATA_NEEDS",
    "STATUSES",
    "Claim",
    "ClaimStatement",
    "DataLocation",
    "DataNeed",
    "Evaluator",
    "Fixtures",
    "Outcome",
    "ProofResult",
    "ReadingStatement",
    "Row",
    "case_rng",
    "check_claim",
    "check_reading",
    "get_claim",
]
