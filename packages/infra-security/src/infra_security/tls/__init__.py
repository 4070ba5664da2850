"""TLS policy: Mozilla profiles, SSLContext builders, client settings, certificate inspection, endpoint checks."""

from __future__ import annotations

from infra_models.security import TlsConfig
from infra_security.tls._audit import audit_context
from infra_security.tls._check import EndpointReport, check_endpoint
from infra_security.tls._context import build_client_context, build_server_context, unsupported_settings
from infra_security.tls._inspect import CertificateReport, inspect_certificate_file, inspect_certificates
from infra_security.tls._policy import enforce_tls_policy, policy_for
from infra_security.tls._profiles import GUIDELINE_VERSION, PROFILES, MozillaProfile, get_profile
from infra_security.tls._settings import hvac_tls_kwargs, kafka_ssl_config, postgres_ssl_params

__all__ = [
    "CertificateReport",
    "EndpointReport",
    "GUIDELINE_VERSION",
    "MozillaProfile",
    "PROFILES",
    "TlsConfig",
    "audit_context",
    "build_client_context",
    "build_server_context",
    "check_endpoint",
    "enforce_tls_policy",
    "get_profile",
    "hvac_tls_kwargs",
    "inspect_certificate_file",
    "inspect_certificates",
    "kafka_ssl_config",
    "policy_for",
    "postgres_ssl_params",
    "unsupported_settings",
]
