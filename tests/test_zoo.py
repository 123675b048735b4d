"""lipbound.zoo: deterministic data, the trainer, the cached zoo of trained models (round trip,
corruption, reproducibility) and the CUDA variants."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import lipbound.zoo._zoo as zoo_mod
from lipbound.errors import NonFiniteError, ShapeMismatchError
from lipbound.zoo import (
    ZOO,
    ZOO_GPU,
    DeviceUnavailableError,
    ZooCacheWarning,
    ZooSpec,
    build,
    cache_path,
    get_spec,
    load,
    load_all,
    make_factors,
    make_image_modality,
    make_multimodal_data,
    spec_data,
    spec_key,
    state_dict_sha256,
    train,
)

seeds = st.integers(min_value=0, max_value=2**31 - 2)
dims = st.lists(st.integers(1, 6), min_size=1, max_size=3)


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _no_training(monkeypatch):
    """Make any training attempt fail the test."""

    def boom(*args, **kwargs):
        raise AssertionError("the model was retrained although a valid cache entry exists")

    monkeypatch.setattr(zoo_mod, "train", boom)


# ----------------------------------------------------------------------------- data
@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 20), modality_dims=dims, n_factors=st.integers(1, 4), seed=seeds)
def test_data_is_deterministic(n, modality_dims, n_factors, seed):
    a = make_multimodal_data(n, modality_dims, n_factors=n_factors, seed=seed)
    b = make_multimodal_data(n, modality_dims, n_factors=n_factors, seed=seed)
    assert [tuple(x.shape) for x in a] == [(n, d) for d in modality_dims]
    assert all(x.dtype == torch.float32 for x in a)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    c = make_multimodal_data(n, modality_dims, n_factors=n_factors, seed=seed + 1)
    assert not any(torch.equal(x, y) for x, y in zip(a, c))
    held_out = make_multimodal_data(n, modality_dims, n_factors=n_factors, seed=seed, sample_seed=seed + 1)
    assert not any(torch.equal(x, y) for x, y in zip(a, held_out))


@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 6), size=st.integers(2, 12), channels=st.integers(1, 3), seed=seeds)
def test_image_data_is_deterministic(n, size, channels, seed):
    a = make_image_modality(n, size, channels=channels, seed=seed)
    assert tuple(a.shape) == (n, channels, size, size)
    assert torch.equal(a, make_image_modality(n, size, channels=channels, seed=seed))
    assert not torch.equal(a, make_image_modality(n, size, channels=channels, seed=seed + 1))
    assert not torch.equal(a, make_image_modality(n, size, channels=channels, seed=seed, sample_seed=seed + 1))


def test_data_follows_the_formula():
    """Without noise every entry is a tanh, so it lies in (-1, 1); the first rows do not depend on n."""
    xs = make_multimodal_data(50, (3, 4), noise=0.0, seed=7, dtype=torch.float64)
    assert all(x.dtype == torch.float64 and bool((x.abs() < 1).all()) for x in xs)
    more = make_multimodal_data(80, (3, 4), noise=0.0, seed=7, dtype=torch.float64)
    assert all(torch.equal(x, y[:50]) for x, y in zip(xs, more))
    # x_i = tanh(B_i s + c_i) exactly: recover B_i, c_i by least squares on arctanh(x_i)
    s = make_factors(50, 3, sample_seed=7)
    design = np.hstack([s, np.ones((50, 1))])
    for x in xs:
        target = np.arctanh(x.numpy())
        coef, *_ = np.linalg.lstsq(design, target, rcond=None)
        # an affine map fits exactly up to float64 rounding of tanh/arctanh (|x| < 1 here, well
        # away from the poles of arctanh): 1e-9 is far above rounding and far below any misfit
        np.testing.assert_allclose(design @ coef, target, atol=1e-9)


def test_images_are_blobs_inside_the_frame():
    img = make_image_modality(200, 16, noise=0.0, seed=3)
    assert bool((img >= 0).all()) and bool((img <= 1).all())
    flat = img[:, 0].reshape(200, -1)
    peak = flat.argmax(dim=1)
    rows, cols = peak // 16, peak % 16
    # centre in [0.2 (H-1), 0.8 (H-1)] = [3, 12], so the argmax pixel is within [3, 12]
    assert int(rows.min()) >= 3 and int(rows.max()) <= 12
    assert int(cols.min()) >= 3 and int(cols.max()) <= 12
    assert len(set(peak.tolist())) > 10  # the blob moves with the factors


def test_data_bad_arguments():
    with pytest.raises(ValueError, match="n_samples"):
        make_multimodal_data(0)
    with pytest.raises(ShapeMismatchError, match="modality_dims"):
        make_multimodal_data(5, ())
    with pytest.raises(ShapeMismatchError, match="modality_dims"):
        make_multimodal_data(5, (3, 0))
    with pytest.raises(ValueError, match="noise"):
        make_multimodal_data(5, noise=-1.0)
    with pytest.raises(ValueError, match="seed"):
        make_multimodal_data(5, seed=-1)
    with pytest.raises(ValueError, match="floating"):
        make_multimodal_data(5, dtype=torch.int64)
    with pytest.raises(ShapeMismatchError, match="image_size"):
        make_image_modality(5, image_size=1)


# ----------------------------------------------------------------------------- training
def test_training_reduces_the_loss():
    spec = ZOO["sum-tanh"]
    model = build(spec)
    result = train(model, spec_data(spec), epochs=spec.epochs, batch_size=spec.batch_size, lr=spec.lr,
                   seed=spec.seed)
    assert len(result.losses) == spec.epochs
    assert all(np.isfinite(result.losses))
    # measured: about 7.7 -> 0.08 (noise floor 16 * 0.05**2 = 0.04); a factor 10 is a loose bar
    # that an optimiser doing nothing (or ascending) cannot pass
    assert result.final_loss < 0.1 * result.initial_loss
    assert result.losses[-1] < result.losses[0]
    # and it generalises to held-out samples of the same task (same factor maps, new samples)
    held_out = spec_data(spec, sample_seed=spec.seed + 100)
    with torch.no_grad():
        assert float(model.loss(held_out)) < 0.1 * float(build(spec).loss(held_out))


def test_training_is_deterministic():
    spec = replace(ZOO["attention-tanh"], epochs=3)
    a, b = build(spec), build(spec)
    ra = train(a, spec_data(spec), epochs=3, seed=5)
    rb = train(b, spec_data(spec), epochs=3, seed=5)
    assert _same_weights(a, b)
    assert ra.losses == rb.losses
    c = build(spec)
    train(c, spec_data(spec), epochs=3, seed=6)  # another shuffling order
    assert not _same_weights(a, c)


def test_shared_epoch_loop_gives_the_weights_of_the_plain_loop():
    """The zoo trains with the epoch loop the experiments harness runs (train_epoch: losses checked on
    the host every 50 batches); the weights must be those of the plain per-batch loop it replaced, bit
    for bit, so that cached zoo models stay valid (TRAINER_FORMAT unchanged). attention-tanh has the L2
    term; 3 epochs, seed 5, batch 16 (16 batches per epoch)."""
    spec = replace(ZOO["attention-tanh"], epochs=3)
    a, ref = build(spec), build(spec)
    data = spec_data(spec)
    result = train(a, data, epochs=3, batch_size=16, seed=5)
    gen = torch.Generator().manual_seed(5)
    opt = torch.optim.Adam(ref.parameters(), lr=1e-3)
    ref.train()
    losses = []
    n = data[0].shape[0]
    for _ in range(3):
        perm = torch.randperm(n, generator=gen)
        total = torch.zeros(())
        for lo in range(0, n, 16):
            idx = perm[lo:lo + 16]
            loss = ref.loss([x.index_select(0, idx) for x in data])
            assert bool(torch.isfinite(loss))
            opt.zero_grad(set_to_none=True)
            (loss + ref.fusion.regularization_loss()).backward()
            opt.step()
            total += loss.detach() * idx.numel()
        losses.append(float(total) / n)
    assert _same_weights(a, ref)
    assert result.losses == losses


def test_training_names_the_epoch_of_a_non_finite_loss():
    spec = replace(ZOO["concat-relu"], n_samples=64)
    data = spec_data(spec)
    data[1][5:, :] = 1e25  # finite in float32, but its square is not: the loss overflows to Inf
    with pytest.raises(NonFiniteError, match=r"loss became inf in epoch 1 of 2 \(batch 0\)"):
        train(build(spec), data, epochs=2, batch_size=64)


def test_training_bad_arguments():
    spec = ZOO["sum-tanh"]
    model, data = build(spec), spec_data(spec, n_samples=8)
    with pytest.raises(ValueError, match="epochs"):
        train(model, data, epochs=0)
    with pytest.raises(ValueError, match="batch_size"):
        train(model, data, epochs=1, batch_size=0)
    with pytest.raises(ValueError, match="lr"):
        train(model, data, epochs=1, lr=float("nan"))
    with pytest.raises(ShapeMismatchError, match="M = 2 modalities but 1 data tensors"):
        train(model, data[:1], epochs=1)
    with pytest.raises(ShapeMismatchError, match=r"same positive number of samples.*\[8, 7\]"):
        train(model, [data[0], data[1][:7]], epochs=1)
    bad = [data[0].clone(), data[1]]
    bad[0][0, 0] = float("nan")
    with pytest.raises(NonFiniteError, match="training data of modality 0"):
        train(model, bad, epochs=1)


# ----------------------------------------------------------------------------- the zoo
def test_zoo_contents():
    fusions = {s.fusion for s in ZOO.values() if s.kind == "mlp" and s.num_modalities == 2}
    assert fusions == {"sum", "concat", "attention"}
    assert {s.activation for s in ZOO.values()} >= {"tanh", "relu"}
    assert any(s.num_modalities == 3 for s in ZOO.values())
    assert any(s.kind == "conv" and s.fusion == "sum" for s in ZOO.values())
    assert all(name == spec.name for name, spec in ZOO.items())
    assert all(s.device == "cuda" for s in ZOO_GPU.values())
    assert {s.fusion for s in ZOO_GPU.values()} == {"sum", "concat", "attention"}


CUSTOM_SPECS = [
    ZooSpec("uneven-concat", "concat", modality_dims=(2, 5), latent_dims=(1, 3), hidden=(), activation="elu"),
    ZooSpec("image-only", "sum", modality_dims=(), latent_dims=3, kind="conv", image_size=9, channels=(2,)),
    ZooSpec("attention3", "attention", modality_dims=(2, 3, 4), latent_dims=(2, 3, 1), hidden=(4, 3)),
]


@pytest.mark.parametrize("name", list(ZOO) + list(ZOO_GPU) + CUSTOM_SPECS, ids=lambda s: get_spec(s).name)
def test_build_is_deterministic_and_fits_the_data(name):
    spec = get_spec(name)
    rng_before = torch.get_rng_state()
    a, b = build(name), build(spec)
    assert torch.equal(torch.get_rng_state(), rng_before)  # build does not touch the global RNG
    assert _same_weights(a, b)
    assert a.num_modalities == spec.num_modalities and a.latent_dims == spec.latent_dims
    xs = spec_data(spec, n_samples=3)
    with torch.no_grad():
        assert [y.shape for y in a(xs)] == [x.shape for x in xs]


@pytest.mark.parametrize("spec", CUSTOM_SPECS, ids=lambda s: s.name)
def test_custom_specs_train_and_cache(tmp_path, spec, monkeypatch):
    spec = replace(spec, epochs=2, n_samples=128)
    model = load(spec, cache_dir=tmp_path)
    assert cache_path(spec, tmp_path).exists()
    _no_training(monkeypatch)
    assert _same_weights(model, load(spec, cache_dir=tmp_path))


def test_spec_validation():
    with pytest.raises(ValueError, match="unknown fusion 'product'"):
        ZooSpec("x", "product")
    with pytest.raises(ValueError, match="kind"):
        ZooSpec("x", "sum", kind="rnn")
    with pytest.raises(ShapeMismatchError, match="3 latent widths for 2 modalities"):
        ZooSpec("x", "concat", latent_dims=(2, 2, 2))
    with pytest.raises(ValueError, match="activation"):
        ZooSpec("x", "sum", activation="swish")
    with pytest.raises(ValueError, match="file name"):
        ZooSpec("a/b", "sum")
    with pytest.raises(KeyError, match="unknown zoo model 'nope'"):
        get_spec("nope")
    s = ZOO["concat3-tanh"]
    assert ZooSpec.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    assert spec_key(s) != spec_key(replace(s, seed=s.seed + 1))


def test_cache_round_trip(tmp_path, monkeypatch):
    first = load("sum-tanh", cache_dir=tmp_path)
    pt = cache_path("sum-tanh", tmp_path)
    assert pt.parent == tmp_path / "zoo" and pt.name.startswith("sum-tanh-") and pt.exists()
    meta = json.loads(pt.with_suffix(".json").read_text())
    assert meta["spec"] == ZOO["sum-tanh"].to_dict()
    assert meta["torch"] == torch.__version__
    assert np.isfinite(meta["final_loss"]) and meta["seconds"] > 0
    assert sorted(p.name for p in pt.parent.iterdir()) == sorted([pt.name, pt.with_suffix(".json").name])
    assert all(p.dtype == torch.float64 for p in first.parameters()) and not first.training

    _no_training(monkeypatch)
    second = load("sum-tanh", cache_dir=tmp_path)
    assert _same_weights(first, second)
    as32 = load("sum-tanh", cache_dir=tmp_path, dtype=torch.float32)
    assert all(p.dtype == torch.float32 for p in as32.parameters())
    # weights are trained and stored in float32, so the float64 model is exactly the float32 one
    assert all(torch.equal(p.double(), q) for p, q in zip(as32.parameters(), first.parameters()))


def test_cache_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LIPBOUND_CACHE", str(tmp_path / "env-cache"))
    assert cache_path("sum-tanh").parent == tmp_path / "env-cache" / "zoo"


def _garble(pt, meta_path):
    raw = bytearray(pt.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    pt.write_bytes(bytes(raw))


def _truncate(pt, meta_path):
    pt.write_bytes(pt.read_bytes()[:100])


def _garbage_with_matching_hash(pt, meta_path):
    """Weights that pass the file hash but are not a loadable state dict."""
    import hashlib

    pt.write_bytes(b"not a torch file")
    meta = json.loads(meta_path.read_text())
    meta["sha256"] = hashlib.sha256(b"not a torch file").hexdigest()
    meta_path.write_text(json.dumps(meta))


def _nan_weights_with_matching_hash(pt, meta_path):
    """A loadable state dict with a NaN weight and a consistent file hash."""
    import hashlib
    import io

    state = torch.load(pt, weights_only=True)
    next(iter(state.values()))[0] = float("nan")
    buf = io.BytesIO()
    torch.save(state, buf)
    pt.write_bytes(buf.getvalue())
    meta = json.loads(meta_path.read_text())
    meta["sha256"] = hashlib.sha256(buf.getvalue()).hexdigest()
    meta_path.write_text(json.dumps(meta))


def _bad_json(pt, meta_path):
    meta_path.write_text("{ not json")


def _no_metadata(pt, meta_path):
    meta_path.unlink()


@pytest.mark.parametrize(
    "corrupt",
    [_garble, _truncate, _garbage_with_matching_hash, _nan_weights_with_matching_hash, _bad_json, _no_metadata],
)
def test_corrupt_cache_is_detected_and_retrained(tmp_path, corrupt):
    good = load("concat-relu", cache_dir=tmp_path)
    pt = cache_path("concat-relu", tmp_path)
    corrupt(pt, pt.with_suffix(".json"))
    with pytest.warns(ZooCacheWarning, match="unusable"):
        again = load("concat-relu", cache_dir=tmp_path)
    assert _same_weights(good, again)  # retrained (deterministically), not the corrupt weights
    # and the cache entry is valid again: a third load neither warns nor retrains
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", ZooCacheWarning)
        assert _same_weights(good, load("concat-relu", cache_dir=tmp_path))


def test_retrain_overwrites(tmp_path, monkeypatch):
    load("sum-tanh", cache_dir=tmp_path)
    calls = []
    real = zoo_mod.train
    monkeypatch.setattr(zoo_mod, "train", lambda *a, **k: calls.append(1) or real(*a, **k))
    load("sum-tanh", cache_dir=tmp_path, retrain=True)
    assert calls == [1]


@pytest.mark.parametrize("name", ["attention-tanh", "conv-sum-relu"])
def test_training_from_scratch_reproduces_the_weights(tmp_path, name):
    a = load(name, cache_dir=tmp_path / "a")
    b = load(name, cache_dir=tmp_path / "b")
    assert _same_weights(a, b)
    meta = [json.loads(cache_path(name, tmp_path / d).with_suffix(".json").read_text()) for d in "ab"]
    assert meta[0]["state_sha256"] == meta[1]["state_sha256"] == state_dict_sha256(a.float().state_dict())
    assert meta[0]["losses"] == meta[1]["losses"]


@pytest.mark.slow
def test_whole_zoo_trains(tmp_path):
    models = load_all(cache_dir=tmp_path)
    assert list(models) == list(ZOO)
    for name, model in models.items():
        meta = json.loads(cache_path(name, tmp_path).with_suffix(".json").read_text())
        # every entry learns: a tenth of the initial loss (measured: 1/100 for the MLPs, 1/16 for conv)
        assert meta["final_loss"] < 0.1 * meta["initial_loss"], name
        xs = spec_data(name, sample_seed=999, n_samples=4, dtype=torch.float64)
        with torch.no_grad():
            assert torch.isfinite(model.loss(xs))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised when there is no CUDA")
def test_gpu_entry_without_cuda_is_a_clear_error(tmp_path):
    with pytest.raises(DeviceUnavailableError, match="torch.cuda.is_available\\(\\) is False"):
        load("paper-sum-relu", cache_dir=tmp_path)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (torch.cuda.is_available() is False)")
@pytest.mark.parametrize("name", list(ZOO_GPU))
def test_gpu_entry_trains_on_cuda(tmp_path, name):
    spec = replace(ZOO_GPU[name], epochs=2, n_samples=2048)
    model = load(spec, cache_dir=tmp_path, dtype=torch.float32)
    meta = json.loads(cache_path(spec, tmp_path).with_suffix(".json").read_text())
    assert meta["device"].startswith("cuda")
    assert len(meta["losses"]) == 2 and meta["final_loss"] < meta["initial_loss"]
    assert next(model.parameters()).device.type == "cpu"  # cached weights load anywhere
    xs = spec_data(spec, n_samples=4)
    with torch.no_grad():
        assert torch.isfinite(model.loss(xs))
