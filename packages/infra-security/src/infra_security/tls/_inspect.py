"""Certificate inspection against a profile: chain, key type and size, SAN, days to expiry, lifespan.

Parsing and signature checks use ``cryptography``; the rules come from the pinned Mozilla profile.

Example:
    >>> inspect_certificates(b"not a certificate")
    Traceback (most recent call last):
    ...
    infra_security.errors.CertificateError: <input> holds no PEM certificate: ...
"""

from __future__ import annotations

import itertools
import os
import stat
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from infra_models.security import TlsProfile
from infra_security.errors import CertificateError
from infra_security.tls._profiles import MozillaProfile, get_profile

__all__ = [
    "CertificateInfo",
    "CertificateReport",
    "Finding",
    "describe_certificate",
    "inspect_certificate_file",
    "inspect_certificates",
    "load_pem_certificates",
]

_CURVES = {"secp256r1": "prime256v1", "secp384r1": "secp384r1", "secp521r1": "secp521r1"}
# Names of the signature algorithms seen on TLS certificates (RFC 4055, 5758, 8410), by OID.
_SIGNATURE_NAMES = {
    "1.2.840.113549.1.1.4": "md5WithRSAEncryption",
    "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
    "1.2.840.113549.1.1.10": "rsassaPss",
    "1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
    "1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
    "1.2.840.113549.1.1.13": "sha512WithRSAEncryption",
    "1.2.840.113549.1.1.14": "sha224WithRSAEncryption",
    "1.2.840.10045.4.1": "ecdsa-with-SHA1",
    "1.2.840.10045.4.3.1": "ecdsa-with-SHA224",
    "1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
    "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
    "1.2.840.10045.4.3.4": "ecdsa-with-SHA512",
    "1.2.840.10040.4.3": "dsa-with-sha1",
    "1.3.101.112": "ed25519",
    "1.3.101.113": "ed448",
}
# Hashes no longer acceptable in a certificate signature (chosen-prefix collisions: SHA-1 since 2020, MD5 long ago).
_WEAK_SIGNATURE_HASHES = {"md5", "sha1", "sha224"}


@dataclass(frozen=True)
class Finding:
    """One problem found: a stable code, ``error`` or ``warning``, and a message naming the fix."""

    code: str
    severity: Literal["error", "warning"]
    message: str


@dataclass(frozen=True)
class CertificateInfo:
    """What matters about one certificate."""

    subject: str
    issuer: str
    serial: str
    key_type: str
    key_size: int
    curve: str | None
    signature_algorithm: str
    signature_hash: str | None
    sans: list[str]
    is_ca: bool
    not_before: str
    not_after: str
    days_to_expiry: float
    lifespan_days: float


@dataclass
class CertificateReport:
    """Certificates of one file (leaf first), chain status and findings against a profile."""

    source: str
    profile: str
    guideline_version: str
    certificates: list[CertificateInfo]
    chain_verified: bool | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No finding."""
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return asdict(self)


def load_pem_certificates(data: bytes, *, source: str = "<input>") -> list[Any]:
    """Parse every PEM certificate in ``data``; anything else is a :class:`CertificateError`."""
    from cryptography import x509

    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise CertificateError(
            f"{source} holds no PEM certificate: expected '-----BEGIN CERTIFICATE-----' "
            "(convert DER with `openssl x509 -inform der -in FILE -out FILE.pem`)",
            details={"source": source},
        )
    try:
        return list(x509.load_pem_x509_certificates(data))
    except ValueError as exc:
        raise CertificateError(
            f"{source}: a PEM certificate block cannot be parsed: {exc}", details={"source": source}
        ) from exc


def describe_certificate(cert: Any, *, now: datetime) -> CertificateInfo:
    """Summarise one ``cryptography`` certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

    key = cert.public_key()
    curve: str | None = None
    if isinstance(key, rsa.RSAPublicKey):
        key_type, size = "rsa", key.key_size
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key_type, size, curve = "ecdsa", key.key_size, _CURVES.get(key.curve.name, key.curve.name)
    elif isinstance(key, ed25519.Ed25519PublicKey):
        key_type, size = "ed25519", 256
    elif isinstance(key, ed448.Ed448PublicKey):
        key_type, size = "ed448", 456
    elif isinstance(key, dsa.DSAPublicKey):
        key_type, size = "dsa", key.key_size
    else:
        key_type, size = type(key).__name__, 0
    sans: list[str] = []
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        sans = [f"DNS:{n}" for n in ext.get_values_for_type(x509.DNSName)]
        sans += [f"IP:{ip}" for ip in ext.get_values_for_type(x509.IPAddress)]
        sans += [f"URI:{u}" for u in ext.get_values_for_type(x509.UniformResourceIdentifier)]
    except x509.ExtensionNotFound:
        pass
    try:
        is_ca = bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        is_ca = False
    not_before = cert.not_valid_before_utc
    not_after = cert.not_valid_after_utc
    oid = cert.signature_algorithm_oid.dotted_string
    try:
        hash_algorithm = cert.signature_hash_algorithm
    except Exception:  # an algorithm cryptography does not know (UnsupportedAlgorithm): named by its OID
        hash_algorithm = None
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        serial=format(cert.serial_number, "x"),
        key_type=key_type,
        key_size=size,
        curve=curve,
        signature_algorithm=_SIGNATURE_NAMES.get(oid, oid),
        signature_hash=None if hash_algorithm is None else hash_algorithm.name,
        sans=sans,
        is_ca=is_ca,
        not_before=not_before.isoformat(),
        not_after=not_after.isoformat(),
        days_to_expiry=round((not_after - now).total_seconds() / 86_400, 2),
        lifespan_days=round((not_after - not_before).total_seconds() / 86_400, 2),
    )


def inspect_certificates(
    data: bytes,
    *,
    profile: TlsProfile | str = TlsProfile.INTERMEDIATE,
    ca_data: bytes | None = None,
    now: datetime | None = None,
    warn_days: float = 30.0,
    source: str = "<input>",
) -> CertificateReport:
    """Inspect the PEM certificates in ``data`` (leaf first, then intermediates) against ``profile``.

    With ``ca_data`` (trusted roots, PEM) the chain leaf → intermediates → a root is checked by signature and
    name; without it only the links present in the file are checked.
    """
    moment = now or datetime.now(UTC)
    prof = get_profile(profile)
    certs = load_pem_certificates(data, source=source)
    roots = load_pem_certificates(ca_data, source="ca") if ca_data is not None else []
    infos = [describe_certificate(c, now=moment) for c in certs]
    report = CertificateReport(source, prof.name.value, prof.guideline_version, infos, None)
    report.findings.extend(_leaf_findings(infos[0], prof, warn_days, moment))
    for info in infos[1:]:
        if info.days_to_expiry < 0:
            report.findings.append(Finding("chain.expired", "error", f"chain certificate {info.subject} has expired"))
    for index, (cert, info) in enumerate(zip(certs, infos, strict=True)):
        weak = info.signature_hash in _WEAK_SIGNATURE_HASHES or info.signature_algorithm == "dsa-with-sha1"
        if weak and not (index > 0 and cert.issuer == cert.subject):  # a root's self-signature is not relied on
            what = "certificate" if index == 0 else f"chain certificate {info.subject}"
            report.findings.append(
                Finding(
                    "cert.weak_signature",
                    "error",
                    f"{what} is signed with {info.signature_algorithm}: {info.signature_hash or 'its hash'} is "
                    "broken for signatures; reissue it signed with SHA-256 or better",
                )
            )
    if len(certs) == 1 and not roots and certs[0].issuer == certs[0].subject:
        report.findings.append(
            Finding(
                "cert.self_signed",
                "error",
                "the certificate is self-signed and no --ca-file says who trusts it: clients will reject it; "
                "use a CA-issued certificate, or pass the CA that is meant to trust it with --ca-file",
            )
        )
    report.chain_verified = _check_chain(certs, roots, report.findings) if (roots or len(certs) > 1) else None
    return report


def inspect_certificate_file(
    path: str | Path, *, ca_file: str | Path | None = None, **kwargs: Any
) -> CertificateReport:
    """Read ``path`` (and ``ca_file``) and inspect; an unreadable file is a :class:`CertificateError`."""
    data = _read(path)
    ca = _read(ca_file) if ca_file is not None else None
    return inspect_certificates(data, ca_data=ca, source=str(path), **kwargs)


_MAX_PEM = 1 << 20  # a certificate bundle far larger than any real chain is refused, not read into memory


def _read(path: str | Path) -> bytes:
    """Read a PEM file: a regular file of at most 1 MiB (a FIFO would hang, ``/dev/zero`` would never end)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise CertificateError(
                    f"certificate file {str(path)!r} is not a regular file; give a PEM file",
                    details={"path": str(path)},
                )
            if st.st_size > _MAX_PEM:
                raise CertificateError(
                    f"certificate file {str(path)!r} is {st.st_size} bytes, more than a PEM chain can be "
                    f"({_MAX_PEM} at most)",
                    details={"path": str(path)},
                )
            with os.fdopen(fd, "rb", closefd=False) as fh:
                return fh.read(_MAX_PEM + 1)
        finally:
            os.close(fd)
    except OSError as exc:
        raise CertificateError(
            f"cannot read certificate file {str(path)!r}: {exc.strerror}", details={"path": str(path)}
        ) from exc


def _leaf_findings(leaf: CertificateInfo, prof: MozillaProfile, warn_days: float, now: datetime) -> list[Finding]:
    out: list[Finding] = []
    name = prof.name.value
    if leaf.days_to_expiry < 0:
        out.append(
            Finding(
                "cert.expired",
                "error",
                f"certificate expired {-leaf.days_to_expiry:.1f} days ago ({leaf.not_after}): renew it",
            )
        )
    elif leaf.days_to_expiry < warn_days:
        out.append(
            Finding(
                "cert.expiring",
                "warning",
                f"certificate expires in {leaf.days_to_expiry:.1f} days (< {warn_days:g}): renew it",
            )
        )
    if datetime.fromisoformat(leaf.not_before) > now:
        out.append(Finding("cert.not_yet_valid", "error", f"certificate is not valid before {leaf.not_before}"))
    if leaf.lifespan_days > prof.maximum_certificate_lifespan_days:
        out.append(
            Finding(
                "cert.lifespan",
                "error",
                f"lifespan {leaf.lifespan_days:.0f} days exceeds the {name} profile's maximum of "
                f"{prof.maximum_certificate_lifespan_days} days (Mozilla {prof.guideline_version})",
            )
        )
    if leaf.key_type not in prof.certificate_types:
        out.append(
            Finding(
                "cert.key_type",
                "error",
                f"{leaf.key_type} key not allowed by the {name} profile (allowed: {', '.join(prof.certificate_types)})",
            )
        )
    elif leaf.key_type == "rsa" and prof.rsa_key_size and leaf.key_size < prof.rsa_key_size:
        out.append(Finding("cert.key_size", "error", f"RSA key of {leaf.key_size} bits is below {prof.rsa_key_size}"))
    elif leaf.key_type == "ecdsa" and leaf.curve not in prof.certificate_curves:
        out.append(
            Finding(
                "cert.curve",
                "error",
                f"curve {leaf.curve} not allowed by the {name} profile (allowed: {', '.join(prof.certificate_curves)})",
            )
        )
    if not leaf.sans:
        out.append(Finding("cert.no_san", "error", "no subjectAltName: clients match host names against SAN only"))
    if leaf.is_ca:
        out.append(
            Finding(
                "cert.leaf_is_ca",
                "error",
                "the first certificate (the server's) has CA:TRUE: a CA certificate is not a server certificate; "
                "put the leaf first, or issue a leaf with CA:FALSE",
            )
        )
    return out


def _check_chain(certs: list[Any], roots: list[Any], findings: list[Finding]) -> bool:
    """Check each link by issuer name and signature, ending at a trusted root when roots are given."""
    ok = True
    for child, parent in itertools.pairwise(certs):
        if not _issued_by(child, parent):
            findings.append(
                Finding(
                    "chain.broken",
                    "error",
                    f"{child.subject.rfc4514_string()} is not issued by the next certificate in the file "
                    f"({parent.subject.rfc4514_string()}): fix the order or the bundle",
                )
            )
            ok = False
    if roots:
        last = certs[-1]
        if not any(last == root or _issued_by(last, root) for root in roots):
            findings.append(
                Finding(
                    "chain.untrusted",
                    "error",
                    f"chain does not end at a trusted CA: {last.issuer.rfc4514_string()} not among the given roots",
                )
            )
            ok = False
    return ok


def _issued_by(child: Any, parent: Any) -> bool:
    try:
        child.verify_directly_issued_by(parent)
    except Exception:  # any failure (name, signature, key type) means "not issued by"
        return False
    return True
