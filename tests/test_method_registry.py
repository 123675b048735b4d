"""The registry of bound methods (lipbound.bounds.REGISTRY): bracket() and ``lipbound bound`` read
their names, kinds and default sets from it."""

from __future__ import annotations

import torch
from torch import nn

from lipbound.bounds import METHODS, REGISTRY, Ball, BoundMethod, bracket, default_methods


def _net(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2)).double()


def test_every_method_is_registered_once_with_a_known_kind():
    assert METHODS == tuple(REGISTRY) and len(set(METHODS)) == len(METHODS)
    for name, m in REGISTRY.items():
        assert isinstance(m, BoundMethod) and m.name == name
        assert m.kind in ("certified-upper", "certified-local-upper", "lower", "heuristic")
        assert m.needs in ("none", "inputs", "domain", "inputs or domain")


def test_results_have_the_registered_kind():
    """Each method, run through bracket, returns results of the kind the registry states (a method
    registered as certified-upper that returned a sampled value, or the reverse, fails here)."""
    net = _net()
    b = bracket(net, inputs=torch.randn(6, 3, dtype=torch.float64), domain=Ball(0.0, 1.0), methods=list(METHODS))
    assert [r.method for r in b.results] == list(METHODS)
    for r in b.results:
        assert r.kind == REGISTRY[r.method].kind, r


def test_default_sets_follow_the_data():
    x = torch.randn(4, 3, dtype=torch.float64)
    assert default_methods(dense=True, inputs=False, domain=False) == ["spectral-product", "lipsdp-neuron"]
    assert [r.method for r in bracket(_net(), inputs=x).results] == default_methods(dense=True, inputs=True,
                                                                                    domain=False)
    assert ([r.method for r in bracket(_net(), domain=Ball(0.0, 1.0)).results]
            == ["spectral-product", "lipsdp-neuron", "lipsdp-local", "pgd", "paper-estimator"])
    conv = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 3 * 3, 2)).double()
    # a small convolution is unrolled into its exact matrix, so the SDP takes it (tests/test_conv_sdp.py)
    assert [r.method for r in bracket(conv, input_shape=(1, 5, 5)).results] == ["spectral-product", "lipsdp-neuron"]
    assert default_methods(dense=False, inputs=False, domain=False) == ["spectral-product"]


def test_pgd_starts_from_the_power_iteration_witness(monkeypatch):
    """One bracket call shares state between methods: PGD is warm-started at the input where power
    iteration found its best value (and from nothing when it runs alone)."""
    from lipbound.bounds import _bracket

    seen = []
    real = _bracket.pgd_lower

    def spy(*a, **k):
        seen.append(k.get("init"))
        return real(*a, **k)

    monkeypatch.setattr(_bracket, "pgd_lower", spy)
    x = torch.randn(8, 3, dtype=torch.float64)
    b = bracket(_net(1), inputs=x, domain=Ball(0.0, 3.0), methods=["power-iteration", "pgd"])
    witness = torch.tensor(b.results[0].details["witness"]["values"], dtype=torch.float64)
    assert seen[0] is not None and torch.equal(seen[0].reshape(-1), witness)
    bracket(_net(1), domain=Ball(0.0, 3.0), methods=["pgd"])
    assert seen[1] is None
