"""SARIF 2.1.0: one run, one rule per check (from its metadata), one result per finding of a non-passing check.

FAIL results are ``kind: fail``; WAIVED ones carry an accepted ``external`` suppression with the waiver's
reason; an ERROR is a result and a tool execution notification, and marks the invocation unsuccessful.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Sequence
from typing import Any

from infra_models.enums import Severity
from infra_models.readiness import CheckResult, CheckStatus, Finding, ReadinessReport
from infra_readiness.__about__ import __version__
from infra_readiness.plugin import Check

__all__ = ["SARIF_SCHEMA", "render_sarif"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}


def _rule(check: Check) -> dict[str, Any]:
    rule = _rule_base(check)
    if check.effective_from is not None:
        rule["properties"]["effectiveFrom"] = check.effective_from.isoformat()
    return rule


def _rule_base(check: Check) -> dict[str, Any]:
    return {
        "id": check.id,
        "name": "".join(word.capitalize() for word in check.title.replace("-", " ").split() if word.isalnum()),
        "shortDescription": {"text": check.title},
        "fullDescription": {"text": check.description or check.title},
        "help": {"text": check.remediation, "markdown": f"**{check.title}**\n\n{check.remediation}"},
        "helpUri": check.url,
        "defaultConfiguration": {"level": _LEVEL[check.severity]},
        "properties": {
            "category": check.category.value,
            "gates": check.gates.value,
            "severity": check.severity.value,
            "kinds": [k.value for k in check.kinds],
            "requires": list(check.requires),
            "tags": ["readiness", check.category.value],
        },
    }


def _location(report: ReadinessReport, finding: Finding | None) -> dict[str, Any]:
    file = finding.file if finding and finding.file else _anchor(report)
    physical: dict[str, Any] = {"artifactLocation": {"uri": posixpath.normpath(posixpath.join(report.path, file))}}
    if finding and finding.file and finding.line:
        physical["region"] = {"startLine": finding.line}
    return {"physicalLocation": physical}


def _anchor(report: ReadinessReport) -> str:
    return "contract.yaml" if report.kind is not None else "pyproject.toml"


def _results(report: ReadinessReport, result: CheckResult, rule_index: int) -> list[dict[str, Any]]:
    findings: Sequence[Finding | None] = [f for f in result.findings if f.severity is not Severity.INFO] or [None]
    out = []
    for finding in findings:
        text = f"{report.name}: {result.title}: {finding.message if finding else result.message or result.status.value}"
        entry: dict[str, Any] = {
            "ruleId": result.check_id,
            "ruleIndex": rule_index,
            "kind": "fail",
            "level": _LEVEL[finding.severity if finding else result.severity],
            "message": {"text": text},
            "locations": [_location(report, finding)],
            "partialFingerprints": {
                "readinessFinding/v1": hashlib.sha256(
                    f"{report.path}|{result.check_id}|{finding.file if finding else ''}|{text}".encode()
                ).hexdigest()[:32]
            },
            "properties": {"node": report.name, "status": result.status.value, "gates": result.gates.value},
        }
        if result.status is CheckStatus.WAIVED:
            entry["suppressions"] = [
                {"kind": "external", "status": "accepted", "justification": result.waiver_reason or "waived"}
            ]
        out.append(entry)
    return out


def render_sarif(reports: Sequence[ReadinessReport], checks: Sequence[Check]) -> dict[str, Any]:
    """The SARIF log of ``reports``, with rules from ``checks``' metadata."""
    ordered = sorted(checks, key=lambda c: c.id)
    index = {c.id: i for i, c in enumerate(ordered)}
    results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []
    for report in reports:
        for result in report.checks:
            if result.status in (CheckStatus.PASS, CheckStatus.SKIP) or result.check_id not in index:
                continue
            results += _results(report, result, index[result.check_id])
            if result.status is CheckStatus.ERROR:
                notifications.append(
                    {
                        "level": "error",
                        "message": {"text": f"{report.name}: {result.check_id} could not run: {result.message}"},
                        "descriptor": {"id": result.check_id},
                    }
                )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "infra-readiness",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": "https://pypi.org/project/infra-readiness/",
                        "rules": [_rule(c) for c in ordered],
                    }
                },
                "invocations": [
                    {"executionSuccessful": not notifications, "toolExecutionNotifications": notifications}
                ],
                "results": results,
                "properties": {
                    "levels": {r.path: r.level.value for r in reports},
                    "targets": {r.path: (r.target_level.value if r.target_level else None) for r in reports},
                },
            }
        ],
    }
