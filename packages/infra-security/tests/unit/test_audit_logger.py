"""AuditLogger: documented usage, default location, redaction, sinks, failure policy, resume, rotation, threads."""

from __future__ import annotations

import io
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from infra_models.enums import Severity
from infra_models.security import AuditEvent, SecurityEventData
from infra_security.audit._keys import AuditKeys
from infra_security.audit._logger import AuditLogger, default_audit_dir
from infra_security.audit._sink_kafka import KafkaSink
from infra_security.audit._sinks import JsonLinesFileSink, StdoutSink, read_last_line
from infra_security.audit._verify import verify_log
from infra_security.errors import AuditConfigError, AuditWriteError


class MemorySink:
    def __init__(self, name: str = "memory") -> None:
        self.name = name
        self.lines: list[bytes] = []

    def write(self, line: bytes) -> None:
        self.lines.append(line)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class BrokenSink(MemorySink):
    def write(self, line: bytes) -> None:
        raise OSError("disk full")


def test_documented_usage_and_default_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFRA_AUDIT_DIR", str(tmp_path / "audit"))
    monkeypatch.delenv("INFRA_AUDIT_KEYS_FILE", raising=False)
    logger = AuditLogger()
    event = logger.log_security_event(event_type="authentication", user_id="user123", action="login", outcome="success")
    logger.close()
    assert isinstance(event, AuditEvent) and event.actor == "user123"
    directory = tmp_path / "audit"
    assert {p.name for p in directory.iterdir()} >= {"audit.jsonl", "checkpoints.jsonl", "audit-keys.json"}
    assert (directory / "audit-keys.json").stat().st_mode & 0o777 == 0o600
    assert (directory / "audit.jsonl").stat().st_mode & 0o777 == 0o600
    result = verify_log(
        [directory / "audit.jsonl"],
        AuditKeys.load(directory / "audit-keys.json"),
        checkpoints=directory / "checkpoints.jsonl",
    )
    assert result.ok and result.records == 1


def test_default_dir_follows_xdg() -> None:
    assert default_audit_dir({"XDG_STATE_HOME": "/s"}) == Path("/s/infra-security/audit")
    assert default_audit_dir({"INFRA_AUDIT_DIR": "/a", "XDG_STATE_HOME": "/s"}) == Path("/a")


class TestRedaction:
    SECRETS = ("hunter2", "tok-abc-123", "4111111111111111", "987654321", "nested-secret-value")

    def test_secret_never_in_any_sink_bytes(self, tmp_path: Path) -> None:
        memory, out = MemorySink(), io.BytesIO()
        checkpoints = MemorySink("checkpoints")
        alerts: list[AuditEvent] = []
        file_sink = JsonLinesFileSink(tmp_path / "a.jsonl")
        logger = AuditLogger(
            directory=tmp_path, sinks=[file_sink, memory, StdoutSink(out)], checkpoint_sink=checkpoints,
            alert_hooks=[alerts.append], alert_severity=Severity.INFO, checkpoint_every=1,
        )  # fmt: skip
        logger.log_security_event(
            "authentication", "ann", "login", "failure",
            details={"password": "hunter2", "headers": {"Authorization": "tok-abc-123"},
                     "payment": [{"card_number": "4111111111111111"}], "pin": 1, "ssn": 987654321,
                     "token": {"deep": ["nested-secret-value"]}, "kept": "visible"},
            context=SecurityEventData(source_ip="10.0.0.1", attributes={"api_key": "hunter2"}),
        )  # fmt: skip
        logger.close()
        file_sink.close()
        blobs = [
            b"".join(memory.lines),
            out.getvalue(),
            (tmp_path / "a.jsonl").read_bytes(),
            b"".join(checkpoints.lines),
            repr(alerts).encode(),
            alerts[0].model_dump_json().encode(),
        ]
        for blob in blobs:
            for secret in self.SECRETS:
                assert secret.encode() not in blob
        assert b"visible" in blobs[0] and b"10.0.0.1" in blobs[0]

    def test_hash_is_keyed_deterministic_and_matches_lookup(self, tmp_path: Path) -> None:
        memory = MemorySink()
        logger = AuditLogger(directory=tmp_path, sinks=[memory], checkpoint_sink=MemorySink())
        a = logger.log_security_event("authentication", "ann", "login", "success", details={"password": "pw"})
        b = logger.log_security_event("authentication", "bob", "login", "success", details={"PassWord": "pw"})
        assert a.details["password"] == b.details["PassWord"] == logger.hash_value("pw")
        assert logger.hash_value("pw") != logger.hash_value("pw2")
        other = AuditLogger(directory=tmp_path / "o", sinks=[MemorySink()], checkpoint_sink=MemorySink())
        assert other.hash_value("pw") != logger.hash_value("pw")  # keyed: another log's key gives another hash

    def test_names_are_exact_not_substrings(self, tmp_path: Path) -> None:
        logger = AuditLogger(directory=tmp_path, sinks=[MemorySink()], checkpoint_sink=MemorySink())
        event = logger.log_security_event(
            "data_access", "ann", "read", "success", details={"password_hint": "cat", "tokens_used": 3}
        )
        assert event.details == {"password_hint": "cat", "tokens_used": 3}


class TestFailurePolicy:
    def test_fail_closed_when_no_sink_takes_the_event(self, tmp_path: Path) -> None:
        errors: list[str] = []
        logger = AuditLogger(
            directory=tmp_path, sinks=[BrokenSink()], checkpoint_sink=MemorySink(),
            on_sink_error=lambda sink, exc: errors.append(f"{sink.name}: {exc}"),
        )  # fmt: skip
        with pytest.raises(AuditWriteError, match="failing closed"):
            logger.log_security_event("authentication", "ann", "login", "success")
        assert errors == ["memory: disk full"]
        assert logger.head.seq == 0  # nothing written: the chain did not advance

    def test_one_healthy_sink_is_enough_by_default(self, tmp_path: Path) -> None:
        good = MemorySink()
        logger = AuditLogger(directory=tmp_path, sinks=[BrokenSink(), good], checkpoint_sink=MemorySink())
        logger.log_security_event("authentication", "ann", "login", "success")
        assert len(good.lines) == 1

    def test_require_all_sinks(self, tmp_path: Path) -> None:
        logger = AuditLogger(
            directory=tmp_path, sinks=[BrokenSink(), MemorySink()], checkpoint_sink=MemorySink(),
            require_all_sinks=True,
        )  # fmt: skip
        with pytest.raises(AuditWriteError, match="1 of 2"):
            logger.log_security_event("authentication", "ann", "login", "success")

    def test_fail_open_is_explicit(self, tmp_path: Path) -> None:
        logger = AuditLogger(directory=tmp_path, sinks=[BrokenSink()], checkpoint_sink=MemorySink(), fail_open=True)
        event = logger.log_security_event("authentication", "ann", "login", "success")
        assert event.actor == "ann" and logger.dropped == 1 and logger.head.seq == 0

    def test_unwritable_directory_fails_closed(self, tmp_path: Path) -> None:
        blocked = tmp_path / "blocked"
        blocked.write_text("a file, not a directory")
        with pytest.raises(AuditConfigError, match="cannot"):
            AuditLogger(directory=blocked / "audit")

    def test_unreachable_kafka_fails_closed(self, tmp_path: Path) -> None:
        pytest.importorskip("confluent_kafka")  # the [kafka] extra; absent when the package is tested alone
        sink = KafkaSink("127.0.0.1:1", "audit-unreachable", timeout=1.0, config={"log_level": 0})
        logger = AuditLogger(directory=tmp_path, sinks=[sink], checkpoint_sink=MemorySink())
        with pytest.raises(AuditWriteError):
            logger.log_security_event("authentication", "ann", "login", "success")

    def test_failing_checkpoint_sink_does_not_lose_events(self, tmp_path: Path) -> None:
        good = MemorySink()
        logger = AuditLogger(directory=tmp_path, sinks=[good], checkpoint_sink=BrokenSink(), checkpoint_every=1)
        logger.log_security_event("authentication", "ann", "login", "success")
        assert len(good.lines) == 1


class TestResumeAndRotation:
    def test_restart_continues_the_chain(self, tmp_path: Path) -> None:
        for _ in range(3):
            with AuditLogger(directory=tmp_path) as logger:
                logger.log_security_event("authentication", "ann", "login", "success")
                logger.log_security_event("authentication", "ann", "logout", "success")
        keys = AuditKeys.load(tmp_path / "audit-keys.json")
        result = verify_log([tmp_path / "audit.jsonl"], keys, checkpoints=tmp_path / "checkpoints.jsonl")
        assert result.ok and result.last_seq == 6

    def test_rotated_file_is_reopened_and_segments_verify_in_order(self, tmp_path: Path) -> None:
        now = [0.0]
        sink = JsonLinesFileSink(tmp_path / "audit.jsonl", reopen_check=0.0, clock=lambda: now[0])
        logger = AuditLogger(directory=tmp_path, sinks=[sink])
        logger.log_security_event("authentication", "ann", "login", "success")
        os.rename(tmp_path / "audit.jsonl", tmp_path / "audit.jsonl.1")  # logrotate
        now[0] = 5.0
        logger.log_security_event("authentication", "ann", "logout", "success")
        logger.close()
        sink.close()
        keys = AuditKeys.load(tmp_path / "audit-keys.json")
        assert (tmp_path / "audit.jsonl").read_bytes().count(b"\n") == 1
        both = verify_log(
            [tmp_path / "audit.jsonl.1", tmp_path / "audit.jsonl"], keys, checkpoints=tmp_path / "checkpoints.jsonl"
        )
        assert both.ok and both.records == 2
        alone = verify_log([tmp_path / "audit.jsonl"], keys)
        assert alone.finding is not None and alone.finding.kind == "deleted"
        partial = verify_log([tmp_path / "audit.jsonl"], keys, checkpoints=tmp_path / "checkpoints.jsonl", partial=True)
        assert partial.ok and "starts at seq 2" in partial.notes[0]

    def test_restart_after_rotation_continues_from_last_checkpoint(self, tmp_path: Path) -> None:
        with AuditLogger(directory=tmp_path) as logger:
            logger.log_security_event("authentication", "ann", "login", "success")
        os.rename(tmp_path / "audit.jsonl", tmp_path / "audit.jsonl.1")
        with AuditLogger(directory=tmp_path) as logger:
            assert logger.head.seq == 1
            logger.log_security_event("authentication", "ann", "logout", "success")
        keys = AuditKeys.load(tmp_path / "audit-keys.json")
        result = verify_log(
            [tmp_path / "audit.jsonl.1", tmp_path / "audit.jsonl"], keys, checkpoints=tmp_path / "checkpoints.jsonl"
        )
        assert result.ok and result.last_seq == 2

    def test_missing_keys_for_existing_log_fails_closed(self, tmp_path: Path) -> None:
        with AuditLogger(directory=tmp_path) as logger:
            logger.log_security_event("authentication", "ann", "login", "success")
        (tmp_path / "audit-keys.json").unlink()
        with pytest.raises(AuditConfigError, match=r"keys file .* is missing"):
            AuditLogger(directory=tmp_path)

    def test_keys_file_permissions_checked(self, tmp_path: Path) -> None:
        AuditLogger(directory=tmp_path).close()
        (tmp_path / "audit-keys.json").chmod(0o644)
        with pytest.raises(AuditConfigError, match="chmod 600"):
            AuditLogger(directory=tmp_path)

    def test_log_of_another_key_refused(self, tmp_path: Path) -> None:
        AuditLogger(directory=tmp_path).close()
        with AuditLogger(directory=tmp_path) as logger:
            logger.log_security_event("authentication", "ann", "login", "success")
        with pytest.raises(AuditConfigError, match="written with audit key"):
            AuditLogger(directory=tmp_path, keys=AuditKeys.generate())

    def test_read_last_line(self, tmp_path: Path) -> None:
        path = tmp_path / "f"
        assert read_last_line(path) is None
        path.write_bytes(b"a\nb\n")
        assert read_last_line(path) == b"b"


def test_concurrent_writers_keep_one_valid_chain(tmp_path: Path) -> None:
    logger = AuditLogger(directory=tmp_path, checkpoint_every=97)
    barrier = threading.Barrier(8)

    def work(n: int) -> None:
        barrier.wait()
        for i in range(250):
            logger.log_security_event("data_access", f"worker{n}", f"read{i}", "success")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    logger.close()
    keys = AuditKeys.load(tmp_path / "audit-keys.json")
    result = verify_log([tmp_path / "audit.jsonl"], keys, checkpoints=tmp_path / "checkpoints.jsonl")
    assert result.ok, result.finding
    assert result.records == 2000 and result.checkpoints >= 20


def test_event_with_injected_clock_and_explicit_event(tmp_path: Path) -> None:
    fixed = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    cps = MemorySink()
    logger = AuditLogger(directory=tmp_path, sinks=[MemorySink()], checkpoint_sink=cps, clock=lambda: fixed)
    logger.log(AuditEvent(event_type="key_management", actor="ops", action="rotate", outcome="success"))
    logger.checkpoint()
    assert b'"time":"2026-01-02T03:04:05+00:00"' in cps.lines[0]


def test_closed_logger_refuses(tmp_path: Path) -> None:
    logger = AuditLogger(directory=tmp_path)
    logger.close()
    logger.close()  # idempotent
    with pytest.raises(AuditWriteError, match="closed"):
        logger.log_security_event("authentication", "ann", "login", "success")
