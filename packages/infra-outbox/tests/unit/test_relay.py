"""The relay on SQLite with a fake Kafka: order per key, cursors, retries, DEAD, dead letters, isolation."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from infra_outbox import Backoff, Outbox, Relay, RelaySettings
from infra_outbox.admin import dead_events, outbox_stats, replay_dead, skip_dead
from infra_outbox.errors import EventNotFoundError, OutboxError
from infra_outbox.tables import held, log

from .conftest import Clock, FakeError, FakeMessage, FakeProducer


def write(engine: Engine, clock: Clock, *items: tuple[str | None, object], topic: str = "t") -> None:
    outbox = Outbox(clock=clock)
    with engine.begin() as conn:
        for key, payload in items:
            outbox.enqueue(conn, topic=topic, key=key, event_type="e", payload=payload)


def make_relay(engine: Engine, producer: FakeProducer, clock: Clock, **settings: object) -> Relay:
    defaults: dict[str, object] = {"backoff": Backoff(base=1.0, cap=8.0, jitter=0.0, max_attempts=3)}
    return Relay(
        engine,
        "127.0.0.1:9",
        settings=RelaySettings(**(defaults | settings)),
        producer=producer,
        clock=clock,  # type: ignore[arg-type]
        rand=lambda: 0.5,
    )


def first_seqs(messages: list[dict[str, Any]], key: str) -> list[int]:
    """The sequence numbers of a key in first-delivery order."""
    seen: list[int] = []
    for m in messages:
        if m["key"] == key:
            seq = int(m["headers"]["event_seq"])
            if seq not in seen:
                seen.append(seq)
    return seen


class SmallQueueProducer(FakeProducer):
    """librdkafka with a tiny local queue: produce raises BufferError until poll serves the reports."""

    def produce(self, topic: str, value: bytes | None = None, key: str | None = None, **kwargs: Any) -> None:
        if len(self._pending) >= 3:
            raise BufferError("Local: Queue full")
        super().produce(topic, value, key, **kwargs)


class TestPublish:
    def test_a_full_local_queue_is_waited_out_and_every_report_counted(self, engine: Engine, clock: Clock) -> None:
        """Reports served while the queue is full come in before the page's count: none is lost or waited for."""
        producer = SmallQueueProducer()
        write(engine, clock, *[(f"k{i % 4}", i) for i in range(50)])
        started = time.monotonic()
        report = make_relay(engine, producer, clock, batch_size=20).drain()
        assert report.published == 50
        assert time.monotonic() - started < 5  # no page waited for a report it had already received
        assert [int(v) for v in producer.values("k1")] == list(range(1, 50, 4))

    def test_publishes_in_order_with_headers(self, engine: Engine, producer: FakeProducer, clock: Clock) -> None:
        write(engine, clock, ("a", 1), ("b", 2), ("a", 3), (None, 4))
        report = make_relay(engine, producer, clock).drain()
        assert report.published == 4
        assert producer.values("a") == [b"1", b"3"]
        first = producer.delivered[0]["headers"]
        assert first["event_seq"] == "1"
        assert first["event_type"] == "e"
        assert len(first["event_id"]) == 36
        assert "event_seq" not in next(m for m in producer.delivered if m["key"] is None)["headers"]
        assert outbox_stats(engine, now=clock.now).pending == 0

    def test_user_headers_travel(self, engine: Engine, producer: FakeProducer, clock: Clock) -> None:
        with engine.begin() as conn:
            Outbox().enqueue(conn, topic="t", event_type="e", payload=1, headers={"trace": "x"}, aggregate_id="agg")
        make_relay(engine, producer, clock).drain()
        headers = producer.delivered[0]["headers"]
        assert headers["trace"] == "x"
        assert headers["aggregate_id"] == "agg"

    def test_cursor_moves_once_per_page_and_events_are_not_touched(
        self, engine: Engine, producer: FakeProducer, clock: Clock
    ) -> None:
        write(engine, clock, *[(f"k{i % 7}", i) for i in range(95)])
        updates: list[str] = []
        from sqlalchemy import event

        @event.listens_for(engine, "before_cursor_execute")
        def spy(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if statement.lstrip().upper().startswith(("UPDATE", "DELETE")):
                updates.append(statement.split()[1])

        make_relay(engine, producer, clock, batch_size=10).drain()
        event.remove(engine, "before_cursor_execute", spy)
        assert len(producer.delivered) == 95
        assert "infra_outbox_log" not in updates  # no per-event write: the log is only read
        assert updates.count("infra_outbox_shards") <= 10 + 3  # one cursor move per page, plus the heartbeat
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(log)).scalar_one() == 95

    def test_a_second_drain_sends_nothing_again(self, engine: Engine, producer: FakeProducer, clock: Clock) -> None:
        write(engine, clock, ("a", 1), ("b", 2))
        relay = make_relay(engine, producer, clock)
        relay.drain()
        relay.close()
        write(engine, clock, ("a", 3))
        make_relay(engine, producer, clock).drain()  # a new relay starts from the stored cursors
        assert producer.values("a") == [b"1", b"3"]

    def test_rolled_back_events_are_never_sent(self, engine: Engine, producer: FakeProducer, clock: Clock) -> None:
        with engine.connect() as conn:
            transaction = conn.begin()
            Outbox().enqueue(conn, topic="t", key="a", event_type="e", payload="ghost")
            transaction.rollback()
        write(engine, clock, ("a", "real"))
        make_relay(engine, producer, clock).drain()
        assert producer.values() == [b'"real"']

    def test_totals_keep_no_per_event_latency(self, engine: Engine, producer: FakeProducer, clock: Clock) -> None:
        write(engine, clock, *[("k", i) for i in range(30)])
        total = make_relay(engine, producer, clock, batch_size=5).drain()
        assert total.published == 30
        assert total.latencies == []  # a long drain does not grow with the events it sent


class TestCrashBetweenSendAndCursor:
    def test_page_is_sent_again_never_reordered(self, engine: Engine, clock: Clock) -> None:
        write(engine, clock, *[(f"k{i % 3}", i) for i in range(30)])
        producer = FakeProducer()
        relay = make_relay(engine, producer, clock, batch_size=8)
        relay.run_once(max_pages=1)  # page 1 sent and its cursor moved
        moved = list(producer.delivered)

        original = Relay._results

        def crash(self: Relay, events: Any, sent: Any) -> Any:
            original(self, events, sent)  # Kafka acknowledged the page...
            raise RuntimeError("relay killed between send and cursor advance")  # ...its cursor never moves

        Relay._results = crash  # type: ignore[method-assign]
        try:
            with pytest.raises(RuntimeError):
                relay.run_once(max_pages=1)
        finally:
            Relay._results = original  # type: ignore[method-assign]
        assert len(producer.delivered) > len(moved)  # page 2 reached Kafka, its cursor did not move
        clock.advance(61)  # the crashed relay's leases and heartbeat run out
        successor = FakeProducer()
        make_relay(engine, successor, clock, batch_size=8).drain()
        everything = producer.delivered + successor.delivered
        for key in ("k0", "k1", "k2"):
            assert first_seqs(everything, key) == list(range(1, 11)), key
        assert len({m["headers"]["event_id"] for m in everything}) == 30
        assert len(everything) - 30 == len(producer.delivered) - len(moved)  # duplicates: page 2 only


class TestDeliveryReports:
    """A page's reports go to one callback; a failed one is matched to its event by the ``event_id`` header."""

    def test_a_failure_holds_only_its_own_key_though_reports_carry_no_headers(
        self, engine: Engine, clock: Clock
    ) -> None:
        """A failed report is matched to its event by topic, key and value: the other keys of the page flow."""
        write(engine, clock, ("a", 1), ("b", 1), ("a", 2), ("c", 1), ("b", 2))
        producer = FakeProducer(fail=lambda t, k, v: FakeError("_MSG_TIMED_OUT") if (k, v) == ("a", b"2") else None)
        report = make_relay(engine, producer, clock).drain()
        assert (report.published, report.retried, report.held) == (4, 1, 0)
        assert producer.values("a") == [b"1"]
        assert producer.values("b") == [b"1", b"2"]

    def test_twins_are_both_counted_failed_and_none_is_lost(self, engine: Engine, clock: Clock) -> None:
        """Two events of one key with the same value cannot be told apart: both count as failed, sent again."""
        write(engine, clock, ("a", "same"), ("a", "same"), ("b", 1))
        calls = {"a": 0}

        def fail(_topic: str, key: str | None, _value: bytes) -> FakeError | None:
            if key == "a":
                calls["a"] += 1
                if calls["a"] == 2:  # only the second twin fails
                    return FakeError("_MSG_TIMED_OUT")
            return None

        producer = FakeProducer(fail=fail)
        relay = make_relay(engine, producer, clock)
        report = relay.drain()
        assert (report.published, report.retried, report.held) == (1, 1, 1)  # b; the first twin; the second
        clock.advance(1.1)
        relay.drain()
        assert producer.values("a") == [b'"same"', b'"same"', b'"same"']  # at least once: the first went twice
        assert outbox_stats(engine, now=clock.now).pending == 0

    def test_a_failed_report_without_its_message_fails_the_whole_page(self, engine: Engine, clock: Clock) -> None:
        """A report that names no event (never from librdkafka) cannot be matched: every event is sent again."""

        class Anonymous(FakeProducer):
            def flush(self, timeout: float = 0) -> int:
                pending, self._pending = self._pending, []
                for callback, message in pending:
                    err = FakeError("_MSG_TIMED_OUT") if message["key"] == "a" and broken["on"] else None
                    if err is None:
                        self.delivered.append(message)
                    callback(err, None if err is not None else FakeMessage(message))
                return 0

        broken = {"on": True}
        write(engine, clock, ("a", 1), ("b", 1), ("c", 1))
        producer = Anonymous()
        relay = make_relay(engine, producer, clock)
        report = relay.drain()
        assert (report.published, report.retried) == (0, 3)
        broken["on"] = False
        clock.advance(1.1)
        relay.drain()
        assert outbox_stats(engine, now=clock.now).pending == 0
        assert [producer.values(k)[-1] for k in "abc"] == [b"1", b"1", b"1"]


class TestFailures:
    def test_retriable_failure_parks_only_its_key(self, engine: Engine, clock: Clock) -> None:
        flaky = {"count": 0}

        def fail(_topic: str, key: str | None, value: bytes) -> FakeError | None:
            if key == "a" and value == b"2" and flaky["count"] < 2:
                flaky["count"] += 1
                return FakeError("_MSG_TIMED_OUT")
            return None

        producer = FakeProducer(fail=fail)
        write(engine, clock, ("a", 1), ("a", 2), ("b", 1), ("a", 3), ("b", 2))
        relay = make_relay(engine, producer, clock)
        report = relay.drain()
        assert (report.retried, report.held) == (1, 1)
        assert producer.values("b") == [b"1", b"2"]  # other keys flow
        assert producer.values("a") == [b"1"]
        stats = outbox_stats(engine, now=clock.now)
        assert (stats.retrying, stats.parked) == (1, 1)
        write(engine, clock, ("a", 4))  # a new event of a parked key waits behind it
        relay.drain()
        assert producer.values("a") == [b"1"]
        clock.advance(1.1)
        relay.drain()  # second failure: backoff 2 s
        assert producer.values("a") == [b"1"]
        clock.advance(2.1)
        relay.drain()
        assert producer.values("a") == [b"1", b"2", b"3", b"4"]
        stats = outbox_stats(engine, now=clock.now)
        assert (stats.retrying, stats.parked, stats.dead) == (0, 0, 0)
        write(engine, clock, ("a", 5))  # the key flows from the log again
        relay.drain()
        assert producer.values("a")[-1] == b"5"

    def test_permanent_failure_is_dead_and_key_parked_until_skip(self, engine: Engine, clock: Clock) -> None:
        producer = FakeProducer(fail=lambda t, k, v: FakeError("INVALID_RECORD", False) if v == b'"bad"' else None)
        write(engine, clock, ("a", "ok"), ("a", "bad"), ("a", "after"), ("b", "fine"))
        relay = make_relay(engine, producer, clock)
        report = relay.drain()
        assert report.dead == 1
        [dead] = dead_events(engine)
        assert dead.key == "a"
        assert dead.last_error is not None and dead.last_error.startswith("INVALID_RECORD")
        assert dead.payload == b'"bad"'
        assert producer.values("b") == [b'"fine"']
        assert skip_dead(engine, key="a", topic="t") == 1
        relay.drain()
        assert producer.values("a")[-1] == b'"after"'
        assert outbox_stats(engine, now=clock.now).unpublished == 0
        with engine.connect() as conn:
            note = conn.execute(select(held.c.last_error).where(held.c.state == "skipped")).scalar_one()
        assert note.startswith("[skipped by an operator at ")

    def test_replay_sends_the_dead_event_before_its_parked_followers(self, engine: Engine, clock: Clock) -> None:
        broken = {"on": True}
        producer = FakeProducer(
            fail=lambda t, k, v: FakeError("INVALID_RECORD", False) if broken["on"] and v == b"2" else None
        )
        write(engine, clock, ("a", 1), ("a", 2), ("a", 3))
        relay = make_relay(engine, producer, clock)
        relay.drain()
        write(engine, clock, ("a", 4))
        relay.drain()
        broken["on"] = False
        [dead] = dead_events(engine)
        assert replay_dead(engine, event_id=dead.id) == 1
        relay.drain()
        assert first_seqs(producer.delivered, "a") == [1, 2, 3, 4]

    def test_gives_up_after_max_attempts(self, engine: Engine, clock: Clock) -> None:
        producer = FakeProducer(fail=lambda t, k, v: FakeError("_TRANSPORT"))
        write(engine, clock, ("a", 1))
        relay = make_relay(engine, producer, clock)
        for _ in range(4):
            relay.drain()
            clock.advance(10)
        [dead] = dead_events(engine)
        assert dead.attempts == 3
        assert dead.last_error is not None and dead.last_error.startswith("gave up after 3 attempts")

    def test_replay_and_skip_need_a_dead_event(self, engine: Engine) -> None:
        with pytest.raises(EventNotFoundError, match="no dead event matches key 'nope'"):
            skip_dead(engine, key="nope")
        with pytest.raises(EventNotFoundError, match="name an event"):
            replay_dead(engine)

    def test_corrupt_stored_headers_are_dead_with_a_clear_reason(
        self, engine: Engine, producer: FakeProducer, clock: Clock
    ) -> None:
        write(engine, clock, ("a", 1), ("b", 2))
        with engine.begin() as conn:
            conn.execute(text("UPDATE infra_outbox_log SET headers = '{not json' WHERE key = 'a'"))
        make_relay(engine, producer, clock).drain()
        [dead] = dead_events(engine)
        assert dead.key == "a"
        assert dead.last_error is not None
        assert "stored headers of event" in dead.last_error and "not valid JSON" in dead.last_error
        assert producer.values("b") == [b"2"]


class BatchRejecting(FakeProducer):
    """Like a broker with a small max.message.bytes: a flush fails every pending record if one is too big."""

    def flush(self, timeout: float = 0) -> int:
        pending, self._pending = self._pending, []
        poisoned = any(len(m["value"] or b"") > 100 for _, m in pending) or len(pending) > 3
        for callback, message in pending:
            err = FakeError("MSG_SIZE_TOO_LARGE", False) if poisoned else None
            if err is None:
                self.delivered.append(message)
            if callback is not None:
                callback(err, FakeMessage(message))
        return 0


class TestIsolation:
    def test_only_the_guilty_event_is_dead_even_when_each_round_sees_one_suspect(
        self, engine: Engine, clock: Clock
    ) -> None:
        producer = BatchRejecting()
        write(engine, clock, *[(f"k{i}", i) for i in range(5)], ("big", "x" * 200), ("big", "after"))
        make_relay(engine, producer, clock, batch_size=2).drain()
        [dead] = dead_events(engine)
        assert dead.key == "big"
        assert sorted(m["key"] for m in producer.delivered) == [f"k{i}" for i in range(5)]
        assert outbox_stats(engine, now=clock.now).parked == 1

    def test_record_over_the_topic_limit_is_dead_without_being_sent(self, engine: Engine, clock: Clock) -> None:
        producer = FakeProducer()
        relay = make_relay(engine, producer, clock)
        relay.pool._describe = lambda topic: 1500  # a topic with max.message.bytes=1500
        write(engine, clock, ("a", "x" * 1000), ("a", "y" * 1600), ("b", "z" * 1000))
        relay.drain()
        [dead] = dead_events(engine)
        assert "over the 1500-byte limit of topic 't'" in (dead.last_error or "")
        assert [len(m["value"]) for m in producer.sent] == [1002, 1002]  # the big one never left


class TestDeadLetter:
    def test_copy_with_reason_headers(self, engine: Engine, clock: Clock) -> None:
        producer = FakeProducer(fail=lambda t, k, v: FakeError("INVALID_RECORD", False) if t == "t" else None)
        write(engine, clock, ("a", 1))
        relay = make_relay(engine, producer, clock, dead_letter_topic="t.dead")
        relay.drain()
        relay.drain()
        [copy] = [m for m in producer.delivered if m["topic"] == "t.dead"]
        assert copy["headers"]["original_topic"] == "t"
        assert copy["headers"]["dead_reason"].startswith("INVALID_RECORD")
        with engine.connect() as conn:
            assert conn.execute(select(held.c.dead_letter)).scalar_one() == "sent"

    def test_failed_copy_is_reported_and_retried(
        self, engine: Engine, clock: Clock, caplog: pytest.LogCaptureFixture
    ) -> None:
        dlq_down = {"on": True}

        def fail(topic: str, _key: str | None, _value: bytes) -> FakeError | None:
            if topic == "t":
                return FakeError("INVALID_RECORD", False)
            return FakeError("_UNKNOWN_TOPIC") if dlq_down["on"] else None

        producer = FakeProducer(fail=fail)
        write(engine, clock, ("a", 1))
        relay = make_relay(engine, producer, clock, dead_letter_topic="t.dead")
        with caplog.at_level(logging.ERROR, logger="infra_outbox.relay"):
            relay.drain()
            relay.drain()
        assert "could not copy dead event" in caplog.text and "it will be retried" in caplog.text
        with engine.connect() as conn:
            assert conn.execute(select(held.c.dead_letter)).scalar_one() == "pending"
        dlq_down["on"] = False
        relay.drain()
        with engine.connect() as conn:
            assert conn.execute(select(held.c.dead_letter)).scalar_one() == "sent"

    @pytest.mark.parametrize("name", ["bad topic", "", "x" * 250, ".."])
    def test_invalid_dead_letter_topic_is_refused(self, name: str) -> None:
        with pytest.raises(ValueError, match="not a valid Kafka topic name"):
            RelaySettings(dead_letter_topic=name)


class TestSettings:
    def test_message_timeout_must_fit_the_lease(self, engine: Engine, producer: FakeProducer) -> None:
        with pytest.raises(OutboxError, match="must be under three quarters of the lease"):
            Relay(engine, {"bootstrap_servers": "h:9", "message_timeout_ms": 60_000}, producer=producer)

    def test_batch_size_must_be_positive(self) -> None:
        with pytest.raises(ValueError, match="batch_size"):
            RelaySettings(batch_size=0)


class TestRetention:
    def test_sqlite_retires_read_events_past_the_retention(
        self, engine: Engine, producer: FakeProducer, clock: Clock
    ) -> None:
        write(engine, clock, ("a", 1), ("b", 2))
        relay = make_relay(engine, producer, clock, retention_seconds=60)
        relay.drain()
        write(engine, clock, ("c", 3))  # not read yet: kept whatever its age
        assert relay.housekeeping() == 0  # read, but younger than the retention
        clock.advance(61)
        assert relay.housekeeping() == 2
        with engine.connect() as conn:
            assert [json.loads(p) for (p,) in conn.execute(select(log.c.payload))] == [3]


class TestLogLines:
    def test_start_progress_and_stop_are_logged(
        self, engine: Engine, producer: FakeProducer, clock: Clock, caplog: pytest.LogCaptureFixture
    ) -> None:
        import threading

        write(engine, clock, ("a", 1), ("b", 2))
        relay = Relay(
            engine, "h:9", settings=RelaySettings(max_interval=0.05, progress_interval=0.0), producer=producer
        )
        with caplog.at_level(logging.INFO, logger="infra_outbox.relay"):
            thread = threading.Thread(target=relay.run)
            thread.start()
            deadline = time.monotonic() + 5
            while len(producer.delivered) < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(0.2)
            relay.stop()
            thread.join(10)
        text_ = caplog.text
        assert f"relay {relay.relay_id} started" in text_
        assert f"relay {relay.relay_id} took shards" in text_
        assert f"relay {relay.relay_id} progress: 2 published" in text_
        assert f"relay {relay.relay_id} stopped: 2 published, 0 retried, 0 dead" in text_
        assert f"relay {relay.relay_id} released shards" in text_


class TestDocs:
    def test_guide_states_the_autovacuum_settings_the_ddl_creates(self) -> None:
        """The guide once gave a wrong threshold: it must describe what `db init` really creates."""
        from pathlib import Path

        from infra_outbox.tables import postgres_log_ddl

        path = Path(__file__).resolve().parents[4] / "docs" / "infra-outbox.md"
        if not path.is_file():
            pytest.skip("the guide lives in the repository's docs/, not in the sdist")
        guide = path.read_text()
        ddl = " ".join(postgres_log_ddl()).lower()
        assert "autovacuum" not in ddl  # the log keeps PostgreSQL's defaults: nothing to vacuum there
        assert "keep PostgreSQL's default" in guide.replace("\n", " ")
        assert "5,000 rows" not in guide and "scale_factor" not in guide


class _Killed(BaseException):
    """Stands for the relay process dying (SIGKILL, OOM) in the middle of sending."""


class TestEventThatKillsEveryRelay:
    def test_goes_dead_unsent_after_the_crash_limit_and_others_flow(self, engine: Engine, clock: Clock) -> None:
        class Killer(FakeProducer):
            def produce(self, topic: str, value: bytes | None = None, key: str | None = None, **kwargs: Any) -> None:
                if value == b'"boom"':
                    raise _Killed
                super().produce(topic, value, key, **kwargs)

        write(engine, clock, *[(f"k{i % 4}", i) for i in range(12)], ("p", "boom"), ("p", "after"), ("k0", 99))
        delivered: list[dict[str, Any]] = []
        relays = 0
        for _ in range(6):
            producer = Killer()
            relay = make_relay(engine, producer, clock, batch_size=50)
            relays += 1
            try:
                relay.drain()
            except _Killed:
                delivered += producer.delivered
                clock.advance(61)  # the dead relay's lease runs out
                continue
            delivered += producer.delivered
            break
        assert relays == 4  # two normal tries, one careful try that names the suspect, then DEAD unsent
        [dead] = dead_events(engine)
        assert dead.payload == b'"boom"'
        assert dead.attempts == 3
        assert dead.last_error is not None and dead.last_error.startswith("abandoned after 3 attempts")
        assert outbox_stats(engine, now=clock.now).parked == 1  # "after" waits behind it
        assert b'"boom"' not in [m["value"] for m in delivered]
        for key in ("k0", "k1", "k2", "k3"):
            assert first_seqs(delivered, key) == sorted(first_seqs(delivered, key)), key
        assert {int(m["value"]) for m in delivered if m["key"] != "p"} == {*range(12), 99}

    def test_relays_dying_after_the_suspect_was_sent_never_make_it_dead(self, engine: Engine, clock: Clock) -> None:
        """Deaths between Kafka's acknowledgement and the cursor move say nothing against the event."""
        write(engine, clock, *[(f"k{i % 3}", i) for i in range(9)])
        original = Relay._results

        def die_after_ack(self: Relay, events: Any, sent: Any) -> Any:
            original(self, events, sent)
            raise _Killed

        delivered: list[dict[str, Any]] = []
        Relay._results = die_after_ack  # type: ignore[method-assign]
        try:
            for _ in range(5):  # two normal deaths, then three deaths in careful mode on the same suspect
                producer = FakeProducer()
                with pytest.raises(_Killed):
                    make_relay(engine, producer, clock).drain()
                delivered += producer.delivered
                clock.advance(61)
        finally:
            Relay._results = original  # type: ignore[method-assign]
        producer = FakeProducer()
        make_relay(engine, producer, clock).drain()
        delivered += producer.delivered
        assert dead_events(engine) == []
        assert {int(m["value"]) for m in delivered} == set(range(9))
        for key in ("k0", "k1", "k2"):
            assert first_seqs(delivered, key) == [1, 2, 3], key
