"""Issue 14 defect 5: `tls inspect` checks the signature algorithm and CA use; weak cipher overrides are refused."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from infra_models.security import TlsConfig
from infra_models.testing import in_ci
from infra_security.errors import TlsPolicyError
from infra_security.tls import build_client_context, enforce_tls_policy, inspect_certificates

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(
    subject: str,
    key: Any,
    *,
    issuer: str | None = None,
    issuer_key: Any = None,
    ca: bool = False,
    san: bool = True,
    algorithm: Any = None,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer or subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=10))
        .not_valid_after(NOW + dt.timedelta(days=80))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False)
    return builder.sign(issuer_key or key, algorithm if algorithm is not None else hashes.SHA256())


def _sha1(subject: str, key: Any, *, issuer: x509.Certificate | None = None, issuer_key: Any = None, ca: bool = False,
          tmp: Path) -> x509.Certificate:  # fmt: skip
    """A certificate signed with SHA-1 by the openssl command (cryptography refuses to sign with SHA-1)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        if in_ci():
            pytest.fail("openssl not found", pytrace=False)
        pytest.skip("openssl not found")
    pem = serialization.Encoding.PEM
    raw = serialization.PrivateFormat.PKCS8
    (tmp / "key.pem").write_bytes(key.private_bytes(pem, raw, serialization.NoEncryption()))
    ext = f"basicConstraints=critical,CA:{'TRUE' if ca else 'FALSE'}\n"
    if not ca:
        ext += f"subjectAltName=DNS:{subject}\n"
    (tmp / "ext.cnf").write_text(ext)
    if issuer is None:
        cmd = [openssl, "req", "-x509", "-key", "key.pem", "-sha1", "-subj", f"/CN={subject}", "-days", "80",
               "-extensions", "v3", "-config", "req.cnf", "-out", "out.pem"]  # fmt: skip
        (tmp / "req.cnf").write_text("[req]\ndistinguished_name=dn\n[dn]\n[v3]\n" + ext)
    else:
        csr = x509.CertificateSigningRequestBuilder().subject_name(_name(subject)).sign(key, hashes.SHA256())
        (tmp / "csr.pem").write_bytes(csr.public_bytes(pem))
        (tmp / "ca.pem").write_bytes(issuer.public_bytes(pem))
        (tmp / "ca.key").write_bytes(issuer_key.private_bytes(pem, raw, serialization.NoEncryption()))
        cmd = [openssl, "x509", "-req", "-in", "csr.pem", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
               "-sha1", "-days", "80", "-extfile", "ext.cnf", "-out", "out.pem"]  # fmt: skip
    subprocess.run(cmd, cwd=tmp, check=True, capture_output=True)
    return x509.load_pem_x509_certificate((tmp / "out.pem").read_bytes())


def _pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


@pytest.fixture(scope="module")
def ca() -> tuple[x509.Certificate, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    return _cert("Test Root", key, ca=True, san=False), key


def _codes(data: bytes, ca_data: bytes | None = None) -> set[str]:
    return {f.code for f in inspect_certificates(data, ca_data=ca_data, now=NOW).findings}


def test_clean_chain_has_no_finding(ca: tuple[x509.Certificate, Any]) -> None:
    root, root_key = ca
    leaf = _cert("svc.example", ec.generate_private_key(ec.SECP256R1()), issuer="Test Root", issuer_key=root_key)
    assert _codes(_pem(leaf), _pem(root)) == set()


def test_sha1_signed_leaf_is_flagged(tmp_path: Path) -> None:
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = _cert("RSA Root", root_key, ca=True, san=False)
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = _sha1("svc.example", leaf_key, issuer=root, issuer_key=root_key, tmp=tmp_path)
    report = inspect_certificates(_pem(leaf), ca_data=_pem(root), now=leaf.not_valid_before_utc)
    assert report.certificates[0].signature_algorithm == "sha1WithRSAEncryption"
    assert report.certificates[0].signature_hash == "sha1"
    assert "cert.weak_signature" in {f.code for f in report.findings}
    assert not report.ok


def test_sha1_intermediate_is_flagged_but_a_root_self_signature_is_not(tmp_path: Path) -> None:
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = _sha1("Old Root", root_key, ca=True, tmp=tmp_path)  # a root self-signed with SHA-1, as many are
    mid_key = ec.generate_private_key(ec.SECP256R1())
    mid = _cert("Mid", mid_key, issuer="Old Root", issuer_key=root_key, ca=True, san=False)
    leaf = _cert("svc.example", ec.generate_private_key(ec.SECP256R1()), issuer="Mid", issuer_key=mid_key)
    now = root.not_valid_before_utc + dt.timedelta(days=1)
    good = inspect_certificates(_pem(leaf, mid, root), ca_data=_pem(root), now=now)
    assert "cert.weak_signature" not in {f.code for f in good.findings}
    bad_mid = _sha1("Mid", mid_key, issuer=root, issuer_key=root_key, ca=True, tmp=tmp_path)
    leaf2 = _cert("svc.example", ec.generate_private_key(ec.SECP256R1()), issuer="Mid", issuer_key=mid_key)
    bad = inspect_certificates(_pem(leaf2, bad_mid), ca_data=_pem(root), now=now)
    assert "cert.weak_signature" in {f.code for f in bad.findings}


def test_self_signed_leaf_without_ca_file_is_flagged() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = _cert("svc.example", key)
    assert "cert.self_signed" in _codes(_pem(leaf))
    assert "cert.self_signed" not in _codes(_pem(leaf), _pem(leaf))  # explicitly trusted: the chain check applies


def test_ca_true_leaf_without_san_is_flagged(ca: tuple[x509.Certificate, Any]) -> None:
    root, root_key = ca
    leaf = _cert("svc.example", ec.generate_private_key(ec.SECP256R1()), issuer="Test Root", issuer_key=root_key,
                 ca=True, san=False)  # fmt: skip
    codes = _codes(_pem(leaf), _pem(root))
    assert {"cert.no_san", "cert.leaf_is_ca"} <= codes


def test_cli_inspect_exits_1_on_a_sha1_certificate(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from infra_security.cli import app

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "sha1.pem"
    path.write_bytes(_pem(_sha1("svc.example", key, tmp=tmp_path)))
    result = CliRunner().invoke(app, ["tls", "inspect", str(path), "--format", "json"])
    assert result.exit_code == 1
    assert "cert.weak_signature" in result.output and "cert.self_signed" in result.output


@pytest.mark.parametrize(
    "weak", ["AES128-SHA", "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256", "ALL", "RC4-SHA:ALL"]
)
def test_weak_cipher_override_refused_in_production(weak: str) -> None:
    with pytest.raises(TlsPolicyError, match="outside the Mozilla intermediate profile"):
        enforce_tls_policy(TlsConfig(ciphers=weak), "production")
    with pytest.raises(TlsPolicyError):
        build_client_context(TlsConfig(ciphers=weak), environment="production")


def test_profile_cipher_override_accepted_in_production_and_weak_allowed_in_development() -> None:
    assert enforce_tls_policy(TlsConfig(ciphers="ECDHE-ECDSA-AES128-GCM-SHA256"), "production") == []
    enforce_tls_policy(TlsConfig(ciphers="AES128-SHA"), "development")  # not strict: allowed
