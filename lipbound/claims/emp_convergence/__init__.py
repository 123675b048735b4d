"""``emp-convergence`` (Sections 5.4-5.6): Attention converges fastest and reaches the lowest loss.

One folder per claim: ``statement.py``, what it says (the paper's wording, lipbound's readings);
``evaluators.py``, its case space (the seeded samplers the runner and the hypothesis tests share)
and how a case is decided. Its page is ``docs/claims/emp-convergence.md``. The registry
(:mod:`lipbound.claims._registry`) finds the claim by this folder.
"""
