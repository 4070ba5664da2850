"""infra-security on the shared CLI kit: every command answers -f json, errors are the JSON envelope there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra_security.cli._app import app

runner = CliRunner()


def invoke_json(*args: str) -> tuple[int, object]:
    result = runner.invoke(app, [*args, "-f", "json"])
    return result.exit_code, json.loads(result.stdout)


def test_key_lifecycle_in_json(tmp_path: Path) -> None:
    keyset = str(tmp_path / "keyset.json")
    assert invoke_json("keys", "generate", "--name", "orders", "-o", keyset) == (
        0,
        {"keyset": keyset, "key": "orders:v1", "state": "primary"},
    )
    assert invoke_json("keys", "rotate", "-k", keyset) == (0, {"key": "orders:v2", "state": "primary"})
    assert invoke_json("keys", "disable", "1", "-k", keyset) == (0, {"key": "orders:v1", "state": "disabled"})
    assert invoke_json("keys", "enable", "1", "-k", keyset) == (0, {"key": "orders:v1", "state": "decrypt-only"})
    assert invoke_json("keys", "destroy", "1", "-k", keyset, "--yes") == (0, {"key": "orders:v1", "state": "destroyed"})


def test_errors_are_the_envelope_under_json(tmp_path: Path) -> None:
    keyset = str(tmp_path / "keyset.json")
    runner.invoke(app, ["keys", "generate", "--name", "orders", "-o", keyset])
    code, data = invoke_json("keys", "destroy", "1", "-k", keyset)  # without --yes
    assert code == 2
    assert data["error"]["code"] == "usage" and "--yes" in data["error"]["message"]
    code, data = invoke_json("keys", "generate", "--name", "orders", "-o", keyset)  # exists already
    assert code == 2 and "already exists" in data["error"]["message"]
    text = runner.invoke(app, ["keys", "generate", "--name", "orders", "-o", keyset])
    assert text.exit_code == 2 and text.stdout == "" and text.stderr.startswith("error: ")


def test_decrypt_and_rewrap_in_json(tmp_path: Path) -> None:
    keyset = tmp_path / "keyset.json"
    runner.invoke(app, ["keys", "generate", "--name", "orders", "-o", str(keyset)])
    plain = tmp_path / "plain.json"
    plain.write_text('{"id": 7}')
    sealed = runner.invoke(app, ["payload", "encrypt", "-k", str(keyset), "-i", str(plain)]).stdout.strip()
    source = tmp_path / "in.txt"
    source.write_text(sealed + "\n")
    assert invoke_json("payload", "decrypt", "-k", str(keyset), "-i", str(source)) == (0, {"value": {"id": 7}})
    runner.invoke(app, ["keys", "rotate", "-k", str(keyset)])
    code, data = invoke_json("keys", "rewrap", "-k", str(keyset), "-i", str(source))
    assert code == 0 and data["rewrapped"] == 1 and data["primary"] == "orders:v2"
    assert len(data["ciphertexts"]) == 1 and data["ciphertexts"][0] != sealed


def test_audit_commands_in_json(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("INFRA_AUDIT_KEYS_FILE", raising=False)
    keys = str(tmp_path / "keys.json")
    assert invoke_json("audit", "keygen", "-o", keys) == (0, {"created": keys})
    code, data = invoke_json("audit", "hash", "secret", "--keys", keys)
    assert code == 0 and isinstance(data["hash"], str) and data["hash"] != "secret"
    code, data = invoke_json(
        "audit", "log", "--directory", str(tmp_path / "log"), "--type", "authentication",
        "--user-id", "ann", "--action", "login", "--outcome", "success",
    )  # fmt: skip
    assert code == 0 and data["seq"] == 1


def test_keyset_material_must_be_canonical_base64url(tmp_path: Path) -> None:
    """One base64url for every package (infra_models.encoding): a material with unused bits set is refused."""
    from infra_security import Keyring
    from infra_security.errors import SecurityError

    path = tmp_path / "keyset.json"
    Keyring.generate("orders").save(path)
    doc = json.loads(path.read_text())
    material = doc["keys"][0]["material"]  # 32 bytes: 43 characters, the last one carries 2 unused bits
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    doc["keys"][0]["material"] = material[:-1] + alphabet[alphabet.index(material[-1]) | 1]
    path.write_text(json.dumps(doc))
    path.chmod(0o600)
    with pytest.raises(SecurityError, match="material"):
        Keyring.load(path)


def test_verify_feeds_every_byte_to_a_progress_callback(tmp_path: Path, monkeypatch) -> None:
    """`audit verify` shows a bar on a terminal; its feed is every byte of the logs, blank lines included."""
    from infra_security.audit._keys import AuditKeys
    from infra_security.audit._verify import verify_log

    monkeypatch.delenv("INFRA_AUDIT_KEYS_FILE", raising=False)
    for n in range(3):
        runner.invoke(app, ["audit", "log", "--directory", str(tmp_path), "--type", "authentication",
                            "--user-id", f"u{n}", "--action", "login", "--outcome", "success"])  # fmt: skip
    log = next(tmp_path.glob("*.jsonl"))
    log.write_bytes(log.read_bytes() + b"\n")  # a blank line is read (and counted) too
    seen: list[int] = []
    result = verify_log([log], AuditKeys.load(next(tmp_path.glob("*keys*.json"))), on_bytes=seen.append)
    assert result.ok and result.records == 3
    assert sum(seen) == log.stat().st_size and len(seen) == 4
    piped = runner.invoke(app, ["audit", "verify", str(log)])
    assert piped.exit_code == 0 and piped.stderr == ""  # no bar when the output is not a terminal


def test_audit_log_names_the_actor_as_python_does(tmp_path: Path, monkeypatch) -> None:
    """`--user-id` as in `log_security_event(user_id=...)`; `--actor` still works, hidden; neither is exit 2."""
    monkeypatch.delenv("INFRA_AUDIT_KEYS_FILE", raising=False)
    base = ["audit", "log", "--directory", str(tmp_path), "--type", "authentication", "--action", "login"]
    base += ["--outcome", "success"]
    assert invoke_json(*base, "--user-id", "ann")[1]["seq"] == 1
    assert invoke_json(*base, "--actor", "bob")[1]["seq"] == 2
    code, data = invoke_json(*base)
    assert code == 2 and "--user-id" in data["error"]["message"]
    assert "--actor" not in runner.invoke(app, ["audit", "log", "--help"]).stdout
