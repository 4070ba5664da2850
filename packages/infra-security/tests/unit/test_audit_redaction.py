"""Redaction details: lookup hashes, non-string and nested values, dict contexts; event validation; sinks' policies."""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import uuid
from pathlib import Path

import orjson
import pytest

from infra_security.audit._chain import keyed_sha256
from infra_security.audit._event_ids import new_event_id
from infra_security.audit._logger import AuditLogger
from infra_security.audit._redaction import REDACTED_PREFIX, Redactor
from infra_security.audit._sinks import JsonLinesFileSink
from infra_security.errors import AuditConfigError, AuditError


class Memory:
    name = "memory"

    def __init__(self) -> None:
        self.lines: list[bytes] = []

    def write(self, line: bytes) -> None:
        self.lines.append(line)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class TestRedactor:
    def test_non_string_and_nested_values_hashed_whole(self) -> None:
        r = Redactor(b"k" * 32, ["secret"])
        out = r.redact({"secret": {"a": [1, 2]}, "list": [{"secret": 42}, {"secret": True}], "n": 7})
        assert out["secret"] == r.hash_value({"a": [1, 2]})
        assert out["list"][0]["secret"] == r.hash_value(42) and out["list"][1]["secret"] == r.hash_value(True)
        assert out["n"] == 7
        assert all(v.startswith(REDACTED_PREFIX) for v in (out["secret"], out["list"][0]["secret"]))

    def test_types_are_distinguished_and_key_order_is_not(self) -> None:
        r = Redactor(b"k" * 32)
        assert r.hash_value(1) != r.hash_value("1")
        assert r.hash_value({"a": 1, "b": 2}) == r.hash_value({"b": 2, "a": 1})

    def test_hash_is_the_documented_hmac(self) -> None:
        key = b"k" * 32
        expected = hmac.new(key, orjson.dumps({"b": 2, "a": 1}, option=orjson.OPT_SORT_KEYS), hashlib.sha256)
        assert Redactor(key).hash_value({"a": 1, "b": 2}) == REDACTED_PREFIX + expected.hexdigest()
        state = keyed_sha256(key, b"prefix")
        assert state.mac(b"msg") == hmac.digest(key, b"prefixmsg", "sha256")
        assert state.mac(b"other") == hmac.digest(key, b"prefixother", "sha256")  # the keyed state is not consumed
        long_key = b"L" * 100  # longer than the SHA-256 block: hashed first, as RFC 2104 says
        assert keyed_sha256(long_key).mac(b"m") == hmac.digest(long_key, b"m", "sha256")
        assert keyed_sha256(b"").mac(b"m") == hmac.digest(b"", b"m", "sha256")

    def test_field_decisions_are_remembered_case_insensitively(self) -> None:
        r = Redactor(b"k" * 32, ["password"])
        for _ in range(2):  # the second pass reads the remembered decisions
            out = r.redact({"Password": "a", "password": "a", "PASSWORD_HINT": "b", 1: "c", ("password",): "d"})
            assert out["Password"] == out["password"] == r.hash_value("a")
            assert out["PASSWORD_HINT"] == "b" and out[1] == "c" and out[("password",)] == "d"

    def test_short_key_refused(self) -> None:
        with pytest.raises(ValueError, match="16 bytes"):
            Redactor(b"short")


def test_dict_context_attributes_are_redacted(tmp_path: Path) -> None:
    sink = Memory()
    logger = AuditLogger(directory=tmp_path, sinks=[sink], checkpoint_sink=Memory())
    event = logger.log_security_event(
        "credential_access", "svc", "read", "success",
        context={"source_ip": "10.1.2.3", "attributes": {"token": "tok-123", "region": "eu"}},
    )  # fmt: skip
    assert event.context is not None and event.context.attributes["region"] == "eu"
    assert b"tok-123" not in sink.lines[0] and b"10.1.2.3" in sink.lines[0]


def test_explicit_event_is_redacted_too(tmp_path: Path) -> None:
    from infra_models.security import AuditEvent

    sink = Memory()
    logger = AuditLogger(directory=tmp_path, sinks=[sink], checkpoint_sink=Memory())
    written = logger.log(AuditEvent(event_type="authentication", actor="a", action="b", outcome="success",
                                    details={"Password": "pw-xyz"}))  # fmt: skip
    assert written.details["Password"] == logger.hash_value("pw-xyz")
    assert b"pw-xyz" not in sink.lines[0]


def test_invalid_event_is_one_clear_error(tmp_path: Path) -> None:
    logger = AuditLogger(directory=tmp_path, sinks=[Memory()], checkpoint_sink=Memory())
    with pytest.raises(AuditError, match="`event_type`"):
        logger.log_security_event("nonsense", "a", "b", "success")
    with pytest.raises(AuditError, match="`actor`"):
        logger.log_security_event("authentication", "", "b", "success")
    assert logger.head.seq == 0


class TestEventIds:
    def test_event_ids_are_canonical_uuid4(self) -> None:
        ids = {new_event_id() for _ in range(3000)}  # more than one batch of 256
        assert len(ids) == 3000
        assert all(uuid.UUID(i).version == 4 and uuid.UUID(i).variant == uuid.RFC_4122 for i in ids)
        assert all(str(uuid.UUID(i)) == i for i in ids)

    def test_variant_nibble_takes_all_four_values(self) -> None:
        assert {new_event_id()[19] for _ in range(2000)} == set("89ab")

    def test_threads_never_share_an_id(self) -> None:
        results: list[list[str]] = [[] for _ in range(4)]
        start = threading.Barrier(4)

        def take(out: list[str]) -> None:
            start.wait()
            out.extend(new_event_id() for _ in range(2000))

        threads = [threading.Thread(target=take, args=(out,)) for out in results]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        merged = [i for out in results for i in out]
        assert len(set(merged)) == len(merged) == 8000

    @pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
    def test_a_forked_child_does_not_repeat_the_parents_ids(self) -> None:
        new_event_id()  # the parent now holds a part-used batch
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: report its next ids and leave at once
            os.close(read_fd)
            os.write(write_fd, ",".join(new_event_id() for _ in range(5)).encode())
            os._exit(0)
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as pipe:
            child = pipe.read().decode().split(",")
        os.waitpid(pid, 0)
        parent = [new_event_id() for _ in range(5)]
        assert len(child) == 5
        assert not set(child) & set(parent)


class TestFileSinkPolicy:
    def test_fsync_always_and_never(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        calls: list[int] = []
        real = os.fsync
        monkeypatch.setattr(os, "fsync", lambda fd: calls.append(fd) or real(fd))
        always = JsonLinesFileSink(tmp_path / "a.jsonl", fsync="always")
        for _ in range(3):
            always.write(b"{}\n")
        assert len(calls) == 3
        calls.clear()
        never = JsonLinesFileSink(tmp_path / "n.jsonl", fsync="never")
        never.write(b"{}\n")
        never.close()
        assert calls == []
        always.close()

    def test_interval_policy_with_injected_clock(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        calls: list[int] = []
        real = os.fsync
        monkeypatch.setattr(os, "fsync", lambda fd: calls.append(fd) or real(fd))
        now = [0.0]
        sink = JsonLinesFileSink(tmp_path / "i.jsonl", fsync="interval", fsync_interval=1.0, clock=lambda: now[0])
        sink.write(b"{}\n")
        sink.write(b"{}\n")
        assert calls == []
        now[0] = 1.5
        sink.write(b"{}\n")
        assert len(calls) == 1
        sink.write(b"{}\n")
        sink.close()  # pending line fsync'ed on close
        assert len(calls) == 2
        assert (tmp_path / "i.jsonl").read_bytes().count(b"\n") == 4

    def test_bad_policy_named(self, tmp_path: Path) -> None:
        with pytest.raises(AuditConfigError, match="fsync must be one of"):
            JsonLinesFileSink(tmp_path / "x.jsonl", fsync="sometimes")


def test_flush_fsyncs_pending_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = os.fsync
    logger = AuditLogger(directory=tmp_path)  # fsync="interval": the first line is not synced at once
    logger.log_security_event("authentication", "ann", "login", "success")
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append(fd) or real(fd))
    logger.flush()
    assert len(calls) == 1
    logger.close()


def test_injected_clock_stamps_events(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    fixed = datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)
    logger = AuditLogger(directory=tmp_path, sinks=[Memory()], checkpoint_sink=Memory(), clock=lambda: fixed)
    assert logger.log_security_event("authentication", "a", "b", "success").timestamp == fixed


def test_time_based_checkpoints_with_injected_monotonic() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from infra_security.audit._chain import ChainHead
    from infra_security.audit._checkpoints import Checkpointer

    now = [0.0]
    sink = Memory()
    cp = Checkpointer(Ed25519PrivateKey.generate(), sink, "kid", every_events=1000, every_seconds=60,
                      monotonic=lambda: now[0])  # fmt: skip
    head = ChainHead(5, b"\x01" * 32)
    assert not cp.due(head)
    now[0] = 61.0
    assert cp.due(head)
    cp.write(head)
    assert not cp.due(head)  # nothing new since
    assert not cp.due(ChainHead(6, b"\x02" * 32))
    now[0] = 122.0
    assert cp.due(ChainHead(6, b"\x02" * 32))
    assert len(sink.lines) == 1
