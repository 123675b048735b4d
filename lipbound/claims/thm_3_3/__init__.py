"""``thm-3.3`` (Theorem 3.3): Sum vs concatenation Lipschitz constants.

One folder per claim: ``statement.py``, what it says (the paper's wording, lipbound's readings);
``evaluators.py``, its case space (the seeded samplers the runner and the hypothesis tests share)
and how a case is decided; ``proof.py``, its sympy proofs (``python -m
lipbound.claims.thm_3_3.proof``). Its page is ``docs/claims/thm-3.3.md``. The registry
(:mod:`lipbound.claims._registry`) finds the claim by this folder.
"""
