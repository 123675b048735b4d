"""``emp-variance`` (Section 5.4): Concatenation varies less over trials than summation.

One folder per claim: ``statement.py``, what it says (the paper's wording, lipbound's readings);
``evaluators.py``, its case space (the seeded samplers the runner and the hypothesis tests share)
and how a case is decided. Its page is ``docs/claims/emp-variance.md``. The registry
(:mod:`lipbound.claims._registry`) finds the claim by this folder.
"""
