"""infra-security: payload encryption, tamper-evident audit log, Vault/OpenBao credentials, rate limits, TLS."""

from __future__ import annotations

from infra_security.__about__ import __version__
from infra_security.alerts import AlertHook, WebhookAlert
from infra_security.asgi import RateLimitMiddleware
from infra_security.audit_keys import AuditKeys
from infra_security.audit_log import AuditLogger
from infra_security.audit_report import AuditReport, build_report
from infra_security.audit_verify import Finding, VerifyResult, verify_log
from infra_security.credential_cache import CredentialCache
from infra_security.credentials import CredentialManager
from infra_security.encryption import EnvelopeBackend, PayloadEncryption
from infra_security.errors import (
    AuditConfigError,
    AuditError,
    AuditLogFormatError,
    AuditWriteError,
    CertificateError,
    CredentialBackendError,
    CredentialConfigError,
    CredentialError,
    CredentialNotFoundError,
    CredentialStaleError,
    DecryptionError,
    EncryptionError,
    KeyNotConfiguredError,
    KeysetError,
    KeyStateError,
    KeyUsageExceededError,
    RateLimitBackendError,
    RateLimitError,
    RateLimitKeyError,
    RateLimitPolicyError,
    SecurityError,
    TlsConfigError,
    TlsError,
    TlsPolicyError,
    TransitError,
    UnknownKeyError,
)
from infra_security.fields import FieldEncryption
from infra_security.keyring import KeyInfo, Keyring, KeyState
from infra_security.leases import LeaseKeeper
from infra_security.providers import CredentialProvider, EnvProvider, FileProvider, Secret
from infra_security.ratelimit import RateLimiter, RateLimitRule
from infra_security.ratelimit_core import RateLimitDecision
from infra_security.ratelimit_memory import MemoryBackend
from infra_security.ratelimit_redis import RedisBackend
from infra_security.redaction import Redactor
from infra_security.settings_helpers import kafka_sasl_config, sqlalchemy_url
from infra_security.sinks import AuditSink, FsyncPolicy, JsonLinesFileSink, StdoutSink
from infra_security.tls_audit import audit_context
from infra_security.tls_check import EndpointReport, check_endpoint
from infra_security.tls_context import build_client_context, build_server_context, unsupported_settings
from infra_security.tls_inspect import CertificateReport, inspect_certificate_file, inspect_certificates
from infra_security.tls_policy import enforce_tls_policy, policy_for
from infra_security.tls_profiles import GUIDELINE_VERSION, PROFILES, MozillaProfile, get_profile
from infra_security.tls_settings import hvac_tls_kwargs, kafka_ssl_config, postgres_ssl_params
from infra_security.transit import TransitEnvelope
from infra_security.usage import MemoryCounter, UsageCounter
from infra_security.vault_auth import AppRoleAuth, KubernetesAuth, TokenAuth
from infra_security.vault_provider import VaultProvider

__all__ = [
    "AlertHook",
    "AppRoleAuth",
    "AuditConfigError",
    "AuditError",
    "AuditKeys",
    "AuditLogFormatError",
    "AuditLogger",
    "AuditReport",
    "AuditSink",
    "AuditWriteError",
    "CertificateError",
    "CertificateReport",
    "CredentialBackendError",
    "CredentialCache",
    "CredentialConfigError",
    "CredentialError",
    "CredentialManager",
    "CredentialNotFoundError",
    "CredentialProvider",
    "CredentialStaleError",
    "DecryptionError",
    "EncryptionError",
    "EndpointReport",
    "EnvProvider",
    "EnvelopeBackend",
    "FieldEncryption",
    "FileProvider",
    "Finding",
    "FsyncPolicy",
    "GUIDELINE_VERSION",
    "JsonLinesFileSink",
    "KeyInfo",
    "KeyNotConfiguredError",
    "KeyState",
    "KeyStateError",
    "KeyUsageExceededError",
    "Keyring",
    "KeysetError",
    "KubernetesAuth",
    "LeaseKeeper",
    "MemoryBackend",
    "MemoryCounter",
    "MozillaProfile",
    "PROFILES",
    "PayloadEncryption",
    "RateLimitBackendError",
    "RateLimitDecision",
    "RateLimitError",
    "RateLimitKeyError",
    "RateLimitMiddleware",
    "RateLimitPolicyError",
    "RateLimitRule",
    "RateLimiter",
    "Redactor",
    "RedisBackend",
    "Secret",
    "SecurityError",
    "StdoutSink",
    "TlsConfigError",
    "TlsError",
    "TlsPolicyError",
    "TokenAuth",
    "TransitEnvelope",
    "TransitError",
    "UnknownKeyError",
    "UsageCounter",
    "VaultProvider",
    "VerifyResult",
    "WebhookAlert",
    "__version__",
    "audit_context",
    "build_client_context",
    "build_report",
    "build_server_context",
    "check_endpoint",
    "enforce_tls_policy",
    "get_profile",
    "hvac_tls_kwargs",
    "inspect_certificate_file",
    "inspect_certificates",
    "kafka_sasl_config",
    "kafka_ssl_config",
    "policy_for",
    "postgres_ssl_params",
    "sqlalchemy_url",
    "unsupported_settings",
    "verify_log",
]
