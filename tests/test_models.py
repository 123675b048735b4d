"""lipbound.models: shapes, the attention formula of Definition 4.1, the conv mirror, the loss (Eq. 2)
and the error messages for bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lipbound.errors import ModalityCountError, NonFiniteError, ShapeMismatchError
from lipbound.models import (
    AttentionFusion,
    ConcatFusion,
    ConvDecoder,
    ConvEncoder,
    MLPDecoder,
    MLPEncoder,
    MultimodalAutoencoder,
    SumFusion,
    conv_output_sizes,
    make_fusion,
    reconstruction_loss,
)

seeds = st.integers(min_value=0, max_value=2**31 - 2)

# float64 throughout; the two sides differ only by summation order, so the relative error is a
# few ulps times the number of terms (< 100 here): 1e-12 leaves a wide margin and still catches
# any wrong factor, index or missing term.
RTOL = 1e-12


def _mlp_model(fusion: str, in_dims, latent_dims, hidden=(5,), act="tanh") -> MultimodalAutoencoder:
    encs = [MLPEncoder(d, latent_dim=k, hidden=hidden, activation=act) for d, k in zip(in_dims, latent_dims)]
    f = make_fusion(fusion, latent_dims)
    decs = [MLPDecoder(f.output_dim, d, hidden=tuple(reversed(hidden)), activation=act) for d in in_dims]
    return MultimodalAutoencoder(encs, f, decs).double()


# ----------------------------------------------------------------------------- shapes
@pytest.mark.parametrize(
    "fusion,m",
    [("sum", 1), ("sum", 2), ("sum", 3), ("concat", 1), ("concat", 2), ("concat", 3),
     ("attention", 2), ("attention", 3)],
)
def test_shapes(fusion, m):
    torch.manual_seed(0)
    in_dims = [3, 5, 2][:m]
    latent_dims = [4] * m if fusion == "sum" else [2, 3, 4][:m]
    model = _mlp_model(fusion, in_dims, latent_dims)
    xs = [torch.randn(7, d, dtype=torch.float64) for d in in_dims]
    latents = model.encode(xs)
    assert [tuple(z.shape) for z in latents] == [(7, k) for k in latent_dims]
    z = model.fuse(latents)
    expected_width = 4 if fusion == "sum" else sum(latent_dims)
    assert model.fusion.output_dim == expected_width
    assert tuple(z.shape) == (7, expected_width)
    outs = model(xs)
    assert [tuple(y.shape) for y in outs] == [tuple(x.shape) for x in xs]
    assert model.num_modalities == m
    assert model.loss(xs).shape == ()
    assert model.loss(xs, reduction="none").shape == (7,)


def test_shapes_conv_and_mlp_modalities():
    torch.manual_seed(0)
    enc = ConvEncoder(16, in_channels=1, channels=(4, 8), latent_dim=5)
    model = MultimodalAutoencoder(
        [enc, MLPEncoder(6, 5, hidden=(8,))], "sum",
        [ConvDecoder.mirror(enc, 5), MLPDecoder(5, 6, hidden=(8,))],
    )
    xs = [torch.randn(3, 1, 16, 16), torch.randn(3, 6)]
    assert [tuple(y.shape) for y in model(xs)] == [(3, 1, 16, 16), (3, 6)]


# ----------------------------------------------------------------------------- Definition 4.1
def _attention_by_hand(ws: list[np.ndarray], xs: list[np.ndarray]) -> np.ndarray:
    """Definition 4.1 with explicit loops: s_ij = (W_i x_i).(W_j x_j), alpha_i = (1/M) sum_j s_ij."""
    m = len(xs)
    batch = xs[0].shape[0]
    out = np.zeros((batch, sum(x.shape[1] for x in xs)))
    for b in range(batch):
        proj = [ws[i] @ xs[i][b] for i in range(m)]
        col = 0
        for i in range(m):
            alpha = sum(float(proj[i] @ proj[j]) for j in range(m)) / m
            out[b, col : col + xs[i].shape[1]] = alpha * xs[i][b]
            col += xs[i].shape[1]
    return out


@settings(max_examples=30, deadline=None)
@given(
    m=st.integers(2, 4),
    dims=st.lists(st.integers(1, 5), min_size=4, max_size=4),
    proj_dim=st.one_of(st.none(), st.integers(1, 4)),
    batch=st.integers(1, 3),
    seed=seeds,
)
def test_attention_matches_definition_4_1(m, dims, proj_dim, batch, seed):
    dims = dims[:m]
    rng = np.random.default_rng(seed)
    fusion = AttentionFusion(dims, proj_dim=proj_dim).double()
    k = proj_dim if proj_dim is not None else min(dims)
    ws = [rng.standard_normal((k, d)) for d in dims]
    with torch.no_grad():
        for p, w in zip(fusion.weights, ws):
            p.copy_(torch.from_numpy(w))
    xs = [rng.standard_normal((batch, d)) for d in dims]
    with torch.no_grad():
        got = fusion([torch.from_numpy(x) for x in xs]).numpy()
        row = fusion([torch.from_numpy(x[0]) for x in xs]).numpy()
    want = _attention_by_hand(ws, xs)
    assert got.shape == want.shape == (batch, sum(dims))
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=RTOL * np.abs(want).max())
    # unbatched latents give the same rows
    np.testing.assert_allclose(row, want[0], rtol=RTOL, atol=RTOL * np.abs(want).max())


def test_attention_includes_the_diagonal_term():
    """With orthogonal projections only s_ii survives: alpha_i = |W_i x_i|^2 / M, so j = i is in the sum."""
    f = AttentionFusion([2, 2], proj_dim=2).double()
    with torch.no_grad():
        f.weights[0].copy_(torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
        f.weights[1].copy_(torch.tensor([[0.0, 0.0], [0.0, 1.0]]))
    out = f([torch.tensor([3.0, 1.0], dtype=torch.float64), torch.tensor([1.0, 2.0], dtype=torch.float64)])
    # alpha_1 = 9 / 2, alpha_2 = 4 / 2: exact in binary floating point
    assert out.tolist() == [13.5, 4.5, 2.0, 4.0]


# ----------------------------------------------------------------------------- conv mirror
@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(3, 40),
    w=st.integers(3, 40),
    in_channels=st.integers(1, 3),
    n_layers=st.integers(1, 3),
    kernel=st.integers(1, 5),
    stride=st.integers(1, 3),
    padding=st.integers(0, 2),
)
def test_conv_decoder_mirror_restores_the_image_shape(h, w, in_channels, n_layers, kernel, stride, padding):
    try:
        conv_output_sizes(h, n_layers, kernel, stride, padding)
        conv_output_sizes(w, n_layers, kernel, stride, padding)
    except ValueError:
        assume(False)
    torch.manual_seed(0)
    enc = ConvEncoder((h, w), in_channels=in_channels, channels=(2,) * n_layers, latent_dim=3,
                      kernel_size=kernel, stride=stride, padding=padding)
    dec = ConvDecoder.mirror(enc, in_features=3)
    x = torch.randn(2, in_channels, h, w)
    assert tuple(enc(x).shape) == (2, 3)
    assert tuple(dec(enc(x)).shape) == (2, in_channels, h, w)
    assert dec.out_shape == (in_channels, h, w)


@pytest.mark.parametrize("size", [15, 16, 17, 28, 32, 33])
def test_conv_decoder_mirror_default_geometry(size):
    enc = ConvEncoder(size, in_channels=3, channels=(4, 4, 2), latent_dim=6)
    dec = ConvDecoder.mirror(enc, in_features=6, final_activation="sigmoid")
    y = dec(torch.zeros(2, 6))
    assert tuple(y.shape) == (2, 3, size, size)
    assert bool(((y > 0) & (y < 1)).all())


def test_conv_encoder_too_small_image():
    with pytest.raises(ValueError, match="too small"):
        ConvEncoder(8, in_channels=1, channels=(4, 4, 4), latent_dim=2)


# ----------------------------------------------------------------------------- bad input
def test_sum_fusion_mismatched_latent_widths_names_them():
    encs = [MLPEncoder(3, 2, hidden=(4,)), MLPEncoder(5, 3, hidden=(4,))]
    decs = [MLPDecoder(2, 3, hidden=(4,)), MLPDecoder(2, 5, hidden=(4,))]
    with pytest.raises(ShapeMismatchError, match=r"sum fusion needs equal latent widths, got \(2, 3\)"):
        MultimodalAutoencoder(encs, "sum", decs)
    with pytest.raises(ShapeMismatchError, match=r"\(4, 4, 1\)"):
        SumFusion([4, 4, 1])


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_weights_name_the_parameter(bad):
    encs = [MLPEncoder(3, 2, hidden=(4,)), MLPEncoder(5, 2, hidden=(4,))]
    decs = [MLPDecoder(2, 3, hidden=(4,)), MLPDecoder(2, 5, hidden=(4,))]
    with torch.no_grad():
        encs[1].net[2].bias[1] = bad
    with pytest.raises(NonFiniteError, match=r"encoder 1 has non-finite values in parameter 'net\.2\.bias'"):
        MultimodalAutoencoder(encs, "sum", decs)


def test_non_finite_weights_after_construction():
    model = _mlp_model("attention", [3, 4], [2, 2])
    model.validate()
    with torch.no_grad():
        model.fusion.weights[1][0, 0] = float("nan")
    with pytest.raises(NonFiniteError, match=r"attention fusion has non-finite values in parameter 'weights\.1'"):
        model.validate()
    model = _mlp_model("sum", [3, 4], [2, 2])
    with torch.no_grad():
        model.decoders[0].net[0].weight[0, 0] = float("inf")
    with pytest.raises(NonFiniteError, match=r"decoder 0 .*'net\.0\.weight' \(0 NaN, 1 Inf"):
        model.validate()


def test_no_modality():
    with pytest.raises(ModalityCountError, match="at least 1 modality, got M = 0"):
        MultimodalAutoencoder([], "sum", [])
    for name in ("sum", "concat"):
        with pytest.raises(ModalityCountError, match="got M = 0"):
            make_fusion(name, [])


def test_attention_needs_two_modalities():
    with pytest.raises(ModalityCountError, match="attention fusion needs at least 2 modalities, got M = 1"):
        AttentionFusion([3])
    with pytest.raises(ModalityCountError, match="at least 2"):
        MultimodalAutoencoder([MLPEncoder(3, 2, hidden=())], "attention", [MLPDecoder(2, 3, hidden=())])


def test_decoder_count_must_match_encoders():
    encs = [MLPEncoder(3, 2, hidden=(4,)), MLPEncoder(5, 2, hidden=(4,))]
    with pytest.raises(ModalityCountError, match="2 encoders and 1 decoders"):
        MultimodalAutoencoder(encs, "sum", [MLPDecoder(2, 3, hidden=(4,))])


def test_decoder_width_must_match_fused_width():
    encs = [MLPEncoder(3, 2, hidden=(4,)), MLPEncoder(5, 2, hidden=(4,))]
    decs = [MLPDecoder(2, 3, hidden=(4,)), MLPDecoder(2, 5, hidden=(4,))]
    with pytest.raises(ShapeMismatchError, match="decoder 0 takes inputs of width 2.*outputs width 4"):
        MultimodalAutoencoder(encs, "concat", decs)


def test_fusion_built_for_other_widths():
    encs = [MLPEncoder(3, 2, hidden=()), MLPEncoder(5, 2, hidden=())]
    decs = [MLPDecoder(5, 3, hidden=()), MLPDecoder(5, 5, hidden=())]
    with pytest.raises(ShapeMismatchError, match=r"built for latent widths \(2, 3\).*produce \(2, 2\)"):
        MultimodalAutoencoder(encs, ConcatFusion([2, 3]), decs)


def test_wrong_input_shapes():
    model = _mlp_model("concat", [3, 5], [2, 2])
    with pytest.raises(ShapeMismatchError, match=r"modality 1 input has shape \(4, 6\).*expects \(\.\.\., 5\)"):
        model([torch.zeros(4, 3, dtype=torch.float64), torch.zeros(4, 6, dtype=torch.float64)])
    with pytest.raises(ShapeMismatchError, match="M = 2 modalities, got 1 inputs"):
        model([torch.zeros(4, 3, dtype=torch.float64)])
    with pytest.raises(ShapeMismatchError, match="batch shape"):
        model([torch.zeros(4, 3, dtype=torch.float64), torch.zeros(2, 5, dtype=torch.float64)])
    enc = ConvEncoder(16, in_channels=1, channels=(2,), latent_dim=2)
    conv = MultimodalAutoencoder([enc], "sum", [ConvDecoder.mirror(enc, 2)])
    with pytest.raises(ShapeMismatchError, match=r"expects \(\.\.\., 1, 16, 16\)"):
        conv([torch.zeros(2, 3, 16, 16)])


def test_unknown_fusion_name():
    encs, decs = [MLPEncoder(3, 2, hidden=())], [MLPDecoder(2, 3, hidden=())]
    with pytest.raises(ValueError, match="unknown fusion 'product'; registered fusions: attention, concat, sum"):
        MultimodalAutoencoder(encs, "product", decs)


def test_non_finite_inputs_are_named_when_checked():
    model = _mlp_model("sum", [3, 5], [2, 2])
    xs = [torch.zeros(2, 3, dtype=torch.float64), torch.zeros(2, 5, dtype=torch.float64)]
    xs[1][1, 4] = float("nan")
    with pytest.raises(NonFiniteError, match="modality 1 input holds non-finite values"):
        model.loss(xs, check=True)


# ----------------------------------------------------------------------------- Eq. 2
@settings(max_examples=30, deadline=None)
@given(
    shapes=st.lists(
        st.lists(st.integers(1, 4), min_size=1, max_size=3), min_size=1, max_size=3
    ),
    batch=st.integers(1, 5),
    seed=seeds,
)
def test_reconstruction_loss_is_the_sum_of_squared_errors(shapes, batch, seed):
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal((batch, *s)) for s in shapes]
    ys = [rng.standard_normal((batch, *s)) for s in shapes]
    per_sample = np.zeros(batch)
    for x, y in zip(xs, ys):
        for b in range(batch):
            per_sample[b] += float(((x[b] - y[b]) ** 2).sum())
    tx, ty = [torch.from_numpy(v) for v in xs], [torch.from_numpy(v) for v in ys]
    # float64; summation order differs only: see RTOL
    np.testing.assert_allclose(reconstruction_loss(tx, ty, reduction="none").numpy(), per_sample, rtol=RTOL)
    np.testing.assert_allclose(float(reconstruction_loss(tx, ty)), per_sample.mean(), rtol=RTOL)
    np.testing.assert_allclose(float(reconstruction_loss(tx, ty, reduction="sum")), per_sample.sum(), rtol=RTOL)


def test_model_loss_is_reconstruction_loss_of_its_outputs():
    torch.manual_seed(1)
    model = _mlp_model("attention", [3, 4, 2], [2, 3, 2])
    xs = [torch.randn(5, d, dtype=torch.float64) for d in (3, 4, 2)]
    with torch.no_grad():
        outs = model(xs)
        want = sum(((x - y) ** 2).sum(dim=1) for x, y in zip(xs, outs)).mean()
        assert torch.allclose(model.loss(xs), want, rtol=RTOL, atol=0)


def test_reconstruction_loss_bad_input():
    x = [torch.zeros(2, 3)]
    with pytest.raises(ShapeMismatchError, match=r"modality 0 input has shape \(2, 3\), reconstruction \(2, 4\)"):
        reconstruction_loss(x, [torch.zeros(2, 4)])
    with pytest.raises(ShapeMismatchError, match="1 inputs but 2 reconstructions"):
        reconstruction_loss(x, [torch.zeros(2, 3), torch.zeros(2, 3)])
    with pytest.raises(ValueError, match="reduction must be"):
        reconstruction_loss(x, x, reduction="max")


def test_model_loss_of_one_unbatched_sample_is_its_batched_loss():
    """One (C, H, W) image plus a vector, without batch dimension: the loss of that one sample (Eq. 2),
    not C per-channel "samples" (the channel dimension must not be read as a batch)."""
    torch.manual_seed(2)
    enc = ConvEncoder(16, in_channels=3, channels=(2,), latent_dim=2)
    model = MultimodalAutoencoder(
        [enc, MLPEncoder(4, 2, hidden=())], "sum", [ConvDecoder.mirror(enc, 2), MLPDecoder(2, 4, hidden=())]
    ).double()
    xs = [torch.randn(3, 16, 16, dtype=torch.float64), torch.randn(4, dtype=torch.float64)]
    with torch.no_grad():
        batched = model.loss([x.unsqueeze(0) for x in xs], reduction="none")
        assert batched.shape == (1,)
        for reduction in ("mean", "sum", "none"):
            got = model.loss(xs, reduction=reduction)
            assert got.shape == ()
            # same arithmetic on the same numbers, only the batch dimension differs: 1e-12 as RTOL
            assert torch.allclose(got, batched[0], rtol=RTOL, atol=0)
