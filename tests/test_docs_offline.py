"""The built docs read offline: every formula is MathML rendered at build time (docs/_hooks/mathml.py),
no raw TeX delimiter is left in the text of any page, and no page loads a script or stylesheet from
outside the site. With Debian's chromium installed, a claim page is also opened headless from disk."""

from __future__ import annotations

import importlib.util
from html.parser import HTMLParser
from pathlib import Path

import pytest

from test_report import ARTIFACTS, ROOT, chromium  # noqa: F401  (chromium: the module-scoped fixture)

pytest.importorskip("mkdocs")
pytest.importorskip("material")
pytest.importorskip("latex2mathml")

CLAIM_PAGE = Path("claims") / "thm-4.1.html"


def _hook():
    spec = importlib.util.spec_from_file_location("lipbound_docs_mathml", ROOT / "docs" / "_hooks" / "mathml.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def site(built_site) -> Path:
    return built_site


def _pages(site: Path) -> list[Path]:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= 30
    return pages


class _Page(HTMLParser):
    """The text a reader sees (not scripts, styles or code blocks, where a backslash-paren is code)
    and the resources the page loads."""

    HIDDEN = {"script", "style", "code", "pre"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text, self.loads, self.maths, self._hidden = [], [], 0, 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self._hidden += tag in self.HIDDEN
        self.maths += tag == "math"
        if tag == "script" and a.get("src"):
            self.loads.append(a["src"])
        if tag == "link" and a.get("href") and a.get("rel") not in ("canonical",):
            self.loads.append(a["href"])
        if tag in ("img", "iframe") and a.get("src"):
            self.loads.append(a["src"])

    def handle_endtag(self, tag):
        self._hidden -= tag in self.HIDDEN

    def handle_data(self, data):
        if not self._hidden:
            self.text.append(data)


def _parse(page: Path) -> _Page:
    p = _Page()
    p.feed(page.read_text(encoding="utf-8"))
    return p


def test_no_raw_tex_in_any_page(site):
    left = {}
    for page in _pages(site):
        text = "".join(_parse(page).text)
        for delim in ("\\(", "\\[", "$$"):
            if delim in text:
                i = text.index(delim)
                left[str(page.relative_to(site))] = text[max(0, i - 40):i + 60]
    assert not left, left


def test_no_page_loads_anything_from_outside_the_site(site):
    outside = {str(page.relative_to(site)): [u for u in _parse(page).loads if u.startswith(("http:", "https:", "//"))]
               for page in _pages(site)}
    assert not {k: v for k, v in outside.items() if v}, outside
    assert not list(site.rglob("mathjax*")) and "cdn.jsdelivr" not in (site / CLAIM_PAGE).read_text()


def test_formulas_are_mathml(site):
    claim = _parse(site / CLAIM_PAGE)
    assert claim.maths >= 10
    assert _parse(site / "api.html").maths >= 1  # docstrings go through the same pipeline
    assert (site / "search" / "search_index.js").is_file()  # material's search from disk (docs/_hooks)


def test_an_unconvertible_formula_fails_naming_page_and_formula():
    from mkdocs.exceptions import PluginError

    hook = _hook()
    ok = hook.convert_page(r'<p><span class="arithmatex">\(\big\lVert x \big\rVert_2 \le 1\)</span></p>', "p.md")
    assert "<math" in ok and "\\" not in ok
    bad = r'<div class="arithmatex">\[ \frobnicate{x} \]</div>'
    with pytest.raises(PluginError, match=r"claims/x\.md: cannot render the formula .*frobnicate"):
        hook.convert_page(bad, "claims/x.md")
    errors: list[str] = []
    assert hook.convert_page(bad + bad, "y.md", errors) == bad + bad and len(errors) == 2


def test_claim_page_renders_in_chromium(chromium, site):  # noqa: F811
    got = chromium.load(site / CLAIM_PAGE)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "docs-claim-page.png").write_bytes(got["png"])
    assert got["png"][:8] == b"\x89PNG\r\n\x1a\n" and len(got["png"]) > 10_000
    assert got["exceptions"] == [] and got["console_errors"] == [] and got["failed_requests"] == []
    assert got["broken_images"] == []
    # nothing from the network: the site's files, and the icons material inlines as data: URLs
    outside = [u for u in got["urls"] if not u.startswith(("file://", "data:", "blob:"))]
    assert outside == [] and any(u.endswith("search/search_index.js") for u in got["urls"]), outside
    assert got["exceptions"] == [] and got["console_errors"] == []  # also after the search loaded
