"""mkdocs hook (mkdocs.yml ``hooks:``): every formula becomes MathML when the site is built.

pymdownx.arithmatex (generic mode) wraps inline math in ``<span class="arithmatex">\\(...\\)</span>``
and display math in ``<div class="arithmatex">\\[...\\]</div>``, in the pages and in the API
reference (mkdocstrings renders docstrings with the same Markdown extensions). This hook replaces
each of them by the MathML that latex2mathml produces, so the built pages need no script and nothing
from the network: browsers render MathML natively. A formula latex2mathml cannot convert (an
exception, or a command it passes through unconverted, such as ``\\foo`` left as text) fails the
build, naming the page and the formula. See docs/devdocs/conventions.md ("Mathematics").
"""

from __future__ import annotations

import html
import re
from typing import Any

from latex2mathml.converter import convert
from mkdocs.exceptions import PluginError

_ARITHMATEX = re.compile(r'<(span|div) class="arithmatex">(.*?)</\1>', re.S)
_DELIMS = {"span": (r"\(", r"\)"), "div": (r"\[", r"\]")}
# text between tags of the MathML: an unknown command survives there as a literal backslash
_TEXT = re.compile(r">([^<]*)<")


# latex2mathml 3.81 keeps a delimiter *command* after \big, \Bigl, ... as literal text
# (``\big\lVert`` gives ``<mo>\lVert</mo>``); the character itself is sized correctly.
_SIZED_DELIM = re.compile(r"(\\[bB]igg?[lrm]?)\s*\\(lVert|rVert|Vert|\||lvert|rvert|vert|langle|rangle|lbrace|rbrace|\{|\})(?![A-Za-z])")
_DELIM_CHAR = {"lVert": "\u2016", "rVert": "\u2016", "Vert": "\u2016", "|": "\u2016", "lvert": "|", "rvert": "|",
               "vert": "|", "langle": "\u27e8", "rangle": "\u27e9", "lbrace": "{", "rbrace": "}", "{": "{", "}": "}"}


class FormulaError(ValueError):
    """A formula that latex2mathml cannot convert to MathML."""


def to_mathml(tex: str, *, display: bool) -> str:
    """``tex`` (without delimiters) as a ``<math>`` element; :class:`FormulaError` if it cannot be
    converted completely."""
    tex = _SIZED_DELIM.sub(lambda m: m.group(1) + " " + _DELIM_CHAR[m.group(2)], tex)
    try:
        out = convert(tex, display="block" if display else "inline")
    except Exception as exc:  # latex2mathml raises its own exceptions and plain ones (IndexError, ...)
        raise FormulaError(f"{type(exc).__name__}: {exc}") from exc
    left = [t for t in _TEXT.findall(out) if "\\" in html.unescape(t)]
    if left:
        raise FormulaError(f"not converted: {', '.join(sorted(set(left)))}")
    return out


def _strip(body: str, kind: str) -> str:
    tex = html.unescape(body).strip()
    left, right = _DELIMS[kind]
    if tex.startswith(left) and tex.endswith(right):
        return tex[len(left):-len(right)].strip()
    if kind == "div" and tex.startswith("$$") and tex.endswith("$$"):
        return tex[2:-2].strip()
    raise FormulaError(f"unexpected arithmatex markup {body!r}")


def convert_page(content: str, where: str, errors: list[str] | None = None) -> str:
    """``content`` with every arithmatex element replaced by MathML; ``where`` names the page in errors.
    A formula that cannot be converted raises :class:`~mkdocs.exceptions.PluginError`, or, when
    ``errors`` is a list, is appended to it (and left as it was) so that every failure is reported."""

    def one(m: re.Match[str]) -> str:
        kind, body = m.groups()
        try:
            tex = _strip(body, kind)
            math = to_mathml(tex, display=kind == "div")
        except FormulaError as exc:
            msg = f"{where}: cannot render the formula {html.unescape(body).strip()!r} as MathML ({exc})"
            if errors is None:
                raise PluginError(msg) from None
            errors.append(msg)
            return m.group(0)
        return f'<{kind} class="arithmatex">{math}</{kind}>'

    return _ARITHMATEX.sub(one, content)


_ERRORS: list[str] = []


def on_pre_build(config: Any, **kwargs: Any) -> None:
    _ERRORS.clear()


def on_page_content(html_: str, page: Any, **kwargs: Any) -> str:
    return convert_page(html_, page.file.src_uri, _ERRORS)


def on_env(env: Any, config: Any, files: Any, **kwargs: Any) -> Any:
    """After every page is read and before any is written: fail with every formula that was not converted."""
    if _ERRORS:
        raise PluginError(f"{len(_ERRORS)} formula(s) cannot be rendered as MathML:\n" + "\n".join(_ERRORS))
    return env
