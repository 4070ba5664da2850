"""Errors of infra-security: a shallow tree under :class:`infra_models.errors.SecurityError`."""

from __future__ import annotations

from infra_models.errors import SecurityError

__all__ = [
    "AuditConfigError",
    "AuditError",
    "AuditLogFormatError",
    "AuditWriteError",
    "CertificateError",
    "CredentialBackendError",
    "CredentialConfigError",
    "CredentialError",
    "CredentialNotFoundError",
    "CredentialStaleError",
    "DecryptionError",
    "EncryptionError",
    "KeyNotConfiguredError",
    "KeyStateError",
    "KeyUsageExceededError",
    "KeysetError",
    "RateLimitBackendError",
    "RateLimitError",
    "RateLimitKeyError",
    "RateLimitPolicyError",
    "SecurityError",
    "TlsConfigError",
    "TlsError",
    "TlsPolicyError",
    "TransitError",
    "UnknownKeyError",
]

# --- payload encryption and audit (issue 4) ---


class EncryptionError(SecurityError):
    """Base of payload-encryption and key-management errors."""

    default_code = "security.encryption"


class KeyNotConfiguredError(EncryptionError):
    """No key source is configured: encryption fails closed instead of inventing a key."""

    default_code = "security.key_not_configured"


class KeysetError(EncryptionError):
    """A keyset file or value that cannot be used: unreadable, bad permissions, bad format."""

    default_code = "security.keyset_invalid"


class UnknownKeyError(EncryptionError):
    """A ciphertext names a key id that the keyring does not hold."""

    default_code = "security.key_unknown"


class KeyStateError(EncryptionError):
    """A key exists but its state forbids the operation (disabled, destroyed, not primary)."""

    default_code = "security.key_unusable"


class KeyUsageExceededError(EncryptionError):
    """A key reached its encryption limit (random-nonce bound); rotate before encrypting more."""

    default_code = "security.key_usage_exceeded"


class DecryptionError(EncryptionError):
    """A ciphertext that is truncated, malformed, tampered with or bound to another context."""

    default_code = "security.decrypt_failed"


class TransitError(EncryptionError):
    """Vault/OpenBao Transit refused or failed an operation."""

    default_code = "security.transit"


class AuditError(SecurityError):
    """Base of audit-log errors."""

    default_code = "security.audit"


class AuditConfigError(AuditError):
    """The audit log is misconfigured: keys missing or unreadable, bad sink settings."""

    default_code = "security.audit_config"


class AuditWriteError(AuditError):
    """An audit event could not be written where the policy requires it (fail closed)."""

    default_code = "security.audit_write_failed"


class AuditLogFormatError(AuditError):
    """An audit log or checkpoint file that cannot be parsed."""

    default_code = "security.audit_log_invalid"


# --- credentials, rate limiting and TLS (issue 5) ---


class CredentialError(SecurityError):
    """Base of credential errors."""

    default_code = "security.credential"


class CredentialConfigError(CredentialError):
    """The credential source is misconfigured: no provider chosen, bad Vault URL, bad auth settings."""

    default_code = "security.credential_config"


class CredentialNotFoundError(CredentialError):
    """The secret path or field does not exist in the provider."""

    default_code = "security.credential_not_found"


class CredentialBackendError(CredentialError):
    """The provider refused or failed the request: Vault unreachable, token rejected, permission denied."""

    default_code = "security.credential_backend"


class CredentialStaleError(CredentialBackendError):
    """The provider is down and the last known value is older than the configured stale bound."""

    default_code = "security.credential_stale"


class RateLimitError(SecurityError):
    """Base of rate-limit errors."""

    default_code = "security.ratelimit"


class RateLimitPolicyError(RateLimitError):
    """A policy that cannot be enforced: zero or negative rate, weight above capacity, unknown algorithm."""

    default_code = "security.ratelimit_policy"


class RateLimitKeyError(RateLimitError):
    """A rate-limit key that is empty or longer than the configured bound."""

    default_code = "security.ratelimit_key"


class RateLimitBackendError(RateLimitError):
    """The rate-limit backend (Redis) failed and the limiter is configured to raise."""

    default_code = "security.ratelimit_backend"


class TlsError(SecurityError):
    """Base of TLS errors."""

    default_code = "security.tls"


class TlsConfigError(TlsError):
    """A TLS configuration that cannot be built: unreadable file, unsupported version, bad profile."""

    default_code = "security.tls_config"


class TlsPolicyError(TlsError):
    """A TLS configuration that breaks the environment's policy (production: verification on, TLS >= 1.2)."""

    default_code = "security.tls_policy"


class CertificateError(TlsError):
    """A certificate file that is not PEM or cannot be parsed."""

    default_code = "security.certificate_invalid"
