"""The generated multimodal datasets (MuJoCo scenes), their cache, the folder loader and the
failure injection of Section 5.7.

Generated datasets are drawn at a tiny configuration (16 x 16 images, 16 frames per episode, 2 + 1
episodes) into temporary cache folders, so the whole file runs in well under a minute on a CPU.
"""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from lipbound.datasets import (
    DATASETS,
    IMAGE_CORRUPTIONS,
    LOADERS,
    SERIES_CORRUPTIONS,
    CorruptionError,
    DatasetCacheWarning,
    DatasetFolderError,
    UnknownDatasetError,
    cache_file,
    corrupt,
    csi_amplitude,
    dataset_checksum,
    load_dataset,
    load_folder,
    sliding_windows,
    stroke_order,
    window_ends,
)
from lipbound.datasets import _robomnist, _sim
from lipbound.errors import LipboundError, MissingDependencyError

GENERATED = ("pick-and-place", "welding-single", "welding-dual", "robomnist")
TINY = {"image_size": 16, "frames": 16, "seq_len": 4, "step": 3, "train_episodes": 2, "test_episodes": 1}
SERIES_CHANNELS = {"pick-and-place": {"joints": 5}, "welding-single": {"joints": 4}, "welding-dual": {"joints": 8},
                   "robomnist": {"kinematics": 7, "wifi": 8}}


def _tiny(name: str) -> dict:
    return dict(TINY, subcarriers=8) if name == "robomnist" else dict(TINY)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Each generated dataset at seed 0, built once into its own cache folder."""
    out = {}
    for name in GENERATED:
        d = tmp_path_factory.mktemp(name)
        out[name] = (DATASETS[name](seed=0, cache_dir=d, **_tiny(name)), d)
    return out


# ------------------------------------------------------------------------------- generated datasets
@pytest.mark.parametrize("name", GENERATED)
def test_generated_shapes_ranges_and_meta(built, name):
    ds, _ = built[name]
    n_win = len(window_ends(TINY["frames"], TINY["seq_len"], TINY["step"]))  # 5 windows per episode
    assert ds.meta["n_train"] == 2 * n_win and ds.meta["n_test"] == n_win
    assert ds.meta["cache"] == "miss" and ds.meta["samples_per_second"] > 0
    assert ds.meta["config"]["image_size"] == 16 and ds.meta["seed"] == 0
    cam = ds.train["camera"]
    assert tuple(cam.shape) == (2 * n_win, 3, 16, 16) and cam.dtype == torch.float32
    assert float(cam.min()) >= 0.0 and float(cam.max()) <= 1.0
    # the arm moves: images of one episode are not all equal, and a window's rows change in time
    assert float((cam[1:n_win] - cam[0]).abs().max()) > 0.05
    for mod, channels in SERIES_CHANNELS[name].items():
        s = ds.train[mod]
        assert tuple(s.shape) == (2 * n_win, TINY["seq_len"], channels)
        assert bool(torch.isfinite(s).all())
        assert float((s[:, -1] - s[:, 0]).abs().max()) > 1e-3
    joints = ds.train["joints" if name != "robomnist" else "kinematics"][..., :4]
    assert float(joints[..., 0].abs().max()) <= math.pi + 1e-6  # yaw wrapped to [-pi, pi]
    assert float(joints.abs().max()) < 2 * math.pi


@pytest.mark.parametrize("name", GENERATED)
def test_windows_overlap_consistently(built, name):
    """Consecutive samples of one episode are windows ``step`` frames apart: their overlapping rows
    are the same frames (Section 5.1 windowing)."""
    ds, _ = built[name]
    s = ds.train["joints" if name != "robomnist" else "kinematics"]
    step, L = TINY["step"], TINY["seq_len"]
    assert torch.equal(s[1, : L - step], s[0, step:])


@pytest.mark.parametrize("name", GENERATED)
def test_generated_deterministic_and_cached(built, name, tmp_path):
    ds, d = built[name]
    again = DATASETS[name](seed=0, cache_dir=tmp_path, **_tiny(name))  # regenerated in a fresh folder
    assert again.meta["cache"] == "miss" and dataset_checksum(again) == dataset_checksum(ds)
    hit = DATASETS[name](seed=0, cache_dir=d, **_tiny(name))
    assert hit.meta["cache"] == "hit" and hit.meta["checksum"] == ds.meta["checksum"] == dataset_checksum(hit)
    for split in ("train", "test"):
        for m in ds.modality_names:
            assert torch.equal(getattr(hit, split)[m], getattr(ds, split)[m])
    other = DATASETS[name](seed=1, cache_dir=tmp_path, **_tiny(name))
    assert dataset_checksum(other) != dataset_checksum(ds)


def test_robomnist_labels_and_digit_split(built):
    ds, _ = built["robomnist"]
    labels = ds.meta["labels"]
    assert len(labels["train"]) == ds.meta["n_train"] and len(labels["test"]) == ds.meta["n_test"]
    assert set(labels["train"]) | set(labels["test"]) <= set(range(10))


def test_corrupt_cache_is_detected_and_regenerated(built, tmp_path):
    name = "pick-and-place"
    ds, _ = built[name]
    first = DATASETS[name](seed=0, cache_dir=tmp_path, **TINY)
    path = cache_file(tmp_path, name, "small", 0, first.meta["config"])
    assert path.exists() and path.with_name(path.name + ".sha256").exists()
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.warns(DatasetCacheWarning, match="sha256"):
        fixed = DATASETS[name](seed=0, cache_dir=tmp_path, **TINY)
    assert fixed.meta["cache"] == "regenerated" and dataset_checksum(fixed) == dataset_checksum(ds)
    assert DATASETS[name](seed=0, cache_dir=tmp_path, **TINY).meta["cache"] == "hit"
    path.with_name(path.name + ".sha256").unlink()
    with pytest.warns(DatasetCacheWarning, match="checksum file"):
        assert DATASETS[name](seed=0, cache_dir=tmp_path, **TINY).meta["cache"] == "regenerated"


def test_cache_with_another_configuration_is_regenerated(built, tmp_path):
    """A valid file holding another configuration (e.g. copied over) is not trusted."""
    name = "welding-single"
    ds, d = built[name]
    src = cache_file(d, name, "small", 0, ds.meta["config"])
    cfg2 = dict(ds.meta["config"], step=2)
    dst = cache_file(tmp_path, name, "small", 0, cfg2)
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(src.read_bytes())
    dst.with_name(dst.name + ".sha256").write_bytes(src.with_name(src.name + ".sha256").read_bytes())
    with pytest.warns(DatasetCacheWarning, match="another configuration"):
        ds2 = DATASETS[name](seed=0, cache_dir=tmp_path, **dict(TINY, step=2))
    assert ds2.meta["config"]["step"] == 2 and ds2.meta["n_train"] == 2 * len(window_ends(16, 4, 2))


def test_default_cache_dir_honours_lipbound_cache(monkeypatch, tmp_path):
    from lipbound.datasets import default_dataset_cache_dir

    monkeypatch.setenv("LIPBOUND_CACHE", str(tmp_path))
    assert default_dataset_cache_dir() == tmp_path / "datasets"


def test_bad_names_and_configurations(tmp_path):
    with pytest.raises(UnknownDatasetError, match="pick-and-place"):
        load_dataset("pick-and-plaice")
    with pytest.raises(LipboundError, match="size"):
        load_dataset("welding-single", size="huge")
    with pytest.raises(LipboundError, match="unknown configuration keys"):
        DATASETS["pick-and-place"](cache_dir=tmp_path, image_sise=8)
    with pytest.raises(LipboundError, match="seq_len"):
        DATASETS["pick-and-place"](cache_dir=tmp_path, seq_len=40, frames=20)
    with pytest.raises(LipboundError, match="seed"):
        DATASETS["robomnist"](cache_dir=tmp_path, seed=-1)
    with pytest.raises(LipboundError, match="positive"):
        DATASETS["welding-dual"](cache_dir=tmp_path, train_episodes=0)
    assert not list(tmp_path.iterdir())  # nothing was written for bad requests


def test_missing_mujoco_and_missing_gl_give_the_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "mujoco", None)  # import mujoco now raises ImportError
    with pytest.raises(MissingDependencyError, match="pip install mujoco"):
        _sim.import_mujoco()
    monkeypatch.undo()
    mujoco = _sim.import_mujoco()

    def broken(*a, **k):
        raise RuntimeError("gladLoadGL error")

    monkeypatch.setattr(mujoco, "Renderer", broken)
    with pytest.raises(_sim.RendererUnavailableError, match="MUJOCO_GL=osmesa.*renderer=.procedural"):
        _sim.make_renderer(mujoco.MjModel.from_xml_string("<mujoco/>"), 16)


@given(seed=st.integers(0, 2**31 - 1))
def test_inverse_kinematics_reaches_targets(seed):
    """The closed-form IK (Section-free geometry of the shipped arm) puts the tool tip on the target
    with the tool pointing down; 1e-9 m is float64 round-off on ~1 m lengths."""
    scene = _ik_scene()
    rng = np.random.default_rng(seed)
    for arm in scene.arms:
        a, r, z = rng.uniform(-np.pi, np.pi), rng.uniform(0.15, 0.6), rng.uniform(0.0, 0.35)
        target = arm.base + np.array([r * np.cos(a), r * np.sin(a), z])
        scene.data.qpos[arm.qadr] = arm.ik(target)
        scene.forward()
        assert np.linalg.norm(np.array(scene.data.site_xpos[arm.site]) - target) < 1e-9
        tool_axis = np.array(scene.data.site_xmat[arm.site]).reshape(3, 3)[:, 2]
        assert np.allclose(tool_axis, [0.0, 0.0, -1.0], atol=1e-9)
    with pytest.raises(LipboundError, match="reach"):
        scene.arms[0].ik(scene.arms[0].base + np.array([2.0, 0.0, 0.0]))


_IK = {}


def _ik_scene():
    if "scene" not in _IK:  # kinematics only: no renderer needed
        mujoco = _sim.import_mujoco()

        class _S:
            pass

        s = _S()
        s.model = mujoco.MjModel.from_xml_path(str(_sim.MODELS / "welding_dual.xml"))
        s.data = mujoco.MjData(s.model)
        s.arms = [_sim.Arm(s.model, p) for p in ("a_", "b_")]
        s.forward = lambda: mujoco.mj_forward(s.model, s.data)
        _IK["scene"] = s
    return _IK["scene"]


@given(T=st.integers(1, 30), L=st.integers(1, 30), step=st.integers(1, 5), C=st.integers(1, 3))
def test_sliding_windows_match_a_loop(T, L, step, C):
    series = np.arange(T * C, dtype=float).reshape(T, C)
    if L > T:
        with pytest.raises(LipboundError):
            sliding_windows(series, L, step)
        return
    w = sliding_windows(series, L, step)
    expected = [series[t - L + 1: t + 1] for t in range(L - 1, T, step)]
    assert len(w) == (T - L) // step + 1 == len(expected)
    assert all(np.array_equal(a, b) for a, b in zip(w, expected))


def test_stroke_order_visits_every_ink_pixel_once():
    images, _ = _robomnist._digits()
    for img in images[:50]:
        order = stroke_order(img)
        assert sorted(order) == sorted(map(tuple, np.argwhere(img >= _robomnist.INK_THRESHOLD).tolist()))
        assert order[0] == tuple(np.argwhere(img >= _robomnist.INK_THRESHOLD)[0])


def test_csi_two_path_formula_and_dependence_on_the_arm():
    """Without scatterers the amplitude is the two-ray value, computed here independently."""
    K = 6
    a = csi_amplitude(np.zeros((0, 3)), np.zeros(0), K, np.zeros((2, K)))
    f = 5.32e9 + (np.arange(K) / (K - 1) - 0.5) * 40e6
    lam = 299_792_458.0 / f
    d0 = 1.6  # Tx and Rx are 1.6 m apart at the same height
    df = math.sqrt(1.6**2 + 0.8**2)  # to the floor image of the transmitter
    expected = np.abs(1 - 0.4 * (d0 / df) * np.exp(-2j * np.pi * (df - d0) / lam))
    np.testing.assert_allclose(a, expected, rtol=1e-12)
    p1 = np.array([[0.4, 0.0, 0.3]])
    p2 = p1 + [[0.01, 0.0, 0.0]]
    s = np.array([0.04])
    z = np.zeros((2, K))
    assert not np.allclose(csi_amplitude(p1, s, K, z), csi_amplitude(p2, s, K, z), atol=1e-3)


# --------------------------------------------------------------------------------------- corruptions
def _images(seed, n, c, h, w, dtype=torch.float32):
    return torch.rand(n, c, h, w, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)


def _series(seed, n, t, c, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, t, c, generator=g, dtype=torch.float64).cumsum(1).to(dtype)


shapes_img = st.tuples(st.integers(1, 3), st.sampled_from([1, 3]), st.integers(6, 20), st.integers(6, 20))
shapes_ser = st.tuples(st.integers(1, 3), st.integers(2, 24), st.integers(1, 4))
dtypes = st.sampled_from([torch.float32, torch.float64])


@given(shape=shapes_img, seed=st.integers(0, 10**6), sev=st.floats(0.05, 1.0), dtype=dtypes)
def test_image_corruptions_properties(shape, seed, sev, dtype):
    x = _images(seed, *shape, dtype=dtype)
    for name in IMAGE_CORRUPTIONS:
        assert torch.equal(corrupt(name, x, severity=0.0, seed=seed), x)
        y = corrupt(name, x, severity=sev, seed=seed)
        assert y.shape == x.shape and y.dtype == x.dtype
        assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0
        assert torch.equal(y, corrupt(name, x, severity=sev, seed=seed))
    assert not torch.equal(corrupt("gaussian_noise", x, severity=sev, seed=seed), x)


@given(shape=shapes_ser, seed=st.integers(0, 10**6), sev=st.floats(0.05, 1.0), dtype=dtypes)
def test_series_corruptions_properties(shape, seed, sev, dtype):
    x = _series(seed, *shape, dtype=dtype)
    for name in SERIES_CORRUPTIONS:
        assert torch.equal(corrupt(name, x, severity=0.0, seed=seed), x)
        y = corrupt(name, x, severity=sev, seed=seed)
        assert y.shape == x.shape and y.dtype == x.dtype and bool(torch.isfinite(y).all())
        assert torch.equal(y, corrupt(name, x, severity=sev, seed=seed))
    assert not torch.equal(corrupt("noise", x, severity=sev, seed=seed), x)


def _err(name, x, s, seed):
    return float((corrupt(name, x, severity=s, seed=seed) - x).abs().sum())


@given(shape=shapes_img, seed=st.integers(0, 10**6), s=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=2))
def test_image_corruption_effect_grows_with_severity(shape, seed, s):
    """Pixel-wise monotone by construction for these (nested regions, growing amplitude, same
    draws); computed in float64 so the comparison is exact."""
    lo, hi = sorted(s)
    x = _images(seed, *shape, dtype=torch.float64)
    for name in ("gaussian_noise", "occlusion", "dust", "lens_flare"):
        assert _err(name, x, lo, seed) <= _err(name, x, hi, seed)


@given(shape=shapes_ser, seed=st.integers(0, 10**6), s=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=2))
def test_series_corruption_effect_grows_with_severity(shape, seed, s):
    lo, hi = sorted(s)
    x = _series(seed, *shape, dtype=torch.float64)
    for name in ("noise", "trend", "cutout", "channel_scaling"):
        assert _err(name, x, lo, seed) <= _err(name, x, hi, seed) * (1 + 1e-12)
    # time warp: on a linear ramp the displacement is |w(t) - t|, growing linearly in the severity
    n, t, c = shape
    ramp = torch.arange(t, dtype=torch.float64).view(1, t, 1).expand(n, t, c).contiguous()
    assert _err("time_warp", ramp, lo, seed) <= _err("time_warp", ramp, hi, seed) * (1 + 1e-12)


def test_blur_effect_grows_with_severity():
    """Blur is not pixel-wise monotone; on random images its total change grows over this grid."""
    x = _images(0, 4, 3, 32, 32, dtype=torch.float64)
    errs = [_err("blur", x, s, 0) for s in (0.0, 0.1, 0.25, 0.5, 0.75, 1.0)]
    assert errs[0] == 0.0 and all(a < b for a, b in zip(errs, errs[1:]))


def test_mixed_kind_corruption():
    x = _images(3, 12, 3, 16, 16)
    y = corrupt("image", x, severity=0.8, seed=5)
    assert y.shape == x.shape and torch.equal(y, corrupt("image", x, severity=0.8, seed=5))
    assert all(not torch.equal(y[i], x[i]) for i in range(12))
    s = _series(3, 12, 10, 2)
    assert corrupt("series", s, severity=0.5, seed=1).shape == s.shape
    assert torch.equal(corrupt("series", s, severity=0.0), s)


def test_corruption_errors():
    x = _images(0, 2, 3, 8, 8)
    with pytest.raises(CorruptionError, match="unknown corruption"):
        corrupt("fog", x)
    with pytest.raises(CorruptionError, match="severity"):
        corrupt("blur", x, severity=1.5)
    with pytest.raises(CorruptionError, match="floating"):
        corrupt("blur", (x * 255).to(torch.uint8))
    with pytest.raises(CorruptionError, match=r"\(N, T, C\)"):
        corrupt("noise", x)
    with pytest.raises(CorruptionError, match=r"\[0, 1\]"):
        corrupt("dust", x * 3)
    with pytest.raises(CorruptionError, match="NaN"):
        corrupt("trend", torch.full((1, 4, 2), float("nan")))
    assert isinstance(CorruptionError("x"), LipboundError)


# ------------------------------------------------------------------------------------- folder loader
def test_folder_flat_layout_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    cam = rng.integers(0, 256, (20, 3, 8, 8), dtype=np.uint8)
    joints = rng.standard_normal((20, 6, 4))
    np.save(tmp_path / "camera.npy", cam)
    np.save(tmp_path / "joints.npy", joints)
    ds = load_dataset(f"folder:{tmp_path}")
    assert ds.meta["n_train"] == 16 and ds.meta["n_test"] == 4 and ds.meta["layout"] == "flat"
    assert torch.equal(ds.train["camera"], torch.from_numpy(cam[:16].astype(np.float32) / np.float32(255)))
    assert torch.equal(ds.test["joints"], torch.from_numpy(joints[16:].astype(np.float32)))
    assert LOADERS["folder"] is load_folder


def test_folder_split_layout_with_modalities_json(tmp_path):
    for split, n in (("train", 7), ("test", 3)):
        (tmp_path / split).mkdir()
        np.save(tmp_path / split / "a.npy", np.zeros((n, 5), np.float32))
        np.save(tmp_path / split / "b.npy", np.ones((n, 4, 2), np.float64))
    (tmp_path / "modalities.json").write_text(json.dumps(
        {"modalities": [{"name": "b", "kind": "series"}, {"name": "a", "kind": "vector"}]}))
    ds = load_folder(tmp_path, name="mine")
    assert ds.name == "mine" and ds.modality_names == ("b", "a")
    assert ds.meta["n_train"] == 7 and ds.meta["n_test"] == 3 and ds.train["b"].dtype == torch.float32


@pytest.mark.parametrize("problem, match", [
    ("missing", "does not exist"),
    ("empty", "no <modality>.npy"),
    ("counts", "different sample counts"),
    ("no_test", "needs both"),
    ("json", "names modalities"),
    ("rank", "rank"),
    ("declared", "declared image"),
    ("nan", "NaN"),
    ("split_shapes", "shape"),
])
def test_folder_errors(tmp_path, problem, match):
    d = tmp_path / "data"
    if problem != "missing":
        d.mkdir()
    if problem == "counts":
        np.save(d / "a.npy", np.zeros((5, 3)))
        np.save(d / "b.npy", np.zeros((6, 3)))
    elif problem == "no_test":
        (d / "train").mkdir()
        np.save(d / "train" / "a.npy", np.zeros((5, 3)))
    elif problem == "json":
        np.save(d / "a.npy", np.zeros((5, 3)))
        (d / "modalities.json").write_text(json.dumps({"modalities": [{"name": "z", "kind": "vector"}]}))
    elif problem == "rank":
        np.save(d / "a.npy", np.zeros((5, 2, 2, 2, 2)))
    elif problem == "declared":
        np.save(d / "a.npy", np.zeros((5, 3)))
        (d / "modalities.json").write_text(json.dumps({"modalities": [{"name": "a", "kind": "image"}]}))
    elif problem == "nan":
        np.save(d / "a.npy", np.full((5, 3), np.nan))
    elif problem == "split_shapes":
        for split, w in (("train", 3), ("test", 4)):
            (d / split).mkdir()
            np.save(d / split / "a.npy", np.zeros((5, w)))
    with pytest.raises(DatasetFolderError, match=match):
        load_folder(d)


# ---------------------------------------------------------------------------------- scene semantics
def _record(module, monkeypatch, probe):
    """Patch ``module.run_frames`` so that every frame's scene state ``probe(scene)`` is recorded."""
    from lipbound.datasets._generated import run_frames

    states = []

    def recording(scene, frames, seq_len, step, set_frame):
        def wrapped(t):
            row = set_frame(t)
            states.append(probe(scene))
            return row

        return run_frames(scene, frames, seq_len, step, wrapped)

    monkeypatch.setattr(module, "run_frames", recording)
    return states


CFG = dict(TINY, frames=40, split="train")


def test_pick_and_place_carries_the_cube_to_the_target(monkeypatch):
    from lipbound.datasets import _pick_and_place as pp

    scene = _sim.Scene("pick_and_place.xml", 16)
    ob, tgt = scene.joint_qadr("object"), scene.geom("target")

    def probe(s):
        return (np.array(s.data.qpos[ob:ob + 3]), s.tcp(), np.array(s.model.geom_pos[tgt]),
                float(s.data.qpos[s.joint_qadr("finger_l")]))

    states = _record(pp, monkeypatch, probe)
    try:
        for seed in range(3):
            states.clear()
            pp._episode(scene, np.random.default_rng(seed), CFG)
            obj0, _, target, _ = states[0]
            obj_end = states[-1][0]
            assert np.linalg.norm(obj0[:2] - target[:2]) > 0.1  # it starts away from the target
            np.testing.assert_array_equal(obj_end, [target[0], target[1], 0.02])  # and ends on it
            carried = [(o, tcp) for o, tcp, _, f in states if f == pp.CLOSED and tcp[2] > 0.1]
            assert carried and all(np.allclose(o, tcp - [0, 0, 0.01], atol=1e-12) for o, tcp in carried)
    finally:
        scene.close()


def test_welding_arc_burns_only_on_the_seam(monkeypatch):
    from lipbound.datasets import _welding as wd

    scene = _sim.Scene("welding_single.xml", 16)
    arc = scene.geom("arc")
    beads = [scene.geom(f"bead{i}") for i in range(wd.N_BEADS)]

    def probe(s):
        return float(s.model.geom_rgba[arc, 3]), s.tcp()[2], int((s.model.geom_rgba[beads, 3] > 0).sum())

    states = _record(wd, monkeypatch, probe)
    try:
        wd._SINGLE(scene, np.random.default_rng(0), CFG)
    finally:
        scene.close()
    on = [z for a, z, _ in states if a > 0]
    assert on and all(abs(z - (wd.PLATE_TOP + 0.012)) < 1e-9 for z in on)
    counts = [c for _, _, c in states]
    assert all(a <= b for a, b in zip(counts, counts[1:])) and counts[-1] == wd.N_BEADS and counts[0] == 0


def test_robomnist_writes_the_digit(monkeypatch):
    from lipbound.datasets import _robomnist as rm

    scene = _sim.Scene("robomnist.xml", 16)
    ink = [scene.geom(f"ink{i}") for i in range(64)]
    states = _record(rm, monkeypatch, lambda s: np.array(s.model.geom_rgba[ink, 3]))
    rng = np.random.default_rng(0)
    try:
        out = rm._episode(scene, rng, dict(CFG, subcarriers=4))
    finally:
        scene.close()
    images, targets = rm._digits()
    # the episode drew its digit first: redraw it from the same seed to know which one
    pool = np.flatnonzero(np.arange(len(images)) % 5 != 0)
    idx = int(np.random.default_rng(0).choice(pool))
    order = stroke_order(images[idx])
    assert out["label"][0] == targets[idx]
    written = states[-1][: len(order)]
    np.testing.assert_allclose(written, [images[idx][r, c] / 16 for r, c in order])
    shown = [int((a > 0).sum()) for a in states]
    assert shown[0] <= 1 and all(a <= b for a, b in zip(shown, shown[1:]))


def test_procedural_renderer_is_opt_in_and_labelled(built, monkeypatch, tmp_path):
    ds_gl, _ = built["welding-dual"]
    assert ds_gl.meta["renderer"].startswith("mujoco") and ds_gl.meta["config"]["renderer"] == "mujoco"
    monkeypatch.setenv("LIPBOUND_RENDERER", "procedural")
    ds = DATASETS["welding-dual"](seed=0, cache_dir=tmp_path, **TINY)
    assert ds.meta["renderer"].startswith("procedural") and "not MuJoCo" in ds.meta["renderer"]
    assert ds.meta["cache_file"] != ds_gl.meta["cache_file"]  # its own cache entry
    cam = ds.train["camera"]
    assert cam.shape == ds_gl.train["camera"].shape and 0.0 <= float(cam.min()) and float(cam.max()) <= 1.0
    # same scene, same camera: the series are identical, the images similar but not equal
    assert torch.equal(ds.train["joints"], ds_gl.train["joints"])
    diff = (cam - ds_gl.train["camera"]).abs().mean(dim=(1, 2, 3))
    other = (cam - ds_gl.train["camera"].roll(1, dims=2)).abs().mean(dim=(1, 2, 3))  # shifted one row
    assert float(diff.max()) > 0 and float(diff.mean()) < 0.2
    assert float(diff.mean()) < float(other.mean())
    monkeypatch.setenv("LIPBOUND_RENDERER", "raytracer")
    with pytest.raises(LipboundError, match="renderer"):
        DATASETS["welding-dual"](seed=0, cache_dir=tmp_path, **TINY)
