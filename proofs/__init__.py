"""Executable sympy proofs of the paper's claims, one module per claim.

Each module exposes ``PROOFS = {reading: callable}``; each callable returns a
:class:`lipbound.claims.ProofResult`. Run a module as a script to print its results, e.g.
``python -m proofs.thm_3_3``. The claim registry (:mod:`lipbound.claims`) joins these proofs with
the claims' statements and numeric evaluators.
"""
