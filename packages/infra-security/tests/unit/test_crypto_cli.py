"""`infra-security keys ...` and `infra-security payload ...`: exit codes, messages, nothing half-written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra_security import Keyring, PayloadEncryption
from infra_security.cli._app import app


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def keyset(tmp_path: Path, runner: CliRunner) -> Path:
    path = tmp_path / "ks.json"
    result = runner.invoke(app, ["keys", "generate", "--name", "orders", "--output", str(path)])
    assert result.exit_code == 0, result.output
    return path


class TestKeys:
    def test_generate_refuses_to_overwrite(self, keyset: Path, runner: CliRunner) -> None:
        before = keyset.read_bytes()
        result = runner.invoke(app, ["keys", "generate", "--name", "orders", "--output", str(keyset)])
        assert result.exit_code == 2 and "already exists" in result.output
        assert keyset.read_bytes() == before

    def test_rotate_list_disable_enable(self, keyset: Path, runner: CliRunner) -> None:
        assert "orders:v2 is the new primary" in runner.invoke(app, ["keys", "rotate", "-k", str(keyset)]).output
        assert runner.invoke(app, ["keys", "disable", "1", "-k", str(keyset)]).exit_code == 0
        listed = json.loads(runner.invoke(app, ["keys", "list", "-k", str(keyset), "--format", "json"]).output)
        assert [(k["id"], k["state"]) for k in listed["keys"]] == [(1, "disabled"), (2, "primary")]
        assert "material" not in json.dumps(listed)
        assert runner.invoke(app, ["keys", "enable", "1", "-k", str(keyset)]).exit_code == 0
        text = runner.invoke(app, ["keys", "list", "-k", str(keyset)]).output
        assert "decrypt-only" in text and "orders:v2" in text

    def test_disable_primary_is_bad_input(self, keyset: Path, runner: CliRunner) -> None:
        result = runner.invoke(app, ["keys", "disable", "1", "-k", str(keyset)])
        assert result.exit_code == 2 and "primary" in result.output and "Traceback" not in result.output

    def test_destroy_needs_yes(self, keyset: Path, runner: CliRunner) -> None:
        runner.invoke(app, ["keys", "rotate", "-k", str(keyset)])
        assert runner.invoke(app, ["keys", "destroy", "1", "-k", str(keyset)]).exit_code == 2
        assert runner.invoke(app, ["keys", "destroy", "1", "-k", str(keyset), "--yes"]).exit_code == 0
        assert json.loads(keyset.read_text())["keys"][0]["material"] is None

    def test_bad_permissions_and_missing_keyset(
        self, keyset: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        keyset.chmod(0o640)
        result = runner.invoke(app, ["keys", "list", "-k", str(keyset)])
        assert result.exit_code == 2 and "chmod 600" in result.output
        monkeypatch.delenv("INFRA_SECURITY_KEYSET_FILE", raising=False)
        result = runner.invoke(app, ["keys", "list"])
        assert result.exit_code == 2 and "--keyset" in result.output

    def test_rewrap_all_or_nothing(self, keyset: Path, tmp_path: Path, runner: CliRunner) -> None:
        enc = PayloadEncryption("orders", keyring=Keyring.load(keyset))
        good = [enc.encrypt_text({"n": i}, {"t": "a"}) for i in range(3)]
        model = enc.encrypt_payload({"n": 9}, {"t": "a"}).model_dump_json()
        src, dst = tmp_path / "in.txt", tmp_path / "out.txt"
        src.write_text("\n".join([*good, model]) + "\n")
        runner.invoke(app, ["keys", "rotate", "-k", str(keyset)])
        result = runner.invoke(app, ["keys", "rewrap", "-k", str(keyset), "-c", "t=a", "-i", str(src), "-o", str(dst)])
        assert result.exit_code == 0, result.output
        lines = dst.read_text().splitlines()
        ring = Keyring.load(keyset)
        after = PayloadEncryption("orders", keyring=ring)
        assert [after.key_of(x) for x in lines[:3]] == ["orders:v2"] * 3
        assert json.loads(lines[3])["key_id"] == "orders:v2"
        assert [after.decrypt_payload(x, {"t": "a"}) for x in lines[:3]] == [{"n": 0}, {"n": 1}, {"n": 2}]
        # One bad line: nothing is written, the line is named.
        src.write_text(good[0] + "\ngarbage!\n")
        dst.unlink()
        result = runner.invoke(app, ["keys", "rewrap", "-k", str(keyset), "-c", "t=a", "-i", str(src), "-o", str(dst)])
        assert result.exit_code == 2 and "line 2" in result.output
        assert not dst.exists()

    def test_bad_context_option(self, keyset: Path, runner: CliRunner) -> None:
        result = runner.invoke(app, ["keys", "rewrap", "-k", str(keyset), "-c", "novalue"], input="")
        assert result.exit_code == 2 and "KEY=VALUE" in result.output


class TestPayload:
    def test_encrypt_decrypt_round_trip(self, keyset: Path, runner: CliRunner) -> None:
        text = runner.invoke(app, ["payload", "encrypt", "-k", str(keyset), "-c", "tenant=a"], input='{"x": [1, "é"]}')
        assert text.exit_code == 0
        out = runner.invoke(app, ["payload", "decrypt", "-k", str(keyset), "-c", "tenant=a"], input=text.output)
        assert json.loads(out.output) == {"x": [1, "é"]}
        model = runner.invoke(app, ["payload", "encrypt", "-k", str(keyset), "--format", "json"], input="[1]")
        assert json.loads(model.output)["key_id"] == "orders:v1"
        assert runner.invoke(app, ["payload", "decrypt", "-k", str(keyset)], input=model.output).output.strip() == "[1]"

    def test_wrong_context_and_garbage(self, keyset: Path, runner: CliRunner) -> None:
        text = runner.invoke(app, ["payload", "encrypt", "-k", str(keyset), "-c", "tenant=a"], input="1").output
        bad = runner.invoke(app, ["payload", "decrypt", "-k", str(keyset), "-c", "tenant=b"], input=text)
        assert bad.exit_code == 2 and "authentication failed" in bad.output
        for garbage in ["###", "{}", "AQAA"]:
            result = runner.invoke(app, ["payload", "decrypt", "-k", str(keyset)], input=garbage)
            assert result.exit_code == 2 and "Traceback" not in result.output
        assert runner.invoke(app, ["payload", "encrypt", "-k", str(keyset)], input="{oops").exit_code == 2
