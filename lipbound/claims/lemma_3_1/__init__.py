"""``lemma-3.1`` (Lemma 3.1): Loss gradient w.r.t. decoder parameters.

One folder per claim: ``statement.py``, what it says (the paper's wording, lipbound's readings);
``evaluators.py``, its case space (the seeded samplers the runner and the hypothesis tests share)
and how a case is decided; ``proof.py``, its sympy proofs (``python -m
lipbound.claims.lemma_3_1.proof``). Its page is ``docs/claims/lemma-3.1.md``. The registry
(:mod:`lipbound.claims._registry`) finds the claim by this folder.
"""
