"""Certificate inspection, context audit, settings for Kafka/PostgreSQL/hvac, and the `tls` CLI."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra_models.security import TlsConfig
from infra_security.cli._app import app
from infra_security.errors import CertificateError, TlsPolicyError
from infra_security.tls._audit import audit_context
from infra_security.tls._context import build_client_context, build_server_context
from infra_security.tls._inspect import inspect_certificate_file, inspect_certificates
from infra_security.tls._settings import hvac_tls_kwargs, kafka_ssl_config, postgres_ssl_params

try:
    import trustme
except ImportError:  # the `alone` environment: tests needing certificates skip
    trustme = None

NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return pytest.importorskip("trustme").CA()


def pem(leaf: trustme.LeafCert) -> bytes:
    return b"".join(b.bytes() for b in leaf.cert_chain_pems)


def short_lived(ca: trustme.CA, days: int = 60, **kw: object) -> trustme.LeafCert:
    return ca.issue_cert("svc.example", not_before=NOW - timedelta(days=1), not_after=NOW + timedelta(days=days), **kw)


class TestInspect:
    def test_clean_modern_certificate(self, ca: trustme.CA) -> None:
        report = inspect_certificates(pem(short_lived(ca)), profile="modern", ca_data=ca.cert_pem.bytes())
        leaf = report.certificates[0]
        assert (leaf.key_type, leaf.key_size, leaf.curve) == ("ecdsa", 256, "prime256v1")
        assert leaf.sans == ["DNS:svc.example"]
        assert 59 <= leaf.days_to_expiry <= 60
        assert report.chain_verified is True
        assert report.ok, report.findings

    def test_lifespan_over_profile_maximum(self, ca: trustme.CA) -> None:
        report = inspect_certificates(pem(short_lived(ca, days=200)), profile="modern")
        assert [f.code for f in report.findings] == ["cert.lifespan"]
        assert "maximum of 90 days" in report.findings[0].message
        assert inspect_certificates(pem(short_lived(ca, days=200)), profile="intermediate").ok

    def test_rsa_key_not_allowed_by_modern(self, ca: trustme.CA) -> None:
        leaf = short_lived(ca, key_type=trustme.KeyType.RSA)
        report = inspect_certificates(pem(leaf), profile="modern")
        assert report.certificates[0].key_type == "rsa"
        assert [f.code for f in report.findings] == ["cert.key_type"]
        assert inspect_certificates(pem(leaf), profile="intermediate").ok

    def test_expiry_and_not_yet_valid(self, ca: trustme.CA) -> None:
        expired = ca.issue_cert("a.example", not_before=NOW - timedelta(days=30), not_after=NOW - timedelta(days=2))
        assert "cert.expired" in [f.code for f in inspect_certificates(pem(expired)).findings]
        future = ca.issue_cert("a.example", not_before=NOW + timedelta(days=2), not_after=NOW + timedelta(days=30))
        assert "cert.not_yet_valid" in [f.code for f in inspect_certificates(pem(future)).findings]
        soon = short_lived(ca, days=10)
        assert [f.severity for f in inspect_certificates(pem(soon)).findings] == ["warning"]

    def test_injected_time(self, ca: trustme.CA) -> None:
        report = inspect_certificates(pem(short_lived(ca)), now=NOW + timedelta(days=100))
        assert "cert.expired" in [f.code for f in report.findings]

    def test_chain_through_intermediate_and_untrusted_root(self, ca: trustme.CA) -> None:
        child = ca.create_child_ca()
        leaf = child.issue_cert("b.example", not_before=NOW - timedelta(days=1), not_after=NOW + timedelta(days=30))
        report = inspect_certificates(pem(leaf), ca_data=ca.cert_pem.bytes())
        assert len(report.certificates) == 2 and report.certificates[1].is_ca
        assert report.chain_verified is True
        other = inspect_certificates(pem(leaf), ca_data=trustme.CA().cert_pem.bytes())
        assert other.chain_verified is False
        assert "chain.untrusted" in [f.code for f in other.findings]

    def test_non_pem_is_a_clear_error(self, tmp_path: Path) -> None:
        bad = tmp_path / "cert.der"
        bad.write_bytes(b"\x30\x82\x01\x0a garbage")
        with pytest.raises(CertificateError, match="holds no PEM certificate"):
            inspect_certificate_file(bad)
        with pytest.raises(CertificateError, match="cannot read"):
            inspect_certificate_file(tmp_path / "missing.pem")


class TestAudit:
    def test_built_contexts_are_clean(self) -> None:
        assert audit_context(build_client_context(TlsConfig())) == []
        assert audit_context(build_client_context(TlsConfig(profile="modern")), "modern") == []

    def test_default_python_context_against_profiles(self) -> None:
        codes = {f.code for f in audit_context(ssl.create_default_context(), "modern")}
        assert "protocol.floor" in codes

    @pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1 is deprecated:DeprecationWarning")
    def test_loose_context(self) -> None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.set_ciphers("ALL")
        codes = {f.code for f in audit_context(ctx)}
        assert {"protocol.floor", "ciphers.extra", "verify.off", "hostname.off"} <= codes


class TestSettings:
    def test_postgres(self) -> None:
        cfg = TlsConfig(ca_file="/ca.pem", cert_file="/c.pem", key_file="/k.pem")
        assert postgres_ssl_params(cfg) == {
            "sslmode": "verify-full",
            "sslrootcert": "/ca.pem",
            "sslcert": "/c.pem",
            "sslkey": "/k.pem",
            "ssl_min_protocol_version": "TLSv1.2",
        }
        # A client certificate does not turn hostname verification on or off: only check_hostname does.
        assert postgres_ssl_params(TlsConfig(ca_file="/ca.pem", check_hostname=False))["sslmode"] == "verify-ca"

    def test_kafka(self) -> None:
        cfg = kafka_ssl_config(TlsConfig(ca_file="/ca.pem"), sasl=True)
        assert cfg["security.protocol"] == "SASL_SSL"
        assert cfg["ssl.ca.location"] == "/ca.pem"
        assert cfg["ssl.endpoint.identification.algorithm"] == "https"
        assert cfg["enable.ssl.certificate.verification"] == "true"
        assert cfg["ssl.cipher.suites"].startswith("ECDHE-ECDSA-AES128-GCM-SHA256:")

    def test_hvac(self) -> None:
        assert hvac_tls_kwargs(TlsConfig(ca_file="/ca.pem", cert_file="/c", key_file="/k")) == {
            "verify": "/ca.pem",
            "cert": ("/c", "/k"),
        }

    @pytest.mark.parametrize("fn", [postgres_ssl_params, kafka_ssl_config, hvac_tls_kwargs])
    def test_production_never_silently_unverified(self, fn: object) -> None:
        with pytest.raises(TlsPolicyError, match="production"):
            fn(TlsConfig(verify=False, check_hostname=False), environment="production")  # type: ignore[operator]


@pytest.fixture
def tls_server(tmp_path: Path, ca: trustme.CA) -> Iterator[tuple[int, str]]:
    leaf = ca.issue_cert("localhost", not_before=NOW - timedelta(days=1), not_after=NOW + timedelta(days=60))
    cert, key, ca_file = tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "ca.pem"
    cert.write_bytes(pem(leaf))
    key.write_bytes(leaf.private_key_pem.bytes())
    ca.cert_pem.write_to_path(str(ca_file))
    ctx = build_server_context(TlsConfig(cert_file=str(cert), key_file=str(key)))
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            try:
                with ctx.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], str(ca_file)
    stop.set()
    thread.join(5)
    listener.close()


class TestCli:
    def test_inspect_ok_and_json(self, tmp_path: Path, ca: trustme.CA) -> None:
        path = tmp_path / "leaf.pem"
        path.write_bytes(pem(short_lived(ca)))
        result = CliRunner().invoke(app, ["tls", "inspect", str(path), "--profile", "modern", "--format", "json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        assert data["guideline_version"] == "5.7"
        assert data["certificates"][0]["key_type"] == "ecdsa"

    def test_inspect_findings_exit_1(self, tmp_path: Path, ca: trustme.CA) -> None:
        path = tmp_path / "leaf.pem"
        path.write_bytes(pem(ca.issue_cert("x.example")))  # trustme default: ~1000 years
        result = CliRunner().invoke(app, ["tls", "inspect", str(path)])
        assert result.exit_code == 1
        assert "cert.lifespan" in result.output

    def test_inspect_bad_input_exit_2(self, tmp_path: Path) -> None:
        path = tmp_path / "not.pem"
        path.write_text("hello")
        result = CliRunner().invoke(app, ["tls", "inspect", str(path)])
        assert result.exit_code == 2
        assert "no PEM certificate" in result.output
        assert "Traceback" not in result.output

    def test_check_loopback(self, tls_server: tuple[int, str]) -> None:
        port, ca_file = tls_server
        target = f"127.0.0.1:{port}"
        args = ["tls", "check", target, "--ca-file", ca_file, "--server-name", "localhost", "--format", "json"]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        assert data["protocol"] == "TLSv1.3" and data["handshake_ok"]

    def test_check_wrong_name_is_a_finding(self, tls_server: tuple[int, str]) -> None:
        port, ca_file = tls_server
        args = ["tls", "check", f"127.0.0.1:{port}", "--ca-file", ca_file, "--server-name", "wrong.example"]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 1
        assert "Hostname mismatch" in result.output

    @pytest.mark.parametrize("target", ["localhost", "localhost:99999", ":443"])
    def test_check_bad_target_exit_2(self, target: str) -> None:
        result = CliRunner().invoke(app, ["tls", "check", target])
        assert result.exit_code == 2
        assert "HOST:PORT" in result.output
