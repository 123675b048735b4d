"""The report's output folder, and the rule that keeps a user's files safe in it.

lipbound writes a report only into a folder that does not exist yet, is empty, or was made by
lipbound: such a folder holds the manifest :data:`MARKER` (``.lipbound-report``), a JSON document
listing every file lipbound wrote there with the sha256 of what it wrote. lipbound replaces or
removes a file only when the manifest lists it and its content is still what lipbound wrote; a file
the user added or changed is never touched (writing over it is an error instead). The check runs
before any work (:meth:`ReportDir.prepare`), so a refused folder costs nothing.

This module imports neither matplotlib nor torch: ``lipbound verify`` checks its report folder
before it loads the ledger.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .._io import atomic_write_bytes, atomic_write_json, check_output_dir, file_sha256
from ..errors import OutputPathError

#: the manifest a report folder made by lipbound holds
MARKER = ".lipbound-report"
#: the report's pages, at fixed names in the folder
REPORT_FILES = ("index.html", "report.md")
#: the folder of the report's figures, inside the report folder
FIGURE_DIR = "figures"
MANIFEST_KIND = "lipbound-report"
MANIFEST_FORMAT = 1


def _sha_ok(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _read_manifest(marker: Path) -> dict[str, set[str]]:
    """``{relative path: {sha256, ...}}`` of a manifest; raises OutputPathError when it is not one."""
    folder = marker.parent

    def bad(why: str) -> OutputPathError:
        return OutputPathError(
            f"{marker} is not a manifest that lipbound wrote ({why}), so lipbound cannot tell which files in "
            f"{folder} are its own; move the folder away or write the report to another folder")

    try:
        doc = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise bad(f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("kind") != MANIFEST_KIND or not isinstance(doc.get("files"), dict):
        raise bad(f'expected a JSON object with "kind": "{MANIFEST_KIND}" and a "files" object')
    out: dict[str, set[str]] = {}
    for rel, shas in doc["files"].items():
        parts = Path(rel).parts
        if not rel or Path(rel).is_absolute() or ".." in parts or rel == MARKER:
            raise bad(f"it lists the path {rel!r}, which is not a file inside the folder")
        if not isinstance(shas, list) or not shas or not all(_sha_ok(s) for s in shas):
            raise bad(f"the entry of {rel!r} is not a list of sha256 digests")
        out[rel] = set(shas)
    return out


@dataclass
class ReportDir:
    """A report folder that passed the check of :meth:`prepare`, and what lipbound owns in it.

    Attributes:
        path: the folder (absolute; it may not exist yet).
        files: relative path (POSIX) -> the sha256 digests of the content lipbound wrote there (two
            while a rewrite is under way, so that an interrupted rewrite leaves both recognised).
        what: how messages name the folder (``"--report"``, ``"-o"``).
    """

    path: Path
    files: dict[str, set[str]] = field(default_factory=dict)
    what: str = "report folder"

    @classmethod
    def prepare(cls, path: str | os.PathLike, what: str = "report folder") -> "ReportDir":
        """Check, before any work, that a report may be written to ``path``: a new folder (its
        parents writable), an empty one, or one lipbound made whose ``index.html`` and ``report.md``
        (if present) are still as lipbound wrote them. Raises :class:`~lipbound.errors.OutputPathError`
        otherwise, naming the folder, the files in the way and what to do."""
        p = check_output_dir(path, what)
        rd = cls(p, {}, what)
        if not p.exists():
            return rd
        marker = p / MARKER
        if marker.exists() or marker.is_symlink():
            rd.files = {rel: shas for rel, shas in _read_manifest(marker).items() if (p / rel).is_file()}
        else:
            try:
                entries = sorted(os.listdir(p))
            except OSError as exc:
                raise OutputPathError(f"{what}: cannot list {p} ({exc.strerror or exc})") from exc
            if entries:
                shown = ", ".join(entries[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5 else "")
                raise OutputPathError(
                    f"{what}: {p} is not empty and was not made by lipbound (no {MARKER} manifest); it holds "
                    f"{shown}. lipbound writes a report only into a new or empty folder or one it made, so that "
                    "it never replaces or deletes a file of yours: name another folder, or skip the report "
                    "(lipbound verify --no-report). A report folder of a lipbound older than the manifest counts "
                    "as not made by lipbound: delete it if you no longer need it")
        for rel in REPORT_FILES:
            rd.check_replaceable(rel)
        fig = p / FIGURE_DIR
        if (fig.exists() or fig.is_symlink()) and not fig.is_dir():
            raise OutputPathError(f"{what}: {fig} is a file, but the report keeps its figures in a folder of that name")
        return rd

    def owns(self, rel: str) -> bool:
        """True when ``rel`` exists and holds content that lipbound wrote (listed in the manifest)."""
        f = self.path / rel
        return rel in self.files and f.is_file() and not f.is_symlink() and file_sha256(f) in self.files[rel]

    def check_replaceable(self, rel: str) -> None:
        """Raise OutputPathError when writing ``rel`` would replace a file that lipbound did not write
        (or that was changed since)."""
        f = self.path / rel
        if (f.exists() or f.is_symlink()) and not self.owns(rel):
            raise OutputPathError(
                f"{self.what}: {f} exists and was not written by lipbound (or was changed since): lipbound does not "
                "replace it; move it away or write the report to another folder")

    def adopt(self, path: str | os.PathLike) -> None:
        """Record a file this command wrote into the folder itself (``lipbound verify``'s
        ``--json`` and ``--markdown`` files), so the manifest lists it; files outside are ignored."""
        f = Path(os.path.abspath(os.fspath(path)))
        try:
            rel = f.relative_to(self.path).as_posix()
        except ValueError:
            return
        if f.is_file():
            self.files[rel] = {file_sha256(f)}

    def _save(self) -> None:
        atomic_write_json(self.path / MARKER, {
            "kind": MANIFEST_KIND, "format": MANIFEST_FORMAT,
            "note": "files lipbound wrote in this folder, with the sha256 of their content; lipbound replaces or "
                    "removes only these, and only while their content is unchanged",
            "files": {rel: sorted(shas) for rel, shas in sorted(self.files.items())}})

    def write_all(self, contents: dict[str, bytes], *, stale_dir: str | None = FIGURE_DIR) -> list[Path]:
        """Write every ``{relative path: bytes}`` atomically, after checking that none would replace
        a file lipbound did not write; then remove the files under ``stale_dir`` that lipbound wrote
        earlier and ``contents`` no longer has; keep the manifest up to date throughout. Returns the
        written paths in the order of ``contents``."""
        import hashlib

        for rel in contents:
            self.check_replaceable(rel)
        new = {rel: hashlib.sha256(data).hexdigest() for rel, data in contents.items()}
        for rel, sha in new.items():  # an interruption from here on leaves old and new content recognised
            self.files[rel] = (self.files[rel] if self.owns(rel) else set()) | {sha}
        self._save()
        out = [atomic_write_bytes(self.path / rel, data) for rel, data in contents.items()]
        for rel, sha in new.items():
            self.files[rel] = {sha}
        if stale_dir is not None:
            prefix = stale_dir.rstrip("/") + "/"
            for rel in sorted(self.files):
                if rel.startswith(prefix) and rel not in contents:
                    if self.owns(rel):
                        (self.path / rel).unlink()
                    del self.files[rel]  # removed, or no longer lipbound's: either way not listed
        self._save()
        return out
