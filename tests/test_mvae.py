"""The companion paper's multimodal VAE (lipbound.mvae): iCub loader, model, schedules, the four KL
measures, the mvae-* claims' evaluators and proofs, and the CLI end to end at tiny size."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lipbound.cli import main
from lipbound.errors import LipboundError
from lipbound.mvae import (
    MODALITIES,
    MUTED,
    SCHEDULES,
    VARIANTS,
    DataNotFoundError,
    MultimodalVAE,
    RunSpec,
    VAEConfig,
    beta,
    data_dir,
    decay_epochs,
    gaussian_kl,
    load_icub,
    mute,
    only,
    per_sample_measures,
    train_run,
)

try:
    data_dir()
    HAVE_DATA = True
except DataNotFoundError:
    HAVE_DATA = False
needs_data = pytest.mark.skipif(not HAVE_DATA, reason="iCub data not found: set LIPBOUND_ICUB_DIR or place the "
                                "two .mat files in ../shared/data/icub-multimodal (see docs/mvae.md)")

#: a tiny model (same depth for every modality, as the dense-network export requires)
TINY = VAEConfig(hidden={m: (6, 3) for m in MODALITIES}, shared=12, latent=4, batch_size=1024, lr=3e-3)


@pytest.fixture(scope="module")
def data():
    if not HAVE_DATA:
        pytest.skip("iCub data not found")
    return load_icub()


# -- loader ----------------------------------------------------------------------------------------
@needs_data
def test_loader_shapes_and_variants(data):
    assert data.train_input.shape == (7380, 28) and data.train_target.shape == (7380, 28)
    assert data.test.shape == (1487, 28)
    for name, mask in VARIANTS.items():
        rows = data.train_variant == name
        assert rows.sum() == 1845, name
        x = data.train_input[rows]
        assert ((x == MUTED) == mask).all(), name
        # kept entries equal the clean target
        assert np.array_equal(x[:, ~mask], data.train_target[rows][:, ~mask])
    assert data.train_target.min() >= -1 and data.train_target.max() <= 1
    assert set(np.unique(data.test[:, MODALITIES["touch"]])) <= {-1.0, 1.0}


def test_modality_slices_partition_the_vector():
    cols = np.concatenate([np.arange(s.start, s.stop) for s in MODALITIES.values()])
    assert cols.tolist() == list(range(28))
    assert [s.stop - s.start for s in MODALITIES.values()] == [8, 8, 2, 2, 8]
    assert VARIANTS["only-vision"].sum() == 20 and not VARIANTS["complete"].any()
    # forward prediction mutes the time-t half of every modality
    assert np.flatnonzero(VARIANTS["forward"]).tolist() == [0, 1, 2, 3, 8, 9, 10, 11, 16, 18, 20, 21, 22, 23]


def test_mute_and_only():
    x = np.arange(28, dtype=float).reshape(1, 28) / 28
    y = mute(x, ["vision"])
    assert (y[0, 8:16] == MUTED).all() and np.array_equal(np.delete(y, range(8, 16), 1), np.delete(x, range(8, 16), 1))
    z = only(x, "sound")
    assert np.array_equal(z[0, 18:20], x[0, 18:20]) and (np.delete(z, [18, 19], 1) == MUTED).all()
    with pytest.raises(LipboundError, match="unknown modality 'smell'"):
        mute(x, ["smell"])


def test_missing_data_error(tmp_path, monkeypatch):
    monkeypatch.setenv("LIPBOUND_ICUB_DIR", str(tmp_path))
    with pytest.raises(DataNotFoundError, match="LIPBOUND_ICUB_DIR") as exc:
        load_icub()
    assert str(tmp_path) in str(exc.value) and isinstance(exc.value, LipboundError)
    assert main(["mvae", "train", "--epochs", "1", "--seeds", "0", "--out", str(tmp_path / "o")]) == 2


# -- model -----------------------------------------------------------------------------------------
@settings(max_examples=10)
@given(n=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_model_shapes_and_dense_equivalents(n, seed):
    torch.manual_seed(seed)
    m = MultimodalVAE(TINY).double()
    x = torch.rand(n, 28, dtype=torch.float64) * 2 - 1
    mean, logvar, zm, zl = m(x)
    assert mean.shape == logvar.shape == (n, 28) and zm.shape == zl.shape == (n, 4)
    assert (logvar >= -8).all() and (logvar <= 4).all()
    # float64 both ways: the block-diagonal export differs only by summation order (~1e-16)
    assert torch.allclose(m.encoder_mean_network()(x), zm, rtol=0, atol=1e-12)
    assert torch.allclose(m.decoder_mean_network()(zm), mean, rtol=0, atol=1e-12)


def test_default_sizes_and_bad_config():
    m = MultimodalVAE()
    assert m.enc["vision"][0].out_features == 40 and m.enc["touch"][2].out_features == 5
    assert m.enc_shared[0].out_features == 100 and m.z_mean.out_features == 28
    with pytest.raises(LipboundError, match="same number"):
        VAEConfig(hidden={**{k: (4, 2) for k in MODALITIES}, "touch": (3,)})
    with pytest.raises(LipboundError, match="exactly"):
        VAEConfig(hidden={"vision": (2,)})
    with pytest.raises(LipboundError, match="width 28"):
        m.encode(torch.zeros(2, 27))


# -- KL closed form --------------------------------------------------------------------------------
@given(d=st.integers(1, 12), seed=st.integers(0, 2**16))
def test_gaussian_kl_matches_torch_distributions(d, seed):
    g = torch.Generator().manual_seed(seed)
    mu1, mu2 = torch.randn(2, d, generator=g, dtype=torch.float64) * 3
    lv1, lv2 = torch.randn(2, d, generator=g, dtype=torch.float64)
    ours = gaussian_kl(mu1, lv1, mu2, lv2)
    ref = torch.distributions.kl_divergence(torch.distributions.Normal(mu1, torch.exp(0.5 * lv1)),
                                            torch.distributions.Normal(mu2, torch.exp(0.5 * lv2)))
    # two float64 formulas of the same quantity: agreement to 1e-10 relative + 1e-12 absolute
    assert torch.allclose(ours, ref, rtol=1e-10, atol=1e-12)
    assert (ours >= -1e-15).all()
    np_ours = gaussian_kl(mu1.numpy(), lv1.numpy(), mu2.numpy(), lv2.numpy())
    assert np.allclose(np_ours, ref.numpy(), rtol=1e-10, atol=1e-12)


def test_gaussian_kl_monte_carlo():
    """Closed form vs a Monte Carlo estimate E_P[log p - log q]: 200k draws, seed 0; the estimator's
    standard error here is about 0.004, so 0.03 is over 7 standard errors."""
    rng = np.random.default_rng(0)
    m1, lv1, m2, lv2 = 0.3, -0.5, -0.4, 0.2
    x = rng.normal(m1, math.exp(0.5 * lv1), 200_000)
    logp = -0.5 * (lv1 + (x - m1) ** 2 / math.exp(lv1))
    logq = -0.5 * (lv2 + (x - m2) ** 2 / math.exp(lv2))
    assert abs(float(np.mean(logp - logq)) - float(gaussian_kl(m1, lv1, m2, lv2))) < 0.03


# -- schedules -------------------------------------------------------------------------------------
@given(epochs=st.integers(1, 300))
def test_schedules(epochs):
    t = decay_epochs(epochs)
    assert t == max(1, math.ceil(epochs / 2))
    for e in range(epochs):
        assert beta("const-1", e, epochs) == 1.0 and beta("const-0", e, epochs) == 0.0
        if e < t:
            assert beta("dyn-0", e, epochs) == beta("dyn-1", e, epochs) == pytest.approx(1 - e / t, abs=1e-15)
        else:
            assert beta("dyn-0", e, epochs) == 0.0 and beta("dyn-1", e, epochs) == 1.0
    decay = [beta("dyn-0", e, epochs) for e in range(min(t, epochs))]
    assert decay[0] == 1.0 and all(a > b for a, b in zip(decay, decay[1:]))


def test_schedule_errors():
    with pytest.raises(LipboundError, match="unknown KL schedule 'cyclic'"):
        beta("cyclic", 0, 10)
    with pytest.raises(LipboundError, match="epoch must lie"):
        beta("dyn-0", 10, 10)
    assert SCHEDULES == ("const-1", "const-0", "dyn-0", "dyn-1")


# -- training, measures, stability -----------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_run(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("mvae")
    done = train_run(RunSpec("dyn-0", 0, 3, TINY), out, data)
    return out, done


@needs_data
def test_measures_on_tiny_trained_model(data, tiny_run):
    from lipbound.mvae import load_model

    out, done = tiny_run
    assert [h["epoch"] for h in done["history"]] == [0, 1, 2]
    assert [h["beta"] for h in done["history"]] == [1.0, 0.5, 0.0]
    model = load_model(out, done["run_id"])
    x = data.test[:200]
    per = per_sample_measures(model, x)
    for kind in ("single", "precision"):
        for m in MODALITIES:
            part, whole = per[f"{kind}-M"][m], per[f"{kind}-all"][m]
            assert part.shape == (200,) and (part >= -1e-12).all()
            assert (part <= whole + 1e-12 * (1 + whole)).all()
    # an independent recomputation of one entry with torch.distributions
    with torch.no_grad():
        pm, plv, _, _ = model(torch.as_tensor(x))
        qm, qlv, _, _ = model(torch.as_tensor(mute(x, ["vision"])))
    p = torch.distributions.Normal(pm[:, 8:16], torch.exp(0.5 * plv[:, 8:16]))
    q = torch.distributions.Normal(qm[:, 8:16], torch.exp(0.5 * qlv[:, 8:16]))
    ref = torch.distributions.kl_divergence(p, q).sum(1).numpy()
    assert np.allclose(per["precision-M"]["vision"], ref, rtol=1e-9, atol=1e-12)
    assert set(done["measures"]) == {"single-M", "single-all", "precision-M", "precision-all"}


@needs_data
def test_stability_brackets(data, tiny_run):
    _, done = tiny_run
    rows = done["lipschitz"]
    for sub in ("encoder", "decoder"):
        lo = max(r["value"] for r in rows if r["submodule"] == sub and r["kind"] == "lower")
        up = min(r["value"] for r in rows if r["submodule"] == sub and r["kind"] == "certified-upper")
        assert 0 < lo <= up


@needs_data
def test_resume_equals_uninterrupted(data, tmp_path):
    spec = RunSpec("const-1", 1, 3, TINY)
    full = train_run(spec, tmp_path / "a", data, brackets=False)

    class Stop(Exception):
        pass

    def stop_at_2(epoch, rec):
        if epoch == 1:
            raise Stop

    with pytest.raises(Stop):
        train_run(spec, tmp_path / "b", data, checkpoint_every=1, brackets=False, on_epoch=stop_at_2)
    assert (tmp_path / "b" / "runs" / spec.run_id / "checkpoint.pt").is_file()
    resumed = train_run(spec, tmp_path / "b", data, checkpoint_every=1, brackets=False)
    assert [h["loss"] for h in resumed["history"]] == [h["loss"] for h in full["history"]]
    a = torch.load(tmp_path / "a" / "runs" / spec.run_id / "model.pt")
    b = torch.load(tmp_path / "b" / "runs" / spec.run_id / "model.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed["measures"] == full["measures"]


# -- the claims' evaluators can fail -------------------------------------------------------------
def test_kl_evaluators_on_sampled_gaussians():
    from lipbound.claims.mvae import KL_EVALUATORS as EV

    rng = np.random.default_rng(0)
    for k in range(9):
        case = EV["additivity"].sample(rng, k)
        for r in ("additivity", "single-whole-ge-part", "precision-whole-ge-part"):
            assert EV[r].evaluate(case).ok, (r, case)
    out = EV["per-dim-average"].evaluate(EV["per-dim-average"].witness())
    assert not out.ok and out.counterexample["part_per_dim"] > out.counterexample["whole_per_dim"]


def test_order_evaluator_catches_negative_kl(monkeypatch):
    """A KL that could be negative (a sign bug) must be refuted: flip the sign and the check fails."""
    from lipbound.claims.mvae import _kl

    monkeypatch.setattr(_kl, "gaussian_kl", lambda *a: -gaussian_kl(*a))
    case = {"family": "gaussian", "widths": [3, 2], "seed": 5, "scale": 1.0}
    assert not _kl.EVALUATORS["single-whole-ge-part"].evaluate(case).ok


def test_findings_evaluators_can_fail(monkeypatch):
    """Synthetic runs where vision is the least informative and const-0 reconstructs worst: refuted."""
    from lipbound.claims.mvae import _findings, _runs

    rng = np.random.default_rng(0)
    n = 50

    def run(schedule, seed, err, active):
        meas = {k: {m: rng.uniform(1, 2, n) * (10.0 if m == "vision" and "single" in k else 1.0)
                    for m in MODALITIES} for k in ("single-M", "single-all", "precision-M", "precision-all")}
        z = np.zeros((n, 28))
        z[:, :active] = rng.normal(0, 1, (n, active))
        return _runs.RunArrays(schedule, seed, meas, np.full((n, 28), err), z)

    fake = [run(s, k, 2.0 if s == "const-0" else 1.0, 28) for s in SCHEDULES for k in range(2)]
    monkeypatch.setattr(_findings, "ledger_runs", lambda: fake)
    ev = _findings.EVALUATORS
    case = {"bootstrap": None}
    assert not ev["vision-most-informative"].evaluate(case).ok
    assert not ev["const0-best-reconstruction"].evaluate(case).ok
    assert not ev["const0-beats-const1"].evaluate(case).ok
    assert not ev["const1-collapse"].evaluate(case).ok  # all 28 units active
    assert not ev["touch-sound-hard"].evaluate(case).ok  # equal errors everywhere
    out = ev["vision-largest-precision-loss"].evaluate({"bootstrap": 3})
    assert isinstance(out.ok, bool) and "+-" in out.label


def test_proofs_agree_with_ledger():
    from proofs.mvae import PROOFS

    assert PROOFS["additivity"]().proved is True
    assert PROOFS["single-whole-ge-part"]().proved is True
    assert PROOFS["precision-whole-ge-part"]().proved is True
    assert PROOFS["per-dim-average"]().proved is False


# -- CLI end to end --------------------------------------------------------------------------------
@needs_data
def test_cli_train_and_measures(tmp_path, capsys):
    out = tmp_path / "res"
    argv = ["mvae", "train", "--schedule", "const-0", "--schedule", "const-1", "--epochs", "2", "--seeds", "0,1",
            "--out", str(out), "--batch-size", "2048"]
    assert main(argv) == 0
    assert len(list((out / "runs").glob("*/done.json"))) == 4
    stamp = (out / "runs" / "const-0__seed0" / "done.json").stat().st_mtime_ns
    assert main(argv) == 0  # finished runs are reused, not retrained
    assert (out / "runs" / "const-0__seed0" / "done.json").stat().st_mtime_ns == stamp
    capsys.readouterr()
    js = tmp_path / "m.json"
    assert main(["mvae", "measures", "--out", str(out), "--json", str(js)]) == 0
    printed = capsys.readouterr().out
    assert "single-all" in printed and "const-1" in printed and "vision" in printed
    payload = json.loads(js.read_text())
    assert payload["kind"] == "lipbound-mvae-measures"
    assert len(payload["rows"]) == 2 * 2 * 5 * 4
    assert set(payload["rows"][0]) == {"schedule", "seed", "modality", "measure", "value"}
    assert {r["submodule"] for r in payload["lipschitz"]} == {"encoder", "decoder"}
    assert main(["mvae", "measures", "--out", str(tmp_path / "empty")]) == 2
    with pytest.raises(SystemExit) as exc:  # checked when the arguments are parsed
        main(["mvae", "train", "--epochs", "0", "--out", str(out)])
    assert exc.value.code == 2
