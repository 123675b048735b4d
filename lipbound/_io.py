"""File writes: atomic (a result file is either the old one or the complete new one, never half),
with the permissions the user's umask asks for, and the checks that run before any work that an
output path can be written at all."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, NoReturn


def current_umask() -> int:
    """The process's umask, read without changing it where the system tells it (Linux:
    ``/proc/self/status``), else by setting and restoring it.

    >>> 0 <= current_umask() <= 0o777
    True
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode() -> int:
    """The permission bits of a new file: ``0o666 & ~umask``, as :func:`open` would give it
    (``tempfile.mkstemp`` alone would give 0600)."""
    return 0o666 & ~current_umask()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and :func:`os.replace`.

    The file gets :func:`new_file_mode` (``0o666 & ~umask``), whether it is new or replaces an
    earlier one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, new_file_mode())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """:func:`atomic_write_bytes` of ``text`` encoded as UTF-8."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """:func:`atomic_write_text` of ``json.dumps(obj, indent=2)``."""
    return atomic_write_text(path, json.dumps(obj, indent=2, allow_nan=False) + "\n")


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ----------------------------------------------------------------------------- checks before work


def _fail(what: str, path: Path, why: str) -> NoReturn:
    from .errors import OutputPathError

    raise OutputPathError(f"{what}: cannot write {path}: {why}")


def _exists(path: Path, what: str) -> bool:
    try:
        return path.exists() or path.is_symlink()
    except OSError as exc:
        _fail(what, path, f"cannot look at it ({exc.strerror or exc})")


def _probe(folder: Path, what: str, target: Path) -> None:
    """Create and remove a temporary file in ``folder``: the test that an atomic write there will
    work (permission bits alone say nothing for root or on a read-only file system)."""
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".lipbound-probe-", suffix=".tmp")
    except OSError as exc:
        _fail(what, target, f"cannot create files in {folder} ({exc.strerror or exc})")
    os.close(fd)
    os.unlink(tmp)


def _creatable(path: Path, what: str) -> None:
    """``path`` does not exist: its nearest existing ancestor must be a folder lipbound can write in."""
    for parent in path.parents:
        if _exists(parent, what):
            if not parent.is_dir():
                _fail(what, path, f"{parent} is a file, not a folder")
            _probe(parent, what, path)
            return
    _fail(what, path, "none of its parent folders exists")  # pragma: no cover - '/' always exists


def check_output_file(path: str | os.PathLike, what: str = "output") -> Path:
    """Check, before any work, that :func:`atomic_write_bytes` can write ``path``; returns it as an
    absolute path. ``what`` names the path in the message (``"--json"``).

    Raises :class:`~lipbound.errors.OutputPathError` when ``path`` is a folder or not a regular
    file (a device, a pipe), when a parent is a file, or when its folder (or the nearest existing
    ancestor, for folders still to be made) does not accept new files.
    """
    p = Path(os.path.abspath(os.fspath(path)))
    if _exists(p, what):
        if p.is_dir():
            _fail(what, p, "it is a folder, not a file")
        if not p.is_file():
            _fail(what, p, "it is not a regular file")
        _probe(p.parent, what, p)
    else:
        _creatable(p, what)
    return p


def check_output_dir(path: str | os.PathLike, what: str = "output folder") -> Path:
    """Check, before any work, that files can be written in the folder ``path`` (made when it does
    not exist); returns it as an absolute path. Raises :class:`~lipbound.errors.OutputPathError`
    when it is a file, a parent is a file, or it does not accept new files."""
    p = Path(os.path.abspath(os.fspath(path)))
    if _exists(p, what):
        if not p.is_dir():
            _fail(what, p, "it is a file, not a folder")
        _probe(p, what, p)
    else:
        _creatable(p, what)
    return p


def check_folder_path(path: str | os.PathLike, what: str, fix: str = "") -> Path:
    """``path`` when it is a folder or can become one (it and its existing parents are folders);
    else :class:`~lipbound.errors.ConfigurationError` naming ``what`` (``"$LIPBOUND_CACHE"``), the
    file in the way, and ``fix``. Nothing is created or probed: cheap enough to run on every use of
    a cache folder."""
    from .errors import ConfigurationError

    p = Path(path)
    for q in (p, *p.parents):
        try:
            exists = q.exists()
        except OSError as exc:
            raise ConfigurationError(f"{what}: cannot look at {q} ({exc.strerror or exc})") from exc
        if exists:
            if not q.is_dir():
                where = f"{p} is a file, not a folder" if q == p else f"{q}, a parent of {p}, is a file"
                raise ConfigurationError(f"{what}: {where}" + (f"; {fix}" if fix else ""))
            break
    return p


def json_safe(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by the string ``'inf'``, ``'-inf'`` or ``'nan'``
    (JSON has no such numbers), recursing into dicts, lists and tuples.

    >>> json_safe({"a": [1.0, float("inf")], "b": float("nan")})
    {'a': [1.0, 'inf'], 'b': 'nan'}
    """
    import math

    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj
