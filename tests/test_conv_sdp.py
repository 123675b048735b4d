"""Convolutions inside the SDP bounds: unrolled into their exact matrices (lipbound.bounds._unroll).

Ground truth: the unrolled matrix must equal the layer's Jacobian *exactly* (float64 Jacobian of a
linear map computed by autograd is a sum of one product per entry here, so `==` is the right test);
a network that is a single convolution has the norm of that matrix as its constant; for ReLU
networks the power-iteration lower bound, evaluated on the model, must not exceed the LipSDP bound,
which must not exceed the product of layer norms.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lipbound.bounds import Ball, bracket, lipsdp, lipsdp_local, spectral_product, to_network
from lipbound.bounds._unroll import UNROLL_MAX_ENTRIES, conv_matrix, unrollable
from lipbound.errors import UnsupportedModuleError


@st.composite
def convs(draw):
    transpose = draw(st.booleans())
    groups = draw(st.sampled_from([1, 2]))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 3))
    k = draw(st.integers(1, 3))
    stride, dil = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    pad = draw(st.integers(0, k - 1)) if not transpose else draw(st.integers(0, (k - 1) * dil))
    torch.manual_seed(draw(st.integers(0, 10_000)))
    if transpose:
        outpad = draw(st.integers(0, max(min(stride, dil) - 1, 0)))
        m = nn.ConvTranspose2d(cin, cout, k, stride=stride, padding=pad, output_padding=outpad, groups=groups,
                               dilation=dil)
    else:
        m = nn.Conv2d(cin, cout, k, stride=stride, padding=pad, dilation=dil, groups=groups)
    h, w = draw(st.integers(max(k * dil, 3), 7)), draw(st.integers(max(k * dil, 3), 7))
    return m.double(), (cin, h, w)


@settings(max_examples=60)
@given(c=convs())
def test_unrolled_matrix_is_the_exact_jacobian(c):
    m, shape = c
    x = torch.zeros((1, *shape), dtype=torch.float64)
    y = m(x)
    K = conv_matrix(m, shape, tuple(y.shape[1:]))
    J = torch.func.jacrev(lambda v: m(v.reshape(1, *shape)).reshape(-1) - m.bias.repeat_interleave(
        y.shape[2] * y.shape[3]))(x.reshape(-1))
    assert np.array_equal(K, J.detach().numpy())


def test_a_single_convolution_gets_its_exact_norm():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(2, 3, 3, stride=2, padding=1)).double()
    r = lipsdp(m, (2, 6, 6))
    K = conv_matrix(m[0], (2, 6, 6), (3, 3, 3))
    exact = float(np.linalg.norm(K, 2))
    assert exact <= r.value <= exact * (1 + 1e-9)
    assert r.value <= spectral_product(m, (2, 6, 6))[0] * (1 + 1e-12)


@settings(max_examples=6)
@given(seed=st.integers(0, 1000))
def test_conv_relu_lipsdp_lies_between_the_evaluated_lower_bound_and_the_product(seed):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(1, 3, 3, stride=2), nn.ReLU(), nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(),
                        nn.Linear(4 * 3 * 3, 5)).double()
    b = bracket(net, input_shape=(1, 11, 11), inputs=torch.randn(32, 1, 11, 11, dtype=torch.float64),
                methods=["spectral-product", "lipsdp-neuron", "power-iteration"])
    assert b["power-iteration"].value <= b["lipsdp-neuron"].value <= b["spectral-product"].value * (1 + 1e-9)
    assert b["lipsdp-neuron"].solver != "none"  # an SDP certificate, not a fallback


def test_local_bound_on_a_conv_net_covers_the_jacobian_in_the_ball():
    torch.manual_seed(3)
    net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 5 * 5, 2)).double()
    c = torch.randn(1, 7, 7, dtype=torch.float64)
    dom = Ball(c, 0.3)
    loc = lipsdp_local(net, dom)
    xs = dom.sample(128, (1, 7, 7), torch.Generator().manual_seed(0))
    jac = torch.func.vmap(torch.func.jacrev(lambda v: net(v.unsqueeze(0)).squeeze(0)))(xs).reshape(128, 2, -1)
    assert float(torch.linalg.matrix_norm(jac, 2).max()) <= loc.value <= lipsdp(net, (1, 7, 7)).value


def test_what_is_not_unrolled_is_refused_by_name_and_left_to_the_product(monkeypatch):
    reflect = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect"), nn.ReLU(), nn.Flatten(),
                            nn.Linear(2 * 5 * 5, 1)).double()
    assert "padding_mode" in unrollable(reflect[0], (1, 5, 5), (2, 5, 5))
    assert not to_network(reflect, (1, 5, 5)).sdp_ready
    with pytest.raises(UnsupportedModuleError, match="padding_mode"):
        lipsdp(reflect, (1, 5, 5))
    big = nn.Conv2d(8, 8, 3, padding=1)
    assert 8 * 64 * 64 * 8 * 64 * 64 > UNROLL_MAX_ENTRIES
    assert "entries" in unrollable(big, (8, 64, 64), (8, 64, 64))
    # a network whose convolution is above the size limit gets the product only, by default
    import lipbound.bounds._unroll as unroll

    monkeypatch.setattr(unroll, "UNROLL_MAX_ENTRIES", 100)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 3 * 3, 1)).double()
    assert [r.method for r in bracket(net, input_shape=(1, 5, 5)).results] == ["spectral-product"]
    with pytest.raises(UnsupportedModuleError, match="entries"):
        lipsdp(net, (1, 5, 5))
