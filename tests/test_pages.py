"""The ledger tables and the claims' navigation generated from the claim statements
(lipbound.claims._pages) and the mkdocs hook that puts them into the site
(docs/_hooks/claims_pages.py): every claim is listed once, under its section, with every reading
and its expected label; every claim page is in the navigation once; docs/ledger.md has one marker
per section; a wrong or missing marker or placeholder fails the build."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from lipbound.claims import CLAIMS
from lipbound.claims._ledger import SECTIONS, expected_label
from lipbound.claims._pages import NAV_GROUPS, ledger_markers, ledger_tables, nav_entries, page_path

ROOT = Path(__file__).resolve().parents[1]
LEDGER = ROOT / "docs" / "ledger.md"


def _rows(table: str) -> dict[str, str]:
    """The rows of a generated table by claim id (the first cell, in backticks)."""
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    ids = [row.split("|")[1].strip().strip("`") for row in rows]
    assert len(ids) == len(set(ids)), f"a claim has two rows: {ids}"
    return dict(zip(ids, rows))


def _nav_paths(nav) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [p for v in nav.values() for p in _nav_paths(v)]
    return [p for item in nav for p in _nav_paths(item)]


def _hook():
    pytest.importorskip("mkdocs")
    spec = importlib.util.spec_from_file_location("lipbound_docs_claims_pages",
                                                  ROOT / "docs" / "_hooks" / "claims_pages.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ----------------------------------------------------------------------------- the ledger tables


def test_every_claim_has_one_row_under_its_section_with_every_reading_and_its_label():
    tables = ledger_tables(CLAIMS)
    assert set(tables) <= set(SECTIONS)
    rows = {section: _rows(table) for section, table in tables.items()}
    listed = Counter(cid for section_rows in rows.values() for cid in section_rows)
    assert listed == Counter(list(CLAIMS)), "every claim exactly once, and nothing else"
    for cid, claim in CLAIMS.items():
        st = claim.statement
        row = rows[st.section][cid]
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        assert cells[1] == st.ref, row
        assert cells[2] == ", ".join(f"`{r.name}` ({expected_label(r.expected, r.kind)})" for r in st.readings), row
        assert cells[3] == f"[{st.nav_title or st.title}]({page_path(st)})", row
        assert (LEDGER.parent / page_path(st)).is_file(), f"{cid}: the link {page_path(st)} names no page"


def test_the_tables_list_claims_in_ledger_order_and_sections_by_their_first_claim():
    tables = ledger_tables(CLAIMS)
    order = list(dict.fromkeys(c.statement.section for c in CLAIMS.values()))
    assert list(tables) == order
    for section, table in tables.items():
        assert list(_rows(table)) == [cid for cid, c in CLAIMS.items() if c.statement.section == section]


def test_the_tables_hold_no_math_and_no_stray_column_separator():
    """A formula would be rendered (the tables are inserted as Markdown), but the rows hold only
    names and labels; an unescaped "|" in a title would shift the columns."""
    for table in ledger_tables(CLAIMS).values():
        assert "\\(" not in table and "\\[" not in table
        for line in table.splitlines():
            assert line.replace("\\|", "").count("|") == 5, line


# ----------------------------------------------------------------------------- the navigation


def test_nav_entries_list_every_claim_page_once_in_its_sections_group():
    nav = nav_entries(CLAIMS)
    paths = _nav_paths(nav)
    assert Counter(paths) == Counter(page_path(c.statement) for c in CLAIMS.values())
    on_disk = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs" / "claims").glob("*.md")}
    assert on_disk <= set(paths), f"claim pages missing from the nav: {sorted(on_disk - set(paths))}"
    sections = list(dict.fromkeys(c.statement.section for c in CLAIMS.values()))
    assert [next(iter(group)) for group in nav] == [NAV_GROUPS[s] for s in sections]
    for section, group in zip(sections, nav):
        (entries,) = group.values()
        expected = [{c.statement.nav_title or c.statement.title: page_path(c.statement)}
                    for c in CLAIMS.values() if c.statement.section == section]
        assert entries == expected


def test_every_section_has_a_nav_group_title():
    assert set(NAV_GROUPS) == set(SECTIONS)
    assert len(set(NAV_GROUPS.values())) == len(NAV_GROUPS)


def test_lead_pages_open_their_group_and_must_name_a_section_with_claims():
    lead = {"Companion paper": [{"Intro": "intro.md"}]}
    groups = dict(g.popitem() for g in nav_entries(CLAIMS, lead=lead))
    assert groups[NAV_GROUPS["Companion paper"]][0] == {"Intro": "intro.md"}
    assert len(groups[NAV_GROUPS["Companion paper"]]) == 1 + sum(
        c.statement.section == "Companion paper" for c in CLAIMS.values())
    with pytest.raises(ValueError, match="Section 9"):
        nav_entries(CLAIMS, lead={"Section 9": [{"Intro": "intro.md"}]})


# ----------------------------------------------------------------------------- docs/ledger.md


def test_the_ledger_page_has_exactly_one_marker_per_section_with_claims():
    assert Counter(ledger_markers(LEDGER.read_text(encoding="utf-8"))) == Counter(list(ledger_tables(CLAIMS)))


def test_the_ledger_page_holds_no_hand_written_claim_table():
    """The claim tables are generated: a row for a claim id left in the page would go stale."""
    text = LEDGER.read_text(encoding="utf-8")
    for cid in CLAIMS:
        assert f"| `{cid}` |" not in text and f"| [`{cid}`]" not in text, cid


# ----------------------------------------------------------------------------- the mkdocs hook


def _page(uri: str = "ledger.md") -> SimpleNamespace:
    return SimpleNamespace(file=SimpleNamespace(src_uri=uri))


def _markers(sections) -> str:
    return "".join(f"## {s}\n\n<!-- ledger:{s} -->\n\nprose\n\n" for s in sections)


def test_the_hook_fills_every_marker_of_the_ledger_page():
    hook = _hook()
    out = hook.on_page_markdown(_markers(ledger_tables(CLAIMS)), page=_page(), config={}, files=None)
    assert "<!-- ledger:" not in out
    for table in ledger_tables(CLAIMS).values():
        assert table in out
    # other pages are left alone, markers and all
    other = _markers(["Section 9"])
    assert hook.on_page_markdown(other, page=_page("index.md"), config={}, files=None) == other


def test_the_hook_fails_on_an_unknown_marker():
    hook = _hook()
    from mkdocs.exceptions import PluginError

    page = _markers(ledger_tables(CLAIMS)) + "<!-- ledger:Section 9 -->\n"
    with pytest.raises(PluginError, match=r"ledger\.md: the marker <!-- ledger:Section 9 --> names no section"):
        hook.on_page_markdown(page, page=_page(), config={}, files=None)


@pytest.mark.parametrize("section", list(dict.fromkeys(c.statement.section for c in CLAIMS.values())))
def test_the_hook_fails_on_a_missing_or_doubled_marker(section):
    hook = _hook()
    from mkdocs.exceptions import PluginError

    others = [s for s in ledger_tables(CLAIMS) if s != section]
    with pytest.raises(PluginError, match=f"the section {section} has no marker <!-- ledger:{section} -->"):
        hook.on_page_markdown(_markers(others), page=_page(), config={}, files=None)
    with pytest.raises(PluginError, match=f"the section {section} has 2 markers"):
        hook.on_page_markdown(_markers([*ledger_tables(CLAIMS), section]), page=_page(), config={}, files=None)


def test_the_hook_replaces_the_nav_placeholder_by_the_claim_groups():
    hook = _hook()
    before, after = [{"Home": "index.md"}], [{"API": "api.md"}]
    config = {"nav": [*before, {"Claims": [{"Companion paper": [{"Data": "mvae.md"}]}]}, *after]}
    nav = hook.on_config(config)["nav"]
    groups = nav_entries(CLAIMS, lead={"Companion paper": [{"Data": "mvae.md"}]})
    assert nav == [*before, *groups, *after]


def test_the_hook_fails_without_the_placeholder_or_with_a_claim_page_listed_by_hand():
    hook = _hook()
    from mkdocs.exceptions import PluginError

    with pytest.raises(PluginError, match="expected one top-level item 'Claims'"):
        hook.on_config({"nav": [{"Home": "index.md"}]})
    with pytest.raises(PluginError, match="expected one top-level item 'Claims'"):
        hook.on_config({"nav": [{"Claims": None}, {"Claims": None}]})
    with pytest.raises(PluginError, match="lists the claim page\\(s\\) claims/thm-3.1.md by hand"):
        hook.on_config({"nav": [{"Claims": None}, {"Old": [{"Theorem 3.1": "claims/thm-3.1.md"}]}]})
    with pytest.raises(PluginError, match="Section 9"):
        hook.on_config({"nav": [{"Claims": [{"Section 9": [{"Intro": "intro.md"}]}]}]})


def test_the_expanded_mkdocs_nav_holds_every_page_of_the_docs_once():
    """The nav that mkdocs builds from mkdocs.yml: every Markdown page (outside the excluded folders)
    exactly once, the claim pages included."""
    hook = _hook()
    yaml = pytest.importorskip("yaml")

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("", lambda loader, suffix, node: None)
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=Loader)
    paths = _nav_paths(hook.expand_nav(config["nav"]))
    docs = ROOT / "docs"
    pages = {p.relative_to(docs).as_posix() for p in docs.rglob("*.md")
             if p.relative_to(docs).parts[0] not in ("_griffe", "_hooks", "examples")}
    assert Counter(paths) == Counter(pages)
