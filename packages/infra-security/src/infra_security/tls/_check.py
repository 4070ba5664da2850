"""Check a live TLS endpoint: handshake with a profile's client context, then inspect what the server sent."""

from __future__ import annotations

import socket
import ssl
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from infra_models.security import TlsConfig, TlsProfile
from infra_security.errors import TlsConfigError
from infra_security.tls._context import build_client_context
from infra_security.tls._inspect import CertificateReport, Finding, inspect_certificates

__all__ = ["EndpointReport", "check_endpoint", "parse_host_port"]


@dataclass
class EndpointReport:
    """What a handshake with ``host:port`` showed."""

    host: str
    port: int
    profile: str
    handshake_ok: bool
    protocol: str | None = None
    cipher: str | None = None
    error: str | None = None
    certificate: CertificateReport | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Handshake verified and no finding."""
        return self.handshake_ok and not self.findings

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return asdict(self)


def parse_host_port(target: str) -> tuple[str, int]:
    """Split ``HOST:PORT`` (``[::1]:443`` for IPv6); a missing or bad port is a :class:`TlsConfigError`."""
    host, sep, port = target.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise TlsConfigError(f"expected HOST:PORT, got {target!r} (for example 127.0.0.1:8443)")
    return host.strip("[]"), int(port)


def check_endpoint(
    host: str,
    port: int,
    *,
    profile: TlsProfile | str = TlsProfile.INTERMEDIATE,
    ca_file: str | None = None,
    cert_file: str | None = None,
    key_file: str | None = None,
    server_name: str | None = None,
    timeout: float = 5.0,
    now: datetime | None = None,
) -> EndpointReport:
    """Handshake with a verifying client context for ``profile``; report protocol, cipher and certificate findings.

    When verification fails the certificate is fetched again without verification so it can still be inspected.
    """
    config = TlsConfig(profile=TlsProfile(profile), ca_file=ca_file, cert_file=cert_file, key_file=key_file)
    ctx = build_client_context(config)
    name = server_name or host
    report = EndpointReport(host, port, TlsProfile(profile).value, handshake_ok=False)
    der: bytes | None = None
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            ctx.wrap_socket(raw, server_hostname=name) as tls,
        ):
            report.handshake_ok = True
            report.protocol = tls.version()
            cipher = tls.cipher()
            report.cipher = cipher[0] if cipher else None
            der = tls.getpeercert(binary_form=True)
    except ssl.SSLCertVerificationError as exc:
        report.error = f"certificate verification failed: {exc.verify_message or exc.reason}"
        report.findings.append(Finding("handshake.verify", "error", report.error))
    except ssl.SSLError as exc:
        report.error = f"handshake failed: {exc.reason or exc}"
        report.findings.append(
            Finding("handshake.failed", "error", f"{report.error} (server does not meet the {report.profile} profile?)")
        )
    except OSError as exc:
        report.error = f"cannot connect to {host}:{port}: {exc.strerror or exc}"
        report.findings.append(Finding("connect.failed", "error", report.error))
        return report
    if der is None:
        der = _fetch_unverified(host, port, name, timeout)
    if der is not None:
        pem = ssl.DER_cert_to_PEM_cert(der).encode()
        report.certificate = inspect_certificates(pem, profile=profile, now=now, source=f"{host}:{port}")
        report.findings.extend(f for f in report.certificate.findings if f.code not in ("chain.untrusted",))
    return report


def _fetch_unverified(host: str, port: int, name: str, timeout: float) -> bytes | None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # Only to read the certificate for the report; no data is exchanged.
    ctx.check_hostname = False  # readiness: allow-insecure-tls
    ctx.verify_mode = ssl.CERT_NONE  # readiness: allow-insecure-tls
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            ctx.wrap_socket(raw, server_hostname=name) as tls,
        ):
            return tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError):
        return None
