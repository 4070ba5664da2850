"""Observability checks for nodes that serve: logging (no bare print), metrics, and a health endpoint or probe."""

from __future__ import annotations

import ast
import re

from infra_models.enums import Severity
from infra_models.readiness import CheckCategory, Finding, ReadinessLevel
from infra_readiness.checks._ast import call_name, imports, string_constants, walk
from infra_readiness.checks._declared import mentioning
from infra_readiness.context import NodeContext
from infra_readiness.plugin import Outcome, check

__all__ = ["CHECKS", "health_present", "logging_present", "metrics_present", "tracing_present"]

_LOGGING = frozenset({"logging", "structlog", "loguru"})
_METRICS = frozenset({"prometheus_client", "opentelemetry", "statsd", "datadog", "aioprometheus"})
_HEALTH_NAMES = frozenset(
    {"health", "health_check", "healthcheck", "check_health", "healthz", "ready", "readiness", "is_ready",
     "liveness", "is_healthy", "is_alive", "livez", "readyz"}
)  # fmt: skip
_HEALTH_ROUTES = frozenset({"/health", "/healthz", "/ready", "/readyz", "/livez", "/live", "/status"})


def _not_serving(node: NodeContext) -> Outcome | None:
    if node.serves:
        return None
    what = f"a {node.kind} node" if node.kind else "a package"
    return Outcome.skipped(f"{what} that does not serve (set `serves = true` in [tool.infra-readiness] if it does)")


@check(
    id="OBS-001",
    title="Serving node logs through logging, not print",
    category=CheckCategory.OBSERVABILITY,
    gates=ReadinessLevel.STAGING,
    severity=Severity.MEDIUM,
    remediation="Use `logger = logging.getLogger(__name__)` (or structlog) and replace print() calls with log calls.",
)
def logging_present(node: NodeContext) -> Outcome:
    """A node that serves logs through a logging library, and its code has no ``print()`` calls."""
    skip = _not_serving(node)
    if skip:
        return skip
    uses = False
    prints: list[Finding] = []
    for path, tree in node.python_trees(node.source_files):
        uses = uses or any(item.top in _LOGGING for item in imports(tree))
        for sub in walk(tree):
            if isinstance(sub, ast.Call) and call_name(sub) == "print":
                prints.append(
                    Finding(message="print() in serving code: log instead", file=node.rel(path), line=sub.lineno)
                )
    findings = ([] if uses else [Finding(message="no logging, structlog or loguru import in the code")]) + prints
    if findings:
        return Outcome.failed("logging not in place" if not uses else f"{len(prints)} print() call(s)", findings)
    return Outcome.passed("logs through a logging library")


def _metrics_import(module: str) -> bool:
    """A metrics library; OpenTelemetry counts only through its metrics API (its tracing is OBS-004's)."""
    top = module.split(".", maxsplit=1)[0]
    if top == "opentelemetry":
        return "metrics" in module.split(".")
    return top in _METRICS


@check(
    id="OBS-002",
    title="Serving node exports metrics",
    category=CheckCategory.OBSERVABILITY,
    gates=ReadinessLevel.PRODUCTION,
    severity=Severity.MEDIUM,
    remediation="Export request counts, errors and latency with prometheus-client or OpenTelemetry metrics.",
)
def metrics_present(node: NodeContext) -> Outcome:
    """A node that serves exports metrics (prometheus-client, OpenTelemetry, StatsD or Datadog)."""
    skip = _not_serving(node)
    if skip:
        return skip
    for path, tree in node.python_trees(node.source_files):
        found = next((item.top for item in imports(tree) if _metrics_import(item.module)), None)
        if found:
            return Outcome.passed(f"{found} used in {node.rel(path)}")
    return Outcome.failed("no metrics library used", [Finding(message="no prometheus_client or opentelemetry import")])


@check(
    id="OBS-003",
    title="Serving node has a health check",
    category=CheckCategory.OBSERVABILITY,
    gates=ReadinessLevel.PRODUCTION,
    severity=Severity.MEDIUM,
    remediation=(
        "Add a health check (a `health()` function or a /health and /ready route) that probes the node's dependencies."
    ),
)
def health_present(node: NodeContext) -> Outcome:
    """A node that serves offers a health check: a public ``health``/``ready``-style function or a /health route."""
    skip = _not_serving(node)
    if skip:
        return skip
    for path, tree in node.python_trees(node.source_files):
        for sub in walk(tree):
            if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef) and sub.name in _HEALTH_NAMES:
                return Outcome.passed(f"`{sub.name}()` in {node.rel(path)}:{sub.lineno}")
        for constant in string_constants(tree):
            if str(constant.value).rstrip("/") in _HEALTH_ROUTES:
                return Outcome.passed(f"route {constant.value!r} in {node.rel(path)}:{constant.lineno}")
    return Outcome.failed("no health check", [Finding(message="no health()/ready() function and no /health route")])


_SPAN_CALLS = frozenset({"start_as_current_span", "start_span", "use_span"})
_PROPAGATION_CALLS = frozenset({"inject"})
_TRACING_TEXT = re.compile(r"opentelemetry|traceparent|ddtrace|start_as_current_span|start_span")


def _tracing_in(tree: ast.Module) -> str | None:
    """How a module traces: OpenTelemetry spans, trace context injected into message headers, or ``traceparent``."""
    modules = {item.module for item in imports(tree)}
    otel = any(m.startswith("opentelemetry") for m in modules)
    for sub in walk(tree):
        if isinstance(sub, ast.Call):
            short = call_name(sub).rsplit(".", 1)[-1]
            if otel and short in _SPAN_CALLS:
                return f"OpenTelemetry span (`{short}`)"
            if otel and short in _PROPAGATION_CALLS:
                return "trace context injected into headers (opentelemetry.propagate.inject)"
        elif isinstance(sub, ast.Constant) and sub.value == "traceparent":
            return "W3C `traceparent` header propagated"
    if any(m.split(".")[0] == "ddtrace" for m in modules):
        return "ddtrace"
    return None


@check(
    id="OBS-004",
    title="Serving node traces its work",
    category=CheckCategory.OBSERVABILITY,
    gates=ReadinessLevel.PRODUCTION,
    severity=Severity.MEDIUM,
    remediation=(
        "Open an OpenTelemetry span around each handled message or request (`tracer.start_as_current_span`) and "
        "propagate the trace context into outgoing Kafka headers (`opentelemetry.propagate.inject(headers)`)."
    ),
)
def tracing_present(node: NodeContext) -> Outcome:
    """A node that serves traces its work: OpenTelemetry spans, or trace context propagated into message headers."""
    skip = _not_serving(node)
    if skip:
        return skip
    candidates = mentioning(node, node.source_files, _TRACING_TEXT)
    for path, tree in node.python_trees(candidates):
        how = _tracing_in(tree)
        if how:
            return Outcome.passed(f"{how} in {node.rel(path)}")
    return Outcome.failed(
        "no tracing",
        [Finding(message="no OpenTelemetry span and no trace context (traceparent) propagated into headers")],
    )


CHECKS = (logging_present, metrics_present, health_present, tracing_present)
