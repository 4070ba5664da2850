"""Mozilla Server Side TLS profiles, pinned to guideline version 5.7 (ssl-config-generator ``guidelines/5.7.json``).

Pinned as data rather than fetched: a policy must not change under a running service. 5.7 is the last guideline
whose intermediate profile keeps the DHE-RSA suites (5.8 drops them and adds X25519MLKEM768, which needs
OpenSSL 3.5); moving to a newer guideline is a reviewed change of this file.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from infra_models.security import TlsProfile, TlsVersion

__all__ = ["GUIDELINE_VERSION", "MozillaProfile", "PROFILES", "get_profile", "ssl_version"]

#: Version of the Mozilla guideline the profiles below reproduce.
GUIDELINE_VERSION = "5.7"

_TLS13_SUITES = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")


@dataclass(frozen=True)
class MozillaProfile:
    """One configuration of the guideline: protocols, ciphers, groups and certificate rules."""

    name: TlsProfile
    tls_versions: tuple[TlsVersion, ...]
    ciphers: tuple[str, ...]
    """TLS 1.2 cipher names in OpenSSL spelling (empty: TLS 1.3 only)."""
    ciphersuites: tuple[str, ...]
    """TLS 1.3 suites."""
    groups: tuple[str, ...]
    certificate_types: tuple[str, ...]
    certificate_curves: tuple[str, ...]
    rsa_key_size: int | None
    dh_param_size: int | None
    maximum_certificate_lifespan_days: int
    recommended_certificate_lifespan_days: int
    ocsp_staple: bool
    server_preferred_order: bool
    hsts_min_age: int
    guideline_version: str = GUIDELINE_VERSION

    @property
    def min_version(self) -> TlsVersion:
        """The lowest protocol the profile allows."""
        return self.tls_versions[0]

    @property
    def cipher_string(self) -> str:
        """The TLS 1.2 ciphers as an OpenSSL cipher string (``""`` for TLS 1.3-only profiles)."""
        return ":".join(self.ciphers)


PROFILES: dict[TlsProfile, MozillaProfile] = {
    TlsProfile.MODERN: MozillaProfile(
        name=TlsProfile.MODERN,
        tls_versions=(TlsVersion.TLSv1_3,),
        ciphers=(),
        ciphersuites=_TLS13_SUITES,
        groups=("X25519", "prime256v1", "secp384r1"),
        certificate_types=("ecdsa",),
        certificate_curves=("prime256v1", "secp384r1"),
        rsa_key_size=None,
        dh_param_size=None,
        maximum_certificate_lifespan_days=90,
        recommended_certificate_lifespan_days=90,
        ocsp_staple=True,
        server_preferred_order=False,
        hsts_min_age=63_072_000,
    ),
    TlsProfile.INTERMEDIATE: MozillaProfile(
        name=TlsProfile.INTERMEDIATE,
        tls_versions=(TlsVersion.TLSv1_2, TlsVersion.TLSv1_3),
        ciphers=(
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            "ECDHE-RSA-AES128-GCM-SHA256",
            "ECDHE-ECDSA-AES256-GCM-SHA384",
            "ECDHE-RSA-AES256-GCM-SHA384",
            "ECDHE-ECDSA-CHACHA20-POLY1305",
            "ECDHE-RSA-CHACHA20-POLY1305",
            "DHE-RSA-AES128-GCM-SHA256",
            "DHE-RSA-AES256-GCM-SHA384",
            "DHE-RSA-CHACHA20-POLY1305",
        ),
        ciphersuites=_TLS13_SUITES,
        groups=("X25519", "prime256v1", "secp384r1"),
        certificate_types=("ecdsa", "rsa"),
        certificate_curves=("prime256v1", "secp384r1"),
        rsa_key_size=2048,
        dh_param_size=2048,
        maximum_certificate_lifespan_days=366,
        recommended_certificate_lifespan_days=90,
        ocsp_staple=True,
        server_preferred_order=False,
        hsts_min_age=63_072_000,
    ),
}


def get_profile(name: TlsProfile | str) -> MozillaProfile:
    """Return the pinned profile named ``modern`` or ``intermediate``."""
    from infra_security.errors import TlsConfigError

    try:
        return PROFILES[TlsProfile(name)]
    except ValueError as exc:
        raise TlsConfigError(
            f"unknown TLS profile {name!r}: use one of {', '.join(p.value for p in TlsProfile)}"
        ) from exc


def ssl_version(version: TlsVersion | str) -> ssl.TLSVersion:
    """Map ``TLSv1.2``/``TLSv1.3`` to :class:`ssl.TLSVersion`."""
    return {TlsVersion.TLSv1_2: ssl.TLSVersion.TLSv1_2, TlsVersion.TLSv1_3: ssl.TLSVersion.TLSv1_3}[TlsVersion(version)]
