"""Issue 14's audit defects, each with the test that tries to break the fix (defects 2, 3, 4, 7, 8, 9-audit, 10)."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from infra_models.enums import Severity
from infra_models.security import AuditEvent
from infra_security.audit._chain import parse_record
from infra_security.audit._keys import AuditKeys
from infra_security.audit._logger import AuditLogger
from infra_security.audit._sinks import JsonLinesFileSink
from infra_security.audit._verify import verify_log
from infra_security.crypto._keyring import Keyring
from infra_security.errors import AuditConfigError, AuditError, AuditWriteError


def _verify(directory: Path) -> object:
    keys = AuditKeys.load(directory / "audit-keys.json")
    return verify_log([directory / "audit.jsonl"], keys, checkpoints=directory / "checkpoints.jsonl")


class TestSingleWriter:
    """Defect 2: two writers on one directory silently forked the chain."""

    def test_second_logger_in_the_same_process_is_refused(self, tmp_path: Path) -> None:
        with AuditLogger(directory=tmp_path) as first:
            first.log_security_event("authentication", "ann", "login", "success")
            with pytest.raises(AuditConfigError, match=rf"another writer \(pid {os.getpid()}"):
                AuditLogger(directory=tmp_path)
            first.log_security_event("authentication", "ann", "logout", "success")
        with AuditLogger(directory=tmp_path) as again:  # the lock is released on close
            again.log_security_event("authentication", "bob", "login", "success")
        result = _verify(tmp_path)
        assert result.ok and result.last_seq == 3  # type: ignore[attr-defined]

    def test_second_process_is_refused_and_the_chain_stays_whole(self, tmp_path: Path) -> None:
        code = (
            "import sys; from infra_security import AuditLogger\n"
            "try:\n"
            f"    AuditLogger(directory={str(tmp_path)!r}).log_security_event('authentication','x','login','success')\n"
            "except Exception as e:\n"
            "    print(type(e).__name__, e); sys.exit(3)\n"
        )
        with AuditLogger(directory=tmp_path) as app:
            app.log_security_event("authentication", "ann", "login", "success")
            child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
            app.log_security_event("authentication", "ann", "logout", "success")
        assert child.returncode == 3, child.stderr
        assert "AuditConfigError" in child.stdout and "another writer" in child.stdout
        assert _verify(tmp_path).ok  # type: ignore[attr-defined]

    def test_cli_audit_log_beside_a_running_app_exits_2(self, tmp_path: Path) -> None:
        from typer.testing import CliRunner

        from infra_security.cli import app

        with AuditLogger(directory=tmp_path) as running:
            running.log_security_event("authentication", "ann", "login", "success")
            args = [
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
            ]
            result = CliRunner().invoke(app, [*args, "--directory", str(tmp_path)])
        assert result.exit_code == 2
        assert "another writer" in result.output and "Traceback" not in result.output


class TestTornRecords:
    """Defect 3: a short write left a fragment, and every later record followed it."""

    def test_short_write_is_rolled_back_and_the_chain_continues(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import infra_security.audit._sinks as sinks

        real_write = os.write
        state = {"fail": 0}

        def disk_full(fd: int, data: object) -> int:
            view = memoryview(data)  # type: ignore[arg-type]
            if state["fail"] == 1:  # a short write: half the line reaches the file ...
                state["fail"] = 2
                return real_write(fd, view[: len(view) // 2])
            if state["fail"] == 2:  # ... and writing the rest finds the disk full (POSIX write semantics)
                state["fail"] = 0
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_write(fd, view)

        monkeypatch.setattr(sinks.os, "write", disk_full)
        with AuditLogger(directory=tmp_path) as logger:
            logger.log_security_event("authentication", "ann", "login", "success")
            state["fail"] = 1
            with pytest.raises(AuditWriteError):
                logger.log_security_event("authentication", "ann", "sudo", "success")
            logger.log_security_event("authentication", "ann", "logout", "success")
        assert (tmp_path / "audit.jsonl").read_bytes().endswith(b"}\n")
        result = _verify(tmp_path)
        assert result.ok and result.records == 2, result.finding  # type: ignore[attr-defined]

    def test_short_write_that_completes_keeps_the_whole_record(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import infra_security.audit._sinks as sinks

        real_write = os.write
        state = {"short": 0}

        def a_few_bytes_at_a_time(fd: int, data: object) -> int:
            view = memoryview(data)  # type: ignore[arg-type]
            if state["short"]:  # a signal or a pipe-like file: every write takes at most 7 bytes
                return real_write(fd, view[:7])
            return real_write(fd, view)

        monkeypatch.setattr(sinks.os, "write", a_few_bytes_at_a_time)
        with AuditLogger(directory=tmp_path) as logger:
            logger.log_security_event("authentication", "ann", "login", "success")
            state["short"] = 1
            logger.log_security_event("authentication", "ann", "sudo", "success")
            state["short"] = 0
            logger.log_security_event("authentication", "ann", "logout", "success")
        lines = (tmp_path / "audit.jsonl").read_bytes().splitlines()
        assert [parse_record(line).event["action"] for line in lines] == ["login", "sudo", "logout"]
        result = _verify(tmp_path)
        assert result.ok and result.records == 3, result.finding  # type: ignore[attr-defined]

    def test_torn_tail_at_open_is_quarantined_recorded_and_verifies(self, tmp_path: Path) -> None:
        with AuditLogger(directory=tmp_path) as logger:
            logger.log_security_event("authentication", "ann", "login", "success")
        fragment = b'{"seq":2,"prev":"ab'
        with (tmp_path / "audit.jsonl").open("ab") as fh:
            fh.write(fragment)  # a crash in the middle of a write
        with AuditLogger(directory=tmp_path) as logger:
            logger.log_security_event("authentication", "ann", "logout", "success")
        quarantined = list(tmp_path.glob("audit.jsonl.torn-*"))
        assert len(quarantined) == 1 and quarantined[0].read_bytes() == fragment
        assert quarantined[0].stat().st_mode & 0o077 == 0
        records = [parse_record(line) for line in (tmp_path / "audit.jsonl").read_bytes().splitlines()]
        recovery = records[1].event
        assert recovery["action"] == "audit.recover_torn_record" and recovery["event_type"] == "system_error"
        assert recovery["details"] == {"offset": records[0].event and _size_of_first(tmp_path), "bytes": len(fragment),
                                       "quarantine": str(quarantined[0])}  # fmt: skip
        result = _verify(tmp_path)
        assert result.ok and result.records == 3, result.finding  # type: ignore[attr-defined]


def _size_of_first(directory: Path) -> int:
    return len((directory / "audit.jsonl").read_bytes().splitlines(keepends=True)[0])


class TestPeriodicCheckpoints:
    """Defect 4a: without close() no checkpoint was written, so a crashed writer's cut tail went unnoticed."""

    def test_checkpoint_written_by_time_without_close_or_further_events(self, tmp_path: Path) -> None:
        logger = AuditLogger(directory=tmp_path, checkpoint_every=1_000_000, checkpoint_seconds=0.2)
        for i in range(3):
            logger.log_security_event("data_access", f"u{i}", "read", "success")
        deadline = time.monotonic() + 5
        cps = tmp_path / "checkpoints.jsonl"
        while time.monotonic() < deadline and not (cps.exists() and b'"seq":3' in cps.read_bytes()):
            time.sleep(0.05)
        # The writer "crashes" (never closed); an attacker removes the last record.
        log = tmp_path / "audit.jsonl"
        log.write_bytes(b"".join(log.read_bytes().splitlines(keepends=True)[:2]))
        result = _verify(tmp_path)
        assert result.finding is not None and result.finding.kind == "truncated"  # type: ignore[attr-defined]
        logger._stop.set()  # stop the timer without writing a final checkpoint of the cut log

    def test_count_checkpoints_still_happen(self, tmp_path: Path) -> None:
        with AuditLogger(directory=tmp_path, checkpoint_every=2, checkpoint_seconds=3600) as logger:
            for i in range(5):
                logger.log_security_event("data_access", f"u{i}", "read", "success")
            seqs = [json.loads(x)["seq"] for x in (tmp_path / "checkpoints.jsonl").read_text().splitlines()]
            assert seqs == [2, 4]


class TestAlertsOffThePath:
    """Defect 4b: a slow webhook added its whole timeout to log_security_event."""

    def test_slow_hook_does_not_delay_logging(self, tmp_path: Path) -> None:
        release = threading.Event()
        seen: list[str] = []

        def slow(event: AuditEvent) -> None:
            release.wait(10)
            seen.append(event.actor)

        with AuditLogger(directory=tmp_path, alert_hooks=[slow]) as logger:
            start = time.monotonic()
            for i in range(5):
                logger.log_security_event("security_violation", f"eve{i}", "probe", "denied")
            assert time.monotonic() - start < 1.0
            release.set()
        assert seen == [f"eve{i}" for i in range(5)]  # close() delivered them, in order

    def test_full_queue_drops_and_counts(self, tmp_path: Path) -> None:
        release = threading.Event()
        with AuditLogger(directory=tmp_path, alert_hooks=[lambda e: release.wait(10)], alert_queue_size=2) as logger:
            for i in range(10):
                logger.log_security_event("security_violation", f"eve{i}", "probe", "denied")
            # one in the hook, two queued: at least seven are dropped, and every event was still written
            assert logger.alerts_dropped >= 7
            assert logger.head.seq == 10
            release.set()


class TestStrictVerify:
    """Defect 7: verify accepted content the MAC never covered."""

    @pytest.fixture
    def trail(self, tmp_path: Path) -> Path:
        with AuditLogger(directory=tmp_path) as logger:
            logger.log_security_event("authorization", "alice", "approve", "success", resource="payment/7")
            logger.log_security_event("authorization", "bob", "read", "success")
        return tmp_path

    def _edit_first(self, trail: Path, edit: object) -> None:
        log = trail / "audit.jsonl"
        lines = log.read_bytes().splitlines(keepends=True)
        lines[0] = edit(lines[0])  # type: ignore[operator]
        log.write_bytes(b"".join(lines))

    def test_extra_top_level_field_is_malformed(self, trail: Path) -> None:
        self._edit_first(trail, lambda line: line.rstrip(b"}\n") + b'},"approved_by":"CISO"}\n')
        finding = _verify(trail).finding  # type: ignore[attr-defined]
        assert finding is not None and finding.kind == "malformed" and "approved_by" in finding.message

    def test_duplicate_actor_key_is_malformed(self, trail: Path) -> None:
        self._edit_first(trail, lambda line: line.replace(b'"actor":"alice"', b'"actor":"mallory","actor":"alice"'))
        finding = _verify(trail).finding  # type: ignore[attr-defined]
        assert finding is not None and finding.kind == "malformed" and "twice" in finding.message

    def test_duplicate_top_level_key_is_malformed(self, trail: Path) -> None:
        self._edit_first(trail, lambda line: line.replace(b'{"seq":1,', b'{"seq":7,"seq":1,'))
        finding = _verify(trail).finding  # type: ignore[attr-defined]
        assert finding is not None and finding.kind == "malformed"

    def test_intact_trail_still_verifies(self, trail: Path) -> None:
        assert _verify(trail).ok  # type: ignore[attr-defined]


class TestSecretFreeReprs:
    """Defect 8: reprs printed the raw chain/redaction keys and AES key material."""

    def test_audit_keys_repr_shows_no_key(self) -> None:
        keys = AuditKeys.generate()
        text = repr(keys) + str(keys)
        for secret in (keys.chain_key, keys.redaction_key):
            assert secret.hex() not in text and repr(secret) not in text
        assert keys.key_id in text

    def test_keyring_records_show_no_material(self) -> None:
        ring = Keyring.generate("orders")
        record = ring._data.keys[0]
        assert record.material is not None
        text = repr(ring._data) + repr(record)
        assert repr(record.material) not in text and record.material.hex() not in text


class TestEventValues:
    """Defect 9 (library side) and 10: bad detail values are a clear AuditError, not TypeError or silent null."""

    @pytest.mark.parametrize(
        ("details", "needle"),
        [
            ({"blob": b"\x00\x01"}, "details.blob"),
            ({1: "x"}, "int key"),
            ({"ratio": float("nan")}, "nan"),
            ({"ratio": float("inf")}, "inf"),
            ({"items": [1, {"x": -float("inf")}]}, "details.items[1].x"),
            ({"when": object()}, "object"),
        ],
    )
    def test_refused_with_the_path(self, tmp_path: Path, details: dict[object, object], needle: str) -> None:
        with AuditLogger(directory=tmp_path) as logger:
            with pytest.raises(AuditError, match=rf"(?i){needle.replace('[', '.').replace(']', '.')}"):
                logger.log_security_event("data_access", "ann", "read", "success", details=details)  # type: ignore[arg-type]
            assert logger.head.seq == 0  # nothing half-written

    def test_very_deep_tree_is_an_audit_error_not_recursion(self, tmp_path: Path) -> None:
        deep: dict[str, object] = {}
        node = deep
        for _ in range(100_000):
            node["a"] = {}
            node = node["a"]  # type: ignore[assignment]
        with AuditLogger(directory=tmp_path) as logger, pytest.raises(AuditError, match="deeper than"):
            logger.log_security_event("data_access", "ann", "read", "success", details=deep)

    def test_severity_threshold_unchanged(self, tmp_path: Path) -> None:
        seen: list[AuditEvent] = []
        with AuditLogger(directory=tmp_path, alert_hooks=[seen.append], alert_severity=Severity.HIGH) as logger:
            logger.log_security_event("data_access", "ann", "read", "success", details={"n": 1.5})
        assert seen == []


def test_file_sink_lock_file_names_the_holder(tmp_path: Path) -> None:
    sink = JsonLinesFileSink(tmp_path / "x.jsonl")
    try:
        assert (tmp_path / "x.jsonl.lock").read_text().strip() == str(os.getpid())
    finally:
        sink.close()
