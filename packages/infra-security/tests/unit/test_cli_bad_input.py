"""No input makes ``infra-security`` print a traceback (issue 14 defect 9).

Every row is a malformed invocation run through the real entry point (``main()``, what the console script calls):
it must exit 2 and print exactly one ``error:`` line on stderr, naming what is wrong. The rows include every
invocation the fault audit listed.
"""

from __future__ import annotations

import os
import re
import sys

import pytest

from infra_security.cli import main

ROWS: list[tuple[str, list[str], str]] = [
    # (id, argv, a fragment the error line must contain)
    ("period-inf", ["ratelimit", "try", "--limit", "5", "--period", "inf"], "--period"),
    ("period-nan", ["ratelimit", "try", "--limit", "5", "--period", "nan"], "--period"),
    ("period-negative", ["ratelimit", "try", "--limit", "5", "--period", "-1"], "--period"),
    ("interval-inf", ["ratelimit", "try", "--limit", "5", "--period", "1", "--interval", "inf"], "--interval"),
    ("interval-nan", ["ratelimit", "try", "--limit", "5", "--period", "1", "--interval", "nan"], "--interval"),
    ("limit-zero", ["ratelimit", "try", "--limit", "0", "--period", "1"], "limit"),
    ("limit-text", ["ratelimit", "try", "--limit", "many", "--period", "1"], "--limit"),
    ("weight-zero", ["ratelimit", "try", "--limit", "5", "--period", "1", "--weight", "0"], "weight"),
    ("weight-huge", ["ratelimit", "try", "--limit", "5", "--period", "1", "--weight", "99"], "weight"),
    ("weight-fraction", ["ratelimit", "try", "--limit", "5", "--period", "1", "--weight", "0.5"], "--weight"),
    ("ipv6-bracket", ["credentials", "check", "--vault-url", "http://[::1"], "Vault URL"),
    ("ipv6-bracket-get", ["credentials", "get", "api_key", "svc", "--vault-url", "http://[::1"], "Vault URL"),
    ("vault-scheme", ["credentials", "check", "--vault-url", "ftp://vault"], "Vault URL"),
    ("vault-port", ["credentials", "check", "--vault-url", "http://vault:99999"], "port"),
    ("tls-timeout-negative", ["tls", "check", "127.0.0.1:1", "--timeout", "-1"], "--timeout"),
    ("tls-timeout-nan", ["tls", "check", "127.0.0.1:1", "--timeout", "nan"], "--timeout"),
    ("tls-timeout-inf", ["tls", "check", "127.0.0.1:1", "--timeout", "inf"], "--timeout"),
    ("tls-no-port", ["tls", "check", "localhost"], "HOST:PORT"),
    ("tls-bad-port", ["tls", "check", "127.0.0.1:99999"], "HOST:PORT"),
    ("tls-inspect-dev-zero", ["tls", "inspect", "/dev/zero"], "not a regular file"),
    ("tls-inspect-fifo", ["tls", "inspect", "{fifo}"], "not a regular file"),
    ("tls-inspect-directory", ["tls", "inspect", "{tmp}"], "not a regular file"),
    ("tls-inspect-missing", ["tls", "inspect", "{tmp}/missing.pem"], "cannot read"),
    ("tls-inspect-huge", ["tls", "inspect", "{huge}"], "bytes"),
    ("tls-inspect-not-pem", ["tls", "inspect", "{binary}"], "PEM"),
    ("tls-inspect-ca-dev-zero", ["tls", "inspect", "{binary}", "--ca-file", "/dev/zero"], "not a regular file"),
    ("audit-hash-huge-int", ["audit", "hash", "9" * 5000, "--json"], "VALUE"),
    ("audit-hash-int-over-64-bit", ["audit", "hash", str(2**70), "--json"], "VALUE"),
    ("audit-hash-deep", ["audit", "hash", "[" * 100_000 + "]" * 100_000, "--json"], "VALUE"),
    ("audit-hash-nan", ["audit", "hash", "NaN", "--json"], "VALUE"),
    ("audit-hash-not-json", ["audit", "hash", "{", "--json"], "VALUE"),
    ("audit-verify-missing", ["audit", "verify", "{tmp}/none.jsonl"], "not found"),
    ("audit-verify-directory", ["audit", "verify", "{tmp}"], "{tmp}"),
    ("audit-report-naive", ["audit", "report", "{naive}", "--since", "2026-01-01"], "time zone"),
    ("audit-report-bad-since", ["audit", "report", "{naive}", "--since", "yesterday"], "--since"),
    ("audit-report-binary", ["audit", "report", "{binary}"], "not an audit record"),
    (
        "audit-log-bad-type",
        [
            "audit",
            "log",
            "--type",
            "bogus",
            "--user-id",
            "a",
            "--action",
            "b",
            "--outcome",
            "success",
            "--directory",
            "{tmp}/log",
        ],
        "event_type",
    ),
    (
        "audit-log-dir-is-file",
        [
            "audit",
            "log",
            "--type",
            "authentication",
            "--user-id",
            "a",
            "--action",
            "b",
            "--outcome",
            "success",
            "--directory",
            "{binary}",
        ],
        "",
    ),
    ("audit-keygen-no-dir", ["audit", "keygen", "--output", "/no/such/dir/keys.json"], "cannot"),
    ("keys-rewrap-no-dir", ["keys", "rewrap", "-k", "{keyset}", "-i", "{cipher}", "-o", "/no/dir/x"], "/no/dir/x"),
    ("keys-rewrap-non-utf8", ["keys", "rewrap", "-k", "{keyset}", "-i", "{binary}"], "UTF-8"),
    ("keys-generate-no-dir", ["keys", "generate", "--name", "k", "--output", "/no/such/dir/k.json"], "/no/such/dir"),
    ("keys-generate-exists", ["keys", "generate", "--name", "k", "--output", "{keyset}"], "exists"),
    ("keys-list-missing", ["keys", "list", "-k", "{tmp}/missing.json"], "missing.json"),
    ("keys-list-not-json", ["keys", "list", "-k", "{private_binary}"], "keyset"),
    ("keys-disable-unknown", ["keys", "disable", "99", "-k", "{keyset}"], "99"),
    ("keys-disable-text", ["keys", "disable", "one", "-k", "{keyset}"], "key_id"),
    ("payload-encrypt-non-utf8", ["payload", "encrypt", "-k", "{keyset}", "-i", "{binary}"], "UTF-8"),
    ("payload-encrypt-not-json", ["payload", "encrypt", "-k", "{keyset}", "-i", "{text}"], "JSON"),
    ("payload-decrypt-garbage", ["payload", "decrypt", "-k", "{keyset}", "-i", "{text}"], "ciphertext"),
    ("payload-decrypt-non-utf8", ["payload", "decrypt", "-k", "{keyset}", "-i", "{binary}"], "UTF-8"),
    ("payload-bad-context", ["payload", "encrypt", "-k", "{keyset}", "-i", "{json}", "-c", "novalue"], "KEY=VALUE"),
    ("unknown-command", ["nope"], "nope"),
    ("unknown-option", ["tls", "inspect", "--nope"], "--nope"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    from infra_security.audit._keys import AuditKeys
    from infra_security.crypto._keyring import Keyring

    tmp = tmp_path_factory.mktemp("cli")
    fifo = tmp / "fifo.pem"
    os.mkfifo(fifo)
    (tmp / "huge.pem").write_bytes(b"-" * (2 << 20))
    (tmp / "binary.bin").write_bytes(b"\xff\xfe\x00garbage\x80\n")
    private_binary = tmp / "private.bin"
    private_binary.write_bytes(b"\xff\xfe\x00garbage\x80\n")
    private_binary.chmod(0o600)
    (tmp / "text.txt").write_text("this is not json\n")
    (tmp / "doc.json").write_text('{"a": 1}\n')
    naive = b'{"seq":1,"prev":"' + b"0" * 64 + b'","kid":"ab","mac":"' + b"0" * 64 + b'","event":{"timestamp":'
    (tmp / "naive.jsonl").write_bytes(naive + b'"2026-01-02T00:00:00","event_type":"authentication"}}\n')
    ring = Keyring.generate("k")
    ring.save(tmp / "keyset.json")
    from infra_security.crypto._encryption import PayloadEncryption

    (tmp / "cipher.txt").write_text(PayloadEncryption("k", keyring=ring).encrypt_text({"a": 1}) + "\n")
    AuditKeys.generate().save(tmp / "audit-keys.json")
    return {
        "tmp": str(tmp),
        "fifo": str(fifo),
        "huge": str(tmp / "huge.pem"),
        "binary": str(tmp / "binary.bin"),
        "private_binary": str(private_binary),
        "text": str(tmp / "text.txt"),
        "json": str(tmp / "doc.json"),
        "naive": str(tmp / "naive.jsonl"),
        "keyset": str(tmp / "keyset.json"),
        "cipher": str(tmp / "cipher.txt"),
        "audit_keys": str(tmp / "audit-keys.json"),
    }


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("argv", "needle"), [(r[1], r[2]) for r in ROWS], ids=[r[0] for r in ROWS])
def test_malformed_invocation_exits_2_with_one_line(
    argv: list[str],
    needle: str,
    files: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for var in ("VAULT_ADDR", "VAULT_TOKEN", "INFRA_SECURITY_KEYSET", "INFRA_SECURITY_KEYSET_FILE", "COLUMNS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("INFRA_AUDIT_KEYS_FILE", files["audit_keys"])
    monkeypatch.setenv("INFRA_AUDIT_DIR", files["tmp"] + "/audit")
    monkeypatch.setenv("TERM", "dumb")
    args = [re.sub(r"\{(\w+)\}", lambda m: files[m.group(1)], a) for a in argv]
    monkeypatch.setattr(sys, "argv", ["infra-security", *args])
    monkeypatch.setattr(sys, "stdin", open(os.devnull))  # noqa: SIM115 - closed by pytest
    with pytest.raises(SystemExit) as exit_info:
        main()
    out, err = capsys.readouterr()
    assert exit_info.value.code == 2, (out, err)
    assert "Traceback" not in out + err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err  # one line, nothing else
    assert re.sub(r"\{(\w+)\}", lambda m: files[m.group(1)], needle) in err, err


def test_every_listed_audit_invocation_is_in_the_table() -> None:
    listed = {
        "period-inf",
        "ipv6-bracket",
        "tls-timeout-negative",
        "tls-inspect-dev-zero",
        "tls-inspect-fifo",
        "audit-hash-huge-int",
        "keys-rewrap-no-dir",
        "payload-encrypt-non-utf8",
        "audit-report-naive",
    }
    assert listed <= {r[0] for r in ROWS}
