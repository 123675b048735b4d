"""Write one benchmark's section of ``benchmarks/RESULTS.md`` without touching the others.

Each benchmark script owns the text between ``<!-- begin:NAME -->`` and ``<!-- end:NAME -->``;
:func:`write_section` replaces it (or appends it) and writes the file atomically, so scripts run
in any order and a crashed run never leaves a half-written file.
"""

from __future__ import annotations

import platform
import re
import shlex
import sys
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADER = (
    "# Benchmark results\n\n"
    "Each section is written by the script it names, with the command that produced it; figures in a "
    "section come from one run, side by side on the same machine. Regenerate a section by rerunning "
    "its command.\n"
)


def command_line() -> str:
    """The command that ran this script, as a user would type it from the repository root."""
    import os

    root = Path(__file__).resolve().parent.parent
    argv = list(sys.argv)
    if argv and os.path.isabs(argv[0]):  # `python -m benchmarks.x` or an absolute script path
        try:
            argv[0] = str(Path(argv[0]).resolve().relative_to(root))
        except ValueError:
            argv[0] = Path(argv[0]).name
    return "python " + " ".join(shlex.quote(a) for a in argv)


def machine() -> str:
    """A one-line description of the machine (CPU count, platform, Python, torch)."""
    import os

    import torch

    return (f"{os.cpu_count()} CPU cores, {platform.machine()}, Python {platform.python_version()}, "
            f"torch {torch.__version__}, {datetime.now(timezone.utc):%Y-%m-%d}")


def write_section(name: str, markdown: str, path: Path = RESULTS) -> None:
    """Replace section ``name`` of ``path`` by ``markdown`` (a heading is the caller's job)."""
    from lipbound._io import atomic_write_text

    text = path.read_text() if path.exists() else HEADER
    block = f"<!-- begin:{name} -->\n{markdown.rstrip()}\n<!-- end:{name} -->"
    pat = re.compile(rf"<!-- begin:{re.escape(name)} -->.*?<!-- end:{re.escape(name)} -->", re.S)
    text = pat.sub(lambda _m: block, text) if pat.search(text) else text.rstrip() + "\n\n" + block + "\n"
    atomic_write_text(path, text)
