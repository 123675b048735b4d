"""``thm-4.1`` (Theorem 4.1): Lipschitz constant of the attention fusion on a bounded set.

One folder per claim: ``statement.py``, what it says (the paper's wording, lipbound's readings);
``evaluators.py``, its case space (the seeded samplers the runner and the hypothesis tests share)
and how a case is decided; ``proof.py``, its sympy proofs (``python -m
lipbound.claims.thm_4_1.proof``). Its page is ``docs/claims/thm-4.1.md``. The registry
(:mod:`lipbound.claims._registry`) finds the claim by this folder.
"""
