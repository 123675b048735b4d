"""lipbound.testing and its pytest plugin, run inside pytester sessions: passing and failing
assertions, refused models, the parametrize ids, the options, the JSON summary and the example
project of docs/testing.md; the hypothesis strategy of inputs."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import shutil
import textwrap
import tomllib
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lipbound.bounds import Ball, Box
from lipbound.testing import inputs

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = "lipbound.testing._plugin"


def _plugin_args() -> list[str]:
    """``-p`` the plugin unless an installed lipbound already registers it (entry point pytest11)."""
    eps = importlib.metadata.entry_points(group="pytest11")
    return [] if any(ep.value == PLUGIN for ep in eps) else ["-p", PLUGIN]


@pytest.fixture(scope="module", autouse=True)
def _engine_imported():
    """Run every method once in this process first: an in-process pytester run unloads the modules
    first imported inside it, and torch cannot import some of its own (operator libraries) twice."""
    from torch import nn

    from lipbound.bounds import bracket

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    bracket(net, inputs=torch.randn(4, 3), domain=Box(-1.0, 1.0),
            methods=["spectral-product", "lipsdp-neuron", "lipsdp-layer", "power-iteration", "pgd", "paper-estimator"])


def run(pytester, *args):
    return pytester.runpytest_inprocess(*_plugin_args(), "-p", "no:cacheprovider", *args)


# a linear layer whose exact constant lipbound.bounds.exact_lipschitz gives (the tests' ground truth)
HEADER = textwrap.dedent("""
    import pytest
    import torch
    from torch import nn
    from lipbound.bounds import Box, exact_lipschitz
    from lipbound.testing import (assert_lipschitz_at_least, assert_lipschitz_at_most, at_least, at_most,
                                  parametrize_with_bounds)

    def linear():
        torch.manual_seed(0)
        return nn.Linear(3, 2)

    EXACT = exact_lipschitz(nn.Sequential(linear())).value
""")


def test_pyproject_declares_the_pytest11_entry_point():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    target = meta["project"]["entry-points"]["pytest11"]["lipbound"]
    assert target == PLUGIN
    mod = importlib.import_module(target)
    for hook in ("pytest_addoption", "pytest_configure", "pytest_terminal_summary", "pytest_sessionfinish"):
        assert callable(getattr(mod, hook)), hook


def test_at_most_passes_on_a_certified_bound_and_fails_below_it(pytester):
    pytester.makepyfile(test_lin=HEADER + textwrap.dedent("""
        def test_above_exact():
            br = assert_lipschitz_at_most(linear(), EXACT * (1 + 1e-6), input_shape=(3,))
            assert br.best_upper <= EXACT * (1 + 1e-6)

        def test_below_exact():
            assert_lipschitz_at_most(linear(), EXACT * 0.9, input_shape=(3,))

        def test_true_but_not_certified():
            # the bound holds (it is above the exact constant) but the spectral product cannot certify it
            from lipbound.bounds import spectral_product, to_network
            torch.manual_seed(1)
            net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
            exact, upper = exact_lipschitz(net).value, spectral_product(to_network(net))[0]
            assert exact < 0.95 * upper
            assert_lipschitz_at_most(net, (exact + upper) / 2, input_shape=(4,), method="spectral-product")
    """))
    res = run(pytester, "-q")
    res.assert_outcomes(passed=1, failed=2)
    res.stdout.fnmatch_lines(["*is not certified: * above the bound (*%); the true constant lies in [[]*, *[]]; a "
                              "tighter certified method may still prove it*"])
    res.stdout.fnmatch_lines([
        "*is not certified: the best certified upper bound is * above the bound (*%); the claim is false: a sound "
        "lower bound * already exceeds*",
        "*spectral-product*certified-upper*solver none: ok*",
        "*power-iteration*lower*",
    ])
    res.stdout.fnmatch_lines(["*lipbound brackets*", "passed*test_lin.py::test_above_exact*Lip <=*",
                              "FAILED*test_lin.py::test_below_exact*", "3 lipbound checks: 1 passed, 2 failed, 0 refused"])


def test_at_least_passes_on_a_sound_lower_bound_and_fails_above_the_constant(pytester):
    pytester.makepyfile(test_low=HEADER + textwrap.dedent("""
        def test_below_exact():
            assert_lipschitz_at_least(linear(), EXACT * 0.999, input_shape=(3,))

        def test_above_exact():
            assert_lipschitz_at_least(linear(), EXACT * 1.1, input_shape=(3,), domain=Box(-1.0, 1.0))
    """))
    res = run(pytester, "-q")
    res.assert_outcomes(passed=1, failed=1)
    res.stdout.fnmatch_lines([
        "*is not attained: the best sound lower bound is * below the bound; the claim is false: a certified upper "
        "bound * is below*",
        "*witness input of *: shape [[]3[]], ||x|| = *, entries in *, x = [[]*[]]",
        "*pgd*lower*",
    ])


def test_a_model_the_engine_refuses_fails_with_the_reason(pytester):
    pytester.makepyfile(test_ref=HEADER + textwrap.dedent("""
        class Doubled(nn.Linear):
            def forward(self, x):
                return 2 * super().forward(x)

        def test_custom_forward():
            assert_lipschitz_at_most(Doubled(3, 2), 1e6, input_shape=(3,))

        def test_forward_hook():
            m = linear()
            m.register_forward_hook(lambda mod, args, out: 10 * out)
            assert_lipschitz_at_most(m, 1e6, input_shape=(3,))

        def test_lower_bound_of_a_refused_model():
            assert_lipschitz_at_least(Doubled(3, 2), 0.0, input_shape=(3,))
    """))
    res = run(pytester, "-q")
    res.assert_outcomes(failed=3)
    res.stdout.fnmatch_lines([
        "*Lip(Doubled) <= 1e+06: lipbound refused the model Doubled (input shape (3,)), so nothing is certified*",
        "*Reason: UnsupportedModuleError: layer '<model>' is Doubled, a subclass of Linear that defines forward*",
    ])
    res.stdout.fnmatch_lines(["*Reason: UnsupportedModuleError: *has hooks registered (_forward_hooks)*"])
    res.stdout.fnmatch_lines(["REFUSED*test_ref.py::test_custom_forward*", "REFUSED*test_ref.py::test_forward_hook*",
                              "3 lipbound checks: 0 passed, 0 failed, 3 refused"])


def test_parametrize_with_bounds_gives_one_id_per_model_and_property(pytester):
    pytester.makepyfile(test_ids=HEADER + textwrap.dedent("""
        MODELS = {"lin": linear(), "mlp-3": (nn.Sequential(nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 1)), (5,))}

        @parametrize_with_bounds(MODELS, [at_most(10), at_least(0.001)], input_shape=(3,))
        def test_bounds(model, check):
            check(model)
    """))
    res = run(pytester, "--collect-only", "-q")
    res.stdout.fnmatch_lines(["test_ids.py::test_bounds[[]lin-at_most_10[]]", "test_ids.py::test_bounds[[]lin-at_least_0.001[]]",
                              "test_ids.py::test_bounds[[]mlp-3-at_most_10[]]", "test_ids.py::test_bounds[[]mlp-3-at_least_0.001[]]"])
    res = run(pytester, "-q")
    res.assert_outcomes(passed=4)


def test_options_set_the_defaults_and_are_checked(pytester):
    pytester.makepyfile(test_opt=HEADER + textwrap.dedent("""
        def test_default_method():
            br = assert_lipschitz_at_most(linear(), 100.0, input_shape=(3,))
            assert [r.method for r in br.results] == ["spectral-product", "power-iteration"]
    """))
    res = run(pytester, "--help")
    res.stdout.fnmatch_lines(["*--lipbound-method=METHOD*", "*--lipbound-time-limit=SECONDS*",
                              "*--lipbound-device=DEVICE*", "*--lipbound-json=PATH*"])
    run(pytester, "-q", "--lipbound-method", "spectral-product", "--lipbound-time-limit", "5").assert_outcomes(passed=1)
    run(pytester, "-q").assert_outcomes(failed=1)  # the engine's defaults add lipsdp-neuron and the estimator
    for bad in (["--lipbound-method", "exact"], ["--lipbound-time-limit", "0"], ["--lipbound-time-limit", "soon"],
                ["--lipbound-device", "cuda"], ["--lipbound-device", "nodevice"]):
        res = run(pytester, "-q", *bad)
        assert res.ret == pytest.ExitCode.USAGE_ERROR, bad
        res.stderr.fnmatch_lines([f"*{bad[0].split('-')[-1]}*"])


def test_the_json_summary(pytester):
    pytester.makepyfile(test_json=HEADER + textwrap.dedent("""
        def test_ok():
            assert_lipschitz_at_most(linear(), 100.0, input_shape=(3,))

        def test_low():
            assert_lipschitz_at_least(linear(), 100.0, input_shape=(3,))
    """))
    out = pytester.path / "out" / "brackets.json"
    res = run(pytester, "-q", "--lipbound-json", str(out), "--lipbound-method", "spectral-product")
    res.assert_outcomes(passed=1, failed=1)
    res.stdout.fnmatch_lines([f"lipbound brackets written to {out}"])
    doc = json.loads(out.read_text())
    assert doc["kind"] == "lipbound-pytest"
    assert (doc["passed"], doc["failed"], doc["refused"]) == (1, 1, 0)
    assert doc["options"] == {"method": "spectral-product", "time_limit": None, "device": "cpu"}
    ok, low = doc["checks"]
    assert ok["test"] == "test_json.py::test_ok" and low["test"] == "test_json.py::test_low"
    assert (ok["check"], ok["bound"], ok["passed"], ok["model"], ok["input_shape"]) == ("at_most", 100.0, True,
                                                                                         "Linear", [3])
    assert [(r["method"], r["kind"]) for r in ok["results"]] == [("spectral-product", "certified-upper"),
                                                                 ("power-iteration", "lower")]
    assert 0 < ok["best_lower"] <= ok["best_upper"] == ok["results"][0]["value"]
    assert (low["check"], low["passed"], low["refused"]) == ("at_least", False, None)
    assert "witness" in low["results"][1]["details"]
    assert set(doc["meta"]) >= {"lipbound", "torch", "python", "command", "time"}
    # lipbound report reads it: one bracket per check, named by test, model, bound and outcome
    from lipbound.report._load import load_results

    brackets = load_results([out]).brackets
    assert [b.model for b in brackets] == ["test_json.py::test_ok: Linear (Lip <= 100.0: passed)",
                                           "test_json.py::test_low: Linear (Lip >= 100.0: failed)"]
    assert [r["value"] for r in brackets[0].results] == [r["value"] for r in ok["results"]]
    # a later run replaces its own document ...
    run(pytester, "-q", "-k", "ok", "--lipbound-json", str(out)).assert_outcomes(passed=1, deselected=1)
    assert [c["test"] for c in json.loads(out.read_text())["checks"]] == ["test_json.py::test_ok"]
    # ... and refuses, before running anything, a file it did not write
    other = pytester.path / "notes.json"
    other.write_text('{"kind": "something-else"}')
    res = run(pytester, "-q", "--lipbound-json", str(other))
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    res.stderr.fnmatch_lines(["*not a lipbound-pytest document; lipbound never overwrites such a file*"])
    assert other.read_text() == '{"kind": "something-else"}'
    res = run(pytester, "-q", "--lipbound-json", str(pytester.path))
    assert res.ret == pytest.ExitCode.USAGE_ERROR


def test_the_example_project_of_the_docs_passes(pytester):
    """docs/testing.md shows docs/examples/testsuite: it must keep passing."""
    src = ROOT / "docs" / "examples" / "testsuite"
    for p in src.rglob("*"):
        if p.is_file() and "__pycache__" not in p.parts:
            dest = pytester.path / p.relative_to(src)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, dest)
    out = pytester.path / "lipschitz.json"
    res = run(pytester, "-q", "--lipbound-json", str(out))
    res.assert_outcomes(passed=7)
    doc = json.loads(out.read_text())
    assert doc["failed"] == doc["refused"] == 0 and doc["passed"] == len(doc["checks"]) >= 7
    assert "tests/test_policy_lipschitz.py::test_policy_bounds[mlp-16-at_most_1]" in [c["test"] for c in doc["checks"]]


# --------------------------------------------------------------------------- the inputs strategy
@settings(max_examples=15, deadline=None)
@given(data=st.data(), low=st.floats(-3, 3), width=st.floats(1e-3, 5), shape=st.sampled_from([(1,), (3,), (2, 3)]))
def test_inputs_lie_in_the_box(data, low, width, shape):
    x = data.draw(inputs(Box(low, low + width), shape=shape))
    assert x.shape == shape and x.dtype == torch.float64
    assert bool(((low <= x) & (x <= low + width)).all())


@settings(max_examples=15, deadline=None)
@given(data=st.data(), radius=st.floats(1e-3, 10), centre=st.floats(-5, 5), batch=st.sampled_from([None, 1, 4]))
def test_inputs_lie_in_the_ball(data, radius, centre, batch):
    x = data.draw(inputs(Ball(centre, radius), shape=(4,), batch=batch))
    assert x.shape == ((4,) if batch is None else (batch, 4))
    assert bool(((x - centre).reshape(-1, 4).norm(dim=1) <= radius).all())


def test_inputs_are_reproduced_from_the_seed_and_checked():
    from lipbound.testing._strategies import _fill

    a, b = _fill(Box(0.0, 1.0), (3,), 5, False), _fill(Box(0.0, 1.0), (3,), 5, False)
    assert (a == b).all() and not (a == _fill(Box(0.0, 1.0), (3,), 6, False)).all()
    corner = _fill(Box(-1.0, 2.0), (6,), 1, True)
    assert set(corner.tolist()) <= {-1.0, 2.0}
    with pytest.raises(ValueError, match="positive"):
        inputs(None, shape=(0,))
    with pytest.raises(TypeError, match="Box or Ball"):
        inputs("box", shape=(2,))


def test_a_session_inside_another_keeps_its_checks_to_itself(pytester, request):
    """Checks made in a pytest session run inside another one (pytester, in process) are summarised by
    the inner session only: the outer session's list is unchanged, so its summary shows no check it did
    not make."""
    from lipbound.testing import _plugin

    before = list(_plugin._records(request.config))
    pytester.makepyfile(test_inner=HEADER + textwrap.dedent("""
        def test_above_exact():
            assert_lipschitz_at_most(linear(), EXACT * 1.01, input_shape=(3,))
    """))
    res = run(pytester, "-q")
    res.assert_outcomes(passed=1)
    res.stdout.fnmatch_lines(["*1 lipbound checks: 1 passed, 0 failed*"])
    assert list(_plugin._records(request.config)) == before


def test_local_assertion_certifies_on_the_domain_what_the_global_bound_cannot():
    """Around a point where every ReLU is stable the model is affine: the local bound is its Jacobian
    norm (certified exactly), below the global LipSDP bound; a bound between the two passes only with
    local=True, and local=True without a domain is a usage error."""
    import pytest
    import torch
    from torch import nn

    from lipbound.bounds import Ball, lipsdp
    from lipbound.testing import LipschitzCheckError, assert_lipschitz_at_most

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3)).double()
    c = torch.randn(4, dtype=torch.float64)
    jac = float(torch.linalg.matrix_norm(torch.func.jacrev(net)(c), 2))
    glob = lipsdp(net).value
    assert jac < glob
    bound = (jac + glob) / 2
    dom = Ball(c, 1e-6)
    br = assert_lipschitz_at_most(net, bound, input_shape=4, domain=dom, local=True)
    assert br["lipsdp-local"].value <= jac * (1 + 1e-9)
    with pytest.raises(LipschitzCheckError, match="is not certified"):
        assert_lipschitz_at_most(net, bound, input_shape=4, domain=dom)
    with pytest.raises(LipschitzCheckError, match=r"on ball:1e-06 .*the claim is false"):
        assert_lipschitz_at_most(net, 0.5 * jac, input_shape=4, domain=dom, local=True)
    with pytest.raises(ValueError, match="local=True"):
        assert_lipschitz_at_most(net, bound, input_shape=4, local=True)
