"""``lemma-3.2`` (Lemma 3.2): Loss gradient w.r.t. encoder parameters.

One folder per claim: ``statement.py``, what it says (the paper's wording, lipbound's readings);
``evaluators.py``, its case space (the seeded samplers the runner and the hypothesis tests share)
and how a case is decided; ``proof.py``, its sympy proofs (``python -m
lipbound.claims.lemma_3_2.proof``). Its page is ``docs/claims/lemma-3.2.md``. The registry
(:mod:`lipbound.claims._registry`) finds the claim by this folder.
"""
