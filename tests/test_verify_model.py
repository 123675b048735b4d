"""``lipbound verify --model``: the paper's claims on the user's own model (docs/testing.md, "The
paper's claims on your model")."""

from __future__ import annotations

import json
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


def test_refuses_saved_files_and_stray_inputs(tmp_path, capsys):
    path = tmp_path / "model.pt"
    torch.jit.save(torch.jit.script(torch.nn.Sequential(torch.nn.Linear(3, 2))), str(path))
    assert cli.main(["verify", "--no-report", "--model", str(path), "--claim", "eq-3"]) == 2
    assert "give a factory instead" in capsys.readouterr().err
    assert cli.main(["verify", "--no-report", "--data", f"folder:{tmp_path}", "--claim", "eq-3"]) == 2
    assert "give the inputs of --model" in capsys.readouterr().err
    assert cli.main(["verify", "--no-report", "--model", "no_such_module_xyz:build", "--claim", "eq-3"]) == 2
    assert "importing no_such_module_xyz raised ModuleNotFoundError" in capsys.readouterr().err
