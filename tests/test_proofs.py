"""The sympy proof machinery can fail: wrong identities are not 'proved', undecided is not 'true'."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sympy as sp

from lipbound.claims._shared.autoencoder_sympy import build, grad
from lipbound.claims._proofs import Steps, is_zero


def test_wrong_decoder_gradient_is_not_proved():
    ae = build("generic")
    lhs = grad(ae.loss, ae.b[0])
    wrong = -1 * ae.dec[0].jacobian(ae.b[0]).T * (ae.x[0] - ae.dec[0])  # factor 1 instead of 2
    assert is_zero(lhs - wrong) is not True


def test_local_encoder_gradient_is_not_proved():
    """Dropping decoder 1's term from Lemma 3.2 is not an identity."""
    ae = build("generic")
    sub = dict(zip(ae.zeta, ae.z))
    lhs = grad(ae.loss, ae.a[0])
    only0 = -2 * ae.z.jacobian(ae.a[0]).T * ae.dec_zeta[0].jacobian(ae.zeta).subs(sub).T * (ae.x[0] - ae.dec[0])
    assert is_zero(lhs - only0) is not True


def test_steps_three_valued():
    s = Steps()
    s.check("a", True)
    s.check("b", None)
    assert s.result("x").proved is None
    s.check("c", False)
    assert s.result("x").proved is False
    assert Steps().result("x").proved is None  # no steps: nothing proved


def test_is_zero_distinguishes():
    x = sp.Symbol("x", real=True)
    assert is_zero(sp.sin(x) ** 2 + sp.cos(x) ** 2 - 1) is True
    assert is_zero(x + 1) is not True


@pytest.mark.parametrize("module", ["lemma_3_1", "lemma_3_2", "eq_3", "lemma_3_3", "thm_3_3", "sec_3_4"])
def test_proof_scripts_run_as_scripts(module):
    res = subprocess.run([sys.executable, "-m", f"lipbound.claims.{module}.proof"], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "proved=True" in res.stdout and "DISAGREES" not in res.stdout


def test_proofs_runner_runs_named_claims_and_refuses_unknown_ones():
    """``python -m proofs CLAIM ...`` runs the proofs of the named claims from their folders (exit 0
    when every result agrees with the ledger), says so for a claim without proofs, and exits 2
    with a message for an unknown id."""
    res = subprocess.run([sys.executable, "-m", "proofs", "eq-3", "lemma-3.3", "emp-variance"], capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "eq-3 / formula: proved=True" in res.stdout and "lemma-3.3 / formula: proved=True" in res.stdout
    assert "emp-variance: no sympy proofs" in res.stdout
    bad = subprocess.run([sys.executable, "-m", "proofs", "no-such-claim"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown claim id 'no-such-claim'" in bad.stderr and "Traceback" not in bad.stderr
