"""Summaries of an audit log over a period: counts by type, outcome, actor, severity and compliance level.

Rendered as plain text, JSON or Markdown. Reading does not verify the chain: run ``audit verify`` (or pass
``verified=`` from :func:`infra_security.audit._verify.verify_log`) to state whether the trail is intact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from infra_security.audit._chain import parse_record
from infra_security.errors import AuditLogFormatError

__all__ = ["AuditReport", "build_report", "render_json", "render_markdown", "render_text"]

_DIMENSIONS = ("event_type", "outcome", "actor", "severity", "compliance_level")


@dataclass
class AuditReport:
    """Counts of the events in a period."""

    since: datetime | None = None
    until: datetime | None = None
    total: int = 0
    first_seq: int = 0
    last_seq: int = 0
    first_time: str = ""
    last_time: str = ""
    counts: dict[str, Counter[str]] = field(default_factory=lambda: {d: Counter() for d in _DIMENSIONS})
    failures: int = 0
    verified: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (counts sorted by frequency)."""
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "total": self.total,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "first_time": self.first_time or None,
            "last_time": self.last_time or None,
            "failures_and_denials": self.failures,
            "verified": self.verified,
            "by": {d: dict(self.counts[d].most_common()) for d in _DIMENSIONS},
        }


def build_report(
    paths: Iterable[Path],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    verified: bool | None = None,
) -> AuditReport:
    """Read the log files and count the events whose timestamp is in ``[since, until)``."""
    report = AuditReport(since=since, until=until, verified=verified)
    for path in paths:
        try:
            fh = path.open("rb")
        except OSError as exc:
            raise AuditLogFormatError(f"{path}: cannot read the audit log ({exc.strerror})") from exc
        with fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    record = parse_record(line)
                    stamp = datetime.fromisoformat(record.event["timestamp"])
                except (ValueError, KeyError, TypeError) as exc:
                    raise AuditLogFormatError(f"{path}:{number}: not an audit record ({exc})") from exc
                if stamp.tzinfo is None:
                    raise AuditLogFormatError(
                        f"{path}:{number}: event timestamp {record.event['timestamp']!r} has no time zone; "
                        "audit events carry aware UTC times"
                    )
                if (since and stamp < since) or (until and stamp >= until):
                    continue
                _count(report, record.seq, record.event)
    return report


def _count(report: AuditReport, seq: int, event: dict[str, Any]) -> None:
    report.total += 1
    report.first_seq = report.first_seq or seq
    report.last_seq = seq
    stamp = str(event.get("timestamp", ""))
    report.first_time = report.first_time or stamp
    report.last_time = stamp
    for dim in _DIMENSIONS:
        report.counts[dim][str(event.get(dim))] += 1
    if event.get("outcome") in {"failure", "denied", "error"}:
        report.failures += 1


def render_json(report: AuditReport) -> str:
    """The report as indented JSON."""
    return orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2).decode()


def _period(report: AuditReport) -> str:
    start = report.since.isoformat() if report.since else (report.first_time or "-")
    end = report.until.isoformat() if report.until else (report.last_time or "-")
    return f"{start} .. {end}"


def _integrity(report: AuditReport) -> str:
    return {None: "not verified", True: "verified", False: "FAILED verification"}[report.verified]


def render_text(report: AuditReport) -> str:
    """The report as plain text."""
    lines = [
        f"Audit report {_period(report)}",
        f"events: {report.total} (seq {report.first_seq}..{report.last_seq}), failures/denials: {report.failures}, "
        f"integrity: {_integrity(report)}",
    ]
    for dim in _DIMENSIONS:
        lines.append(f"\nby {dim.replace('_', ' ')}:")
        lines.extend(f"  {name:<32} {count:>8}" for name, count in report.counts[dim].most_common())
    return "\n".join(lines) + "\n"


def render_markdown(report: AuditReport) -> str:
    """The report as Markdown (for tickets and PR comments)."""
    out = [
        f"# Audit report {_period(report)}",
        "",
        f"- Events: **{report.total}** (seq {report.first_seq}..{report.last_seq})",
        f"- Failures and denials: **{report.failures}**",
        f"- Integrity: **{_integrity(report)}**",
    ]
    for dim in _DIMENSIONS:
        title = dim.replace("_", " ").capitalize()
        out += ["", f"## By {dim.replace('_', ' ')}", "", f"| {title} | Events |", "| --- | ---: |"]
        out += [f"| {name} | {count} |" for name, count in report.counts[dim].most_common()]
    return "\n".join(out) + "\n"
