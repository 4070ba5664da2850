"""SEC-006: the node's dependencies have no known vulnerability, looked up by pip-audit in the OSV database.

Opt-in, because it needs the network: ``--audit-deps`` on the command line or ``audit-dependencies = true`` in
``[tool.infra-readiness]``. Each dependency of ``[project] dependencies`` is audited at its pinned version
(``==``) or, when unpinned, at the version installed beside infra-readiness. When the vulnerability service cannot
be reached the check is a SKIP that says why, never a pass. ``INFRA_READINESS_OSV_URL`` points pip-audit's OSV
client at another OSV-compatible endpoint (a mirror, or a test server).
"""

from __future__ import annotations

import os
from importlib import metadata

from packaging.requirements import InvalidRequirement, Requirement

from infra_models.enums import Severity
from infra_models.readiness import CheckCategory, CheckStatus, Finding, ReadinessLevel
from infra_readiness.checks._declared import missing_extra
from infra_readiness.context import NodeContext
from infra_readiness.plugin import Outcome, check

__all__ = ["CHECKS", "OSV_URL_ENV", "dependencies_audited", "pinned_versions"]

OSV_URL_ENV = "INFRA_READINESS_OSV_URL"
_TIMEOUT = 10


def pinned_versions(node: NodeContext) -> tuple[dict[str, str], list[str]]:
    """``{name: version}`` to audit and the names whose version could not be told."""
    versions: dict[str, str] = {}
    unknown: list[str] = []
    for raw in node.project.get("dependencies") or []:
        try:
            requirement = Requirement(str(raw))
        except InvalidRequirement:
            unknown.append(str(raw))
            continue
        exact = [s.version for s in requirement.specifier if s.operator in {"==", "==="} and "*" not in s.version]
        if exact:
            versions[requirement.name] = exact[0]
            continue
        try:
            versions[requirement.name] = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            unknown.append(requirement.name)
    return versions, unknown


def _requested(node: NodeContext) -> bool:
    return bool(getattr(node.options, "audit_dependencies", False) or node.readiness_table.get("audit-dependencies"))


@check(
    id="SEC-006",
    title="No known-vulnerable dependency (pip-audit)",
    category=CheckCategory.SECURITY,
    gates=ReadinessLevel.PRODUCTION,
    severity=Severity.HIGH,
    remediation="Upgrade each listed dependency to a fixed version (shown beside it) and raise its lower bound.",
)
def dependencies_audited(node: NodeContext) -> Outcome:
    """pip-audit's OSV service knows no vulnerability in the node's dependencies (opt-in: needs the network)."""
    if not _requested(node):
        return Outcome.skipped("dependency audit not run: pass --audit-deps (needs the network to reach OSV)")
    missing = missing_extra("pip_audit", "security")
    if missing:
        return Outcome.errored(missing)
    from packaging.version import InvalidVersion, Version
    from pip_audit._service import (  # type: ignore[import-untyped]  # pip-audit service API, pinned <3
        OsvService,
        ResolvedDependency,
    )

    versions, unknown = pinned_versions(node)
    if not versions:
        return Outcome.skipped("no dependency with a known version to audit")
    url = os.environ.get(OSV_URL_ENV) or OsvService.DEFAULT_OSV_URL
    service = OsvService(timeout=_TIMEOUT, osv_url=url)
    findings: list[Finding] = []
    for name, version in sorted(versions.items()):
        try:
            dependency = ResolvedDependency(name=name, version=Version(version))
        except InvalidVersion:
            unknown.append(name)
            continue
        try:
            _, results = service.query(dependency)
        except Exception as exc:  # requests' and pip-audit's errors alike: the service is not reachable
            reason = f"{type(exc).__name__}: {exc}".strip()[:300]
            return Outcome.skipped(f"vulnerability service unreachable ({url}): {reason}; nothing was audited")
        for result in results:
            fixed = ", ".join(str(v) for v in result.fix_versions) or "no fixed version yet"
            findings.append(
                Finding(
                    message=f"{name} {version}: {result.id} ({fixed}): {result.description[:200]}",
                    severity=Severity.HIGH,
                    file="pyproject.toml" if node.pyproject_path else None,
                )
            )
    notes = [
        Finding(message=f"{name}: version unknown (not pinned, not installed); not audited", severity=Severity.INFO)
        for name in unknown
    ]
    if findings:
        return Outcome.failed(f"{len(findings)} known vulnerability(ies)", [*findings, *notes])
    return Outcome(CheckStatus.PASS, f"pip-audit (OSV): {len(versions)} dependency(ies) clean", tuple(notes))


CHECKS = (dependencies_audited,)
