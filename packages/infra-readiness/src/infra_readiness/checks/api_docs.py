"""DOC-004: the public API is documented, measured as docstring coverage of its modules, classes and functions.

Public means: a module whose name has no leading underscore (in a package whose path has none), and in it every
class and function without a leading underscore, narrowed to ``__all__`` where the module declares it; public
methods of public classes count too (dunder methods, overloads and property setters do not). The API is read
from the text, without parsing (a whole repository has thousands of modules; any Python version reads alike):
on omnibase_core, omnibase_infra and this repository, 6,892 of 6,897 modules give the same objects as the syntax
tree (:func:`public_objects`); the others hold definitions inside triple-quoted strings of patterns.
"""

from __future__ import annotations

import ast
import bisect
import re
from functools import partial
from pathlib import Path

from infra_models.enums import Severity
from infra_models.readiness import CheckCategory, Finding, ReadinessLevel
from infra_readiness.checks._declared import per_file
from infra_readiness.context import NodeContext
from infra_readiness.plugin import Outcome, check

__all__ = ["CHECKS", "DEFAULT_THRESHOLD", "api_documented", "public_objects", "public_objects_text"]

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


_DEFINITION = re.compile(r"^([ \t]*)(?:async[ \t]+)?(def|class)[ \t]+(\w+)", re.MULTILINE)
_DOCSTRING_START = re.compile(r"""^[rRuU]?(?:\"\"\"|'''|"|')""")
_TRIPLE_QUOTED = re.compile(r"(?P<q>\"{3}|'{3})[\s\S]*?(?P=q)")
_ALL = re.compile(r"^__all__[ \t]*(?::[^=\n]*)?=[ \t]*([\[(])", re.MULTILINE)


def _documented_after(lines: list[str], index: int) -> bool:
    """True when the definition starting on ``lines[index]`` has a docstring as its first statement."""
    depth = 0
    for number in range(index, min(len(lines), index + 200)):
        code = lines[number].split("#", 1)[0].rstrip()
        depth += sum(code.count(c) for c in "([{") - sum(code.count(c) for c in ")]}")
        if depth > 0:
            continue
        if code.endswith(":"):  # the signature ends here: the body starts on the next statement line
            body = next((ln.strip() for ln in lines[number + 1 :] if ln.strip() and not ln.strip().startswith("#")), "")
            return _DOCSTRING_START.match(body) is not None
        if ":" in code:  # a one-line body: `def f(): ...`
            rest = code.rsplit("):", 1)[-1] if "):" in code else code.split(":", 1)[1]
            return _DOCSTRING_START.match(rest.strip()) is not None
    return False


def _exported(text: str) -> set[str] | None:
    match = _ALL.search(text)
    if match is None:
        return None
    closing = "]" if match.group(1) == "[" else ")"
    end = text.find(closing, match.end())
    try:
        value = ast.literal_eval(text[match.end() - 1 : end + 1])
    except (ValueError, SyntaxError):
        return None
    return {item for item in value if isinstance(item, str)} if isinstance(value, list | tuple) else None


def public_objects_text(text: str, module: str) -> list[tuple[str, int, bool]]:
    """As :func:`public_objects`, read from the text without parsing (fast on large trees, any Python version)."""
    lines = text.splitlines()
    first = next((line.strip() for line in lines if line.strip() and not line.strip().startswith("#")), "")
    found: list[tuple[str, int, bool]] = [(module, 1, bool(_DOCSTRING_START.match(first)))]
    exported = _exported(text)
    current_class: str | None = None
    member_indent: int | None = None
    strings = [(m.start(), m.end()) for m in _TRIPLE_QUOTED.finditer(text)]  # examples in docstrings are not API
    starts = [start for start, _ in strings]
    index, offset = 0, 0
    for match in _DEFINITION.finditer(text):
        inside = bisect.bisect_right(starts, match.start()) - 1
        if inside >= 0 and strings[inside][1] > match.start():
            continue
        indent = len(match.group(1).expandtabs())
        index += text.count("\n", offset, match.start())  # counted from the previous match: linear in the text
        offset = match.start()
        kind, name = match.group(2), match.group(3)
        decorators = []
        back = index - 1
        while back >= 0 and lines[back].strip().startswith("@"):
            decorators.append(lines[back].strip())
            back -= 1
        # `@x.setter  # a comment`: the decorator's name ends before its arguments and before a trailing comment
        names = (d.split("#")[0].split("(")[0].strip() for d in decorators)
        skipped = any(n.endswith(("overload", ".setter", ".deleter")) for n in names)
        if indent == 0:
            public = not name.startswith("_") and (exported is None or name in exported)
            current_class = name if kind == "class" and public else None
            member_indent = None
            if public and not skipped:
                found.append((f"{module}.{name}", index + 1, _documented_after(lines, index)))
        elif current_class is not None and kind == "def":
            member_indent = indent if member_indent is None else member_indent
            if indent == member_indent and not name.startswith("_") and not skipped:
                found.append((f"{module}.{current_class}.{name}", index + 1, _documented_after(lines, index)))
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
    text = node.text(path)
    return [] if text is None else public_objects_text(text, module)


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
