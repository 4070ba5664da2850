"""DOC-004: the public API is documented, measured as docstring coverage of its modules, classes and functions.

Public means: a module whose name has no leading underscore (in a package whose path has none), and in it every
class and function without a leading underscore, narrowed to ``__all__`` where the module declares it; public
methods of public classes count too (dunder methods, overloads and property setters do not). The syntax trees
are the ones every check reads, so 3.12+ modules are measured like others.
"""

from __future__ import annotations

import ast
from functools import partial
from pathlib import Path

from infra_models.enums import Severity
from infra_models.readiness import CheckCategory, Finding, ReadinessLevel
from infra_readiness.checks._declared import per_file
from infra_readiness.context import NodeContext
from infra_readiness.plugin import Outcome, check

__all__ = ["CHECKS", "DEFAULT_THRESHOLD", "api_documented", "public_objects"]

#: Per cent of public objects that need a docstring, unless ``docstring-coverage`` in [tool.infra-readiness] says.
DEFAULT_THRESHOLD = 80.0


def _declared_all(tree: ast.Module) -> set[str] | None:
    for statement in tree.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        elif isinstance(statement, ast.AnnAssign):
            targets, value = [statement.target], statement.value
        named = any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets)
        if named and isinstance(value, ast.List | ast.Tuple):
            return {e.value for e in value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return None


def _skipped(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    names = {ast.unparse(d).split("(")[0] for d in function.decorator_list}
    return any(n.endswith(("overload", ".setter", ".deleter")) for n in names)


def public_objects(tree: ast.Module, module: str) -> list[tuple[str, int, bool]]:
    """``(qualified name, line, documented)`` of the module and its public classes, functions and methods."""
    exported = _declared_all(tree)
    found: list[tuple[str, int, bool]] = [(module, 1, ast.get_docstring(tree) is not None)]
    for statement in tree.body:
        if not isinstance(statement, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if statement.name.startswith("_") or (exported is not None and statement.name not in exported):
            continue
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef) and _skipped(statement):
            continue
        found.append((f"{module}.{statement.name}", statement.lineno, ast.get_docstring(statement) is not None))
        if isinstance(statement, ast.ClassDef):
            for item in statement.body:
                if (
                    isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                    and not item.name.startswith("_")
                    and not _skipped(item)
                ):
                    documented = ast.get_docstring(item) is not None
                    found.append((f"{module}.{statement.name}.{item.name}", item.lineno, documented))
    return found


def _module_name(node: NodeContext, path: Path) -> str | None:
    """The dotted name of a source file, or ``None`` for a private module."""
    parts = list(Path(node.rel(path)).with_suffix("").parts)
    if parts and parts[0] == "src":
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    if any(p.startswith("_") for p in parts) or not parts:
        return None if parts else (node.import_name or node.root.name)
    return ".".join(parts)


def _objects_of(node: NodeContext, path: Path, module: str) -> list[tuple[str, int, bool]]:
    tree = node.tree(path)
    return [] if tree is None else public_objects(tree, module)


def _threshold(node: NodeContext) -> float:
    value = node.readiness_table.get("docstring-coverage")
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 100:
        return float(value)
    return DEFAULT_THRESHOLD


@check(
    id="DOC-004",
    title="Public API has docstrings",
    category=CheckCategory.DOCUMENTATION,
    gates=ReadinessLevel.PRODUCTION,
    severity=Severity.MEDIUM,
    remediation=(
        "Give each public module, class, function and method a docstring (one line says what it is for), or make "
        "helpers private with a leading underscore or leave them out of `__all__`."
    ),
)
def api_documented(node: NodeContext) -> Outcome:
    """At least 80% of the public API (modules, classes, functions, methods) has a docstring (configurable)."""
    objects: list[tuple[str, str, int, bool]] = []
    for path in node.source_files:
        module = _module_name(node, path)
        if module is None:
            continue  # a private module: not parsed at all
        found = per_file(f"DOC-004:{module}", path, partial(_objects_of, node, path, module))
        objects += [(node.rel(path), name, line, documented) for name, line, documented in found]
    if not objects:
        return Outcome.skipped("no public Python API")
    documented = sum(1 for *_, ok in objects if ok)
    percent = 100.0 * documented / len(objects)
    needed = _threshold(node)
    figure = f"{documented} of {len(objects)} public object(s) documented ({percent:.0f}%)"
    if percent + 1e-9 < needed:
        missing = [
            Finding(message=f"`{name}` has no docstring", severity=Severity.LOW, file=file, line=line)
            for file, name, line, ok in objects
            if not ok
        ]
        return Outcome.failed(f"{figure}; {needed:g}% needed", missing[:50])
    return Outcome.passed(figure)


CHECKS = (api_documented,)
