"""Outbox.enqueue writes one row in the caller's transaction, or refuses."""

from __future__ import annotations

import json
import uuid

import pytest
from pydantic import BaseModel
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from infra_outbox import NewEvent, NoTransactionError, Outbox
from infra_outbox.errors import EventError, PayloadError
from infra_outbox.outbox import shard_of
from infra_outbox.tables import keys, log


def rows(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(log).order_by(log.c.id)).mappings()]


class TestEnqueue:
    def test_writes_a_pending_row_in_the_transaction(self, engine: Engine, clock) -> None:
        outbox = Outbox(clock=clock)
        with engine.begin() as conn:
            event_id = outbox.enqueue(
                conn,
                topic="users",
                key="u1",
                event_type="user_created",
                payload={"name": "ada"},
                headers={"trace": "abc"},
                aggregate_id="u1",
            )
        [row] = rows(engine)
        assert row["event_id"] == str(event_id)
        assert row["shard"] == shard_of("users", "u1", 16)
        assert row["payload"] == b'{"name":"ada"}'
        assert row["content_type"] == "application/json"
        assert json.loads(str(row["headers"])) == {"trace": "abc"}
        assert row["seq"] == 1
        assert row["created_at"] == clock.now

    def test_rolled_back_transaction_leaves_no_event(self, engine: Engine) -> None:
        outbox = Outbox()
        with engine.connect() as conn:
            transaction = conn.begin()
            outbox.enqueue(conn, topic="users", event_type="user_created", payload={})
            transaction.rollback()
        assert rows(engine) == []

    def test_sequences_are_per_topic_and_key_and_survive_rollbacks(self, engine: Engine) -> None:
        outbox = Outbox()
        with engine.begin() as conn:
            for key in ("a", "b", "a", "a"):
                outbox.enqueue(conn, topic="t", key=key, event_type="e", payload=key)
            outbox.enqueue(conn, topic="other", key="a", event_type="e", payload="x")
            outbox.enqueue(conn, topic="t", event_type="e", payload="no key")
        with engine.connect() as conn:
            transaction = conn.begin()
            outbox.enqueue(conn, topic="t", key="a", event_type="e", payload="rolled back")
            transaction.rollback()
        with engine.begin() as conn:
            outbox.enqueue(conn, topic="t", key="a", event_type="e", payload="after")
        seqs = [(r["topic"], r["key"], r["seq"]) for r in rows(engine)]
        assert seqs == [
            ("t", "a", 1),
            ("t", "b", 1),
            ("t", "a", 2),
            ("t", "a", 3),
            ("other", "a", 1),
            ("t", None, None),
            ("t", "a", 4),  # gapless: the rolled-back event's number was rolled back too
        ]
        with engine.connect() as conn:
            assert conn.execute(select(keys.c.last_seq).where(keys.c.key == "a", keys.c.topic == "t")).scalar() == 4

    def test_batch_form_keeps_given_order(self, engine: Engine) -> None:
        batch = [NewEvent(topic="t", key="k", event_type="e", payload=i) for i in range(5)]
        batch.append({"topic": "t", "key": "j", "event_type": "e", "payload": "m"})  # type: ignore[arg-type]
        with engine.begin() as conn:
            ids = Outbox().enqueue_many(conn, batch)
        assert [r["event_id"] for r in rows(engine)] == [str(i) for i in ids]
        assert [r["seq"] for r in rows(engine)] == [1, 2, 3, 4, 5, 1]

    def test_payload_kinds(self, engine: Engine) -> None:
        class User(BaseModel):
            id: int

        outbox = Outbox()
        with engine.begin() as conn:
            outbox.enqueue(conn, topic="t", event_type="e", payload=User(id=3))
            outbox.enqueue(conn, topic="t", event_type="e", payload=b"\x00raw")
            outbox.enqueue(conn, topic="t", event_type="e", payload=[1, "é"])
        got = [(r["payload"], r["content_type"]) for r in rows(engine)]
        assert got == [
            (b'{"id":3}', "application/json"),
            (b"\x00raw", "application/octet-stream"),
            ('[1,"é"]'.encode(), "application/json"),
        ]

    def test_session_inside_begin(self, engine: Engine) -> None:
        with Session(engine) as session, session.begin():
            Outbox().enqueue(session, topic="t", event_type="e", payload={})
        assert len(rows(engine)) == 1


class TestRefusals:
    def test_connection_without_transaction(self, engine: Engine) -> None:
        with engine.connect() as conn, pytest.raises(NoTransactionError, match="no open transaction"):
            Outbox().enqueue(conn, topic="t", event_type="e", payload={})

    def test_session_without_transaction(self, engine: Engine) -> None:
        with Session(engine) as session, pytest.raises(NoTransactionError, match="Session has no open transaction"):
            Outbox().enqueue(session, topic="t", event_type="e", payload={})

    def test_autocommit_connection(self, engine: Engine) -> None:
        auto = engine.execution_options(isolation_level="AUTOCOMMIT")
        with auto.connect() as conn:
            conn.execute(text("SELECT 1"))
            with pytest.raises(NoTransactionError, match="AUTOCOMMIT"):
                Outbox().enqueue(conn, topic="t", event_type="e", payload={})

    def test_not_a_connection(self) -> None:
        with pytest.raises(NoTransactionError, match="expected a SQLAlchemy Connection or Session, got str"):
            Outbox().enqueue("sqlite://", topic="t", event_type="e", payload={})  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"topic": "has space"}, "not a valid Kafka topic name"),
            ({"topic": ""}, "not a valid Kafka topic name"),
            ({"topic": "x" * 250}, "not a valid Kafka topic name"),
            ({"event_type": ""}, "event_type"),
            ({"key": "k" * 1025}, "1025 bytes in UTF-8, over the 1024-byte limit"),
            ({"key": "\U0001f600" * 300}, "1200 bytes in UTF-8, over the 1024-byte limit"),  # 300 characters
            ({"key": "a\x00b"}, "contains a NUL character"),
            ({"key": "a\ud800b"}, "lone surrogate"),
            ({"key": 7}, "key must be a string"),
            ({"event_type": "e\x00"}, "contains a NUL character"),
            ({"aggregate_id": "\udfff"}, "lone surrogate"),
            ({"headers": {"h": "\ud800"}}, "lone surrogate"),
            ({"headers": {"event_id": "mine"}}, "reserved"),
            ({"headers": {"n": 1}}, "string name to a string value"),
        ],
    )
    def test_invalid_event(self, engine: Engine, kwargs: dict[str, object], match: str) -> None:
        args: dict[str, object] = {"topic": "t", "event_type": "e", "payload": {}} | kwargs
        with engine.begin() as conn, pytest.raises(EventError, match=match):
            Outbox().enqueue(conn, **args)  # type: ignore[arg-type]
        assert rows(engine) == []

    def test_unserialisable_payload(self, engine: Engine) -> None:
        with engine.begin() as conn, pytest.raises(PayloadError, match="not JSON-serialisable") as info:
            Outbox().enqueue(conn, topic="t", event_type="e", payload={"when": object()})
        assert info.value.code == "outbox.invalid_payload"

    def test_nan_is_refused(self, engine: Engine) -> None:
        with engine.begin() as conn, pytest.raises(PayloadError):
            Outbox().enqueue(conn, topic="t", event_type="e", payload={"x": float("nan")})

    def test_oversized_record(self, engine: Engine) -> None:
        outbox = Outbox(max_record_bytes=100)
        with engine.begin() as conn, pytest.raises(PayloadError, match="over the 100-byte record limit") as info:
            outbox.enqueue(conn, topic="t", event_type="e", payload=b"x" * 101)
        assert info.value.code == "outbox.record_too_large"

    def test_a_bad_event_in_a_batch_writes_nothing(self, engine: Engine) -> None:
        batch = [NewEvent(topic="t", event_type="e", payload=1), NewEvent(topic="bad topic", event_type="e", payload=2)]
        with engine.begin() as conn, pytest.raises(EventError):
            Outbox().enqueue_many(conn, batch)
        assert rows(engine) == []

    def test_event_id_is_a_uuid(self, engine: Engine) -> None:
        with engine.begin() as conn:
            assert isinstance(Outbox().enqueue(conn, topic="t", event_type="e", payload=1), uuid.UUID)


class TestKeysThatPostgresWouldRefuse:
    def test_bad_key_keeps_the_callers_transaction_usable(self, engine: Engine) -> None:
        """The typed error comes before anything reaches the database: the caller's transaction goes on."""
        outbox = Outbox()
        with engine.begin() as conn:
            outbox.enqueue(conn, topic="t", key="ok", event_type="e", payload=1)
            for bad in ("x\x00", "\ud800", "\u00e9" * 600):
                with pytest.raises(EventError) as info:
                    outbox.enqueue(conn, topic="t", key=bad, event_type="e", payload=2)
                assert info.value.code == "outbox.invalid_key"
            outbox.enqueue(conn, topic="t", key="ok", event_type="e", payload=3)
        assert [r["payload"] for r in rows(engine)] == [b"1", b"3"]

    def test_a_1024_byte_multibyte_key_is_accepted(self, engine: Engine) -> None:
        key = "\u00e9" * 512  # 512 characters, 1024 bytes
        with engine.begin() as conn:
            Outbox().enqueue(conn, topic="t", key=key, event_type="e", payload=1)
        assert rows(engine)[0]["key"] == key
