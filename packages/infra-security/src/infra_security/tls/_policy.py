"""What each :class:`DeploymentEnvironment` demands of TLS, and the check of a :class:`TlsConfig` against it.

Production and staging: verification on, hostname checked, TLS 1.2 or newer; there is no switch that turns
verification off silently. Development and test may turn verification off, but only explicitly, and the
context builders log a warning every time they do.
"""

from __future__ import annotations

import logging

from infra_models.enums import DeploymentEnvironment
from infra_models.security import SecurityPolicy, TlsConfig, TlsProfile, TlsVersion
from infra_security.errors import TlsPolicyError

__all__ = ["weak_ciphers", "enforce_tls_policy", "policy_for"]

_log = logging.getLogger("infra_security.tls")

_ORDER = {TlsVersion.TLSv1_2: 2, TlsVersion.TLSv1_3: 3}


def policy_for(environment: DeploymentEnvironment | str) -> SecurityPolicy:
    """The default :class:`SecurityPolicy` of an environment (strict for staging and production)."""
    env = DeploymentEnvironment(environment)
    strict = env in (DeploymentEnvironment.STAGING, DeploymentEnvironment.PRODUCTION)
    return SecurityPolicy(environment=env, require_tls=True, require_verification=strict)


def enforce_tls_policy(
    config: TlsConfig, policy: SecurityPolicy | DeploymentEnvironment | str, *, server: bool = False
) -> list[str]:
    """Raise :class:`TlsPolicyError` when ``config`` breaks ``policy``; return warnings that do not break it.

    Example:
        >>> enforce_tls_policy(TlsConfig(verify=False, check_hostname=False), "production")
        Traceback (most recent call last):
        ...
        infra_security.errors.TlsPolicyError: ...
    """
    pol = policy if isinstance(policy, SecurityPolicy) else policy_for(policy)
    env = pol.environment.value
    problems: list[str] = []
    warnings: list[str] = []
    floor = config.min_version
    if floor is not None and _ORDER[TlsVersion(floor)] < _ORDER[pol.min_tls_version]:
        problems.append(f"min_version {floor} is below the {env} floor {pol.min_tls_version.value}")
    if not server:
        if pol.require_verification and not config.verify:
            problems.append(f"verify=false is not allowed in {env}: set verify=true and give ca_file")
        if pol.require_verification and not config.check_hostname:
            problems.append(f"check_hostname=false is not allowed in {env}")
        if pol.require_mtls and config.cert_file is None:
            problems.append(f"{env} requires mutual TLS: set cert_file and key_file")
    elif pol.require_mtls and not config.require_client_cert:
        problems.append(f"{env} requires mutual TLS: set require_client_cert=true and ca_file")
    if config.ciphers and pol.require_verification:
        weak = weak_ciphers(config.ciphers)
        if weak:
            problems.append(
                f"ciphers={config.ciphers!r} selects {', '.join(weak)}, outside the Mozilla intermediate profile; "
                "drop the override (the profile's ciphers apply) or list only profile ciphers"
            )
    if problems:
        raise TlsPolicyError(
            "TLS configuration breaks the " + env + " policy: " + "; ".join(problems),
            details={"environment": env, "problems": problems},
        )
    if not server and not config.verify:
        warnings.append(f"certificate verification is OFF ({env}); never use this outside development")
    if not server and config.verify and not config.check_hostname:
        warnings.append(f"hostname checking is OFF ({env})")
    for warning in warnings:
        _log.warning("TLS: %s", warning)
    return warnings


def weak_ciphers(cipher_string: str) -> list[str]:
    """TLS 1.2 ciphers an OpenSSL cipher string selects that the Mozilla intermediate profile does not list.

    An empty list for a string within the profile; a string OpenSSL cannot parse selects nothing here (the context
    builder reports it).
    """
    import ssl

    from infra_security.tls._profiles import get_profile

    allowed = set(get_profile(TlsProfile.INTERMEDIATE).ciphers)
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        probe.set_ciphers(cipher_string)
    except ssl.SSLError:
        return []
    selected = [c["name"] for c in probe.get_ciphers() if c.get("protocol") != "TLSv1.3"]
    return [name for name in selected if name not in allowed]
