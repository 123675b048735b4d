"""The ``lipbound`` command line: ``lipbound claims``, ``lipbound verify`` and the subcommands that
the modules named in :data:`SUBCOMMANDS` register (``bound``, ``report``, ``train``, ...)."""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from typing import Any

from . import __version__
from ._io import json_safe
from .errors import LipboundError


def expected_label(expected: bool | None) -> str:
    """``holds`` / ``fails`` / ``open``: see :func:`lipbound.claims._ledger.expected_label` (imported
    lazily so that ``lipbound --help`` does not load the ledger)."""
    from .claims._ledger import expected_label as label

    return label(expected)


def _fmt_ratio(r: Any) -> str:
    if r is None:
        return "-"
    if isinstance(r, str):
        return r
    return f"{r:.6g}"


def _cmd_claims(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from .claims import CLAIMS

    if args.json:
        out = [
            {"claim": c.id, "title": c.statement.title, "ref": c.statement.ref, "paper_ref": c.statement.paper_ref,
             "doc_page": c.statement.doc_page, "proof_script": c.statement.proof_script,
             "test_file": c.statement.test_file,
             "readings": [{"reading": r.name, "expected": r.expected, "statement": r.statement}
                          for r in c.statement.readings]}
            for c in CLAIMS.values()
        ]
        print(json.dumps(out, indent=2))
        return 0
    table = Table(title="lipbound claim ledger")
    for col in ("claim", "paper", "reading", "expected"):
        table.add_column(col)
    for c in CLAIMS.values():
        for k, r in enumerate(c.statement.readings):
            table.add_row(c.id if k == 0 else "", c.statement.ref if k == 0 else "",
                          r.name, expected_label(r.expected))
    Console().print(table)
    return 0


def _markdown(rows: list[dict], meta: dict) -> str:
    lines = [
        "# lipbound verification report",
        "",
        f"lipbound {meta['lipbound']}, torch {meta['torch']}, Python {meta['python']}; seed {meta['seed']}, "
        f"{meta['examples']} sampled cases per reading (plus trained-model and witness cases); "
        f"{meta['seconds']:.1f} s in all.",
        "",
        "Status: **proved** = sympy proof script verified and no counterexample among the cases; **holds** = "
        "no counterexample among the cases, no symbolic proof; **refuted** = a concrete counterexample (below); "
        "**not-proven** = undecided. Ratio = measured / bound, the largest seen (for identities: "
        "discrepancy / tolerance).",
        "",
        "| claim | reading | status | expected | cases | tightest ratio | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        exp = expected_label(r["expected"])
        flag = " **(unexpected)**" if r["expected"] is True and r["status"] == "refuted" else ""
        lines.append(f"| {r['claim']} | {r['reading']} | {r['status']}{flag} | {exp} | {r['cases']} | "
                     f"{_fmt_ratio(r['tightest_ratio'])} | {r['seconds']:.2f} |")
    lines += ["", "## Methods", ""]
    for r in rows:
        lines.append(f"- `{r['claim']}` / `{r['reading']}`: {r['method']}. Proof: {r['proof'] or 'none'}. {r['detail']}.")
    cex = [r for r in rows if r["counterexample"]]
    if cex:
        lines += ["", "## Counterexamples", ""]
        for r in cex:
            lines += [f"### {r['claim']} / {r['reading']}", "", "```json",
                      json.dumps(r["counterexample"], indent=1)[:4000], "```", ""]
    return "\n".join(lines) + "\n"


def _cmd_verify(args: argparse.Namespace) -> int:
    import os

    saved_no_zoo = os.environ.get("LIPBOUND_NO_ZOO")
    if args.no_zoo:
        os.environ["LIPBOUND_NO_ZOO"] = "1"
    try:
        return _verify(args, saved_no_zoo)
    finally:
        if saved_no_zoo is None:
            os.environ.pop("LIPBOUND_NO_ZOO", None)
        else:
            os.environ["LIPBOUND_NO_ZOO"] = saved_no_zoo


def _report_dir(args: argparse.Namespace) -> str | None:
    """Where ``verify`` writes the HTML + Markdown report: ``--report DIR``; else the folder of
    ``--json`` (or ``--markdown``) when that path names one (``lipbound-report/verify.json``); else
    nowhere (a bare file name in the current folder, stdout, or ``--no-report``)."""
    import os

    if args.no_report:
        return None
    if args.report:
        return args.report
    for path in (args.json, args.markdown):
        if path and path != "-" and os.path.dirname(path):
            return os.path.dirname(path)
    return None


def _verify_command(args: argparse.Namespace) -> str:
    """The ``lipbound verify`` command line that reproduces this run."""
    import shlex

    parts = ["lipbound", "verify"]
    for c in args.claim or []:
        parts += ["--claim", c]
    for opt in ("json", "markdown", "report"):
        if getattr(args, opt):
            parts += [f"--{opt}", getattr(args, opt)]
    parts += ["--examples", str(args.examples), "--seed", str(args.seed)]
    if args.no_zoo:
        parts.append("--no-zoo")
    return " ".join(shlex.quote(p) for p in parts)


def _verify(args: argparse.Namespace, _saved: str | None) -> int:
    import torch
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from ._io import atomic_write_json, atomic_write_text
    from .claims import CLAIMS, check_reading, get_claim

    claims = [get_claim(c) for c in args.claim] if args.claim else list(CLAIMS.values())
    if args.examples < 1:
        raise LipboundError(f"--examples must be at least 1, got {args.examples}")
    to_stdout = args.json == "-"
    console = Console(stderr=to_stdout, width=None if sys.stdout.isatty() else 120)
    jobs = [(c, r.name) for c in claims for r in c.statement.readings]
    rows = []
    t0 = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("checking", total=len(jobs))
        for claim, reading in jobs:
            progress.update(task, description=f"{claim.id} / {reading}")
            row = check_reading(claim, reading, examples=args.examples, seed=args.seed)
            rows.append(json_safe(row.as_dict()))
            progress.advance(task)
    seconds = time.perf_counter() - t0
    meta = {"lipbound": __version__, "torch": torch.__version__, "python": platform.python_version(),
            "seed": args.seed, "examples": args.examples, "seconds": seconds}

    table = Table(title=f"lipbound verify (seed {args.seed}, {args.examples} sampled cases per reading)")
    for col in ("claim", "reading", "status", "expected", "cases", "tightest ratio", "time (s)"):
        table.add_column(col, no_wrap=True)
    for r in rows:
        style = "red" if r["expected"] is True and r["status"] == "refuted" else None
        table.add_row(r["claim"], r["reading"], r["status"], expected_label(r["expected"]),
                      str(r["cases"]), _fmt_ratio(r["tightest_ratio"]), f"{r['seconds']:.2f}", style=style)
    console.print(table)
    if args.json:
        if to_stdout:
            sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        else:
            atomic_write_json(args.json, rows)
            console.print(f"wrote {len(rows)} rows to {args.json}")
    if args.markdown:
        atomic_write_text(args.markdown, _markdown(rows, meta))
        console.print(f"wrote the report to {args.markdown}")
    report_dir = _report_dir(args)
    if report_dir is not None:
        from .report import LedgerRows, Results, write_report

        meta_r = {"command": _verify_command(args), "lipbound": __version__, "torch": torch.__version__,
                  "python": platform.python_version(), "device": "cpu", "seeds": [args.seed]}
        src = args.json if args.json and not to_stdout else "lipbound verify (this run)"
        files = write_report(Results(ledgers=[LedgerRows(src, rows, meta_r)]), report_dir,
                             command=_verify_command(args))
        console.print(f"wrote the HTML report to {files.html} (and {files.markdown.name}, "
                      f"{len(files.figures)} figures)")
    unexpected = [r for r in rows if r["expected"] is True and r["status"] == "refuted"]
    if unexpected:
        console.print(f"[red]{len(unexpected)} reading(s) the ledger expects to hold were refuted: "
                      + ", ".join(f"{r['claim']}/{r['reading']}" for r in unexpected))
        return 1
    return 0


#: subcommand -> (module whose ``register(subparsers)`` adds it, one-line help). A module's
#: ``register`` sets ``func`` to a callable ``(args) -> exit code``. Only the module of the command
#: being run is imported (``lipbound --help`` lists the others from this table), so the top-level
#: help stays fast however heavy the modules are.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "bound": ("lipbound.bounds._cli", "Lipschitz bracket of a TorchScript or torch.export model"),
    "report": ("lipbound.report._cli", "write the HTML + Markdown report from result files"),
    "mvae": ("lipbound.mvae._cli", "the companion paper's multimodal VAE: train, measures"),
    "train": ("lipbound.experiments._cli", "train one multimodal autoencoder with Lipschitz tracking"),
    "reproduce": ("lipbound.experiments._cli", "run a sweep of the paper's experiments"),
}
#: every module that registers subcommands
SUBCOMMAND_MODULES: tuple[str, ...] = tuple(dict.fromkeys(m for m, _ in SUBCOMMANDS.values()))


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser of the ``lipbound`` command; ``argv`` selects which subcommand modules
    are imported (all of them when None)."""
    p = argparse.ArgumentParser(
        prog="lipbound",
        description="Executable, checked mathematics for the Lipschitz stability of multimodal autoencoders: "
                    "the claim ledger (claims, verify), Lipschitz brackets (bound), experiments (train, "
                    "reproduce), the companion paper's VAE (mvae) and reports (report).")
    p.add_argument("--version", action="version", version=f"lipbound {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("claims", help="list the claim ledger")
    c.add_argument("--json", action="store_true", help="print the ledger as JSON")
    c.set_defaults(func=_cmd_claims)

    v = sub.add_parser("verify", help="check claims and report one row per reading")
    v.add_argument("--claim", action="append", metavar="ID", help="claim id to check (repeatable; default: all)")
    v.add_argument("--json", metavar="PATH", help="write the rows as a JSON array to PATH ('-' for stdout)")
    v.add_argument("--markdown", metavar="PATH", help="write a Markdown report to PATH")
    v.add_argument("--examples", type=int, default=50, metavar="N", help="sampled cases per reading (default 50)")
    v.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the case generators (default 0)")
    v.add_argument("--no-zoo", action="store_true", help="skip the trained-model cases (no training)")
    v.add_argument("--report", metavar="DIR",
                   help="write the HTML + Markdown report (index.html, report.md, figures/) to DIR; default: the "
                        "folder of --json (else --markdown) when that path names a folder, e.g. lipbound-report/")
    v.add_argument("--no-report", action="store_true", help="do not write the HTML + Markdown report")
    v.set_defaults(func=_cmd_verify)
    import importlib

    wanted = SUBCOMMAND_MODULES if argv is None else tuple(
        dict.fromkeys(SUBCOMMANDS[a][0] for a in argv if a in SUBCOMMANDS))[:1]
    for name in wanted:
        importlib.import_module(name).register(sub)
    done = set(sub.choices)
    for cmd, (_, help_) in SUBCOMMANDS.items():
        if cmd not in done:  # listed in the help; its real parser is built when it is run
            sub.add_parser(cmd, help=help_, add_help=False)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``lipbound`` console script; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    try:
        return int(args.func(args))
    except LipboundError as exc:
        print(f"lipbound: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
