"""infra-security: payload encryption, tamper-evident audit log, Vault/OpenBao credentials, rate limits, TLS."""

from __future__ import annotations

from infra_security.__about__ import __version__
from infra_security.alerts import AlertHook, WebhookAlert
from infra_security.audit_keys import AuditKeys
from infra_security.audit_log import AuditLogger
from infra_security.audit_report import AuditReport, build_report
from infra_security.audit_verify import Finding, VerifyResult, verify_log
from infra_security.encryption import EnvelopeBackend, PayloadEncryption
from infra_security.errors import (
    AuditConfigError,
    AuditError,
    AuditLogFormatError,
    AuditWriteError,
    DecryptionError,
    EncryptionError,
    KeyNotConfiguredError,
    KeysetError,
    KeyStateError,
    KeyUsageExceededError,
    SecurityError,
    TransitError,
    UnknownKeyError,
)
from infra_security.fields import FieldEncryption
from infra_security.keyring import KeyInfo, Keyring, KeyState
from infra_security.redaction import Redactor
from infra_security.sinks import AuditSink, FsyncPolicy, JsonLinesFileSink, StdoutSink
from infra_security.transit import TransitEnvelope
from infra_security.usage import MemoryCounter, UsageCounter

__all__ = [
    "AlertHook",
    "AuditConfigError",
    "AuditError",
    "AuditKeys",
    "AuditLogFormatError",
    "AuditLogger",
    "AuditReport",
    "AuditSink",
    "AuditWriteError",
    "DecryptionError",
    "EncryptionError",
    "EnvelopeBackend",
    "FieldEncryption",
    "Finding",
    "FsyncPolicy",
    "JsonLinesFileSink",
    "KeyInfo",
    "KeyNotConfiguredError",
    "KeyState",
    "KeyStateError",
    "KeyUsageExceededError",
    "Keyring",
    "KeysetError",
    "MemoryCounter",
    "PayloadEncryption",
    "Redactor",
    "SecurityError",
    "StdoutSink",
    "TransitEnvelope",
    "TransitError",
    "UnknownKeyError",
    "UsageCounter",
    "VerifyResult",
    "WebhookAlert",
    "build_report",
    "verify_log",
    "__version__",
]
