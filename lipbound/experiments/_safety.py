"""Safety of results folders, shared by ``lipbound train`` / ``reproduce`` and ``lipbound mvae train``:
the output folder is checked before any work, a run is locked while a process trains it, checkpoints
hold only tensors and JSON (they load with ``torch.load(weights_only=True)``), a stored run of another
configuration is an error (never a silent skip or retrain), pool workers die with their parent, and
command-line numbers are checked when the arguments are parsed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .._args import _number, non_negative_float, non_negative_int, positive_float, positive_int  # noqa: F401 - re-exported
from .._io import atomic_write_bytes
from ..errors import LipboundError, OutputPathError

#: checkpoint layout: tensors and state dicts at the top level, every other value in one JSON string
#: ``"meta"`` (layout 1, before, kept its metadata as plain Python objects; it is still read)
CHECKPOINT_FORMAT = 2
#: name of the lock file inside a run folder (held with ``flock`` while a process trains the run)
LOCK_NAME = "lock"


class OutputFolderError(OutputPathError):
    """The results folder is a file, cannot be created or is not writable, or holds files that lipbound
    did not write."""


class ConfigMismatchError(LipboundError):
    """A results folder already holds a run (finished or half-finished) with the same id but another
    configuration; the message lists the runs and the differences, and how to proceed."""


class CorruptCheckpointError(LipboundError):
    """A checkpoint or run marker that cannot be read; the message names the file and the fix."""


class RunLockedError(LipboundError):
    """Another process holds the lock of a run folder: the run is being trained elsewhere."""


# ------------------------------------------------------------------ the output folder
def check_out_dir(path: str | os.PathLike, *, what: str = "--out") -> Path:
    """``path`` as a :class:`~pathlib.Path` once it is, or can be created as, a writable folder
    (:func:`lipbound._io.check_output_dir`: a probe file is written and removed, so the check also
    holds for root and read-only file systems; nothing else is created).

    Raises:
        OutputFolderError: ``path`` (or a parent) is an existing file, or the place is not writable.
    """
    from .._io import check_output_dir
    from ..errors import OutputPathError

    try:
        check_output_dir(Path(path).expanduser(), what)
    except OutputPathError as exc:
        raise OutputFolderError(f"{exc}; choose another {what}") from None
    return Path(path).expanduser()


# ------------------------------------------------------------------ configurations
def _show(v: Any) -> str:
    return json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else repr(v)


def config_diff(stored: Any, requested: dict[str, Any]) -> str:
    """The differences between a stored configuration and the requested one, in words.

    The keys ``lipbound`` and ``format`` (the version and run format that wrote the run) are named as
    such: results of another version are not reused either.

    >>> config_diff({"epochs": 6, "lr": 0.001}, {"epochs": 1, "lr": 0.001})
    'epochs 6 there, 1 now'
    >>> config_diff({"lipbound": "0.0.9", "seed": 0}, {"lipbound": "0.1.0", "seed": 0})
    'written by lipbound 0.0.9, this is lipbound 0.1.0 (results of another version are not reused)'
    """
    if not isinstance(stored, dict):
        return f"no readable configuration stored ({_show(stored)})"
    parts = []
    for k in sorted(set(stored) | set(requested), key=lambda k: (k in ("lipbound", "format"), k)):
        a, b = stored.get(k, "<absent>"), requested.get(k, "<absent>")
        if a == b:
            continue
        if k == "lipbound":
            parts.append(f"written by lipbound {a}, this is lipbound {b} (results of another version are not reused)")
        elif k == "format":
            parts.append(f"run format {a} there, {b} now (the run files changed; results of another format are "
                         "not reused)")
        else:
            parts.append(f"{k} {_show(a)} there, {_show(b)} now")
    return "; ".join(parts)


def mismatch_error(folder: Path, found: list[tuple[str, str]], *, hint: str) -> ConfigMismatchError:
    """One :class:`ConfigMismatchError` for ``found`` = ``[(run folder, "finished; <differences>" or
    "half-finished; <differences>")]`` (at most ten listed), naming ``folder`` and how to proceed
    (``hint``)."""
    lines = [f"  {rd}: {detail}" for rd, detail in found[:10]]
    if len(found) > 10:
        lines.append(f"  ... and {len(found) - 10} more")
    return ConfigMismatchError(
        f"{folder} already holds {len(found)} run(s) with the same id but another configuration; nothing was "
        "trained and nothing was changed:\n" + "\n".join(lines) + f"\n{hint}")


# ------------------------------------------------------------------ checkpoints
def save_checkpoint(path: str | os.PathLike, tensors: dict[str, Any], meta: dict[str, Any]) -> None:
    """Write a checkpoint atomically: ``tensors`` (tensors and state dicts) at the top level, ``meta``
    (JSON-able: configuration, epoch, records, ...) as one JSON string, so that the file loads with
    ``torch.load(weights_only=True)``."""
    import torch

    buf = io.BytesIO()
    torch.save({"format": CHECKPOINT_FORMAT, "meta": json.dumps(meta), **tensors}, buf)
    with no_interrupt():
        atomic_write_bytes(path, buf.getvalue())


def load_checkpoint(path: str | os.PathLike, *, map_location: Any = "cpu", mmap: bool = False) -> dict[str, Any]:
    """A checkpoint of :func:`save_checkpoint` (or of layout 1) loaded with ``weights_only=True``, its
    ``meta`` merged into the returned dict. ``mmap=True`` maps the tensors instead of reading them (to
    look at the configuration only).

    Raises:
        CorruptCheckpointError: the file cannot be read or is not a lipbound checkpoint; the message
            names the file and says to delete it to restart that run from epoch 0.
    """
    import torch

    path = Path(path)
    try:
        st = torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
        if not isinstance(st, dict):
            raise ValueError(f"holds a {type(st).__name__}, not a dict")
        if "meta" in st:
            meta = json.loads(st.pop("meta"))
            if not isinstance(meta, dict):
                raise ValueError("its metadata is not a JSON object")
            st.update(meta)
    except Exception as exc:  # noqa: BLE001 - any failure means the same thing to the user
        raise corrupt_error(path, exc) from None
    return st


def corrupt_error(path: Path, exc: BaseException | str) -> CorruptCheckpointError:
    """The :class:`CorruptCheckpointError` for ``path`` (why: ``exc``)."""
    why = exc if isinstance(exc, str) else f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return CorruptCheckpointError(f"{path} is corrupt or unreadable ({why}); delete it to restart that run from "
                                  "epoch 0")


def read_json_marker(path: Path) -> dict[str, Any]:
    """A run marker (``done.json``) as a dict; an unreadable one is a :class:`CorruptCheckpointError`
    that says to delete the run folder to retrain it."""
    try:
        d = json.loads(path.read_text())
        if not isinstance(d, dict):
            raise ValueError("not a JSON object")
        return d
    except (OSError, ValueError) as exc:
        raise CorruptCheckpointError(f"{path} is corrupt or unreadable ({type(exc).__name__}: {exc}); delete the "
                                     f"run folder {path.parent} to retrain that run") from None


# ------------------------------------------------------------------ run locks
class RunLock:
    """An exclusive, non-blocking lock on ``<run folder>/lock``, held while a process trains that run
    (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows). The operating system releases it when
    the process ends, however it ends; the lock file itself stays (deleting it would race).

    ``with RunLock(folder):`` raises :class:`RunLockedError` when another process holds it.
    """

    def __init__(self, folder: str | os.PathLike, *, blocking: bool = False, name: str = LOCK_NAME) -> None:
        self.folder, self.blocking, self.name = Path(folder), blocking, name
        self._fh = None

    @property
    def path(self) -> Path:
        return self.folder / self.name

    def acquire(self) -> bool:
        """Take the lock (creating the folder and the lock file); False if another process holds it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+b")
        try:
            if _lock(fh, self.blocking):
                self._fh = fh
                return True
        except BaseException:
            fh.close()
            raise
        fh.close()
        return False

    def release(self) -> None:
        if self._fh is not None:
            try:
                _unlock(self._fh)
            finally:
                self._fh.close()
                self._fh = None

    def __enter__(self) -> RunLock:
        if not self.acquire():
            raise RunLockedError(f"{self.folder} is being trained by another process (it holds {self.path}); "
                                 "wait for it to finish, or stop it, then rerun")
        return self

    def __exit__(self, *exc) -> bool:
        self.release()
        return False


def is_locked(folder: str | os.PathLike) -> bool:
    """Whether another process holds the lock of run folder ``folder`` (no lock file: False; creates
    nothing)."""
    path = Path(folder) / LOCK_NAME
    if not path.is_file():
        return False
    with open(path, "a+b") as fh:
        if _lock(fh, False):
            _unlock(fh)
            return False
        return True


def _lock(fh, blocking: bool) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        fcntl = None
    if fcntl is not None:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            return True
        except BlockingIOError:
            return False
    try:  # pragma: no cover - Windows
        import msvcrt

        fh.seek(0)
        while True:
            try:
                msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
                return True
            except OSError:
                if not blocking:
                    return False
                time.sleep(0.1)
    except ImportError:  # pragma: no cover - neither: no locking
        return True


def _unlock(fh) -> None:
    try:
        import fcntl

        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    except ImportError:  # pragma: no cover - Windows
        try:
            import msvcrt

            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
        except (ImportError, OSError):
            pass


# ------------------------------------------------------------------ signals and worker lifetime
#: depth of nested :func:`no_interrupt` blocks of this process and the exception they hold back
_DEFER: dict[str, Any] = {"depth": 0, "pending": None}


def signal_raiser(make_exc) -> Any:
    """A signal handler that raises ``make_exc(signum)`` in the main thread, held back until the end of
    the current :func:`no_interrupt` block (so that no file is left half-written), and only once per
    process (later signals are ignored while the first one unwinds)."""
    fired = []

    def handler(signum, frame):  # noqa: ARG001 - signal handler signature
        if fired:
            return
        fired.append(signum)
        if _DEFER["depth"]:
            _DEFER["pending"] = make_exc(signum)
            return
        raise make_exc(signum)

    return handler


@contextlib.contextmanager
def no_interrupt():
    """A block (a file write) that a :func:`signal_raiser` signal does not interrupt: its exception is
    raised when the block has finished."""
    _DEFER["depth"] += 1
    try:
        yield
    finally:
        _DEFER["depth"] -= 1
    if _DEFER["depth"] == 0 and _DEFER["pending"] is not None:
        exc, _DEFER["pending"] = _DEFER["pending"], None
        raise exc


class WorkerTerminated(BaseException):
    """Raised in a pool worker by SIGTERM (sent by its parent, or by the kernel when the parent died):
    the run stops at once (after a file write in progress); its lock is released on the way out."""


def _watch_parent(parent_pid: int, poll_s: float, grace_s: float) -> None:
    while os.getppid() == parent_pid:
        time.sleep(poll_s)
    try:
        os.kill(os.getpid(), signal.SIGTERM)  # the same way out as PR_SET_PDEATHSIG
    finally:
        time.sleep(grace_s)
        os._exit(1)  # the main thread did not stop in time


def die_with_parent(parent_pid: int, *, poll_s: float = 0.5, grace_s: float = 10.0) -> None:
    """In a pool worker: end this process when the process ``parent_pid`` ends.

    On Linux ``prctl(PR_SET_PDEATHSIG, SIGTERM)`` asks the kernel for SIGTERM when the parent dies;
    everywhere a daemon thread also polls ``os.getppid()`` every ``poll_s`` seconds (a dead parent's
    children are re-parented) and sends the same signal. SIGTERM raises :class:`WorkerTerminated`
    (``os._exit`` after ``grace_s`` seconds if that does not end the process). SIGINT is ignored: a
    Ctrl-C reaches the whole process group, and the parent stops the pool.
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no prctl: the polling thread remains
            pass
    signal.signal(signal.SIGTERM, signal_raiser(lambda signum: WorkerTerminated(f"signal {signum}")))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid, poll_s, grace_s), daemon=True,
                     name="lipbound-parent-watch").start()


# ------------------------------------------------------------------ argument types


def track_every(text: str) -> int:
    """argparse type of ``--track-every``: an integer >= -1 (-1 off, 0 automatic)."""
    return _number(int, text, lambda v: v >= -1, "an integer >= -1 (-1 = off, 0 = automatic)")
