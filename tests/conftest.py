"""Shared test configuration: hypothesis profiles, the gpu marker, and the zoo cache location.

Hypothesis profiles (choose with HYPOTHESIS_PROFILE; `make test` uses `ci`):

* ``dev``: random exploration, 25 examples per property, no deadline.
* ``ci``: ``derandomize=True`` (the same examples on every run, so CI is reproducible), 25
  examples, ``deadline=None`` (timing is not a property; no wall-clock limits in unit tests).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]

settings.register_profile(
    "dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", max_examples=25, deadline=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

# trained zoo models are cached inside the checkout (build/ is git-ignored) unless told otherwise
os.environ.setdefault("LIPBOUND_CACHE", str(ROOT / "build" / "cache"))


def _claim_of_test_file() -> dict[str, str]:
    from lipbound.claims import CLAIMS

    return {Path(c.statement.test_file).name: c.id for c in CLAIMS.values()}


def pytest_collection_modifyitems(config, items):
    cuda = torch.cuda.is_available()
    skip = pytest.mark.skip(reason="needs CUDA (torch.cuda.is_available() is False)")
    by_file = _claim_of_test_file()
    for item in items:
        if not cuda and "gpu" in item.keywords:
            item.add_marker(skip)
        # every test in a claim's test file answers to `pytest -k <claim id>`
        claim = by_file.get(Path(str(item.fspath)).name)
        if claim is not None:
            item.extra_keyword_matches.add(claim)


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a module's tests with one torch thread (tiny tensors: a second thread only adds
    synchronisation, and contention on a shared 2-core machine); restores the count afterwards."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """The docs site built once per test session (``mkdocs build --strict``, walk-throughs executed)
    into a temporary folder; the docs tests (offline rendering, walk-throughs) read it."""
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "NO_MKDOCS_2_WARNING": "1"}
    got = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert got.returncode == 0, got.stderr[-4000:]
    return out
