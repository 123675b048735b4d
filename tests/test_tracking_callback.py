"""lipbound.tracking.BracketCallback: the brackets it records, and its schedule against a fake clock
(no wall-clock limits: the budget logic is checked with simulated seconds)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lipbound.tracking import BracketCallback


class FakeClock:
    """Seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Sequential(nn.Linear(6, 3), nn.Tanh(), nn.Linear(3, 2)))


def _fake_tracking(cb: BracketCallback, clock: FakeClock, cost: float) -> list[int]:
    """Replace the bracket computation by one that takes ``cost`` simulated seconds; returns the
    list the tracked steps are appended to."""
    steps: list[int] = []

    def rows():
        clock.t += cost
        steps.append(cb.steps)
        return [{"step": cb.steps, "submodule": "", "method": "fake", "kind": "lower", "value": 1.0}]

    cb._rows = rows
    return steps


def test_records_certified_and_lower_brackets_of_the_chosen_submodules():
    net = _net()
    clock = FakeClock()
    cb = BracketCallback(net, torch.randn(16, 4), submodules=["", "2"], every=3, budget=None, clock=clock)
    before = [p.detach().clone() for p in net.parameters()]
    for _ in range(7):
        clock.t += 1.0
        cb.step()
    assert sorted({r["step"] for r in cb.records}) == [3, 6]
    for step in (3, 6):
        for sub in ("", "2"):
            rows = {r["kind"]: r for r in cb.records if r["step"] == step and r["submodule"] == sub}
            assert rows["certified-upper"]["method"] == "spectral-product"
            assert rows["lower"]["method"] == "power-iteration"
            assert 0 < rows["lower"]["value"] <= rows["certified-upper"]["value"]
    # the submodule's bracket is within the whole model's certified bound times the first layers' ...
    whole = next(r for r in cb.records if r["submodule"] == "" and r["kind"] == "certified-upper")["value"]
    first = torch.linalg.matrix_norm(net[0].weight.double(), ord=2).item()
    sub = next(r for r in cb.records if r["submodule"] == "2" and r["kind"] == "certified-upper")["value"]
    assert whole == pytest.approx(first * sub, rel=1e-9)
    # ... and the training model is left as it was (weights, dtype, mode, no hooks)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))
    assert net.training and next(net.parameters()).dtype == torch.float32
    assert all(not m._forward_pre_hooks for m in net.modules())


def test_a_submodule_lipbound_refuses_gets_a_refused_row():
    net = nn.Sequential(nn.Linear(3, 3), nn.Softmax(dim=-1), nn.Linear(3, 2))
    cb = BracketCallback(net, torch.randn(8, 3), submodules=["", "2"], every=1, budget=None, clock=FakeClock())
    cb.step()
    refused = [r for r in cb.records if r["kind"] == "refused"]
    assert [r["submodule"] for r in refused] == [""]
    assert "Softmax" in refused[0]["reason"]
    assert {r["kind"] for r in cb.records if r["submodule"] == "2"} == {"certified-upper", "lower"}
    with pytest.raises(AttributeError):
        BracketCallback(net, torch.randn(8, 3), submodules=["nope"])


def test_a_multimodal_autoencoder_is_tracked_by_the_harness_code():
    from lipbound.models import MLPDecoder, MLPEncoder, MultimodalAutoencoder

    torch.manual_seed(0)
    m = MultimodalAutoencoder([MLPEncoder(3, 2, hidden=(4,)), MLPEncoder(2, 2, hidden=(4,))], "sum",
                              [MLPDecoder(2, 3, hidden=(4,)), MLPDecoder(2, 2, hidden=(4,))])
    cb = BracketCallback(m, [torch.randn(8, 3), torch.randn(8, 2)], every=1, budget=None, clock=FakeClock())
    cb.step()
    assert {r["submodule"] for r in cb.records} == {"encoder:m0", "encoder:m1", "decoder:m0", "decoder:m1",
                                                     "fusion", "model"}


@pytest.mark.parametrize("cost", [0.5, 3.0, 40.0])
def test_tracking_stays_within_its_budget_and_defers_what_does_not_fit(cost):
    clock = FakeClock()
    cb = BracketCallback(nn.Linear(2, 2), torch.randn(4, 2), every=1, budget=0.15, clock=clock)
    tracked = _fake_tracking(cb, clock, cost)
    for _ in range(2000):
        clock.t += 1.0  # one second of training per step
        if cb.step() is not None and cb.trackings > 1:
            # once the cost of a tracking is known (after the first), no tracking breaks the budget
            assert cb.sched["track_s"] <= 0.15 * cb.sched["train_s"] + 1e-9
    assert cb.sched["train_s"] == pytest.approx(2000.0)
    assert cb.overhead <= 0.15
    assert len(tracked) == cb.trackings > 0 and cb.deferred == 2000 - cb.trackings
    # nearly all of the budget is used: trackings are deferred, not dropped
    assert cb.overhead >= 0.15 - 2 * cost / 2000
    # the first tracking waits until two steps' worth (its assumed cost) fits: step 14 at 15%
    assert tracked[0] == 14


def test_every_n_steps_without_a_budget_and_the_final_tracking():
    clock = FakeClock()
    cb = BracketCallback(nn.Linear(2, 2), torch.randn(4, 2), every=4, budget=None, clock=clock)
    tracked = _fake_tracking(cb, clock, 100.0)  # expensive: no budget, tracked anyway
    for _ in range(10):
        clock.t += 1.0
        cb.step()
    assert tracked == [4, 8] and cb.deferred == 0
    assert cb.close() is None  # something was tracked already

    cb = BracketCallback(nn.Linear(2, 2), torch.randn(4, 2), every=100, budget=0.15, clock=clock)
    tracked = _fake_tracking(cb, clock, 1.0)
    for _ in range(10):
        clock.t += 1.0
        cb.step()
    assert tracked == []
    assert cb.close() is not None and tracked == [10]  # nothing tracked: once at the end


def test_a_due_tracking_over_budget_is_deferred_to_the_first_step_that_fits():
    clock = FakeClock()
    cb = BracketCallback(nn.Linear(2, 2), torch.randn(4, 2), every=10, budget=0.5, clock=clock)
    tracked = _fake_tracking(cb, clock, 8.0)
    for _ in range(60):
        clock.t += 1.0
        cb.step()
    # step 10: 2 steps' assumed cost fits 5 s; then each costs 8 s: 16 <= 0.5 * 20 fails at 20,
    # fits at step 32 (pending since 20), next due 40 fits at 48 (24 <= 24), next due at 50 waits for 64
    assert tracked == [10, 32, 48]
    assert cb.deferred == (32 - 20) + (48 - 40) + (60 - 50) + 1


def test_arguments_are_checked():
    lin = nn.Linear(2, 2)
    x = torch.randn(4, 2)
    with pytest.raises(ValueError, match="every"):
        BracketCallback(lin, x, every=-1)
    with pytest.raises(ValueError, match="budget"):
        BracketCallback(lin, x, budget=0)
    with pytest.raises(ValueError, match="give a budget"):
        BracketCallback(lin, x, every=0, budget=None)
    with pytest.raises(ValueError, match="unknown method"):
        BracketCallback(lin, x, methods=["exact"])


def test_the_harness_schedule_is_the_shared_one():
    from lipbound.experiments import RunConfig
    from lipbound.experiments._harness import _should_track

    cfg = RunConfig("synthetic", "sum", epochs=10, track_every=0)
    fresh = {"train_s": 10.0, "track_s": 0.0, "last_track_s": 0.0}
    assert not _should_track(cfg, 5, fresh)  # 2 epochs' worth (4 s) > 15% of 10 s
    assert _should_track(cfg, 10, fresh)  # the last epoch, nothing tracked yet
    assert _should_track(cfg, 5, {"train_s": 100.0, "track_s": 5.0, "last_track_s": 5.0})
    assert not _should_track(cfg, 5, {"train_s": 100.0, "track_s": 12.0, "last_track_s": 5.0})
    assert _should_track(cfg.with_(track_every=5), 5, fresh) and not _should_track(cfg.with_(track_every=-1), 10, fresh)


def test_lightning_callback():
    pytest.importorskip("lightning")
    from lipbound.tracking import lightning_callback

    cb = lightning_callback(torch.randn(4, 2), every=1, budget=None)
    assert hasattr(cb, "on_train_batch_end")
