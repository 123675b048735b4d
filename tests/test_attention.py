"""Attention fusion variants (Definition 4.1, Section 4.5): every switch against a numpy hand
computation, zero latents under normalisation, the L2 term, effective weights, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, target
from hypothesis import strategies as st

from lipbound.errors import ModalityCountError, ShapeMismatchError, UnsupportedModuleError
from lipbound.models import FUSIONS, MLPDecoder, MLPEncoder, MultimodalAutoencoder, make_fusion
from lipbound.models._fusion import AttentionFusion
from strategies import seeds

#: float64 forward passes of a few dozen operations on O(1) numbers agree with numpy to ~1e-15;
#: 1e-10 relative leaves five orders of margin, a wrong formula (missing 1/sqrt(k), raw instead of
#: normalised x, power-iteration norm) is off by O(1e-2) or more.
RTOL = 1e-10
VARIANTS = ["attention", "attention-scaled", "attention-regularized", "attention-regularized-scaled"]


def by_hand(fusion: AttentionFusion, xs: list[np.ndarray]) -> np.ndarray:
    """The fusion's output for one sample, recomputed with numpy loops from the raw parameters
    (Definition 4.1's average over every j, j = i included: ``pairs="all"``)."""
    m = len(xs)
    if fusion.normalize_inputs:
        xs = [x / max(np.linalg.norm(x), fusion.eps) for x in xs]

    def sn(w):
        return w / max(np.linalg.svd(w, compute_uv=False)[0], 1e-12) if fusion.spectral_norm else w

    w1 = [p.detach().numpy() for p in fusion.weights]
    if fusion.projection == "linear":
        proj = [sn(w) @ x for w, x in zip(w1, xs)]
    else:
        w2 = [p.detach().numpy() for p in fusion.weights2]
        proj = [sn(b) @ np.maximum(sn(a) @ x, 0.0) for a, b, x in zip(w1, w2, xs)]
    out = []
    for i in range(m):
        s = [float(proj[i] @ proj[j]) for j in range(m)]
        if fusion.scale:
            s = [v / math.sqrt(fusion.proj_dim) for v in s]
        out.append(sum(s) / m * xs[i])
    return np.concatenate(out)


@st.composite
def fusion_cases(draw):
    m = draw(st.integers(2, 4))
    return {"m": m, "dims": draw(st.lists(st.integers(1, 5), min_size=m, max_size=m)),
            "k": draw(st.integers(1, 4)), "seed": draw(seeds), "input_scale": draw(st.sampled_from([1e-3, 1.0, 30.0])),
            "projection": draw(st.sampled_from(["linear", "mlp2"])), "hidden": draw(st.integers(1, 5))}


def build(name: str, case: dict, **kw) -> tuple[AttentionFusion, list[np.ndarray]]:
    torch.manual_seed(case["seed"])
    extra = {"projection": case["projection"], "hidden": case["hidden"]} if case["projection"] == "mlp2" else {}
    f = make_fusion(name, case["dims"], proj_dim=case["k"], **extra, **kw).double()
    rng = np.random.default_rng(case["seed"])
    with torch.no_grad():  # fill the weights from the seed with numpy, at varied scales
        for p in f.parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)) * 10 ** rng.uniform(-1, 1)))
    xs = [case["input_scale"] * rng.standard_normal(d) for d in case["dims"]]
    return f, xs


@pytest.mark.parametrize("name", VARIANTS)
@settings(max_examples=20)
@given(case=fusion_cases())
def test_variant_matches_numpy(name, case):
    f, xs = build(name, case)
    want = by_hand(f, xs)
    with torch.no_grad():
        got = f([torch.from_numpy(x) for x in xs]).numpy()
        batched = f([torch.from_numpy(np.stack([x, 2 * x])) for x in xs]).numpy()
    err = np.abs(got - want).max() / max(np.abs(want).max(), 1e-300)
    target(float(err), label="relative error")
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=RTOL * np.abs(want).max())
    np.testing.assert_allclose(batched[0], want, rtol=RTOL, atol=RTOL * np.abs(want).max())
    if f.normalize_inputs:  # scale-free: the row of 2x equals the row of x
        np.testing.assert_allclose(batched[1], want, rtol=RTOL, atol=RTOL * np.abs(want).max())


def by_hand_pairs(fusion: AttentionFusion, xs: list[np.ndarray], pairs: str) -> np.ndarray:
    """Definition 4.1 under the readings of ``pairs`` by numpy loops: alpha_i = (1/c) sum over
    j in J_i of s_ij, with J_i = every j ("all", c = M) or j != i ("others", c = M - 1;
    "others-over-M", c = M). The scores are the switched ones (from :func:`by_hand`'s steps)."""
    m = len(xs)
    if fusion.normalize_inputs:
        xs = [x / max(np.linalg.norm(x), fusion.eps) for x in xs]

    def sn(w):
        return w / max(np.linalg.svd(w, compute_uv=False)[0], 1e-12) if fusion.spectral_norm else w

    w1 = [p.detach().numpy() for p in fusion.weights]
    if fusion.projection == "linear":
        proj = [sn(w) @ x for w, x in zip(w1, xs)]
    else:
        w2 = [p.detach().numpy() for p in fusion.weights2]
        proj = [sn(b) @ np.maximum(sn(a) @ x, 0.0) for a, b, x in zip(w1, w2, xs)]
    c = m - 1 if pairs == "others" else m
    out = []
    for i in range(m):
        total = 0.0
        for j in range(m):
            if pairs != "all" and j == i:
                continue
            s = float(proj[i] @ proj[j])
            total += s / math.sqrt(fusion.proj_dim) if fusion.scale else s
        out.append(total / c * xs[i])
    return np.concatenate(out)


@pytest.mark.parametrize("pairs", ["all", "others", "others-over-M"])
@pytest.mark.parametrize("name", VARIANTS)
@settings(max_examples=10)
@given(case=fusion_cases())
def test_pairs_reading_matches_numpy(name, pairs, case):
    """Definition 4.1 under each reading of its average (``pairs``): the module's float64 output equals
    the hand-written j != i (or all-j) sum, single and batched, for every variant and projection."""
    f, xs = build(name, case, pairs=pairs)
    want = by_hand_pairs(f, xs, pairs)
    with torch.no_grad():
        got = f([torch.from_numpy(x) for x in xs]).numpy()
        batched = f([torch.from_numpy(np.stack([x, -x])) for x in xs]).numpy()
    tol = RTOL * max(np.abs(want).max(), 1e-300)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=tol)
    np.testing.assert_allclose(batched[0], want, rtol=RTOL, atol=tol)


def test_pairs_default_is_bit_for_bit_the_all_reading():
    """``pairs`` left out is ``"all"``, and gives exactly (bit for bit) the mean over every j, as before."""
    case = {"m": 3, "dims": [2, 3, 1], "k": 2, "seed": 5, "input_scale": 1.0, "projection": "linear", "hidden": 1}
    f, xs = build("attention", case)
    g, _ = build("attention", case, pairs="all")
    ts = [torch.from_numpy(x) for x in xs]
    with torch.no_grad():
        old = torch.cat([a * z for a, z in zip(f.scores(ts).mean(dim=-1).unbind(-1), ts)])
        assert f.pairs == "all" and torch.equal(f(ts), old) and torch.equal(g(ts), old)
    assert "pairs" not in repr(f) and "pairs='others'" in repr(build("attention", case, pairs="others")[0])


def test_pairs_readings_differ_and_can_fail():
    """The three readings give different outputs on a generic input (so each test above can fail), and
    the j != i readings differ from each other by exactly the factor M / (M - 1)."""
    case = {"m": 3, "dims": [2, 2, 2], "k": 2, "seed": 7, "input_scale": 1.0, "projection": "linear", "hidden": 1}
    outs = {}
    for p in ("all", "others", "others-over-M"):
        f, xs = build("attention", case, pairs=p)
        with torch.no_grad():
            outs[p] = f([torch.from_numpy(x) for x in xs]).numpy()
        assert not np.allclose(outs[p], by_hand_pairs(f, xs, "all" if p != "all" else "others"), rtol=1e-3)
    np.testing.assert_allclose(outs["others"] * 2 / 3, outs["others-over-M"], rtol=1e-14)
    assert not np.allclose(outs["all"], outs["others-over-M"], rtol=1e-3)


def test_pairs_others_ignores_the_self_score():
    """Under the j != i readings, alpha_i does not depend on s_ii: with M = 2 scalar modalities and
    W = 1, f(x) = (x_1 x_2 x_1, x_1 x_2 x_2) / c exactly."""
    x = [torch.tensor([3.0], dtype=torch.float64), torch.tensor([-0.5], dtype=torch.float64)]
    for p, c in (("others", 1.0), ("others-over-M", 2.0)):
        f = AttentionFusion([1, 1], proj_dim=1, pairs=p).double()
        with torch.no_grad():
            for w in f.weights:
                w.fill_(1.0)
            assert f(x).tolist() == [3.0 * -0.5 * 3.0 / c, 3.0 * -0.5 * -0.5 / c]


def test_by_hand_detects_a_missing_scale():
    """The reference can fail: with scale on, dropping the 1/sqrt(k) changes the output."""
    case = {"m": 2, "dims": [2, 3], "k": 4, "seed": 3, "input_scale": 1.0, "projection": "linear", "hidden": 1}
    f, xs = build("attention-scaled", case)
    with torch.no_grad():
        got = f([torch.from_numpy(x) for x in xs]).numpy()
    f.scale = False
    assert not np.allclose(got, by_hand(f, xs), rtol=1e-3)


def test_variants_registered():
    for name in VARIANTS:
        f = make_fusion(name, [2, 3])
        assert f.name == name and FUSIONS[name] is type(f)
    flags = {n: (f.normalize_inputs, f.spectral_norm, f.scale, f.l2 > 0)
             for n, f in ((n, make_fusion(n, [2, 2])) for n in VARIANTS)}
    assert flags == {"attention": (False, False, False, False), "attention-scaled": (False, False, True, False),
                     "attention-regularized": (True, True, False, True),
                     "attention-regularized-scaled": (True, True, True, True)}
    # explicit arguments override a variant's defaults
    assert not make_fusion("attention-regularized", [2, 2], spectral_norm=False).spectral_norm


@pytest.mark.parametrize("projection", ["linear", "mlp2"])
def test_zero_latent_under_normalization(projection):
    """A zero latent gives a zero block, finite outputs and finite gradients (inputs and weights)."""
    torch.manual_seed(0)
    f = AttentionFusion([3, 2, 2], proj_dim=2, normalize_inputs=True, spectral_norm=True, scale=True,
                        projection=projection).double()
    xs = [torch.zeros(3, dtype=torch.float64, requires_grad=True),
          torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True),
          torch.zeros(2, dtype=torch.float64, requires_grad=True)]
    out = f(xs)
    assert torch.isfinite(out).all()
    assert out[:3].tolist() == [0.0, 0.0, 0.0] and out[5:].tolist() == [0.0, 0.0]
    grads = torch.autograd.grad(out.sum(), xs + list(f.parameters()))
    assert all(torch.isfinite(g).all() for g in grads)
    # all-zero input: output exactly zero, gradients finite
    zs = [torch.zeros(d, dtype=torch.float64, requires_grad=True) for d in (3, 2, 2)]
    out0 = f(zs)
    assert out0.abs().max().item() == 0.0
    assert all(torch.isfinite(g).all() for g in torch.autograd.grad(out0.sum(), zs + list(f.parameters())))


def test_zero_weight_under_spectral_norm():
    f = AttentionFusion([2, 2], spectral_norm=True).double()
    with torch.no_grad():
        f.weights[0].zero_()
    out = f([torch.ones(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)])
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("projection", ["linear", "mlp2"])
def test_regularization_loss(projection):
    torch.manual_seed(1)
    f = AttentionFusion([2, 3], proj_dim=2, l2=0.25, projection=projection).double()
    params = [p.detach().numpy() for p in f.parameters()]
    want = 0.25 * sum(float((p**2).sum()) for p in params)
    assert math.isclose(float(f.regularization_loss().detach()), want, rel_tol=1e-14)
    # its gradient is 2 lambda W (Eq. 7)
    g = torch.autograd.grad(f.regularization_loss(), list(f.parameters()))
    for gi, p in zip(g, params):
        np.testing.assert_allclose(gi.numpy(), 0.5 * p, rtol=1e-14)
    zero = AttentionFusion([2, 3]).regularization_loss()
    assert zero.item() == 0.0 and not zero.requires_grad


@settings(max_examples=20)
@given(case=fusion_cases(), scale=st.booleans(), spectral=st.booleans(), normalize=st.booleans())
def test_effective_weights_reproduce_scores(case, scale, spectral, normalize):
    case = {**case, "projection": "linear"}
    f, xs = build("attention", case, scale=scale, spectral_norm=spectral, normalize_inputs=normalize)
    ts = [torch.from_numpy(x) for x in xs]
    with torch.no_grad():
        s = f.scores(ts).numpy()
        ws = [w.numpy() for w in f.effective_weights()]
    xh = [x / max(np.linalg.norm(x), 1e-12) if normalize else x for x in xs]
    p = [w @ x for w, x in zip(ws, xh)]
    want = np.array([[pi @ pj for pj in p] for pi in p])
    np.testing.assert_allclose(s, want, rtol=RTOL, atol=RTOL * np.abs(want).max())
    if spectral:
        norms = [np.linalg.norm(w, 2) for w in ws]
        np.testing.assert_allclose(norms, (case["k"] ** -0.25 if scale else 1.0), rtol=1e-12)


def test_effective_weights_needs_linear():
    f = AttentionFusion([2, 2], projection="mlp2")
    with pytest.raises(UnsupportedModuleError, match="needs projection='linear'"):
        f.effective_weights()


def test_mlp2_default_hidden_is_proj_dim():
    f = AttentionFusion([5, 6], proj_dim=3, projection="mlp2")
    assert f.hidden == 3 and tuple(f.weights[0].shape) == (3, 5) and tuple(f.weights2[1].shape) == (3, 3)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"latent_dims": [3]}, ModalityCountError, "attention fusion needs at least 2 modalities, got M = 1"),
    ({"latent_dims": [3, 0]}, ShapeMismatchError, "latent widths must be positive"),
    ({"latent_dims": [2, 2], "proj_dim": 0}, ShapeMismatchError, "proj_dim must be positive, got 0"),
    ({"latent_dims": [2, 2], "l2": -0.1}, ValueError, r"l2 \(lambda\) must be a finite non-negative number, got -0.1"),
    ({"latent_dims": [2, 2], "l2": float("nan")}, ValueError, "l2 .* non-negative number, got nan"),
    ({"latent_dims": [2, 2], "projection": "mlp3"}, ValueError, "unknown projection 'mlp3'; choose one of linear, mlp2"),
    ({"latent_dims": [2, 2], "projection": "mlp2", "hidden": 0}, ShapeMismatchError, "hidden must be positive"),
    ({"latent_dims": [2, 2], "hidden": 4}, ValueError, "hidden=4 only applies to projection='mlp2'"),
    ({"latent_dims": [2, 2], "eps": 0.0}, ValueError, "eps must be a finite positive number"),
    ({"latent_dims": [2, 2], "pairs": "self"}, ValueError, "unknown pairs 'self'; choose one of all, others, others-over-M"),
])
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        AttentionFusion(**kwargs)


def test_bad_input_variant_names_itself():
    with pytest.raises(ModalityCountError, match="attention-regularized fusion needs at least 2"):
        make_fusion("attention-regularized", [4])


def test_mismatched_latents():
    f = make_fusion("attention-regularized-scaled", [2, 3])
    with pytest.raises(ShapeMismatchError, match="latent 1 has shape \\(2,\\), expected last dimension 3"):
        f([torch.zeros(2), torch.zeros(2)])
    with pytest.raises(ShapeMismatchError, match="built for M = 2 modalities but received 3"):
        f([torch.zeros(2), torch.zeros(3), torch.zeros(3)])


def test_training_adds_the_regularization():
    """zoo.train minimises L + lambda sum ||W||_F^2: a huge lambda shrinks the raw weights, lambda = 0 does not."""
    from lipbound.zoo import make_multimodal_data, train

    data = make_multimodal_data(64, (3, 4), seed=0)
    norms = {}
    for lam in (0.0, 10.0):
        torch.manual_seed(0)
        model = MultimodalAutoencoder([MLPEncoder(3, 2, hidden=(4,)), MLPEncoder(4, 2, hidden=(4,))],
                                      "attention-regularized", [MLPDecoder(4, 3, hidden=(4,)), MLPDecoder(4, 4, hidden=(4,))],
                                      fusion_kwargs={"l2": lam})
        train(model, data, epochs=10, batch_size=16, lr=5e-2)
        norms[lam] = sum(float(w.detach().pow(2).sum()) for w in model.fusion.weights)
    assert norms[10.0] < 0.5 * norms[0.0]
