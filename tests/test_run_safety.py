"""Results folders are safe to rerun (issue 12): a stored run of another configuration is an error before
any work (never "already finished", never silently retrained), the top-level files hold every finished
run and meta.json every invocation, runs are locked while trained and pool workers die with their
parent, checkpoints load with weights_only=True and a corrupt one is a clear error, --out and numeric
arguments are checked before any work, and ``train --dataset folder:PATH`` works.

Seeds: every run fixes its seeds through RunConfig/RunSpec; datasets are the seeded synthetic set, a
seeded folder of random arrays, and the iCub data (tests marked by ``needs_data``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from lipbound.cli import main
from lipbound.experiments import plan, read_jsonl, run_sweep, train_run
from lipbound.experiments._safety import (
    ConfigMismatchError,
    CorruptCheckpointError,
    RunLock,
    RunLockedError,
    is_locked,
)

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def fast(configs):
    """No detection and no tracking: the tests here are about files, not numbers."""
    return [c.with_(detect=False, track_every=-1) for c in configs]


def sweep(fusions=("sum",), trials=2, epochs=1):
    return fast(plan("tiny", datasets=["synthetic"], fusions=list(fusions), trials=trials, epochs=epochs,
                     ablation=False))


def snapshot(folder: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every file under ``folder``: modification time and, for small files, the bytes."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            data = p.read_bytes() if p.stat().st_size < 1 << 16 else None
            out[str(p.relative_to(folder))] = (p.stat().st_mtime_ns, data)
    return out


# ------------------------------------------------------------------ 1. changed configuration
def test_sweep_with_another_configuration_is_refused_before_any_work(tmp_path):
    out = tmp_path / "res"
    run_sweep(out, sweep(epochs=1), preset="tiny", command="lipbound reproduce A", progress=False, claims=False)
    before = snapshot(out)
    with pytest.raises(ConfigMismatchError) as exc:
        run_sweep(out, sweep(epochs=2), preset="tiny", command="lipbound reproduce B", progress=False, claims=False)
    msg = str(exc.value)
    for t in (0, 1):  # every planned run is checked and listed
        assert f"runs/synthetic__sum__lamdef__t{t}: finished; epochs 1 there, 2 now" in msg
    assert "another --out" in msg and "delete" in msg
    assert snapshot(out) == before  # meta.json keeps its command; nothing trained, nothing written


def test_half_finished_run_with_another_configuration_is_refused(tmp_path):
    out = tmp_path / "res"
    cfg2, = sweep(trials=1, epochs=2)
    train_run(cfg2, out / "runs" / cfg2.run_id, stop_after=1)  # a checkpoint of epoch 1 of a 2-epoch run
    before = snapshot(out)
    with pytest.raises(ConfigMismatchError, match=r"half-finished; epochs 2 there, 3 now"):
        run_sweep(out, sweep(trials=1, epochs=3), preset="tiny", progress=False, claims=False)
    assert snapshot(out) == before and not (out / "meta.json").exists()


def test_cli_train_with_another_configuration_exits_2_and_keeps_meta(tmp_path, capsys):
    out = tmp_path / "res"
    argv = ["train", "--dataset", "synthetic", "--fusion", "sum", "--track-every", "-1", "--no-progress",
            "--out", str(out)]
    assert main(argv + ["--epochs", "1"]) == 0
    meta = (out / "meta.json").read_bytes()
    capsys.readouterr()
    assert main(argv + ["--epochs", "2"]) == 2
    err = capsys.readouterr().err
    assert "lipbound: error:" in err and "epochs 1 there, 2 now" in err and "Traceback" not in err
    assert (out / "meta.json").read_bytes() == meta


def test_aggregates_hold_every_finished_run_and_meta_every_invocation(tmp_path):
    out = tmp_path / "res"
    first = sweep(fusions=("sum",), trials=2)
    run_sweep(out, first, preset="tiny", command="lipbound reproduce A", progress=False, claims=False)
    other = sweep(fusions=("concat",), trials=1)
    s = run_sweep(out, other, preset="train", command="lipbound train B", progress=False, claims=False)
    assert s.trained == [other[0].run_id] and not s.skipped
    every = {c.run_id for c in first + other}
    assert {r["run_id"] for r in read_jsonl(out / "records.jsonl")} == every
    with np.load(out / "reconstructions.npz") as z:
        assert {"synthetic__sum__m0__input", "synthetic__concat__m0__input"} <= set(z.files)
    meta = json.loads((out / "meta.json").read_text())
    assert [i["command"] for i in meta["invocations"]] == ["lipbound reproduce A", "lipbound train B"]
    assert meta["command"] == "lipbound reproduce A" and meta["preset"] == "tiny"
    assert set(meta["runs"]) == every and meta["status"] == "complete" and meta["finished_runs"] == 3
    assert meta["fusions"] == ["sum", "concat"]


def test_unreadable_done_json_is_a_clear_error_before_any_work(tmp_path):
    out = tmp_path / "res"
    a, b = sweep(trials=2)
    run_sweep(out, [a], preset="tiny", progress=False, claims=False)
    (out / "runs" / a.run_id / "done.json").write_text("{")
    before = snapshot(out)
    for configs in ([a], [b]):  # the run itself, or another run while the aggregates would read it
        with pytest.raises(CorruptCheckpointError, match=rf"runs/{a.run_id}/done.json is corrupt or unreadable.*"
                                                         "delete the run folder"):
            run_sweep(out, configs, preset="tiny", progress=False, claims=False)
        assert snapshot(out) == before


# ------------------------------------------------------------------ 2. mvae: another spec
try:
    from lipbound.mvae import DataNotFoundError, RunSpec, VAEConfig, data_dir, load_icub, train_all
    from lipbound.mvae import train_run as mvae_train_run

    data_dir()
    HAVE_DATA = True
except DataNotFoundError:
    HAVE_DATA = False
needs_data = pytest.mark.skipif(not HAVE_DATA, reason="iCub data not found (see docs/mvae.md)")


@pytest.fixture(scope="module")
def icub():
    if not HAVE_DATA:
        pytest.skip("iCub data not found")
    return load_icub()


def tiny_vae():
    from lipbound.mvae import MODALITIES

    return VAEConfig(enc_hidden={m: (6, 3) for m in MODALITIES}, enc_shared=(12,), latent=4, dec_shared=(12, 10),
                     dec_slices={m: 2 for m in MODALITIES}, dec_hidden={m: (5, 3) for m in MODALITIES},
                     batch_size=2048, lr=3e-3, drop_last=False)


@needs_data
def test_mvae_finished_run_with_another_spec_is_refused_for_all_runs_first(tmp_path, icub):
    out = tmp_path / "mvae"
    mvae_train_run(RunSpec("const-0", 0, 2, tiny_vae()), out, icub, brackets=False)
    before = snapshot(out)
    with pytest.raises(ConfigMismatchError) as exc:
        train_all(["const-1", "const-0"], [0], 1, out, config=tiny_vae(), data=icub, brackets=False)
    msg = str(exc.value)
    assert str(out) in msg and "runs/const-0__seed0: finished; epochs 2 there, 1 now" in msg
    assert "another --out" in msg and "delete" in msg
    assert snapshot(out) == before  # const-1 (checked first) was not trained either
    # a run written by another lipbound version is also another spec, and the message says so
    done = out / "runs" / "const-0__seed0" / "done.json"
    d = json.loads(done.read_text())
    d["spec"]["lipbound"] = "0.0.1"
    done.write_text(json.dumps(d))
    with pytest.raises(ConfigMismatchError, match=r"written by lipbound 0\.0\.1, this is lipbound"):
        mvae_train_run(RunSpec("const-0", 0, 2, tiny_vae()), out, icub, brackets=False)


@needs_data
def test_mvae_cli_another_spec_exits_2(tmp_path, icub, capsys):
    out = tmp_path / "mvae"
    mvae_train_run(RunSpec("const-0", 0, 2, VAEConfig(batch_size=2048)), out, icub, brackets=False)
    before = snapshot(out)
    capsys.readouterr()
    assert main(["mvae", "train", "--schedule", "const-0", "--epochs", "1", "--seeds", "0", "--batch-size", "2048", "--lr", "5e-5",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "runs/const-0__seed0: finished; epochs 2 there, 1 now" in err and "another --out" in err
    assert snapshot(out) == before


# ------------------------------------------------------------------ 3. locks and pool workers
def test_locked_run_is_left_to_its_owner(tmp_path):
    out = tmp_path / "res"
    a, b = sweep(trials=2)
    with RunLock(out / "runs" / a.run_id):  # another process (here: another open file) is training run a
        with pytest.raises(RunLockedError, match="another process"):
            train_run(a, out / "runs" / a.run_id)
        s = run_sweep(out, [a, b], preset="tiny", progress=False, claims=False)
        assert s.running_elsewhere == [a.run_id] and s.trained == [b.run_id] and a.run_id not in s.skipped
    assert not (out / "runs" / a.run_id / "done.json").exists()
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "incomplete" and meta["missing_runs"] == [a.run_id]
    assert {r["run_id"] for r in read_jsonl(out / "records.jsonl")} == {b.run_id}


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        ppid = int(text.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(stat.parent.name))
    return kids


def _descendants(pid: int) -> set[int]:
    kids, out, todo = _children(), set(), [pid]
    while todo:
        for k in kids.get(todo.pop(), []):
            if k not in out:
                out.add(k)
                todo.append(k)
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait(cond, limit_s: float = 120.0) -> bool:
    """Poll ``cond`` until it holds (True) or ``limit_s`` passed (False): a bound against hanging, not a
    speed requirement."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the process tree from /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_killed_pooled_reproduce_leaves_no_worker_and_writes_nothing(tmp_path, sig):
    out = tmp_path / "res"
    cmd = [sys.executable, "-m", "lipbound", "reproduce", "--preset", "tiny", "--dataset", "synthetic",
           "--fusion", "sum", "--trials", "2", "--epochs", "100000", "--workers", "2", "--no-progress",
           "--out", str(out)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    workers: set[int] = set()
    try:
        assert _wait(lambda: proc.poll() is not None or any((out / "runs").glob("*/checkpoint.pt"))), \
            "no run started training"
        assert proc.poll() is None, proc.stderr.read()
        workers = _descendants(proc.pid)
        assert workers, "the pool has no worker processes"
        proc.send_signal(sig)
        assert _wait(lambda: proc.poll() is not None), "the parent did not exit"
        assert _wait(lambda: not any(_alive(p) for p in workers)), "a pool worker outlived its parent"
        err = proc.stderr.read()
        if sig == signal.SIGTERM:
            assert proc.returncode == 143 and "interrupted by SIGTERM" in err, err
        else:  # Ctrl-C, as everywhere in the CLI
            assert proc.returncode == 130 and "lipbound: interrupted" in err, err
        assert "Traceback" not in err
        files = snapshot(out)
        time.sleep(1.0)  # nothing may write into the folder any more
        assert snapshot(out) == files
        assert not [f for f in files if f.endswith(".tmp")]  # half-written files were removed
        assert not any(is_locked(d) for d in (out / "runs").iterdir())  # every run lock was released
        meta = json.loads((out / "meta.json").read_text())
        assert meta["status"] == "running"  # interrupted: not finalized, a rerun resumes
    finally:
        for p in workers | {proc.pid}:
            if _alive(p):
                os.kill(p, signal.SIGKILL)
        proc.wait()


# ------------------------------------------------------------------ 4. checkpoints
class _Marker:
    """Unpickling this object records that a checkpoint was fully unpickled (weights_only=False)."""

    loaded: list[int] = []

    def __setstate__(self, state):
        _Marker.loaded.append(1)


def _corrupt_variants(ckpt: Path, meta_key: str):
    """Garbage bytes, a truncated file, and a pickle that needs code execution (a class instance)."""
    import io

    good = ckpt.read_bytes()
    st = torch.load(ckpt, weights_only=True)
    st[meta_key] = _Marker()
    buf = io.BytesIO()
    torch.save(st, buf)
    yield "garbage", b"not a checkpoint at all"
    yield "truncated", good[: len(good) // 2]
    yield "object", buf.getvalue()


def test_experiment_checkpoint_is_weights_only_and_corrupt_one_is_a_clear_error(tmp_path, capsys):
    c, = sweep(trials=1, epochs=2)
    run = tmp_path / "res" / "runs" / c.run_id
    train_run(c, run, stop_after=1)
    ckpt = run / "checkpoint.pt"
    st = torch.load(ckpt, weights_only=True)
    assert json.loads(st["meta"])["config"] == c.to_dict()
    for name, data in _corrupt_variants(ckpt, "records"):
        ckpt.write_bytes(data)
        with pytest.raises(CorruptCheckpointError, match=r"checkpoint\.pt is corrupt or unreadable.*delete it to "
                                                         r"restart that run from epoch 0"):
            train_run(c, run)
        with pytest.raises(CorruptCheckpointError, match="delete it"):  # also before any work of a sweep
            run_sweep(tmp_path / "res", [c], progress=False, claims=False)
        assert ckpt.read_bytes() == data and not (run / "done.json").exists(), name
    assert _Marker.loaded == []
    capsys.readouterr()
    assert main(["reproduce", "--preset", "tiny", "--dataset", "synthetic", "--fusion", "sum", "--trials", "1",
                 "--epochs", "2", "--no-progress", "--out", str(tmp_path / "res")]) == 2
    err = capsys.readouterr().err
    assert "checkpoint.pt is corrupt or unreadable" in err and "Traceback" not in err


@needs_data
def test_mvae_checkpoint_is_weights_only_and_corrupt_one_is_a_clear_error(tmp_path, icub):
    spec = RunSpec("dyn-0", 0, 3, tiny_vae())

    class Stop(Exception):
        pass

    def stop(epoch, rec):
        if epoch == 1:
            raise Stop

    with pytest.raises(Stop):
        mvae_train_run(spec, tmp_path, icub, checkpoint_every=1, brackets=False, on_epoch=stop)
    ckpt = tmp_path / "runs" / spec.run_id / "checkpoint.pt"
    assert json.loads(torch.load(ckpt, weights_only=True)["meta"])["epoch"] == 1
    for name, data in _corrupt_variants(ckpt, "history"):
        ckpt.write_bytes(data)
        with pytest.raises(CorruptCheckpointError, match=r"checkpoint\.pt is corrupt or unreadable.*delete it to "
                                                         r"restart that run from epoch 0"):
            mvae_train_run(spec, tmp_path, icub, brackets=False)
        assert ckpt.read_bytes() == data and not (ckpt.parent / "done.json").exists(), name  # no silent restart
    assert _Marker.loaded == []


# ------------------------------------------------------------------ 5. --out checked first
def _out_cases(tmp_path: Path) -> list[tuple[Path, str]]:
    f = tmp_path / "a-file"
    f.write_text("a user's file\n")
    return [(f, "it is a file, not a folder"), (f / "sub", f"{f} is a file, not a folder")]


@pytest.mark.parametrize("command", [
    ["train", "--dataset", "synthetic", "--fusion", "sum", "--epochs", "1", "--no-progress"],
    ["reproduce", "--preset", "tiny", "--dataset", "synthetic", "--fusion", "sum", "--trials", "1", "--epochs", "1",
     "--no-progress"],
    pytest.param(["mvae", "train", "--schedule", "const-0", "--seeds", "0", "--epochs", "1", "--batch-size", "4096"],
                 marks=needs_data),
])
def test_out_that_cannot_be_a_folder_is_exit_2_before_any_work(tmp_path, capsys, command):
    for out, words in _out_cases(tmp_path):
        capsys.readouterr()
        assert main(command + ["--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert words in err and str(out) in err and "Traceback" not in err
        assert (tmp_path / "a-file").read_text() == "a user's file\n"


def test_results_folder_with_foreign_files_is_not_overwritten(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "records.jsonl").write_text('{"my": "data"}\n')
    assert main(["train", "--dataset", "synthetic", "--fusion", "sum", "--epochs", "1", "--no-progress",
                 "--out", str(out)]) == 2
    assert "not written by lipbound" in capsys.readouterr().err
    assert (out / "records.jsonl").read_text() == '{"my": "data"}\n' and not (out / "runs").exists()


# ------------------------------------------------------------------ 6. numbers checked when parsed
@pytest.mark.parametrize("argv", [
    ["train", "--dataset", "synthetic", "--fusion", "sum", "--seed", "-1"],
    ["train", "--dataset", "synthetic", "--fusion", "sum", "--epochs", "0"],
    ["train", "--dataset", "synthetic", "--fusion", "sum", "--lr", "0"],
    ["train", "--dataset", "synthetic", "--fusion", "sum", "--lr", "nan"],
    ["train", "--dataset", "synthetic", "--fusion", "attention", "--lam", "-1"],
    ["train", "--dataset", "synthetic", "--fusion", "sum", "--track-every", "-2"],
    ["reproduce", "--preset", "tiny", "--trials", "0"],
    ["reproduce", "--preset", "tiny", "--workers", "0"],
    ["reproduce", "--preset", "tiny", "--seed", "-3"],
    ["reproduce", "--preset", "tiny", "--epochs", "x"],
    ["mvae", "train", "--epochs", "-5"],
    ["mvae", "train", "--batch-size", "0"],
    ["mvae", "train", "--lr", "inf"],
])
def test_out_of_range_numbers_are_refused_when_parsed(tmp_path, capsys, argv):
    out = tmp_path / "never"
    with pytest.raises(SystemExit) as exc:
        main(argv + ["--out", str(out)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {argv[-2]}: must be" in err and "Traceback" not in err
    assert not out.exists()


# ------------------------------------------------------------------ 7. folder datasets
def test_train_on_a_dataset_folder(tmp_path, capsys):
    rng = np.random.default_rng(0)
    data = tmp_path / "my data__v1"
    data.mkdir()
    np.save(data / "joints.npy", rng.normal(size=(40, 5)).astype(np.float32))
    np.save(data / "force.npy", rng.normal(size=(40, 6, 2)).astype(np.float32))
    out = tmp_path / "res"
    assert main(["train", "--dataset", f"folder:{data}", "--fusion", "sum", "--epochs", "1", "--no-progress",
                 "--out", str(out)]) == 0
    runs = [p.name for p in (out / "runs").iterdir()]
    assert runs == ["folder-my-data_v1__sum__lamdef__t0"]
    assert (out / "runs" / runs[0] / "done.json").exists()
    recs = read_jsonl(out / "records.jsonl")
    assert {r["dataset"] for r in recs} == {"folder-my-data_v1"}
    assert {r["submodule"] for r in recs if r["metric"] == "test_loss"} >= {"modality:joints", "modality:force"}
    done = json.loads((out / "runs" / runs[0] / "done.json").read_text())
    assert done["config"]["dataset"] == f"folder:{data.resolve()}"
    capsys.readouterr()
    assert main(["train", "--dataset", f"folder:{tmp_path / 'missing'}", "--fusion", "sum", "--no-progress",
                 "--out", str(tmp_path / "res2")]) == 2
    err = capsys.readouterr().err
    assert "missing" in err and "does not exist" in err and not (tmp_path / "res2").exists()
