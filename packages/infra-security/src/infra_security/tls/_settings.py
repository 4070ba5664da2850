"""The same TLS policy as settings for confluent-kafka, PostgreSQL drivers and hvac.

Example:
    >>> postgres_ssl_params(TlsConfig(ca_file="/etc/ca.pem"))["sslmode"]
    'verify-full'
"""

from __future__ import annotations

from typing import Any

from infra_models.enums import DeploymentEnvironment, SecurityProtocol
from infra_models.security import SecurityPolicy, TlsConfig, TlsVersion
from infra_security.tls._policy import enforce_tls_policy
from infra_security.tls._profiles import get_profile

__all__ = ["hvac_tls_kwargs", "kafka_ssl_config", "postgres_ssl_params"]

Environment = DeploymentEnvironment | SecurityPolicy | str | None


def kafka_ssl_config(config: TlsConfig, *, sasl: bool = False, environment: Environment = None) -> dict[str, str]:
    """confluent-kafka (librdkafka) ``security.protocol`` and ``ssl.*`` settings.

    librdkafka has no protocol-floor property: the floor is the broker's; the profile's TLS 1.2 ciphers are
    passed as ``ssl.cipher.suites``.
    """
    if environment is not None:
        enforce_tls_policy(config, environment)
    protocol = SecurityProtocol.SASL_SSL if sasl else SecurityProtocol.SSL
    out = {
        "security.protocol": protocol.value,
        "enable.ssl.certificate.verification": "true" if config.verify else "false",
        "ssl.endpoint.identification.algorithm": "https" if config.verify and config.check_hostname else "none",
    }
    if config.ca_file:
        out["ssl.ca.location"] = config.ca_file
    if config.cert_file and config.key_file:
        out["ssl.certificate.location"] = config.cert_file
        out["ssl.key.location"] = config.key_file
    ciphers = config.ciphers or get_profile(config.profile).cipher_string
    if ciphers:
        out["ssl.cipher.suites"] = ciphers
    return out


def postgres_ssl_params(config: TlsConfig, *, environment: Environment = None) -> dict[str, str]:
    """libpq parameters (psycopg, asyncpg's libpq-style DSN): ``sslmode``, ``sslrootcert``, client cert, floor.

    ``verify-full`` whenever verification and hostname checking are on (whatever the client certificate);
    ``verify-ca`` without hostname checking; ``require`` (encrypted, unauthenticated) only when verification is
    explicitly off, which the production policy refuses.
    """
    if environment is not None:
        enforce_tls_policy(config, environment)
    mode = ("verify-full" if config.check_hostname else "verify-ca") if config.verify else "require"
    out = {"sslmode": mode}
    if config.ca_file:
        out["sslrootcert"] = config.ca_file
    elif config.verify:
        out["sslrootcert"] = "system"  # libpq 16+: the system trust store
    if config.cert_file and config.key_file:
        out["sslcert"] = config.cert_file
        out["sslkey"] = config.key_file
    floor = config.min_version or get_profile(config.profile).min_version
    out["ssl_min_protocol_version"] = TlsVersion(floor).value
    return out


def hvac_tls_kwargs(config: TlsConfig, *, environment: Environment = None) -> dict[str, Any]:
    """Keyword arguments for ``hvac.Client``: ``verify`` (CA path or bool) and ``cert`` (client pair)."""
    if environment is not None:
        enforce_tls_policy(config, environment)
    out: dict[str, Any] = {"verify": (config.ca_file or True) if config.verify else False}
    if config.cert_file and config.key_file:
        out["cert"] = (config.cert_file, config.key_file)
    return out
