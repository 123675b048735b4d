"""The built docs read offline: every formula is MathML rendered at build time (docs/_hooks/mathml.py),
no raw TeX delimiter is left in the text of any page, and no page loads a script or stylesheet from
outside the site. With Debian's chromium installed, every built page and the report of a small run
are also opened headless from disk (screenshots of a claim page and of the report's first screen are
kept in build/test-artifacts/)."""

from __future__ import annotations

import importlib.util
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

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


#: evaluated in each page: the text a reader sees (the body as the browser built it, without code,
#: scripts, styles and MathML annotations, where a backslash-paren is not a formula) and the number
#: of MathML formulas
VISIBLE_TEXT = """(() => {
  const b = document.body.cloneNode(true);
  b.querySelectorAll('pre, code, script, style, textarea, annotation, annotation-xml').forEach(e => e.remove());
  return {text: b.textContent, maths: document.querySelectorAll('math').length};
})()"""
RAW_TEX = ("\\(", "\\[", "$$")


def _offline_problems(got: dict, served: frozenset[str] = frozenset()) -> dict:
    """What a reader offline would see go wrong on a page loaded by the chromium fixture: script
    errors, console errors, failed requests, broken images, requests leaving file://, raw TeX.
    ``served``: URLs whose failure to load from disk is not counted (see :func:`_root_absolute`)."""
    text = got["value"]["text"]
    out = {
        "exceptions": got["exceptions"],
        "console_errors": [e for e in got["console_errors"] if e.get("entry", {}).get("url") not in served],
        "failed_requests": [u for u in got["failed_urls"] if u not in served],
        "broken_images": [u for u in got["broken_images"] if u not in served],
        # the site's files, and the icons and figures inlined as data: URLs; nothing else
        "outside": [u for u in got["urls"] if not u.startswith(("file://", "data:", "blob:"))],
        "raw_tex": [text[max(0, text.index(d) - 40):text.index(d) + 40] for d in RAW_TEX if d in text],
    }
    return {k: v for k, v in out.items() if v}


def _root_absolute(got: dict, site: Path) -> tuple[frozenset[str], list[str]]:
    """The 404 page is what a web server shows at any missing address, so mkdocs writes its links
    absolute from the site's root (``/assets/...``); opened from disk they point at the root of the
    file system. Returns those URLs and the ones among them that name no file of the site (a
    broken link also when served)."""
    inside = site.resolve().as_uri()
    roots = {u for u in got["urls"] if u.startswith("file:///") and not u.startswith(inside)}
    missing = sorted(u for u in roots if not (site / unquote(urlparse(u).path).lstrip("/")).is_file())
    return frozenset(roots), missing


def test_the_browser_check_sees_raw_tex_and_requests(chromium, tmp_path):  # noqa: F811
    """The every-page check can fail: raw TeX in the text and a request to the network are seen,
    and TeX inside a code block is not counted."""
    page = tmp_path / "bad.html"
    page.write_text('<html><body><p>Lip is \\(L\\) here</p><code>\\(x\\)</code>'
                    '<img src="http://example.invalid/x.png"></body></html>')
    bad = _offline_problems(chromium.load(page, expression=VISIBLE_TEXT, full_page=False))
    assert bad["raw_tex"] == ["Lip is \\(L\\) here"] and set(bad["outside"]) == {"http://example.invalid/x.png"}
    assert set(bad["failed_requests"]) == {"http://example.invalid/x.png"} and bad["console_errors"]


def test_every_page_renders_offline_in_chromium(chromium, site):  # noqa: F811
    """Every built page opened from disk in one headless Chromium: no script or console error, no
    failed request, no broken image, nothing requested outside file:// (and data: URLs), no raw TeX
    in the text a reader sees. The 404 page's links are absolute from the server's root
    (:func:`_root_absolute`): there, each must name a file of the site. A full-page screenshot of a
    claim page is kept in build/test-artifacts/."""
    pages = _pages(site)
    problems, maths = {}, {}
    for page in pages:
        name = str(page.relative_to(site))
        got = chromium.load(page, expression=VISIBLE_TEXT, full_page=page == site / CLAIM_PAGE)
        maths[name] = got["value"]["maths"]
        served: frozenset[str] = frozenset()
        if name == "404.html":  # links from the server's root, by design: each must name a file of the site
            served, missing = _root_absolute(got, site)
            assert served and not missing, missing
        if got_problems := _offline_problems(got, served):
            problems[name] = got_problems
        if page == site / CLAIM_PAGE:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            (ARTIFACTS / "docs-claim-page.png").write_bytes(got["png"])
            assert got["png"][:8] == b"\x89PNG\r\n\x1a\n" and len(got["png"]) > 10_000
            assert any(u.endswith("search/search_index.js") for u in got["urls"])  # search works from disk
    assert not problems, problems
    assert len(maths) == len(pages) and maths[str(CLAIM_PAGE)] >= 10  # formulas are MathML in the browser too


def test_report_of_a_small_run_renders_offline_in_chromium(chromium, tmp_path):  # noqa: F811
    """The report of a small run (Theorem 3.3 checked on 5 sampled cases, beside the small synthetic
    results of every other kind that tests/test_report.py writes: training records, detection,
    reconstructions, a bracket, MVAE measures) opened from disk: every figure loads, nothing leaves
    file://, no error, no raw TeX; its first screen is kept as build/test-artifacts/report-first-screen.png."""
    from test_report import make_results

    from lipbound import cli

    rows = tmp_path / "verify.json"
    assert cli.main(["verify", "--claim", "thm-3.3", "--examples", "5", "--no-zoo", "--json", str(rows),
                     "--no-report"]) == 0
    other = make_results(tmp_path / "results")
    out = tmp_path / "report"
    assert cli.main(["report", str(rows), str(other["dir"]), str(other["bracket"]), str(other["mvae"]), "-o", str(out),
                     "--dpi", "40"]) == 0
    got = chromium.load(out / "index.html", expression=VISIBLE_TEXT, full_page=False)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "report-first-screen.png").write_bytes(got["png"])
    assert got["png"][:8] == b"\x89PNG\r\n\x1a\n" and len(got["png"]) > 10_000
    assert _offline_problems(got) == {}
    figures = sorted((out / "figures").glob("*.png"))
    assert got["images"] == len(figures) >= 10 and any(f.name.startswith("ledger0-thm-3.3") for f in figures)
