"""Build :class:`ssl.SSLContext` objects from a :class:`TlsConfig` and a pinned Mozilla profile.

The model stays a plain value in ``infra_models``; building contexts lives here. What the running Python or
OpenSSL cannot apply is reported by :func:`unsupported_settings` (and logged), never silently skipped:

* TLS 1.3 cipher suites: ``SSLContext.set_ciphersuites`` only exists from Python 3.15; before, OpenSSL's
  default TLS 1.3 suites are used (the same three suites as both profiles, in OpenSSL's order).
* Key-exchange groups: ``SSLContext.set_groups`` only exists from Python 3.15; before, OpenSSL's default
  groups apply (OpenSSL 3.0 also offers ffdhe groups the profile does not list).
* DHE suites of the intermediate profile: Python loads no DH parameters by default, so a server offers only
  the ECDHE suites unless ``dh_params_file`` is given (still within the profile).
* OCSP stapling: the ``ssl`` module has no server-side stapling API.
"""

from __future__ import annotations

import logging
import ssl
import sys
from dataclasses import dataclass

from infra_models.enums import DeploymentEnvironment
from infra_models.security import SecurityPolicy, TlsConfig, TlsVersion
from infra_security.errors import TlsConfigError
from infra_security.tls._policy import enforce_tls_policy
from infra_security.tls._profiles import MozillaProfile, get_profile, ssl_version

__all__ = ["Unsupported", "build_client_context", "build_server_context", "unsupported_settings"]

_log = logging.getLogger("infra_security.tls")


@dataclass(frozen=True)
class Unsupported:
    """A profile setting this Python/OpenSSL cannot apply, and what happens instead."""

    setting: str
    reason: str
    effect: str


def unsupported_settings(profile: MozillaProfile, *, server: bool = False) -> list[Unsupported]:
    """List the profile settings the running Python/OpenSSL cannot apply."""
    out: list[Unsupported] = []
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    if not hasattr(probe, "set_ciphersuites"):
        out.append(
            Unsupported(
                "ciphersuites",
                f"Python {sys.version_info.major}.{sys.version_info.minor} has no SSLContext.set_ciphersuites (3.15+)",
                "OpenSSL's default TLS 1.3 suites are used: " + ", ".join(profile.ciphersuites) + " in OpenSSL order",
            )
        )
    if not hasattr(probe, "set_groups"):
        out.append(
            Unsupported(
                "groups",
                f"Python {sys.version_info.major}.{sys.version_info.minor} has no SSLContext.set_groups (3.15+)",
                f"OpenSSL's default groups apply ({ssl.OPENSSL_VERSION}); profile wants " + ", ".join(profile.groups),
            )
        )
    if server and profile.dh_param_size:
        out.append(
            Unsupported(
                "dh_param_size",
                "the ssl module loads no DH parameters by default",
                "DHE suites are offered only when dh_params_file is given; ECDHE suites cover the profile",
            )
        )
    if server and profile.ocsp_staple:
        out.append(Unsupported("ocsp_staple", "the ssl module has no server-side OCSP stapling API", "no stapling"))
    return out


def _floor(config: TlsConfig, profile: MozillaProfile) -> ssl.TLSVersion:
    floor = profile.min_version
    if config.min_version is not None:
        wanted = TlsVersion(config.min_version)
        if wanted not in profile.tls_versions:
            raise TlsConfigError(
                f"min_version {wanted.value} is outside the {profile.name.value} profile "
                f"({', '.join(v.value for v in profile.tls_versions)}): choose the intermediate profile for TLSv1.2",
                details={"field": "min_version", "value": wanted.value},
            )
        floor = wanted
    return ssl_version(floor)


def _common(ctx: ssl.SSLContext, config: TlsConfig, profile: MozillaProfile, *, server: bool) -> None:
    ctx.minimum_version = _floor(config, profile)
    ctx.maximum_version = ssl.TLSVersion.MAXIMUM_SUPPORTED
    ctx.options |= ssl.OP_NO_COMPRESSION | getattr(ssl, "OP_NO_RENEGOTIATION", 0)
    if not profile.server_preferred_order:
        ctx.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    ciphers = config.ciphers or profile.cipher_string
    if ciphers:
        try:
            ctx.set_ciphers(ciphers)
        except ssl.SSLError as exc:
            raise TlsConfigError(
                f"cipher string {ciphers!r} selects no cipher OpenSSL knows", details={"field": "ciphers"}
            ) from exc
    for item in unsupported_settings(profile, server=server):
        _log.debug("TLS %s not applied: %s; %s", item.setting, item.reason, item.effect)


def _load_chain(ctx: ssl.SSLContext, config: TlsConfig) -> None:
    if config.cert_file is None or config.key_file is None:
        return
    try:
        ctx.load_cert_chain(config.cert_file, config.key_file)
    except (OSError, ssl.SSLError) as exc:
        raise TlsConfigError(
            f"cannot load cert_file={config.cert_file!r} / key_file={config.key_file!r}: {exc}",
            details={"field": "cert_file"},
        ) from exc


def _load_ca(ctx: ssl.SSLContext, ca_file: str) -> None:
    try:
        ctx.load_verify_locations(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise TlsConfigError(f"cannot load ca_file={ca_file!r}: {exc}", details={"field": "ca_file"}) from exc


def build_client_context(
    config: TlsConfig | None = None, *, environment: DeploymentEnvironment | SecurityPolicy | str | None = None
) -> ssl.SSLContext:
    """A client context: profile floor and ciphers, verification and hostname check, optional client cert.

    With ``environment`` the config is first checked against that environment's policy
    (:func:`~infra_security.tls._policy.enforce_tls_policy`): production refuses verify=false.

    Example:
        >>> ctx = build_client_context(TlsConfig(profile="modern"))
        >>> ctx.minimum_version.name, ctx.check_hostname
        ('TLSv1_3', True)
    """
    config = config or TlsConfig()
    if environment is not None:
        enforce_tls_policy(config, environment)
    elif not config.verify:
        _log.warning("TLS: certificate verification is OFF for this client context")
    profile = get_profile(config.profile)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if config.verify:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.check_hostname = config.check_hostname
        if config.ca_file:
            _load_ca(ctx, config.ca_file)
        else:
            ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
        ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    else:
        # Only reached when the caller set verify=false and the environment's policy allows it (logged above).
        ctx.check_hostname = False  # readiness: allow-insecure-tls
        ctx.verify_mode = ssl.CERT_NONE  # readiness: allow-insecure-tls
    _common(ctx, config, profile, server=False)
    _load_chain(ctx, config)
    return ctx


def build_server_context(
    config: TlsConfig,
    *,
    environment: DeploymentEnvironment | SecurityPolicy | str | None = None,
    dh_params_file: str | None = None,
) -> ssl.SSLContext:
    """A server context: certificate and key required; ``require_client_cert`` turns on mutual TLS (needs ca_file).

    Example:
        >>> build_server_context(TlsConfig())
        Traceback (most recent call last):
        ...
        infra_security.errors.TlsConfigError: a server context needs cert_file and key_file
    """
    if environment is not None:
        enforce_tls_policy(config, environment, server=True)
    if config.cert_file is None:
        raise TlsConfigError("a server context needs cert_file and key_file", details={"field": "cert_file"})
    profile = get_profile(config.profile)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _common(ctx, config, profile, server=True)
    _load_chain(ctx, config)
    if config.require_client_cert:
        if not config.ca_file:
            raise TlsConfigError(
                "require_client_cert=true needs ca_file: the CA that signs client certificates",
                details={"field": "ca_file"},
            )
        _load_ca(ctx, config.ca_file)
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    elif config.ca_file:
        _load_ca(ctx, config.ca_file)
        ctx.verify_mode = ssl.CERT_OPTIONAL
    if dh_params_file:
        try:
            ctx.load_dh_params(dh_params_file)
        except (OSError, ssl.SSLError) as exc:
            raise TlsConfigError(f"cannot load dh_params_file={dh_params_file!r}: {exc}") from exc
    return ctx
