"""Small AST queries shared by the checks: imports, calls, keywords and attribute reads, with line numbers."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "Import",
    "walk",
    "call_name",
    "docstrings",
    "imports",
    "literal_false",
    "module_level_imports",
    "string_constants",
]


def walk(tree: ast.AST) -> list[ast.AST]:
    """Every node under ``tree``, computed once per tree (several checks read the same files)."""
    cached: list[ast.AST] | None = getattr(tree, "_readiness_walk", None)
    if cached is None:
        cached = list(ast.walk(tree))
        tree._readiness_walk = cached  # type: ignore[attr-defined]
    return cached


@dataclass(frozen=True)
class Import:
    """One imported module: its full dotted name and the line of the import."""

    module: str
    line: int

    @property
    def top(self) -> str:
        """The top-level package, such as ``requests`` for ``requests.adapters``."""
        return self.module.split(".")[0]


def imports(tree: ast.AST) -> Iterator[Import]:
    """Every absolute import in ``tree`` (relative imports are the node's own modules)."""
    for node in walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield Import(node.module, node.lineno)
            for alias in node.names:
                yield Import(f"{node.module}.{alias.name}", node.lineno)


def call_name(node: ast.Call) -> str:
    """The dotted name of what is called, such as ``requests.get``; empty for computed callees."""
    parts: list[str] = []
    target: ast.expr = node.func
    while isinstance(target, ast.Attribute):
        parts.append(target.attr)
        target = target.value
    if isinstance(target, ast.Name):
        parts.append(target.id)
    else:
        return ".".join(reversed(parts))
    return ".".join(reversed(parts))


def literal_false(node: ast.expr) -> bool:
    """True for ``False``, ``0``, ``"false"``, ``"0"``, ``"no"`` or ``"none"`` written literally."""
    if isinstance(node, ast.Constant):
        value = node.value
        if value is False or (isinstance(value, int) and not isinstance(value, bool) and value == 0):
            return True
        return isinstance(value, str) and value.strip().lower() in {"false", "0", "no", "none", "off"}
    return False


def string_constants(tree: ast.AST) -> Iterator[ast.Constant]:
    """Every string literal in ``tree``."""
    for node in walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node


def docstrings(tree: ast.AST) -> set[int]:
    """``id()`` of every docstring constant of the module, its classes and functions (computed once per tree)."""
    cached: set[int] | None = getattr(tree, "_readiness_docstrings", None)
    if cached is not None:
        return cached
    found: set[int] = set()
    for node in walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                found.add(id(first.value))
    tree._readiness_docstrings = found  # type: ignore[attr-defined]
    return found


def module_level_imports(tree: ast.Module) -> Iterator[Import]:
    """Imports that run when the module is imported: at top level or under module-level if/try/with blocks."""
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        statement = pending.pop()
        if isinstance(statement, ast.Import | ast.ImportFrom):
            yield from imports(statement)
        elif isinstance(statement, ast.If | ast.Try | ast.With):
            for field in ("body", "orelse", "finalbody", "handlers"):
                for child in getattr(statement, field, []):
                    if isinstance(child, ast.ExceptHandler):
                        pending.extend(child.body)
                    else:
                        pending.append(child)
