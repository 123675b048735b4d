"""Griffe extension used by the documentation build (mkdocs.yml, mkdocstrings ``extensions``).

lipbound's docstrings are Google style but keep a few reStructuredText habits that Markdown does not
understand, and their doctest examples are bare ``>>>`` lines. Before mkdocstrings renders a
docstring, this extension rewrites it (in memory only; the source files are not touched):

* a doctest block (``>>>`` lines, their ``...`` continuations and the expected output, up to the
  next blank line) becomes a fenced ``pycon`` code block, so its output such as
  ``[torch.Size([7, 3])]`` is not mistaken for a Markdown reference link;
* ``:math:`x``` becomes inline math and a ``.. math::`` directive becomes a display block, both
  marked by pymdownx.arithmatex and rendered to MathML at build time (docs/_hooks/mathml.py);
* ``:class:`~pkg.Name```, ``:func:``, ``:meth:``, ``:mod:``, ``:data:``, ``:attr:``, ``:exc:``
  become inline code (``Name`` when the target starts with ``~``). They are not turned into
  cross-reference links, because not every target has an API page.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj):`(~?)([^`]+)`")
_MATH = re.compile(r":math:`([^`]+)`")
_FENCE = re.compile(r"^\s*(```|~~~)")


def _role(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    if tilde:
        target = target.rsplit(".", 1)[-1]
    return f"`{target}`"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _rewrite(text: str) -> str:
    lines = text.splitlines()
    out: list[str] = []
    i, in_fence = 0, False
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if _FENCE.match(line):
            in_fence = not in_fence
            out.append(line)
            i += 1
            continue
        if in_fence:
            out.append(line)
            i += 1
            continue
        if stripped.startswith(">>>"):
            pad = " " * _indent(line)
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i][len(pad):] if lines[i].startswith(pad) else lines[i].lstrip())
                i += 1
            if out and out[-1].strip():
                out.append("")
            out += [f"{pad}```pycon", *(f"{pad}{b}" for b in block), f"{pad}```"]
            continue
        if stripped == ".. math::":
            pad = " " * _indent(line)
            i += 1
            body = []
            while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > len(pad)):
                body.append(lines[i].strip())
                i += 1
            while body and not body[-1]:
                body.pop()
            body = [b for b in body if b] if body else body
            if out and out[-1].strip():
                out.append("")
            out += [f"{pad}$$", *(f"{pad}{b}" for b in body), f"{pad}$$", ""]
            continue
        line = _MATH.sub(lambda m: f"${m.group(1)}$", line)
        line = _ROLE.sub(_role, line)
        out.append(line)
        i += 1
    return "\n".join(out)


class DocstringMarkup(griffe.Extension):
    """Rewrite reST roles, math and doctest blocks of every docstring into Markdown."""

    def on_object(self, *, obj: griffe.Object, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        docstring = obj.docstring
        if docstring is None or getattr(docstring, "_lipbound_rewritten", False):
            return
        docstring.value = _rewrite(docstring.value)
        docstring._lipbound_rewritten = True  # type: ignore[attr-defined]
