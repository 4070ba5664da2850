"""`infra-security audit ...`: verify (exit 0/1/2), report (text/JSON/Markdown), log, keygen, hash."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra_models.security import AuditEvent
from infra_security.audit._keys import AuditKeys
from infra_security.audit._logger import AuditLogger
from infra_security.cli._app import app
from infra_security.errors import AuditConfigError


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def trail(tmp_path: Path) -> Path:
    with AuditLogger(directory=tmp_path) as logger:
        for i, (kind, outcome, level) in enumerate(
            [("authentication", "success", "soc2"), ("authentication", "failure", "soc2"),
             ("data_access", "success", "gdpr"), ("data_access", "denied", "gdpr")]
        ):  # fmt: skip
            stamp = datetime(2026, 11, 1 + i, 12, tzinfo=UTC)
            logger.log(AuditEvent(event_type=kind, actor=f"user{i % 2}", action="act", outcome=outcome,
                                  compliance_level=level, timestamp=stamp))  # fmt: skip
    return tmp_path


def args(trail: Path, *extra: str) -> list[str]:
    return [str(trail / "audit.jsonl"), "--checkpoints", str(trail / "checkpoints.jsonl"), *extra]


class TestVerify:
    def test_ok(self, trail: Path, runner: CliRunner) -> None:
        result = runner.invoke(app, ["audit", "verify", *args(trail)])
        assert result.exit_code == 0 and "OK 4 records (seq 1..4), 1 checkpoints" in result.output

    def test_finding_exits_1_with_seq_and_reason(self, trail: Path, runner: CliRunner) -> None:
        log = trail / "audit.jsonl"
        lines = log.read_bytes().splitlines(keepends=True)
        log.write_bytes(b"".join(lines[:2] + lines[3:]))
        result = runner.invoke(app, ["audit", "verify", *args(trail)])
        assert result.exit_code == 1 and "seq 3: deleted" in result.output
        data = json.loads(runner.invoke(app, ["audit", "verify", *args(trail, "--format", "json")]).output)
        assert data["ok"] is False and data["finding"]["seq"] == 3 and data["finding"]["kind"] == "deleted"

    def test_truncation_needs_checkpoints(self, trail: Path, runner: CliRunner) -> None:
        log = trail / "audit.jsonl"
        log.write_bytes(b"".join(log.read_bytes().splitlines(keepends=True)[:2]))
        plain = runner.invoke(app, ["audit", "verify", str(log)])
        assert plain.exit_code == 0 and "truncated tail cannot be detected" in plain.output
        result = runner.invoke(app, ["audit", "verify", *args(trail)])
        assert result.exit_code == 1 and "seq 3: truncated" in result.output

    def test_bad_input_exits_2(self, trail: Path, runner: CliRunner, tmp_path: Path) -> None:
        missing = runner.invoke(app, ["audit", "verify", str(tmp_path / "nope.jsonl"), "--keys",
                                      str(trail / "audit-keys.json")])  # fmt: skip
        assert missing.exit_code == 2 and "file not found" in missing.output
        bad_keys = tmp_path / "bad.json"
        bad_keys.write_text("{}")
        bad_keys.chmod(0o600)
        result = runner.invoke(app, ["audit", "verify", str(trail / "audit.jsonl"), "--keys", str(bad_keys)])
        assert result.exit_code == 2 and "not an audit keys file" in result.output

    def test_broken_line_is_a_finding_naming_the_line(self, trail: Path, runner: CliRunner) -> None:
        log = trail / "audit.jsonl"
        log.write_bytes(log.read_bytes() + b"{broken\n")
        result = runner.invoke(app, ["audit", "verify", str(log)])
        assert result.exit_code == 1 and "seq 5: malformed" in result.output and "audit.jsonl:5" in result.output


class TestReport:
    def test_json(self, trail: Path, runner: CliRunner) -> None:
        result = runner.invoke(app, ["audit", "report", str(trail / "audit.jsonl"), "--format", "json", "--verify",
                                     "--checkpoints", str(trail / "checkpoints.jsonl")])  # fmt: skip
        data = json.loads(result.output)
        assert data["total"] == 4 and data["verified"] is True and data["failures_and_denials"] == 2
        assert data["by"]["event_type"] == {"authentication": 2, "data_access": 2}
        assert data["by"]["compliance_level"] == {"soc2": 2, "gdpr": 2}
        assert data["by"]["actor"] == {"user0": 2, "user1": 2}

    def test_period(self, trail: Path, runner: CliRunner) -> None:
        result = runner.invoke(app, ["audit", "report", str(trail / "audit.jsonl"), "--format", "json",
                                     "--since", "2026-11-02", "--until", "2026-11-04"])  # fmt: skip
        data = json.loads(result.output)
        assert data["total"] == 2 and data["first_seq"] == 2 and data["last_seq"] == 3

    def test_text_and_markdown(self, trail: Path, runner: CliRunner) -> None:
        text = runner.invoke(app, ["audit", "report", str(trail / "audit.jsonl")]).output
        assert "events: 4" in text and "integrity: not verified" in text
        md = runner.invoke(app, ["audit", "report", str(trail / "audit.jsonl"), "--format", "markdown"]).output
        assert md.startswith("# Audit report") and "| Compliance level | Events |" in md and "| gdpr | 2 |" in md

    def test_bad_date_and_broken_line(self, trail: Path, runner: CliRunner) -> None:
        result = runner.invoke(app, ["audit", "report", str(trail / "audit.jsonl"), "--since", "yesterday"])
        assert result.exit_code == 2 and "--since" in result.output
        log = trail / "audit.jsonl"
        log.write_bytes(log.read_bytes() + b"oops\n")
        result = runner.invoke(app, ["audit", "report", str(log)])
        assert result.exit_code == 2 and "audit.jsonl:5" in result.output


def test_log_keygen_and_hash(tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INFRA_AUDIT_KEYS_FILE", raising=False)
    result = runner.invoke(app, ["audit", "log", "--directory", str(tmp_path), "--type", "authentication",
                                 "--user-id", "ann", "--action", "login", "--outcome", "success"])  # fmt: skip
    assert result.exit_code == 0 and "seq 1" in result.output
    bad = runner.invoke(app, ["audit", "log", "--directory", str(tmp_path), "--type", "nonsense", "--user-id", "a",
                              "--action", "b", "--outcome", "success"])  # fmt: skip
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    keys = tmp_path / "audit-keys.json"
    hashed = runner.invoke(app, ["audit", "hash", "hunter2", "--keys", str(keys)]).output.strip()
    with AuditLogger(directory=tmp_path) as logger:
        assert logger.hash_value("hunter2") == hashed
    new = tmp_path / "other"
    new.mkdir()
    assert runner.invoke(app, ["audit", "keygen", "--output", str(new / "k.json")]).exit_code == 0
    assert (new / "k.json").stat().st_mode & 0o777 == 0o600
    assert runner.invoke(app, ["audit", "keygen", "--output", str(new / "k.json")]).exit_code == 2


def test_export_verify_keys(trail: Path, runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "verify-keys.json"
    keys = str(trail / "audit-keys.json")
    result = runner.invoke(app, ["audit", "export-verify-keys", "--keys", keys, "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "signing_key" not in out.read_text() and out.stat().st_mode & 0o777 == 0o600
    ok = runner.invoke(app, ["audit", "verify", *args(trail, "--keys", str(out))])
    assert ok.exit_code == 0, ok.output
    with pytest.raises(AuditConfigError, match="signing_key"):
        AuditLogger(directory=tmp_path / "x", keys=AuditKeys.load(out))
