"""The claim registry: finds every claim's folder and joins its statement, evaluators and proofs by id.

A claim is a sub-package of :mod:`lipbound.claims` with a ``statement.py`` (``STATEMENT``, a
:class:`~lipbound.claims.ClaimStatement`), an ``evaluators.py`` (``EVALUATORS``: reading ->
:class:`~lipbound.claims.Evaluator`) and, when sympy proves or refutes some reading, a ``proof.py``
(``PROOFS``: reading -> callable returning a :class:`~lipbound.claims.ProofResult`). Adding a claim
means adding such a folder (and its docs page): nothing here names a claim. The claims are ordered
by :attr:`~lipbound.claims.ClaimStatement.order` (the paper's order); see
``docs/devdocs/adding-a-claim.md``.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Mapping
from pathlib import Path

from ..errors import UnknownClaimError
from ._ledger import SECTIONS, Claim, DataNeed
from .mvae import ICUB


class _LazyProofs(Mapping):
    """The ``PROOFS`` dict of a claim's ``proof.py``, imported on first use (sympy proofs are slow to
    import and are not needed to list or sample a claim)."""

    def __init__(self, module: str) -> None:
        self._module = module
        self._proofs: dict | None = None

    def _load(self) -> dict:
        if self._proofs is None:
            self._proofs = dict(importlib.import_module(self._module).PROOFS)
        return self._proofs

    def __getitem__(self, key):
        return self._load()[key]

    def __iter__(self):
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


#: every data set a reading may need and lipbound does not ship, by name (see
#: :attr:`~lipbound.claims.ReadingStatement.requires_data`)
DATA_NEEDS: dict[str, DataNeed] = {ICUB.name: ICUB}


def _check_data_names(claim: Claim) -> None:
    for r in claim.statement.readings:
        ev = claim.evaluators.get(r.name)
        for name in (*r.requires_data, *(ev.fixed_cases_data if ev is not None else ())):
            if name not in DATA_NEEDS:
                raise ValueError(f"claim {claim.id}/{r.name} needs the data set {name!r}, which DATA_NEEDS does not declare")


def claim_folders(root: Path | None = None) -> list[str]:
    """The names of the claim folders: sub-packages of :mod:`lipbound.claims` (or of the package in
    ``root``) holding a ``statement.py``."""
    here = Path(__file__).resolve().parent if root is None else Path(root)
    return sorted(m.name for m in pkgutil.iter_modules([str(here)])
                  if m.ispkg and not m.name.startswith("_") and (here / m.name / "statement.py").is_file())


def load_claim(folder: str, package: str = __package__) -> Claim:
    """The :class:`~lipbound.claims.Claim` of the folder ``lipbound/claims/<folder>/``, checked: its
    statement lists it under a known section with a positive order, the folder is the one its id
    names (``thm-4.1`` -> ``thm_4_1``), and the data sets it needs are declared. Raises ValueError
    naming the folder otherwise. (:meth:`~lipbound.claims.Claim.validate`, which needs the proofs,
    is run by the tests.)"""
    pkg = f"{package}.{folder}"
    statement = importlib.import_module(f"{pkg}.statement").STATEMENT
    module = importlib.import_module(f"{pkg}.evaluators")
    has_proof = importlib.util.find_spec(f"{pkg}.proof") is not None
    claim = Claim(statement, module.EVALUATORS, _LazyProofs(f"{pkg}.proof") if has_proof else {},
                  dict(getattr(module, "WITNESS_ACCEPTED_BY", {})))
    if statement.section not in SECTIONS or statement.order <= 0:
        raise ValueError(f"claim folder {folder}: its statement needs a section (one of {', '.join(SECTIONS)}) and a "
                         f"positive order; it has {statement.section!r} and {statement.order!r}")
    expected_folder = statement.id.replace("-", "_").replace(".", "_")
    if folder != expected_folder:
        raise ValueError(f"claim folder {folder}: the claim {statement.id!r} belongs in the folder {expected_folder}")
    _check_data_names(claim)
    return claim


def build_ledger(root: Path | None = None, package: str = __package__) -> dict[str, Claim]:
    """Every claim of the folders in ``root`` (the package ``package``; :mod:`lipbound.claims` by
    default), by id, in ledger order; raises ValueError for a folder that is not a valid claim or
    two claims with one order."""
    entries = [load_claim(f, package) for f in claim_folders(root)]
    entries.sort(key=lambda c: c.statement.order)
    orders = [c.statement.order for c in entries]
    if len(set(orders)) != len(orders):
        raise ValueError(f"two claims share an order: {sorted(orders)}")
    return {c.id: c for c in entries}


#: every claim of the ledger, by id, in the paper's order
CLAIMS: dict[str, Claim] = build_ledger()


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
