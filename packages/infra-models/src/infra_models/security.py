"""Security models: audit events, policies, TLS and rate-limit settings, cached credentials, ciphertexts."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    Field,
    JsonValue,
    PlainSerializer,
    PlainValidator,
    SecretStr,
    SerializationInfo,
    TypeAdapter,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from infra_models._base import StrictModel, ValueModel
from infra_models.clock import utc_now
from infra_models.encoding import Base64UrlError, b64url_decode, b64url_encode
from infra_models.enums import ComplianceLevel, CredentialType, DeploymentEnvironment, Severity

__all__ = [
    "AuditEvent",
    "AuditEventType",
    "AuditOutcome",
    "CredentialCacheEntry",
    "EncryptedPayload",
    "RateLimitAlgorithm",
    "RateLimitPolicy",
    "RateLimitScope",
    "SecurityEventData",
    "SecurityPolicy",
    "TlsConfig",
    "TlsProfile",
    "TlsVersion",
]

Identifier = Annotated[str, Field(min_length=1, max_length=256)]


class AuditEventType(StrEnum):
    """What an audit event is about."""

    AUTHENTICATION = "authentication"
    AUTHORIZATION = "authorization"
    DATA_ACCESS = "data_access"
    DATA_MODIFICATION = "data_modification"
    DATABASE_QUERY = "database_query"
    CONFIGURATION_CHANGE = "configuration_change"
    CREDENTIAL_ACCESS = "credential_access"
    KEY_MANAGEMENT = "key_management"
    ENCRYPTION = "encryption"
    RATE_LIMIT = "rate_limit"
    SECURITY_VIOLATION = "security_violation"
    SYSTEM_ERROR = "system_error"


class AuditOutcome(StrEnum):
    """How the audited action ended."""

    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"
    ERROR = "error"


class SecurityEventData(ValueModel):
    """Context of a security event: where the request came from and what else is known of it."""

    source_ip: str | None = None
    user_agent: str | None = Field(default=None, max_length=1024)
    session_id: str | None = None
    request_id: str | None = None
    attributes: dict[str, JsonValue] = Field(default_factory=dict)


class AuditEvent(ValueModel):
    """One audit record: who did what to which resource, when, and how it ended.

    Example:
        >>> AuditEvent(event_type="authentication", actor="user123", action="login", outcome="success").outcome
        <AuditOutcome.SUCCESS: 'success'>
    """

    event_id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    event_type: AuditEventType
    severity: Severity = Severity.INFO
    actor: Identifier
    action: Identifier
    resource: str | None = Field(default=None, max_length=1024)
    outcome: AuditOutcome
    timestamp: AwareDatetime = Field(default_factory=utc_now)
    correlation_id: str | None = Field(default=None, max_length=256)
    compliance_level: ComplianceLevel = ComplianceLevel.NONE
    context: SecurityEventData | None = None
    details: dict[str, JsonValue] = Field(default_factory=dict)


class TlsVersion(StrEnum):
    """TLS protocol versions a policy may require as its floor."""

    TLSv1_2 = "TLSv1.2"
    TLSv1_3 = "TLSv1.3"


class TlsProfile(StrEnum):
    """Mozilla server-side TLS guideline profiles."""

    MODERN = "modern"
    INTERMEDIATE = "intermediate"


class TlsConfig(StrictModel):
    """Settings from which TLS contexts for clients and servers are built."""

    profile: TlsProfile = TlsProfile.INTERMEDIATE
    min_version: TlsVersion | None = Field(default=None, description="Floor; the profile's floor when unset.")
    verify: bool = Field(default=True, description="Verify the peer's certificate chain.")
    check_hostname: bool = True
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    require_client_cert: bool = Field(default=False, description="Servers: demand a client certificate (mTLS).")
    ciphers: str | None = Field(default=None, description="OpenSSL cipher string overriding the profile's.")

    @model_validator(mode="after")
    def _consistent(self) -> TlsConfig:
        if self.check_hostname and not self.verify:
            raise ValueError("`check_hostname` needs `verify`: set verify=true or check_hostname=false")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("`cert_file` and `key_file` go together: set both or neither")
        return self


class SecurityPolicy(StrictModel):
    """What an environment demands: TLS floor, verification, encryption, audit."""

    environment: DeploymentEnvironment
    require_tls: bool = True
    min_tls_version: TlsVersion = TlsVersion.TLSv1_2
    require_verification: bool = True
    require_mtls: bool = False
    require_payload_encryption: bool = False
    audit_enabled: bool = True
    compliance_level: ComplianceLevel = ComplianceLevel.NONE
    max_credential_ttl_seconds: int = Field(default=86_400, gt=0)

    @model_validator(mode="after")
    def _production_is_strict(self) -> SecurityPolicy:
        if self.environment is DeploymentEnvironment.PRODUCTION and not (
            self.require_tls and self.require_verification
        ):
            raise ValueError("a PRODUCTION policy must set require_tls and require_verification to true")
        return self


class RateLimitAlgorithm(StrEnum):
    """Rate-limit algorithms."""

    GCRA = "gcra"
    SLIDING_WINDOW = "sliding_window"


class RateLimitScope(StrEnum):
    """What a limit is counted per."""

    GLOBAL = "global"
    CLIENT = "client"
    ENDPOINT = "endpoint"
    CLIENT_ENDPOINT = "client_endpoint"


class RateLimitPolicy(ValueModel):
    """``limit`` requests per ``period_seconds``, with an optional burst above the steady rate.

    Example:
        >>> RateLimitPolicy(name="event_publish", limit=1000, period_seconds=60, burst=100).limit
        1000
    """

    name: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]
    limit: int = Field(gt=0, description="Requests admitted per period.")
    period_seconds: float = Field(gt=0, description="Length of the period in seconds.")
    burst: int = Field(default=0, ge=0, description="Extra requests admitted at once above the steady rate.")
    algorithm: RateLimitAlgorithm = RateLimitAlgorithm.GCRA
    scope: RateLimitScope = RateLimitScope.CLIENT_ENDPOINT
    shadow: bool = Field(default=False, description="Decide and report, never block.")


class CredentialCacheEntry(ValueModel):
    """A credential as held in the cache: the secret value and when it stops being fresh."""

    name: Identifier
    credential_type: CredentialType = CredentialType.GENERIC
    value: SecretStr
    source: str = Field(description="Provider that produced it, such as `vault:kv2` or `env`.")
    fetched_at: AwareDatetime
    expires_at: AwareDatetime | None = None
    lease_id: str | None = None
    lease_duration_seconds: int | None = Field(default=None, ge=0)
    renewable: bool = False
    version: int | None = None

    @field_validator("expires_at")
    @classmethod
    def _after_fetch(cls, value: datetime | None, info: object) -> datetime | None:
        fetched = getattr(info, "data", {}).get("fetched_at")
        if value is not None and fetched is not None and value < fetched:
            raise ValueError("`expires_at` is before `fetched_at`")
        return value


def _b64url_serialize(value: bytes, info: SerializationInfo) -> str | bytes:
    """Unpadded base64url text in JSON; ``bytes`` in Python (also for a ``bytearray`` written in place)."""
    if info.mode_is_json():
        return b64url_encode(value)
    return value if type(value) is bytes else bytes(value)


def _ciphertext_in(value: object, info: ValidationInfo) -> bytes:
    """Bytes as they are; text (JSON, ``model_dump(mode="json")``) as strict base64url; never empty.

    A ``bytearray`` is copied to ``bytes``, except when :meth:`EncryptedPayload.from_sealed` hands over the buffer
    it just encrypted into (a large message is then not copied; it compares equal and dumps as bytes).
    """
    data: bytes | bytearray
    if type(value) is bytes:
        data = value
    elif isinstance(value, bytearray) and type(value) is bytearray:
        data = value if info.context is _SEALED_BUFFER else bytes(value)
    elif isinstance(value, bytes):
        data = bytes(value)  # a subclass: plain bytes
    elif isinstance(value, str):
        try:
            data = b64url_decode(value)
        except Base64UrlError as exc:
            raise ValueError("ciphertext is not canonical unpadded base64url text (A-Z a-z 0-9 - _)") from exc
    else:
        raise ValueError(f"ciphertext must be bytes or unpadded base64url text, not {type(value).__name__}")
    if not data:
        raise ValueError("ciphertext is empty: it holds at least the format byte")
    return data  # type: ignore[return-value]  # a bytearray only for from_sealed's buffer, as documented


_SEALED_BUFFER: dict[str, bool] = {"sealed_buffer": True}
"""The validation context by which ``from_sealed`` (and only it) keeps a ``bytearray`` without copying it."""

Base64UrlBytes = Annotated[
    bytes,
    PlainValidator(_ciphertext_in),
    PlainSerializer(_b64url_serialize),
    WithJsonSchema({"type": "string", "contentEncoding": "base64url", "minLength": 2}),
]
"""Bytes in Python, unpadded base64url text in JSON (either is accepted on input; never empty)."""


class EncryptedPayload(ValueModel):
    """An AES-256-GCM ciphertext with what is needed to decrypt it: key id, format version, context.

    ``ciphertext`` holds the compact binary ciphertext as ``bytes``; JSON (``model_dump_json``,
    ``model_dump(mode="json")``) renders it as unpadded base64url text, and validation accepts either.
    """

    algorithm: Literal["AES-256-GCM"] = "AES-256-GCM"
    format_version: int = Field(ge=1, le=255)
    key_id: Identifier
    # A payload of 64 KiB or more fresh from infra-security's ``encrypt_payload`` holds the ``bytearray`` it was
    # encrypted into, to spare a copy of the ciphertext; it compares equal and serialises the same.
    ciphertext: Base64UrlBytes = Field(
        description="The whole compact ciphertext: bytes in Python, unpadded base64url text in JSON.",
    )
    context: dict[str, str] = Field(default_factory=dict, description="Associated data the ciphertext is bound to.")

    @classmethod
    def from_sealed(
        cls, format_version: int, key_id: str, ciphertext: bytes | bytearray, context: dict[str, str]
    ) -> EncryptedPayload:
        """The payload an encryptor that just sealed ``ciphertext`` describes, validated like the constructor.

        For encryptors on their hot path: exactly ``EncryptedPayload(format_version=..., key_id=...,
        ciphertext=..., context=...)`` (every field validated, same ``model_fields_set``), through pydantic's public
        ``TypeAdapter`` rather than ``__init__``, which saves about 0.3 us of keyword handling. One difference: a
        ``bytearray`` ciphertext (the buffer a large message was encrypted into) is kept as it is, not copied; it
        compares equal to, and dumps exactly as, the same ``bytes``. The payload then owns that buffer: do not
        change it afterwards.
        """
        fields = {"format_version": format_version, "key_id": key_id, "ciphertext": ciphertext, "context": context}
        validate = _adapters.get(cls) or _adapter(cls)
        if type(ciphertext) is bytearray:
            return validate(fields, context=_SEALED_BUFFER)  # type: ignore[no-any-return]
        return validate(fields)  # type: ignore[no-any-return]


_adapters: dict[type, Callable[..., Any]] = {}


def _adapter(cls: type[EncryptedPayload]) -> Callable[..., Any]:
    """The public validator of ``cls`` (``TypeAdapter.validate_python``), made once per class."""
    validate = _adapters[cls] = TypeAdapter(cls).validate_python
    return validate
