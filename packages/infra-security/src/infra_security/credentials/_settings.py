"""Turn credentials into ready settings: a SQLAlchemy URL (escaped) and a confluent-kafka SASL config.

Example:
    >>> sqlalchemy_url({"username": "app", "password": "p@ss:w/rd"}, host="db", database="orders")
    'postgresql+psycopg://app:p%40ss%3Aw%2Frd@db/orders'
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urlencode

from pydantic import SecretStr

from infra_models.enums import DeploymentEnvironment
from infra_models.security import SecurityPolicy, TlsConfig
from infra_security.credentials._providers import Secret
from infra_security.errors import CredentialNotFoundError, TlsPolicyError
from infra_security.tls._policy import policy_for
from infra_security.tls._settings import kafka_ssl_config, postgres_ssl_params

__all__ = ["kafka_sasl_config", "sqlalchemy_url"]

Credentials = Secret | Mapping[str, str | SecretStr]


def _value(creds: Credentials, name: str) -> str:
    if isinstance(creds, Secret):
        return creds.field(name).get_secret_value()
    if name not in creds:
        raise CredentialNotFoundError(f"credentials have no `{name}` field (fields: {', '.join(sorted(creds))})")
    value = creds[name]
    return value.get_secret_value() if isinstance(value, SecretStr) else str(value)


def sqlalchemy_url(
    creds: Credentials,
    *,
    host: str,
    database: str,
    port: int | None = None,
    drivername: str = "postgresql+psycopg",
    username_field: str = "username",
    password_field: str = "password",  # noqa: S107 - a field name
    tls: TlsConfig | None = None,
    query: Mapping[str, str] | None = None,
) -> str:
    """``drivername://user:password@host:port/database?...`` with user, password and database percent-escaped.

    With ``tls`` the libpq TLS parameters (``sslmode=verify-full``, ``sslrootcert``...) join the query. The
    URL holds the password: hand it to ``create_engine`` and do not log it.
    """
    user = quote(_value(creds, username_field), safe="")
    password = quote(_value(creds, password_field), safe="")
    netloc = f"[{host}]" if ":" in host and not host.startswith("[") else host
    if port is not None:
        netloc += f":{int(port)}"
    params = dict(query or {})
    if tls is not None:
        params.update(postgres_ssl_params(tls))
    suffix = "?" + urlencode(params) if params else ""
    return f"{drivername}://{user}:{password}@{netloc}/{quote(database, safe='')}{suffix}"


def kafka_sasl_config(
    creds: Credentials,
    *,
    mechanism: str = "SCRAM-SHA-512",
    tls: TlsConfig | None = None,
    plaintext: bool = False,
    environment: DeploymentEnvironment | SecurityPolicy | str | None = None,
    username_field: str = "username",
    password_field: str = "password",  # noqa: S107 - a field name
) -> dict[str, str]:
    """confluent-kafka settings: ``security.protocol`` SASL_SSL (TLS per ``tls``), ``sasl.*`` from the credentials.

    ``plaintext=True`` gives SASL_PLAINTEXT for local brokers; the staging and production policies refuse it.
    """
    if mechanism not in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"):
        raise ValueError(f"unknown SASL mechanism {mechanism!r}: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER")
    out = {
        "sasl.mechanism": mechanism,
        "sasl.username": _value(creds, username_field),
        "sasl.password": _value(creds, password_field),
    }
    if plaintext:
        if environment is not None:
            pol = environment if isinstance(environment, SecurityPolicy) else policy_for(environment)
            if pol.require_tls and pol.require_verification:
                raise TlsPolicyError(
                    f"SASL_PLAINTEXT is not allowed in {pol.environment.value}: drop plaintext=True and give tls="
                )
        out["security.protocol"] = "SASL_PLAINTEXT"
        return out
    out.update(kafka_ssl_config(tls or TlsConfig(), sasl=True, environment=environment))
    return out
