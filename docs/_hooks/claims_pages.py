"""mkdocs hook (mkdocs.yml ``hooks:``): the claim ledger's tables and the claims' navigation are
generated from the claim statements (``section``, ``order``, ``nav_title``), so that a new claim
needs no row in docs/ledger.md and no entry in mkdocs.yml.

* ``on_config``: the top-level nav item ``Claims`` is replaced by one group per ledger section
  (:func:`lipbound.claims._pages.nav_entries`), each listing its claims' pages in ledger order. Under
  ``Claims``, a section key (``lipbound.claims._ledger.SECTIONS``) may list pages that are not claims;
  they open that section's group. A claim page also listed by hand fails the build.
* ``on_page_markdown``: on ``ledger.md``, each marker ``<!-- ledger:<section> -->`` (alone on its line)
  is replaced by the table of that section's claims (:func:`lipbound.claims._pages.ledger_tables`).
  A marker that names no section with claims, or a section with claims and no marker (or two),
  fails the build. The tables are Markdown, inserted before the page is converted, so the rest of
  the build (arithmatex, the MathML hook, link validation) treats them like hand-written ones.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

# the lipbound of the tree being documented, also when mkdocs is not run from the repository root
_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from lipbound.claims import CLAIMS  # noqa: E402
from lipbound.claims._pages import fill_ledger, ledger_tables, nav_entries  # noqa: E402

#: the title of the top-level nav item that the claim groups replace
PLACEHOLDER = "Claims"
#: the page whose markers are replaced by the ledger tables
LEDGER_PAGE = "ledger.md"


def _paths(nav: Any) -> list[str]:
    """Every page path of a nav (or part of one)."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [p for v in nav.values() for p in _paths(v)]
    if isinstance(nav, list):
        return [p for item in nav for p in _paths(item)]
    return []


def _lead(value: Any) -> dict[str, list[Any]]:
    """The pages listed under the placeholder, by section: ``[{section: [entries]}, ...]``."""
    if value is None:
        return {}
    if not isinstance(value, list) or not all(isinstance(i, dict) and len(i) == 1 for i in value):
        raise PluginError(f"mkdocs.yml nav: the item {PLACEHOLDER!r} must list `<section>: [pages]` items, "
                          f"got {value!r}")
    lead: dict[str, list[Any]] = {}
    for item in value:
        ((section, entries),) = item.items()
        lead.setdefault(section, []).extend(entries if isinstance(entries, list) else [entries])
    return lead


def expand_nav(nav: list[Any] | None, claims: Any = CLAIMS) -> list[Any]:
    """``nav`` with its top-level item ``Claims`` replaced by the claim groups of ``claims``."""
    where = [i for i, item in enumerate(nav or []) if isinstance(item, dict) and list(item) == [PLACEHOLDER]]
    if len(where) != 1:
        raise PluginError(f"mkdocs.yml nav: expected one top-level item {PLACEHOLDER!r}, which the claim pages "
                          f"replace (docs/_hooks/claims_pages.py); found {len(where)}")
    (i,) = where
    try:
        groups = nav_entries(claims, lead=_lead(nav[i][PLACEHOLDER]))
    except ValueError as exc:
        raise PluginError(f"mkdocs.yml nav, item {PLACEHOLDER!r}: {exc}") from None
    rest = nav[:i] + nav[i + 1:]
    generated = {p for g in groups for p in _paths(g)} - set(_paths(nav[i]))
    twice = sorted(generated & set(_paths(rest)))
    if twice:
        raise PluginError(f"mkdocs.yml nav lists the claim page(s) {', '.join(twice)} by hand; they are generated "
                          f"from the claim statements (remove those entries)")
    return nav[:i] + groups + nav[i + 1:]


def on_config(config: Any, **kwargs: Any) -> Any:
    config["nav"] = expand_nav(config["nav"])
    return config


def on_page_markdown(markdown: str, page: Any, config: Any = None, files: Any = None, **kwargs: Any) -> str:
    if page.file.src_uri != LEDGER_PAGE:
        return markdown
    try:
        return fill_ledger(markdown, ledger_tables(CLAIMS))
    except ValueError as exc:
        raise PluginError(f"{LEDGER_PAGE}: {exc}") from None
