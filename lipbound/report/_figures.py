"""The report's figures: each function returns a :class:`matplotlib.figure.Figure` (or None when its
data is absent), built without pyplot so that nothing global changes and no window opens.

Conventions of the training curves: one panel per (submodule or modality, fusion), so that fusions
are compared side by side on a shared scale (small multiples); in each panel every trial is a thin
line, and at the epochs where every trial has a value, the mean over trials is a thick line with a
band from the lowest to the highest trial (a band that stays positive on a log axis, unlike mean
+- std). Axes are only as wide as the data; a log scale is used when the values span more than a
decade. A series recorded at a single epoch (the compact results keep the submodules' values at
the final epoch only) has no curve: the figure names it and the tables show it.
"""

from __future__ import annotations

import math
import textwrap
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from ._load import BracketDoc, MvaeDoc, as_float

#: how each kind of Lipschitz number was obtained, in words (titles and captions)
KIND_WORDS = {"certified-upper": "certified upper bounds",
              "certified-local-upper": "certified upper bounds on the domain only", "lower": "sampled lower bounds (attained by evaluations)",
              "heuristic": "heuristic estimates (the paper's estimator, Section 4.6)"}
#: the legend text of the training curves' band (tests look for it)
BAND_LABEL = "band: lowest to highest trial"

#: colours per bound kind in bracket charts
KIND_COLOURS = {"certified-upper": "tab:red", "certified-local-upper": "tab:purple", "lower": "tab:blue",
                "heuristic": "tab:orange"}
#: the label of the ratio = 1 line of the ledger figures (measured = bound; tests look for it)
RATIO_ONE_LABEL = "ratio = 1 (measured = bound)"
#: how each kind of case is drawn in the ledger figures (:func:`case_category`): scatter keywords and legend text
CASE_STYLES: dict[str, dict[str, Any]] = {
    "holds": {"draw": {"marker": "o", "color": "tab:blue", "s": 16}, "legend": "case holds"},
    "expected": {"draw": {"marker": "D", "color": "tab:orange", "s": 22},
                 "legend": "case fails, as the ledger expects (reading expected to fail)"},
    "unexpected": {"draw": {"marker": "X", "color": "red", "s": 40},
                   "legend": "case fails, UNEXPECTED (reading expected to hold)"},
    "open": {"draw": {"marker": "s", "color": "tab:purple", "s": 20},
             "legend": "case fails, open reading (the ledger makes no prediction)"},
    "undecided": {"draw": {"marker": "P", "color": "0.5", "s": 22}, "legend": "case undecided"},
}


def _legend(ax: Any, **kw: Any) -> None:
    """A legend when the axes has labelled artists (matplotlib warns on an empty one)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kw)


def _adjust(fig: Figure, left: float = 0.8, right: float = 0.25, top: float = 0.65, bottom: float = 0.6,
            hspace: float = 0.6, wspace: float = 0.4) -> Figure:
    """Fixed margins in inches (a layout engine costs more time than drawing the figure itself)."""
    w, h = fig.get_size_inches()
    fig.subplots_adjust(left=min(left / w, 0.45), right=1 - right / w, top=1 - top / h, bottom=min(bottom / h, 0.4),
                        hspace=hspace, wspace=wspace)
    return fig


def _grid(n: int, ncols: int = 3, size: tuple[float, float] = (4.2, 3.2)) -> tuple[Figure, list[Any]]:
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows))
    axes = [fig.add_subplot(nrows, ncols, k + 1) for k in range(n)]
    return fig, axes


def case_ratio(measured: float, bound: float) -> float:
    """measured / bound of one case, as :attr:`lipbound.claims.Outcome.ratio` computes it: a zero
    bound gives 1 when the measured side is 0 too, else infinity; NaN when a side is NaN.

    >>> case_ratio(1.0, 2.0), case_ratio(0.0, 0.0), case_ratio(3.0, 0.0), case_ratio(1.0, math.inf)
    (0.5, 1.0, inf, 0.0)
    """
    if math.isnan(measured) or math.isnan(bound):
        return math.nan
    if bound == 0.0:
        return 1.0 if measured == 0.0 else math.inf
    if math.isinf(measured) and math.isinf(bound):
        return math.nan
    return measured / bound


def case_category(row: dict[str, Any], case: dict[str, Any]) -> str:
    """How one case of a ledger row is drawn: ``holds``; a failing case of a reading the ledger
    expects to fail (``expected``: the refutation the paper's wording predicts), of one it expects
    to hold (``unexpected``: a problem, ``lipbound verify`` exits 1), of an open reading (``open``);
    or ``undecided`` (the evaluator could not decide the case).

    >>> case_category({"expected": False}, {"ok": False}), case_category({"expected": True}, {"ok": False})
    ('expected', 'unexpected')
    """
    if case.get("decided") is False:
        return "undecided"
    if case.get("ok", True):
        return "holds"
    exp = row.get("expected")
    return "open" if exp is None else ("unexpected" if exp else "expected")


def _ratio_limits(finite: np.ndarray) -> tuple[bool, float, float, bool]:
    """``(log, low, high, shows_one)`` for a panel of ratios: log scale when the positive ratios span
    more than two decades, limits as wide as the data, widened to take in ratio = 1 only when 1 is
    within a factor of ten of the data (else the panel says where 1 lies)."""
    pos = finite[finite > 0]
    log = bool(pos.size and finite.min() >= 0 and pos.max() / pos.min() > 100)
    if finite.size == 0:
        lo = hi = 1.0
    elif log:
        lo, hi = float(pos.min()), float(pos.max())
    else:
        lo, hi = float(finite.min()), float(finite.max())
    # every ratio 0 (an exact identity): the scale from 0 to 1 says so best
    one = lo <= 1.0 <= hi or (1.0 > hi > 0 and 1.0 <= 10 * hi) or (1.0 < lo <= 10) or lo == hi == 0
    if one:
        lo, hi = min(lo, 1.0), max(hi, 1.0)
    if log:
        f = 1.3 if hi > lo else 2.0
        return True, lo / f, hi * f, one
    pad = 0.05 * (hi - lo) if hi > lo else 0.1 * max(abs(hi), 1e-300)
    return False, lo - pad, hi + pad, one


def _sources(cases: list[dict[str, Any]]) -> str:
    """The x label of a ledger panel: case order, and where the cases come from when few sources."""
    counts: dict[str, int] = {}
    for c in cases:
        counts[str(c.get("label") or "case")] = counts.get(str(c.get("label") or "case"), 0) + 1
    if len(counts) <= 4 and all(len(k) <= 28 for k in counts):
        return "case, in evaluation order\n(" + ", ".join(f"{n} {k}" for k, n in counts.items()) + ")"
    return f"case, in evaluation order ({len(cases)} cases)"


def bound_vs_measured_figure(claim: str, rows: list[dict[str, Any]]) -> Figure | None:
    """Small multiples of one claim's readings: one panel per reading, the ratio measured / bound
    of every evaluated case (y) in evaluation order (x), and the line ratio = 1 (:data:`RATIO_ONE_LABEL`):
    a case on or below it satisfies ``measured <= bound`` (for identities: discrepancy within the
    tolerance). Failing cases are drawn by what the ledger expects of the reading
    (:func:`case_category`, :data:`CASE_STYLES`): an expected refutation (the paper's wording is
    refuted as the ledger predicts) is an orange diamond, an UNEXPECTED one a red cross and its panel
    is framed in red, a failing case of an open reading a purple square.

    Each panel's scale is as wide as its data (:func:`_ratio_limits`): log when the positive
    ratios span more than two decades, with ratios of 0 drawn on the lower edge and infinite ones on
    the upper edge (triangles); ratio = 1 is shown when it lies within a factor of ten of the data,
    else a note in the panel says on which side it lies. Uses the rows' ``cases_data`` (see
    :attr:`lipbound.claims.Row.cases_data`); cases with a NaN ratio and rows with status
    ``skipped`` (not checked: no cases) are left out, their counts in the title.

    >>> fig = bound_vs_measured_figure("c", [{"reading": "r", "status": "refuted", "expected": False, "cases_data": [
    ...     {"measured": 1.0, "bound": 2.0, "ok": True}, {"measured": 3.0, "bound": 2.0, "ok": False}]}])
    >>> len(fig.axes), [c.get_label() for c in fig.axes[0].collections] == ["holds", "expected"]
    (1, True)
    """
    from ..claims._ledger import is_unexpected
    from ..cli import expected_label

    panels = []
    dropped = 0
    skipped = sum(r.get("status") == "skipped" for r in rows)
    for r in rows:
        cases = []
        for c in r.get("cases_data") or []:
            q = case_ratio(as_float(c.get("measured")), as_float(c.get("bound")))
            if math.isnan(q):
                dropped += 1
            else:
                cases.append((q, case_category(r, c), c))
        if cases:
            panels.append((r, cases))
    if not panels:
        return None
    ncols = min(3, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig = Figure(figsize=(4.3 * ncols, 3.3 * nrows + 1.3))
    counts: dict[str, int] = defaultdict(int)
    edges = False
    for k, (r, cases) in enumerate(panels):
        ax = fig.add_subplot(nrows, ncols, k + 1)
        q = np.array([c[0] for c in cases])
        x = np.arange(1, len(cases) + 1)
        finite = q[np.isfinite(q)]
        log, lo, hi, one = _ratio_limits(finite)
        if log:
            ax.set_yscale("log")
        # ratios a log axis cannot place (0) and infinite ones go on the panel's edges
        low_edge = (q <= 0) if log else np.zeros(len(q), bool)
        high_edge = np.isinf(q)
        y = np.where(low_edge, lo, np.where(high_edge, hi, q))
        cats = np.array([c[1] for c in cases])
        for cat, style in CASE_STYLES.items():
            sel = cats == cat
            if not sel.any():
                continue
            counts[cat] += int(sel.sum())
            inside = sel & ~low_edge & ~high_edge
            ax.scatter(x[inside], y[inside], label=cat, zorder=3, clip_on=False, **style["draw"])
            for mask, marker in ((sel & low_edge, "v"), (sel & high_edge, "^")):
                if mask.any():
                    edges = True
                    ax.scatter(x[mask], y[mask], label=f"{cat} (on the edge)", zorder=3, clip_on=False,
                               **{**style["draw"], "marker": marker})
        ax.set_ylim(lo, hi)
        ax.set_xlim(0.5, len(cases) + 0.5)
        if one:
            ax.axhline(1.0, color="k", ls="--", lw=1, label=RATIO_ONE_LABEL)
        elif finite.size:
            side = "above" if finite.max() < 1 else "below"
            ref = finite.max() if side == "above" else finite.min()
            ax.text(0.02, 0.97 if side == "above" else 0.03, f"ratio = 1 lies {side} this panel\n"
                    f"({'largest' if side == 'above' else 'smallest'} ratio {ref:.3g})", transform=ax.transAxes,
                    fontsize=7, va="top" if side == "above" else "bottom", color="0.25")
        unexpected = is_unexpected(r)
        status = str(r.get("status"))
        exp = expected_label(r.get("expected"), r.get("kind") or "universal")
        ax.set_title(f"{r.get('reading')}\n{status}{' (UNEXPECTED)' if unexpected else ''}, expected: {exp}",
                     fontsize=8, color="red" if unexpected else "black")
        if unexpected:
            for spine in ax.spines.values():
                spine.set_edgecolor("red")
                spine.set_linewidth(2)
        ax.set_xlabel(_sources([c[2] for c in cases]), fontsize=7)
        ax.set_ylabel("measured / bound" + (" (log)" if log else ""), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=8))
    seeds = sorted({r.get("seed") for r, _ in panels if r.get("seed") is not None})
    title = f"{claim}: measured / bound per evaluated case, one panel per reading"
    if seeds:
        title += f" (seed {', '.join(map(str, seeds))})"
    notes = []
    if dropped:
        notes.append(f"{dropped} case{'s' if dropped > 1 else ''} with an undefined ratio (NaN) left out")
    if skipped:
        notes.append(f"{skipped} reading{'s' if skipped > 1 else ''} skipped: not checked, data absent")
    if notes:
        title += "\n(" + "; ".join(notes) + ")"
    fig.suptitle(title, fontsize=10)
    handles = [Line2D([], [], ls="none", **{kk: v for kk, v in CASE_STYLES[cat]["draw"].items() if kk != "s"},
                      markersize=7, label=f"{CASE_STYLES[cat]['legend']} ({counts[cat]})")
               for cat in CASE_STYLES if counts[cat]]
    handles.append(Line2D([], [], color="k", ls="--", lw=1, label=RATIO_ONE_LABEL + ": on or below holds"))
    if edges:
        handles.append(Line2D([], [], ls="none", marker="v", color="0.4",
                              label="triangles: ratio 0 (log panel) or infinite, drawn on the panel's edge"))
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=7, frameon=False)
    return _adjust(fig, top=0.75 + 0.2 * bool(notes), bottom=1.4 + 0.3 * (len(handles) > 4), hspace=0.8, wspace=0.35)


def bracket_figure(doc: BracketDoc) -> Figure:
    """One model's bracket: each bound as a point on a log axis (colour = kind), the interval from
    the best lower to the best certified upper bound shaded (the true constant lies in it).

    >>> d = BracketDoc("x.json", "m", [2], [{"method": "spectral-product", "kind": "certified-upper",
    ...     "value": 2.0}, {"method": "pgd", "kind": "lower", "value": 1.0}])
    >>> len(bracket_figure(d).axes[0].collections)
    2
    """
    rows = [r for r in doc.results if math.isfinite(as_float(r.get("value"))) and as_float(r["value"]) > 0]
    fig = Figure(figsize=(6.4, 0.5 * max(len(rows), 2) + 2.0))
    ax = fig.add_subplot()
    for kind, colour in KIND_COLOURS.items():
        idx = [k for k, r in enumerate(rows) if r.get("kind") == kind]
        if idx:
            ax.scatter([as_float(rows[k]["value"]) for k in idx], idx, c=colour, s=50, label=kind, zorder=3)
    ups = [as_float(r["value"]) for r in rows if r.get("kind") == "certified-upper"]
    los = [as_float(r["value"]) for r in rows if r.get("kind") == "lower"]
    if ups and los:
        ax.axvspan(max(los), min(ups), color="tab:green", alpha=0.15, label="bracket [best lower, best upper]")
    ax.set_yticks(range(len(rows)), [f"{r.get('method')} ({r.get('kind')})" for r in rows], fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("Lipschitz constant bound (log scale)")
    ax.set_title(f"bracket: {doc.model}", fontsize=10)
    _legend(ax, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2)
    return _adjust(fig, left=2.8, top=0.4, bottom=1.25)


def radius_sweep_figure(doc: BracketDoc) -> Figure:
    """``lipbound bound --radii``: the certified local bound and the PGD lower bound on the same ball
    against its radius (log-log), the global certified bound dashed; right panel, their ratio
    (1 = the bracket on the ball is closed).

    >>> d = BracketDoc("x.json", "m", [2], [], sweep=[{"radius": 0.1, "local": 1.0, "pgd": 1.0, "global": 2.0},
    ...     {"radius": 1.0, "local": 1.5, "pgd": 1.2, "global": 2.0}])
    >>> [len(ax.lines) for ax in radius_sweep_figure(d).axes]
    [3, 2]
    """
    rows = sorted(doc.sweep, key=lambda r: as_float(r["radius"]))
    rad = [as_float(r["radius"]) for r in rows]
    loc = [as_float(r["local"]) for r in rows]
    low = [as_float(r["pgd"]) for r in rows]
    fig = Figure(figsize=(8.0, 3.2))
    ax, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    ax.plot(rad, loc, "o-", color=KIND_COLOURS["certified-upper"], label="certified local (lipsdp-local)")
    ax.plot(rad, low, "s-", color=KIND_COLOURS["lower"], label="lower (pgd on the ball)")
    glob = [as_float(r.get("global", math.nan)) for r in rows]
    ax.plot(rad, glob, "--", color="grey", label="certified global (best)")
    ax.set_xscale("log")
    if max(loc + low) / max(min(v for v in loc + low if v > 0), 1e-300) > 100:
        ax.set_yscale("log")
    ax.set_xlabel("ball radius")
    ax.set_ylabel("Lipschitz constant on the ball")
    _legend(ax, fontsize=7)
    ax2.plot(rad, [a / b if b > 0 else math.nan for a, b in zip(loc, low)], "o-", color="black",
             label="certified local / lower")
    ax2.axhline(1.0, color="tab:green", lw=0.8, label="1 = bracket closed")
    ax2.set_xscale("log")
    ax2.set_xlabel("ball radius")
    ax2.set_ylabel("ratio")
    _legend(ax2, fontsize=7)
    fig.suptitle(f"local bracket by radius: {doc.model}", fontsize=10)
    return _adjust(fig, left=0.9, top=0.5, bottom=0.7)


def _select(records: Iterable[dict[str, Any]], **eq: Any) -> list[dict[str, Any]]:
    return [r for r in records if all(r.get(k) == v for k, v in eq.items())]


def main_lam(records: list[dict[str, Any]], dataset: str, fusion: str) -> float:
    """The lambda of the curves for one (dataset, fusion), so that ablation runs at other lambdas do
    not mix into the training curves: that of the runs at the default lambda (run ids
    ``<dataset>__<fusion>__lamdef__t<trial>``, see ``docs/experiments.md``), else the one with the
    most runs (ties: the smallest)."""
    runs: dict[float, set[str]] = defaultdict(set)
    for r in records:
        if r["dataset"] == dataset and r["fusion"] == fusion:
            runs[r["lam"]].add(r["run_id"])
    default = [lam for lam, ids in runs.items() if any("__lamdef__" in i for i in ids)]
    if len(default) == 1:
        return default[0]
    return min(runs, key=lambda lam: (-len(runs[lam]), lam))


def curves(records: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Mean over runs per epoch, at the epochs where every run of ``records`` has a value:
    ``{"epoch", "mean", "low", "high", "n"}`` arrays (``low``/``high``: the lowest and highest run)."""
    by_epoch: dict[int, dict[str, float]] = defaultdict(dict)
    for r in records:
        by_epoch[int(r["epoch"])][r["run_id"]] = r["value"]
    runs = {r["run_id"] for r in records}
    ep = np.array(sorted(e for e, v in by_epoch.items() if len(v) == len(runs)), dtype=int)
    vals = [np.array(list(by_epoch[e].values()), dtype=float) for e in ep]
    return {"epoch": ep, "mean": np.array([v.mean() for v in vals]), "low": np.array([v.min() for v in vals]),
            "high": np.array([v.max() for v in vals]), "n": np.array([len(v) for v in vals], dtype=int)}


def _runs(records: list[dict[str, Any]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{run_id: (epochs, values)}``, epochs sorted."""
    by_run: dict[str, dict[int, float]] = defaultdict(dict)
    for r in records:
        by_run[r["run_id"]][int(r["epoch"])] = float(r["value"])
    return {k: (np.array(sorted(v)), np.array([v[e] for e in sorted(v)])) for k, v in sorted(by_run.items())}


def _band(ax: Any, records: list[dict[str, Any]], label: str, **kw: Any) -> np.ndarray:
    """Every trial as a thin line, and the mean over trials with a lowest-to-highest band where all
    trials have a value (:func:`curves`); returns every value drawn (for the axis limits)."""
    if not records:
        return np.zeros(0)
    runs = _runs(records)
    c = curves(records)
    colour = kw.pop("color", None)
    ls = kw.pop("ls", "-")
    if len(runs) > 1:
        for ep, v in runs.values():
            ax.plot(ep, v, color=colour, ls=ls, lw=0.8, alpha=0.5, gid="trial",
                    marker="." if ep.size <= 20 else None, markersize=3)
    if c["epoch"].size:
        (line,) = ax.plot(c["epoch"], c["mean"], label=label, color=colour, ls=ls, lw=1.6,
                          marker="o" if c["epoch"].size <= 20 else None, markersize=3, **kw)
        if len(runs) > 1:
            ax.fill_between(c["epoch"], c["low"], c["high"], color=line.get_color(), alpha=0.2, lw=0)
    return np.concatenate([v for _, v in runs.values()])


def _limits(ax: Any, values: np.ndarray, log_ok: bool = True) -> None:
    """y limits as wide as ``values`` (5% padding, a factor 1.15 on a log axis); a log scale when
    ``log_ok`` and the positive values span more than a decade."""
    v = values[np.isfinite(values)]
    if v.size == 0:
        return
    lo, hi = float(v.min()), float(v.max())
    if log_ok and lo > 0 and hi / lo > 10:
        ax.set_yscale("log")
        ax.set_ylim(lo / 1.15, hi * 1.15)
        return
    pad = 0.05 * (hi - lo) if hi > lo else 0.05 * max(abs(hi), 1e-12)
    ax.set_ylim(lo - pad, hi + pad)


def _fusions(records: list[dict[str, Any]]) -> list[str]:
    return sorted({r["fusion"] for r in records})


def _main_records(records: list[dict[str, Any]], dataset: str) -> list[dict[str, Any]]:
    out = []
    for f in _fusions(_select(records, dataset=dataset)):
        lam = main_lam(records, dataset, f)
        out += [r for r in records if r["dataset"] == dataset and r["fusion"] == f and r["lam"] == lam]
    return out


def _over_time(records: list[dict[str, Any]]) -> bool:
    """True when some run of ``records`` has values at two or more epochs (a curve to draw)."""
    epochs: dict[str, set[int]] = defaultdict(set)
    for r in records:
        epochs[r["run_id"]].add(int(r["epoch"]))
    return any(len(e) > 1 for e in epochs.values())


def _trials(records: list[dict[str, Any]]) -> str:
    """``"5 trials (0-4)"``: the trials of ``records``, for titles."""
    t = sorted({int(r["trial"]) for r in records if r.get("trial") is not None})
    if not t:
        n = len({r["run_id"] for r in records})
        return f"{n} run{'s' if n != 1 else ''}"
    ids = f"{t[0]}-{t[-1]}" if t == list(range(t[0], t[-1] + 1)) and len(t) > 2 else ", ".join(map(str, t))
    return f"{len(t)} trial{'s' if len(t) != 1 else ''} ({ids})"


def _small_multiples(rows: list[Any], fusions: list[str], size: tuple[float, float] = (3.0, 2.3)
                     ) -> tuple[Figure, dict[tuple[Any, str], Any]]:
    """A grid of one panel per (item of ``rows``, fusion): one row per item and one column per
    fusion, or, for a single item, the fusions wrapped three to a row. The panels of an item share
    their y axis (the fusions compared on one scale)."""
    ncols = len(fusions) if len(rows) > 1 else min(3, len(fusions))
    nrows = len(rows) * math.ceil(len(fusions) / ncols)
    fig = Figure(figsize=(size[0] * ncols + 1.0, size[1] * nrows + 1.7))
    axes: dict[tuple[Any, str], Any] = {}
    k = 0
    for row in rows:
        first = None
        for j, f in enumerate(fusions):
            k += 1
            ax = fig.add_subplot(nrows, ncols, k, sharey=first)
            first = first or ax
            axes[(row, f)] = ax
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if j % ncols:
                ax.tick_params(which="both", labelleft=False)
    return fig, axes


def _curve_legend(fig: Figure, entries: list[tuple[str, str, str]], note: str) -> None:
    """The figure's legend: (colour, line style, label) per mean curve, then the band and the single
    trials; ``note`` (what is not drawn) under it."""
    handles = [Line2D([], [], color=c, ls=ls, lw=1.6, label=label) for c, ls, label in entries]
    handles += [Patch(color="0.5", alpha=0.3, label=BAND_LABEL),
                Line2D([], [], color="0.5", lw=0.8, alpha=0.7, label="thin lines: single trials")]
    h = fig.get_size_inches()[1]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 4), fontsize=7, frameon=False,
               bbox_to_anchor=(0.5, (0.3 if note else 0.05) / h))
    if note:
        fig.text(0.5, 0.08 / h, note, ha="center", va="bottom", fontsize=7, color="0.3")


def lipschitz_curves_figure(records: list[dict[str, Any]], dataset: str, kind: str) -> Figure | None:
    """Lipschitz constants over training for the records of one ``kind`` (``certified-upper``,
    ``lower`` or ``heuristic``, :data:`KIND_WORDS`; kinds are never mixed in a figure): one row
    per (submodule, method), one column per fusion (shared y axis along a row), each trial a thin
    line, the mean over trials with the band from the lowest to the highest trial. The title says how
    the values were obtained (kind, methods) and over which trials. Submodules recorded at one epoch
    only (the compact results keep them at the final epoch) are named in a note, not drawn."""
    recs = [r for r in _main_records(records, dataset) if r["metric"] == "lipschitz" and r.get("kind") == kind]
    keys = sorted({(r["submodule"], r.get("method", "")) for r in recs})
    drawn = [k for k in keys if _over_time([r for r in recs if (r["submodule"], r.get("method", "")) == k])]
    if not drawn:
        return None
    fusions = _fusions(recs)
    fig, axes = _small_multiples(drawn, fusions)
    for sub, method in drawn:
        row = [r for r in recs if r["submodule"] == sub and r.get("method", "") == method]
        values = [_band(axes[((sub, method), f)], _select(row, fusion=f), "mean over trials", color="C0")
                  for f in fusions]
        for f in fusions:
            ax = axes[((sub, method), f)]
            ax.set_title(f"{f}: {sub}", fontsize=8)
            ax.set_xlabel("epoch", fontsize=8)
            ax.tick_params(which="both", labelsize=7)
        _limits(axes[((sub, method), fusions[0])], np.concatenate(values))
        for f in fusions[:: 3 if len(drawn) == 1 else len(fusions)]:  # the first column
            axes[((sub, method), f)].set_ylabel(f"Lipschitz ({kind})\n" + textwrap.fill(method, 28), fontsize=7)
    others = sorted({k[0] for k in keys} - {k[0] for k in drawn})
    note = (f"Recorded at one epoch only, not drawn (see the tables): {', '.join(others)}." if others else "")
    _curve_legend(fig, [("C0", "-", "mean over trials")], note)
    fig.suptitle(f"{dataset}: Lipschitz constant over training: {KIND_WORDS.get(kind, kind)}, "
                 f"{', '.join(sorted({m for _, m in drawn}))}\none panel per (submodule, fusion); "
                 f"{_trials(recs)}", fontsize=9)
    return _adjust(fig, left=1.1, top=0.75, bottom=1.0 + 0.25 * bool(note), hspace=0.6, wspace=0.12)


def _loss_panels(records: list[dict[str, Any]]) -> list[str]:
    mods = sorted({r["submodule"] for r in records if r["submodule"].startswith("modality:")})
    if any(r["submodule"] == "model" for r in records):
        mods.append("model")
    return mods


def loss_curves_figure(records: list[dict[str, Any]], dataset: str) -> Figure | None:
    """Train (solid) and test (dashed) loss over training: one row per modality (and the whole
    model), one column per fusion (shared y axis along a row), each trial a thin line, the mean over
    trials with the band from the lowest to the highest trial. Modalities recorded at one epoch only
    (compact results) are named in a note, not drawn."""
    recs = [r for r in _main_records(records, dataset) if r["metric"] in ("train_loss", "test_loss")]
    subs = _loss_panels(recs)
    panels = [s for s in subs if _over_time(_select(recs, submodule=s))]
    if not panels:
        return None
    fusions = _fusions(recs)
    fig, axes = _small_multiples(panels, fusions)
    for sub in panels:
        values = []
        for f in fusions:
            ax = axes[(sub, f)]
            values.append(_band(ax, _select(recs, submodule=sub, fusion=f, metric="train_loss"), "train: mean over trials",
                                color="C0"))
            values.append(_band(ax, _select(recs, submodule=sub, fusion=f, metric="test_loss"), "test: mean over trials",
                                color="C1", ls="--"))
            ax.set_title(f"{f}: {'combined (model)' if sub == 'model' else sub}", fontsize=8)
            ax.set_xlabel("epoch", fontsize=8)
            ax.tick_params(which="both", labelsize=7)
        _limits(axes[(sub, fusions[0])], np.concatenate(values))
        for f in fusions[:: 3 if len(panels) == 1 else len(fusions)]:  # the first column
            axes[(sub, f)].set_ylabel("loss", fontsize=8)
    others = [s for s in subs if s not in panels]
    note = (f"Recorded at the final epoch only, not drawn (see the final-loss table and boxplots): {', '.join(others)}."
            if others else "")
    _curve_legend(fig, [("C0", "-", "train loss: mean over trials"), ("C1", "--", "test loss: mean over trials")], note)
    methods = sorted({str(r.get("method")) for r in recs if r["submodule"] in panels and r.get("method")})
    fig.suptitle(f"{dataset}: train (solid) and test (dashed) loss over training, one panel per (modality, fusion); "
                 f"{_trials(recs)}\nloss: {'; '.join(methods) or 'as recorded'}", fontsize=9)
    return _adjust(fig, left=0.9, top=0.75, bottom=1.0 + 0.25 * bool(note), hspace=0.6, wspace=0.12)


def final_values(records: list[dict[str, Any]]) -> dict[str, float]:
    """The value at the last epoch of each run: ``{run_id: value}``."""
    last: dict[str, tuple[int, float]] = {}
    for r in records:
        e = int(r["epoch"])
        if r["run_id"] not in last or e >= last[r["run_id"]][0]:
            last[r["run_id"]] = (e, r["value"])
    return {k: v for k, (_, v) in last.items()}


def final_loss_boxplots_figure(records: list[dict[str, Any]], dataset: str) -> Figure | None:
    """Boxplots of the final train (top row) and test (bottom row) loss per modality, one box per
    fusion, over trials."""
    recs = [r for r in _main_records(records, dataset) if r["metric"] in ("train_loss", "test_loss")]
    panels = _loss_panels(recs)
    if not panels:
        return None
    fusions = _fusions(recs)
    fig = Figure(figsize=(3.6 * len(panels), 6.0))
    for row, metric in enumerate(("train_loss", "test_loss")):
        for k, sub in enumerate(panels):
            ax = fig.add_subplot(2, len(panels), row * len(panels) + k + 1)
            data = [list(final_values(_select(recs, submodule=sub, fusion=f, metric=metric)).values()) for f in fusions]
            keep = [(f, d) for f, d in zip(fusions, data, strict=True) if d]
            if keep:
                ax.boxplot([d for _, d in keep], tick_labels=[f for f, _ in keep])
            ax.set_title(f"{'combined' if sub == 'model' else sub}: final {metric.replace('_', ' ')}", fontsize=9)
            ax.set_ylabel("loss")
    fig.suptitle(f"{dataset}: final losses over trials", fontsize=10)
    return _adjust(fig)


def lambda_ablation_figure(records: list[dict[str, Any]], dataset: str) -> Figure | None:
    """Final Lipschitz constant (of the submodule ``model`` when recorded, else of every submodule;
    one line per submodule, kind and method) and parameter norm against lambda, log-log, mean with +-1 std error bars over trials, for each fusion trained
    at two or more positive lambdas. Lambda = 0 has no place on a log axis and is left out."""
    ds = _select(records, dataset=dataset)
    fusions = [f for f in _fusions(ds) if len({r["lam"] for r in ds if r["fusion"] == f and r["lam"] > 0}) >= 2]
    if not fusions:
        return None
    fig = Figure(figsize=(11.5, 3.8 * len(fusions)))
    for k, f in enumerate(fusions):
        recs = [r for r in ds if r["fusion"] == f and r["lam"] > 0]
        # the whole model's values when recorded (one line per kind/method), else every submodule's
        has_model = {m: any(r["metric"] == m and r["submodule"] == "model" for r in recs) for m in ("lipschitz", "param_norm")}
        for j, metric in enumerate(("lipschitz", "param_norm")):
            ax = fig.add_subplot(len(fusions), 2, 2 * k + j + 1)
            keys = sorted({(r["submodule"], r.get("kind", ""), r.get("method", "")) for r in recs if r["metric"] == metric
                           and (r["submodule"] == "model" or not has_model[metric])})
            for sub, kind, method in keys:
                pts = []
                for lam in sorted({r["lam"] for r in recs}):
                    fin = np.array(list(final_values([r for r in recs if r["metric"] == metric and r["lam"] == lam
                                                      and r["submodule"] == sub and r.get("kind", "") == kind
                                                      and r.get("method", "") == method]).values()))
                    if fin.size:
                        pts.append((lam, fin.mean(), fin.std()))
                if pts:
                    a = np.array(pts)
                    label = sub if metric == "param_norm" else f"{sub} ({kind}, {method})"
                    ax.errorbar(a[:, 0], a[:, 1], yerr=a[:, 2], marker="o", capsize=3, label=label)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("lambda (log scale)")
            ax.set_ylabel("Lipschitz constant" if metric == "lipschitz" else "parameter norm")
            ax.set_title(f"{f}: final {metric.replace('_', ' ')} vs lambda", fontsize=9)
            _legend(ax, fontsize=6)
    fig.suptitle(f"{dataset}: lambda ablation (Section 5.9; mean +-1 std over trials)", fontsize=10)
    return _adjust(fig, left=1.2, wspace=0.45)


def reconstruction_figure(inputs: np.ndarray, outputs: np.ndarray, title: str, max_samples: int = 4) -> Figure:
    """Test samples of one modality: inputs (top row), reconstructions (middle) and the pixel-wise
    absolute error averaged over channels as a heat map (bottom, shared colour scale with a colour
    bar). Images are ``(N, C, H, W)`` in [0, 1]; other arrays are drawn as curves (input and
    reconstruction overlaid, bottom row the absolute error).

    >>> x = np.zeros((2, 1, 4, 4)); y = x + 0.1
    >>> len(reconstruction_figure(x, y, "t").axes)
    7
    """
    n = min(max_samples, len(inputs))
    if inputs.ndim == 4:
        fig = Figure(figsize=(2.2 * n + 1.6, 6.4))
        err = np.abs(outputs[:n] - inputs[:n]).mean(axis=1)
        vmax = float(err.max()) if err.size and err.max() > 0 else 1.0
        im = None
        for k in range(n):
            for row, (img, label) in enumerate(((inputs[k], "input"), (outputs[k], "reconstruction"))):
                ax = fig.add_subplot(3, n, row * n + k + 1)
                pic = np.clip(np.moveaxis(img, 0, -1), 0, 1)
                ax.imshow(pic[..., 0] if pic.shape[-1] == 1 else pic[..., :3], cmap="gray" if pic.shape[-1] == 1 else None,
                          vmin=0, vmax=1)
                ax.set_axis_off()
                ax.set_title(f"{label} {k}", fontsize=8)
            ax = fig.add_subplot(3, n, 2 * n + k + 1)
            im = ax.imshow(err[k], cmap="inferno", vmin=0, vmax=vmax)
            ax.set_axis_off()
            ax.set_title(f"|error| {k}", fontsize=8)
        _adjust(fig, left=0.2, right=1.2, hspace=0.3, wspace=0.15)  # before the colour bar takes its room
        fig.colorbar(im, ax=fig.axes[-n:], shrink=0.8, label="mean |pixel error|")
        fig.suptitle(title, fontsize=10)
        return fig
    fig = Figure(figsize=(3.2 * n, 4.6))
    for k in range(n):
        x, y = inputs[k].reshape(-1), outputs[k].reshape(-1)
        ax = fig.add_subplot(2, n, k + 1)
        ax.plot(x, label="input")
        ax.plot(y, "--", label="reconstruction")
        ax.set_title(f"sample {k}", fontsize=8)
        _legend(ax, fontsize=6)
        ax = fig.add_subplot(2, n, n + k + 1)
        ax.plot(np.abs(y - x), color="tab:red")
        ax.set_title(f"|error| {k}", fontsize=8)
        ax.set_xlabel("feature")
    fig.suptitle(title, fontsize=10)
    return _adjust(fig)


def detection_histograms_figure(rows: list[dict[str, Any]], dataset: str) -> Figure | None:
    """Failure detection (Section 5.7): histograms of the Mahalanobis distances of clean and faulty
    samples (pooled over trials) with each trial's threshold as a vertical line, one panel per
    (fusion, corruption)."""
    rows = [r for r in rows if r.get("dataset") == dataset]
    keys = sorted({(r["fusion"], r["corruption"]) for r in rows})
    if not keys:
        return None
    fig, axes = _grid(len(keys))
    for ax, (f, corr) in zip(axes, keys, strict=True):
        sel = [r for r in rows if r["fusion"] == f and r["corruption"] == corr]
        clean = np.array([as_float(v) for r in sel for v in r.get("distances_clean", [])])
        faulty = np.array([as_float(v) for r in sel for v in r.get("distances_faulty", [])])
        both = np.concatenate([clean, faulty])
        both = both[np.isfinite(both)]
        bins = np.linspace(both.min(), both.max(), 30) if both.size and both.max() > both.min() else 10
        ax.hist(clean[np.isfinite(clean)], bins=bins, alpha=0.6, label=f"clean ({clean.size})", color="tab:blue")
        ax.hist(faulty[np.isfinite(faulty)], bins=bins, alpha=0.6, label=f"faulty ({faulty.size})", color="tab:red")
        for k, r in enumerate(sel):
            ax.axvline(as_float(r.get("threshold")), color="k", lw=0.8, ls=":",
                       label="threshold (95th pct. clean)" if k == 0 else None)
        ax.set_title(f"{f} / {corr}", fontsize=9)
        ax.set_xlabel("Mahalanobis distance (kernel-PCA space)")
        ax.set_ylabel("count")
        _legend(ax, fontsize=7)
    fig.suptitle(f"{dataset}: failure-detection distances (pooled over trials)", fontsize=10)
    return _adjust(fig)


def confusion_figure(rows: list[dict[str, Any]], dataset: str) -> Figure | None:
    """Confusion matrices summed over trials, one per (fusion, corruption), with counts written in
    the cells (rows: actual clean/faulty; columns: predicted clean/faulty)."""
    rows = [r for r in rows if r.get("dataset") == dataset and r.get("confusion") is not None]
    keys = sorted({(r["fusion"], r["corruption"]) for r in rows})
    if not keys:
        return None
    fig, axes = _grid(len(keys), ncols=4, size=(3.0, 2.9))
    for ax, (f, corr) in zip(axes, keys, strict=True):
        m = sum(np.array(r["confusion"], dtype=float) for r in rows if r["fusion"] == f and r["corruption"] == corr)
        ax.imshow(m, cmap="Blues")
        for i in range(2):
            for j in range(2):
                ax.text(j, i, f"{int(m[i, j])}", ha="center", va="center", fontsize=9,
                        color="white" if m[i, j] > m.max() / 2 else "black")
        ax.set_xticks([0, 1], ["clean", "faulty"])
        ax.set_yticks([0, 1], ["clean", "faulty"])
        ax.set_xlabel("predicted")
        ax.set_ylabel("actual")
        ax.set_title(f"{f} / {corr}", fontsize=9)
    fig.suptitle(f"{dataset}: confusion matrices (summed over trials)", fontsize=10)
    return _adjust(fig)


def mvae_measures_figure(doc: MvaeDoc) -> Figure | None:
    """The MVAE measures (docs/mvae.md: per-modality single-modality error and loss of precision,
    KL divergences between the full-input and partial-input outputs): one panel per measure, one
    group per modality, in each group one column per schedule with every seed as a dot and the mean
    over seeds as a bar-shaped tick with +-1 std error bars. The y axis is as wide as the data (log
    when the positive values span more than two decades); the title names the seeds and the source's
    definitions.

    >>> d = MvaeDoc("m.json", [{"schedule": "beta1", "seed": k, "modality": "vision", "measure": "kl",
    ...     "value": v} for k, v in enumerate((1.0, 2.0))], [])
    >>> fig = mvae_measures_figure(d)
    >>> [c.get_offsets()[:, 1].tolist() for c in fig.axes[0].collections if c.get_label() == "beta1"]
    [[1.0, 2.0]]
    """
    rows = [r for r in doc.rows if math.isfinite(as_float(r.get("value")))]
    measures = sorted({str(r["measure"]) for r in rows})
    if not measures:
        return None
    fig, axes = _grid(len(measures), ncols=2, size=(5.2, 3.4))
    schedules = sorted({str(r["schedule"]) for r in rows})
    width = 0.8 / max(len(schedules), 1)
    for ax, meas in zip(axes, measures, strict=True):
        sel = [r for r in rows if str(r["measure"]) == meas]
        mods = sorted({str(r["modality"]) for r in sel})
        values = np.array([as_float(r["value"]) for r in sel])
        for k, s in enumerate(schedules):
            xs, ys, means, stds, centres = [], [], [], [], []
            for i, m in enumerate(mods):
                v = np.array([as_float(r["value"]) for r in sel if str(r["schedule"]) == s and str(r["modality"]) == m])
                if not v.size:
                    continue
                c = i + (k - (len(schedules) - 1) / 2) * width
                xs += list(c + np.linspace(-0.25, 0.25, v.size) * width if v.size > 1 else [c])
                ys += list(v)
                centres.append(c)
                means.append(v.mean())
                stds.append(v.std())
            colour = f"C{k}"
            ax.scatter(xs, ys, s=14, color=colour, alpha=0.8, zorder=3, label=s)
            ax.errorbar(centres, means, yerr=stds, fmt="_", markersize=18, mew=2, color=colour, capsize=3, zorder=2,
                        label=f"_{s} mean")
        ax.set_xticks(range(len(mods)), mods, fontsize=8)
        ax.set_xlim(-0.6, len(mods) - 0.4)
        pos = values[values > 0]
        if pos.size == values.size and pos.size and pos.max() / pos.min() > 100:
            ax.set_yscale("log")
            ax.set_ylim(pos.min() / 1.3, pos.max() * 1.3)
        else:
            lo, hi = float(values.min()), float(values.max())
            pad = 0.08 * (hi - lo) if hi > lo else 0.1 * max(abs(hi), 1e-12)
            ax.set_ylim(lo - pad, hi + pad)
        ax.set_title(meas, fontsize=9)
        ax.set_ylabel("value", fontsize=8)
        _legend(ax, fontsize=6, title="schedule (dot: one seed)", title_fontsize=6)
    seeds = sorted({r.get("seed") for r in rows if r.get("seed") is not None})
    defs = doc.meta.get("definitions") if isinstance(doc.meta, dict) else None
    fig.suptitle(f"MVAE measures per modality: each dot one seed, tick and error bar the mean +-1 std over seeds "
                 f"{', '.join(map(str, seeds)) or '-'}" + (f"\n{textwrap.shorten(str(defs), 150)}" if defs else ""),
                 fontsize=9)
    return _adjust(fig, top=0.75 if defs else 0.6)
