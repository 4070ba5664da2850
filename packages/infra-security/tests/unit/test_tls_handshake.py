"""Loopback handshakes with trustme certificates for each profile: floor, expiry, hostname, mutual TLS."""

from __future__ import annotations

import socket
import ssl
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from infra_models.security import TlsConfig
from infra_security.errors import TlsConfigError, TlsPolicyError
from infra_security.tls._context import build_client_context, build_server_context, unsupported_settings
from infra_security.tls._profiles import get_profile

try:
    import trustme
except ImportError:  # the `alone` environment: tests needing certificates skip
    trustme = None

NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return pytest.importorskip("trustme").CA()


def write_leaf(tmp: Path, ca: trustme.CA, *names: str, **kwargs: object) -> tuple[str, str, str]:
    leaf = ca.issue_cert(*(names or ("localhost", "127.0.0.1")), **kwargs)
    cert, key, ca_path = tmp / "cert.pem", tmp / "key.pem", tmp / "ca.pem"
    cert.write_bytes(b"".join(b.bytes() for b in leaf.cert_chain_pems))
    key.write_bytes(leaf.private_key_pem.bytes())
    ca.cert_pem.write_to_path(str(ca_path))
    return str(cert), str(key), str(ca_path)


def handshake(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, name: str = "localhost") -> tuple[str, str]:
    """Handshake over loopback; returns (version, cipher) or raises the client's SSL error."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(b"ok")
                tls.recv(1)
        except (ssl.SSLError, OSError):
            pass
        finally:
            listener.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            client_ctx.wrap_socket(raw, server_hostname=name) as tls,
        ):
            if tls.recv(2) != b"ok":  # with TLS 1.3 a refused client cert shows up on the first read
                raise ssl.SSLError("server closed the connection")
            cipher = tls.cipher()
            return str(tls.version()), cipher[0] if cipher else ""
    finally:
        thread.join(5)


class TestProfiles:
    @pytest.mark.parametrize("profile", ["modern", "intermediate"])
    def test_handshake_per_profile(self, tmp_path: Path, ca: trustme.CA, profile: str) -> None:
        cert, key, ca_file = write_leaf(tmp_path, ca)
        server = build_server_context(TlsConfig(profile=profile, cert_file=cert, key_file=key))
        client = build_client_context(TlsConfig(profile=profile, ca_file=ca_file))
        version, cipher = handshake(server, client)
        assert version == "TLSv1.3"
        assert cipher in get_profile(profile).ciphersuites

    def test_intermediate_speaks_tls12_with_profile_cipher(self, tmp_path: Path, ca: trustme.CA) -> None:
        cert, key, ca_file = write_leaf(tmp_path, ca)
        server = build_server_context(TlsConfig(cert_file=cert, key_file=key))
        client = build_client_context(TlsConfig(ca_file=ca_file))
        client.maximum_version = ssl.TLSVersion.TLSv1_2
        version, cipher = handshake(server, client)
        assert version == "TLSv1.2"
        assert cipher == "ECDHE-ECDSA-AES128-GCM-SHA256"

    def test_modern_refuses_tls12_client(self, tmp_path: Path, ca: trustme.CA) -> None:
        cert, key, ca_file = write_leaf(tmp_path, ca)
        server = build_server_context(TlsConfig(profile="modern", cert_file=cert, key_file=key))
        client = build_client_context(TlsConfig(ca_file=ca_file))
        client.maximum_version = ssl.TLSVersion.TLSv1_2
        with pytest.raises(ssl.SSLError, match=r"PROTOCOL_VERSION|protocol version"):
            handshake(server, client)

    def test_context_matches_pinned_profile(self) -> None:
        ctx = build_client_context(TlsConfig())
        tls12 = {c["name"] for c in ctx.get_ciphers() if c["protocol"] == "TLSv1.2"}
        assert tls12 == set(get_profile("intermediate").ciphers)
        assert ctx.minimum_version is ssl.TLSVersion.TLSv1_2
        assert ctx.options & ssl.OP_NO_COMPRESSION
        assert build_client_context(TlsConfig(profile="modern")).minimum_version is ssl.TLSVersion.TLSv1_3

    def test_degradations_are_reported(self) -> None:
        settings = {u.setting for u in unsupported_settings(get_profile("intermediate"), server=True)}
        probe = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        assert ("ciphersuites" in settings) == (not hasattr(probe, "set_ciphersuites"))
        assert ("groups" in settings) == (not hasattr(probe, "set_groups"))
        assert "ocsp_staple" in settings

    def test_floor_below_profile_is_refused(self) -> None:
        with pytest.raises(TlsConfigError, match="outside the modern profile"):
            build_client_context(TlsConfig(profile="modern", min_version="TLSv1.2"))


class TestVerification:
    def test_expired_certificate(self, tmp_path: Path, ca: trustme.CA) -> None:
        cert, key, ca_file = write_leaf(
            tmp_path, ca, not_before=NOW - timedelta(days=60), not_after=NOW - timedelta(days=1)
        )
        server = build_server_context(TlsConfig(cert_file=cert, key_file=key))
        with pytest.raises(ssl.SSLCertVerificationError, match="expired"):
            handshake(server, build_client_context(TlsConfig(ca_file=ca_file)))

    def test_not_yet_valid_certificate(self, tmp_path: Path, ca: trustme.CA) -> None:
        cert, key, ca_file = write_leaf(
            tmp_path, ca, not_before=NOW + timedelta(days=1), not_after=NOW + timedelta(days=30)
        )
        server = build_server_context(TlsConfig(cert_file=cert, key_file=key))
        with pytest.raises(ssl.SSLCertVerificationError, match="not yet valid"):
            handshake(server, build_client_context(TlsConfig(ca_file=ca_file)))

    def test_hostname_mismatch(self, tmp_path: Path, ca: trustme.CA) -> None:
        cert, key, ca_file = write_leaf(tmp_path, ca, "other.example")
        server = build_server_context(TlsConfig(cert_file=cert, key_file=key))
        with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
            handshake(server, build_client_context(TlsConfig(ca_file=ca_file)))

    def test_unknown_ca(self, tmp_path: Path, ca: trustme.CA) -> None:
        cert, key, _ = write_leaf(tmp_path, ca)
        other = tmp_path / "other-ca.pem"
        trustme.CA().cert_pem.write_to_path(str(other))
        server = build_server_context(TlsConfig(cert_file=cert, key_file=key))
        with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
            handshake(server, build_client_context(TlsConfig(ca_file=str(other))))

    def test_chain_through_intermediate(self, tmp_path: Path, ca: trustme.CA) -> None:
        cert, key, ca_file = write_leaf(tmp_path, ca.create_child_ca())
        ca.cert_pem.write_to_path(ca_file)
        server = build_server_context(TlsConfig(cert_file=cert, key_file=key))
        assert handshake(server, build_client_context(TlsConfig(ca_file=ca_file)))[0] == "TLSv1.3"


class TestMutualTls:
    def test_client_certificate_required_and_given(self, tmp_path: Path, ca: trustme.CA) -> None:
        cert, key, ca_file = write_leaf(tmp_path, ca)
        client_leaf = ca.issue_cert("client@example")
        client_cert, client_key = tmp_path / "client.pem", tmp_path / "client.key"
        client_leaf.cert_chain_pems[0].write_to_path(str(client_cert))
        client_leaf.private_key_pem.write_to_path(str(client_key))
        server = build_server_context(
            TlsConfig(cert_file=cert, key_file=key, ca_file=ca_file, require_client_cert=True)
        )
        client = build_client_context(TlsConfig(ca_file=ca_file, cert_file=str(client_cert), key_file=str(client_key)))
        assert handshake(server, client)[0] == "TLSv1.3"

    def test_client_certificate_required_and_missing(self, tmp_path: Path, ca: trustme.CA) -> None:
        cert, key, ca_file = write_leaf(tmp_path, ca)
        server = build_server_context(
            TlsConfig(cert_file=cert, key_file=key, ca_file=ca_file, require_client_cert=True)
        )
        with pytest.raises((ssl.SSLError, ConnectionError), match=r"CERTIFICATE_REQUIRED|certificate required|closed"):
            handshake(server, build_client_context(TlsConfig(ca_file=ca_file)))

    def test_mtls_needs_ca(self, tmp_path: Path, ca: trustme.CA) -> None:
        cert, key, _ = write_leaf(tmp_path, ca)
        with pytest.raises(TlsConfigError, match="needs ca_file"):
            build_server_context(TlsConfig(cert_file=cert, key_file=key, require_client_cert=True))


class TestPolicy:
    def test_production_refuses_verification_off(self) -> None:
        with pytest.raises(TlsPolicyError, match="verify=false is not allowed in production"):
            build_client_context(TlsConfig(verify=False, check_hostname=False), environment="production")

    def test_development_allows_it_loudly(self, caplog: pytest.LogCaptureFixture) -> None:
        ctx = build_client_context(TlsConfig(verify=False, check_hostname=False), environment="development")
        assert ctx.verify_mode == ssl.CERT_NONE
        assert "verification is OFF" in caplog.text

    def test_production_default_is_fine(self) -> None:
        assert build_client_context(TlsConfig(), environment="production").verify_mode == ssl.CERT_REQUIRED

    def test_missing_files_are_clear(self) -> None:
        with pytest.raises(TlsConfigError, match=r"ca_file='/nonexistent/ca\.pem'"):
            build_client_context(TlsConfig(ca_file="/nonexistent/ca.pem"))
