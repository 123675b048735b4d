"""``emp-trimodal`` (Section 5.8): With a third modality attention still gives the lowest loss and Lipschitz constant.

One folder per claim: ``statement.py``, what it says (the paper's wording, lipbound's readings);
``evaluators.py``, its case space (the seeded samplers the runner and the hypothesis tests share)
and how a case is decided. Its page is ``docs/claims/emp-trimodal.md``. The registry
(:mod:`lipbound.claims._registry`) finds the claim by this folder.
"""
