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
    EnsembleVAE,
    beta,
    data_dir,
    fall_epochs,
    reconstruction_nll,
    variant,
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

#: a tiny model of the original's structure (sliced shared decoder layer, floored variances,
#: per-modality NLL) and one of lipbound-v1's (whole shared layer to every decoder, squashed
#: log-variance, summed NLL); same depth for every modality, as the dense-network export requires
TINY = VAEConfig(enc_hidden={m: (6, 3) for m in MODALITIES}, enc_shared=(12,), latent=4, dec_shared=(12, 10),
                 dec_slices={m: 2 for m in MODALITIES}, dec_hidden={m: (5, 3) for m in MODALITIES},
                 batch_size=1024, lr=3e-3)
TINY_V1 = variant("lipbound-v1", enc_hidden={m: (6, 3) for m in MODALITIES}, enc_shared=(12,), latent=4,
                  dec_shared=(12,), dec_hidden={m: (3, 6) for m in MODALITIES}, batch_size=1024, lr=3e-3)


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
@given(n=st.integers(1, 6), seed=st.integers(0, 2**16), v1=st.booleans())
def test_model_shapes_and_dense_equivalents(n, seed, v1):
    torch.manual_seed(seed)
    cfg = TINY_V1 if v1 else TINY
    m = MultimodalVAE(cfg).double()
    x = torch.rand(n, 28, dtype=torch.float64) * 2 - 1
    mean, logvar, zm, zl = m(x)
    assert mean.shape == logvar.shape == (n, 28) and zm.shape == zl.shape == (n, 4)
    if v1:
        assert (logvar >= -8).all() and (logvar <= 4).all()
    else:  # floored variances: sigma^2 = exp(a) + 1e-4 > 1e-4, latent and output
        assert (logvar > math.log(1e-4)).all() and (zl > math.log(1e-4)).all()
    # float64 both ways: the block-diagonal export differs only by summation order (~1e-16)
    assert torch.allclose(m.encoder_mean_network()(x), zm, rtol=0, atol=1e-12)
    assert torch.allclose(m.decoder_mean_network()(zm), mean, rtol=0, atol=1e-12)


def test_original_sizes_init_and_bad_config():
    """The original's network configuration 1 (docs/mvae.md's table), layer by layer."""
    torch.manual_seed(0)
    m = MultimodalVAE()
    sizes = {n: (m.layer(n).in_features, m.layer(n).out_features) for n in m.config.layers()}
    assert sizes["enc.vision.0"] == (8, 40) and sizes["enc.vision.1"] == (40, 20)
    assert sizes["enc.touch.1"] == (10, 5) and sizes["enc.motor.1"] == (40, 10)
    assert sizes["enc_shared.0"] == (60, 100) and sizes["z_mean"] == sizes["z_logvar"] == (100, 28)
    assert sizes["dec_shared.0"] == (28, 100) and sizes["dec_shared.1"] == (100, 70)
    assert sizes["dec.joints.0"] == (20, 40) and sizes["dec.joints.1"] == (40, 8) and sizes["dec.sound.0"] == (5, 10)
    assert sizes["out_mean.touch"] == sizes["out_logvar.touch"] == (2, 2)
    assert isinstance(m.encoder_mean_network()[1], torch.nn.ReLU)
    # uniform on +-sqrt(1 / (fan_in + fan_out)), zero biases
    w = m.layer("enc_shared.0").weight
    bound = math.sqrt(1 / 160)
    assert w.abs().max() <= bound and w.abs().max() > 0.95 * bound and not m.layer("enc_shared.0").bias.any()
    cfg = m.config
    assert (cfg.lr, cfg.batch_size, cfg.drop_last, cfg.likelihood, cfg.variance) == (5e-5, 1000, True, "per-modality-mean", "floor")
    with pytest.raises(LipboundError, match="same number"):
        VAEConfig(enc_hidden={**{k: (4, 2) for k in MODALITIES}, "touch": (3,)})
    with pytest.raises(LipboundError, match="exactly"):
        VAEConfig(enc_hidden={"vision": (2,)})
    with pytest.raises(LipboundError, match="summing to the last shared decoder width 70"):
        VAEConfig(dec_slices={m: 10 for m in MODALITIES})
    with pytest.raises(LipboundError, match="unknown model variant"):
        variant("zambelli")
    with pytest.raises(LipboundError, match="width 28"):
        m.encode(torch.zeros(2, 27))


def test_reconstruction_nll_forms():
    """per-modality-mean divides each modality's NLL by its dimensions; sum adds all 28: on an error
    only in touch (2 dims) the first is 8 / 2 = 4x the second's share of an error only in vision."""
    y = torch.zeros(1, 28)
    lv = torch.zeros(1, 28)
    base = 0.5 * math.log(2 * math.pi)
    e_touch, e_vision = y.clone(), y.clone()
    e_touch[0, 16] = 1.0
    e_vision[0, 8] = 1.0
    orig, v1 = variant("original"), variant("lipbound-v1")
    assert float(reconstruction_nll(orig, e_touch, y, lv)) == pytest.approx(5 * base + 0.5 / 2)
    assert float(reconstruction_nll(orig, e_vision, y, lv)) == pytest.approx(5 * base + 0.5 / 8)
    assert float(reconstruction_nll(v1, e_touch, y, lv)) == pytest.approx(28 * base + 0.5)
    assert float(reconstruction_nll(v1, e_vision, y, lv)) == pytest.approx(28 * base + 0.5)


def test_ensemble_member_equals_model():
    torch.manual_seed(3)
    members = [MultimodalVAE(TINY).double() for _ in range(3)]
    ens = EnsembleVAE.from_members(members)
    x = torch.rand(3, 5, 28, dtype=torch.float64)
    zm, zl = ens.encode(x)
    mean, lv = ens.decode(zm)
    for k, m in enumerate(members):
        a = m(x[k])
        for got, want in zip((mean[k], lv[k], zm[k], zl[k]), a):
            assert torch.allclose(got, want, rtol=0, atol=1e-12)
        back = ens.member(k)
        assert all(torch.equal(back.state_dict()[n], m.state_dict()[n]) for n in m.state_dict())


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
@given(epochs=st.integers(1, 300), fall=st.integers(1, 300))
def test_schedules(epochs, fall):
    for e in range(epochs):
        assert beta("const-1", e, fall) == 1.0 and beta("const-0", e, fall) == 0.0
        if e < fall:
            assert beta("dyn-0", e, fall) == beta("dyn-1", e, fall) == pytest.approx(1 - e / fall, abs=1e-15)
        else:
            assert beta("dyn-0", e, fall) == 0.0 and beta("dyn-1", e, fall) == 1.0
    decay = [beta("dyn-0", e, fall) for e in range(min(fall, epochs))]
    assert decay[0] == 1.0 and all(a > b for a, b in zip(decay, decay[1:]))


def test_schedule_fall_is_the_originals():
    # the original: beta = 1 - min(epoch / 1000, 1) over 80,000 epochs
    assert fall_epochs(80_000) == 1000
    assert [beta("dyn-0", e, fall_epochs(80_000)) for e in (0, 500, 999, 1000, 79_999)] == pytest.approx([1.0, 0.5, 0.001, 0.0, 0.0], abs=1e-15)
    assert RunSpec("dyn-0", 0, 400).fall == 5 and RunSpec("dyn-0", 0, 400, fall=40).fall == 40


def test_schedule_errors():
    with pytest.raises(LipboundError, match="unknown KL schedule 'cyclic'"):
        beta("cyclic", 0, 10)
    with pytest.raises(LipboundError, match="at least one epoch"):
        beta("dyn-0", 10, 0)
    assert SCHEDULES == ("const-1", "const-0", "dyn-0", "dyn-1")


# -- training, measures, stability -----------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_run(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("mvae")
    done = train_run(RunSpec("dyn-0", 0, 3, TINY, fall=2), out, data)
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


@needs_data
def test_ensemble_training_equals_runs_trained_alone(data, tmp_path):
    """Three runs (two schedules, two seeds) trained as one ensemble follow the same trajectory as each
    trained alone: same per-epoch losses to 1e-5 relative and same final weights to 1e-5 (float32
    training; the batched and the single matrix products may round differently, nothing else differs)."""
    from lipbound.mvae import load_model, train_group

    specs = [RunSpec("dyn-1", 0, 3, TINY, fall=2), RunSpec("const-0", 1, 3, TINY), RunSpec("dyn-0", 2, 3, TINY, fall=2)]
    together = train_group(specs, tmp_path / "ens", data, brackets=False)
    for sp, d in zip(specs, together):
        alone = train_run(sp, tmp_path / "alone", data, brackets=False)
        assert [h["beta"] for h in d["history"]] == [h["beta"] for h in alone["history"]]
        assert np.allclose([h["loss"] for h in d["history"]], [h["loss"] for h in alone["history"]], rtol=1e-5, atol=0)
        a, b = load_model(tmp_path / "ens", sp.run_id), load_model(tmp_path / "alone", sp.run_id)
        for (n, p), q in zip(a.named_parameters(), b.parameters()):
            assert torch.allclose(p, q, rtol=0, atol=1e-5), n
    # distinct seeds give distinct runs (the check above can fail)
    a, b = load_model(tmp_path / "ens", specs[0].run_id), load_model(tmp_path / "ens", specs[2].run_id)
    assert not torch.allclose(a.layer("z_mean").weight, b.layer("z_mean").weight, atol=1e-3)


@needs_data
def test_ensemble_resume_equals_uninterrupted(data, tmp_path):
    """An ensemble stopped after epoch 2 of 3 resumes from its per-run checkpoints (weights, Adam moments,
    generators, histories) to the very weights of an uninterrupted ensemble."""
    from lipbound.mvae import train_group

    specs = [RunSpec("dyn-0", 0, 3, TINY, fall=2), RunSpec("const-1", 1, 3, TINY)]
    full = train_group(specs, tmp_path / "a", data, brackets=False)

    class Stop(Exception):
        pass

    def stop(spec, epoch, rec):
        if epoch == 2:
            raise Stop

    with pytest.raises(Stop):
        train_group(specs, tmp_path / "b", data, checkpoint_every=1, brackets=False, on_epoch=stop)
    assert all((tmp_path / "b" / "runs" / sp.run_id / "checkpoint.pt").is_file() for sp in specs)
    resumed = train_group(specs, tmp_path / "b", data, checkpoint_every=1, brackets=False)
    for f, r, sp in zip(full, resumed, specs):
        assert [h["loss"] for h in r["history"]] == [h["loss"] for h in f["history"]]
        a = torch.load(tmp_path / "a" / "runs" / sp.run_id / "model.pt")
        b = torch.load(tmp_path / "b" / "runs" / sp.run_id / "model.pt")
        assert all(torch.equal(a[k], b[k]) for k in a)
        assert not (tmp_path / "b" / "runs" / sp.run_id / "checkpoint.pt").exists()


@needs_data
def test_parallel_workers_equal_one_ensemble(data, tmp_path):
    """Runs split over two worker processes follow the same trajectories as the same runs in one
    ensemble (float32 rounding of the batched products aside: 1e-5 relative on every epoch's loss)."""
    from lipbound.mvae import train_group
    from lipbound.mvae._train import train_parallel

    specs = [RunSpec(s, k, 2, TINY) for s in ("const-0", "dyn-1") for k in (0, 1)]
    one = train_group(specs, tmp_path / "one", data, brackets=False)
    two = train_parallel(specs, tmp_path / "two", workers=2, brackets=False)
    for a, b in zip(one, two):
        assert a["run_id"] == b["run_id"]
        assert np.allclose([h["loss"] for h in a["history"]], [h["loss"] for h in b["history"]], rtol=1e-5, atol=0)


# -- the claims' evaluators can fail -------------------------------------------------------------
def test_kl_evaluators_on_sampled_gaussians():
    from lipbound.claims.mvae_kl_whole_vs_part.evaluators import EVALUATORS as EV

    rng = np.random.default_rng(0)
    for k in range(9):
        case = EV["additivity"].sample(rng, k)
        for r in ("additivity", "single-whole-ge-part", "precision-whole-ge-part"):
            assert EV[r].evaluate(case).ok, (r, case)
    out = EV["per-dim-average"].evaluate(EV["per-dim-average"].witness())
    assert not out.ok and out.counterexample["part_per_dim"] > out.counterexample["whole_per_dim"]


def test_order_evaluator_catches_negative_kl(monkeypatch):
    """A KL that could be negative (a sign bug) must be refuted: flip the sign and the check fails."""
    from lipbound.claims.mvae_kl_whole_vs_part import evaluators as _kl

    monkeypatch.setattr(_kl, "gaussian_kl", lambda *a: -gaussian_kl(*a))
    case = {"family": "gaussian", "widths": [3, 2], "seed": 5, "scale": 1.0}
    assert not _kl.EVALUATORS["single-whole-ge-part"].evaluate(case).ok


def _synthetic_study(*, vision_factor=0.2, c0_mse=0.05, active_c1=2, seeds=20, noise=0.05, seed=0, shares=(0.9, 0.3)):
    """A study of 4 schedules x ``seeds`` runs with controlled effects: vision's single-modality error
    is ``vision_factor`` times the others', const-0's MSE ``c0_mse`` (const-1 0.2, dyn-0 0.08, dyn-1 0.18),
    touch and sound hard, const-1 with ``active_c1`` active units; multiplicative noise ``noise``;
    delta_M(M) / delta_all(M) (and the same for Delta) is ``shares[0]`` for touch and sound, ``shares[1]`` else."""
    from lipbound.claims.mvae._study import KIND, Study

    rng = np.random.default_rng(seed)
    mse = {"const-0": c0_mse, "const-1": 0.2, "dyn-0": 0.08, "dyn-1": 0.18}
    runs = []
    for s in SCHEDULES:
        for k in range(seeds):
            def jit():
                return float(np.exp(rng.normal(0, noise)))
            meas = {}
            for kind in ("single", "precision"):
                meas[f"{kind}-all"] = {m: (vision_factor if m == "vision" and kind == "single" else
                                           (5.0 if m == "vision" else 1.0)) * jit() for m in MODALITIES}
                meas[f"{kind}-M"] = {m: meas[f"{kind}-all"][m] * (shares[0] if m in ("touch", "sound") else shares[1])
                                     for m in MODALITIES}
            diag = {"mse": mse[s] * jit(), "latent_kl": 1.0, "active_units": active_c1 if s == "const-1" else 28}
            diag.update({f"mse:{m}": (0.5 if m in ("touch", "sound") else 0.05) * jit() for m in MODALITIES})
            runs.append({"schedule": s, "seed": k, "diagnostics": diag, "measures": meas,
                         "convergence": {"converged": True}, "evals": []})
    data = {"kind": KIND, "setting": {"epochs": 10, "fall": 1, "lr": 1e-3, "batch_size": 1000, "variant": "original"},
            "test_variance": {m: 1.0 for m in MODALITIES}, "n_test": 100, "runs": runs, "sources": {}}
    return Study(data, "synthetic study")


def _statuses(monkeypatch, st):
    from lipbound.claims.mvae_findings import evaluators as _findings

    from lipbound.claims import Fixtures

    monkeypatch.setattr(_findings, "study", lambda case=None: st)
    out = {}
    for name, ev in _findings.EVALUATORS.items():
        cases = [ev.evaluate(c) for c in ev.fixed_cases(Fixtures())]
        out[name] = ("opposite" if any(c.decided and not c.ok for c in cases) else
                     "supported" if all(c.ok for c in cases) else "inconclusive")
        assert all(" seeds, " in c.label for c in cases)
    return out


def test_findings_evaluators_decide_both_ways(monkeypatch):
    """On a synthetic study with every effect as the paper says, every reading is supported; with the
    effects reversed, the readings that compare them are opposite (not-supported); with effects
    drowned in noise, inconclusive (not-proven). The evaluators can fail."""
    good = _statuses(monkeypatch, _synthetic_study())
    # per dimension, a part with 90% (touch, sound: 2 dims) or 30% (8 dims) of the whole exceeds the
    # whole's 1/28: that reading is opposite here, and supported when every share is below 2/28
    assert good.pop("per-dim-average-on-runs") == "opposite"
    assert all(v == "supported" for v in good.values()), good
    small = _statuses(monkeypatch, _synthetic_study(shares=(0.06, 0.05)))
    assert small["per-dim-average-on-runs"] == "supported" and small["touch-sound-hard-diagnostic"] == "supported"
    bad = _statuses(monkeypatch, _synthetic_study(vision_factor=5.0, c0_mse=0.5, active_c1=28))
    for name in ("vision-most-informative", "const0-best-reconstruction", "const0-beats-const1", "const1-collapse",
                 "dynamic-intermediate"):
        assert bad[name] == "opposite", (name, bad[name])
    noisy = _statuses(monkeypatch, _synthetic_study(c0_mse=0.2, seeds=3, noise=1.0, seed=1))
    assert noisy["const0-beats-const1"] == "inconclusive"


def test_findings_label_states_the_effect_and_convergence(monkeypatch):
    from lipbound.claims.mvae_findings import evaluators as _findings

    st = _synthetic_study()
    st.data["runs"][0]["convergence"]["converged"] = False
    monkeypatch.setattr(_findings, "study", lambda case=None: st)
    out = _findings.EVALUATORS["const0-beats-const1"].evaluate({})
    assert out.ok and "ratio" in out.label and "95% CI" in out.label and "20 seeds" in out.label
    assert "39/40 runs converged" in out.label and "10 epochs" in out.label
    assert out.counterexample["comparisons"][0]["verdict"] == "supported"
    json.dumps(out.counterexample)  # JSON-safe


def test_findings_do_not_flip_on_a_rerun_with_new_seeds(monkeypatch):
    """The committed rerun of the CPU study with seeds 20-39 (results/cpu-seeds20-39.json.gz) gives every
    mvae-findings reading the status the committed study (seeds 0-19) gives it."""
    from lipbound.claims.mvae import COMMITTED, load_study

    rerun = COMMITTED.parent / "cpu-seeds20-39.json.gz"
    a, b = load_study(), load_study(rerun)
    assert set(a.seeds()).isdisjoint(b.seeds()) and len(b.seeds()) == 20 and b.setting == a.setting
    first = {k: v for k, v in _statuses(monkeypatch, a).items()}
    second = {k: v for k, v in _statuses(monkeypatch, b).items()}
    assert first == second


def test_committed_study_is_the_original_model_with_20_seeds():
    from lipbound.claims.mvae import COMMITTED, load_study

    if not COMMITTED.is_file():
        pytest.fail(f"the committed study {COMMITTED} is missing")
    st = load_study()
    assert st.setting["variant"] == "original" and len(st.seeds()) == 20
    assert {r["schedule"] for r in st.data["runs"]} == set(SCHEDULES) and len(st.data["runs"]) == 80
    assert all(r["epochs"] == st.setting["epochs"] for r in st.data["runs"])


def test_proofs_agree_with_ledger():
    from lipbound.claims.mvae_kl_whole_vs_part.proof import PROOFS

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


def test_verify_decides_the_findings_on_the_study_it_is_given(tmp_path, capsys, monkeypatch):
    """``verify --mvae-study PATH`` (else ``$LIPBOUND_MVAE_RESULTS``) is the study mvae-findings is
    decided on: every case names it; a path that is no study is exit 2 before any work."""
    from pathlib import Path

    import lipbound.claims.mvae as mv

    other = Path(mv.__file__).parent / "results" / "cpu-seeds20-39.json.gz"
    out = tmp_path / "rows.json"
    assert main(["verify", "--claim", "mvae-findings", "--mvae-study", str(other), "--no-report", "--json", str(out)]) in (0, 1)
    rows = json.loads(out.read_text())
    assert rows and all(str(other) in r["detail"] or str(other) in json.dumps(r.get("counterexample")) for r in rows), rows
    monkeypatch.setenv("LIPBOUND_MVAE_RESULTS", str(tmp_path / "missing"))
    assert main(["verify", "--claim", "mvae-findings", "--no-report"]) == 2
    assert "$LIPBOUND_MVAE_RESULTS" in capsys.readouterr().err
    (tmp_path / "bad.json.gz").write_text("x")
    assert main(["verify", "--claim", "mvae-findings", "--mvae-study", str(tmp_path / "bad.json.gz"), "--no-report"]) == 2
    assert "--mvae-study: " in capsys.readouterr().err
