"""The tamper-evident audit log: chained records, signed checkpoints, redaction, sinks, verification, reports."""

from __future__ import annotations

from infra_security.audit._alerts import AlertHook, WebhookAlert
from infra_security.audit._keys import AuditKeys
from infra_security.audit._logger import AuditLogger
from infra_security.audit._redaction import Redactor
from infra_security.audit._report import AuditReport, build_report
from infra_security.audit._sink_kafka import KafkaSink
from infra_security.audit._sinks import AuditSink, FsyncPolicy, JsonLinesFileSink, StdoutSink
from infra_security.audit._verify import Finding, VerifyResult, verify_log

__all__ = [
    "AlertHook",
    "AuditKeys",
    "AuditLogger",
    "AuditReport",
    "AuditSink",
    "Finding",
    "FsyncPolicy",
    "JsonLinesFileSink",
    "KafkaSink",
    "Redactor",
    "StdoutSink",
    "VerifyResult",
    "WebhookAlert",
    "build_report",
    "verify_log",
]
