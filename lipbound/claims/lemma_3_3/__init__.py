"""``lemma-3.3`` (Lemma 3.3): Jacobian of concatenation fusion w.r.t. encoder parameters (block sparsity).

One folder per claim: ``statement.py``, what it says (the paper's wording, lipbound's readings);
``evaluators.py``, its case space (the seeded samplers the runner and the hypothesis tests share)
and how a case is decided; ``proof.py``, its sympy proofs (``python -m
lipbound.claims.lemma_3_3.proof``). Its page is ``docs/claims/lemma-3.3.md``. The registry
(:mod:`lipbound.claims._registry`) finds the claim by this folder.
"""
