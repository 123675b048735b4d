"""The claim registry: joins each claim's statement, numeric evaluators and sympy proofs by id."""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import UnknownClaimError
from . import statements as st
from ._ledger import Claim, DataNeed
from .section3 import EQ3_EVALUATORS, LEMMA33_EVALUATORS, lemma_3_1, lemma_3_2, sec_3_4, thm_3_3
from .section3 import thm_3_1, thm_3_2
from .section4 import lemma_4_1, sec_4_5, sec_4_6, thm_4_1, thm_4_2
from .statements import lemma_4_1 as st_l41
from .statements import sec_4_5 as st_45
from .statements import sec_4_6 as st_46
from .statements import thm_3_1 as st_3_1
from .statements import thm_3_2 as st_3_2
from .statements import thm_4_1 as st_4_1
from .statements import thm_4_2 as st_4_2
from .mvae import ICUB
from .mvae import FINDINGS_EVALUATORS as mvae_findings
from .mvae import KL_EVALUATORS as mvae_kl
from .statements import mvae as st_mvae
from .empirical import EVALUATORS as EMPIRICAL_EVALUATORS
from .statements import empirical as st_emp


class _LazyProofs(Mapping):
    """The ``PROOFS`` dict of ``proofs.<module>``, imported on first use (the proof scripts import
    lipbound themselves). Empty, so readings are "holds" at best, if the top-level ``proofs``
    package is not importable."""

    def __init__(self, module: str) -> None:
        self._module = module
        self._proofs: dict | None = None

    def _load(self) -> dict:
        if self._proofs is None:
            import importlib

            try:
                self._proofs = dict(importlib.import_module(f"proofs.{self._module}").PROOFS)
            except ModuleNotFoundError as exc:
                if exc.name not in ("proofs", f"proofs.{self._module}"):
                    raise
                self._proofs = {}
        return self._proofs

    def __getitem__(self, key):
        return self._load()[key]

    def __iter__(self):
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


def _proofs(module: str) -> Mapping:
    return _LazyProofs(module)


#: every data set a reading may need and lipbound does not ship, by name (see
#: :attr:`~lipbound.claims.ReadingStatement.requires_data`)
DATA_NEEDS: dict[str, DataNeed] = {ICUB.name: ICUB}


def _check_data_names(claim: Claim) -> None:
    for r in claim.statement.readings:
        ev = claim.evaluators.get(r.name)
        for name in (*r.requires_data, *(ev.fixed_cases_data if ev is not None else ())):
            if name not in DATA_NEEDS:
                raise ValueError(f"claim {claim.id}/{r.name} needs the data set {name!r}, which DATA_NEEDS does not declare")


def _build() -> dict[str, Claim]:
    entries = [
        Claim(st.LEMMA_3_1, lemma_3_1.EVALUATORS, _proofs("lemma_3_1")),
        Claim(st.LEMMA_3_2, lemma_3_2.EVALUATORS, _proofs("lemma_3_2")),
        Claim(st.EQ_3, EQ3_EVALUATORS, _proofs("eq_3")),
        Claim(st.LEMMA_3_3, LEMMA33_EVALUATORS, _proofs("lemma_3_3")),
        Claim(st_3_1.STATEMENT, thm_3_1.EVALUATORS, _proofs("thm_3_1")),
        Claim(st_3_2.STATEMENT, thm_3_2.EVALUATORS, _proofs("thm_3_2")),
        Claim(st.THM_3_3, thm_3_3.EVALUATORS, _proofs("thm_3_3")),
        Claim(st.SEC_3_4, sec_3_4.EVALUATORS, _proofs("sec_3_4")),
        Claim(st_l41.STATEMENT, lemma_4_1.EVALUATORS, _proofs("lemma_4_1")),
        Claim(st_4_1.STATEMENT, thm_4_1.EVALUATORS, _proofs("thm_4_1")),
        Claim(st_4_2.STATEMENT, thm_4_2.EVALUATORS, _proofs("thm_4_2")),
        Claim(st_45.STATEMENT, sec_4_5.EVALUATORS, _proofs("sec_4_5")),
        Claim(st_46.STATEMENT, sec_4_6.EVALUATORS, _proofs("sec_4_6")),
        Claim(st_mvae.KL_WHOLE_VS_PART, mvae_kl, _proofs("mvae")),
        Claim(st_mvae.FINDINGS, mvae_findings, {}),
        *(Claim(s, EMPIRICAL_EVALUATORS[s.id], {}) for s in st_emp.EMPIRICAL),
    ]
    for c in entries:
        _check_data_names(c)
    entries.sort(key=lambda c: c.statement.order)
    return {c.id: c for c in entries}


#: every claim of the ledger, by id, in the paper's order
CLAIMS: dict[str, Claim] = _build()


def get_claim(claim_id: str) -> Claim:
    """The claim ``claim_id``; raises :class:`~lipbound.errors.UnknownClaimError` naming the known ids.

    >>> get_claim("thm-3.3").statement.ref
    'Theorem 3.3'
    """
    try:
        return CLAIMS[claim_id]
    except KeyError:
        raise UnknownClaimError(
            f"unknown claim id {claim_id!r}; known claims: {', '.join(CLAIMS)}"
        ) from None
