"""mkdocs hook (mkdocs.yml ``hooks:``): write the search index also as ``search/search_index.js``.

Opened from disk (file://), material's search loads its index as that script rather than fetching
``search_index.json``, which a browser refuses for file:// pages. material's ``offline`` plugin writes
the same file but also adds a script from unpkg.com to every page, so it is not used; this hook does
only the first part, and the built pages load nothing from the network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def on_post_build(config: Any, **kwargs: Any) -> None:
    index = Path(config["site_dir"]) / "search" / "search_index.json"
    if index.is_file():
        (index.parent / "search_index.js").write_text("var __index = " + index.read_text(encoding="utf-8"),
                                                      encoding="utf-8")
