"""Certificate checks of LipSDP, attacked where the other tests never go: indefinite and
near-singular block-tridiagonal matrices, the retry paths of the inflation loops, barely feasible
multipliers, and every returned certificate re-verified in exact rational arithmetic.

* ``build_lmi`` / ``_abs_blocks`` against the LMI assembled from its definition in exact arithmetic
  (tests/exact_arith.py), signed and absolute, with the exact power-of-two block scaling;
* ``_block_cholesky`` against dense eigenvalues (numpy.linalg.eigvalsh) on definite and indefinite
  block-tridiagonal matrices, smallest eigenvalue of either sign down to 1e-10 of the norm; its
  ``sum of squares of the factor`` against the identity ||R||_F^2 = trace(A);
* ``_schur_np`` against the dense Schur complement;
* ``verify_certificate`` (dense) and ``verify_certificate_banded``: the returned rho makes
  -M(rho_cert, T) positive definite **exactly** (Fraction LDL^T), the stated invariants hold with
  independently recomputed error bounds, the retry paths run (first-layer scale; injected
  underestimates of the Schur complement; an injected large factor norm) and still end in verified
  certificates, and infeasible or barely feasible multipliers raise CertificateError;
* ``checked_multipliers`` at its range boundary; ``Bracket.check`` at equality.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings, target
from hypothesis import strategies as st

from exact_arith import is_positive_definite, lmi_exact, negate, to_float
from lipbound.bounds import (
    Bracket,
    BoundResult,
    CertificateError,
    SoundnessError,
    build_lmi,
    sequential_multipliers,
    verify_certificate,
    verify_certificate_banded,
)
from lipbound.bounds import _eigopt
from lipbound.bounds._eigopt import _abs_blocks, _block_cholesky, _schur_np
from lipbound.bounds._lmi import dense_lmi
from lipbound.bounds._sdp import MULTIPLIER_RANGE, checked_multipliers

EPS = float(np.finfo(np.float64).eps)
seeds = st.integers(min_value=0, max_value=2**31 - 2)

#: slope intervals of the supported activations and of merged chains: ab = 0, ab < 0, ab > 0, a + b = 0
SLOPES = [(0.0, 1.0), (-0.5, 1.0), (0.1, 1.0), (0.0, 0.25), (1.0, 1.0), (-2.0, 1.0), (-0.128904, 1.128904),
          (-1.0, 1.0), (0.5, 2.0)]


def chain(seed: int, widths: list[int], first_scale: float = 1.0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    Ws = [rng.standard_normal((b, a)) for a, b in zip(widths[:-1], widths[1:])]
    Ws[0] = Ws[0] * first_scale
    return Ws


@st.composite
def chains(draw, max_hidden: int = 3):
    hidden = draw(st.lists(st.integers(1, 3), min_size=1, max_size=max_hidden))
    widths = [draw(st.integers(1, 3)), *hidden, draw(st.integers(1, 2))]
    slopes = [draw(st.sampled_from(SLOPES)) for _ in hidden]
    return widths, slopes, draw(seeds)


def exact_neg_definite(Ws, slopes, ts, rho) -> bool:
    """-M(rho, T) positive definite in exact arithmetic (so M(rho, T) <= 0 and Lip <= sqrt(rho))."""
    return is_positive_definite(negate(lmi_exact(Ws, slopes, ts, rho)))


# --------------------------------------------------------------------- build_lmi and _abs_blocks
@settings(max_examples=25)
@given(c=chains(), log_rho=st.floats(-2, 2), log_t=st.floats(-2, 2), absolute=st.booleans())
def test_build_lmi_is_the_lmi_of_the_definition(c, log_rho, log_t, absolute):
    widths, slopes, seed = c
    Ws = chain(seed, widths)
    rng = np.random.default_rng(seed + 1)
    ts = [10.0**log_t * rng.uniform(0.1, 2.0, size=w) for w in widths[1:-1]]
    rho = 10.0**log_rho * (-1 if absolute and seed % 2 else 1)  # |M| takes |rho|
    M = build_lmi(Ws, slopes, ts, rho, absolute=absolute)
    E = to_float(lmi_exact(Ws, slopes, ts, rho, absolute=absolute))
    # entries are sums of <= ~10 products of 3-4 floats: error < 1e-14 of the largest absolute term
    scale = np.abs(to_float(lmi_exact(Ws, slopes, ts, rho, absolute=True))).max()
    assert np.abs(M - E).max() <= 1e-14 * scale, np.abs(M - E).max() / scale


@settings(max_examples=25)
@given(c=chains(), log_rho=st.floats(-2, 2), margin=st.sampled_from([0.0, 1e-3, 0.5]),
       scales=st.lists(st.integers(-3, 3), min_size=4, max_size=4), absolute=st.booleans())
def test_abs_blocks_are_the_scaled_shifted_lmi(c, log_rho, margin, scales, absolute):
    """_abs_blocks: the diagonal and sub-diagonal blocks of D(-M)D - cI (or D|M|D + cI), D = 2^k per block."""
    widths, slopes, seed = c
    Ws = chain(seed, widths)
    ts = [np.random.default_rng(seed + 1).uniform(0.1, 2.0, size=w) for w in widths[1:-1]]
    rho = 10.0**log_rho * (-1 if absolute and seed % 2 else 1)  # |M| takes |rho|
    d = [1.0] + [2.0**k for k in scales[: len(widths) - 2]]
    diag, sub = _abs_blocks(Ws, slopes, ts, rho, margin, absolute, d)
    M = lmi_exact(Ws, slopes, ts, rho, absolute=absolute)
    dims = widths[:-1]
    off = np.concatenate([[0], np.cumsum(dims)]).astype(int)
    Dv = np.concatenate([np.full(n, dk) for n, dk in zip(dims, d)])
    A = (1.0 if absolute else -1.0) * to_float(M) * np.outer(Dv, Dv) + (margin if absolute else -margin) * np.eye(off[-1])
    scale = np.abs(to_float(lmi_exact(Ws, slopes, ts, rho, absolute=True)) * np.outer(Dv, Dv)).max() + margin
    assert len(diag) == len(dims) and len(sub) == len(dims) - 1
    for k in range(len(dims)):
        blk = A[off[k]:off[k + 1], off[k]:off[k + 1]]
        assert np.abs(diag[k] - blk).max() <= 1e-14 * scale, k
    for k in range(len(dims) - 1):
        blk = A[off[k + 1]:off[k + 2], off[k]:off[k + 1]]
        assert np.abs(sub[k] - blk).max() <= 1e-14 * scale, k
        # nothing outside the band: the LMI is block tridiagonal
        assert np.all(A[off[k + 2]:, off[k]:off[k + 1]] == 0)


# --------------------------------------------------------------------------- _block_cholesky
# the dense assembly of block-tridiagonal blocks is the library's (checked against the exact LMI above)
_dense = dense_lmi


def _tridiagonal(sizes, seed, smallest):
    """Random symmetric block-tridiagonal blocks, shifted so that the smallest eigenvalue of the
    assembled matrix is ``smallest`` (relative to its spectral norm)."""
    rng = np.random.default_rng(seed)
    diag = []
    for n in sizes:
        G = rng.standard_normal((n, n))
        diag.append(G + G.T)
    sub = [rng.standard_normal((b, a)) for a, b in zip(sizes[:-1], sizes[1:])]
    A = _dense(diag, sub)
    lam = np.linalg.eigvalsh(A)
    norm = np.abs(lam).max()
    shift = smallest * norm - lam[0]
    diag = [D + shift * np.eye(D.shape[0]) for D in diag]
    return diag, sub


@settings(max_examples=40)
@given(sizes=st.lists(st.integers(1, 4), min_size=1, max_size=4), seed=seeds, sign=st.sampled_from([1, -1]),
       log_gap=st.floats(-10, 0))
def test_block_cholesky_decides_definiteness_like_dense_eigenvalues(sizes, seed, sign, log_gap):
    """Definite and indefinite, down to a smallest eigenvalue of +-1e-10 ||A||: the float64
    Cholesky errs by ~N eps ||A|| ~ 1e-15 ||A||, so its verdict must match the sign of the dense
    smallest eigenvalue (itself accurate to ~1e-15 ||A||)."""
    diag, sub = _tridiagonal(sizes, seed, sign * 10.0**log_gap)
    A = _dense(diag, sub)
    lam_min = float(np.linalg.eigvalsh(A)[0])
    assert (lam_min > 0) == (sign > 0)  # the fixture: the shift did what it says
    target(-log_gap, label="closeness to singular")
    ok, fro2 = _block_cholesky(diag, sub)
    assert ok == (sign > 0), (lam_min, ok)
    if ok:  # ||R||_F^2 = trace(R^T R) = trace(A), up to the backward error gamma_{N+1} ||R||_F^2
        N = A.shape[0]
        assert abs(fro2 - np.trace(A)) <= 4 * (N + 1) * EPS * fro2, (fro2, np.trace(A))


def test_block_cholesky_uses_every_coupling_block():
    """A definite matrix that becomes indefinite when a coupling block is dropped or its sign
    flipped (a chain of 3 blocks): every sub-diagonal block enters the elimination."""
    diag = [np.array([[1.0]]), np.array([[1.0]]), np.array([[1.0]])]
    sub = [np.array([[0.6]]), np.array([[0.6]])]  # eigenvalues 1 +- 0.6 sqrt(2): definite
    assert _block_cholesky(diag, sub)[0]
    assert not _block_cholesky(diag, [np.array([[0.8]]), np.array([[0.8]])])[0]  # 1 - 0.8 sqrt 2 < 0
    # fro2 = trace(A) = 3 exactly in exact arithmetic
    assert abs(_block_cholesky(diag, sub)[1] - 3.0) <= 1e-15 * 3
    assert not _block_cholesky([np.array([[-1e-300]])], [])[0]
    ok, fro2 = _block_cholesky([np.array([[4.0]])], [])
    assert ok and fro2 == 4.0


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_block_cholesky_never_calls_a_non_finite_matrix_definite(bad):
    """LAPACK's Cholesky of [[nan]] or [[inf]] 'succeeds' (scipy's check_finite=False returns the
    non-finite factor): the check must raise or say no, never certify."""
    for diag, sub in (([np.array([[bad]])], []),
                      ([np.eye(2), np.array([[1.0, 0.0], [0.0, bad]])], [np.zeros((2, 2))])):
        try:
            ok, _ = _block_cholesky(diag, sub)
        except ValueError:
            continue
        assert not ok


@settings(max_examples=25)
@given(sizes=st.lists(st.integers(1, 4), min_size=1, max_size=4), seed=seeds)
def test_schur_np_is_minus_the_dense_schur_complement(sizes, seed):
    diag, sub = _tridiagonal(sizes, seed, 0.5)  # definite: every trailing block invertible
    A = _dense(diag, sub)
    n0 = sizes[0]
    S = A[:n0, :n0] - A[:n0, n0:] @ np.linalg.solve(A[n0:, n0:], A[n0:, :n0])
    got = _schur_np(diag, sub)
    assert got.shape == (n0, n0)
    # condition numbers here are below ~1e3: 1e-11 of ||A|| is far above rounding
    assert np.abs(got + S).max() <= 1e-11 * np.abs(A).max(), np.abs(got + S).max()


# ---------------------------------------------------------------------- the dense certificate
def _dense_search_sequence(Ws, slopes, ts, rho0):
    """The rho values verify_certificate tries (docs: rho0 + delta, delta = 2 e(rho0), times 4 each
    time), with the check lambda_max(M) + e <= 0 at each, recomputed here."""
    N = Ws[0].shape[1] + sum(len(t) for t in ts)
    err0 = 8 * N * EPS * float(np.linalg.norm(build_lmi(Ws, slopes, ts, rho0, absolute=True)))
    delta = 2 * err0
    while True:
        rho = rho0 + delta
        err = 8 * N * EPS * float(np.linalg.norm(build_lmi(Ws, slopes, ts, rho, absolute=True)))
        lam = float(np.linalg.eigvalsh(build_lmi(Ws, slopes, ts, rho))[-1])
        yield rho, lam, err
        delta *= 4


def _check_dense_certificate(Ws, slopes, ts):
    cert = verify_certificate(Ws, slopes, ts)
    ts_c = [np.clip(t, 0, None) for t in ts]
    rho0, rho = cert["rho0"], cert["rho_cert"]
    # 1. exact: M(rho_cert, T) is negative definite
    assert exact_neg_definite(Ws, slopes, ts_c, rho)
    # 2. the value is sqrt(rho_cert) rounded up: value^2 >= rho_cert exactly, value > sqrt rounded to nearest
    assert Fraction(cert["value"]) ** 2 >= Fraction(rho) and cert["value"] > math.sqrt(rho)
    # 3. rho0 is lambda_max of the Schur complement: M(rho0 (1 + 1e-6)) <= 0 and M(rho0 (1 - 1e-6)) is
    #    not, exactly (its float64 error, ~cond x eps, is far below 1e-6 for these small chains)
    assert exact_neg_definite(Ws, slopes, ts_c, rho0 * (1 + 1e-6) + 1e-300)
    if rho0 > 0:
        assert not exact_neg_definite(Ws, slopes, ts_c, rho0 * (1 - 1e-6))
    # 4. the inflation: the first rho of the stated sequence that passes lambda + e <= 0
    tries = 0
    for r, lam, err in _dense_search_sequence(Ws, slopes, ts_c, rho0):
        tries += 1
        if lam + err <= 0:
            assert r == rho and cert["error_bound"] == err and cert["lambda_max_M"] == lam
            break
        assert r < rho, "verify_certificate skipped a passing rho"
    return cert, tries


@settings(max_examples=20)
@given(c=chains(), factor=st.floats(1.0, 4.0), log_first=st.floats(-1, 2))
def test_dense_certificate_is_exactly_feasible(c, factor, log_first):
    """Feasible multipliers (the sequential choice times a factor >= 1: Q(f T) = f Q(T) + (1 - f)
    W_l^T W_l stays negative definite). A large first layer makes the top eigenvector of M(rho0)
    nearly orthogonal to the input block, so lambda_max(M) moves slowly with rho and the
    inflation loop retries (hypothesis.target pushes toward many retries)."""
    widths, slopes, seed = c
    Ws = chain(seed, widths, 10.0**log_first)
    ts = [t * factor for t in sequential_multipliers(Ws, slopes)]
    _, tries = _check_dense_certificate(Ws, slopes, ts)
    target(float(tries), label="inflation retries")


def test_dense_certificate_retry_path_runs():
    """The fixture behind the property above: with a first layer of scale 10 the first rho fails."""
    Ws = chain(0, [3, 4, 5, 2], 10.0)
    slopes = [(0.0, 1.0), (-0.5, 1.0)]
    _, tries = _check_dense_certificate(Ws, slopes, sequential_multipliers(Ws, slopes))
    assert tries >= 3


def test_dense_certificate_of_optimal_multipliers():
    """Multipliers at the SDP optimum (EIGOPT): the tightest case, rho0 at the edge of feasibility."""
    from lipbound.bounds import solve_eigopt

    for seed, widths, slopes in [(1, [3, 4, 2], [(0.0, 1.0)]), (2, [2, 3, 3, 1], [(-0.5, 1.0), (0.0, 0.25)])]:
        Ws = chain(seed, widths)
        ts, _, _, _ = solve_eigopt(Ws, slopes)
        _check_dense_certificate(Ws, slopes, ts)


def test_dense_certificate_refuses_infeasible_and_barely_feasible_multipliers():
    W0, W1 = np.eye(2), np.array([[1.0, 0.0]])
    with pytest.raises(CertificateError, match="not negative definite"):
        verify_certificate([W0, W1], [(0.0, 1.0)], [np.array([0.1, 0.1])])
    # Q = diag(1 - 2t, -2t): negative definite for t > 1/2, but at t = (1 + 4 eps)/2 its largest
    # eigenvalue -4 eps is within the rounding allowance e_Q = 8 n eps ||Q||_F: not certifiable
    t = 0.5 * (1 + 4 * EPS)
    with pytest.raises(CertificateError, match="not negative definite"):
        verify_certificate([W0, W1], [(0.0, 1.0)], [np.array([t, t])])
    # one ulp of margin more than e_Q: certified
    t2 = 0.5 * (1 + 1e-6)
    cert = verify_certificate([W0, W1], [(0.0, 1.0)], [np.array([t2, t2])])
    assert exact_neg_definite([W0, W1], [(0.0, 1.0)], [np.array([t2, t2])], cert["rho_cert"])
    with pytest.raises(CertificateError, match="could not certify"):
        verify_certificate([W0, W1], [(0.0, 1.0)], [np.array([t2, t2])], max_doublings=1)


@pytest.mark.parametrize("nq", [1, 2])
def test_dense_q_check_boundary_is_its_stated_allowance(nq):
    """Q = diag(1 - 2t, -2t, ...) with t = (1 + k eps)/2: lambda_max(Q) = -k eps exactly. The check
    requires lambda_max(Q) < -e_Q, e_Q = 8 max(n_Q, 1) eps || |Q| ||_F (recomputed here): k just
    below e_Q / eps is refused as 'not negative definite', k just above passes the check (the
    certificate then fails later for want of any margin, with another message)."""
    W0, W1 = np.eye(nq), np.eye(1, nq)
    eQ_over_eps = 8 * nq * float(np.linalg.norm(np.eye(nq) + W1.T @ W1))  # |Q| = 2T + W1^T W1, 2t ~ 1
    for k, refused in ((math.floor(eQ_over_eps) - 1, True), (math.ceil(eQ_over_eps) + 1, False)):
        t = 0.5 * (1 + k * EPS)
        try:
            verify_certificate([W0, W1], [(0.0, 1.0)], [np.full(nq, t)])
            msg = "certified"
        except CertificateError as exc:
            msg = str(exc)
        assert ("not negative definite" in msg) == refused, (nq, k, eQ_over_eps, msg)


# --------------------------------------------------------------------- the banded certificate
def _check_banded_certificate(Ws, slopes, ts):
    cert = verify_certificate_banded(Ws, slopes, ts)
    ts_c = [np.clip(t, 0, None) for t in ts]
    rho, c = cert["rho_cert"], cert["margin"]
    N = Ws[0].shape[1] + sum(len(t) for t in ts)
    # 1. exact: M(rho_cert, T) is negative definite
    assert exact_neg_definite(Ws, slopes, ts_c, rho)
    assert Fraction(cert["value"]) ** 2 >= Fraction(rho) and cert["value"] > math.sqrt(rho)
    # 2. the stated rule, recomputed: the block Cholesky of A = D(-M)D - cI succeeds and
    #    c >= 4 (N + 1) eps ||R||_F^2 + 8 N eps ||D|M|D||_F + 2 eps c
    d = [2.0**k for k in cert["block_scales_log2"]]
    assert d[0] == 1.0
    ok, fro2 = _block_cholesky(*_abs_blocks(Ws, slopes, ts_c, rho, c, False, d))
    dga, sba = _abs_blocks(Ws, slopes, ts_c, rho, 0.0, True, d)
    mabs = math.sqrt(sum(float(np.sum(D * D)) for D in dga) + 2 * sum(float(np.sum(B * B)) for B in sba))
    need = 4 * (N + 1) * EPS * fro2 + 8 * N * EPS * mabs + 2 * EPS * c
    assert ok and c >= need, (c, need)
    assert cert["error_bound"] == need  # the same float64 expression of the same quantities
    # 3. rho0 is lambda_max of the Schur complement: exactly the documented lambda_max(S_c) at the
    #    final margin (recomputed), and the dense check's rho0 to 1e-6
    blocks = _abs_blocks(Ws, slopes, ts_c, 0.0, c, False, d)
    lam_c = _eigopt._schur_lam_max(*blocks)
    assert cert["rho0"] == max(lam_c - c, 0.0)
    # _schur_lam_max may solve a smaller eigenproblem (input block a multiple of I): the same
    # lambda_max as the dense Schur complement, to float64 eigensolver rounding (a few eps x its norm)
    dense = float(np.linalg.eigvalsh(_eigopt._schur_np(*blocks))[-1])
    assert abs(lam_c - dense) <= 1e-12 * max(1.0, abs(dense))
    dense = verify_certificate(Ws, slopes, ts)
    assert abs(cert["rho0"] - dense["rho0"]) <= 1e-6 * max(dense["rho0"], 1e-300) + 1e-12 * rho
    # 4. the block scaling brings every hidden block's diagonal within a factor 2 of rho0 (docs)
    rho_hat = dense["rho0"]
    if rho_hat > 0:
        for Dk, dk in zip(_abs_blocks(Ws, slopes, ts_c, 0.0, 0.0, True)[0][1:], d[1:]):
            mk = float(np.abs(np.diag(Dk)).max())
            if mk > 0:
                assert 0.5 * (1 - 1e-6) <= mk * dk * dk / rho_hat <= 2 * (1 + 1e-6), (mk, dk, rho_hat)
    return cert


@settings(max_examples=20)
@given(c=chains(), factor=st.floats(1.0, 4.0), log_first=st.floats(-1, 2))
def test_banded_certificate_is_exactly_feasible(c, factor, log_first):
    widths, slopes, seed = c
    Ws = chain(seed, widths, 10.0**log_first)
    ts = [t * factor for t in sequential_multipliers(Ws, slopes)]
    cert = _check_banded_certificate(Ws, slopes, ts)
    dense = verify_certificate(Ws, slopes, ts)
    # tight: the margin c ~ 16 (N+1) eps trace(A) is ~1e-12 of rho (diagonals scaled to ~rho)
    assert cert["rho_cert"] <= dense["rho0"] * (1 + 1e-9) + 1e-9 * dense["rho_cert"]


def test_banded_certificate_with_multipliers_spanning_orders_of_magnitude():
    """Layer scales decreasing from the input by 1e4 per layer (feasible: a congruence leaves the
    diagonal blocks and shrinks the couplings) plus neuron multipliers spread over 1e3: the exact
    power-of-two block scaling must still give an exactly verified certificate."""
    rng = np.random.default_rng(3)
    Ws = chain(3, [3, 4, 4, 4, 2])
    slopes = [(0.0, 1.0)] * 3
    ts = sequential_multipliers(Ws, slopes)
    L = len(ts)
    ts = [t * 10.0 ** (4 * (L - 1 - k)) for k, t in enumerate(ts)]
    ts[-1] = ts[-1] * 10.0 ** rng.uniform(0, 3, size=ts[-1].shape)  # >= 1: the last block stays definite
    cert = _check_banded_certificate(Ws, slopes, ts)
    assert max(cert["block_scales_log2"]) - min(cert["block_scales_log2"]) >= 10


def test_banded_first_margin_is_sized_from_the_scaled_matrix(monkeypatch):
    """When the first attempt passes, the margin is the first one: 16 (N + 1) eps (trace + ||.||_F)
    of D|M|D at rho_hat = lambda_max(S) (the code's sizing of ||R||_F^2 ~ trace(A) and ||M||; 1e-12),
    floored at 1e-300: weights of scale 1e-73 put rho near 1e-292 and the margin on the floor."""
    for seed, widths, slopes, scale in [(1, [3, 4, 2], [(0.0, 1.0)], 1.0),
                                        (4, [2, 3, 2, 2], [(-0.5, 1.0), (0.1, 1.0)], 1.0),
                                        (1, [3, 4, 2], [(0.0, 1.0)], 1e-73)]:
        Ws = [W * scale for W in chain(seed, widths)]
        ts = sequential_multipliers(Ws, slopes)
        calls = _spy(monkeypatch)
        cert = verify_certificate_banded(Ws, slopes, ts)
        assert len(calls) == 2  # accepted at the first attempt
        N = widths[0] + sum(widths[1:-1])
        rho_hat = float(np.linalg.eigvalsh(_schur_np(*_abs_blocks(Ws, slopes, ts, 0.0, 0.0, False)))[-1])
        d = [2.0**k for k in cert["block_scales_log2"]]
        dg, sb = _abs_blocks(Ws, slopes, ts, rho_hat, 0.0, True, d)
        fro = math.sqrt(sum(float(np.sum(D * D)) for D in dg) + 2 * sum(float(np.sum(B * B)) for B in sb))
        c0 = max(16 * (N + 1) * EPS * (sum(float(np.trace(D)) for D in dg) + fro), 1e-300)
        assert abs(cert["margin"] - c0) <= 1e-12 * c0, (cert["margin"], c0)
        monkeypatch.undo()
        _check_banded_certificate(Ws, slopes, ts)


def test_banded_certificate_of_a_zero_first_layer():
    """W_0 = 0: the constant is 0, lambda_max(S) = 0 exactly, and the block scaling falls back to
    the largest diagonal entry of |M| (docs: 'every block's diagonal of the order of rho')."""
    for scale, t in ((1.0, 5.0), (0.01, 0.01)):  # diagonal entries above and below 1
        Ws = [np.zeros((3, 2)), scale * chain(0, [3, 2])[0]]
        ts = [np.full(3, t)]
        cert = _check_banded_certificate(Ws, [(0.0, 1.0)], ts)
        assert cert["rho0"] == 0.0 and 0 < cert["rho_cert"] < 1e-10
        m = [float(np.abs(np.diag(D)).max()) for D in _abs_blocks(Ws, [(0.0, 1.0)], ts, 0.0, 0.0, True)[0]]
        assert m[0] == 0.0 and 0 < max(m) < 1 if scale < 1 else max(m) > 1
        for mk, k in zip(m[1:], cert["block_scales_log2"][1:]):
            assert 0.5 * max(m) <= mk * 4.0**k <= 2 * max(m), (mk, k, m)


def _spy(monkeypatch):
    calls = []
    real = _eigopt._block_cholesky

    def spy(diag, sub):
        out = real(diag, sub)
        calls.append(out[0])
        return out

    monkeypatch.setattr(_eigopt, "_block_cholesky", spy)
    return calls


def test_banded_retry_after_a_failed_factorisation(monkeypatch):
    """Inject an underestimate of lambda_max(S_c) by 1e-6 relatively (rho starts too low, as it
    would from an inaccurate Schur complement): the full factorisation fails, rho grows by a
    doubling delta (from 1e-12 rho: about 20 tries), and the certificate that comes out is still
    exactly verified. Soundness never rests on the estimate. (An underestimate by 50% is not
    recovered within the 40 tries: delta would need 2^39 x 1e-12 ~ 0.55 rho.)"""
    Ws = chain(5, [3, 4, 3, 2])
    slopes = [(0.0, 1.0), (-0.5, 1.0)]
    ts = sequential_multipliers(Ws, slopes)
    calls = _spy(monkeypatch)
    real = _eigopt._schur_np
    monkeypatch.setattr(_eigopt, "_schur_np", lambda diag, sub: real(diag, sub) * (1 - 1e-6))
    _check_banded_certificate(Ws, slopes, ts)
    assert False in calls[1:] and len(calls) > 4, calls  # the full factorisation failed at least once


def test_banded_retry_raises_rho_by_the_stated_increments(monkeypatch):
    """The same injected underestimate, traced: each failed factorisation raises the increment to
    delta' = max(2 delta, 1e-12 rho, 2 c) and the next rho is max(rho, lambda + c + delta') (never
    lower). rho, c and lambda are read back from the blocks the verifier factorises (d_0 = 1 on the
    input block, so its diagonal is rho - c plus a rho-independent part); read-back error ~1e-16 rho,
    far below the increments (>= 1e-12 rho)."""
    Ws = chain(5, [3, 4, 3, 2])
    slopes = [(0.0, 1.0), (-0.5, 1.0)]
    ts = sequential_multipliers(Ws, slopes)
    real_chol, real_schur = _eigopt._block_cholesky, _eigopt._schur_np
    trace = []  # ("q", ok, first hidden diagonal entry) / ("s", lambda) / ("f", ok, input diagonal entry)

    def chol(diag, sub):
        ok, fro2 = real_chol(diag, sub)
        full = len(diag) == len(Ws)  # the full matrix has the input block too
        trace.append(("f", ok, float(diag[0][0, 0])) if full else ("q", ok, float(diag[0][0, 0])))
        return ok, fro2

    def schur(diag, sub):
        out = real_schur(diag, sub) * (1 - 1e-6)
        trace.append(("s", float(np.linalg.eigvalsh(out)[-1])))
        return out

    monkeypatch.setattr(_eigopt, "_block_cholesky", chol)
    monkeypatch.setattr(_eigopt, "_schur_np", schur)
    cert = verify_certificate_banded(Ws, slopes, ts)
    d = [2.0**k for k in cert["block_scales_log2"]]
    base_in = float(_abs_blocks(Ws, slopes, ts, 0.0, 0.0, False, d)[0][0][0, 0])
    base_q = float(_abs_blocks(Ws, slopes, ts, 0.0, 0.0, False, d)[0][1][0, 0])
    assert trace[0][0] == "s"  # the estimate rho_hat (c = 0) that sizes the block scaling
    steps = trace[1:]  # then per try: the Q - cI check, lambda_max(S_c) + c, the full factorisation
    rho = None
    delta = 0.0
    fails = 0
    i = 0
    while i < len(steps):
        q, s, f = steps[i], steps[i + 1], steps[i + 2]
        assert q[0] == "q" and q[1] and s[0] == "s" and f[0] == "f"
        c = base_q - q[2]
        expected = max(s[1], 0.0) + c + delta
        rho = expected if rho is None else max(rho, expected)
        got = f[2] - base_in + c
        assert abs(got - rho) <= 1e-14 * rho, (got, rho, fails)
        if f[1]:
            break
        fails += 1
        delta = max(2 * delta, 1e-12 * rho, 2 * c)
        i += 3
    assert fails >= 5 and abs(rho - cert["rho_cert"]) <= 1e-14 * rho, (fails, rho, cert["rho_cert"])


def test_banded_retry_after_a_margin_below_the_error_bound(monkeypatch):
    """Inject a factor norm 1000 times too large at the first full factorisation: the margin is
    below the error bound, c is raised to twice it, and the second attempt certifies."""
    Ws = chain(6, [2, 3, 3, 1])
    slopes = [(0.1, 1.0), (0.0, 1.0)]
    ts = sequential_multipliers(Ws, slopes)
    real = _eigopt._block_cholesky
    calls = []

    def inflated(diag, sub):
        ok, fro2 = real(diag, sub)
        calls.append(fro2)
        return ok, (1000 * fro2 if len(calls) == 2 else fro2)

    monkeypatch.setattr(_eigopt, "_block_cholesky", inflated)
    cert = verify_certificate_banded(Ws, slopes, ts)
    assert len(calls) == 4
    N = 2 + 3 + 3
    # the first margin was raised to 2 x the (inflated) error bound of the first attempt, whose
    # factor term 4 (N + 1) eps 1000 ||R||_F^2 is all but 0.1% of it here (measured 1.0008)
    first = 4 * (N + 1) * EPS * 1000 * calls[1]
    assert 2 * first <= cert["margin"] <= 2.01 * first, cert["margin"] / (2 * first)
    monkeypatch.setattr(_eigopt, "_block_cholesky", real)
    _check_banded_certificate_fixed(Ws, slopes, ts, cert)


def test_banded_margin_must_exceed_its_error_bound_by_1e6(monkeypatch):
    """At the edge of acceptance: scale the factor norm reported by the first full factorisation
    by kappa and bisect kappa (to 1e-13 relatively) between accepted at the first attempt and
    not. There the accepted margin exceeds its error bound by the stated relative 1e-6 (the
    slack for computing the bound itself in float64), and not by less."""
    Ws = chain(6, [2, 3, 3, 1])
    slopes = [(0.1, 1.0), (0.0, 1.0)]
    ts = sequential_multipliers(Ws, slopes)
    real = _eigopt._block_cholesky

    def attempt(kappa):
        calls = []

        def scaled(diag, sub):
            ok, fro2 = real(diag, sub)
            calls.append(fro2)
            return ok, (kappa * fro2 if len(calls) == 2 else fro2)

        monkeypatch.setattr(_eigopt, "_block_cholesky", scaled)
        cert = verify_certificate_banded(Ws, slopes, ts)
        return len(calls) == 2, cert

    lo, hi = 1.0, 1000.0
    assert attempt(lo)[0] and not attempt(hi)[0]
    while hi / lo - 1 > 1e-13:
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if attempt(mid)[0] else (lo, mid)
    first, cert = attempt(lo)
    assert first
    excess = cert["margin"] / cert["error_bound"] - 1
    assert 1e-6 <= excess <= 1e-6 + 1e-10, excess


def _check_banded_certificate_fixed(Ws, slopes, ts, cert):
    rho, c = cert["rho_cert"], cert["margin"]
    N = Ws[0].shape[1] + sum(len(t) for t in ts)
    assert exact_neg_definite(Ws, slopes, ts, rho)
    d = [2.0**k for k in cert["block_scales_log2"]]
    ok, fro2 = _block_cholesky(*_abs_blocks(Ws, slopes, ts, rho, c, False, d))
    assert ok and c >= 4 * (N + 1) * EPS * fro2


def test_banded_refuses_infeasible_and_barely_feasible_multipliers(monkeypatch):
    W0, W1 = np.eye(2), np.array([[1.0, 0.0]])
    with pytest.raises(CertificateError, match="not negative definite"):
        verify_certificate_banded([W0, W1], [(0.0, 1.0)], [np.array([0.1, 0.1])])
    with pytest.raises(CertificateError, match="NaN"):
        verify_certificate_banded([W0, W1], [(0.0, 1.0)], [np.array([np.nan, 1.0])])
    # barely feasible: lambda_max(Q) = -4 eps, below any margin c: refused, never certified
    calls = _spy(monkeypatch)
    t = 0.5 * (1 + 4 * EPS)
    with pytest.raises(CertificateError, match="block Q - cI is not negative definite"):
        verify_certificate_banded([W0, W1], [(0.0, 1.0)], [np.array([t, t])])
    assert len(calls) == 40 and not any(calls)  # every try raised c (max_tries = 40) and failed


def test_banded_gives_up_after_max_tries(monkeypatch):
    real = _eigopt._block_cholesky
    n = [0]

    def fail_full(diag, sub):  # the Q - cI check passes, every full factorisation fails
        n[0] += 1
        return (False, 0.0) if n[0] % 2 == 0 else real(diag, sub)

    monkeypatch.setattr(_eigopt, "_block_cholesky", fail_full)
    Ws = chain(1, [2, 3, 1])
    with pytest.raises(CertificateError, match="Cholesky factorisation of -M\\(rho\\) - cI failed"):
        verify_certificate_banded(Ws, [(0.0, 1.0)], sequential_multipliers(Ws, [(0.0, 1.0)]), max_tries=5)
    assert n[0] == 10


# ------------------------------------------------------------------------ checked_multipliers
def test_checked_multipliers_range_boundary():
    """tmax x max(wmax, 1)^2 <= 1e120 is accepted, one ulp above is refused; wmax = max|W| sqrt(max dim)."""
    Ws = [np.ones((1, 4)), np.ones((1, 1))]  # wmax = 1 x sqrt(4) = 2
    edge = MULTIPLIER_RANGE / 4  # x 4 exactly (a power of two)
    assert checked_multipliers(Ws, [np.array([edge])])[0][0] == edge
    with pytest.raises(CertificateError, match="out of range"):
        checked_multipliers(Ws, [np.array([math.nextafter(edge, math.inf)])])
    small = [np.full((1, 1), 0.25), np.full((1, 1), 0.5)]  # weights below 1: the range is not widened
    assert checked_multipliers(small, [np.array([MULTIPLIER_RANGE])])[0][0] == MULTIPLIER_RANGE
    with pytest.raises(CertificateError, match="out of range"):
        checked_multipliers(small, [np.array([math.nextafter(MULTIPLIER_RANGE, math.inf)])])
    big = [np.full((1, 1), 1e10), np.ones((1, 1))]
    with pytest.raises(CertificateError, match="out of range"):
        checked_multipliers(big, [np.array([1e101])])


def test_checked_multipliers_range_uses_the_largest_multiplier_and_weight_magnitude():
    """Two hidden layers: the range check takes the largest multiplier of all layers and the
    largest |weight| (a negative weight counts by its magnitude)."""
    Ws = [np.ones((1, 1)), np.ones((1, 1)), np.ones((1, 1))]
    with pytest.raises(CertificateError, match="out of range"):
        checked_multipliers(Ws, [np.array([1.0]), np.array([1e121])])
    with pytest.raises(CertificateError, match="out of range"):
        checked_multipliers(Ws, [np.array([1e121]), np.array([1.0])])
    neg = [-1e10 * np.ones((1, 1)), np.ones((1, 1))]  # wmax = 1e10: t <= 1e100
    with pytest.raises(CertificateError, match="out of range"):
        checked_multipliers(neg, [np.array([1e101])])
    assert checked_multipliers(neg, [np.array([1e99])])[0][0] == 1e99
    # no hidden layer: nothing to check but the weights, whatever their size
    assert checked_multipliers([np.full((1, 1), 1e61)], []) == []


def test_checked_multipliers_clip_and_shapes():
    Ws = [np.ones((2, 2)), np.ones((1, 2))]
    out = checked_multipliers(Ws, [np.array([-3.0, 2.0])])
    assert out[0].tolist() == [0.0, 2.0] and out[0].dtype == np.float64
    with pytest.raises(CertificateError, match="do not match"):
        checked_multipliers(Ws, [np.array([1.0, 2.0, 3.0])])
    with pytest.raises(CertificateError, match="do not match"):
        checked_multipliers(Ws, [np.array([1.0, 2.0]), np.array([1.0])])
    with pytest.raises(CertificateError, match="NaN or Inf"):
        checked_multipliers(Ws, [np.array([np.inf, 1.0])])
    deep = [np.ones((2, 2)), np.ones((3, 2)), np.ones((1, 3))]  # hidden widths 2 and 3
    assert [t.shape for t in checked_multipliers(deep, [np.ones(2), np.ones((3, 1))])] == [(2,), (3,)]
    with pytest.raises(CertificateError, match="do not match"):
        checked_multipliers(deep, [np.ones(2), np.ones(2)])  # the second layer's width is wrong


def test_negative_multipliers_are_clipped_before_the_check():
    """A solver's slightly negative multiplier is clipped to 0, never used with its sign (a
    negative T_k would flip the sign of a quadratic constraint): the certificate must be that
    of the clipped multipliers."""
    Ws = chain(2, [2, 3, 1])
    ts = sequential_multipliers(Ws, [(0.0, 1.0)])
    bad = [ts[0].copy()]
    bad[0][0] = -1e-3
    with pytest.raises(CertificateError):  # a zero multiplier makes Q singular: refused, not certified
        verify_certificate(Ws, [(0.0, 1.0)], bad)
    with pytest.raises(CertificateError):
        verify_certificate_banded(Ws, [(0.0, 1.0)], bad)


# -------------------------------------------------------------------------------- brackets
def _b(*rows):
    return Bracket([BoundResult(m, k, v, 0.0) for m, k, v in rows])


def test_bracket_soundness_check_at_the_boundary():
    b = _b(("u1", "certified-upper", 2.0), ("u2", "certified-upper", 3.0), ("l1", "lower", 2.0),
           ("l2", "lower", 1.0), ("h", "heuristic", 10.0))
    assert b.best_upper == 2.0 and b.best_lower == 2.0  # equal is consistent; heuristics are ignored
    with pytest.raises(SoundnessError, match=r"lower bound 2.5 \(l\) exceeds certified upper bound 2.0 \(u1\)"):
        _b(("u1", "certified-upper", 2.0), ("u2", "certified-upper", 3.0), ("l", "lower", 2.5))
    with pytest.raises(SoundnessError):
        _b(("u", "certified-upper", 1.0), ("l0", "lower", 0.5), ("l", "lower", math.nextafter(1.0, 2.0)))
    assert _b(("h", "heuristic", 5.0)).best_upper == math.inf
    assert _b(("h", "heuristic", 5.0)).best_lower == 0.0
    assert _b(("l", "lower", 5.0)).best_upper == math.inf and _b(("u", "certified-upper", 1.0)).best_lower == 0.0
