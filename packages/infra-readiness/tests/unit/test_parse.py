"""parse_source: files of newer Python are parsed by a newer interpreter and rebuilt exactly with local nodes."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from infra_models.testing import in_ci
from infra_readiness.checks import _parse
from infra_readiness.checks._parse import newer_python, parse_source

SOURCES = sorted((Path(__file__).resolve().parents[2] / "src" / "infra_readiness").rglob("*.py"))


@pytest.fixture(scope="module")
def interpreter() -> str:
    found = newer_python()
    if found is None:
        message = "no python3.12+ interpreter found"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return found


def test_round_trip_through_the_newer_interpreter_is_exact(interpreter):
    # Files both versions accept: the rebuilt tree equals the local parse, and every statement keeps its lines
    # (3.12 places f-string parts more precisely, so only statement positions are compared).
    for path in SOURCES[:25]:
        source = path.read_text(encoding="utf-8")
        local = ast.parse(source)
        rebuilt = _parse._parse_elsewhere(source, str(path), interpreter, SyntaxError("unused"))
        assert ast.dump(rebuilt) == ast.dump(local), path
        lines = [(n.lineno, n.end_lineno) for n in ast.walk(local) if isinstance(n, ast.stmt)]
        assert [(n.lineno, n.end_lineno) for n in ast.walk(rebuilt) if isinstance(n, ast.stmt)] == lines, path


def test_312_syntax_is_rebuilt_with_lines_kept(interpreter):
    source = (
        "type Alias[T] = list[T]\n\nclass Box[T]:\n    value: T\n\ndef get[T](b: Box[T]) -> T:\n    return b.value\n"
    )
    tree = parse_source(source, "new.py")
    alias = tree.body[0]
    # 3.11 has no TypeAlias node: the alias comes back as its nearest equivalent; 3.12+ parses the file itself.
    kind = "Assign" if sys.version_info < (3, 12) else "TypeAlias"
    assert type(alias).__name__ == kind and alias.lineno == 1
    assert [type(n).__name__ for n in tree.body] == [kind, "ClassDef", "FunctionDef"]
    assert tree.body[2].lineno == 6
    compile(ast.fix_missing_locations(tree), "new.py", "exec")  # a valid tree for this interpreter


def test_pep701_fstring_and_bytes_and_complex(interpreter):
    tree = parse_source("x = f\"{'a' + \"b\"}\"\ny = b'\\x00' + 1j\n", "f.py")
    values = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)]
    assert b"\x00" in values and 1j in values and "a" in values and "b" in values


def test_invalid_everywhere_raises_syntax_error_with_a_line(interpreter):
    with pytest.raises(SyntaxError) as caught:
        parse_source("x = 1\ndef broken(:\n", "bad.py")
    assert caught.value.lineno == 2
    if not _parse._same_version(interpreter):  # a newer interpreter was asked too, and the message says so
        assert "also with python3" in str(caught.value)
    else:  # the newest interpreter runs the checks: its own error, not a second opinion from itself
        assert "also with" not in str(caught.value)


def test_same_version_interpreter_is_not_asked_twice(monkeypatch):
    monkeypatch.setattr(_parse, "newer_python", lambda python=None: sys.executable)
    with pytest.raises(SyntaxError):
        parse_source("type X = int\n", "x.py") if sys.version_info < (3, 12) else parse_source("def (:\n", "x.py")
