"""Checks of declarative ONEX nodes: the node class is a bare archetype, and what the contract names exists.

Read with the AST only: the user's code is never imported for these. What "holds no logic" means was taken from
the 113 nodes of ``omnibase_infra``: 36 node classes are a docstring only, 73 add an ``__init__`` that only calls
``super().__init__(container)``; one holds a validator loop, which is what these checks report. So a node class
may hold docstrings, ``pass``, ``...``, annotated names without value, plain constants, and an ``__init__`` whose
only statement is the ``super().__init__(...)`` call with names or constants as arguments. Any other method,
statement or computed value is logic that belongs in a handler.

Module references (``handler_routing`` handlers, ``input_model``, ``output_model``) are resolved against the
project's source root (``src/`` or the project root) and the node folder; a module of another distribution
(``omnibase_core.*``) cannot be resolved here and is listed, not failed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from infra_models.enums import Severity
from infra_models.node import NodeKind
from infra_models.readiness import CheckCategory, Finding, ReadinessLevel
from infra_readiness.context import NodeContext
from infra_readiness.locate import source_roots
from infra_readiness.plugin import Outcome, check

__all__ = [
    "ARCHETYPES",
    "CHECKS",
    "handlers_resolve",
    "logic_in_class",
    "models_resolve",
    "node_class_declarative",
    "resolve_module",
]

#: Base classes accepted for each kind: the omnibase_core archetype and its service variant.
ARCHETYPES: dict[NodeKind, frozenset[str]] = {
    NodeKind.EFFECT: frozenset({"NodeEffect", "ModelServiceEffect"}),
    NodeKind.COMPUTE: frozenset({"NodeCompute", "ModelServiceCompute"}),
    NodeKind.REDUCER: frozenset({"NodeReducer", "ModelServiceReducer"}),
    NodeKind.ORCHESTRATOR: frozenset({"NodeOrchestrator", "ModelServiceOrchestrator"}),
}
#: The common base of every archetype; accepted for any kind.
_CORE_BASE = "NodeCoreBase"
_ALL_ARCHETYPES = frozenset().union(*ARCHETYPES.values()) | {_CORE_BASE}


def _onex_only(node: NodeContext) -> Outcome | None:
    if node.onex_contract is None:
        return Outcome.skipped("not an ONEX contract (no node_type): the declarative-node checks do not apply")
    return None


# -- ONX-001 -------------------------------------------------------------------------------------------------------
def _base_name(base: ast.expr) -> str:
    """``NodeEffect`` for ``NodeEffect``, ``core.NodeEffect`` or ``NodeReducer["A", "B"]``."""
    target = base.value if isinstance(base, ast.Subscript) else base
    if isinstance(target, ast.Attribute):
        return target.attr
    return target.id if isinstance(target, ast.Name) else ""


def _is_plain_value(value: ast.expr | None) -> bool:
    if value is None or isinstance(value, ast.Constant | ast.Name | ast.Attribute):
        return True
    if isinstance(value, ast.Tuple | ast.List | ast.Set):
        return all(_is_plain_value(item) for item in value.elts)
    return False


def _is_docstring(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)


def _only_calls_super_init(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    body = [s for s in function.body if not _is_docstring(s) and not isinstance(s, ast.Pass)]
    if function.decorator_list or len(body) != 1 or not isinstance(body[0], ast.Expr):
        return False
    call = body[0].value
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "__init__"):
        return False
    owner = call.func.value
    if not (isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super"):
        return False
    arguments = [*call.args, *(k.value for k in call.keywords)]
    return all(_is_plain_value(a.value if isinstance(a, ast.Starred) else a) for a in arguments)


def logic_in_class(cls: ast.ClassDef) -> list[tuple[int, str]]:
    """``(line, what)`` for every statement of a node class that is logic (see the module docstring)."""
    found: list[tuple[int, str]] = []
    for statement in cls.body:
        if _is_docstring(statement) or isinstance(statement, ast.Pass):
            continue
        if isinstance(statement, ast.AnnAssign) and _is_plain_value(statement.value):
            continue
        if isinstance(statement, ast.Assign) and _is_plain_value(statement.value):
            continue
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            if statement.name == "__init__" and _only_calls_super_init(statement):
                continue
            what = "an `__init__` that does more than call `super().__init__(...)`"
            if statement.name != "__init__":
                what = f"method `{statement.name}`"
            found.append((statement.lineno, what))
            continue
        found.append((statement.lineno, f"a `{type(statement).__name__}` statement"))
    return found


@check(
    id="ONX-001",
    title="Node class extends its archetype and holds no logic",
    category=CheckCategory.CONTRACT,
    gates=ReadinessLevel.STAGING,
    severity=Severity.MEDIUM,
    requires=("CON-001",),
    remediation=(
        "Declare the node in node.py as `class Node<Name><Kind>(NodeEffect)` (NodeCompute, NodeReducer, "
        "NodeOrchestrator for the other kinds) with a docstring and at most an `__init__` calling "
        "`super().__init__(container)`; move any logic into a handler named by the contract's handler_routing."
    ),
)
def node_class_declarative(node: NodeContext) -> Outcome:
    """A declarative ONEX node's ``node.py`` defines a class extending the archetype of its ``node_type``.

    The class holds no logic: docstrings, constants and an ``__init__`` that only calls ``super().__init__``.
    """
    skipped = _onex_only(node)
    if skipped is not None:
        return skipped
    contract = node.onex_contract
    assert contract is not None
    path = node.root / "node.py"
    if not path.is_file():
        return Outcome.failed(
            "no node.py: a declarative node declares its class there",
            [Finding(message="expected node.py with `class Node...(<archetype>)`", severity=Severity.MEDIUM)],
        )
    tree = node.tree(path)
    file = node.rel(path)
    if tree is None:
        return Outcome.errored(f"{file} cannot be read or is not valid Python")
    classes = [c for c in tree.body if isinstance(c, ast.ClassDef)]
    nodes = [c for c in classes if any(_base_name(b) in _ALL_ARCHETYPES for b in c.bases)]
    if not nodes:
        kind = contract.kind
        wanted = " or ".join(sorted(ARCHETYPES[kind])) if kind else "an omnibase_core archetype"
        names = ", ".join(c.name for c in classes) or "none"
        return Outcome.failed(
            f"no class in node.py extends {wanted} (classes: {names})",
            [Finding(message=f"no class extends {wanted}", severity=Severity.MEDIUM, file=file)],
        )
    findings: list[Finding] = []
    for cls in nodes:
        bases = {_base_name(b) for b in cls.bases} & _ALL_ARCHETYPES
        allowed = ARCHETYPES.get(contract.kind, _ALL_ARCHETYPES) | {_CORE_BASE} if contract.kind else _ALL_ARCHETYPES
        if not bases & allowed:
            findings.append(
                Finding(
                    message=f"`{cls.name}` extends {', '.join(sorted(bases))} but the contract says "
                    f"node_type {contract.node_type}",
                    severity=Severity.MEDIUM,
                    file=file,
                    line=cls.lineno,
                )
            )
        findings += [
            Finding(message=f"`{cls.name}` holds logic: {what}", severity=Severity.MEDIUM, file=file, line=line)
            for line, what in logic_in_class(cls)
        ]
    if findings:
        return Outcome.failed(f"{len(findings)} problem(s) with the node class", findings)
    names = ", ".join(f"{c.name}({', '.join(_base_name(b) for b in c.bases)})" for c in nodes)
    return Outcome.passed(f"{names}: declarative, no logic")


# -- module resolution ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Resolution:
    """Where a dotted module is: its file, or ``external`` (another distribution), or missing."""

    path: Path | None
    external: bool = False


def _bases(node: NodeContext) -> list[Path]:
    found: list[Path] = []
    if node.placement.source_root is not None:
        found.append(node.placement.source_root)
    found += source_roots(node.package_root)
    found.append(node.root)
    return list(dict.fromkeys(found))


def resolve_module(node: NodeContext, module: str) -> Resolution:
    """The file of ``module`` under the project's source roots or the node folder, without importing anything."""
    parts = [p for p in module.strip().split(".") if p]
    if not parts or not all(p.isidentifier() for p in parts):
        return Resolution(None)
    known_top = False
    for base in _bases(node):
        folder = base.joinpath(*parts)
        for candidate in (folder.with_suffix(".py"), folder / "__init__.py"):
            if candidate.is_file():
                return Resolution(candidate)
        known_top = known_top or (base / parts[0]).is_dir() or (base / f"{parts[0]}.py").is_file()
    return Resolution(None, external=not known_top)


def _defines(tree: ast.Module, name: str) -> bool:
    """True when the module defines or imports ``name`` at top level (including under ``if``/``try``)."""
    for statement in _top_level(tree.body):
        if isinstance(statement, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and statement.name == name:
            return True
        if isinstance(statement, ast.ImportFrom | ast.Import) and any(
            (alias.asname or alias.name.split(".")[-1]) == name for alias in statement.names
        ):
            return True
        if isinstance(statement, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in statement.targets
        ):
            return True
        if (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and statement.target.id == name
        ):
            return True
    return False


def _top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    for statement in body:
        yield statement
        if isinstance(statement, ast.If):
            yield from _top_level(statement.body + statement.orelse)
        elif isinstance(statement, ast.Try):
            yield from _top_level(statement.body + statement.orelse + statement.finalbody)
            for handler in statement.handlers:
                yield from _top_level(handler.body)


@dataclass(frozen=True)
class _Reference:
    where: str
    name: str
    module: str | None


def _check_references(node: NodeContext, references: list[_Reference], what: str) -> Outcome:
    file = node.rel(node.contract_path) if node.contract_path else None
    findings: list[Finding] = []
    external: list[str] = []
    for ref in references:
        if not ref.module:
            findings.append(
                Finding(
                    message=f"{ref.where}: `{ref.name}` names no module; write `module: <package>.<module>`",
                    severity=Severity.HIGH,
                    file=file,
                )
            )
            continue
        found = resolve_module(node, ref.module)
        if found.external:
            external.append(ref.module)
            continue
        if found.path is None:
            findings.append(
                Finding(
                    message=f"{ref.where}: module `{ref.module}` does not exist in this project",
                    severity=Severity.HIGH,
                    file=file,
                )
            )
            continue
        tree = node.tree(found.path)
        if tree is None:
            findings.append(
                Finding(
                    message=f"{ref.where}: `{ref.module}` cannot be read or is not valid Python",
                    severity=Severity.HIGH,
                    file=node.rel(found.path),
                )
            )
        elif not _defines(tree, ref.name):
            findings.append(
                Finding(
                    message=f"{ref.where}: `{ref.module}` does not define `{ref.name}`",
                    severity=Severity.HIGH,
                    file=node.rel(found.path),
                )
            )
    if findings:
        return Outcome.failed(f"{len(findings)} of {len(references)} {what} do not resolve", findings)
    if not references:
        return Outcome.passed(f"the contract names no {what}")
    note = f" ({len(external)} in other distributions, not checked: {', '.join(sorted(set(external)))})"
    return Outcome.passed(f"{len(references)} {what} resolve to classes" + (note if external else ""))


# -- ONX-002 -------------------------------------------------------------------------------------------------------
def _handler_references(node: NodeContext) -> list[_Reference]:
    contract = node.onex_contract
    assert contract is not None
    routing = contract.handler_routing
    if routing is None:
        return []
    references: list[_Reference] = []
    for number, route in enumerate(routing.handlers, start=1):
        label = f"handler_routing.handlers[{number}]" + (f" ({route.operation})" if route.operation else "")
        if route.handler is None:
            references.append(_Reference(label, "<no handler>", None))
        else:
            references.append(_Reference(label, route.handler.name, route.handler.module))
    default = routing.default_handler
    if default and (":" in default or "." in default):  # `module:Class` or `module.Class`, else a handler_type
        module, _, name = default.rpartition(":") if ":" in default else default.rpartition(".")
        references.append(_Reference("handler_routing.default_handler", name, module or None))
    return references


def _unknown_default(node: NodeContext) -> Finding | None:
    """A ``default_handler`` that is neither ``module:Class`` nor a handler_type or operation of an entry."""
    contract = node.onex_contract
    routing = contract.handler_routing if contract else None
    default = routing.default_handler if routing else None
    if routing is None or not default or ":" in default or "." in default:
        return None
    known = {r.handler_type for r in routing.handlers} | {r.operation for r in routing.handlers}
    known |= {r.handler.name for r in routing.handlers if r.handler is not None}
    if default in known:
        return None
    return Finding(
        message=f"handler_routing.default_handler `{default}` is no entry's handler_type, operation or handler",
        severity=Severity.HIGH,
        file=node.rel(node.contract_path) if node.contract_path else None,
    )


@check(
    id="ONX-002",
    title="Every handler_routing entry names a handler class that exists",
    category=CheckCategory.CONTRACT,
    gates=ReadinessLevel.DEVELOPMENT,
    severity=Severity.HIGH,
    requires=("CON-001",),
    remediation=(
        "For each `handler_routing.handlers` entry, give `handler: {name: HandlerX, module: <service>.nodes."
        "<node>.handlers.handler_x}` and define `class HandlerX` in that module (or fix the name or module)."
    ),
)
def handlers_resolve(node: NodeContext) -> Outcome:
    """Each ``handler_routing`` handler's module exists in the project and defines the named class (read by AST).

    A handler in another distribution (``omnibase_core...``) is listed, not failed: it cannot be seen from here.
    """
    skipped = _onex_only(node)
    if skipped is not None:
        return skipped
    outcome = _check_references(node, _handler_references(node), "handler(s)")
    unknown = _unknown_default(node)
    if unknown is None:
        return outcome
    return Outcome.failed(f"{outcome.message}; the default handler is unknown", (*outcome.findings, unknown))


# -- ONX-003 -------------------------------------------------------------------------------------------------------
@check(
    id="ONX-003",
    title="input_model and output_model exist",
    category=CheckCategory.CONTRACT,
    gates=ReadinessLevel.DEVELOPMENT,
    severity=Severity.HIGH,
    requires=("CON-001",),
    remediation=(
        "Point `input_model` and `output_model` at `{name: ModelX, module: <service>.nodes.<node>.models.model_x}` "
        "and define `class ModelX` in that module."
    ),
)
def models_resolve(node: NodeContext) -> Outcome:
    """The contract's ``input_model`` and ``output_model`` modules exist and define their classes (read by AST)."""
    skipped = _onex_only(node)
    if skipped is not None:
        return skipped
    contract = node.onex_contract
    assert contract is not None
    references = [
        _Reference(label, ref.name, ref.module)
        for label, ref in (("input_model", contract.input_model), ("output_model", contract.output_model))
        if ref is not None
    ]
    return _check_references(node, references, "model(s)")


CHECKS = (node_class_declarative, handlers_resolve, models_resolve)
