"""SARIF 2.1.0: one run, one rule per check (from its metadata), one result per finding of a non-passing check.

FAIL results are ``kind: fail``; WAIVED ones carry an accepted ``external`` suppression with the waiver's
reason; an ERROR is a result and a tool execution notification, and marks the invocation unsuccessful.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from infra_models.enums import Severity
from infra_models.readiness import CheckResult, CheckStatus, Finding, ReadinessReport
from infra_readiness.__about__ import __version__
from infra_readiness.plugin import Check

__all__ = ["DOCS_BASE", "SARIF_SCHEMA", "help_uri", "render_sarif"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
#: Where the guide's relative check URLs (``docs/infra-readiness.md#sec-001``) are published.
DOCS_BASE = "https://github.com/infra-maintainers/infra/blob/main/"
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
        "helpUri": help_uri(check.url),
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


def _uri(path: str) -> str:
    """A SARIF ``uri``: relative paths percent-encoded (RFC 3986), absolute ones as ``file://`` URIs."""
    if posixpath.isabs(path):
        return Path(path).as_uri()
    return quote(path, safe="/-._~")


def _location(report: ReadinessReport, finding: Finding | None) -> dict[str, Any]:
    file = finding.file if finding and finding.file else None
    target = posixpath.normpath(posixpath.join(report.path, file if file is not None else _anchor(report)))
    physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(target)}}
    if file is not None and finding is not None and finding.line:
        physical["region"] = {"startLine": finding.line}
    return {"physicalLocation": physical}


def _anchor(report: ReadinessReport) -> str:
    """The node's own file to point at when a finding has none: the contract wherever it is, else pyproject."""
    root = Path(report.path)
    candidates = ["contract.yaml", "pyproject.toml"] if report.kind is not None else ["pyproject.toml"]
    for name in candidates:
        if (root / name).is_file():
            return name
    if report.kind is not None:
        found = sorted(root.glob("src/*/contract.yaml")) + sorted(root.glob("*/contract.yaml"))
        if found:
            return found[0].relative_to(root).as_posix()
    for name in ("README.md", "README.rst", "setup.py"):
        if (root / name).is_file():
            return name
    return "."


def help_uri(url: str) -> str:
    """An absolute ``helpUri``: a plugin's absolute URL as it is, our guide's relative path under the repository."""
    return url if urlsplit(url).scheme else DOCS_BASE + url


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
