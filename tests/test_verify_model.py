"""``lipbound verify --model``: the paper's claims on the user's own model (docs/testing.md, "The
paper's claims on your model")."""

from __future__ import annotations

import json
import re
import textwrap

import numpy as np
import pytest
import torch

from lipbound import cli

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _factory(tmp_path, body: str, name: str = "user_model.py") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return str(path)


def _verify(capsys, *args: str) -> tuple[int, dict, str]:
    code = cli.main(["verify", "--json", "-", "--no-report", *args])
    out = capsys.readouterr()
    rows = {(r["claim"], r["reading"]): r for r in json.loads(out.out)} if code in (0, 1) else {}
    return code, rows, out.err


# a model the user defines: a plain module with encoders, fusion and decoders, and its own forward
USER_MODEL = """
    import torch
    from torch import nn
    from lipbound.models import AttentionFusion

    class MyAutoencoder(nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.encoders = nn.ModuleList([nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)),
                                           nn.Sequential(nn.Linear(5, 3))])
            self.fusion = AttentionFusion([2, 3], proj_dim=2)
            self.decoders = nn.ModuleList([nn.Sequential(nn.Linear(5, 3)),
                                           nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 5))])

        def forward(self, xs):
            z = self.fusion([e(x) for e, x in zip(self.encoders, xs)])
            return [d(z) for d in self.decoders]{extra}

    def build():
        return MyAutoencoder()
"""


def test_zoo_model_from_a_factory(tmp_path, capsys):
    src = _factory(tmp_path, """
        from lipbound.zoo import load

        def concat_model():
            return load("concat-relu")
    """) + ":concat_model"
    code, rows, err = _verify(capsys, "--model", src, "--claim", "lemma-3.1", "--claim", "lemma-3.3",
                              "--claim", "eq-3", "--claim", "thm-4.1")
    assert code == 0, err
    for key in (("lemma-3.1", "formula"), ("lemma-3.1", "locality"), ("lemma-3.3", "formula")):
        row = rows[key]
        assert row["status"] == "holds" and row["cases"] == 2, row
        assert row["detail"].startswith("on the model")
        # the cases are the user's model, not the zoo's or generated ones
        assert {c["label"] for c in row["cases_data"]} == {f"trained:{src}"}
    eq3 = rows[("eq-3", "formula")]
    assert eq3["status"] == "skipped" and eq3["cases"] == 0
    assert "Eq. (3) assumes sum fusion; the model fuses by concat" in eq3["detail"]
    thm = rows[("thm-4.1", "our-bound")]
    assert thm["status"] == "skipped" and "Theorem 4.1 assumes attention fusion; the model fuses by concat" in thm["detail"]
    assert "not a property of one given model" in rows[("thm-4.1", "regime-below")]["detail"]


def test_a_model_the_user_defines_with_its_data(tmp_path, capsys):
    src = _factory(tmp_path, USER_MODEL.replace("{extra}", "")) + ":build"
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    np.save(data / "a.npy", rng.standard_normal((10, 3)).astype(np.float32))
    np.save(data / "b.npy", rng.standard_normal((10, 5)).astype(np.float32))
    code, rows, err = _verify(capsys, "--model", src, "--data", f"folder:{data}", "--claim", "lemma-3.2",
                              "--claim", "lemma-4.1", "--claim", "thm-4.1", "--claim", "sec-4.5")
    assert code == 0, err  # paper-self-block is refuted on the model, as the ledger expects
    assert rows[("lemma-3.2", "formula")]["status"] == "holds"
    assert f"rows of the data folder {data}" in rows[("lemma-3.2", "formula")]["method"]
    assert rows[("lemma-4.1", "blocks")]["status"] == "holds"
    assert rows[("thm-4.1", "our-bound")]["status"] == "holds"
    self_block = rows[("lemma-4.1", "paper-self-block")]
    assert self_block["status"] == "refuted" and self_block["counterexample"]["source"] == "fixed"
    # the counterexample is the model's own attention weights
    import importlib.util

    spec = importlib.util.spec_from_file_location("_check_user_model", src.rsplit(":", 1)[0])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    weights = [w.detach().double().tolist() for w in mod.build().fusion.weights]
    assert np.allclose(np.array(self_block["counterexample"]["weights"][0]), np.array(weights[0]))
    reg = rows[("lemma-4.1", "regularized")]
    assert reg["status"] == "skipped"
    assert "regularised attention (normalised inputs, Section 4.5); the model's attention fusion has normalize_inputs=False" \
        in reg["detail"]
    assert rows[("sec-4.5", "unit-spectral-bound")]["status"] == "skipped"


def test_input_shape_must_fit_the_data_and_the_model(tmp_path, capsys):
    src = _factory(tmp_path, USER_MODEL.replace("{extra}", "")) + ":build"
    code = cli.main(["verify", "--no-report", "--model", src, "--input-shape", "3", "--claim", "eq-3"])
    assert code == 2
    assert "the model has 2 modalities, --input-shape gives 1" in capsys.readouterr().err


@pytest.mark.parametrize("body, message", [
    ("import torch\ndef build():\n    return torch.nn.Sequential(torch.nn.Linear(3, 2))\n",
     "cannot map Sequential to the paper's encoders, fusion and decoders: it has no attribute encoders, fusion, decoders"),
    ("""
     import torch
     from torch import nn
     from lipbound.models import MultimodalAutoencoder

     class MyLinear(nn.Linear):
         def forward(self, x):
             return 2 * super().forward(x)

     def build():
         encs = [nn.Sequential(MyLinear(3, 2)), nn.Sequential(nn.Linear(4, 2))]
         decs = [nn.Sequential(nn.Linear(2, 3)), nn.Sequential(nn.Linear(2, 4))]
         return MultimodalAutoencoder(encs, "sum", decs, latent_dims=[2, 2])
     """, "encoder 0: layer '0' is MyLinear, a subclass of Linear that defines forward"),
    ("""
     import torch
     from torch import nn

     class Mean(nn.Module):
         def forward(self, zs):
             return sum(zs) / len(zs)

     class Model(nn.Module):
         def __init__(self):
             super().__init__()
             self.encoders = nn.ModuleList([nn.Linear(3, 2), nn.Linear(4, 2)])
             self.fusion = Mean()
             self.decoders = nn.ModuleList([nn.Linear(2, 3), nn.Linear(2, 4)])

     def build():
         return Model()
     """, "the fusion is Mean, not one of lipbound's fusions"),
    ("def build():\n    raise RuntimeError('no weights here')\n", "calling build() raised RuntimeError: no weights here"),
])
def test_refuses_what_it_cannot_map(tmp_path, capsys, body, message):
    src = _factory(tmp_path, textwrap.dedent(body)) + ":build"
    assert cli.main(["verify", "--no-report", "--model", src, "--claim", "lemma-3.1"]) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert "Traceback" not in err and err.count("\n") == 1


def test_refuses_a_forward_that_is_not_the_composition(tmp_path, capsys):
    # the forward adds a constant to every reconstruction: not D_j(U(E(x)))
    src = _factory(tmp_path, USER_MODEL.replace("{extra}", "").replace(
        "return [d(z) for d in self.decoders]", "return [d(z) + 1e-3 for d in self.decoders]")) + ":build"
    assert cli.main(["verify", "--no-report", "--model", src, "--claim", "lemma-3.1"]) == 2
    assert "its forward does not compute D_j(U(E_1(x_1), ..., E_M(x_M)))" in capsys.readouterr().err


def test_refuses_stray_inputs(tmp_path, capsys):
    assert cli.main(["verify", "--no-report", "--data", f"folder:{tmp_path}", "--claim", "eq-3"]) == 2
    assert "give the inputs of --model" in capsys.readouterr().err
    assert cli.main(["verify", "--no-report", "--model", "no_such_module_xyz:build", "--claim", "eq-3"]) == 2
    assert "importing no_such_module_xyz raised ModuleNotFoundError" in capsys.readouterr().err


# ------------------------------------------------------------------------------- saved files
def _save(model, path, fmt: str, batch: int = 3):
    """Save ``model`` as the user would: a traced TorchScript file or a torch.export archive."""
    import warnings

    dtype = next(model.parameters()).dtype
    xs = [torch.randn(batch, *e.in_shape, dtype=dtype) for e in model.encoders]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracing warns about the shape checks it cannot record
        if fmt == "torchscript":
            torch.jit.save(torch.jit.trace(model.eval(), (xs,)), str(path))
        else:
            torch.export.save(torch.export.export(model.eval(), (xs,)), str(path))
    return str(path)


FORMATS = [("torchscript", "model.pt"), ("torch.export", "model.pt2")]


@pytest.mark.parametrize("fmt, filename", FORMATS)
@pytest.mark.parametrize("zoo_name", ["sum-tanh", "concat-relu", "attention-tanh"])
def test_exported_zoo_model(tmp_path, capsys, zoo_name, fmt, filename):
    """A zoo model saved as TorchScript or torch.export is mapped, rebuilt, checked against the file,
    and its claims run; the readings of another fusion are skipped naming the assumption."""
    from lipbound.zoo import build, load

    model = load(zoo_name) if zoo_name == "concat-relu" else build(zoo_name)  # one trained, two fresh
    path = _save(model, tmp_path / filename, fmt)
    code, rows, err = _verify(capsys, "--model", path, "--claim", "lemma-3.1", "--claim", "eq-3",
                              "--claim", "lemma-3.3", "--claim", "thm-4.1")
    assert code == 0, err
    assert re.search(rf"{fmt} file, rebuilt from the file and equal to it at \d+ random inputs \(float64, relative "
                     r"tolerance 1e-10\); and at the 2 inputs the claims use",
                     " ".join(err.split())), err
    for key in (("lemma-3.1", "formula"), ("lemma-3.1", "locality")):
        assert rows[key]["status"] == "holds" and rows[key]["cases"] == 2, rows[key]
        assert {c["label"] for c in rows[key]["cases_data"]} == {f"trained:{path}"}
    fusion = zoo_name.split("-")[0]
    own = {"sum": ("eq-3", "formula"), "concat": ("lemma-3.3", "formula"), "attention": ("thm-4.1", "our-bound")}
    assert rows[own[fusion]]["status"] == "holds" and rows[own[fusion]]["cases"] == 2
    for other, key in own.items():
        if other != fusion:
            assert rows[key]["status"] == "skipped" and f"the model fuses by {fusion}" in rows[key]["detail"], rows[key]


@pytest.mark.parametrize("fmt, filename", FORMATS)
@pytest.mark.parametrize("variant", ["attention", "attention-scaled", "attention-regularized",
                                     "attention-regularized-scaled"])
def test_rebuilt_fusion_is_the_files(tmp_path, fmt, filename, variant):
    """The file keeps no fusion settings: the rebuilt fusion is the one setting whose computation is
    the file's, and the rebuilt model reproduces the original in float64."""
    from lipbound.bounds._exported import load_file
    from lipbound.models import MLPDecoder, MLPEncoder, MultimodalAutoencoder, make_fusion

    torch.manual_seed(1)
    fusion = make_fusion(variant, [3, 3], proj_dim=2)
    encs = [MLPEncoder(4, 3, hidden=(5,), activation="tanh"), MLPEncoder(2, 3, hidden=(5,), activation="gelu")]
    decs = [MLPDecoder(6, 4, hidden=(5,), activation="elu"), MLPDecoder(6, 2, hidden=(5,), activation="leaky_relu")]
    model = MultimodalAutoencoder(encs, fusion, decs).eval()
    path = _save(model, tmp_path / filename, fmt)
    got = load_file(tmp_path / filename, path)
    assert got.format == fmt
    f = got.model.fusion
    for key in ("normalize_inputs", "spectral_norm", "scale", "proj_dim", "projection"):
        assert getattr(f, key) == getattr(fusion, key), key
    xs = [torch.randn(3, 4, dtype=torch.float64), torch.randn(3, 2, dtype=torch.float64)]
    with torch.no_grad():
        want, mine = model.double()(xs), got.model.double()(xs)
    assert all(torch.allclose(a, b, rtol=0, atol=1e-12) for a, b in zip(want, mine))


@pytest.mark.parametrize("fmt, filename", FORMATS)
@pytest.mark.parametrize("pairs", ["others", "others-over-M"])
@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
def test_a_fusion_saved_under_a_j_ne_i_reading_is_refused(tmp_path, capsys, fmt, filename, pairs):
    """Only pairs='all' is among the settings a file's fusion is matched against: an attention fusion
    saved with a j != i reading of Definition 4.1 is refused (exit 2), naming the setting."""
    from lipbound.models import MLPDecoder, MLPEncoder, MultimodalAutoencoder, make_fusion

    torch.manual_seed(2)
    fusion = make_fusion("attention", [3, 3], proj_dim=2, pairs=pairs)
    encs = [MLPEncoder(4, 3, hidden=(5,), activation="tanh"), MLPEncoder(2, 3, hidden=(5,), activation="tanh")]
    decs = [MLPDecoder(6, 4, hidden=(5,), activation="tanh"), MLPDecoder(6, 2, hidden=(5,), activation="tanh")]
    path = _save(MultimodalAutoencoder(encs, fusion, decs).eval(), tmp_path / filename, fmt)
    assert cli.main(["verify", "--no-report", "--model", path, "--claim", "lemma-3.1"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "is named AttentionFusion but computes something else than lipbound's AttentionFusion" in err, err
    assert "pairs='others' or 'others-over-M' (the j != i readings of Definition 4.1) is not mapped" in err, err
    assert "Traceback" not in err


class Mean(torch.nn.Module):
    """A fusion of the user's own: not one of lipbound's."""

    def forward(self, zs: list[torch.Tensor]) -> torch.Tensor:
        return (zs[0] + zs[1]) / 2


def _models_lipbound_cannot_map():
    from lipbound.models import MultimodalAutoencoder, SumFusion

    class SumFusion(SumFusion):  # noqa: F811 - a look-alike under the standard name, computing something else
        def fuse(self, latents):
            return latents[0] + latents[1] + 1e-3

    class Shifted(MultimodalAutoencoder):  # the forward adds something outside the parts
        def forward(self, xs):
            return [y + 1.0 for y in super().forward(xs)]

    def parts(fusion):
        torch.manual_seed(0)
        encs = [torch.nn.Sequential(torch.nn.Linear(3, 2)), torch.nn.Sequential(torch.nn.Linear(4, 2))]
        decs = [torch.nn.Sequential(torch.nn.Linear(2, 3)), torch.nn.Sequential(torch.nn.Linear(2, 4))]
        for e, d in zip(encs, (3, 4)):
            e.in_shape = (d,)
        return encs, fusion, decs

    class Own(torch.nn.Module):
        def __init__(self):
            super().__init__()
            encs, _, decs = parts(None)
            self.encoders, self.fusion, self.decoders = torch.nn.ModuleList(encs), Mean(), torch.nn.ModuleList(decs)

        def forward(self, xs):
            z = self.fusion([e(x) for e, x in zip(self.encoders, xs)])
            return [d(z) for d in self.decoders]

    seq = torch.nn.Sequential(torch.nn.Linear(3, 2))
    seq.in_shape = (3,)
    return {
        "plain": (seq, {"torchscript": "cannot map the TorchScript module Sequential to the paper's encoders, fusion "
                                       "and decoders: it has no submodule encoders, fusion, decoders",
                        "torch.export": "not in encoders.<i>, fusion or decoders.<j>"}),
        "own-fusion": (Own(), "the fusion (fusion) is Mean, not one of lipbound's fusions"),
        "look-alike": (MultimodalAutoencoder(*parts(SumFusion([2, 2])), latent_dims=[2, 2]),
                       "the fusion (fusion) is named SumFusion but computes something else than lipbound's SumFusion"),
        "forward": (Shifted(*parts(SumFusion.__mro__[1]([2, 2])), latent_dims=[2, 2]),
                    {"torchscript": "its forward runs aten::add outside its encoders, fusion and decoders",
                     "torch.export": "outside any submodule"}),
    }


@pytest.mark.parametrize("fmt, filename", FORMATS)
@pytest.mark.parametrize("case", ["plain", "own-fusion", "look-alike", "forward"])
@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
def test_refuses_a_file_it_cannot_map(tmp_path, capsys, fmt, filename, case):
    model, message = _models_lipbound_cannot_map()[case]
    message = message[fmt] if isinstance(message, dict) else message
    if case == "plain":
        xs = torch.randn(3, 3)
        if fmt == "torchscript":
            torch.jit.save(torch.jit.script(model), str(tmp_path / filename))
        else:
            torch.export.save(torch.export.export(model, (xs,)), str(tmp_path / filename))
        path = str(tmp_path / filename)
    else:
        path = _save(model, tmp_path / filename, fmt)
    assert cli.main(["verify", "--no-report", "--model", path, "--claim", "lemma-3.1"]) == 2
    err = capsys.readouterr().err
    assert message in " ".join(err.split()), err
    assert "Traceback" not in err and err.count("\n") == 1


def test_refuses_files_that_are_not_models(tmp_path, capsys):
    from lipbound.zoo import build

    good = _save(build("sum-tanh"), tmp_path / "good.pt", "torchscript")
    data = open(good, "rb").read()
    cases = {
        "noise.pt": (b"\x00not a model" * 10, "not a zip archive"),
        "truncated.pt": (data[: len(data) // 2], "not a zip archive"),
        "model.txt": (data, "not a model file lipbound reads (expected .pt, .pth, .ts for TorchScript or .pt2"),
        "model.pt2": (data, "a .pt2 file that is not a torch.export archive"),
        "empty.pt": (b"", "the file is empty"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
    torch.save(build("sum-tanh").state_dict(), tmp_path / "weights.pt")
    cases["weights.pt"] = (None, "but a torch.save pickle: lipbound does not unpickle")
    (tmp_path / "model.py").write_text("x = 1\n")
    cases["model.py"] = (None, "a Python file; name the function that returns the model")
    for name, (_, message) in cases.items():
        assert cli.main(["verify", "--no-report", "--model", str(tmp_path / name), "--claim", "lemma-3.1"]) == 2, name
        err = capsys.readouterr().err
        assert message in " ".join(err.split()), (name, err)
        assert "Traceback" not in err and err.count("\n") == 1, err


@pytest.mark.parametrize("extra, named", [(["--zoo", "small"], "--zoo/--no-zoo does not apply with --model"),
                                          (["--no-zoo"], "--zoo/--no-zoo does not apply with --model"),
                                          (["--examples", "5"], "--examples does not apply with --model"),
                                          (["--results", "tiny", "--require-data"],
                                           "--results, --require-data do not apply with --model")])
def test_refuses_options_that_do_not_apply_to_a_model(tmp_path, capsys, extra, named):
    from lipbound.zoo import build

    path = _save(build("sum-tanh"), tmp_path / "model.pt2", "torch.export")
    assert cli.main(["verify", "--no-report", "--model", path, "--claim", "lemma-3.1", *extra]) == 2
    err = capsys.readouterr().err
    assert named in err and err.count("\n") == 1, err


def test_exported_model_with_its_data(tmp_path, capsys):
    """--data folder:PATH gives an exported model its inputs; shapes must fit the program's."""
    from lipbound.zoo import build

    path = _save(build("concat-relu"), tmp_path / "model.pt2", "torch.export")
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    np.save(data / "a.npy", rng.standard_normal((8, 6)).astype(np.float32))
    np.save(data / "b.npy", rng.standard_normal((8, 10)).astype(np.float32))
    code, rows, err = _verify(capsys, "--model", path, "--data", f"folder:{data}", "--claim", "lemma-3.3")
    assert code == 0, err
    assert rows[("lemma-3.3", "formula")]["status"] == "holds"
    assert f"rows of the data folder {data}" in rows[("lemma-3.3", "formula")]["method"]
    np.save(data / "b.npy", rng.standard_normal((8, 7)).astype(np.float32))
    assert cli.main(["verify", "--no-report", "--model", path, "--data", f"folder:{data}", "--claim", "lemma-3.3"]) == 2
    assert "the exported program takes [(6,), (10,)]" in capsys.readouterr().err


@pytest.mark.parametrize("fmt, filename", FORMATS)
@pytest.mark.parametrize("part, message", [("encoders.0", "encoders.0 of the file and its rebuilt chain differ"),
                                           ("fusion", "the fusion of the file and its rebuilt fusion differ"),
                                           ("decoders.1", "decoders.1 of the file and its rebuilt chain differ")])
def test_the_equivalence_check_can_fail(tmp_path, capsys, monkeypatch, fmt, filename, part, message):
    """A rebuilt model that differs from the file (here: one weight of one part moved by 1e-6 of its
    size) is refused, naming the part: the claims would otherwise be about another model."""
    from lipbound.bounds import _exported
    from lipbound.zoo import build

    path = _save(build("attention-tanh"), tmp_path / filename, fmt)
    assemble = _exported._assemble

    def moved(*args, **kwargs):
        model = assemble(*args, **kwargs)
        p = next(model.get_submodule(part).parameters())
        with torch.no_grad():
            p.view(-1)[0] += 1e-6 * max(float(p.abs().max()), 1.0)
        return model

    monkeypatch.setattr(_exported, "_assemble", moved)
    assert cli.main(["verify", "--no-report", "--model", path, "--claim", "lemma-3.1"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_exported_conv_model_gives_the_factorys_rows(tmp_path, capsys):
    """The convolutional zoo model: exported, it gives the very rows its factory gives (the rebuilt
    model is the model); traced, its convolutions are not read (their hyperparameters are not kept),
    and the refusal says to export it."""
    from lipbound.zoo import build

    factory = _factory(tmp_path, 'from lipbound.zoo import build\ndef m():\n    return build("conv-sum-relu")\n') + ":m"
    claims = ["--claim", "lemma-3.1", "--claim", "lemma-3.2", "--claim", "eq-3"]
    path = _save(build("conv-sum-relu"), tmp_path / "conv.pt2", "torch.export")
    code, rows, err = _verify(capsys, "--model", path, *claims)
    assert code == 0, err
    code, want, err = _verify(capsys, "--model", factory, *claims)
    assert code == 0, err
    keys = ("status", "cases", "tightest_ratio", "counterexample")
    assert {k: [r[f] for f in keys] for k, r in rows.items()} == {k: [r[f] for f in keys] for k, r in want.items()}
    assert rows[("eq-3", "formula")]["status"] == "holds"
    traced = _save(build("conv-sum-relu"), tmp_path / "conv.pt", "torchscript")
    assert cli.main(["verify", "--no-report", "--model", traced, "--claim", "lemma-3.1"]) == 2
    err = capsys.readouterr().err
    assert "a traced TorchScript module named Conv2d) is not read from traced files" in err
    assert "export the model with torch.export (.pt2) instead" in err


@pytest.mark.parametrize("fmt, filename", FORMATS)
def test_the_files_module_is_checked_at_the_claims_inputs(tmp_path, fmt, filename):
    """The user's own loaded module is evaluated at the inputs the claims use (padded to an exported
    program's batch size) and must give the rebuilt model's outputs; a model that differs is refused."""
    import copy

    from lipbound.bounds._exported import load_file
    from lipbound.claims._user_model import ModelMappingError
    from lipbound.zoo import build

    path = _save(build("attention-tanh"), tmp_path / filename, fmt, batch=3)
    got = load_file(tmp_path / filename, path)
    mapped = copy.deepcopy(got.model).double()
    xs = [torch.randn(5, 6, dtype=torch.float64), torch.randn(5, 10, dtype=torch.float64)]
    assert got.check_at(xs, mapped, path) == 5
    with torch.no_grad():
        mapped.decoders[1][0].bias[0] += 1e-7
    with pytest.raises(ModelMappingError, match="at the inputs the claims use, output 1 of the file's module differs"):
        got.check_at(xs, mapped, path)


@pytest.mark.parametrize("fmt, filename, message", [
    ("torchscript", "model.pt", "encoders.0 cannot take inputs of shape (7,) (RuntimeError: mat1 and mat2 shapes cannot"),
    ("torch.export", "model.pt2", "the exported program takes inputs of shapes [(6,), (10,)] (unbatched); "
                                  "--input-shape says [(7,), (10,)]")])
def test_input_shape_must_fit_a_file(tmp_path, capsys, fmt, filename, message):
    from lipbound.zoo import build

    path = _save(build("sum-tanh"), tmp_path / filename, fmt)
    assert cli.main(["verify", "--no-report", "--model", path, "--input-shape", "7", "--input-shape", "10",
                     "--claim", "eq-3"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


class _MyAutoencoder(torch.nn.Module):
    """A model the user defines (not lipbound's class): encoders, one of lipbound's fusions, decoders."""

    def __init__(self):
        from torch import nn

        from lipbound.models import AttentionFusion

        super().__init__()
        torch.manual_seed(0)
        self.encoders = nn.ModuleList([nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)),
                                       nn.Sequential(nn.Linear(5, 3))])
        self.fusion = AttentionFusion([2, 3], proj_dim=2)
        self.decoders = nn.ModuleList([nn.Sequential(nn.Linear(5, 3)),
                                       nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 5))])
        for e, d in zip(self.encoders, (3, 5)):
            e.in_shape = (d,)

    def forward(self, xs):
        z = self.fusion([e(x) for e, x in zip(self.encoders, xs)])
        return [d(z) for d in self.decoders]


class _Scriptable(torch.nn.Module):
    """A scriptable model of the user's with a fusion of its own."""

    def __init__(self):
        super().__init__()
        self.encoders = torch.nn.ModuleList([torch.nn.Linear(3, 2), torch.nn.Linear(4, 2)])
        self.fusion = Mean()
        self.decoders = torch.nn.ModuleList([torch.nn.Linear(2, 3), torch.nn.Linear(2, 4)])

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        z = self.fusion([self.encoders[0](xs[0]), self.encoders[1](xs[1])])
        return [self.decoders[0](z), self.decoders[1](z)]


@pytest.mark.parametrize("fmt, filename", FORMATS)
def test_a_saved_model_the_user_defines(tmp_path, capsys, fmt, filename):
    path = _save(_MyAutoencoder(), tmp_path / filename, fmt)
    code, rows, err = _verify(capsys, "--model", path, "--claim", "lemma-4.1", "--claim", "lemma-3.2")
    assert code == 0, err
    assert rows[("lemma-4.1", "blocks")]["status"] == "holds" and rows[("lemma-3.2", "formula")]["status"] == "holds"
    weights = [w.detach().double() for w in _MyAutoencoder().fusion.weights]
    self_block = rows[("lemma-4.1", "paper-self-block")]  # refuted on the model's own attention weights
    assert self_block["status"] == "refuted"
    assert np.allclose(np.array(self_block["counterexample"]["weights"][0]), weights[0].numpy())


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
def test_a_scripted_model_with_its_own_fusion_is_refused(tmp_path, capsys):
    path = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(_Scriptable()), str(path))
    assert cli.main(["verify", "--no-report", "--model", str(path), "--claim", "lemma-3.1"]) == 2
    err = capsys.readouterr().err
    assert "the fusion (fusion) is Mean, not one of lipbound's fusions" in err and err.count("\n") == 1, err
