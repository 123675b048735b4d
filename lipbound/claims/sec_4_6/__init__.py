"""``sec-4.6`` (Section 4.6): The paper's Lipschitz estimator.

One folder per claim: ``statement.py``, what it says (the paper's wording, lipbound's readings);
``evaluators.py``, its case space (the seeded samplers the runner and the hypothesis tests share)
and how a case is decided; ``proof.py``, its sympy proofs (``python -m
lipbound.claims.sec_4_6.proof``). Its page is ``docs/claims/sec-4.6.md``. The registry
(:mod:`lipbound.claims._registry`) finds the claim by this folder.
"""
