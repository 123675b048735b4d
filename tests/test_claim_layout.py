"""The claim layout: one folder per claim, found by the registry; fixtures passed explicitly; no
import circle between the claims and the experiments.

A claim is ``lipbound/claims/<folder>/`` (``statement.py``, ``evaluators.py``, optionally
``proof.py``) plus its docs page and its tests (docs/devdocs/adding-a-claim.md). These tests check
that nothing else has to name it: a new folder in a package is a claim of the ledger, in its place,
with its ledger row and navigation entry, and a broken folder is refused by name.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from lipbound.claims import CLAIMS
from lipbound.claims._pages import ledger_tables, nav_entries
from lipbound.claims._registry import build_ledger, claim_folders

ROOT = Path(__file__).resolve().parents[1]
CLAIMS_DIR = ROOT / "lipbound" / "claims"


def _folder(claim_id: str) -> str:
    return claim_id.replace("-", "_").replace(".", "_")


@pytest.mark.parametrize("claim_id", list(CLAIMS))
def test_every_claim_lives_in_its_own_folder(claim_id):
    """The folder named after the id holds the statement and the evaluators (and the proofs when the
    claim has any); the statement names the files that exist."""
    st = CLAIMS[claim_id].statement
    d = CLAIMS_DIR / _folder(claim_id)
    assert (d / "__init__.py").is_file() and (d / "statement.py").is_file() and (d / "evaluators.py").is_file()
    assert (d / "proof.py").is_file() == bool(CLAIMS[claim_id].proofs)
    assert (ROOT / st.doc_page).is_file() and (ROOT / st.proof_script).is_file()
    assert st.proof_script.startswith(f"lipbound/claims/{_folder(claim_id)}/")


def test_the_registry_names_no_claim():
    """Adding a claim edits no shared file: the registry finds the folders, so its source names none,
    and the folders it finds are exactly the ledger's claims."""
    tree = ast.parse((CLAIMS_DIR / "_registry.py").read_text())
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef)) and n.body
                  and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    code_strings = [n.value for n in ast.walk(tree)
                    if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]
    assert not [c for c in CLAIMS if any(c in t or _folder(c) in t for t in code_strings)]
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    assert not names & {_folder(c) for c in CLAIMS}  # no claim module imported by name
    assert sorted(_folder(c) for c in CLAIMS) == claim_folders()


def _write_package(tmp_path: Path, name: str, folders: dict[str, dict[str, str]]) -> Path:
    pkg = tmp_path / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for folder, files in folders.items():
        (pkg / folder).mkdir()
        (pkg / folder / "__init__.py").write_text('"""A toy claim."""\n')
        for fname, text in files.items():
            (pkg / folder / fname).write_text(textwrap.dedent(text))
    return pkg


_STATEMENT = '''
    from lipbound.claims import ClaimStatement, ReadingStatement

    STATEMENT = ClaimStatement(
        id="{cid}", title="A toy claim", ref="Lemma 9.9", paper_ref="nowhere", paper_wording="x",
        assumptions=(), readings=(ReadingStatement("r", "0 <= 1", True),), doc_page="docs/claims/{cid}.md",
        proof_script="p", test_file="t", section="{section}", order={order}, nav_title="Toy {cid}")
'''
_EVALUATORS = '''
    from lipbound.claims import Evaluator, Outcome

    EVALUATORS = {"r": Evaluator(lambda rng, k: {"k": k}, lambda c: Outcome(True, 0.0, 1.0), "toy")}
'''


def _load(tmp_path, monkeypatch, name, folders):
    pkg = _write_package(tmp_path, name, folders)
    monkeypatch.syspath_prepend(str(tmp_path))
    return build_ledger(pkg, name)


def test_a_new_folder_is_a_claim_in_its_place_with_its_row_and_nav_entry(tmp_path, monkeypatch):
    """One folder (statement + evaluators) is all a claim needs: the registry loads it, orders it by
    its ``order``, and the generated ledger tables and navigation list it under its section."""
    ledger = _load(tmp_path, monkeypatch, "toyclaims_ok", {
        "toy_2": {"statement.py": _STATEMENT.format(cid="toy-2", section="Section 4", order=20),
                  "evaluators.py": _EVALUATORS},
        "toy_1": {"statement.py": _STATEMENT.format(cid="toy-1", section="Section 4", order=10),
                  "evaluators.py": _EVALUATORS},
    })
    assert list(ledger) == ["toy-1", "toy-2"] and ledger["toy-1"].proofs == {}
    ledger["toy-1"].validate()
    table = ledger_tables(ledger)["Section 4"]
    assert table.index("`toy-1`") < table.index("`toy-2`") and "`r` (holds)" in table
    nav = str(nav_entries(ledger))
    assert "claims/toy-1.md" in nav and "Toy toy-2" in nav


@pytest.mark.parametrize(("folder", "statement", "match"), [
    ("toy_3", _STATEMENT.format(cid="toy-3", section="", order=10), "needs a section"),
    ("toy_3", _STATEMENT.format(cid="toy-3", section="Section 4", order=0), "positive order"),
    ("wrong_name", _STATEMENT.format(cid="toy-3", section="Section 4", order=10), "belongs in the folder toy_3"),
])
def test_a_broken_folder_is_refused_by_name(tmp_path, monkeypatch, folder, statement, match):
    name = f"toyclaims_bad_{abs(hash((folder, statement, match))) % 10**8}"
    with pytest.raises(ValueError, match=match):
        _load(tmp_path, monkeypatch, name, {folder: {"statement.py": statement, "evaluators.py": _EVALUATORS}})


def _imports(path: Path, root: Path = ROOT) -> list[str]:
    """The modules ``path`` imports, relative imports resolved against its package (under ``root``)."""
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    pkg = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = pkg[: len(pkg) - node.level + 1] if node.level else []
            mod = ".".join([*base, *(node.module.split(".") if node.module else [])])
            out.append(mod)
            out += [f"{mod}.{a.name}" for a in node.names]
    return out


def test_the_experiments_do_not_import_the_claims():
    """The claims read the experiments' results; the experiments know nothing of the claims (the
    command that joins them, ``lipbound reproduce``, lives outside both): no import circle."""
    offenders = {str(p.relative_to(ROOT)): m for p in (ROOT / "lipbound" / "experiments").rglob("*.py")
                 for m in _imports(p) if m.startswith("lipbound.claims")}
    assert offenders == {}


def test_the_claims_do_not_read_the_environment():
    """Evaluators take their fixtures from the runner: no module of the claims reads an environment
    variable, except the two places that locate data for the CLI (``$LIPBOUND_RESULTS``,
    ``$LIPBOUND_ICUB_DIR``), which the CLI and the runner call once per run."""
    readers = set()
    for p in CLAIMS_DIR.rglob("*.py"):
        src = p.read_text()
        if "os.environ" in src or "getenv(" in src:
            readers.add(str(p.relative_to(CLAIMS_DIR)))
    assert readers == {"empirical/_source.py", "mvae/_runs.py"}


def test_the_import_scan_sees_relative_and_absolute_imports_of_the_claims(tmp_path):
    """Negative control: the scan the experiments test relies on finds an import of the claims, in
    either form (so that test can fail)."""
    d = tmp_path / "lipbound" / "experiments"
    d.mkdir(parents=True)
    for text in ("from ..claims import CLAIMS\n", "from lipbound.claims.empirical import evaluate_results\n",
                 "def f():\n    from ..claims._runner import check_reading\n"):
        (d / "probe.py").write_text(text)
        assert any(m.startswith("lipbound.claims") for m in _imports(d / "probe.py", tmp_path)), text
    (d / "probe.py").write_text("from .._io import atomic_write_json\n")
    assert not any(m.startswith("lipbound.claims") for m in _imports(d / "probe.py", tmp_path))
