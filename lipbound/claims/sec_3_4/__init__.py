"""``sec-3.4`` (Section 3.4): Fusion gradient w.r.t. encoder parameters: same Lipschitz constant under sum and concat.

One folder per claim: ``statement.py``, what it says (the paper's wording, lipbound's readings);
``evaluators.py``, its case space (the seeded samplers the runner and the hypothesis tests share)
and how a case is decided; ``proof.py``, its sympy proofs (``python -m
lipbound.claims.sec_3_4.proof``). Its page is ``docs/claims/sec-3.4.md``. The registry
(:mod:`lipbound.claims._registry`) finds the claim by this folder.
"""
