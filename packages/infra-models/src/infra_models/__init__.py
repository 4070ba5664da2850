"""infra-models: the shared pydantic v2 vocabulary of the infra packages.

Example:
    >>> from infra_models import NodeKind, ReadinessLevel
    >>> NodeKind("effect"), ReadinessLevel.STAGING < ReadinessLevel.PRODUCTION
    (<NodeKind.EFFECT: 'EFFECT'>, True)
"""

from __future__ import annotations

from infra_models.__about__ import __version__
from infra_models.contract_yaml import load_contract, parse_contract
from infra_models.enums import ComplianceLevel, CredentialType, DeploymentEnvironment, SecurityProtocol, Severity
from infra_models.errors import (
    ContractError,
    GenError,
    InfraError,
    ModelsError,
    OutboxError,
    ReadinessError,
    SecurityError,
)
from infra_models.kafka import KafkaProducerConfig
from infra_models.node import (
    CircuitBreakerPolicy,
    ExternalSystem,
    ModelField,
    ModelSpec,
    NodeContract,
    NodeKind,
    OrchestratorStep,
    RetryPolicy,
    TimeoutPolicy,
    TopicSet,
)
from infra_models.outbox import OutboxEvent, OutboxStatus
from infra_models.readiness import (
    CheckCategory,
    CheckResult,
    CheckStatus,
    Finding,
    ReadinessLevel,
    ReadinessReport,
    ReadinessSummary,
    Waiver,
)
from infra_models.security import (
    AuditEvent,
    AuditEventType,
    AuditOutcome,
    CredentialCacheEntry,
    EncryptedPayload,
    RateLimitAlgorithm,
    RateLimitPolicy,
    RateLimitScope,
    SecurityEventData,
    SecurityPolicy,
    TlsConfig,
    TlsProfile,
    TlsVersion,
)

__all__ = [
    "AuditEvent",
    "AuditEventType",
    "AuditOutcome",
    "CheckCategory",
    "CheckResult",
    "CheckStatus",
    "CircuitBreakerPolicy",
    "ComplianceLevel",
    "ContractError",
    "CredentialCacheEntry",
    "CredentialType",
    "DeploymentEnvironment",
    "EncryptedPayload",
    "ExternalSystem",
    "Finding",
    "GenError",
    "InfraError",
    "KafkaProducerConfig",
    "ModelField",
    "ModelSpec",
    "ModelsError",
    "NodeContract",
    "NodeKind",
    "OrchestratorStep",
    "OutboxError",
    "OutboxEvent",
    "OutboxStatus",
    "RateLimitAlgorithm",
    "RateLimitPolicy",
    "RateLimitScope",
    "ReadinessError",
    "ReadinessLevel",
    "ReadinessReport",
    "ReadinessSummary",
    "RetryPolicy",
    "SecurityError",
    "SecurityEventData",
    "SecurityPolicy",
    "SecurityProtocol",
    "Severity",
    "TimeoutPolicy",
    "TlsConfig",
    "TlsProfile",
    "TlsVersion",
    "TopicSet",
    "Waiver",
    "__version__",
    "load_contract",
    "parse_contract",
]
