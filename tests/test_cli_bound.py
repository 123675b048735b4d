"""``lipbound bound``: TorchScript / torch.export models rebuilt as layer chains, the table and JSON
output, and every kind of bad input (exit status 2 with a clear message)."""

from __future__ import annotations

import json
import math
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lipbound.bounds import ModelFileError, exact_lipschitz, load_model, spectral_product
from lipbound.cli import main
from lipbound.errors import UnsupportedModuleError
from lipbound.models import ConvEncoder, MLPEncoder

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),  # torch.jit.script is deprecated upstream
    pytest.mark.usefixtures("one_torch_thread"),  # small models (tests/conftest.py)
]


def _mlp(seed: int, dims=(4, 8, 3), act=nn.ReLU) -> nn.Sequential:
    g = torch.Generator().manual_seed(seed)
    layers: list[nn.Module] = []
    for k, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        lin = nn.Linear(a, b)
        with torch.no_grad():
            lin.weight.copy_(torch.randn(b, a, generator=g) / a**0.5)
            lin.bias.copy_(torch.randn(b, generator=g))
        layers.append(lin)
        if k < len(dims) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


def _script(model: nn.Module, path) -> str:
    torch.jit.save(torch.jit.script(model), str(path))
    return str(path)


def _export(model: nn.Module, path, x) -> str:
    torch.export.save(torch.export.export(model.eval(), (x,)), str(path))
    return str(path)


def _run(capsys, *argv) -> tuple[int, str, str]:
    """``lipbound bound ARGV``: (exit status, stdout, stderr); argparse's own errors exit 2 too."""
    try:
        rc = main(["bound", *map(str, argv)])
    except SystemExit as exc:  # options refused at parse time
        rc = exc.code
    out, err = capsys.readouterr()
    return rc, out, err


def test_torchscript_mlp_table_and_json(tmp_path, capsys):
    net = _mlp(0)
    path = _script(net, tmp_path / "mlp.ts")
    out_json = tmp_path / "out" / "bracket.json"
    rc, out, _ = _run(capsys, path, "--input-shape", "4", "--domain", "box:-1,1", "--samples", "32",
                      "--json", out_json)
    assert rc == 0
    for word in ("spectral-product", "lipsdp-neuron", "power-iteration", "pgd", "paper-estimator",
                 "certified-upper", "lower", "heuristic"):
        assert word in out
    doc = json.loads(out_json.read_text())
    assert doc["kind"] == "lipbound-bracket" and doc["format"] == "torchscript"
    assert doc["input_shape"] == [4]
    assert set(doc["meta"]) >= {"lipbound", "torch", "python", "seed", "command"}
    assert doc["meta"]["command"].startswith("lipbound bound ")
    rows = {r["method"]: r for r in doc["results"]}
    assert [rows[m]["kind"] for m in ("spectral-product", "lipsdp-neuron", "power-iteration", "pgd",
                                      "paper-estimator")] == [
        "certified-upper", "certified-upper", "lower", "lower", "heuristic"]
    for r in doc["results"]:
        assert set(r) >= {"method", "kind", "value", "seconds", "solver", "status"}
    lowers = [r["value"] for r in doc["results"] if r["kind"] == "lower"]
    uppers = [r["value"] for r in doc["results"] if r["kind"] == "certified-upper"]
    assert 0 < max(lowers) <= min(uppers)
    # the rebuilt chain is the model: its spectral product is the original's, to the last bit
    assert rows["spectral-product"]["value"] == spectral_product(net, (4,))[0]
    assert doc["best_lower"] == max(lowers) and doc["best_upper"] == min(uppers)


def test_export_archive_json_to_stdout(tmp_path, capsys):
    net = _mlp(1, dims=(5, 4, 2))  # hidden 4 <= input 5: exact constant available
    path = _export(net, tmp_path / "mlp.pt2", torch.randn(3, 5))
    rc, out, err = _run(capsys, path, "--input-shape", "5", "--method", "spectral-product", "--method",
                        "lipsdp-neuron", "--method", "power-iteration", "--samples", "64", "--json", "-")
    assert rc == 0
    doc = json.loads(out)  # stdout is pure JSON; the table went to stderr
    assert "spectral-product" in err and doc["format"] == "torch.export"
    exact = exact_lipschitz(net.double()).value
    vals = {r["method"]: r["value"] for r in doc["results"]}
    assert vals["power-iteration"] <= exact <= vals["lipsdp-neuron"] <= vals["spectral-product"]


def test_torchscript_conv_and_custom_container(tmp_path, capsys):
    torch.manual_seed(3)  # default init of the conv encoder's weights; any seed gives the same checks
    conv = ConvEncoder(in_channels=2, image_size=8, latent_dim=3, channels=(4,))
    path = _script(conv, tmp_path / "conv.ts")
    rc, out, _ = _run(capsys, path, "--input-shape", "2,8,8", "--method", "spectral-product", "--method",
                      "power-iteration", "--samples", "8", "--json", tmp_path / "c.json")
    assert rc == 0, out
    doc = json.loads((tmp_path / "c.json").read_text())
    assert doc["results"][0]["value"] == spectral_product(conv, (2, 8, 8))[0]
    enc = MLPEncoder(6, latent_dim=3, hidden=(5,))  # a custom module whose forward calls self.net
    loaded = load_model(_script(enc, tmp_path / "enc.ts"), input_shape=(6,))
    model = loaded.chain
    assert loaded.format == "torchscript"
    x = torch.randn(7, 6)
    assert torch.equal(model(x), enc(x))


@pytest.mark.parametrize("fmt", ["torchscript", "torch.export"])
def test_conv_transpose_chain_both_formats(tmp_path, fmt):
    """Strided, padded Conv2d and ConvTranspose2d (output_padding) with ELU/LeakyReLU/GELU: every
    attribute must survive the rebuild, or the outputs or the spectral product would differ."""
    torch.manual_seed(5)  # default init; the checks hold for any weights
    net = nn.Sequential(nn.Conv2d(2, 3, 3, stride=2, padding=1), nn.ELU(0.7),
                        nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1), nn.LeakyReLU(0.3),
                        nn.Flatten(), nn.Linear(2 * 6 * 6, 4), nn.GELU()).eval()
    x = torch.randn(2, 2, 6, 6)
    path = _script(net, tmp_path / "c.ts") if fmt == "torchscript" else _export(net, tmp_path / "c.pt2", x)
    loaded = load_model(path, input_shape=(2, 6, 6))
    model = loaded.chain
    assert loaded.format == fmt
    assert torch.equal(model(x), net(x))
    assert spectral_product(model, (2, 6, 6))[0] == spectral_product(net, (2, 6, 6))[0]


@settings(max_examples=8)
@given(seed=st.integers(0, 2**31 - 2), n=st.integers(1, 5), h=st.integers(1, 5), m=st.integers(1, 4),
       act=st.sampled_from([nn.ReLU, nn.Tanh, nn.GELU, nn.LeakyReLU]))
def test_rebuilt_torchscript_equals_model(tmp_path_factory, seed, n, h, m, act):
    """Shapes and a seed drawn; weights from the seed. The rebuilt chain computes the same function."""
    net = _mlp(seed, (n, h, m), act)
    path = _script(net, tmp_path_factory.mktemp("ts") / "m.ts")
    model = load_model(path, input_shape=(n,)).chain
    x = torch.randn(16, n, generator=torch.Generator().manual_seed(seed))
    assert torch.equal(model(x), net(x))  # same kernels on the same weights: bitwise equal
    assert spectral_product(model, (n,))[0] == spectral_product(net, (n,))[0]


# ---------------------------------------------------------------------------------- bad input
def test_missing_file(tmp_path, capsys):
    rc, _, err = _run(capsys, tmp_path / "nope.ts", "--input-shape", "4")
    assert rc == 2 and "does not exist" in err


def test_not_a_model(tmp_path, capsys):
    p = tmp_path / "notes.txt"
    p.write_text("not a model")
    rc, _, err = _run(capsys, p, "--input-shape", "4")
    assert rc == 2 and "is not a model" in err
    (tmp_path / "empty.ts").write_bytes(b"")
    rc, _, err = _run(capsys, tmp_path / "empty.ts", "--input-shape", "4")
    assert rc == 2 and "empty" in err


def test_untrusted_pickle_refused_trusted_loaded(tmp_path, capsys):
    net = _mlp(2)
    p = tmp_path / "model.pkl"
    torch.save(net, p)
    rc, _, err = _run(capsys, p, "--input-shape", "4", "--method", "spectral-product")
    assert rc == 2 and "--trust-pickle" in err and "arbitrary code" in err
    with pytest.warns(UserWarning, match="weights_only=False"):
        rc, out, _ = _run(capsys, p, "--input-shape", "4", "--method", "spectral-product", "--trust-pickle",
                          "--json", "-")
    assert rc == 0 and json.loads(out)["format"] == "pickle"
    torch.save(net.state_dict(), tmp_path / "sd.pt")  # weights without an architecture
    rc, _, err = _run(capsys, tmp_path / "sd.pt", "--input-shape", "4", "--trust-pickle")
    assert rc == 2 and "not a model" in err


def test_wrong_input_shape(tmp_path, capsys):
    net = _mlp(3)
    ts = _script(net, tmp_path / "m.ts")
    rc, _, err = _run(capsys, ts, "--input-shape", "5", "--method", "spectral-product")
    assert rc == 2 and "cannot take inputs of shape (5,)" in err
    pt2 = _export(net, tmp_path / "m.pt2", torch.randn(2, 4))
    rc, _, err = _run(capsys, pt2, "--input-shape", "3,3", "--method", "spectral-product")
    assert rc == 2 and "takes inputs of shape (2, 4)" in err
    for bad in ("a,b", "0", ","):
        rc, _, err = _run(capsys, ts, "--input-shape", bad)
        assert rc == 2 and "--input-shape" in err


class _Doubler(nn.Module):
    def forward(self, x):
        return 2 * x


class _Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        return x + self.lin(x)


@pytest.mark.parametrize("bad, name", [
    (nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=-1)), "Softmax"),
    (nn.Sequential(nn.Linear(4, 4), _Doubler()), "_Doubler"),
    (_Residual(), "_Residual"),
])
def test_unsupported_layer(tmp_path, capsys, bad, name):
    rc, _, err = _run(capsys, _script(bad, tmp_path / "m.ts"), "--input-shape", "4")
    assert rc == 2 and name in err and "supported: Sequential (nested), Linear" in err


def test_unsupported_export_operator(tmp_path):
    path = _export(_Residual(), tmp_path / "r.pt2", torch.randn(2, 4))
    with pytest.raises(UnsupportedModuleError, match="not a step of a single layer chain|supported"):
        load_model(path, input_shape=(4,))


def test_nan_weights(tmp_path, capsys):
    net = _mlp(4)
    with torch.no_grad():
        net[0].weight[0, 0] = float("nan")
    rc, _, err = _run(capsys, _script(net, tmp_path / "m.ts"), "--input-shape", "4")
    assert rc == 2 and "NaN" in err


def test_empty_inputs_and_bad_options(tmp_path, capsys):
    ts = _script(_mlp(5), tmp_path / "m.ts")
    rc, _, err = _run(capsys, ts, "--input-shape", "4", "--samples", "0")
    assert rc == 2 and "--samples" in err
    for dom in ("box:1,-1", "ball:-2", "cube:1", "box:a,b"):
        rc, _, err = _run(capsys, ts, "--input-shape", "4", "--domain", dom)
        assert rc == 2 and "--domain" in err
    with pytest.raises(SystemExit):  # argparse rejects an unknown method
        main(["bound", ts, "--input-shape", "4", "--method", "nope"])
    with pytest.raises(ModelFileError, match="not a file"):
        load_model(tmp_path)


def test_nothing_written_on_error(tmp_path, capsys):
    out = tmp_path / "b.json"
    rc, _, _ = _run(capsys, tmp_path / "nope.ts", "--input-shape", "4", "--json", out)
    assert rc == 2 and not out.exists()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ts = _script(_mlp(6), tmp_path / "m.ts")
    rc, _, _ = _run(capsys, ts, "--input-shape", "4", "--method", "spectral-product", "--json", out)
    assert rc == 0 and json.loads(out.read_text())["results"][0]["method"] == "spectral-product"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".b.json")] == []  # no temp file left


def test_radius_sweep_writes_local_brackets_and_the_report_draws_them(tmp_path, capsys):
    """--radii with --domain ball:R and --center: one row per radius with the certified local bound
    never below PGD on the same ball and never above the global bound; the report draws the figure."""
    import numpy as np

    from lipbound.report import load_results, write_report

    ts = _script(_mlp(3, dims=(4, 12, 12, 3)), tmp_path / "m.ts")
    np.save(tmp_path / "c.npy", np.array([0.5, -0.2, 0.1, 1.0]))
    out = tmp_path / "b.json"
    rc, text, _ = _run(capsys, ts, "--input-shape", "4", "--domain", "ball:0.1", "--center", tmp_path / "c.npy",
                       "--radii", "1,0.001,0.1", "--samples", "16", "--json", out)
    assert rc == 0 and "local / pgd" in text
    doc = json.loads(out.read_text())
    sweep = doc["radius_sweep"]
    assert [r["radius"] for r in sweep] == [0.001, 0.1, 1.0]
    for r in sweep:
        assert r["pgd"] <= r["local"] <= doc["best_upper"]
    # affine on the smallest ball: the bracket closes up to the lower bound's stated deflation (1e-9
    # relative plus 1e-10 times the spectral product, docs/bounds.md), well inside 1e-8 here
    assert sweep[0]["unstable"] == 0 and sweep[0]["local"] <= sweep[0]["pgd"] * (1 + 1e-8)
    assert doc["domain_lower"] <= doc["domain_upper"] <= doc["best_upper"]
    write_report(load_results([out]), tmp_path / "rep")
    assert len(list((tmp_path / "rep" / "figures").glob("radius-*.png"))) == 1


def test_radius_sweep_and_center_refuse_bad_input(tmp_path, capsys):
    ts = _script(_mlp(4), tmp_path / "m.ts")
    for argv, word in ((["--radii", "0.1"], "--radii needs"), (["--domain", "box:-1,1", "--radii", "0.1"], "--radii needs"),
                       (["--domain", "ball:1", "--radii", "0,-1"], "--radii"),
                       (["--domain", "ball:1", "--center", "1,2"], "--center has 2 values"),
                       (["--center", "1,2,3,4"], "--center needs"),
                       (["--domain", "ball:1", "--center", str(tmp_path / "none.npy")], "no such"),
                       (["--domain", "ball:1", "--center", "1,nan,0,0"], "finite")):
        rc, _, err = _run(capsys, ts, "--input-shape", "4", *argv)
        assert rc == 2 and word in err, (argv, err)


def _save_autoencoder(model, path, fmt: str) -> str:
    import warnings

    xs = [torch.randn(3, *e.in_shape, dtype=next(model.parameters()).dtype) for e in model.encoders]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracing warns about shape checks it cannot record
        if fmt == "torchscript":
            torch.jit.save(torch.jit.trace(model.eval(), (xs,)), str(path))
        else:
            torch.export.save(torch.export.export(model.eval(), (xs,)), str(path))
    return str(path)


@pytest.mark.parametrize("fmt, filename", [("torchscript", "ae.pt"), ("torch.export", "ae.pt2")])
@pytest.mark.parametrize("zoo_name", ["sum-tanh", "concat-relu", "attention-tanh"])
def test_autoencoder_file_bounded_per_part_and_whole(tmp_path, capsys, zoo_name, fmt, filename):
    """A saved multimodal autoencoder: every encoder and decoder certified, the whole model by the
    composition rule (attention: on the input balls), and a secant of the file's own module below it."""
    from lipbound.zoo import load

    model = load(zoo_name)
    path = _save_autoencoder(model, tmp_path / filename, fmt)
    shapes = [a for e in model.encoders for a in ("--input-shape", ",".join(map(str, e.in_shape)))]
    out = tmp_path / "ae.json"
    extra = ["--domain", "ball:1"] if zoo_name.startswith("attention") else []
    rc, text, err = _run(capsys, path, "--autoencoder", *shapes, *extra, "--json", out)
    assert rc == 0, err
    doc = json.loads(out.read_text())
    assert doc["kind"] == "lipbound-autoencoder-bounds" and doc["format"] == fmt
    parts = {(r["part"], r["kind"]): r for r in doc["parts"]}
    le = [parts[(f"encoders.{i}", "certified-upper")]["value"] for i in range(len(model.encoders))]
    ld = [parts[(f"decoders.{j}", "certified-upper")]["value"] for j in range(len(model.decoders))]
    whole, lower = parts[("composed", "certified-upper")]["value"], parts[("composed", "lower")]["value"]
    assert 0 < lower <= whole
    if zoo_name.startswith("concat"):  # max_i L_Ei sqrt(sum_j L_Dj^2), rounded up
        rule = max(le) * math.sqrt(sum(v * v for v in ld))
        assert rule <= whole <= rule * (1 + 1e-12)
    assert "whole model <=" in text


def test_autoencoder_mode_refuses_bad_input(tmp_path, capsys):
    from lipbound.zoo import load

    att = _save_autoencoder(load("attention-tanh"), tmp_path / "att.pt2", "torch.export")
    mlp = _script(_mlp(0), tmp_path / "mlp.ts")
    cases = [([att, "--autoencoder"], "bounded set"),
             ([att, "--autoencoder", "--method", "pgd"], "certified global --method"),
             ([att, "--autoencoder", "--domain", "ball:1", "--radii", "0.1"], "--radii is not used"),
             ([att, "--autoencoder", "--domain", "box:-1,1"], "ball:R"),
             ([att, "--autoencoder", "--domain", "ball:1", "--latent-radius", "2"], "not both"),
             ([tmp_path / "none.pt2", "--autoencoder"], "not a file"),
             ([mlp, "--autoencoder", "--input-shape", "4"], "encoders"),
             ([att, "--autoencoder", "--input-shape", "6", "--domain", "ball:1"], "--input-shape says"),
             ([att, "--autoencoder", "--input-shape", "7", "--input-shape", "10", "--domain", "ball:1"],
              "--input-shape says"),
             ([mlp, "--input-shape", "4", "--latent-radius", "2"], "--latent-radius is for --autoencoder"),
             ([mlp, "--input-shape", "4", "--input-shape", "4"], "once"),
             ([mlp], "--input-shape")]
    for argv, word in cases:
        rc, _, err = _run(capsys, *argv)
        assert rc == 2 and word in err, (argv, err)
    rc, text, _ = _run(capsys, att, "--autoencoder", "--latent-radius", "2")  # conditional: no input set to search
    assert rc == 0 and "stated, not checked" in text and "secant" not in text
