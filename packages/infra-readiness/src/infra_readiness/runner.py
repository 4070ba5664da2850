"""Run the checks on one node or many: prerequisites, applicability, waivers, errors, the level, the report."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

from infra_models.readiness import CheckResult, CheckStatus, ReadinessReport, Waiver
from infra_readiness.__about__ import __version__
from infra_readiness.context import NodeContext
from infra_readiness.files import printable
from infra_readiness.importcheck import (
    ImportProbe,
    ImportRequest,
    ImportResult,
    parallel_jobs,
    take_prestarted,
    top_level_imports,
)
from infra_readiness.ladder import BLOCKING, gating, rate
from infra_readiness.plugin import Check, Outcome
from infra_readiness.registry import load_checks

__all__ = ["check_contexts", "check_one", "run_check"]

_EXPIRY_WARNING = timedelta(days=30)
Progress = Callable[[ReadinessReport], None]


def run_check(item: Check, node: NodeContext, earlier: dict[str, CheckResult]) -> CheckResult:
    """Run one check on ``node``: SKIP when not applicable or a prerequisite did not pass; ERROR on exception."""
    started = time.perf_counter()
    if not item.applies_to(node.kind):
        kinds = ", ".join(k.value for k in item.kinds)
        what = f"a {node.kind.value} node" if node.kind else ("a node of unknown kind" if node.is_node else "a package")
        outcome = Outcome.skipped(f"applies to {kinds} nodes; this is {what}")
    else:
        missing = [r for r in item.requires if r in earlier and earlier[r].status is not CheckStatus.PASS]
        if missing:
            outcome = Outcome.skipped("prerequisite " + ", ".join(f"{r} is {earlier[r].status.value}" for r in missing))
        else:
            try:
                outcome = item(node)
                if not isinstance(outcome, Outcome):
                    outcome = Outcome.errored(f"the check returned {type(outcome).__name__}, not an Outcome")
            except Exception as exc:  # a check that crashes is an ERROR, never a pass, and never stops the run
                outcome = Outcome.errored(f"the check crashed: {type(exc).__name__}: {exc}"[:1000])
    findings = tuple(
        f.model_copy(update={"message": printable(f.message), "file": printable(f.file) if f.file else f.file})
        for f in outcome.findings
    )
    return CheckResult(
        check_id=item.id,
        title=item.title,
        category=item.category,
        status=outcome.status,
        severity=item.severity,
        gates=item.gates,
        message=printable(outcome.message),
        findings=findings,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
    )


def _apply_waiver(result: CheckResult, waiver: Waiver | None, day: date) -> tuple[CheckResult, str | None]:
    """WAIVED for a FAIL under a valid waiver; an expired waiver leaves the FAIL (and says so)."""
    if waiver is None:
        return result, None
    if result.status is CheckStatus.PASS or result.status is CheckStatus.SKIP:
        return result, f"waiver of {result.check_id} is not needed ({result.status.value}): remove it"
    if result.status is CheckStatus.ERROR:
        return result, f"waiver of {result.check_id} does not cover an ERROR: the check must run to be waived"
    if waiver.expired(day):
        message = f"{result.message} (waiver by {waiver.owner} expired on {waiver.expires.isoformat()})".strip()
        return result.model_copy(update={"message": message}), (
            f"waiver of {result.check_id} expired on {waiver.expires.isoformat()}: fix the check or renew the waiver"
        )
    reason = f"{waiver.reason} (owner {waiver.owner}, until {waiver.expires.isoformat()})"
    note = None
    if waiver.expires - day <= _EXPIRY_WARNING:
        note = f"waiver of {result.check_id} expires on {waiver.expires.isoformat()}; plan the fix"
    return result.model_copy(update={"status": CheckStatus.WAIVED, "waiver_reason": reason}), note


def check_one(node: NodeContext, checks: Sequence[Check], *, now: datetime) -> ReadinessReport:
    """Run ``checks`` (prerequisites first) on ``node`` and rate it."""
    config = node.config
    day = node.options.today
    results: dict[str, CheckResult] = {}
    notes: list[str] = []
    by_id = {c.id: c for c in checks}
    for item in checks:
        result = run_check(item, node, results)
        result, note = _apply_waiver(result, config.waiver_for(item.id), day)
        results[item.id] = result
        if note:
            notes.append(note)
    for waiver in config.waivers:
        if waiver.check_id not in by_id:
            notes.append(f"waiver names {waiver.check_id}, which is not an installed check: fix the id or remove it")
    ordered = sorted(results.values(), key=lambda r: (r.gates, r.check_id))
    not_yet = frozenset(c.id for c in checks if not c.enforced(day))
    if not_yet:  # say in the result itself from when it gates
        for check_id in not_yet:
            result = results[check_id]
            when = by_id[check_id].effective_from
            note = f"(gates from {when.isoformat() if when else '?'})"
            results[check_id] = result.model_copy(update={"message": f"{result.message} {note}".strip()})
        ordered = sorted(results.values(), key=lambda r: (r.gates, r.check_id))
    rating = rate(ordered, not_yet=not_yet)
    issues = [
        f"{r.check_id} {r.title}: {r.message}" + _first_location(r)
        for r in ordered
        if r.status in BLOCKING and gating(r) and r.check_id not in not_yet
    ]
    recommendations: list[str] = []
    if rating.next_level is not None:
        recommendations += [f"To reach {rating.next_level.value}: {b}: {by_id[b].remediation}" for b in rating.blockers]
    recommendations += [
        f"{r.check_id} {r.title}: {by_id[r.check_id].remediation}"
        for r in ordered
        if r.status in BLOCKING and (not gating(r) or r.check_id in not_yet)
    ]
    if any(r.check_id == "TST-002" and r.status is CheckStatus.SKIP and "--run-tests" in r.message for r in ordered):
        recommendations.append("Tests were not run: add --run-tests to let TST-002 run them")
    recommendations += notes
    return ReadinessReport(
        path=node.display,
        name=printable(node.name),
        kind=node.kind,
        level=rating.level,
        target_level=config.target_level,
        checks=tuple(ordered),
        blockers=rating.blockers,
        issues=tuple(issues),
        recommendations=tuple(recommendations),
        waivers=tuple(config.waivers),
        generated_at=now,
        tool_version=__version__,
    )


def _first_location(result: CheckResult) -> str:
    for finding in result.findings:
        if finding.file:
            return f" ({finding.file}{f':{finding.line}' if finding.line else ''})"
    return ""


def check_contexts(
    nodes: Sequence[NodeContext],
    *,
    checks: Sequence[Check] | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    jobs: int | None = None,
) -> list[ReadinessReport]:
    """Check every node; the package imports of all nodes run in the background, sharing one warm interpreter.

    With ``jobs`` (or ``INFRA_READINESS_JOBS``) above one and 16 nodes or more, the nodes are split among forked
    processes; the reports come back in the order of ``nodes`` either way.
    """
    chosen = tuple(checks) if checks is not None else load_checks()
    stamp = now or datetime.now(UTC)
    workers = parallel_jobs(len(nodes), jobs)
    with _rare_full_collections():
        if workers > 1:
            from infra_readiness.fanout import check_forked

            return check_forked(nodes, chosen, stamp=stamp, workers=workers, progress=progress, serial=_check_serially)
        return _check_serially(nodes, chosen, stamp, progress)


#: Allocations between young-generation collections during a run (CPython's default is 700).
_GC_THRESHOLD = (50_000, 20, 100)


@contextmanager
def _rare_full_collections() -> Iterator[None]:
    """Collect garbage cycles rarely while checking, and restore the interpreter's thresholds afterwards.

    A run allocates millions of syntax-tree nodes that live until their node is rated; with the default thresholds
    the collector walks them again and again (18 % of the CPU time on omnibase_core's root, for 16 MB more peak).
    """
    before = gc.get_threshold()
    gc.set_threshold(*_GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _check_serially(
    nodes: Sequence[NodeContext], checks: Sequence[Check], stamp: datetime, progress: Progress | None
) -> list[ReadinessReport]:
    _start_imports(nodes, checks)
    reports = []
    for index, node in enumerate(nodes):
        report = check_one(node, checks, now=stamp)
        reports.append(report)
        if not any(later.root.is_relative_to(node.root) for later in nodes[index + 1 :]):
            node.cache.files.forget_trees(node.root)  # rated: its trees are not needed again
            node.cache.files.forget_trees_of(node.test_files)
        if progress is not None:
            progress(report)
    return reports


def _start_imports(nodes: Sequence[NodeContext], checks: Sequence[Check]) -> None:
    """Submit every node's import at once so it overlaps with the static checks."""
    python = nodes[0].options.python if nodes else None
    for node in nodes:
        node.on_import_needed = _single_import(node)
    if not any(c.id == "PKG-002" for c in checks):
        return
    wanted = [n for n in nodes if n.import_name is not None]
    own = {n.import_name for n in wanted}
    preload: set[str] = set()
    if len(wanted) > 1:  # warming the shared worker pays off only when several nodes import the same libraries
        for node in wanted:
            for path in node.source_files:
                preload |= top_level_imports(node.text(path) or "")
        preload -= own
    requests = [_request(n) for n in wanted]
    early = {r: take_prestarted(r) for r in requests} if python is None else {}
    late = [(n, r) for n, r in zip(wanted, requests, strict=True) if early.get(r) is None]
    for node, request in zip(wanted, requests, strict=True):
        node.import_future = early.get(request)
    if late:
        futures = ImportProbe(python=python).submit_all([r for _, r in late], sorted(preload))
        for (node, _), future in zip(late, futures, strict=True):
            node.import_future = future


def _request(node: NodeContext) -> ImportRequest:
    """The import of ``node``: its module from its source root; errors are located within its package."""
    module = str(node.import_name)
    return ImportRequest(
        module=module,
        paths=tuple(str(p.resolve()) for p in node.import_paths),
        root=str(node.package_root.resolve()),
        parent=module.rpartition(".")[0] or None if node.inside_project else None,
    )


def _single_import(node: NodeContext) -> Callable[[], Future[ImportResult]]:
    def start() -> Future[ImportResult]:
        return ImportProbe(python=node.options.python).submit_all([_request(node)])[0]

    return start
