"""``mvae-kl-whole-vs-part`` (MVAE measures): Whole-vector KL measures dominate their single-modality versions.

One folder per claim: ``statement.py``, what it says (the paper's wording, lipbound's readings);
``evaluators.py``, its case space (the seeded samplers the runner and the hypothesis tests share)
and how a case is decided; ``proof.py``, its sympy proofs (``python -m
lipbound.claims.mvae_kl_whole_vs_part.proof``). Its page is ``docs/claims/mvae-kl-whole-vs-
part.md``. The registry (:mod:`lipbound.claims._registry`) finds the claim by this folder.
"""
