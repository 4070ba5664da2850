"""infra-security: payload encryption, tamper-evident audit log, Vault/OpenBao credentials, rate limiting and TLS policy."""

from __future__ import annotations

from infra_security.__about__ import __version__
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
from infra_security.usage import MemoryCounter, UsageCounter

__all__ = [
    "AuditConfigError",
    "AuditError",
    "AuditLogFormatError",
    "AuditWriteError",
    "DecryptionError",
    "EncryptionError",
    "EnvelopeBackend",
    "FieldEncryption",
    "KeyInfo",
    "KeyNotConfiguredError",
    "KeyState",
    "KeyStateError",
    "KeyUsageExceededError",
    "Keyring",
    "KeysetError",
    "MemoryCounter",
    "PayloadEncryption",
    "SecurityError",
    "TransitError",
    "UnknownKeyError",
    "UsageCounter",
    "__version__",
]
