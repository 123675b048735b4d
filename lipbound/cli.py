"""The ``lipbound`` command line: ``lipbound claims``, ``lipbound verify`` and the subcommands that
the modules named in :data:`SUBCOMMANDS` register (``bound``, ``report``, ``train``, ...).

Exit status of every command (:func:`main`): 0 success; 1 ``verify`` found a reading the ledger
expects to hold failed by some case (``refuted``, ``loose`` or ``not-supported``); 2 bad input,
refused before any work where it can be (a usage error, an unknown claim, an output path that
cannot or must not be written, a malformed setting or input file, data that ``--require-data``
asked for but is absent); 3 ``bound``'s soundness guard fired; 130 interrupted (Ctrl-C); 141 the
reader of standard output went away (a closed pipe, as ``| head`` does); 143 terminated (SIGTERM).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import time
from typing import Any

from . import __version__
from ._args import int_range
from .errors import ConfigurationError, LipboundError


def expected_label(expected: bool | None, kind: str | None = None) -> str:
    """``holds`` / ``fails`` / ``loose`` / ``not-supported`` / ``open``: see
    :func:`lipbound.claims._ledger.expected_label` (imported lazily so that ``lipbound --help`` does
    not load the ledger). ``kind`` None (a row written before readings had kinds) is ``universal``."""
    from .claims._ledger import expected_label as label

    return label(expected, kind or "universal")


def _unexpected(row: dict) -> bool:
    from .claims._ledger import is_unexpected

    return is_unexpected(row)


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
             "readings": [{"reading": r.name, "kind": r.kind, "expected": r.expected, "statement": r.statement,
                           "requires_data": list(r.requires_data)} for r in c.statement.readings]}
            for c in CLAIMS.values()
        ]
        print(json.dumps(out, indent=2))
        return 0
    table = Table(title="lipbound claim ledger")
    for col in ("claim", "paper", "reading", "kind", "expected"):
        table.add_column(col)
    for c in CLAIMS.values():
        for k, r in enumerate(c.statement.readings):
            table.add_row(c.id if k == 0 else "", c.statement.ref if k == 0 else "",
                          r.name, r.kind, expected_label(r.expected, r.kind))
    Console().print(table)
    return 0


def _markdown(rows: list[dict], meta: dict) -> str:
    from .claims._ledger import status_legend

    lines = [
        "# lipbound verification report",
        "",
        f"lipbound {meta['lipbound']}, torch {meta['torch']}, Python {meta['python']}; seed {meta['seed']}, "
        f"{meta['examples']} sampled cases per reading (plus trained-model and witness cases); "
        f"{meta['seconds']:.1f} s in all.",
        "",
        status_legend() + " Counterexamples and witnesses are below; for skipped readings the reason and how "
        "to get the data are under Methods. Ratio = measured / bound, the largest seen (for identities: "
        "discrepancy / tolerance).",
        "",
        "| claim | reading | status | expected | cases | tightest ratio | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        exp = expected_label(r["expected"], r.get("kind"))
        flag = " **(unexpected)**" if _unexpected(r) else ""
        lines.append(f"| {r['claim']} | {r['reading']} | {r['status']}{flag} | {exp} | {r['cases']} | "
                     f"{_fmt_ratio(r['tightest_ratio'])} | {r['seconds']:.2f} |")
    skipped = [r for r in rows if r["status"] == "skipped"]
    if skipped:
        lines += ["", f"**{len(skipped)} reading(s) skipped** (not checked; data absent): "
                  + ", ".join(f"{r['claim']}/{r['reading']}" for r in skipped) + ". "
                  + "`lipbound verify --require-data` makes absent data an error instead."]
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


#: the most sampled cases ``verify --examples`` accepts per reading. The default is 50; a sampled
#: case costs from microseconds (closed forms) to about a second (trained-model and SDP readings), so
#: 100000 per reading is already days of CPU for the whole ledger, while the report keeps only the
#: first 300 cases per reading (lipbound.claims._ledger.CASES_DATA_CAP). A larger number is far
#: more likely a typo than a plan, and would otherwise run for weeks before anyone noticed.
MAX_EXAMPLES = 100_000
#: the largest ``verify --seed``: numpy seeds any non-negative integer, but 2**32 - 1 keeps every
#: seed valid for every generator the cases may use (numpy's legacy seeding included)
MAX_SEED = 2**32 - 1
#: the environment variable naming the study ``mvae-findings`` is decided on (``verify --mvae-study`` overrides it)
MVAE_STUDY_ENV = "LIPBOUND_MVAE_RESULTS"


def _data_arg(text: str) -> tuple[str, str]:
    """argparse type of ``verify --data NAME=DIR``."""
    if text.startswith("folder:") and len(text) > len("folder:"):  # the inputs of --model
        return "folder:", text[len("folder:"):]
    name, sep, folder = text.partition("=")
    if not sep or not name or not folder:
        raise argparse.ArgumentTypeError(f"expected NAME=DIR (e.g. icub=/data/icub), got {text!r}")
    return name, folder


def _model_shape(text: str) -> tuple[int, ...]:
    """argparse type of ``verify --input-shape``."""
    from .claims._user_model import shape_arg

    return shape_arg(text)


#: ``verify --examples`` when not given
DEFAULT_EXAMPLES = 50


def _resolve_model_options(args: argparse.Namespace) -> None:
    """Fill the defaults of ``--zoo`` and ``--examples``; with ``--model``, refuse the options that
    would otherwise be ignored there (the claims run on the model alone, at its inputs)."""
    if not getattr(args, "model", None):
        args.zoo = "small" if args.zoo is None else args.zoo
        args.examples = DEFAULT_EXAMPLES if args.examples is None else args.examples
        return
    given = [opt for opt, on in (
        ("--zoo/--no-zoo", args.zoo is not None), ("--examples", args.examples is not None),
        ("--results", args.results is not None), ("--mvae-study", args.mvae_study is not None),
        ("--require-data", bool(args.require_data)),
        ("--data NAME=DIR", any(n != "folder:" for n, _ in args.data or []))) if on]
    if given:
        raise LipboundError(
            f"{', '.join(given)} {'does' if len(given) == 1 else 'do'} not apply with --model: the claims are checked "
            "on your model alone, at its inputs (rows of --data folder:PATH, else standard normal inputs), not on the "
            "zoo's models, sampled cases, training results or the ledger's data sets; drop "
            f"{'it' if len(given) == 1 else 'them'}, or drop --model")
    args.zoo, args.examples = "none", None


def _cmd_verify(args: argparse.Namespace) -> int:
    _resolve_model_options(args)  # --model replaces the zoo, the sampled cases and the data sets
    return _verify(args)


def _report_dir(args: argparse.Namespace) -> str | None:
    """Where ``verify`` writes the HTML + Markdown report: ``--report DIR``; else the folder of
    ``--json`` (or ``--markdown``) when that path names a folder other than the current one
    (``lipbound-report/verify.json``); else nowhere (a file in the current folder, whether written
    ``verify.json`` or ``./verify.json``, stdout, or ``--no-report``). The current folder is never
    chosen implicitly: it is the user's, and lipbound writes reports only into folders it made."""
    if args.no_report:
        return None
    if args.report:
        return args.report
    here = os.path.abspath(os.getcwd())
    for path in (args.json, args.markdown):
        if path and path != "-" and os.path.dirname(os.path.abspath(path)) != here:
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
    if args.examples is not None:
        parts += ["--examples", str(args.examples)]
    parts += ["--seed", str(args.seed)]
    if args.zoo != "small" and not getattr(args, "model", None):
        parts += ["--zoo", args.zoo]
    if args.results is not None:
        parts += ["--results", str(args.results)]
    if args.mvae_study is not None:
        parts += ["--mvae-study", str(args.mvae_study)]
    for name, folder in args.data or []:
        parts += ["--data", f"{name}={folder}"]
    if args.require_data:
        parts.append("--require-data")
    if getattr(args, "model", None):
        parts += ["--model", args.model] + [a for s in args.input_shape or [] for a in ("--input-shape", ",".join(map(str, s)))]
    return " ".join(shlex.quote(p) for p in parts)


def _check_outputs(args: argparse.Namespace) -> Any:
    """Check every output path of ``verify`` before any work; returns the prepared report folder
    (:class:`lipbound.report.ReportDir`) or None."""
    from ._io import check_output_file
    from .errors import OutputPathError

    files = {}
    for opt in ("json", "markdown"):
        path = getattr(args, opt)
        if path and not (opt == "json" and path == "-"):
            files[opt] = check_output_file(path, f"--{opt}")
    if len(files) == 2 and files["json"] == files["markdown"]:
        raise OutputPathError(f"--json and --markdown both name {files['json']}; give them different files")
    folder = _report_dir(args)
    if folder is None:
        return None
    from .report._outdir import FIGURE_DIR, MARKER, REPORT_FILES, ReportDir

    what = "--report" if args.report else ("the report folder (the folder of --json or --markdown; choose another "
                                           "with --report DIR, or none with --no-report)")
    rd = ReportDir.prepare(folder, what)
    for opt, path in files.items():
        if (path.parent == rd.path and path.name in (*REPORT_FILES, MARKER)) or rd.path / FIGURE_DIR in path.parents:
            raise OutputPathError(f"--{opt} {path} names a file of the report that goes to {rd.path}; choose another "
                                  "file name, or another report folder")
    return rd


def _check_inputs(args: argparse.Namespace, claims: list) -> Any:
    """Check, before any work, what the selected claims read: the cache folder, the results of the
    empirical claims (``--results``, else ``$LIPBOUND_RESULTS``), the MVAE study (``--mvae-study``,
    else ``$LIPBOUND_MVAE_RESULTS``) and the data sets the readings need. Returns them as the run's
    :class:`~lipbound.claims.Fixtures`, which the runner passes to the evaluators: the environment is
    read here, once, and nowhere else."""
    from .claims import Fixtures
    from .claims._runner import data_needs, locate_data
    from .errors import DataUnavailableError
    from .zoo import default_cache_dir

    default_cache_dir()  # a $LIPBOUND_CACHE that names a file is an error now, not after minutes of work

    results = args.results
    if any(c.statement.section == "Section 5" for c in claims):
        from .claims.empirical._source import check_results_env, load_results

        if args.results is None:
            env = check_results_env()
            results = str(env) if env is not None else None
        elif args.results != "tiny":  # the tiny sweep is made on first use; a folder or the committed ones must parse
            try:
                load_results(args.results)
            except LipboundError as exc:
                raise LipboundError(f"--results {args.results}: {exc}") from None
    study = args.mvae_study or os.environ.get(MVAE_STUDY_ENV) or None
    if study is not None and any(c.id == "mvae-findings" for c in claims):
        what = "--mvae-study" if args.mvae_study else f"${MVAE_STUDY_ENV}"
        if not os.path.exists(study):
            raise ConfigurationError(f"{what} {study}: no such file or folder; give a compact study file or a "
                                     "`lipbound mvae train` folder")
        if os.path.isfile(study):
            from .claims.mvae import load_study

            try:
                load_study(study)
            except LipboundError as exc:
                raise ConfigurationError(f"{what}: {exc}") from None
    needs: dict[str, list[str]] = {}  # data set -> the readings that cannot do without it
    fixed: dict[str, list[str]] = {}  # data set -> the readings whose fixed cases are drawn from it
    for c in claims:
        for r in c.statement.readings:
            reading_needs, fixed_needs = data_needs(c, r.name)
            for n in reading_needs:
                needs.setdefault(n, []).append(f"{c.id}/{r.name}")
            for n in fixed_needs:
                fixed.setdefault(n, []).append(f"{c.id}/{r.name} (its fixed cases)")
    data = locate_data([*needs, *fixed], dict(args.data or []))
    if args.require_data:
        required = set(needs) | (set() if args.zoo == "none" else set(fixed))
        absent = [loc for name, loc in data.items() if name in required and not loc.present]
        if absent:
            raise DataUnavailableError("--require-data: " + "; ".join(
                f"{', '.join(needs.get(loc.need.name) or fixed[loc.need.name])} {loc.absent_message()}"
                for loc in absent) + ". Without --require-data such readings are reported as skipped")
    return Fixtures(zoo=args.zoo, results=results or "committed", mvae_study=study, data=data)


def _verify(args: argparse.Namespace) -> int:
    report = _check_outputs(args)  # first: a refused output path costs nothing

    import torch
    from rich.console import Console
    from rich.table import Table

    from ._io import atomic_write_json, atomic_write_text, json_safe
    from ._progress import Steps
    from .claims import CLAIMS, check_reading, get_claim
    from .claims import Fixtures
    from .claims._shared.zoo_cases import prepare_zoo

    claims = [get_claim(c) for c in args.claim] if args.claim else list(CLAIMS.values())
    from .claims._user_model import from_args, model_row

    user = from_args(args)  # --model: the user's model, mapped to encoders/fusion/decoders (exit 2 if it cannot be)
    fixtures = _check_inputs(args, claims) if user is None else Fixtures(zoo="none")
    to_stdout = args.json == "-"
    console = Console(stderr=to_stdout, width=None if sys.stdout.isatty() else 120)
    jobs = [(c, r.name) for c in claims for r in c.statement.readings]
    rows = []
    t0 = time.perf_counter()
    with Steps(len(jobs), "lipbound verify") as steps:
        prepare_zoo(fixtures.zoo,
                    steps.say if not steps.tty else (lambda line: print(f"lipbound verify: {line}", file=sys.stderr)))
        for claim, reading in jobs:
            steps.start(f"{claim.id} / {reading}")
            row = (check_reading(claim, reading, examples=args.examples, seed=args.seed, fixtures=fixtures) if user is None
                   else model_row(user, claim, reading, seed=args.seed))
            rows.append(json_safe(row.as_dict()))
            steps.done(f"{claim.id} / {reading}", f"{row.status}, {row.cases} cases ({row.seconds:.1f} s)")
    seconds = time.perf_counter() - t0
    meta = {"lipbound": __version__, "torch": torch.__version__, "python": platform.python_version(),
            "seed": args.seed, "examples": args.examples, "seconds": seconds}

    table = Table(title=f"lipbound verify (seed {args.seed}, {args.examples} sampled cases per reading)" if user is None
                  else f"lipbound verify on the model {user.name} ({user.inputs_from})")
    for col in ("claim", "reading", "status", "expected", "cases", "tightest ratio", "time (s)"):
        table.add_column(col, no_wrap=True)
    for r in rows:
        style = "red" if _unexpected(r) else ("yellow" if r["status"] == "skipped" else None)
        table.add_row(r["claim"], r["reading"], r["status"], expected_label(r["expected"], r.get("kind")),
                      str(r["cases"]), _fmt_ratio(r["tightest_ratio"]), f"{r['seconds']:.2f}", style=style)
    console.print(table)
    if user is not None and user.origin:
        console.print(f"the model {user.name}: {user.origin}", highlight=False)
    if args.json:
        if to_stdout:
            sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        else:
            atomic_write_json(args.json, rows)
            console.print(f"wrote {len(rows)} rows to {args.json}")
    if args.markdown:
        atomic_write_text(args.markdown, _markdown(rows, meta))
        console.print(f"wrote the report to {args.markdown}")
    if report is not None:
        from .report import LedgerRows, Results, write_report

        for path in (args.json, args.markdown):
            if path and path != "-":
                report.adopt(path)
        meta_r = {"command": _verify_command(args), "lipbound": __version__, "torch": torch.__version__,
                  "python": platform.python_version(), "device": "cpu", "seeds": [args.seed]}
        src = args.json if args.json and not to_stdout else "lipbound verify (this run)"
        files = write_report(Results(ledgers=[LedgerRows(src, rows, meta_r)]), report,
                             command=_verify_command(args))
        console.print(f"wrote the HTML report to {files.html} (and {files.markdown.name}, "
                      f"{len(files.figures)} figures)")
    elif not args.no_report and (args.json not in (None, "-") or args.markdown):
        console.print("no HTML report: the output files are in the current folder (--report DIR writes one)")
    skipped = [r for r in rows if r["status"] == "skipped"]
    if skipped and user is not None:
        console.print(f"[yellow]{len(skipped)} reading(s) skipped on the model {user.name}:")
        for r in skipped:
            console.print(f"  {r['claim']}/{r['reading']}: {r['detail']}", highlight=False)
    elif skipped:
        console.print(f"[yellow]{len(skipped)} reading(s) skipped (not checked; data absent): "
                      + ", ".join(f"{r['claim']}/{r['reading']}" for r in skipped)
                      + f". Reason: {skipped[0]['detail']}. --require-data makes absent data an error.")
    unexpected = [r for r in rows if _unexpected(r)]
    if unexpected:
        console.print(f"[red]{len(unexpected)} reading(s) the ledger expects to hold failed: "
                      + ", ".join(f"{r['claim']}/{r['reading']} {r['status']}" for r in unexpected))
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
    "train": ("lipbound._experiments_cli", "train one multimodal autoencoder with Lipschitz tracking"),
    "reproduce": ("lipbound._experiments_cli", "run a sweep of the paper's experiments"),
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

    v = sub.add_parser(
        "verify", help="check claims and report one row per reading",
        description="Check claims and report one row per reading, with a status: proved, holds, refuted (a "
                    "universal reading with a counterexample), loose (a bound's stated growth is not attained), "
                    "not-supported (a tendency our cases do not support), not-proven, skipped. Exit status 1 when a "
                    "reading the ledger expects to hold is refuted, loose or not-supported. Output paths are "
                    "checked before any work; the "
                    "HTML report goes only into a new or empty folder or one lipbound made. Readings whose data "
                    "lipbound does not ship (the iCub data of the mvae-* claims) are reported as skipped when "
                    "the data is absent, unless --require-data.")
    v.add_argument("--claim", action="append", metavar="ID", help="claim id to check (repeatable; default: all)")
    v.add_argument("--json", metavar="PATH", help="write the rows as a JSON array to PATH ('-' for stdout)")
    v.add_argument("--markdown", metavar="PATH", help="write a Markdown report to PATH")
    v.add_argument("--examples", type=int_range(1, MAX_EXAMPLES, "sampled cases per reading"), default=None,
                   metavar="N", help=f"sampled cases per reading, 1 to {MAX_EXAMPLES} (default 50)")
    v.add_argument("--seed", type=int_range(0, MAX_SEED, "seed of the case generators"), default=0, metavar="S",
                   help=f"seed of the case generators, 0 to {MAX_SEED} (default 0)")
    v.add_argument("--zoo", choices=("small", "paper", "none"), default=None,
                   help="trained models the Section 3-4 claims also run on: the small zoo (default; seconds on a CPU), "
                        "the paper-size zoo (Section 5.3 widths; trained on CUDA when available, else on the CPU "
                        "after an estimate), or none")
    v.add_argument("--results", metavar="DIR|committed|tiny", default=None,
                   help="the training results the empirical (Section 5) claims are decided on: a results folder of "
                        "lipbound reproduce, 'committed' (the medium preset's sweep shipped with lipbound; the default "
                        "unless $LIPBOUND_RESULTS is set) or 'tiny' (a built-in 3-epoch sweep on vector data, trained "
                        "on first use: a smoke test, not evidence)")
    v.add_argument("--mvae-study", metavar="PATH", default=None,
                   help="the study the mvae-findings claim is decided on: a compact study file or a `lipbound mvae "
                        f"train` folder (default: ${MVAE_STUDY_ENV} when set, else the committed study)")
    v.add_argument("--no-zoo", action="store_const", const="none", dest="zoo",
                   help="the same as --zoo none: generated cases only (no training)")
    v.add_argument("--report", metavar="DIR",
                   help="write the HTML + Markdown report (index.html, report.md, figures/) to DIR, which must be new, "
                        "empty or made by lipbound; default: the folder of --json (else --markdown) when that path "
                        "names a folder other than the current one, e.g. lipbound-report/")
    v.add_argument("--no-report", action="store_true", help="do not write the HTML + Markdown report")
    v.add_argument("--data", action="append", type=_data_arg, metavar="NAME=DIR",
                   help="read the data set NAME from DIR only (repeatable); or, with --model, folder:PATH: the model's inputs are rows "
                        "of that dataset folder (docs/datasets.md; modalities in the model's order); known: icub (default: $LIPBOUND_ICUB_DIR, "
                        "else ../shared/data/icub-multimodal)")
    v.add_argument("--model", metavar="FILE|FACTORY",
                   help="check the claims on YOUR multimodal autoencoder instead of the zoo: a saved file, TorchScript "
                        "(.pt, .pth, .ts: torch.jit.save of torch.jit.trace(model, (xs,))) or torch.export (.pt2), or a "
                        "factory module:function or path/to/file.py:function that returns it (lipbound imports and calls "
                        "it: this runs your code, by your explicit choice). The model must map to encoders, fusion and "
                        "decoders (lipbound's MultimodalAutoencoder, or a module with encoders, fusion, decoders) made of "
                        "standard layers and one of lipbound's fusions; a file is rebuilt as lipbound's model and checked "
                        "to give the file's outputs; else exit status 2 naming what is missing or unsupported. Each "
                        "reading runs on the model alone, or is skipped naming the assumption it does not meet. "
                        "--zoo, --examples, --results, --require-data and --data NAME=DIR do not apply with --model")
    v.add_argument("--input-shape", action="append", type=_model_shape, metavar="SHAPE",
                   help="with --model: one modality's unbatched input shape (6 or 1,16,16), once per modality in order, "
                        "when the encoders do not state it; inputs are standard normal unless --data folder:PATH")
    v.add_argument("--require-data", action="store_true",
                   help="stop with exit status 2, before any work, when data a selected reading needs is absent "
                        "(default: report such readings as skipped)")
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


def _flush_stdout() -> None:
    sys.stdout.flush()


def _silence_stdout() -> None:
    """Point standard output at /dev/null after its reader went away, so that the interpreter's
    final flush does not raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout replaced by an object without a file (tests)
        pass


@contextlib.contextmanager
def _sigterm_raises():
    """Inside the block SIGTERM raises :class:`~lipbound.errors.Terminated` (exit status 143), so
    that ``finally`` clauses and atomic writes finish cleanly; only in the main thread, and only
    where SIGTERM still has its default action (a caller's own handler is left alone)."""
    import signal
    import threading

    from .errors import Terminated

    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def handler(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM kills at once
        raise Terminated()

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``lipbound`` console script; returns the exit status (see the module
    docstring): a :class:`~lipbound.errors.LipboundError` is one line on standard error and status 2,
    Ctrl-C is ``lipbound: interrupted`` and 130, SIGTERM ``lipbound: terminated`` and 143, a closed
    standard output is 141; usage errors,
    ``--help`` and ``--version`` exit through argparse's :class:`SystemExit` (2, 0, 0)."""
    from .errors import Terminated

    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        with _sigterm_raises():
            try:
                args = build_parser(argv).parse_args(argv)
                code = int(args.func(args))
            except SystemExit:
                _flush_stdout()
                raise
            _flush_stdout()
            return code
    except LipboundError as exc:
        print(f"lipbound: error: {exc}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    except KeyboardInterrupt:
        print("lipbound: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("lipbound: terminated (SIGTERM)", file=sys.stderr)
        return 143
    except BrokenPipeError:
        _silence_stdout()
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
