"""The pytest plugin (entry point ``pytest11``: ``lipbound = lipbound.testing._plugin``).

Options (group ``lipbound``):

* ``--lipbound-method METHOD``: the default method of the assertions;
* ``--lipbound-time-limit SECONDS``: the time limit of each SDP solve;
* ``--lipbound-device DEVICE``: where brackets are computed (``cpu``: the engine's device);
* ``--lipbound-json PATH``: write every bracket computed in the run as JSON (atomically; a file
  that exists must be a ``lipbound-pytest`` document, lipbound never overwrites anything else).

At the end of the run the terminal summary lists every check: test, model, property, bracket and
outcome. The JSON format is documented in ``docs/testing.md``.
"""

from __future__ import annotations

import json
import math
import platform
import time
from pathlib import Path

import pytest

from . import _assert

#: the ``kind`` of the JSON summary document
KIND = "lipbound-pytest"


def pytest_addoption(parser) -> None:
    from ..bounds import METHODS

    group = parser.getgroup("lipbound", "Lipschitz checks (lipbound.testing)")
    group.addoption("--lipbound-method", default=None, choices=list(METHODS), metavar="METHOD",
                    help=f"default method of the lipbound assertions (one of {', '.join(METHODS)}; default: "
                         "every applicable one)")
    group.addoption("--lipbound-time-limit", default=None, type=_positive, metavar="SECONDS",
                    help="time limit of each SDP solve of the lipbound assertions (default: the engine's)")
    group.addoption("--lipbound-device", default="cpu", metavar="DEVICE",
                    help="device the brackets are computed on (default cpu, the engine's device; a model on "
                         "another device is bounded on a float64 CPU copy)")
    group.addoption("--lipbound-json", default=None, metavar="PATH",
                    help="write every bracket computed in the run to PATH as JSON (a lipbound-pytest document)")


def _positive(text: str) -> float:
    import argparse

    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"{text!r}: the time limit must be a positive number of seconds")
    return v


def check_json_path(path: str) -> Path:
    """Raise :class:`pytest.UsageError` unless ``path`` can be written and, if it exists, is a
    ``lipbound-pytest`` JSON document (lipbound never overwrites a file it did not write)."""
    from .._io import check_output_file
    from ..errors import LipboundError

    try:
        p = check_output_file(path, "--lipbound-json")
    except LipboundError as exc:
        raise pytest.UsageError(str(exc)) from None
    if p.exists():
        try:
            ours = json.loads(p.read_text()).get("kind") == KIND
        except (OSError, ValueError, AttributeError):
            ours = False
        if not ours:
            raise pytest.UsageError(f"--lipbound-json {path}: the file exists and is not a {KIND} document; lipbound "
                                    "never overwrites such a file: choose another path or remove it yourself")
    return p


def pytest_configure(config) -> None:
    import torch

    device = config.getoption("lipbound_device")
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError) as exc:
        raise pytest.UsageError(f"--lipbound-device {device!r}: not a torch device ({exc})") from None
    if kind != "cpu":
        raise pytest.UsageError(f"--lipbound-device {device!r}: lipbound computes brackets on the CPU (a model on "
                                "another device is bounded on a float64 CPU copy); use cpu")
    path = config.getoption("lipbound_json")
    config._lipbound_json = check_json_path(path) if path else None
    config._lipbound_saved = _assert.DEFAULTS
    _assert.DEFAULTS = _assert.Defaults(config.getoption("lipbound_method"),
                                        config.getoption("lipbound_time_limit"), device)
    config._lipbound_records = []
    _assert.SESSIONS.append(config._lipbound_records)
    config.addinivalue_line("markers", "lipbound: a test that checks Lipschitz bounds with lipbound.testing")


def pytest_unconfigure(config) -> None:
    mine = getattr(config, "_lipbound_records", None)
    if mine is not None and _assert.SESSIONS and _assert.SESSIONS[-1] is mine:
        _assert.SESSIONS.pop()
    saved = getattr(config, "_lipbound_saved", None)
    if saved is not None:
        _assert.DEFAULTS = saved


def _records(config) -> list[_assert.Record]:
    return getattr(config, "_lipbound_records", [])


def document(config) -> dict:
    """The JSON summary of the run (format in ``docs/testing.md``)."""
    import torch

    from .._version import __version__

    recs = _records(config)
    return {
        "kind": KIND,
        "checks": [r.as_dict() for r in recs],
        "passed": sum(r.passed for r in recs),
        "failed": sum(not r.passed and r.refused is None for r in recs),
        "refused": sum(r.refused is not None for r in recs),
        "options": {"method": _assert.DEFAULTS.method, "time_limit": _assert.DEFAULTS.time_limit,
                    "device": _assert.DEFAULTS.device},
        "meta": {"lipbound": __version__, "torch": torch.__version__, "python": platform.python_version(),
                 "command": "pytest " + " ".join(config.invocation_params.args),
                 "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
    }


def pytest_sessionfinish(session, exitstatus) -> None:
    from .._io import atomic_write_json

    config = session.config
    path = getattr(config, "_lipbound_json", None)
    if path is not None and not hasattr(config, "workerinput"):  # pytest-xdist workers do not write
        atomic_write_json(path, document(config))


def _fmt(v: float) -> str:
    return f"{v:.6g}" if math.isfinite(v) else "inf"


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    recs = _records(config)
    if not recs:
        return
    tr = terminalreporter
    tr.section("lipbound brackets")
    for r in recs:
        op = "<=" if r.check.startswith("at_most") else ">="
        lip = f"Lip on {r.domain}" if r.check == "at_most_local" else "Lip"
        if r.refused is not None:
            outcome, br = "REFUSED", r.refused.splitlines()[0][:160]
        else:
            outcome = "passed" if r.passed else "FAILED"
            br = f"{_fmt(r.best_lower)} <= Lip <= {_fmt(r.best_upper)}"
        tr.write_line(f"{outcome:8} {r.test or '<outside a test>'}: {r.model} {lip} {op} {r.bound:g}: {br}")
    n_ref = sum(r.refused is not None for r in recs)
    n_pass = sum(r.passed for r in recs)
    tr.write_line(f"{len(recs)} lipbound checks: {n_pass} passed, {len(recs) - n_pass - n_ref} failed, "
                  f"{n_ref} refused")
    path = getattr(config, "_lipbound_json", None)
    if path is not None:
        tr.write_line(f"lipbound brackets written to {path}")
