"""The claim ledger's tables and the claims' part of the docs navigation, generated from the claim
statements (section, order, nav_title), so that a new claim needs no hand-written row in
``docs/ledger.md`` and no entry in ``mkdocs.yml``. The mkdocs hook ``docs/_hooks/claims_pages.py``
puts them into the built site; the functions here are pure and know nothing of mkdocs.

>>> from lipbound.claims import CLAIMS
>>> tables = ledger_tables(CLAIMS)
>>> list(tables)
['Section 3', 'Section 4', 'Companion paper', 'Section 5']
>>> [next(iter(group)) for group in nav_entries(CLAIMS)]
['Section 3 claims', 'Section 4 claims', 'Companion paper: MVAE on iCub data', 'Empirical claims (Section 5)']
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._ledger import SECTIONS, Claim, ClaimStatement, expected_label

#: the title of each section's group in the docs navigation (the keys of :data:`SECTIONS`)
NAV_GROUPS: dict[str, str] = {
    "Section 3": "Section 3 claims",
    "Section 4": "Section 4 claims",
    "Companion paper": "Companion paper: MVAE on iCub data",
    "Section 5": "Empirical claims (Section 5)",
}
#: the folder the claim statements' ``doc_page`` paths are relative to; links and nav entries are
#: relative to it (``docs/ledger.md`` lies in it)
DOCS_DIR = "docs"
#: a marker of the ledger page, alone on its line: ``<!-- ledger:Section 3 -->``
MARKER = re.compile(r"^[ \t]*<!--[ \t]*ledger:(?P<section>[^\n]*?)[ \t]*-->[ \t]*$", re.M)
_HEADER = "| claim | paper | readings (expected) | page |\n|---|---|---|---|"

Claims = Mapping[str, Claim] | Iterable[Claim | ClaimStatement]


def _statements(claims: Claims) -> list[ClaimStatement]:
    """The statements of ``claims`` (a mapping id -> :class:`Claim`, or claims or statements) in
    ledger order (ascending ``order``; ties keep their given order)."""
    items = claims.values() if isinstance(claims, Mapping) else claims
    out = [c.statement if isinstance(c, Claim) else c for c in items]
    return sorted(out, key=lambda s: s.order)


def _by_section(claims: Claims) -> dict[str, list[ClaimStatement]]:
    """The statements grouped by section, sections in the order of their first claim."""
    groups: dict[str, list[ClaimStatement]] = {}
    for s in _statements(claims):
        if s.section not in SECTIONS:
            raise ValueError(f"claim {s.id!r}: section {s.section!r} is none of {', '.join(SECTIONS)}")
        groups.setdefault(s.section, []).append(s)
    return groups


def page_path(statement: ClaimStatement) -> str:
    """The claim's page relative to the docs folder, as links from ``docs/ledger.md`` and the
    navigation name it.

    >>> page_path(ClaimStatement("t", "Toy", "Lemma 0", "", "", (), (), "docs/claims/t.md", "", ""))
    'claims/t.md'
    """
    rel = posixpath.relpath(statement.doc_page, DOCS_DIR)
    if rel.startswith("../") or not rel.endswith(".md"):
        raise ValueError(f"claim {statement.id!r}: its page {statement.doc_page!r} is not a .md file under {DOCS_DIR}/")
    return rel


def _cell(text: str) -> str:
    """``text`` safe inside a Markdown table cell (one line, no column separator)."""
    return " ".join(text.split()).replace("|", r"\|")


def ledger_row(statement: ClaimStatement) -> str:
    """The claim's row of the ledger table: id, the paper's numbering, each reading with its expected
    label (:func:`~lipbound.claims._ledger.expected_label`) and a link to its page.

    >>> from lipbound.claims import ReadingStatement
    >>> st = ClaimStatement("t", "Toy", "Lemma 0", "", "", (),
    ...                     (ReadingStatement("a", "", True), ReadingStatement("b", "", False, kind="growth-rate")),
    ...                     "docs/claims/t.md", "", "", "Section 3", 1, "Lemma 0: toy")
    >>> ledger_row(st)
    '| `t` | Lemma 0 | `a` (holds), `b` (loose) | [Lemma 0: toy](claims/t.md) |'
    """
    readings = ", ".join(f"`{r.name}` ({expected_label(r.expected, r.kind)})" for r in statement.readings)
    title = _cell(statement.nav_title or statement.title).replace("[", r"\[").replace("]", r"\]")
    return f"| `{statement.id}` | {_cell(statement.ref)} | {readings} | [{title}]({page_path(statement)}) |"


def ledger_tables(claims: Claims) -> dict[str, str]:
    """For each section (:data:`~lipbound.claims._ledger.SECTIONS` key) with claims, the Markdown
    table of its claims in ledger order (:func:`ledger_row`); sections in the order of their first
    claim.

    >>> from lipbound.claims import ReadingStatement
    >>> st = ClaimStatement("t", "Toy", "Lemma 0", "", "", (), (ReadingStatement("a", "", None),),
    ...                     "docs/claims/t.md", "", "", "Section 4", 1)
    >>> print(ledger_tables([st])["Section 4"])
    | claim | paper | readings (expected) | page |
    |---|---|---|---|
    | `t` | Lemma 0 | `a` (open) | [Toy](claims/t.md) |
    """
    return {section: "\n".join([_HEADER, *(ledger_row(s) for s in group)])
            for section, group in _by_section(claims).items()}


def nav_entries(claims: Claims, lead: Mapping[str, Sequence[Any]] | None = None) -> list[dict[str, list[Any]]]:
    """The claims' part of the mkdocs ``nav``: one group per section (titled by :data:`NAV_GROUPS`),
    sections in the order of their first claim, each listing ``{nav_title: "claims/<id>.md"}`` in
    ledger order. ``lead`` maps a section to nav entries (pages that are not claims) that open its
    group.

    >>> st = ClaimStatement("t", "Toy", "Lemma 0", "", "", (), (), "docs/claims/t.md", "", "", "Section 4", 1,
    ...                     "Lemma 0: toy")
    >>> nav_entries([st])
    [{'Section 4 claims': [{'Lemma 0: toy': 'claims/t.md'}]}]
    >>> nav_entries([st], lead={"Section 4": [{"Intro": "intro.md"}]})
    [{'Section 4 claims': [{'Intro': 'intro.md'}, {'Lemma 0: toy': 'claims/t.md'}]}]
    """
    groups = _by_section(claims)
    lead = dict(lead or {})
    if set(lead) - set(groups):
        raise ValueError(f"pages are listed for the section(s) {', '.join(sorted(set(lead) - set(groups)))}, "
                         f"which have no claims; sections with claims: {', '.join(groups)}")
    out: list[dict[str, list[Any]]] = []
    for section, group in groups.items():
        if section not in NAV_GROUPS:
            raise ValueError(f"section {section!r} has no navigation title in NAV_GROUPS")
        entries = [*lead.get(section, ()), *({s.nav_title or s.title: page_path(s)} for s in group)]
        out.append({NAV_GROUPS[section]: entries})
    return out


def ledger_markers(markdown: str) -> list[str]:
    """The sections named by the markers (``<!-- ledger:<section> -->``, alone on a line) of a
    page, in order.

    >>> ledger_markers("intro\\n<!-- ledger:Section 3 -->\\ntext\\n<!-- ledger:Section 4 -->\\n")
    ['Section 3', 'Section 4']
    """
    return [m.group("section").strip() for m in MARKER.finditer(markdown)]


def fill_ledger(markdown: str, tables: Mapping[str, str]) -> str:
    """``markdown`` with each marker ``<!-- ledger:<section> -->`` replaced by that section's table
    (``tables``, from :func:`ledger_tables`). Raises ValueError when a marker names no section of
    ``tables``, when a section has two markers, or when a section of ``tables`` has none.

    >>> fill_ledger("## S3\\n\\n<!-- ledger:Section 3 -->\\n\\nprose\\n", {"Section 3": "| t |"})
    '## S3\\n\\n| t |\\n\\nprose\\n'
    >>> fill_ledger("<!-- ledger:Section 9 -->", {"Section 3": "| t |"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: the marker <!-- ledger:Section 9 --> names no section with claims (sections: Section 3); ...
    """
    found = ledger_markers(markdown)
    problems = [f"the marker <!-- ledger:{s} --> names no section with claims (sections: {', '.join(tables)})"
                for s in dict.fromkeys(found) if s not in tables]
    problems += [f"the section {s} has {found.count(s)} markers <!-- ledger:{s} -->, not one"
                 for s in tables if found.count(s) > 1]
    problems += [f"the section {s} has no marker <!-- ledger:{s} -->" for s in tables if s not in found]
    if problems:
        raise ValueError("; ".join(problems))
    return MARKER.sub(lambda m: tables[m.group("section").strip()], markdown)
