"""SEC-004: a node that exposes handlers declares how callers authenticate.

Handlers are found in the code (route decorators of FastAPI, Starlette, Flask, aiohttp and Litestar:
``@app.delete("/orders/{id}")``, ``@router.post``, ``@app.route(..., methods=["DELETE"])``; aiohttp's route tables
``web.delete("/x", handler)``, ``web.route("DELETE", "/x", handler)``, ``app.router.add_route("DELETE", "/x",
handler)``, ``app.router.add_delete(...)``; Starlette's ``app.add_route("/x", handler, methods=[...])``)
and in the contract (``endpoints``/``routes``). Auth is declared by the contract (``security.authentication``,
ONEX's section, or a top-level ``auth``), by ``auth = "..."`` in ``[tool.infra-readiness]``, or per route in
code: an auth-named decorator (``@login_required``, ``@requires_auth``), an auth dependency
(``dependencies=[Depends(verify_token)]``, a ``Depends``/``Security`` parameter), or one on the app or router.
Health, readiness and metrics routes need none.
"""

from __future__ import annotations

import ast
import re

from infra_models.enums import Severity
from infra_models.readiness import CheckCategory, Finding, ReadinessLevel
from infra_readiness.checks._ast import call_name, walk
from infra_readiness.checks._declared import contract_data, lookup, mentioning
from infra_readiness.context import NodeContext
from infra_readiness.plugin import Outcome, check

__all__ = ["CHECKS", "Route", "auth_declared", "routes"]

_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "route", "api_route", "websocket"})
_ROUTER_OWNERS = re.compile(r"(?i)^(app|api|router|bp|blueprint|routes|web|application|server|\w*_router|\w*_app)$")
_AUTH_NAME = re.compile(
    r"(?i)(auth|login|permission|jwt|token|current_user|api_?key|oauth|bearer|scope|requires_|protected|secured|"
    r"verify_|guard|principal|credential|signature|hmac)"
)
#: Only files with a decorator call of a route method, or an aiohttp/Starlette route-table call, are parsed.
_ROUTE_TEXT = re.compile(
    r"@[\w.]+\.(?:get|post|put|patch|delete|head|options|route|api_route|websocket)\(|"
    r"\bweb\.(?:get|post|put|patch|delete|head|view|route)\(|\.add_(?:get|post|put|patch|delete|head|view|route)\("
)
#: aiohttp's route definitions: ``web.delete(path, handler)`` (and ``web.route(method, path, handler)``).
_TABLE_VERBS = frozenset({"get", "post", "put", "patch", "delete", "head", "view", "route"})
#: Router methods: aiohttp's ``router.add_delete(path, handler)``, ``router.add_route(method, path, handler)``,
#: Starlette's ``app.add_route(path, handler, methods=[...])``.
_ADD_VERBS = frozenset(
    {"add_get", "add_post", "add_put", "add_patch", "add_delete", "add_head", "add_view", "add_route"}
)
_OPEN_PATHS = re.compile(r"^/?(health|healthz|live|livez|ready|readyz|readiness|liveness|metrics|ping|status)/?$")


class Route:
    """One handler exposed over HTTP: its method(s), path, function and line."""

    def __init__(self, method: str, path: str, function: str, line: int, authed: bool) -> None:
        self.method = method
        self.path = path
        self.function = function
        self.line = line
        self.authed = authed


def _auth_like(node: ast.AST) -> bool:
    """True when the expression names something auth-like (a dependency, a decorator, a guard)."""
    for sub in ast.walk(node):
        name = sub.id if isinstance(sub, ast.Name) else sub.attr if isinstance(sub, ast.Attribute) else ""
        if name and _AUTH_NAME.search(name):
            return True
    return False


def _app_level_auth(tree: ast.Module) -> bool:
    """An app or router built with auth dependencies or middleware: every route of the module is covered."""
    for node in walk(tree):
        if isinstance(node, ast.Call):
            name = call_name(node).rsplit(".", 1)[-1]
            constructor = name[:1].isupper() or name == "include_router"  # FastAPI(...), APIRouter(...), not a route
            for keyword in node.keywords:
                if (
                    constructor
                    and keyword.arg in {"dependencies", "middleware", "middlewares", "guards"}
                    and _auth_like(keyword.value)
                ):
                    return True
            if name in {"add_middleware", "include_router"} and any(_auth_like(a) for a in node.args[:1]):
                return True
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:  # @app.before_request def check_token(): ...
                if call_name_of(decorator).endswith(("before_request", "middleware")) and _AUTH_NAME.search(node.name):
                    return True
    return False


def call_name_of(node: ast.expr) -> str:
    """The dotted name of a decorator, called or not."""
    return call_name(node) if isinstance(node, ast.Call) else call_name(ast.Call(func=node, args=[], keywords=[]))


def routes(tree: ast.Module) -> list[Route]:
    """Every route handler of a module, with whether the route itself (or its app) requires auth."""
    module_auth = _app_level_auth(tree)
    found: list[Route] = []
    for node in walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            if not isinstance(decorator, ast.Call):
                continue
            dotted = call_name(decorator)
            owner, _, method = dotted.rpartition(".")
            if method not in _METHODS or not _ROUTER_OWNERS.match(owner.rsplit(".", 1)[-1] or "-"):
                continue
            path = decorator.args[0].value if decorator.args and isinstance(decorator.args[0], ast.Constant) else ""
            verbs = _verbs(decorator, method)
            authed = (
                module_auth
                or any(_auth_like(d) for d in node.decorator_list if d is not decorator)
                or any(k.arg in {"dependencies", "guards", "auth"} and _auth_like(k.value) for k in decorator.keywords)
                or _auth_parameter(node)
            )
            found.append(Route(verbs, str(path), node.name, decorator.lineno, authed))
    return found + _table_routes(tree, module_auth)


def _text(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _table_routes(tree: ast.Module, module_auth: bool) -> list[Route]:
    """Routes registered by calls rather than decorators (aiohttp route tables, ``add_route``)."""
    functions = {
        n.name: n for n in walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    }  # handlers defined in the module, to read their decorators
    found: list[Route] = []
    for node in walk(tree):
        if not isinstance(node, ast.Call):
            continue
        owner, _, verb = call_name(node).rpartition(".")
        owner_short = owner.rsplit(".", 1)[-1]
        args = node.args
        if verb in _TABLE_VERBS and owner_short == "web" and len(args) >= 2:
            method, path, handler = (
                (_text(args[0]), _text(args[1]), args[2:3]) if verb == "route" else (verb, _text(args[0]), args[1:2])
            )
        elif verb in _ADD_VERBS and _ROUTER_OWNERS.match(owner_short or "-") and len(args) >= 2:
            first = _text(args[0])
            if verb != "add_route":
                method, path, handler = verb.removeprefix("add_"), first, args[1:2]
            elif first is not None and first.startswith("/"):  # Starlette: add_route(path, endpoint, methods=[...])
                methods = next((k.value for k in node.keywords if k.arg == "methods"), None)
                names = (
                    [e.value for e in methods.elts if isinstance(e, ast.Constant)]
                    if isinstance(methods, ast.List | ast.Tuple | ast.Set)
                    else []
                )
                method, path, handler = ",".join(str(n) for n in names) or "get", first, args[1:2]
            else:  # aiohttp: add_route(method, path, handler)
                method, path, handler = first, _text(args[1]), args[2:3]
        else:
            continue
        target = handler[0] if handler else None
        name = target.id if isinstance(target, ast.Name) else target.attr if isinstance(target, ast.Attribute) else "?"
        function = functions.get(name)
        authed = (
            module_auth
            or any(
                k.arg in {"dependencies", "guards", "auth", "middlewares"} and _auth_like(k.value)
                for k in node.keywords
            )
            or (function is not None and any(_auth_like(d) for d in function.decorator_list))
            or (target is not None and not isinstance(target, ast.Name | ast.Attribute) and _auth_like(target))
        )
        found.append(Route(str(method or "*").upper(), path or "", name, node.lineno, authed))
    return found


def _verbs(decorator: ast.Call, method: str) -> str:
    if method not in {"route", "api_route"}:
        return method.upper()
    for keyword in decorator.keywords:
        if keyword.arg == "methods" and isinstance(keyword.value, ast.List | ast.Tuple | ast.Set):
            names = [e.value for e in keyword.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
            return ",".join(n.upper() for n in names) or "GET"
    return "GET"


def _auth_parameter(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A parameter whose default is ``Depends(auth_thing)`` / ``Security(...)``, or annotated with one."""
    defaults = [*function.args.defaults, *(d for d in function.args.kw_defaults if d is not None)]
    annotations = [a.annotation for a in [*function.args.args, *function.args.kwonlyargs] if a.annotation is not None]
    for expr in [*defaults, *annotations]:
        for sub in ast.walk(expr):
            if not isinstance(sub, ast.Call):
                continue
            short = call_name(sub).rsplit(".", 1)[-1]
            if short == "Security" or (short == "Depends" and _auth_like(sub)):
                return True
    return False


def _declared(node: NodeContext) -> str | None:
    """Where the node declares its auth, or ``None``."""
    data = contract_data(node)
    section = lookup(data, "security", "authentication")
    if isinstance(section, dict) and (section.get("required") is True or section.get("methods")):
        return "contract security.authentication"
    if isinstance(section, dict) and section.get("required") is False and section.get("reason"):
        return f"contract: no auth by design ({section['reason']})"
    for key in ("auth", "authentication"):
        if data.get(key):
            return f"contract `{key}`"
    configured = node.readiness_table.get("auth")
    if isinstance(configured, str) and configured.strip():
        return f"[tool.infra-readiness] auth = {configured!r}"
    return None


def _contract_endpoints(node: NodeContext) -> list[str]:
    data = contract_data(node)
    found: list[str] = []
    for key in ("endpoints", "routes", "http_routes"):
        value = data.get(key)
        if isinstance(value, list):
            found += [str(item.get("path", item) if isinstance(item, dict) else item) for item in value]
    return found


@check(
    id="SEC-004",
    title="Exposed handlers declare their auth",
    category=CheckCategory.SECURITY,
    gates=ReadinessLevel.STAGING,
    severity=Severity.HIGH,
    remediation=(
        "Protect each route with an auth dependency or decorator (FastAPI `dependencies=[Depends(verify_token)]`, "
        "Flask `@login_required`), or declare the node's auth in the contract (`security: authentication: "
        '{required: true, methods: [bearer_token]}`) or `auth = "mTLS at the mesh"` in [tool.infra-readiness].'
    ),
)
def auth_declared(node: NodeContext) -> Outcome:
    """Every HTTP handler the node exposes (in code or contract) requires auth, or the node declares its auth."""
    open_routes: list[Finding] = []
    total = 0
    for path, tree in node.python_trees(mentioning(node, node.source_files, _ROUTE_TEXT)):
        for route in routes(tree):
            if _OPEN_PATHS.match(route.path):
                continue
            total += 1
            if not route.authed:
                open_routes.append(
                    Finding(
                        message=f"{route.method} {route.path or '?'} (`{route.function}`) has no auth dependency",
                        severity=Severity.HIGH,
                        file=node.rel(path),
                        line=route.line,
                    )
                )
    endpoints = _contract_endpoints(node)
    total += len(endpoints)
    if total == 0:
        return Outcome.skipped("exposes no HTTP handler")
    declared = _declared(node)
    if declared:
        return Outcome.passed(f"{total} handler(s); auth declared in {declared}")
    if endpoints:
        open_routes.append(
            Finding(message=f"the contract exposes {len(endpoints)} endpoint(s) and declares no auth", file=None)
        )
    if open_routes:
        return Outcome.failed(f"{len(open_routes)} handler(s) without declared auth", open_routes)
    return Outcome.passed(f"{total} handler(s), each behind an auth dependency")


CHECKS = (auth_declared,)
