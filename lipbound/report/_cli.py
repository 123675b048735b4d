"""``lipbound report [RESULTS...] -o DIR``: the HTML + Markdown report of result files."""

from __future__ import annotations

import argparse
import shlex

from .._args import int_range

#: the resolution range of the figures: below 10 dpi nothing is legible; above 600 a figure of the
#: report (up to about 13 x 12 inches) becomes a PNG of tens of megapixels and memory grows with it
DPI_RANGE = (10, 600)


def _cmd_report(args: argparse.Namespace) -> int:
    from ._load import ReportInputError, load_results
    from ._outdir import ReportDir
    from ._render import write_report

    out = ReportDir.prepare(args.output, "-o")  # before reading anything: a refused folder costs nothing
    res = load_results(args.results)
    if res.empty():
        raise ReportInputError(
            "no results found in " + ", ".join(args.results)
            + " (expected lipbound verify/bound/mvae JSON files or a lipbound train/reproduce results directory)")
    command = "lipbound report " + " ".join(shlex.quote(a) for a in args.results) + f" -o {shlex.quote(args.output)}"
    if args.docs_url:
        command += f" --docs-url {shlex.quote(args.docs_url)}"
    files = write_report(res, out, docs_url=args.docs_url, command=command, dpi=args.dpi)
    print(f"wrote {files.html} and {files.markdown} with {len(files.figures)} figures")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` subcommand."""
    p = subparsers.add_parser(
        "report", help="write an HTML + Markdown report of result files",
        description="Write DIR/index.html (self-contained: inline CSS, figures in DIR/figures/) and DIR/report.md "
                    "from result files, recognised by content: lipbound verify --json rows, lipbound bound --json "
                    "brackets, lipbound mvae measures --json, lipbound train/reproduce results directories, or "
                    "directories holding them. DIR must be new, empty, or a report folder lipbound made (it holds "
                    "the manifest .lipbound-report): lipbound never replaces or deletes a file it did not write.")
    p.add_argument("results", nargs="+", metavar="RESULTS", help="result files or directories")
    p.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="output directory: new, empty, or made by lipbound")
    p.add_argument("--docs-url", metavar="URL", default=None,
                   help="base URL (or path) of a built docs site for the claims' links, e.g. build/site relative to DIR "
                        "after `make docs` (default: the claim pages docs/claims/*.md of the lipbound checkout, as "
                        "paths relative to DIR; no links when lipbound is not run from a checkout)")
    lo, hi = DPI_RANGE
    p.add_argument("--dpi", type=int_range(*DPI_RANGE, "dots per inch of the figures"), default=90, metavar="N",
                   help=f"resolution of the PNG figures, {lo} to {hi} (default 90)")
    p.set_defaults(func=_cmd_report)
