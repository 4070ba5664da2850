"""SEC-006: the node's dependencies have no known vulnerability, looked up by pip-audit in the OSV database.

Opt-in, because it needs the network: ``--audit-deps`` on the command line or ``audit-dependencies = true`` in
``[tool.infra-readiness]``. Each dependency of ``[project] dependencies`` is audited at its pinned version
(``==``) or, when unpinned, at the version installed beside infra-readiness. When the vulnerability service cannot
be reached the check is a SKIP that says why, never a pass. ``INFRA_READINESS_OSV_URL`` points pip-audit's OSV
client at another OSV-compatible endpoint (a mirror, or a test server).

pip-audit is run through its public interface, its command line (``pip-audit --requirement <pinned deps> --no-deps
--format json``) in a subprocess with a time limit: it has no documented Python API.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from infra_models.enums import Severity
from infra_models.readiness import CheckCategory, CheckStatus, Finding, ReadinessLevel
from infra_readiness.checks._declared import missing_extra
from infra_readiness.context import NodeContext
from infra_readiness.plugin import Outcome, check

__all__ = ["CHECKS", "OSV_URL_ENV", "dependencies_audited", "pinned_versions"]

OSV_URL_ENV = "INFRA_READINESS_OSV_URL"
#: Seconds pip-audit waits on one network read, and on the whole run beyond a base of _RUN_BASE.
_TIMEOUT = 10
_RUN_BASE = 60


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

    versions, unknown = pinned_versions(node)
    for name, version in list(versions.items()):
        try:
            Version(version)
        except InvalidVersion:
            unknown.append(name)
            del versions[name]
    if not versions:
        return Outcome.skipped("no dependency with a known version to audit")
    report, problem = _pip_audit(versions)
    if report is None:
        return Outcome.skipped(f"{problem}; nothing was audited")
    findings: list[Finding] = []
    for dependency in report.get("dependencies", []):
        name, version = str(dependency.get("name")), str(dependency.get("version", "?"))
        if "skip_reason" in dependency:
            unknown.append(f"{name} ({dependency['skip_reason']})")
            continue
        for vuln in dependency.get("vulns", []):
            fixed = ", ".join(str(v) for v in vuln.get("fix_versions", [])) or "no fixed version yet"
            findings.append(
                Finding(
                    message=f"{name} {version}: {vuln.get('id')} ({fixed}): {str(vuln.get('description', ''))[:200]}",
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


def _pip_audit(versions: dict[str, str]) -> tuple[dict[str, Any] | None, str]:
    """pip-audit's JSON report for the pinned ``versions``, or ``(None, why)`` when it could not audit them."""
    url = os.environ.get(OSV_URL_ENV)
    limit = _RUN_BASE + _TIMEOUT * len(versions)
    with tempfile.TemporaryDirectory(prefix="infra-readiness-audit-") as folder:
        requirements = Path(folder) / "requirements.txt"
        requirements.write_text("".join(f"{name}=={version}\n" for name, version in sorted(versions.items())))
        command = [
            sys.executable, "-m", "pip_audit", "--requirement", str(requirements), "--no-deps", "--disable-pip",
            "--format", "json", "--desc", "on", "--vulnerability-service", "osv", "--timeout", str(_TIMEOUT),
            "--progress-spinner", "off", *(["--osv-url", url] if url else []),
        ]  # fmt: skip
        try:
            done = subprocess.run(  # nosec B603 - our interpreter, fixed arguments, no shell
                command, capture_output=True, text=True, timeout=limit, check=False
            )
        except subprocess.TimeoutExpired:
            return None, f"vulnerability service unreachable: pip-audit did not finish within {limit} s"
        except OSError as exc:
            return None, f"pip-audit could not be started: {exc}"
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        report = None
    if isinstance(report, dict) and isinstance(report.get("dependencies"), list):
        return report, ""
    lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    reason = next((line for line in reversed(lines) if "error" in line.lower()), lines[-1] if lines else "no output")
    where = url or "OSV"
    return None, f"vulnerability service unreachable ({where}): pip-audit exit {done.returncode}: {reason[:300]}"


CHECKS = (dependencies_audited,)
