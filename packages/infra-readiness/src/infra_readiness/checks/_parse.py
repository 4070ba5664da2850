"""Parse Python of any supported version (3.11 to 3.13+) into this interpreter's ``ast`` nodes.

The checks run on the workspace's interpreter (3.11 may be it), while a node may be written for 3.12+ (``type``
aliases, ``def f[T]``, PEP 701 f-strings). :func:`parse_source` tries :func:`ast.parse` first; on a
``SyntaxError`` it parses the file again in a newer interpreter (``--python`` when given, else the newest
``python3.x`` on ``PATH``), which sends the tree back as JSON, rebuilt here with the local node classes.
Syntax this interpreter has no class for is mapped to its nearest equivalent (``type X = Y`` becomes the
assignment ``X = Y``; type parameters are dropped), so every string, call and assignment is still scanned.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["NEWER_PYTHONS", "newer_python", "parse_source"]

#: Interpreters tried, newest first, when this one rejects a file and no ``--python`` is given.
NEWER_PYTHONS = ("python3.14", "python3.13", "python3.12")
_TIMEOUT = 60.0

_DUMP = r"""
import ast, json, sys
source = sys.stdin.buffer.read()
try:
    tree = ast.parse(source, filename=sys.argv[1])
except (SyntaxError, ValueError) as exc:
    print(json.dumps({"error": str(getattr(exc, "msg", exc)), "line": getattr(exc, "lineno", None)}))
    raise SystemExit(0)
def enc(n):
    if isinstance(n, ast.AST):
        out = {"_t": type(n).__name__}
        for f in n._fields + n._attributes:
            if hasattr(n, f):
                out[f] = enc(getattr(n, f))
        return out
    if isinstance(n, list):
        return [enc(x) for x in n]
    if isinstance(n, bytes):
        return {"_bytes": n.hex()}
    if isinstance(n, complex):
        return {"_complex": [n.real, n.imag]}
    if n is Ellipsis:
        return {"_ellipsis": True}
    if isinstance(n, (tuple, frozenset)):
        return {"_tuple": [enc(x) for x in n]}
    return n
sys.setrecursionlimit(20000)
print(json.dumps({"tree": enc(tree)}))
"""


@lru_cache(maxsize=8)
def newer_python(preferred: str | None = None) -> str | None:
    """The interpreter that re-parses files this one rejects: ``preferred``, else the newest that runs.

    Candidates are ``python3.14`` to ``python3.12`` on ``PATH`` and under ``$PYENV_ROOT/versions`` (pyenv's
    shims fail for versions that are installed but not selected, so each candidate is run once to prove it).
    """
    if preferred:
        found = shutil.which(preferred)
        return os.path.abspath(found) if found else None
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for name in NEWER_PYTHONS:
        candidates = [shutil.which(name)]
        if pyenv.is_dir():
            candidates += [str(p) for p in sorted(pyenv.glob(f"*/bin/{name}"), reverse=True)]
        for candidate in candidates:
            if candidate and _runs(candidate):
                return os.path.abspath(candidate)
    return None


def _runs(interpreter: str) -> bool:
    try:
        proc = subprocess.run([interpreter, "-I", "-c", "pass"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def parse_source(source: str, filename: str = "<unknown>", *, python: str | None = None) -> ast.Module:
    """The module of ``source``; newer syntax is parsed by a newer interpreter and rebuilt with local nodes.

    Raises:
        SyntaxError: no interpreter accepts the source (the newest one's message and line are kept).
    """
    try:
        return ast.parse(source, filename=filename)
    except SyntaxError as local:
        interpreter = newer_python(python)
        if interpreter is None or _same_version(interpreter):
            raise
        return _parse_elsewhere(source, filename, interpreter, local)


def _same_version(interpreter: str) -> bool:
    return os.path.realpath(interpreter) == os.path.realpath(sys.executable)


def _parse_elsewhere(source: str, filename: str, interpreter: str, local: SyntaxError) -> ast.Module:
    try:
        proc = subprocess.run(
            [interpreter, "-I", "-c", _DUMP, filename],
            input=source.encode("utf-8", "surrogatepass"),
            capture_output=True,
            timeout=_TIMEOUT,
            check=False,
        )
        answer = json.loads(proc.stdout or b"{}")
    except (OSError, subprocess.TimeoutExpired, ValueError):
        raise local from None
    if "tree" not in answer:
        error = SyntaxError(f"{answer.get('error', local.msg)} (also with {os.path.basename(interpreter)})")
        error.lineno = answer.get("line") or local.lineno
        raise error
    tree = _build(answer["tree"])
    if not isinstance(tree, ast.Module):
        raise local
    return tree


def _build(data: Any) -> Any:
    if isinstance(data, list):
        return [item for item in (_build(x) for x in data) if item is not _DROP]
    if not isinstance(data, dict):
        return data
    if "_bytes" in data:
        return bytes.fromhex(data["_bytes"])
    if "_complex" in data:
        return complex(*data["_complex"])
    if "_ellipsis" in data:
        return ...
    if "_tuple" in data:
        return tuple(_build(x) for x in data["_tuple"])
    name = data["_t"]
    fields = {key: _build(value) for key, value in data.items() if key != "_t"}
    if name == "TypeAlias":  # `type X[T] = Y` -> `X = Y`: the value is still scanned
        return _located(ast.Assign(targets=[fields["name"]], value=fields["value"], type_comment=None), fields)
    cls = getattr(ast, name, None)
    if not (isinstance(cls, type) and issubclass(cls, ast.AST)):
        return _DROP  # a type parameter (TypeVar, ParamSpec, TypeVarTuple) or other syntax unknown here
    known = set(cls._fields) | set(cls._attributes)
    return cls(**{key: value for key, value in fields.items() if key in known})


def _located(node: ast.AST, fields: dict[str, Any]) -> ast.AST:
    for attribute in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
        if attribute in fields:
            setattr(node, attribute, fields[attribute])
    return node


_DROP = object()
