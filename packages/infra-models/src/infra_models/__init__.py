"""infra-models: the shared pydantic v2 vocabulary of the infra packages.

Example:
    >>> from infra_models import NodeKind, ReadinessLevel
    >>> NodeKind("effect"), ReadinessLevel.STAGING < ReadinessLevel.PRODUCTION
    (<NodeKind.EFFECT: 'EFFECT'>, True)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from infra_models.__about__ import __version__

if TYPE_CHECKING:
    from infra_models.contract_yaml import (
        load_contract,
        parse_contract,
    )
    from infra_models.enums import (
        ComplianceLevel,
        CredentialType,
        DeploymentEnvironment,
        SecurityProtocol,
        Severity,
    )
    from infra_models.errors import (
        ContractError,
        GenError,
        InfraError,
        ModelsError,
        OutboxError,
        ReadinessError,
        SecurityError,
    )
    from infra_models.kafka import (
        KafkaProducerConfig,
    )
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
    from infra_models.onex import (
        OnexContract,
        OnexDependency,
        OnexEventBus,
        OnexHandlerRoute,
        OnexHandlerRouting,
        OnexModelRef,
        OnexVersion,
        contract_format,
        load_any_contract,
        load_onex_contract,
        parse_any_contract,
        parse_onex_contract,
    )
    from infra_models.outbox import (
        OutboxEvent,
        OutboxStatus,
    )
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
    from infra_models.yaml_limits import (
        YamlLimits,
        line_of,
        load_yaml_mapping,
        read_yaml_text,
    )

# Public name -> defining module. Submodules load on first use, so `import infra_models` and every
# CLI's --help stay fast (building all pydantic models costs ~0.2 s).
_LAZY: dict[str, str] = {
    "AuditEvent": "infra_models.security",
    "AuditEventType": "infra_models.security",
    "AuditOutcome": "infra_models.security",
    "CheckCategory": "infra_models.readiness",
    "CheckResult": "infra_models.readiness",
    "CheckStatus": "infra_models.readiness",
    "CircuitBreakerPolicy": "infra_models.node",
    "ComplianceLevel": "infra_models.enums",
    "ContractError": "infra_models.errors",
    "CredentialCacheEntry": "infra_models.security",
    "CredentialType": "infra_models.enums",
    "DeploymentEnvironment": "infra_models.enums",
    "EncryptedPayload": "infra_models.security",
    "ExternalSystem": "infra_models.node",
    "Finding": "infra_models.readiness",
    "GenError": "infra_models.errors",
    "InfraError": "infra_models.errors",
    "KafkaProducerConfig": "infra_models.kafka",
    "ModelField": "infra_models.node",
    "ModelSpec": "infra_models.node",
    "ModelsError": "infra_models.errors",
    "NodeContract": "infra_models.node",
    "NodeKind": "infra_models.node",
    "OnexContract": "infra_models.onex",
    "OnexDependency": "infra_models.onex",
    "OnexEventBus": "infra_models.onex",
    "OnexHandlerRoute": "infra_models.onex",
    "OnexHandlerRouting": "infra_models.onex",
    "OnexModelRef": "infra_models.onex",
    "OnexVersion": "infra_models.onex",
    "OrchestratorStep": "infra_models.node",
    "OutboxError": "infra_models.errors",
    "OutboxEvent": "infra_models.outbox",
    "OutboxStatus": "infra_models.outbox",
    "RateLimitAlgorithm": "infra_models.security",
    "RateLimitPolicy": "infra_models.security",
    "RateLimitScope": "infra_models.security",
    "ReadinessError": "infra_models.errors",
    "ReadinessLevel": "infra_models.readiness",
    "ReadinessReport": "infra_models.readiness",
    "ReadinessSummary": "infra_models.readiness",
    "RetryPolicy": "infra_models.node",
    "SecurityError": "infra_models.errors",
    "SecurityEventData": "infra_models.security",
    "SecurityPolicy": "infra_models.security",
    "SecurityProtocol": "infra_models.enums",
    "Severity": "infra_models.enums",
    "TimeoutPolicy": "infra_models.node",
    "TlsConfig": "infra_models.security",
    "TlsProfile": "infra_models.security",
    "TlsVersion": "infra_models.security",
    "TopicSet": "infra_models.node",
    "Waiver": "infra_models.readiness",
    "YamlLimits": "infra_models.yaml_limits",
    "contract_format": "infra_models.onex",
    "line_of": "infra_models.yaml_limits",
    "load_any_contract": "infra_models.onex",
    "load_contract": "infra_models.contract_yaml",
    "load_onex_contract": "infra_models.onex",
    "load_yaml_mapping": "infra_models.yaml_limits",
    "parse_any_contract": "infra_models.onex",
    "parse_contract": "infra_models.contract_yaml",
    "parse_onex_contract": "infra_models.onex",
    "read_yaml_text": "infra_models.yaml_limits",
}

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
    "OnexContract",
    "OnexDependency",
    "OnexEventBus",
    "OnexHandlerRoute",
    "OnexHandlerRouting",
    "OnexModelRef",
    "OnexVersion",
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
    "YamlLimits",
    "__version__",
    "contract_format",
    "line_of",
    "load_any_contract",
    "load_contract",
    "load_onex_contract",
    "load_yaml_mapping",
    "parse_any_contract",
    "parse_contract",
    "parse_onex_contract",
    "read_yaml_text",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'infra_models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
