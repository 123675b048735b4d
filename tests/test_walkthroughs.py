"""The walk-throughs (docs/walkthroughs/): they exist, are in the nav, and their Python blocks run
during the docs build (markdown-exec), so that the printed output appears in the built pages."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = {
    "one-theorem": [  # printed output only (not in the source shown above it)
        "status:   refuted",
        "expected: fails",
        "proved: True | scope:",
        "FAILED: 'Lip(f_cat) <= Lip(f_sum)'",
        "Lip(f_cat) <= Lip(f_sum)? False",
        "true-separate: proved on",
    ],
    "bound-your-model": [
        "format: torchscript",
        "exit status: 0",
        "JSON kind: lipbound-bracket",
        "bracket from the JSON:",
        "certified-upper",
        "heuristic",
    ],
    "section-5-figure": [
        "command:  lipbound reproduce --preset medium",
        "dataset: pick-and-place | fusion: attention-regularized-scaled",
        "Lip lower bound (mean ± std)",
        "interior-optimum: ",
        "param-norm-decreasing: ",
        "95% CI, paired bootstrap over trials",
    ],
}


def _nav_paths(nav) -> list[str]:
    out: list[str] = []
    for item in nav:
        if isinstance(item, dict):
            for v in item.values():
                out += _nav_paths(v) if isinstance(v, list) else [v]
        elif isinstance(item, list):
            out += _nav_paths(item)
        else:
            out.append(item)
    return out


def _config() -> dict:
    yaml = pytest.importorskip("yaml")

    class Loader(yaml.SafeLoader):
        pass

    # mkdocs.yml may hold !ENV / !!python tags; none matter for the nav and plugins
    Loader.add_multi_constructor("", lambda loader, suffix, node: None)
    return yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=Loader)


def test_pages_exist_and_are_in_the_nav():
    config = _config()
    nav = _nav_paths(config["nav"])
    section = [item for item in config["nav"] if isinstance(item, dict) and "Walk-throughs" in item]
    assert section, "no 'Walk-throughs' section in the nav"
    for name in PAGES:
        page = ROOT / "docs" / "walkthroughs" / f"{name}.md"
        assert page.is_file(), page
        assert f"walkthroughs/{name}.md" in nav
        assert 'exec="on"' in page.read_text(), f"{name}.md has no executed block"


def test_markdown_exec_is_configured():
    plugins = _config()["plugins"]
    names = [p if isinstance(p, str) else next(iter(p)) for p in plugins]
    assert "markdown-exec" in names


@pytest.fixture(scope="module")
def site(built_site) -> Path:
    pytest.importorskip("markdown_exec")
    return built_site


def _text(page: Path) -> str:
    body = page.read_text(encoding="utf-8")
    body = body[body.find("<article"):body.find("</article>")]
    return html.unescape(re.sub(r"<[^>]+>", "", body))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PAGES))
def test_blocks_ran_in_the_build(site, name):
    text = _text(site / "walkthroughs" / f"{name}.html")
    for expected in PAGES[name]:
        assert expected in text, f"{name}: the executed output lacks {expected!r}"
    # markdown-exec shows a failing block's traceback (and --strict fails on it); none here
    assert "Traceback (most recent call last)" not in text


@pytest.mark.slow
def test_the_section_5_figure_was_drawn_in_the_build(site):
    """The figure of the Section 5 walk-through is in the built page: a PNG drawn during the build,
    embedded as a data URL (nothing to fetch), of the size lambda_ablation_figure gives at 80 dpi."""
    import base64
    import struct

    body = (site / "walkthroughs" / "section-5-figure.html").read_text(encoding="utf-8")
    found = re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', body)
    assert len(found) == 1, "no embedded figure"
    alt, data = found[0]
    png = base64.b64decode(data)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and "lambda" in alt
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (920, 304)  # 11.5 x 3.8 inches (one fusion) at 80 dpi
