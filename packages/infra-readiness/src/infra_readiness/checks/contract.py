"""Contract checks: the contract validates, EFFECT nodes declare and use timeouts and retries, COMPUTE stays pure."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from infra_models.enums import Severity
from infra_models.node import NodeKind
from infra_models.readiness import CheckCategory, Finding, ReadinessLevel
from infra_readiness.checks._ast import call_name, imports, walk
from infra_readiness.checks.onex import CHECKS as ONEX_CHECKS
from infra_readiness.context import NodeContext
from infra_readiness.plugin import Outcome, check

__all__ = [
    "CHECKS",
    "IO_MODULES",
    "compute_is_pure",
    "contract_valid",
    "effect_timeouts_retries",
    "io_module",
    "readiness_config_valid",
]

#: Modules whose import means I/O: network, databases, brokers, secrets stores, processes.
IO_MODULES = frozenset(
    {
        "aiohttp", "aiokafka", "aiosqlite", "asyncpg", "boto3", "botocore", "confluent_kafka", "ftplib", "grpc",
        "http.client", "http.server", "httpx", "hvac", "kafka", "motor", "paramiko", "psycopg", "psycopg2",
        "pymongo", "pymysql", "redis", "requests", "smtplib", "socket", "socketserver", "sqlalchemy", "sqlite3",
        "ssl", "subprocess", "telnetlib", "urllib.request", "urllib3", "websocket", "websockets", "xmlrpc.client",
        "zmq",
    }
)  # fmt: skip
_TIMEOUT_KEYWORDS = frozenset(
    {"timeout", "connect_timeout", "read_timeout", "request_timeout", "socket_timeout", "timeout_seconds", "timeout_ms"}
)
_TIMEOUT_CALLS = frozenset(
    {
        "asyncio.wait_for",
        "asyncio.timeout",
        "wait_for",
        "anyio.fail_after",
        "anyio.move_on_after",
        "async_timeout.timeout",
    }
)
_TIMEOUT_ATTRS = frozenset({"timeouts", "request_seconds", "connect_seconds"})
_RETRY_LIBRARIES = frozenset({"tenacity", "backoff", "stamina", "retrying", "retry"})
_RETRY_ATTRS = frozenset({"retry_policy", "max_attempts"})
_HTTP_VERBS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request"})


@check(
    id="CON-001",
    title="Contract validates",
    category=CheckCategory.CONTRACT,
    gates=ReadinessLevel.DEVELOPMENT,
    severity=Severity.CRITICAL,
    remediation="Fix contract.yaml so `infra-models validate contract.yaml` passes; the message names the line.",
)
def contract_valid(node: NodeContext) -> Outcome:
    """The node's ``contract.yaml`` parses as bounded YAML and validates: an ONEX contract or an infra one.

    Hostile YAML (alias bombs, deep nesting, huge scalars, duplicate keys) fails here, naming the limit hit.
    """
    if node.contract_path is None:
        return Outcome.skipped("no contract.yaml: a package, not an ONEX node")
    if node.contract is not None:
        return Outcome.passed(f"{node.contract.kind} node {node.contract.name} {node.contract.version}")
    onex = node.onex_contract
    if onex is not None:
        kind = onex.kind.value if onex.kind else f"{onex.node_type} (no archetype kind)"
        version = f" {onex.contract_version}" if onex.contract_version else ""
        return Outcome.passed(f"ONEX {kind} node {onex.display_name}{version}")
    error = node.contract_error
    assert error is not None
    file = node.rel(node.contract_path)
    problems = error.details.get("problems") or [{"line": None, "message": error.message}]
    findings = [
        Finding(
            message=str(p.get("field", "") and f"field `{p['field']}`: ") + str(p["message"]),
            severity=Severity.CRITICAL,
            file=file,
            line=p.get("line") or _line_from_message(error.message),
        )
        for p in problems
    ]
    message = error.message.replace(str(node.contract_path), file)
    return Outcome.failed(f"contract does not validate: {message}", findings)


def _line_from_message(message: str) -> int | None:
    head = message.split(": ", 1)[0]
    tail = head.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() and int(tail) >= 1 else None


@check(
    id="CON-002",
    title="EFFECT node declares and uses timeouts and retries",
    category=CheckCategory.CONTRACT,
    gates=ReadinessLevel.STAGING,
    severity=Severity.HIGH,
    kinds=(NodeKind.EFFECT,),
    requires=("CON-001",),
    remediation=(
        "Declare `timeouts` and `retry_policy` in contract.yaml and read them in the code: pass a timeout to every "
        "external call and retry with backoff (for example with tenacity, driven by `contract.retry_policy`)."
    ),
)
def effect_timeouts_retries(node: NodeContext) -> Outcome:
    """An EFFECT node talks to systems that hang and fail: it must bound every wait and retry with backoff.

    Declared: the contract has ``timeouts`` and ``retry_policy``. Used: the code passes a ``timeout`` to calls
    (or uses ``asyncio.wait_for``/``asyncio.timeout``, or reads the contract's timeouts) and retries (tenacity,
    backoff, stamina, or reads ``retry_policy``). HTTP calls without a timeout are reported one by one.
    """
    contract = node.contract
    if contract is None and node.onex_contract is not None:
        return _onex_timeouts_retries(node)
    assert contract is not None
    findings: list[Finding] = []
    file = node.rel(node.contract_path) if node.contract_path else None
    if contract.timeouts is None:
        findings.append(Finding(message="contract declares no `timeouts`", severity=Severity.HIGH, file=file))
    if contract.retry_policy is None:
        findings.append(Finding(message="contract declares no `retry_policy`", severity=Severity.HIGH, file=file))
    uses_timeout, uses_retry = _code_uses_timeouts_retries(node, findings)
    if not uses_timeout:
        findings.append(
            Finding(message="the code never passes a timeout nor reads `contract.timeouts`", severity=Severity.HIGH)
        )
    if not uses_retry:
        findings.append(
            Finding(
                message="the code never retries: no retry library and no use of `retry_policy`", severity=Severity.HIGH
            )
        )
    if findings:
        return Outcome.failed(f"{len(findings)} problem(s) with timeouts or retries", findings)
    return Outcome.passed("timeouts and retries declared in the contract and used in the code")


def _onex_timeouts_retries(node: NodeContext) -> Outcome:
    """A declarative ONEX EFFECT: its runtime applies what the contract declares, so a declaration suffices.

    Timeouts: any ``*timeout*`` key in the contract (``io_operations``, ``effect``, handler settings...) or a
    timeout in the handler code. Retries: a ``retry_policy`` or ``circuit_breaker`` section anywhere in the
    contract (``error_handling.retry_policy`` in omnibase_infra) or retries in the handler code.
    """
    contract = node.onex_contract
    assert contract is not None
    keys = set(_keys(contract.model_dump(mode="python")))
    findings: list[Finding] = []
    uses_timeout, uses_retry = _code_uses_timeouts_retries(node, findings)
    file = node.rel(node.contract_path) if node.contract_path else None
    declares_timeout = any("timeout" in key for key in keys)
    declares_retry = bool(keys & {"retry_policy", "circuit_breaker", "retry", "retries", "max_retries"})
    if not (declares_timeout or uses_timeout):
        findings.append(
            Finding(
                message="no timeout: the contract declares no `*timeout*` setting and the handlers pass none",
                severity=Severity.HIGH,
                file=file,
            )
        )
    if not (declares_retry or uses_retry):
        findings.append(
            Finding(
                message="no retries: the contract has no `error_handling.retry_policy` or `circuit_breaker` "
                "and the handlers never retry",
                severity=Severity.HIGH,
                file=file,
            )
        )
    if findings:
        return Outcome.failed(f"{len(findings)} problem(s) with timeouts or retries", findings)
    where = " and ".join(
        w
        for w, on in (
            ("declared in the contract", declares_timeout and declares_retry),
            ("used in code", uses_timeout or uses_retry),
        )
        if on
    )
    return Outcome.passed(f"timeouts and retries {where or 'covered'}")


def _keys(value: object, depth: int = 0) -> Iterator[str]:
    """Every mapping key in a contract's data, at any depth (bounded)."""
    if depth > 64:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key).lower()
            yield from _keys(item, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _keys(item, depth + 1)


def _code_uses_timeouts_retries(node: NodeContext, findings: list[Finding]) -> tuple[bool, bool]:
    """Whether the node's code passes timeouts and retries; bare HTTP calls without a timeout go to ``findings``."""
    uses_timeout = uses_retry = False
    for path, tree in node.python_trees(node.source_files):
        for item in imports(tree):
            uses_retry = uses_retry or item.top in _RETRY_LIBRARIES
        for sub in walk(tree):
            if isinstance(sub, ast.Call):
                name = call_name(sub)
                keywords = {k.arg for k in sub.keywords if k.arg and not _is_none(k.value)}
                if keywords & _TIMEOUT_KEYWORDS or name in _TIMEOUT_CALLS:
                    uses_timeout = True
                if _is_bare_http_call(name) and not keywords & _TIMEOUT_KEYWORDS:
                    findings.append(
                        Finding(
                            message=f"`{name}(...)` without a timeout can hang forever",
                            severity=Severity.HIGH,
                            file=node.rel(path),
                            line=sub.lineno,
                        )
                    )
            elif isinstance(sub, ast.Attribute):
                uses_timeout = uses_timeout or sub.attr in _TIMEOUT_ATTRS
                uses_retry = uses_retry or sub.attr in _RETRY_ATTRS
    return uses_timeout, uses_retry


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _is_bare_http_call(name: str) -> bool:
    parts = name.split(".")
    return len(parts) == 2 and parts[0] in {"requests", "httpx"} and parts[1] in _HTTP_VERBS


@check(
    id="CON-003",
    title="COMPUTE node imports no I/O",
    category=CheckCategory.CONTRACT,
    gates=ReadinessLevel.STAGING,
    severity=Severity.HIGH,
    kinds=(NodeKind.COMPUTE,),
    remediation=(
        "Move network, database, broker and process calls into an EFFECT node; a COMPUTE node is a pure function."
    ),
)
def compute_is_pure(node: NodeContext) -> Outcome:
    """A COMPUTE node transforms data and nothing else: importing sockets, HTTP, databases or brokers breaks that."""
    seen: dict[tuple[str, int, str], Finding] = {}
    for path, tree in node.python_trees(node.source_files):
        for item in imports(tree):
            module = io_module(item.module)
            if module is not None:
                key = (node.rel(path), item.line, module)
                seen.setdefault(
                    key,
                    Finding(
                        message=f"imports `{module}`, an I/O module", severity=Severity.HIGH, file=key[0], line=key[1]
                    ),
                )
    if seen:
        return Outcome.failed(f"{len(seen)} I/O import(s) in a COMPUTE node", seen.values())
    return Outcome.passed(f"no I/O imports in {len(node.source_files)} source file(s)")


def io_module(module: str) -> str | None:
    """The I/O module that ``module`` is or lies in, or ``None`` (``urllib.parse`` is pure, ``urllib.request`` not)."""
    for candidate in IO_MODULES:
        if module == candidate or module.startswith(candidate + "."):
            return candidate
    return None


@check(
    id="CFG-001",
    title="Readiness settings and waivers are valid",
    category=CheckCategory.CONTRACT,
    gates=ReadinessLevel.DEVELOPMENT,
    severity=Severity.HIGH,
    remediation=(
        "Fix `[tool.infra-readiness]` in pyproject.toml or readiness.toml: each waiver needs check, reason, owner "
        "and expires (a date such as 2026-12-31); target-level is one of the readiness levels."
    ),
)
def readiness_config_valid(node: NodeContext) -> Outcome:
    """The readiness settings parse; every waiver names a check, a reason, an owner and an expiry date."""
    config = node.config
    if not config.sources and not config.problems:
        return Outcome.passed("no readiness settings (no target level, no waivers)")
    if config.problems:
        return Outcome.failed(f"{len(config.problems)} problem(s) in the readiness settings", config.problems)
    return Outcome.passed(f"{len(config.waivers)} waiver(s) in {', '.join(config.sources)}")


#: The ONEX declarative-node checks (ONX-001..003) travel with the contract checks' entry point.
CHECKS = (contract_valid, effect_timeouts_retries, compute_is_pure, readiness_config_valid, *ONEX_CHECKS)
