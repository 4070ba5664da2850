"""Audit an existing :class:`ssl.SSLContext` against a pinned Mozilla profile."""

from __future__ import annotations

import ssl
from typing import Literal

from infra_models.security import TlsProfile
from infra_security.tls._inspect import Finding
from infra_security.tls._profiles import get_profile, ssl_version

__all__ = ["audit_context"]

# OpenSSL's names of the TLS 1.3 suites as get_ciphers() reports them.
_TLS13 = {
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_CCM_SHA256",
    "TLS_AES_128_CCM_8_SHA256",
}


def audit_context(
    ctx: ssl.SSLContext,
    profile: TlsProfile | str = TlsProfile.INTERMEDIATE,
    *,
    role: Literal["client", "server"] | None = None,
) -> list[Finding]:
    """Return what in ``ctx`` departs from ``profile``: protocol floor, ciphers, verification, compression.

    Example:
        >>> codes = [f.code for f in audit_context(ssl._create_unverified_context(), "intermediate")]
        >>> "verify.off" in codes and "hostname.off" in codes
        True
    """
    prof = get_profile(profile)
    side = role or ("server" if ctx.protocol == ssl.PROTOCOL_TLS_SERVER else "client")
    out: list[Finding] = []
    floor = ssl_version(prof.min_version)
    minimum = ctx.minimum_version
    effective = minimum if minimum != ssl.TLSVersion.MINIMUM_SUPPORTED else ssl.TLSVersion.TLSv1
    if effective < floor:
        out.append(
            Finding(
                "protocol.floor",
                "error",
                f"minimum_version {minimum.name} is below the {prof.name.value} floor {floor.name}: "
                f"set ctx.minimum_version = ssl.TLSVersion.{floor.name}",
            )
        )
    if ctx.maximum_version not in (ssl.TLSVersion.MAXIMUM_SUPPORTED, ssl.TLSVersion.TLSv1_3):
        out.append(
            Finding("protocol.ceiling", "warning", f"maximum_version {ctx.maximum_version.name} disables TLSv1.3")
        )
    allowed = set(prof.ciphers)
    extra = sorted(c["name"] for c in ctx.get_ciphers() if c["name"] not in _TLS13 and c["name"] not in allowed)
    if extra and not (floor == ssl.TLSVersion.TLSv1_3 and effective >= ssl.TLSVersion.TLSv1_3):
        out.append(
            Finding("ciphers.extra", "error", f"{len(extra)} TLS 1.2 cipher(s) outside the profile: {', '.join(extra)}")
        )
    if side == "client":
        if ctx.verify_mode != ssl.CERT_REQUIRED:
            out.append(Finding("verify.off", "error", "verify_mode is not CERT_REQUIRED: peers are not authenticated"))
        if not ctx.check_hostname:
            out.append(
                Finding(
                    "hostname.off", "error", "check_hostname is False: any valid certificate is accepted for any host"
                )
            )
    if not ctx.options & ssl.OP_NO_COMPRESSION:
        out.append(
            Finding("compression.on", "error", "TLS compression is not disabled (CRIME): set ssl.OP_NO_COMPRESSION")
        )
    return out
