"""Mutation score of the soundness path (section ``mutation`` of RESULTS.md).

A small AST mutator: each mutant changes one operator, constant, comparison or rounding call in one
function of the soundness path (certified norms, LMI assembly and certificate checks, slope
intervals, the lower bounds' deflation, the bracket check, the claim runner's status rules). Every
mutant is applied to a **copy** of the repository in a temporary folder (the working tree is never
written), and the tests that execute the mutated function are run on it with
``pytest -x -q -p no:cacheprovider``; the mutant is *killed* if they fail (or run past the
per-mutant timeout), *survives* otherwise.

Which tests run: a first pass runs the whole selection once on the unmutated copy with a tracer
that records which target functions each test calls (the idea of mutmut 3's "stats" pass); a
mutant then runs only the tests that call its function, fastest first. Tests that fail on the
unmutated copy are dropped (and listed). Two selections are scored in one run: the existing tests
(``before``), then the new soundness tests (:data:`NEW_TESTS`) on the survivors (``after`` = killed
by either).

Operators (one change per mutant; never inside strings, f-strings, docstrings, annotations or
default arguments): ``+ <-> -``, ``* <-> /``, ``** -> *``, ``+= <-> -=``, ``*= <-> /=``, ``< <-> <=``,
``> <-> >=``, ``== <-> !=``, ``and <-> or``, ``not x -> x``, ``-x -> x``, ints ``n -> n + 1``,
floats ``0.0 -> 1.0`` and ``f -> f / 2``, ``True <-> False``, ``min <-> max``,
``np.minimum <-> np.maximum``, ``np.inf -> -np.inf``, and a rounding or clipping call replaced by
its argument (``_up(x)``, ``abs(x)``, ``np.abs(x)``, ``np.clip(x, ...)``, ``np.nextafter(x, ...)``).

Usage (from the repository root)::

    python benchmarks/bench_mutation.py                          # all targets, writes RESULTS.md
    python benchmarks/bench_mutation.py --list                   # the mutants, nothing run
    python benchmarks/bench_mutation.py --only lipbound/bounds/_spectral.py --no-write

mutmut was not used: mutmut 3 first runs the whole test suite to map tests to functions and
mutates every function of a file, and mutmut 2 runs one fixed test command per mutant; this
script maps tests by tracing only the selected tests and mutates only the listed functions.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(ROOT))

#: file -> functions to mutate ("Class.method"; a module-level name mutates its assignment;
#: "func[TEXT]" mutates only the statements of func whose source contains TEXT)
TARGETS: dict[str, list[str]] = {
    "lipbound/bounds/_spectral.py": ["_up", "linear_norm", "_conv_pieces", "conv_norm_upper", "layer_norms",
                                     "spectral_product"],
    "lipbound/bounds/_lmi.py": ["checked_multipliers", "lmi_blocks", "dense_lmi"],
    "lipbound/bounds/_slopes.py": ["slope_coefficients", "point_mask", "is_linear"],
    "lipbound/bounds/_sdp.py": ["_blocks", "build_lmi", "linear_chain_norm", "verify_certificate"],
    "lipbound/bounds/_eigopt.py": ["_block_cholesky", "verify_certificate_banded", "_schur_np"],
    "lipbound/bounds/_unroll.py": ["conv_matrix", "unrollable"],
    "lipbound/bounds/_localsdp.py": ["_prune_inactive", "lipsdp_local"],
    "lipbound/bounds/_network.py": ["_gelu_exact_range", "_gelu_tanh_range", "slope_interval", "dense_chain"],
    "lipbound/bounds/_lower.py": ["DEFLATE", "ABS_MARGIN", "jacobian_power_iteration[DEFLATE]"],
    "lipbound/bounds/_result.py": ["Bracket.best_upper", "Bracket.best_lower", "Bracket.check"],
    "lipbound/claims/_runner.py": ["check_reading"],
}
#: module-level targets are "covered" by the tests that call this function
COVER_ALIAS = {("lipbound/bounds/_lower.py", "DEFLATE"): "jacobian_power_iteration",
               ("lipbound/bounds/_lower.py", "ABS_MARGIN"): "jacobian_power_iteration"}

#: the existing tests of the soundness path (the "before" selection), and the doctests of the targets
EXISTING_TESTS = [
    "tests/test_bounds.py", "tests/test_sdp.py", "tests/test_sdp_scale.py", "tests/test_ground_truth.py",
    "tests/test_ledger.py", "tests/test_cli_bound.py", "tests/test_empirical_stats.py",
    *TARGETS,
]
#: the tests added for the soundness path (the "after" selection adds them)
NEW_TESTS = ["tests/test_rounding.py", "tests/test_certificates.py", "tests/test_activation_slopes.py",
             "tests/test_witnesses.py", "tests/test_claim_runner.py", "tests/test_local_sdp.py",
             "tests/test_local_bounds.py", "tests/test_conv_sdp.py", "tests/test_residual.py"]

COPY_ITEMS = ["lipbound", "proofs", "tests", "docs", "pyproject.toml", "mkdocs.yml"]

_PLUGIN = r'''
"""pytest plugin of bench_mutation: a faster hypothesis profile and the coverage tracer."""
import json, os, sys, threading, time
from hypothesis import HealthCheck, Phase, settings

# the ci profile (same examples: derandomized, same count) without shrinking or explaining a failure
settings.register_profile("mutation", max_examples=25, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow],
                          phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target))
_OUT = os.environ.get("MUTATION_TRACE")
_codes = {}
_hits = {}
_dur = {}
_cur = [None]
if _OUT:
    for ent in json.loads(os.environ["MUTATION_TRACE_TARGETS"]):  # several targets may share a function
        _codes.setdefault((os.path.realpath(ent[0]), ent[2]), []).append(ent[1])

    _files = {f for f, _ in _codes}
    _real = {}  # co_filename -> its real path if it is a target file, else None

    def _tracer(frame, event, arg):
        code = frame.f_code
        fn = code.co_filename
        real = _real.get(fn, 0)
        if real == 0:
            real = _real[fn] = os.path.realpath(fn) if os.path.realpath(fn) in _files else None
        if real is not None and _cur[0] is not None:
            keys = _codes.get((real, code.co_firstlineno))
            if keys is not None:
                _hits.setdefault(_cur[0], set()).update(keys)
        return None

    sys.settrace(_tracer)
    threading.settrace(_tracer)

import pytest

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _cur[0] = item.nodeid
    t0 = time.perf_counter()
    if _OUT:
        sys.settrace(_tracer)
    yield
    _dur[item.nodeid] = time.perf_counter() - t0
    _cur[0] = None

_outcome = {}

def pytest_runtest_logreport(report):
    if report.failed:
        _outcome[report.nodeid] = "failed"
    else:
        _outcome.setdefault(report.nodeid, "passed")

def pytest_sessionfinish(session, exitstatus):
    if _OUT:
        with open(_OUT, "w") as f:
            json.dump({"hits": {k: sorted(v) for k, v in _hits.items()}, "durations": _dur,
                       "outcomes": _outcome}, f)
'''


# ----------------------------------------------------------------------------------- mutants
@dataclass
class Mutant:
    id: int
    file: str
    function: str
    line: int
    change: str
    source: str = field(repr=False)
    code: str = ""  # the mutated line as written (stripped): identifies the mutant across line shifts
    status: str = "pending"  # killed / survived / timeout / no-tests
    by: str = ""  # the first failing test, or "before" / "after"
    stage: str = ""
    seconds: float = 0.0


def _short(node: ast.AST, n: int = 48) -> str:
    s = ast.unparse(node).replace("\n", " ")
    return s if len(s) <= n else s[: n - 3] + "..."


class _Span:
    """Character offsets of AST nodes (ast uses UTF-8 byte columns)."""

    def __init__(self, text: str):
        self.text = text
        self.lines = text.splitlines(keepends=True)
        self.starts = [0]
        for ln in self.lines:
            self.starts.append(self.starts[-1] + len(ln))

    def pos(self, lineno: int, col: int) -> int:
        line = self.lines[lineno - 1]
        return self.starts[lineno - 1] + len(line.encode()[:col].decode())

    def replace(self, node: ast.AST, new: str) -> str:
        a = self.pos(node.lineno, node.col_offset)
        b = self.pos(node.end_lineno, node.end_col_offset)
        return self.text[:a] + new + self.text[b:]


_BIN = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.Pow: ast.Mult,
        ast.FloorDiv: ast.Div}
_CMP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
        ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
_UNWRAP = {"_up", "abs", "np.abs", "np.clip", "np.nextafter"}
_SWAP_FUNC = {"min": "max", "max": "min", "np.minimum": "np.maximum", "np.maximum": "np.minimum"}


def _skip_children(node: ast.AST) -> set[int]:
    """ids of subtrees never mutated: strings, f-strings, docstrings, annotations, defaults, decorators."""
    skip: set[int] = set()

    def mark(n):
        if n is not None:
            for sub in ast.walk(n):
                skip.add(id(sub))

    for n in ast.walk(node):
        if isinstance(n, ast.JoinedStr):
            mark(n)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = n.args
            for d in (*a.defaults, *a.kw_defaults):
                mark(d)
            if not isinstance(n, ast.Lambda):
                mark(n.returns)
                for dec in n.decorator_list:
                    mark(dec)
                if n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant):
                    mark(n.body[0])
            for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg):
                if arg is not None:
                    mark(arg.annotation)
        elif isinstance(n, ast.AnnAssign):
            mark(n.annotation)
    return skip


def _marked_line(span: _Span, node: ast.AST) -> str:
    """The mutated node's first line, stripped, with the node's part of it in [[ ]]."""
    line = span.lines[node.lineno - 1].rstrip("\n")
    a = span.pos(node.lineno, node.col_offset) - span.starts[node.lineno - 1]
    b = (span.pos(node.end_lineno, node.end_col_offset) - span.starts[node.lineno - 1]
         if node.end_lineno == node.lineno else len(line))
    return (line[:a] + "[[" + line[a:b] + "]]" + line[b:]).strip()


def _mutations(node: ast.AST, span: _Span):
    """Yield (description, new source text) for every mutation of ``node`` itself."""
    if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
        new = ast.BinOp(node.left, _BIN[type(node.op)](), node.right)
        yield f"`{_short(node)}` -> `{_short(new)}`", span.replace(node, f"({ast.unparse(new)})")
    elif isinstance(node, ast.AugAssign) and type(node.op) in (ast.Add, ast.Sub, ast.Mult, ast.Div):
        new = ast.AugAssign(node.target, _BIN[type(node.op)](), node.value)
        yield f"`{_short(node)}` -> `{_short(new)}`", span.replace(node, ast.unparse(new))
    elif isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in _CMP:
                ops = list(node.ops)
                ops[i] = _CMP[type(op)]()
                new = ast.Compare(node.left, ops, node.comparators)
                yield f"`{_short(node)}` -> `{_short(new)}`", span.replace(node, f"({ast.unparse(new)})")
    elif isinstance(node, ast.BoolOp):
        new = ast.BoolOp(ast.Or() if isinstance(node.op, ast.And) else ast.And(), node.values)
        yield f"`{_short(node)}` -> `{_short(new)}`", span.replace(node, f"({ast.unparse(new)})")
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not)):
        yield f"`{_short(node)}` -> `{_short(node.operand)}`", span.replace(node, f"({ast.unparse(node.operand)})")
    elif isinstance(node, ast.Constant) and not isinstance(node.value, str):
        v = node.value
        if isinstance(v, bool):
            yield f"`{v}` -> `{not v}`", span.replace(node, repr(not v))
        elif isinstance(v, int):
            yield f"`{v}` -> `{v + 1}`", span.replace(node, f"({v + 1})")
        elif isinstance(v, float):
            new = 1.0 if v == 0.0 else v / 2
            yield f"`{v!r}` -> `{new!r}`", span.replace(node, f"({new!r})")
    elif isinstance(node, ast.Call):
        name = ast.unparse(node.func)
        if name in _UNWRAP and node.args:
            yield (f"`{_short(node)}` -> `{_short(node.args[0])}` (call removed)",
                   span.replace(node, f"({ast.unparse(node.args[0])})"))
    elif isinstance(node, (ast.Name, ast.Attribute)) and isinstance(getattr(node, "ctx", None), ast.Load):
        name = ast.unparse(node)
        if name in _SWAP_FUNC:
            yield f"`{name}` -> `{_SWAP_FUNC[name]}`", span.replace(node, _SWAP_FUNC[name])
        elif name == "np.inf":
            yield "`np.inf` -> `-np.inf`", span.replace(node, "(-np.inf)")


def _find(tree: ast.Module, qual: str) -> list[ast.AST]:
    """The nodes of target ``qual`` (a function, Class.method or module-level assignment)."""
    parts = qual.split(".")
    body = tree.body
    for i, p in enumerate(parts):
        for n in body:
            if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == p:
                if i == len(parts) - 1:
                    return [n]
                body = n.body
                break
            if (i == len(parts) - 1 and isinstance(n, (ast.Assign, ast.AnnAssign))
                    and any(isinstance(t, ast.Name) and t.id == p
                            for t in (n.targets if isinstance(n, ast.Assign) else [n.target]))):
                return [n]
        else:
            break
    raise SystemExit(f"target {qual!r} not found")


def enumerate_mutants(root: Path, only: list[str] | None = None) -> list[Mutant]:
    out: list[Mutant] = []
    seen: set[str] = set()
    for rel, quals in TARGETS.items():
        if only and not any(rel == o or o.startswith(rel + ":") for o in only):
            continue
        text = (root / rel).read_text()
        tree = ast.parse(text)
        span = _Span(text)
        orig_hash = hashlib.sha1(ast.dump(tree).encode()).hexdigest()
        seen.add(orig_hash)
        for q in quals:
            m = re.fullmatch(r"([\w.]+)(?:\[(.+)\])?", q)
            name, filt = m.group(1), m.group(2)
            if only and not any(o == rel or o == f"{rel}:{name}" for o in only):
                continue
            for target in _find(tree, name):
                skip = _skip_children(target)
                stmts = [target]
                if filt:  # only the statements whose text contains filt (innermost simple statements)
                    stmts = [s for s in ast.walk(target) if isinstance(s, ast.stmt)
                             and not isinstance(s, (ast.FunctionDef, ast.For, ast.While, ast.If, ast.With, ast.Try))
                             and filt in ast.get_source_segment(text, s)]
                for st in stmts:
                    for node in ast.walk(st):
                        if id(node) in skip:
                            continue
                        for desc, new_text in _mutations(node, span):
                            try:
                                new_tree = ast.parse(new_text)
                            except SyntaxError as exc:  # pragma: no cover - a bug of the mutator
                                raise SystemExit(f"{rel}:{node.lineno}: mutant does not parse: {exc}") from None
                            h = hashlib.sha1(ast.dump(new_tree).encode()).hexdigest()
                            if h in seen:
                                continue
                            seen.add(h)
                            out.append(Mutant(len(out) + 1, rel, name, node.lineno, desc, new_text,
                                              _marked_line(span, node)))
    return out


# ----------------------------------------------------------------------------------- running
def make_copy(tmp: Path) -> Path:
    dst = tmp / "repo"
    dst.mkdir()
    for item in COPY_ITEMS:
        src = ROOT / item
        if src.is_dir():
            shutil.copytree(src, dst / item, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis"))
        elif src.exists():
            shutil.copy2(src, dst / item)
    (dst / "_mutation_plugin.py").write_text(_PLUGIN)
    return dst


def _env(copy: Path, extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env.update({
        "PYTHONPATH": f"{copy}{os.pathsep}{env.get('PYTHONPATH', '')}".rstrip(os.pathsep),
        "PYTHONDONTWRITEBYTECODE": "1",  # a mutant's source may have the mtime and size of another's
        "HYPOTHESIS_PROFILE": "mutation",
        "LIPBOUND_CACHE": os.environ.get("LIPBOUND_CACHE", str(ROOT / "build" / "cache")),
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    })
    env.update(extra or {})
    return env


def _pytest(copy: Path, args: list[str], timeout: float | None, extra_env: dict | None = None,
            first_failure: bool = True):
    cmd = [sys.executable, "-m", "pytest", *(["-x"] if first_failure else []), "-q", "-p", "no:cacheprovider",
           "-p", "_mutation_plugin", "-m", "not slow", *args]
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd, cwd=copy, env=_env(copy, extra_env), capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, time.perf_counter() - t0, ""
    return r.returncode, time.perf_counter() - t0, r.stdout + r.stderr


def _target_codes(copy: Path) -> list[tuple[str, str, int]]:
    """(file, "file:function", first line) of every target function in the copy, for the tracer."""
    out = []
    for rel, quals in TARGETS.items():
        tree = ast.parse((copy / rel).read_text())
        for q in quals:
            name = re.fullmatch(r"([\w.]+)(?:\[.+\])?", q).group(1)
            node = _find(tree, COVER_ALIAS.get((rel, name), name))[0]
            first = node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno
            out.append((str(copy / rel), f"{rel}:{name}", first))
    return out


def trace_tests(copy: Path, tests: list[str]) -> dict:
    """Run ``tests`` once on the unmutated copy, recording per test the target functions it calls."""
    out = copy / "_trace.json"
    rc, secs, log = _pytest(copy, ["-p", "no:randomly", *tests], None,
                            {"MUTATION_TRACE": str(out), "MUTATION_TRACE_TARGETS": json.dumps(_target_codes(copy))},
                            first_failure=False)
    data = json.loads(out.read_text())
    data["seconds"] = secs
    data["failed"] = sorted(k for k, v in data["outcomes"].items() if v == "failed")
    data["log_tail"] = log[-3000:]
    return data


def run_mutant(copy: Path, mut: Mutant, tests: list[str], durations: dict, per_test_timeout: float) -> None:
    path = copy / mut.file
    original = path.read_text()
    budget = 30.0 + 3.0 * sum(durations.get(t, 1.0) for t in tests)
    try:
        path.write_text(mut.source)
        rc, secs, log = _pytest(copy, tests, min(budget, per_test_timeout))
    finally:
        path.write_text(original)
    mut.seconds += secs
    if rc is None:
        mut.status, mut.by = "timeout", f"> {min(budget, per_test_timeout):.0f} s"
    elif rc == 0:
        mut.status = "survived"
    else:
        mut.status = "killed"
        m = re.search(r"^(?:FAILED|ERROR) (\S+)", log, re.M)
        mut.by = m.group(1) if m else f"exit status {rc}"


def covering(trace: dict, key: str, allowed: list[str]) -> list[str]:
    """Nodeids of ``allowed`` test files that call ``key``, fastest first."""
    dur = trace["durations"]
    ids = [t for t, keys in trace["hits"].items() if key in keys and t not in trace["failed"]
           and any(t == a or t.startswith(a + "::") for a in allowed)]
    return sorted(ids, key=lambda t: dur.get(t, 0.0))


# ----------------------------------------------------------------------------------- report
def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(muts: list[Mutant], info: dict) -> str:
    killed = {"before": [m for m in muts if m.status in ("killed", "timeout") and m.stage == "before"],
              "after": [m for m in muts if m.status in ("killed", "timeout")]}
    n = len(muts)
    surv = [m for m in muts if m.status in ("survived", "no-tests")]
    explained = [m for m in surv if note_of(m)]
    kb, ka = len(killed["before"]), len(killed["after"])
    pct = lambda k, d: f"{100 * k / max(d, 1):.1f}%"  # noqa: E731
    lines = [
        "## Mutation score of the soundness path (`benchmarks/bench_mutation.py`)",
        "",
        f"Command: `{info['command']}`  ",
        f"Machine: {info['machine']}; {info['minutes']:.0f} min in all (tracing the tests: {info['trace_s']:.0f} s).",
        "",
        "Each mutant changes one operator, constant, comparison or rounding call of one function (operators in "
        "the script's docstring), is applied to a copy of the repository (the working tree is never written), "
        "and is run against the tests that call the mutated function (found by tracing the selection once on "
        "the unmutated copy) with `pytest -x -q -p no:cacheprovider`, hypothesis's derandomized ci examples, "
        "no shrinking. Killed: a test failed, or the run passed its timeout (30 s + 3x the tests' baseline time).",
        "",
        "Targets: " + "; ".join(f"`{f}`: " + ", ".join(q) for f, q in TARGETS.items()) + ".",
        "",
        f"- **before**: the existing tests ({', '.join(f'`{t}`' for t in info['existing'] if t.startswith('tests/'))}"
        f" and the targets' doctests) kill **{kb}/{n} ({pct(kb, n)})**",
        f"- **after**: adding {', '.join(f'`{t}`' for t in info['new'])}: **{ka}/{n} ({pct(ka, n)})**; "
        f"{len(explained)} of the {len(surv)} survivors are explained below (equivalent mutants, or changes no "
        f"input can observe), so **{ka}/{n - len(explained)} ({pct(ka, n - len(explained))}) of the others**",
    ]
    if info.get("dropped"):
        lines.append(f"- tests failing on the unmutated copy, left out: {', '.join(info['dropped'])}")
    lines += ["", "| file | mutants | killed before | killed after | survivors (explained) |", "|---|---|---|---|---|"]
    for f in TARGETS:
        ms = [m for m in muts if m.file == f]
        if ms:
            sv = [m for m in ms if m in surv]
            lines.append(f"| `{f}` | {len(ms)} | {sum(m in killed['before'] for m in ms)} | "
                         f"{sum(m in killed['after'] for m in ms)} | {len(sv)} ({sum(bool(note_of(m)) for m in sv)}) |")
    if surv:
        lines += ["", "Survivors:", "", "| # | file:line | function | change | why it survives |", "|---|---|---|---|---|"]
        for m in surv:
            lines.append(f"| {m.id} | `{m.file.rsplit('/', 1)[-1]}:{m.line}` | `{m.function}` | {_cell(m.change)} | "
                         f"{_cell(note_of(m) or 'UNEXPLAINED' + (' (no test calls it)' if m.status == 'no-tests' else ''))} |")
    lines += ["", f"<details><summary>All {n} mutants</summary>", "",
              "| # | file:line | function | change | before | after | first failing test |", "|---|---|---|---|---|---|---|"]
    for m in muts:
        before = "killed" if m in killed["before"] else "survived"
        after = "killed" if m in killed["after"] else "survived"
        lines.append(f"| {m.id} | `{m.file.rsplit('/', 1)[-1]}:{m.line}` | `{m.function}` | {_cell(m.change)} | "
                     f"{before} | {after}{' (timeout)' if m.status == 'timeout' else ''} | "
                     f"{('`' + _cell(m.by) + '`') if m.by and m.status == 'killed' else ''} |")
    lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


_TIE = ("differs only when two computed floats are exactly equal ({}); no test input produces that "
        "tie, and at a tie both choices are sound")
_SQUARE = "the matrix is square: shape[1] == shape[0]"
_FOUR_D = "conv weights are 4-D: index 2 is index -2"
_Q_FAILS = ("once the Q - cI check fails it fails for every larger c (c only grows, and the Cholesky's "
            "error is far below the margin added), so every later try fails the same way and the same "
            "CertificateError is raised; the change only alters how many tries come first")
_MK = ("dead branch: reaching it needs the Schur estimate's Cholesky factorisations of -Q to succeed, so "
       "every hidden block of -Q has a positive diagonal, and |M|'s diagonal is at least -Q's: mk > 0")

#: why a surviving mutant survives: (file, function, change as listed, the mutated line with the
#: mutated part in [[ ]]) -> reason. Only mutants that no input can tell apart from the original
#: (equivalent) or that differ only at exact float ties are listed; any other survivor is reported
#: UNEXPLAINED.
_S, _D, _E, _N, _R = ("lipbound/bounds/_spectral.py", "lipbound/bounds/_sdp.py", "lipbound/bounds/_eigopt.py",
                      "lipbound/bounds/_network.py", "lipbound/claims/_runner.py")
_L = "lipbound/bounds/_lmi.py"  # checked_multipliers and the LMI blocks moved here from _sdp / _eigopt
_RANK = "the initial rank is never compared: the first failure is taken because worst_fail is None"
NOTES: dict[tuple[str, str, str, str], str] = {
    (_S, "_conv_pieces", "`-2` -> `2`", "kh, kw = W.shape[[[-2]]:]"): _FOUR_D,
    (_S, "_conv_pieces", "`-2` -> `2`", "return kernels, tuple(m.stride), pad, tuple(in_shape[[[-2]]:])"):
        "the last returned value is discarded by the only caller (conv_norm_upper)",
    (_S, "_conv_pieces", "`2` -> `3`", "return kernels, tuple(m.stride), pad, tuple(in_shape[-[[2]]:])"):
        "the last returned value is discarded by the only caller (conv_norm_upper)",
    (_S, "conv_norm_upper", "`-2` -> `2`", "kh, kw = kernels[0].shape[[[-2]]:]"): _FOUR_D,
    (_S, "conv_norm_upper", "`-2` -> `2`", "absK = K.abs().sum(dim=([[-2]], -1))"): _FOUR_D,
    (_S, "layer_norms", "`lo > u` -> `lo >= u`", "if [[lo > u]]:  # pragma: no cover - would be a soundness bug"):
        "lo = ||A v|| (1 - 1e-10) for a unit v is below ||A|| <= u by far more than float64 error: lo == u "
        "cannot happen",
    (_S, "layer_norms", "`abs(b)` -> `b` (call removed)",
     'rows.append({"name": l.name, "kind": l.kind, "upper": max(abs(a), [[abs(b)]]), "lower": None})'):
        "beta > 0 for every supported activation (ReLU, Tanh 1, Sigmoid 1/4, LeakyReLU/ELU >= 1, GELU 1.13)",
    (_D, "build_lmi", "`0` -> `1`", "N = n0 + Q.shape[[[0]]]"): _SQUARE,
    (_D, "verify_certificate", "`0` -> `1`", "nq = Q.shape[[[0]]]"): _SQUARE,
    (_D, "verify_certificate", "`lam_q < -eQ` -> `lam_q <= -eQ`", "if not [[lam_q < -eQ]]:"):
        _TIE.format("lambda_max(Q) == -e_Q"),
    (_D, "verify_certificate", "`lam + err <= 0` -> `lam + err < 0`", "if [[lam + err <= 0]]:"):
        _TIE.format("lambda_max(M) + e == 0"),
    (_L, "checked_multipliers", "`1` -> `2`",
     "ts = [np.clip(np.asarray(t, dtype=np.float64).reshape(-[[1]]), 0.0, None) for t in ts]"):
        "numpy reads any negative size as the inferred one: reshape(-2) is reshape(-1)",
    (_L, "lmi_blocks", "`0` -> `1`",
     "diag = [Dk + (c if absolute else -c) * np.eye(Dk.shape[[[0]]]) for Dk in diag]"): _SQUARE,
    (_E, "_block_cholesky", "`1` -> `2`", "for k in range(n - 1, -[[1]], -1):"):
        "the loop's stop value: the loop leaves at k == 0 by its break, before reaching either stop",
    (_E, "verify_certificate_banded", "`np.abs(np.diag(Dk))` -> `np.diag(Dk)` (call removed)",
     "m = [float(np.max([[np.abs(np.diag(Dk))]])) for Dk in dg]"):
        "the blocks are those of |M| (absolute=True): their diagonal is >= 0",
    (_E, "verify_certificate_banded", "`mk > 0` -> `mk >= 0`",
     "d = [1.0] + [2.0 ** round(0.5 * math.log2(rho_hat / mk)) if [[mk > 0]] else 1.0 for mk in m[1:]]"): _MK,
    (_E, "verify_certificate_banded", "`1.0` -> `0.5`",
     "d = [1.0] + [2.0 ** round(0.5 * math.log2(rho_hat / mk)) if mk > 0 else [[1.0]] for mk in m[1:]]"): _MK,
    (_E, "verify_certificate_banded", "`1e-300` -> `5e-301`",
     "rho_hat = rho_hat if rho_hat > 0 else max(max(m), [[1e-300]])"): "the floor is dead: max(m) > 0 (" + _MK[12:] + ")",
    (_E, "verify_certificate_banded", "`4` -> `5`", "c *= [[4]]"): _Q_FAILS,
    (_E, "verify_certificate_banded", "`c > 1e+300` -> `c >= 1e+300`", "if [[c > 1e300]]:"): _Q_FAILS,
    (_E, "verify_certificate_banded", "`1e+300` -> `5e+299`", "if c > [[1e300]]:"): _Q_FAILS,
    (_E, "verify_certificate_banded", "`c >= need * (1 + 1e-06)` -> `c > need * (1 + 1e-06)`",
     "if ok and [[c >= need * (1 + 1e-6)]]:"): _TIE.format("c == need (1 + 1e-6)"),
    (_E, "verify_certificate_banded", "`1e-300` -> `5e-301`",
     "delta = max(2 * delta, 1e-12 * max(rho, [[1e-300]]), 2 * c)"):
        "the floor is dead: rho = max(lam, 0) + c + delta >= c >= 1e-300 (c starts at >= 1e-300 and only grows)",
    (_N, "_gelu_tanh_range", "`1.0` -> `0.5`", "return float(g.min()) - 1e-6, max(float(g.max()), [[1.0]]) + 1e-6"):
        "the slope's maximum on the grid is 1.1289 > 1: the guard max(., 1.0) never binds",
    (_N, "slope_interval", "`1.0` -> `0.5`", "return min(0.0, a, [[1.0]]), max(0.0, a, 1.0)"):
        "min(0.0, a, .) is at most 0.0, below either constant",
    (_N, "slope_interval", "`0.0` -> `1.0`", "return min(0.0, a, 1.0), max([[0.0]], a, 1.0)"):
        "max(., a, 1.0) is at least 1.0, above either constant",
    (_N, "dense_chain", "`abs(act[1])` -> `act[1]` (call removed)", "post = max(abs(act[0]), [[abs(act[1])]])"):
        "act[0] <= act[1]: if act[1] < 0 then |act[0]| >= |act[1]|, so max(|a|, b) = max(|a|, |b|)",
    (_N, "dense_chain", "`0` -> `1`", "n = W.shape[[[0]]]"):
        "dead store: n is read only before the first Linear layer (identity first layer, no Linear at all)",
    (_R, "check_reading", "`False` -> `True`", "worst_rank: tuple[bool, float] = ([[False]], -np.inf)"): _RANK,
    (_R, "check_reading", "`-np.inf` -> `np.inf`", "worst_rank: tuple[bool, float] = (False, [[-np.inf]])"): _RANK,
    (_R, "check_reading", "`np.inf` -> `-np.inf`", "worst_rank: tuple[bool, float] = (False, -[[np.inf]])"): _RANK,
}


def note_of(m: Mutant) -> str:
    return NOTES.get((m.file, m.function, m.change, m.code), "")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="files (or file:function) of TARGETS to mutate (default: all)")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--no-write", action="store_true", help="print, do not write RESULTS.md")
    ap.add_argument("--json", type=Path, help="also write every mutant's result as JSON")
    ap.add_argument("--max-seconds", type=float, default=900.0, help="timeout per mutant, at most")
    ap.add_argument("--ids", type=int, nargs="*", help="run only these mutant ids (numbering of --list)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary copy (its path is printed)")
    ap.add_argument("--note", default="", help="a remark printed in the section")
    ap.add_argument("--tests", nargs="*", help="replace the existing-tests selection (quick checks; implies --no-write)")
    args = ap.parse_args(argv)
    existing = EXISTING_TESTS
    if args.tests:
        existing, args.no_write = args.tests, True
    muts = enumerate_mutants(ROOT, args.only)
    if args.list:
        for m in muts:
            print(f"{m.id:4d} {m.file}:{m.line} {m.function}: {m.change}")
        print(f"{len(muts)} mutants")
        return 0
    if args.ids:
        muts = [m for m in muts if m.id in set(args.ids)]
    t_start = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="bench-mutation-"))
    try:
        copy = make_copy(tmp)
        print(f"copy: {copy}; {len(muts)} mutants; tracing the tests ...", flush=True)
        new = [t for t in NEW_TESTS if (copy / t).exists()]
        existing = [t for t in existing if (copy / t.split("::")[0]).exists()]
        trace = trace_tests(copy, existing + new)
        if trace["failed"]:
            print("failing on the unmutated copy (left out):", trace["failed"], flush=True)
        print(f"traced {len(trace['durations'])} tests in {trace['seconds']:.0f} s", flush=True)
        for stage, allowed in (("before", existing), ("after", new)):
            for m in muts:
                if stage == "after" and m.status in ("killed", "timeout"):
                    continue
                tests = covering(trace, f"{m.file}:{m.function}", allowed)
                if not tests:
                    if m.status == "pending":
                        m.status = "no-tests"
                    if stage == "before":
                        m.stage = "before"
                    continue
                run_mutant(copy, m, tests, trace["durations"], args.max_seconds)
                if m.status in ("killed", "timeout"):
                    m.stage = stage
                elif stage == "before":
                    m.stage = "before"
                print(f"[{stage}] #{m.id:3d} {m.file}:{m.line} {m.function}: {m.change} -> {m.status} "
                      f"{m.by} ({m.seconds:.0f} s, {len(tests)} tests)", flush=True)
        info = {"command": _command(), "machine": _machine(args.note), "trace_s": trace["seconds"],
                "minutes": (time.perf_counter() - t_start) / 60, "dropped": trace["failed"],
                "existing": existing, "new": new}
        md = to_markdown(muts, info)
        if args.json:
            args.json.write_text(json.dumps({"info": info, "mutants": [
                {k: v for k, v in asdict(m).items() if k != "source"} for m in muts]}, indent=1))
        if args.no_write:
            print(md)
        else:
            from benchmarks._results import write_section

            write_section("mutation", md)
            print(md.split("\n\n")[0])
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _command() -> str:
    from benchmarks._results import command_line

    return command_line()


def _machine(note: str) -> str:
    from benchmarks._results import machine

    return machine() + (f"; {note}" if note else "")


if __name__ == "__main__":
    raise SystemExit(main())
