"""Run the sympy proofs of the claim ledger: ``python -m proofs [CLAIM ...]``.

Each claim keeps its proofs in its own folder, ``lipbound/claims/<folder>/proof.py`` (``PROOFS =
{reading: callable}``, each callable returning a :class:`lipbound.claims.ProofResult`), beside its
statement and evaluators; the claim registry joins them. This package runs them from the command
line: every claim with proofs, or those named (``python -m proofs thm-3.3 lemma-4.1``), printing
every step, and exits with status 1 when a result disagrees with the ledger's expectation, 2 for an
unknown claim id. One claim's proofs also run alone: ``python -m lipbound.claims.thm_3_3.proof``.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["run"]


def run(claim_ids: Sequence[str] = ()) -> int:
    """Print the proof results of the claims ``claim_ids`` (every claim with proofs when empty);
    returns the exit status: 0 when every result agrees with the ledger, 1 otherwise."""
    from lipbound.claims import CLAIMS, get_claim
    from lipbound.claims._proofs import main

    claims = [get_claim(c) for c in claim_ids] if claim_ids else [c for c in CLAIMS.values() if c.proofs]
    status = 0
    for claim in claims:
        if not claim.proofs:
            print(f"{claim.id}: no sympy proofs (its readings are decided on cases alone)")
            continue
        status = max(status, main(dict(claim.proofs), claim.id))
    return status
