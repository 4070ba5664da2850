"""Enumerations shared by the infra packages (string values, stable across releases)."""

from __future__ import annotations

from enum import StrEnum

from infra_models._ordered import OrderedStrEnum

__all__ = [
    "ComplianceLevel",
    "CredentialType",
    "DeploymentEnvironment",
    "SecurityProtocol",
    "Severity",
]


class ComplianceLevel(StrEnum):
    """The compliance regime an event, policy or credential falls under, for filtering and reports."""

    NONE = "none"
    INTERNAL = "internal"
    SOC2 = "soc2"
    ISO27001 = "iso27001"
    GDPR = "gdpr"
    HIPAA = "hipaa"
    PCI_DSS = "pci_dss"


class CredentialType(StrEnum):
    """What kind of secret a credential is."""

    API_KEY = "api_key"
    PASSWORD = "password"
    TOKEN = "token"
    DATABASE = "database"
    KAFKA_SASL = "kafka_sasl"
    CERTIFICATE = "certificate"
    SSH_KEY = "ssh_key"
    GENERIC = "generic"


class DeploymentEnvironment(StrEnum):
    """Where code runs; policies get stricter towards PRODUCTION."""

    DEVELOPMENT = "development"
    TEST = "test"
    STAGING = "staging"
    PRODUCTION = "production"


class SecurityProtocol(StrEnum):
    """Kafka's ``security.protocol`` values."""

    PLAINTEXT = "PLAINTEXT"
    SSL = "SSL"
    SASL_PLAINTEXT = "SASL_PLAINTEXT"
    SASL_SSL = "SASL_SSL"


class Severity(OrderedStrEnum):
    """Ordered severity (INFO < LOW < MEDIUM < HIGH < CRITICAL) of audit events and readiness findings."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"
