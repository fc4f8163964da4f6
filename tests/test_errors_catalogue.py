"""The error catalogue (src/xlner/errors.yaml) against the source that raises from it.

Every ``XlnerError("E###", **fields)`` and ``warn("E###", **fields)`` in src/, pages/ and app.py
is found with ``ast``: its code must be catalogued with the same kind, and its keyword fields must be
exactly the fields that the message and hint templates name. Every catalogued code must be raised
somewhere, and docs/errors.md must be the generated text.

The uncatalogued form ``XlnerError("E511", f"message", hint=...)`` (a positional message) is a
failure in the files that have moved to the catalogue (``MIGRATED``); elsewhere it is listed file by
file as an expected failure until every module has moved. Set ``STRICT = True`` to make that a
failure everywhere.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from xlner.errors import XlnerError, catalogue, catalogue_markdown, describe

ROOT = Path(__file__).resolve().parents[1]
STRICT = True  # True once every module raises catalogued errors only (the integrator flips it)

# Files whose raise sites are all catalogued: a legacy raise here is a regression.
MIGRATED = {
    "src/xlner/data/readers.py", "src/xlner/data/checks.py", "src/xlner/data/datasets.py",
    "src/xlner/data/writers.py", "src/xlner/labelmap.py", "src/xlner/hub.py", "src/xlner/tagging.py",
    "src/xlner/text.py", "src/xlner/cache.py", "src/xlner/threads.py", "src/xlner/evaluate/scoring.py",
    "src/xlner/evaluate/resampling.py", "src/xlner/evaluate/files.py",
    "src/xlner/paths.py", "src/xlner/datatools.py", "src/xlner/errors.py", "src/xlner/cli/__init__.py", "src/xlner/cli/data.py",
    "src/xlner/cli/evaluate.py", "src/xlner/cli/models.py", "src/xlner/cli/pipeline.py",
    "src/xlner/cli/errors.py",
}
# A raise whose code is a variable cannot be checked here; each one must be listed with the codes it
# can take, as "path:function": {codes}. Keep this empty where possible: write the code literally.
NON_LITERAL: dict[str, set[str]] = {}

_CODE = re.compile(r"^E\d{3}$")


@dataclass(frozen=True)
class Site:
    path: str  # relative to the repository root
    line: int
    function: str
    kind: str  # "error" (XlnerError) or "warning" (warn)
    code: str | None  # None when the code is not a string literal
    fields: frozenset[str] | None  # None when the call passes **fields
    legacy: bool  # a positional message: the uncatalogued form

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


def _source_files() -> list[Path]:
    files = sorted((ROOT / "src").rglob("*.py")) + sorted((ROOT / "pages").glob("*.py"))
    return files + [p for p in [ROOT / "app.py"] if p.exists()]


def _warn_names(tree: ast.Module) -> set[str]:
    """Local names bound to xlner.errors.warn (``from xlner.errors import warn [as w]``)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "xlner.errors":
            names |= {a.asname or a.name for a in node.names if a.name == "warn"}
    return names


def _kind(call: ast.Call, warn_names: set[str]) -> str | None:
    f = call.func
    name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
    if name == "XlnerError":
        return "error"
    if isinstance(f, ast.Name) and f.id in warn_names:
        return "warning"
    if isinstance(f, ast.Attribute) and f.attr == "warn" and isinstance(f.value, ast.Name) \
            and f.value.id in ("errors", "xlner_errors"):
        return "warning"
    return None


def _sites() -> list[Site]:
    sites = []
    for path in _source_files():
        rel = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        warn_names = _warn_names(tree)
        parents: dict[ast.AST, str] = {}
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for child in ast.walk(fn):
                    parents.setdefault(child, fn.name) if child is not fn else None
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            kind = _kind(node, warn_names)
            if kind is None or not node.args:
                continue
            first = node.args[0]
            code = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
            keywords = {k.arg for k in node.keywords}
            fields = None if None in keywords else frozenset(keywords - {"stacklevel"})
            legacy = len(node.args) > 1  # XlnerError(code, message, hint=...): not catalogued
            sites.append(Site(rel, node.lineno, parents.get(node, "<module>"), kind, code, fields, legacy))
    return sorted(sites, key=lambda s: (s.path, s.line))


SITES = _sites()
CATALOGUED = [s for s in SITES if not s.legacy]
LEGACY = [s for s in SITES if s.legacy]


def test_the_scan_finds_the_raise_sites():
    # A scanner that finds nothing would pass everything below.
    assert any(s.path == "src/xlner/data/readers.py" and s.code == "E101" for s in SITES)
    assert any(s.kind == "warning" and s.code == "E141" for s in SITES)


def test_catalogue_file_is_sorted_and_has_no_duplicate_codes():
    text = (ROOT / "src" / "xlner" / "errors.yaml").read_text(encoding="utf-8")
    codes = re.findall(r"^(E\d{3}):", text, flags=re.M)
    assert len(codes) == len(set(codes)), "a code is catalogued twice (YAML keeps only the last)"
    assert codes == sorted(codes), "keep errors.yaml sorted by code"
    assert set(codes) == set(catalogue())


def test_every_catalogue_entry_is_well_formed():
    for e in catalogue().values():
        assert _CODE.match(e.code), e.code
        assert e.kind in ("error", "warning"), e.code
        assert e.message.strip() and e.hint.strip(), f"{e.code} needs a message and a hint"


def test_codes_are_literal():
    bad = [f"{s} ({s.function})" for s in SITES if s.code is None
           and f"{s.path}:{s.function}" not in NON_LITERAL]
    mine = [b for b in bad if b.split(":")[0] in MIGRATED]
    assert not mine, "write the code literally at the raise site: " + ", ".join(mine)
    others = [b for b in bad if b.split(":")[0] not in MIGRATED]
    if others:
        if STRICT:
            pytest.fail("non-literal codes: " + ", ".join(others))
        pytest.xfail("non-literal codes in modules not yet moved to the catalogue: " + ", ".join(others))


def test_every_raised_code_is_catalogued_with_its_fields_and_kind():
    problems = []
    for s in CATALOGUED:
        if s.code is None:
            continue
        entry = catalogue().get(s.code)
        if entry is None:
            problems.append(f"{s}: {s.code} is not in errors.yaml")
            continue
        if entry.kind != s.kind:
            problems.append(f"{s}: {s.code} is catalogued as a {entry.kind} but used as a {s.kind}")
        if s.fields is None:
            problems.append(f"{s}: {s.code} is given **fields; name them so that they can be checked")
        elif s.fields != entry.fields:
            problems.append(f"{s}: {s.code} is given {sorted(s.fields)}, its templates name "
                            f"{sorted(entry.fields)}")
    assert not problems, "\n".join(problems)


def test_every_catalogued_code_is_raised():
    raised = {s.code for s in SITES if s.code} | set().union(*NON_LITERAL.values())
    unused = sorted(set(catalogue()) - raised)
    assert not unused, f"catalogued but never raised (remove them or raise them): {unused}"


def test_no_legacy_raises_in_migrated_files():
    mine = [str(s) for s in LEGACY if s.path in MIGRATED]
    assert not mine, "uncatalogued XlnerError(code, message) in migrated files: " + ", ".join(mine)


def _by_file(sites: list[Site]) -> str:
    """``path:line, line, ...; path:line ...`` (every file and line, grouped to stay readable)."""
    files: dict[str, list[str]] = {}
    for s in sites:
        files.setdefault(s.path, []).append(str(s.line))
    return "; ".join(f"{path}:{','.join(lines)}" for path, lines in files.items())


def test_no_legacy_raises_elsewhere():
    others = [s for s in LEGACY if s.path not in MIGRATED]
    if not others:
        return
    listing = _by_file(others)
    if STRICT:
        pytest.fail(f"{len(others)} uncatalogued XlnerError(code, message) calls: {listing}")
    pytest.xfail(f"{len(others)} uncatalogued XlnerError(code, message) calls in modules that other "
                 f"helpers are moving to the catalogue: {listing}")


def test_docs_errors_md_is_generated():
    doc = ROOT / "docs" / "errors.md"
    assert doc.read_text(encoding="utf-8") == catalogue_markdown(), \
        "regenerate it: xlner errors --markdown > docs/errors.md"


def test_errors_render_and_describe():
    err = XlnerError("E101", path="x.conll")
    assert err.render() == ("error[E101]: x.conll: no such file\n  hint: "
                            + catalogue()["E101"].hint)
    assert describe("e101").startswith("E101 (error, data reading)")
    with pytest.raises(XlnerError) as unknown:
        describe("E000")
    assert unknown.value.code == "E718"
    with pytest.raises(TypeError, match="path"):
        XlnerError("E101")  # a missing field is a bug at the raise site, caught at once
