"""``mvae-findings`` (MVAE findings): The paper's empirical findings on the iCub VAE, on lipbound's study of the original model.

One folder per claim: ``statement.py``, what it says (the paper's wording, lipbound's readings);
``evaluators.py``, its case space (the seeded samplers the runner and the hypothesis tests share)
and how a case is decided. Its page is ``docs/claims/mvae-findings.md``. The registry
(:mod:`lipbound.claims._registry`) finds the claim by this folder.
"""
