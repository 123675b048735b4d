"""lipbound.bounds: layer reading, certified norms (dense and convolutional), sound lower bounds,
the paper's estimator, bracket() and the composed autoencoder bounds, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lipbound.bounds import (
    Ball,
    Box,
    Bracket,
    BoundResult,
    SoundnessError,
    autoencoder_bounds,
    bracket,
    conv_norm_lower,
    conv_norm_upper,
    jacobian_power_iteration,
    pgd_lower,
    slope_interval,
    spectral_product,
    to_network,
)
from lipbound.errors import NonFiniteError, ShapeMismatchError, UnsupportedModuleError
from lipbound.models import ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder, MultimodalAutoencoder

seeds = st.integers(min_value=0, max_value=2**31 - 2)
# float64 ground truth from SVDs of matrices with <= a few hundred entries: relative error < 1e-13;
# RTOL = 1e-12 is far below any real violation and far above rounding.
RTOL = 1e-12


def _linear_net(seed, dims):
    g = torch.Generator().manual_seed(seed)
    layers = []
    for a, b in zip(dims[:-1], dims[1:]):
        lin = nn.Linear(a, b).double()
        with torch.no_grad():
            lin.weight.copy_(torch.randn(b, a, generator=g, dtype=torch.float64))
        layers.append(lin)
    return nn.Sequential(*layers)


@settings(max_examples=20)
@given(seed=seeds, dims=st.lists(st.integers(1, 6), min_size=2, max_size=4))
def test_linear_networks_exact(seed, dims):
    net = _linear_net(seed, dims)
    P = torch.eye(dims[0], dtype=torch.float64)
    for lin in net:
        P = lin.weight.detach() @ P
    exact = float(torch.linalg.matrix_norm(P, 2))
    b = bracket(net, inputs=torch.randn(4, dims[0], dtype=torch.float64), methods=
                ["spectral-product", "lipsdp-neuron", "power-iteration"])
    assert b["power-iteration"].value <= exact * (1 + RTOL)
    # power iteration on a constant Jacobian converges (50 steps; gap-dependent): loose 5%
    assert b["power-iteration"].value >= 0.95 * exact or dims[0] > 1
    for r in b.results:
        if r.kind == "certified-upper":
            assert exact <= r.value * (1 + RTOL), (r.method, exact, r.value)
    # a chain of Linear layers gets the exact norm of the product, no SDP: tight up to its float64
    # rounding allowance (about 2 K eps || |W_l|...|W_0| ||_F, K <= 18 here: far below 1e-12 relative
    # for these well-scaled Gaussian weights), and never above the product of the layer norms
    sdp = b["lipsdp-neuron"]
    assert sdp.solver == "none" and "no SDP" in sdp.status, sdp
    assert sdp.value <= exact * (1 + 1e-12) + 1e-300, (sdp.value, exact)
    assert sdp.value <= b["spectral-product"].value, (sdp.value, b["spectral-product"].value)


def _conv_dense_norm(fn, shape):
    J = torch.func.jacrev(fn)(torch.zeros(shape, dtype=torch.float64)).detach()
    return float(torch.linalg.matrix_norm(J.reshape(-1, math.prod(shape)), 2))


@settings(max_examples=20)
@given(seed=seeds, cin=st.integers(1, 3), cout=st.integers(1, 3), k=st.integers(1, 4), s=st.integers(1, 3),
       p=st.integers(0, 2), H=st.integers(4, 8), W=st.integers(4, 8), transposed=st.booleans())
def test_conv_norms_bracket_dense_matrix(seed, cin, cout, k, s, p, H, W, transposed):
    torch.manual_seed(seed)
    if transposed:
        m = nn.ConvTranspose2d(cin, cout, k, s, p).double()
        fn = lambda x: nn.functional.conv_transpose2d(x, m.weight, None, m.stride, m.padding)
    else:
        if H + 2 * p < k or W + 2 * p < k:
            return
        m = nn.Conv2d(cin, cout, k, s, p).double()
        fn = lambda x: nn.functional.conv2d(x, m.weight, None, m.stride, m.padding)
    try:
        out = tuple(m(torch.zeros(1, cin, H, W, dtype=torch.float64)).shape[1:])
    except RuntimeError:
        return
    exact = _conv_dense_norm(fn, (cin, H, W))
    lo = conv_norm_lower(m, (cin, H, W))
    up = conv_norm_upper(m, (cin, H, W), out)
    assert lo <= exact * (1 + RTOL) and exact <= up * (1 + RTOL), (lo, exact, up)


def test_conv_upper_is_not_trivially_loose():
    """Stride 1, a 16x16 image: the circulant bound is within 10% of the true norm (a reshaped-
    kernel bound or a wrong DFT would be far off), and below the kernel's Frobenius-based bound."""
    torch.manual_seed(0)
    m = nn.Conv2d(2, 3, 3, 1, 1).double()
    fn = lambda x: nn.functional.conv2d(x, m.weight, None, 1, 1)
    exact = _conv_dense_norm(fn, (2, 16, 16))
    up = conv_norm_upper(m, (2, 16, 16))
    assert exact <= up <= 1.1 * exact


def test_activation_slopes():
    assert slope_interval(nn.ReLU()) == (0.0, 1.0)
    assert slope_interval(nn.LeakyReLU(2.0)) == (1.0, 2.0)
    assert slope_interval(nn.ELU(alpha=3.0)) == (0.0, 3.0)
    lo, hi = slope_interval(nn.GELU())
    x = torch.linspace(-8, 8, 400_001, dtype=torch.float64, requires_grad=True)
    for approx in ("none", "tanh"):
        lo, hi = slope_interval(nn.GELU(approximate=approx))
        (d,) = torch.autograd.grad(nn.functional.gelu(x, approximate=approx).sum(), x)
        assert lo <= float(d.min()) and float(d.max()) <= hi
        assert float(d.min()) - lo < 1e-5 and hi - float(d.max()) < 1e-5  # tight, not just valid
    y = torch.linspace(-30, 30, 100_001, dtype=torch.float64, requires_grad=True)
    for act in (nn.Sigmoid(), nn.Tanh(), nn.ELU(0.5), nn.LeakyReLU(-0.3)):
        lo, hi = slope_interval(act)
        (d,) = torch.autograd.grad(act(y).sum(), y)
        assert lo <= float(d.min()) + 1e-15 and float(d.max()) <= hi + 1e-15


def test_reads_lipbound_models():
    enc = ConvEncoder(image_size=17, in_channels=1, channels=(2, 2), latent_dim=3)
    dec = ConvDecoder.mirror(enc, in_features=3)
    for model in (enc, dec, MLPEncoder(4, 3, hidden=(5,)), MLPDecoder(3, 4, hidden=(5,))):
        net = to_network(model)
        x = torch.randn(2, *net.in_shape)
        y = x
        for l in net.layers:
            y = l.module(y)
        assert torch.allclose(y, model(x), atol=1e-6)
    b = bracket(enc, inputs=torch.randn(3, 1, 17, 17))
    assert [r.method for r in b.results] == ["spectral-product", "lipsdp-neuron", "power-iteration", "paper-estimator"]
    assert b["lipsdp-neuron"].value <= b["spectral-product"].value * (1 + 1e-9)
    assert b.best_lower <= b.best_upper


@settings(max_examples=4)
@given(seed=seeds, act=st.sampled_from(["relu", "tanh", "gelu", "elu", "sigmoid", "leaky_relu"]))
def test_bracket_orders_on_random_mlps(seed, act):
    torch.manual_seed(seed)
    net = MLPEncoder(4, 3, hidden=(6, 5), activation=act).double()
    b = bracket(net, inputs=torch.randn(16, 4, dtype=torch.float64), domain=Ball(0.0, 2.0))
    assert {r.kind for r in b.results} == {"certified-upper", "certified-local-upper", "lower", "heuristic"}
    assert 0 < b.best_lower <= b.best_upper
    assert b["lipsdp-neuron"].value <= b["spectral-product"].value * (1 + 1e-6)
    assert b["pgd"].value <= b["lipsdp-local"].value <= b["lipsdp-neuron"].value
    rows = b.as_rows()
    import json

    json.dumps(rows)
    assert all(set(r) >= {"method", "kind", "value", "seconds", "solver", "status"} for r in rows)


def test_pgd_finds_the_steep_region():
    """f(x) = tanh(5 x_0): the Jacobian norm is 5 at x_0 = 0 and tiny far away; from starts in the
    box [2, 4] x [-1, 1] the max is at x_0 = 2 (5 / cosh(10)^2), and PGD must get there."""
    net = nn.Sequential(nn.Linear(2, 1, bias=False), nn.Tanh()).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[5.0, 0.0]]))
    box = Box(torch.tensor([2.0, -1.0]), torch.tensor([4.0, 1.0]))
    v, x = pgd_lower(net, box, (2,), starts=8, steps=50)
    best = 5 / math.cosh(10.0) ** 2
    # float64 1 - tanh(10)^2 errs by ~1e-16 absolutely (1e-8 relatively): the lower bound is
    # deflated by 1e-10 x spectral product (5), so it must sit below the true value
    assert v <= best and v >= 0.9 * best and abs(float(x[0]) - 2.0) < 1e-6


def test_paper_estimator_is_heuristic_and_can_exceed_lipschitz():
    """Identity on R^4: Lipschitz constant 1, max Frobenius norm 2 = sqrt(4)."""
    net = nn.Linear(4, 4, bias=False).double()
    with torch.no_grad():
        net.weight.copy_(torch.eye(4, dtype=torch.float64))
    b = bracket(net, inputs=torch.randn(5, 4, dtype=torch.float64))
    est = b["paper-estimator"]
    assert est.kind == "heuristic" and abs(est.value - 2.0) < 1e-12
    assert est.value > b.best_upper  # so it is not a lower bound
    assert est.details["gradient_lipschitz"] == 0.0  # constant Jacobian


def test_bracket_soundness_check_fires():
    with pytest.raises(SoundnessError, match="soundness bug"):
        Bracket([BoundResult("a", "certified-upper", 1.0, 0.0), BoundResult("b", "lower", 1.5, 0.0)])


def test_unsupported_layer_named():
    net = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Softplus()), nn.Linear(3, 1))
    with pytest.raises(UnsupportedModuleError, match=r"layer '1\.1' of type Softplus.*supported: .*Linear"):
        bracket(net, input_shape=(2,))


def test_nan_weights():
    net = nn.Sequential(nn.Linear(2, 2))
    with torch.no_grad():
        net[0].weight[0, 0] = float("inf")
    with pytest.raises(NonFiniteError, match="weight"):
        bracket(net)


def test_bad_inputs():
    net = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    with pytest.raises(ShapeMismatchError, match="empty"):
        bracket(net, inputs=torch.zeros(0, 3))
    with pytest.raises(ShapeMismatchError, match=r"expected \(batch, 3\)"):
        bracket(net, inputs=torch.zeros(4, 5))
    with pytest.raises(ShapeMismatchError, match="input_shape"):
        bracket(net, input_shape=(7,))
    with pytest.raises(NonFiniteError):
        bracket(net, inputs=torch.full((2, 3), float("nan")))
    with pytest.raises(ValueError, match="unknown method"):
        bracket(net, methods=["magic"])


def _ae(fusion, seed=0):
    torch.manual_seed(seed)
    encs = [MLPEncoder(3, 2, hidden=(4,)), MLPEncoder(2, 2, hidden=(3,))]
    dim = 4 if fusion in ("concat", "attention") else 2
    decs = [MLPDecoder(dim, 3, hidden=(4,)), MLPDecoder(dim, 2, hidden=(3,))]
    return MultimodalAutoencoder(encs, fusion, decs).double()


@pytest.mark.parametrize("fusion", ["sum", "concat", "attention"])
def test_autoencoder_composed_bound_above_whole_map_jacobian(fusion):
    model = _ae(fusion)
    centers = [torch.zeros(3, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)]
    out = autoencoder_bounds(model, method="lipsdp-neuron", centers=centers, radii=[1.0, 1.0])
    L = out["composed"].value
    # whole map on stacked inputs (inside the balls for attention): Jacobian spectral norms are lower bounds
    def whole(x):
        ys = model([x[:3].unsqueeze(0), x[3:].unsqueeze(0)])
        return torch.cat([y.squeeze(0) for y in ys])

    g = torch.Generator().manual_seed(1)
    worst = 0.0
    for _ in range(50):
        x = torch.randn(5, generator=g, dtype=torch.float64)
        x = torch.cat([x[:3] / max(1.0, float(x[:3].norm())), x[3:] / max(1.0, float(x[3:].norm()))])
        J = torch.func.jacrev(whole)(x).detach()
        worst = max(worst, float(torch.linalg.matrix_norm(J, 2)))
    assert worst <= L
    for r in out["encoders"] + out["decoders"]:
        assert r.kind == "certified-upper"
    if fusion == "attention":
        assert "certified on the input balls" in out["composed"].status
        with pytest.raises(ShapeMismatchError, match="bounded set"):
            autoencoder_bounds(model)


def test_attention_bound_uses_effective_weights():
    """With spectral normalisation the effective weights have norm 1 whatever the raw scale: a bound
    computed from small raw weights would be unsound. The certified bound must stay above sampled
    Jacobian norms of the fusion itself; input normalisation is refused."""
    from lipbound.bounds import attention_bound
    from lipbound.models import AttentionFusion

    torch.manual_seed(0)
    fusion = AttentionFusion([3, 3], spectral_norm=True).double()
    with torch.no_grad():
        for w in fusion.weights:
            w.mul_(0.01)
    radius = 1.0
    bound = attention_bound(fusion, radius)
    worst = 0.0
    for _ in range(50):
        x = torch.randn(6, dtype=torch.float64)
        x = torch.cat([v / v.norm() * radius for v in x.split(3)])  # on the boundary of the set
        jac = torch.func.jacrev(lambda t: fusion([t[:3], t[3:]]))(x)
        worst = max(worst, float(torch.linalg.matrix_norm(jac, 2)))
    assert worst <= bound
    assert worst > 0.1  # the raw weights (norm ~0.01) would have given a bound of order 1e-4
    with pytest.raises(UnsupportedModuleError, match="normalize_inputs"):
        attention_bound(AttentionFusion([3, 3], normalize_inputs=True), radius)
