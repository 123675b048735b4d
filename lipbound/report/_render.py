"""Assemble the report: a list of blocks (headings, paragraphs, tables, figures, code) rendered
twice, as ``report.md`` and as a self-contained ``index.html`` (inline CSS, no script, no network
resource; figures as PNG files in ``figures/`` beside it)."""

from __future__ import annotations

import html
import io
import json
import math
import os
import platform
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..cli import expected_label
from . import _figures as F
from ._load import LedgerRows, ReproduceDir, Results, as_float
from ._outdir import FIGURE_DIR, ReportDir
from ._paper import PAPER_MODALITIES, PAPER_TABLE_SOURCE, PAPER_TABLES

#: how each kind of Lipschitz number was obtained, in words
KIND_WORDS = F.KIND_WORDS


@dataclass(frozen=True)
class Link:
    """A table cell or paragraph part that links to ``href`` (a page anchor or a URL)."""

    text: str
    href: str


Cell = str | Link


@dataclass
class Doc:
    """The report being built: blocks in order, and the figures to write."""

    blocks: list[tuple[Any, ...]] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def h(self, level: int, text: str, anchor: str | None = None) -> None:
        """A heading of ``level`` (1-4), with an ``id`` for links when ``anchor`` is given."""
        self.blocks.append(("h", level, text, anchor))

    def p(self, *parts: Cell) -> None:
        """A paragraph of text and links (``**bold**`` and ```code``` are kept in both outputs)."""
        self.blocks.append(("p", parts))

    def table(self, headers: list[str], rows: list[list[Cell]], caption: str = "") -> tuple[Any, ...]:
        """A table; returns its block (for :meth:`pair`)."""
        b = ("table", headers, rows, caption)
        self.blocks.append(b)
        return b

    def pair(self, left: tuple[Any, ...], right: tuple[Any, ...]) -> None:
        """Show two tables side by side (in HTML; one after the other in Markdown)."""
        self.blocks.remove(left)
        self.blocks.remove(right)
        self.blocks.append(("pair", left, right))

    def figure(self, name: str, fig: Any, caption: str) -> None:
        """A figure saved as ``figures/<name>.png`` (a unique name); nothing when ``fig`` is None."""
        if fig is None:
            return
        name = slug(name) + ".png"
        k = 2
        while name in self.figures:
            name = f"{name[:-4]}-{k}.png"
            k += 1
        self.figures[name] = fig
        self.blocks.append(("figure", f"{FIGURE_DIR}/{name}", caption))

    def code(self, text: str, anchor: str | None = None, title: str = "") -> None:
        """A JSON code block with an optional anchor and title (the counterexamples)."""
        self.blocks.append(("code", text, anchor, title))


def slug(s: str) -> str:
    """A file-name and anchor safe version of ``s``.

    >>> slug("thm-3.3 / true shared")
    'thm-3.3-true-shared'
    """
    return re.sub(r"[^A-Za-z0-9._-]+", "-", s).strip("-") or "x"


def fmt(v: Any) -> str:
    """A number for a table: 6 significant digits, non-finite values as written.

    >>> fmt(1/3), fmt("inf"), fmt(None)
    ('0.333333', 'inf', '-')
    """
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return str(v)
    return f"{float(v):.6g}"


def pm(values: list[float] | np.ndarray) -> str:
    """``mean ± std`` (population std) of ``values``, ``-`` when empty.

    >>> pm([1.0, 3.0])
    '2 ± 1'
    """
    a = np.asarray(values, dtype=float)
    if a.size == 0:
        return "-"
    return f"{a.mean():.4g} ± {a.std():.2g}"


# ----------------------------------------------------------------------------- rendering


def _md_cell(c: Cell) -> str:
    if isinstance(c, Link):
        return f"[{c.text}]({c.href})"
    return str(c).replace("|", "\\|").replace("\n", " ")


def _html_cell(c: Cell) -> str:
    if isinstance(c, Link):
        return f'<a href="{html.escape(c.href)}">{html.escape(c.text)}</a>'
    text = html.escape(str(c), quote=False)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


def _md_table(b: tuple[Any, ...]) -> list[str]:
    _, headers, rows, caption = b
    out = [f"*{caption}*", ""] if caption else []
    out += ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in rows]
    return out + [""]


def _html_table(b: tuple[Any, ...]) -> str:
    _, headers, rows, caption = b
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_html_cell(c)}</td>" for c in r) + "</tr>\n" for r in rows)
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>\n{body}</tbody></table>\n"


def to_markdown(doc: Doc) -> str:
    """The report as Markdown (GitHub flavour; anchors as inline ``<a id>`` tags)."""
    out: list[str] = []
    for b in doc.blocks:
        if b[0] == "h":
            _, level, text, anchor = b
            out += [("#" * level) + " " + text + (f' <a id="{anchor}"></a>' if anchor else ""), ""]
        elif b[0] == "p":
            out += ["".join(_md_cell(c) if isinstance(c, Link) else str(c) for c in b[1]), ""]
        elif b[0] == "table":
            out += _md_table(b)
        elif b[0] == "pair":
            out += _md_table(b[1]) + _md_table(b[2])
        elif b[0] == "figure":
            out += [f"![{b[2]}]({b[1]})", "", f"*{b[2]}*", ""]
        elif b[0] == "code":
            _, text, anchor, title = b
            if anchor:
                out += [f'<a id="{anchor}"></a>', ""]
            if title:
                out += [f"**{title}**", ""]
            out += ["```json", text, "```", ""]
    return "\n".join(out).rstrip() + "\n"


CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1200px;
       padding: 0 1em; color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.88em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.55em; text-align: left; vertical-align: top; }
th { background: #eef; }
caption { caption-side: top; font-style: italic; text-align: left; padding-bottom: 0.3em; }
.pair { display: flex; gap: 2em; flex-wrap: wrap; align-items: flex-start; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.88em; color: #444; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; font-size: 0.8em; max-height: 30em; }
nav ul { columns: 2; } .status-refuted { color: #a00; }
"""


def to_html(doc: Doc, title: str) -> str:
    """The report as one HTML page: inline CSS, no scripts, images from ``figures/``."""
    toc = [(b[3], b[2]) for b in doc.blocks if b[0] == "h" and b[1] == 2 and b[3]]
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"]
    toc_done = False
    for b in doc.blocks:
        if b[0] == "h":
            _, level, text, anchor = b
            if level == 2 and not toc_done and toc:
                parts.append("<nav><ul>" + "".join(f'<li><a href="#{html.escape(a)}">{html.escape(t)}</a></li>'
                                                   for a, t in toc) + "</ul></nav>")
                toc_done = True
            idattr = f' id="{html.escape(anchor)}"' if anchor else ""
            parts.append(f"<h{level}{idattr}>{html.escape(text)}</h{level}>")
        elif b[0] == "p":
            parts.append("<p>" + "".join(_html_cell(c) for c in b[1]) + "</p>")
        elif b[0] == "table":
            parts.append(_html_table(b))
        elif b[0] == "pair":
            parts.append(f'<div class="pair"><div>{_html_table(b[1])}</div><div>{_html_table(b[2])}</div></div>')
        elif b[0] == "figure":
            parts.append(f'<figure><img src="{html.escape(b[1])}" alt="{html.escape(b[2])}">'
                         f"<figcaption>{html.escape(b[2])}</figcaption></figure>")
        elif b[0] == "code":
            _, text, anchor, title_ = b
            idattr = f' id="{html.escape(anchor)}"' if anchor else ""
            head = f"<h4>{html.escape(title_)}</h4>" if title_ else ""
            parts.append(f"<div{idattr}>{head}<pre>{html.escape(text)}</pre></div>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# ----------------------------------------------------------------------------- sections


#: the checkout that holds ``docs/`` when lipbound runs from a clone (``pip install -e .``)
CHECKOUT = Path(__file__).resolve().parents[2]


def docs_link(claim: str, docs_url: str | None) -> Link | str:
    """The link to a claim's docs page. With ``docs_url`` (a built site, see ``--docs-url``) the
    statement's ``doc_page``, e.g. ``docs/claims/thm-4.1.md``, becomes ``<docs_url>/claims/thm-4.1.html``
    (the site is built with ``use_directory_urls: false``). Without it, ``docs_url`` is None and the
    link is left to :func:`source_link`. ``-`` for a claim the ledger does not know."""
    from ..claims import CLAIMS

    c = CLAIMS.get(claim)
    if c is None:
        return "-"
    page = c.statement.doc_page
    page = page[len("docs/"):] if page.startswith("docs/") else page
    page = page[:-3] if page.endswith(".md") else page
    if docs_url is None:
        return c.statement.ref
    return Link(c.statement.ref, f"{docs_url.rstrip('/')}/{page}.html")


def source_link(claim: str, out_dir: str | os.PathLike) -> Link | str:
    """The link to a claim's page in the checkout, ``docs/claims/<page>.md`` (its ``doc_page``), as a
    path relative to the report folder ``out_dir``; the claim's name without a link when lipbound does
    not run from a checkout (no such file), so that no link of the report is dead."""
    from ..claims import CLAIMS

    c = CLAIMS.get(claim)
    if c is None:
        return "-"
    src = CHECKOUT / c.statement.doc_page
    if not src.is_file():
        return c.statement.ref
    return Link(c.statement.ref, Path(os.path.relpath(src, Path(out_dir).resolve())).as_posix())


def _torch_version() -> str:
    """torch's version without importing torch (slow), from the installed package's metadata."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("torch")
    except PackageNotFoundError:
        return "not installed"


def _header(doc: Doc, res: Results, command: str) -> None:
    doc.h(1, "lipbound report")
    doc.p(f"Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC} by `{command}` with lipbound {__version__}, "
          f"torch {_torch_version()}, Python {platform.python_version()}. Every figure and table says how "
          "its numbers were obtained: certified upper bound, sampled lower bound or heuristic estimate, "
          "with method and source file; the source table below gives the command, versions, seeds and "
          "device that produced each section.")
    rows: list[list[Cell]] = []

    def add(section: str, path: str, meta: dict[str, Any], seeds: Any = None) -> None:
        seeds = meta.get("seeds", meta.get("seed", seeds))
        rows.append([section, path, f"`{meta['command']}`" if meta.get("command") else "unknown (not recorded in the file)",
                     str(meta.get("lipbound", "-")), str(meta.get("torch", "-")), str(meta.get("python", "-")),
                     str(meta.get("device", "-")), "-" if seeds is None else json.dumps(seeds),
                     str(meta.get("created", "-"))])

    for lr in res.ledgers:
        add("claim ledger", lr.path, lr.meta, sorted({r.get("seed") for r in lr.rows if "seed" in r}) or None)
    for b in res.brackets:
        add(f"bracket: {b.model}", b.path, b.meta)
    for r in res.reproduce:
        add("training results", r.path, r.meta)
    for m in res.mvae:
        add("MVAE measures", m.path, m.meta)
    doc.h(2, "Sources", "sources")
    doc.table(["section", "file", "command", "lipbound", "torch", "python", "device", "seeds", "created"], rows)
    if res.skipped:
        doc.p("Skipped (not a result file lipbound knows): " + ", ".join(res.skipped) + ".")
    if res.empty():
        doc.p("No results were found in the inputs.")


def _ledger(doc: Doc, res: Results, docs_url: str | None, out_dir: str | os.PathLike | None) -> None:
    if not res.ledgers:
        return
    doc.h(2, "Claim ledger", "ledger")
    from ..claims._ledger import is_unexpected, status_legend

    doc.p("One row per reading of a claim. " + status_legend() + " The counterexample or witness of a refuted, "
          "loose or not-supported reading is linked; for a skipped one, why and how to get the data is below the "
          "table. Expected: holds, open (no prediction), or the status a reading expected to fail should get "
          "(fails = refuted, loose, not-supported). Tightest ratio = the largest measured / bound over the cases "
          "(for identities: discrepancy / tolerance). " + _docs_where(docs_url, out_dir))
    for i, lr in enumerate(res.ledgers):
        if len(res.ledgers) > 1:
            doc.h(3, f"From {lr.path}")
        rows: list[list[Cell]] = []
        for r in lr.rows:
            exp = expected_label(r.get("expected"), r.get("kind"))
            status = str(r.get("status"))
            if is_unexpected(r):
                status += " (UNEXPECTED)"
            elif r.get("expected") is False and status in ("proved", "holds"):
                status += {"loose": " (expected loose: the growth was attained on every case)",
                           "not-supported": " (expected not-supported: it held on every case)"}.get(
                    exp, " (expected to fail: no counterexample found)")
            elif status == "skipped":
                status += " (not checked: data absent)"
            cex: Cell = Link("counterexample", f"#{_cex_anchor(i, r)}") if r.get("counterexample") else "-"
            rows.append([str(r["claim"]), str(r["reading"]), status, exp, str(r.get("cases", "-")),
                         fmt(r.get("tightest_ratio")), cex, _claim_link(str(r["claim"]), docs_url, out_dir)])
        doc.table(["claim", "reading", "status", "expected", "cases", "tightest ratio", "counterexample", "docs"], rows)
        _skipped(doc, lr)

    doc.h(2, "Bound vs measured, per claim", "bound-vs-measured")
    doc.p("One figure per claim, one panel per reading. Each point is one evaluated case (sampled, fixed "
          "trained-model case or the ledger's witness; the x label counts them), in evaluation order; y = measured / "
          "bound: the measured side (a sampled lower estimate of the true constant, or the discrepancy of an identity) "
          "over the theoretical side (the bound, or the tolerance). Cases on or below the dashed line ratio = 1 satisfy "
          "the reading; the line is drawn when 1 lies within a factor of ten of a panel's data, else a note in the "
          "panel says where it lies. Failing cases are orange diamonds when the ledger expects the reading to fail "
          "(the refutation is the finding), red crosses in a red-framed panel when it expects the reading to hold "
          "(UNEXPECTED), purple squares for open readings. Ratios of 0 on a log panel and infinite ratios are drawn "
          "as triangles on the panel's edge. How each side is computed is the reading's method, in the table below "
          "the figure; the seed is in the figure's title.")
    for i, lr in enumerate(res.ledgers):
        by_claim: dict[str, list[dict[str, Any]]] = {}
        for r in lr.rows:
            by_claim.setdefault(str(r["claim"]), []).append(r)
        missing = [c for c, rs in by_claim.items()
                   if not any(r.get("cases_data") for r in rs) and not all(r.get("status") == "skipped" for r in rs)]
        not_checked = [c for c, rs in by_claim.items() if all(r.get("status") == "skipped" for r in rs)]
        for claim, rs in by_claim.items():
            fig = F.bound_vs_measured_figure(claim, rs)
            if fig is None:
                continue
            doc.h(3, f"{claim}" + (f" ({lr.path})" if len(res.ledgers) > 1 else ""))
            doc.figure(f"ledger{i}-{claim}", fig, f"{claim}: measured / bound per evaluated case, one panel per "
                       f"reading; seed {sorted({r.get('seed') for r in rs if r.get('seed') is not None})}; sampled, fixed "
                       f"and witness cases, each side computed by the reading's method (table below); source {lr.path}")
            doc.table(["reading", "status", "cases", "method"],
                      [[str(r["reading"]), str(r.get("status")), str(r.get("cases", "-")), str(r.get("method", "-"))]
                       for r in rs])
        if missing:
            doc.p(f"No per-case data in {lr.path} for: {', '.join(missing)} (symbolic-only readings, or rows "
                  "written before `cases_data` existed: rerun `lipbound verify`).")
        if not_checked:
            doc.p(f"No figure for {', '.join(not_checked)}: every reading was skipped (not checked, data absent; "
                  "see the claim ledger above).")
    cex_rows = [(i, r) for i, lr in enumerate(res.ledgers) for r in lr.rows if r.get("counterexample")]
    if cex_rows:
        doc.h(2, "Counterexamples", "counterexamples")
        for i, r in cex_rows:
            text = json.dumps(r["counterexample"], indent=1)
            if len(text) > 6000:
                text = text[:6000] + "\n... (truncated; the full counterexample is in the source file)"
            doc.code(text, _cex_anchor(i, r), f"{r['claim']} / {r['reading']} ({r.get('detail', '')})")


def _skipped(doc: Doc, lr: LedgerRows) -> None:
    """One paragraph per reason for the skipped rows of ``lr``: which readings, why, how to get the data."""
    reasons: dict[str, list[str]] = {}
    for r in lr.rows:
        if r.get("status") == "skipped":
            reasons.setdefault(str(r.get("detail") or "no reason recorded"), []).append(f"{r['claim']}/{r['reading']}")
    for why, readings in reasons.items():
        doc.p(f"**Skipped** ({len(readings)}: {', '.join(readings)}): {why}.")


def _cex_anchor(i: int, r: dict[str, Any]) -> str:
    return f"cex-{i}-" + slug(f"{r['claim']}-{r['reading']}")


def _brackets(doc: Doc, res: Results) -> None:
    if not res.brackets:
        return
    doc.h(2, "Lipschitz brackets per model", "brackets")
    doc.p("certified-upper: never below the true constant (solver tolerance included); certified-local-upper: "
          "never below the constant of the model restricted to the domain; lower: attained by an "
          "actual evaluation; heuristic: neither (e.g. the paper's estimator, Section 4.6). The true constant "
          "lies in the shaded interval.")
    for b in res.brackets:
        doc.h(3, f"{b.model} (input shape {b.input_shape})")
        doc.table(["method", "kind", "value", "seconds", "solver", "status"],
                  [[str(r.get("method")), str(r.get("kind")), fmt(r.get("value")), fmt(r.get("seconds")),
                    str(r.get("solver", "-")), str(r.get("status", "-"))] for r in b.results],
                  caption=f"source {b.path}")
        doc.figure(f"bracket-{b.model}", F.bracket_figure(b), f"bracket of {b.model}; source {b.path}")
        if b.sweep:
            doc.figure(f"radius-{b.model}", F.radius_sweep_figure(b),
                       f"{b.model}: certified local bound (lipsdp-local, kind certified-local-upper: holds on the ball) "
                       f"and PGD lower bound (evaluated on the model) on balls of each radius around one centre, the "
                       f"global certified bound dashed, and their ratio; source {b.path}")


def _per_run_finals(recs: list[dict[str, Any]], sub: str, metric: str) -> dict[str, float]:
    return F.final_values([r for r in recs if r["submodule"] == sub and r["metric"] == metric])


def _tables_1_2(doc: Doc, rd: ReproduceDir, dataset: str) -> None:
    recs = F._main_records(rd.records, dataset)
    recs = [r for r in recs if r["metric"] in ("train_loss", "test_loss")]
    mods = sorted({r["submodule"][len("modality:"):] for r in recs if r["submodule"].startswith("modality:")})
    if not mods:
        return
    fusions = sorted({r["fusion"] for r in recs})
    n_table = {2: 1, 3: 2}.get(len(mods))
    for split in ("train", "test"):
        ours: list[list[Cell]] = []
        for f in fusions:
            fr = [r for r in recs if r["fusion"] == f]
            per_mod = {m: _per_run_finals(fr, f"modality:{m}", f"{split}_loss") for m in mods}
            model = _per_run_finals(fr, "model", f"{split}_loss")
            if not model:  # combined = the sum of the modality losses of each run
                runs = set.intersection(*(set(v) for v in per_mod.values()))
                model = {k: sum(per_mod[m][k] for m in mods) for k in runs}
            trials = len(model)
            ours.append([f, *(pm(list(per_mod[m].values())) for m in mods), pm(list(model.values())), str(trials)])
        left = doc.table(["fusion", *mods, "combined", "trials"], ours,
                         caption=f"lipbound, {dataset}: final {split} loss (mean ± std over trials)")
        if n_table is None:
            continue
        paper = PAPER_TABLES[n_table][split]
        right = doc.table(["model", *PAPER_MODALITIES[n_table], "combined"],
                          [[f, *(f"{v[0]:g} ± {v[1]:g}" for v in cells.values())] for f, cells in paper.items()],
                          caption=f"paper, {PAPER_TABLE_SOURCE[n_table]}: {split} loss (scale unreadable)")
        doc.pair(left, right)
    if n_table is None:
        doc.p(f"The paper's Tables 1 and 2 have two and three modalities; {dataset} has {len(mods)}, so no paper "
              "table is shown beside it.")
    else:
        doc.p(f"Paper's Table {n_table} beside ours: the paper's columns are its modalities (sensor, image"
              f"{', signal' if n_table == 2 else ''}), ours are {dataset}'s ({', '.join(mods)}); the paper's "
              "dataset differs (RoboMNIST) and the scale factor of its header ('Training in ...') is lost "
              "in the text copy, so compare the pattern (fusion ordering, modality ratios), not magnitudes.")


def _reproduce(doc: Doc, res: Results) -> None:
    for rd in res.reproduce:
        doc.h(2, f"Training results: {rd.meta.get('preset', Path(rd.path).name)}", slug(f"train-{rd.path}"))
        doc.p(f"Source {rd.path}; command `{rd.meta.get('command', 'unknown')}`; seeds {rd.meta.get('seeds', '-')}; "
              f"device {rd.meta.get('device', '-')}; status {rd.meta.get('status', '-')}. Curves and tables use, per "
              "fusion, the runs at the default lambda (else the lambda with the most runs); other lambdas appear "
              "only in the ablation.")
        for note in rd.notes:
            doc.p(f"Note: {note}.")
        datasets = sorted({r["dataset"] for r in rd.records} | {r.get("dataset") for r in rd.detection if r.get("dataset")})
        for ds in datasets:
            doc.h(3, f"{ds}")
            _tables_1_2(doc, rd, ds)
            kinds = [k for k in ("certified-upper", "lower", "heuristic")
                     if any(r["dataset"] == ds and r["metric"] == "lipschitz" and r.get("kind") == k for r in rd.records)]
            for kind in kinds:
                doc.figure(f"{ds}-lipschitz-{kind}", F.lipschitz_curves_figure(rd.records, ds, kind),
                           f"{ds}: Lipschitz constant over training, {KIND_WORDS[kind]} (method beside each row); one "
                           f"panel per (submodule, fusion); mean over trials with the band from the lowest to the highest "
                           f"trial; seeds {rd.meta.get('seeds', '-')}")
            doc.figure(f"{ds}-loss-curves", F.loss_curves_figure(rd.records, ds),
                       f"{ds}: train (solid) and test (dashed) loss per modality over training, one panel per "
                       f"(modality, fusion); mean over trials with the band from the lowest to the highest trial; seeds "
                       f"{rd.meta.get('seeds', '-')}")
            doc.figure(f"{ds}-final-losses", F.final_loss_boxplots_figure(rd.records, ds),
                       f"{ds}: final train and test losses (MSE as recorded by training), one box per fusion over the "
                       f"trials at the default lambda; seeds {rd.meta.get('seeds', '-')}")
            doc.figure(f"{ds}-lambda-ablation", F.lambda_ablation_figure(rd.records, ds),
                       f"{ds}: lambda ablation (Section 5.9): final Lipschitz constant (kind and method in the legend) and "
                       f"parameter norm vs lambda, mean +-1 std over trials; seeds {rd.meta.get('seeds', '-')}")
            prefix = f"{ds}__"
            for name in sorted(k for k in rd.reconstructions if k.startswith(prefix) and k.endswith("__input")):
                out_name = name[: -len("__input")] + "__output"
                if out_name not in rd.reconstructions:
                    continue
                _, fusion, modality = name[: -len("__input")].split("__", 2)
                x, y = rd.reconstructions[name], rd.reconstructions[out_name]
                doc.figure(f"{ds}-recon-{fusion}-{modality}",
                           F.reconstruction_figure(x, y, f"{ds} / {fusion} / {modality}: test reconstructions"),
                           f"{ds}, {fusion}, {modality}: test inputs, reconstructions and absolute error heat map")
            det = [r for r in rd.detection if r.get("dataset") == ds]
            if det:
                rows = []
                for f, corr in sorted({(r["fusion"], r["corruption"]) for r in det}):
                    sel = [r for r in det if r["fusion"] == f and r["corruption"] == corr]
                    rows.append([f, corr, pm([as_float(r.get("tpr")) for r in sel]),
                                 pm([as_float(r.get("fpr")) for r in sel]), str(len(sel))])
                doc.table(["fusion", "corruption", "TPR", "FPR", "trials"], rows,
                          caption=f"{ds}: failure detection (Section 5.7; kernel PCA, Mahalanobis distance, threshold "
                                  "at the 95th percentile of clean data), mean ± std over trials")
                doc.figure(f"{ds}-detection-hist", F.detection_histograms_figure(rd.detection, ds),
                           f"{ds}: Mahalanobis distances (kernel-PCA space) of clean and faulty test samples, pooled over "
                           f"trials, with each trial's threshold (95th percentile of clean); seeds {rd.meta.get('seeds', '-')}")
                doc.figure(f"{ds}-confusion", F.confusion_figure(rd.detection, ds),
                           f"{ds}: confusion matrices of the failure detector, summed over trials; seeds "
                           f"{rd.meta.get('seeds', '-')}")


def _mvae(doc: Doc, res: Results) -> None:
    for m in res.mvae:
        doc.h(2, "MVAE measures", slug(f"mvae-{m.path}"))
        groups: dict[tuple[str, str, str], list[float]] = {}
        for r in m.rows:
            groups.setdefault((str(r["schedule"]), str(r["modality"]), str(r["measure"])), []).append(as_float(r["value"]))
        doc.table(["schedule", "modality", "measure", "value (mean ± std over seeds)", "seeds"],
                  [[s, mo, me, pm([v for v in vs if math.isfinite(v)]), str(len(vs))]
                   for (s, mo, me), vs in sorted(groups.items())], caption=f"source {m.path}")
        doc.figure("mvae-measures", F.mvae_measures_figure(m), "MVAE measures per schedule and modality")
        if m.lipschitz:
            doc.table(["schedule", "seed", "submodule", "method", "kind", "value", "solver", "status"],
                      [[str(r.get("schedule", "-")), str(r.get("seed", "-")), str(r.get("submodule", "-")), str(r.get("method")),
                        str(r.get("kind")), fmt(r.get("value")), str(r.get("solver", "-")), str(r.get("status", "-"))]
                       for r in m.lipschitz], caption="Lipschitz brackets of the MVAE submodules")


@dataclass
class ReportFiles:
    """What :func:`write_report` wrote."""

    html: Path
    markdown: Path
    figures: list[Path]


def _claim_link(claim: str, docs_url: str | None, out_dir: str | os.PathLike | None) -> Link | str:
    if docs_url is None and out_dir is not None:
        return source_link(claim, out_dir)
    return docs_link(claim, docs_url)


def _docs_where(docs_url: str | None, out_dir: str | os.PathLike | None) -> str:
    """The sentence of the report that states where its docs links point."""
    if docs_url is not None:
        return f"Docs links point to the claim pages of the docs site at {docs_url} (--docs-url)."
    if out_dir is not None and (CHECKOUT / "docs" / "claims").is_dir():
        rel = Path(os.path.relpath(CHECKOUT / "docs", Path(out_dir).resolve())).as_posix()
        return (f"Docs links point to the claim pages in the lipbound checkout, docs/claims/*.md ({rel}/claims "
                "from this report's folder); pass --docs-url to link to a built docs site instead.")
    return "The docs are not beside this installation: claims are named without links (pass --docs-url for links)."


def build_doc(res: Results, *, docs_url: str | None, command: str, out_dir: str | os.PathLike | None = None) -> Doc:
    """The report's blocks and figures (nothing written). ``docs_url``: a built docs site for the claims'
    links; None links to the claim pages in the checkout, relative to ``out_dir`` (no links without it)."""
    doc = Doc()
    _header(doc, res, command)
    _ledger(doc, res, docs_url, out_dir)
    _brackets(doc, res)
    _reproduce(doc, res)
    _mvae(doc, res)
    return doc


def write_report(res: Results, out_dir: str | os.PathLike | ReportDir, *, docs_url: str | None = None,
                 command: str = "lipbound report", dpi: int = 90) -> ReportFiles:
    """Write ``index.html``, ``report.md`` and ``figures/*.png`` to ``out_dir``, each atomically.

    ``out_dir`` is a folder, checked first by :meth:`ReportDir.prepare` (new, empty, or made by
    lipbound; else :class:`~lipbound.errors.OutputPathError` before anything is computed), or a
    :class:`ReportDir` that a caller prepared before its own work. No file that lipbound did not
    write is replaced or removed; PNGs in ``figures/`` that an earlier report of lipbound's wrote and
    this one does not use are removed; the folder's manifest ``.lipbound-report`` lists what lipbound
    wrote (see :mod:`lipbound.report._outdir`)."""
    rd = out_dir if isinstance(out_dir, ReportDir) else ReportDir.prepare(out_dir)
    out = rd.path
    doc = build_doc(res, docs_url=docs_url, command=command, out_dir=out)
    contents: dict[str, bytes] = {}
    for name, fig in doc.figures.items():
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
        contents[f"{FIGURE_DIR}/{name}"] = buf.getvalue()
    contents["report.md"] = to_markdown(doc).encode("utf-8")
    contents["index.html"] = to_html(doc, "lipbound report").encode("utf-8")
    paths = rd.write_all(contents, stale_dir=FIGURE_DIR)
    return ReportFiles(paths[-1], paths[-2], paths[:-2])
