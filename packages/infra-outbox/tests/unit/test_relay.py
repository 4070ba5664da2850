"""The relay: order per key, leases and fencing, retries, DEAD and the dead-letter topic (SQLite, fake Kafka)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, select, update

from infra_outbox import Backoff, Outbox, Relay, RelaySettings
from infra_outbox.admin import dead_events, outbox_stats, replay_dead, skip_dead
from infra_outbox.errors import EventNotFoundError, OutboxError
from infra_outbox.lease import Settlement, claim_batch, settle_batch
from infra_outbox.tables import events

from .conftest import Clock, FakeError, FakeProducer


def write(engine: Engine, clock: Clock, *items: tuple[str | None, object], topic: str = "t") -> None:
    outbox = Outbox(clock=clock)
    with engine.begin() as conn:
        for key, payload in items:
            outbox.enqueue(conn, topic=topic, key=key, event_type="e", payload=payload)


def statuses(engine: Engine) -> list[tuple[str | None, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(events.c.key, events.c.status).order_by(events.c.id))]  # type: ignore[misc]


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


class TestPublish:
    def test_publishes_in_order_with_headers(self, engine: Engine, producer: FakeProducer, clock: Clock) -> None:
        write(engine, clock, ("a", 1), ("b", 2), ("a", 3), (None, 4))
        report = make_relay(engine, producer, clock).drain()
        assert report.published == 4
        assert producer.values("a") == [b"1", b"3"]
        first = producer.delivered[0]["headers"]
        assert first["event_seq"] == "1"
        assert first["event_type"] == "e"
        assert len(first["event_id"]) == 36
        assert "event_seq" not in producer.delivered[-1]["headers"]  # no key, no sequence
        assert [s for _, s in statuses(engine)] == ["published"] * 4

    def test_user_headers_travel(self, engine: Engine, producer: FakeProducer, clock: Clock) -> None:
        with engine.begin() as conn:
            Outbox().enqueue(conn, topic="t", event_type="e", payload=1, headers={"trace": "x"}, aggregate_id="agg")
        make_relay(engine, producer, clock).drain()
        headers = producer.delivered[0]["headers"]
        assert headers["trace"] == "x"
        assert headers["aggregate_id"] == "agg"

    def test_batch_size_bounds_a_claim(self, engine: Engine, producer: FakeProducer, clock: Clock) -> None:
        write(engine, clock, *[(f"k{i}", i) for i in range(7)])
        relay = make_relay(engine, producer, clock, batch_size=3)
        assert relay.run_once().claimed == 3
        assert relay.drain().published == 4

    def test_drain_goes_on_when_the_batch_in_flight_holds_every_key(
        self, engine: Engine, producer: FakeProducer, clock: Clock
    ) -> None:
        write(engine, clock, *[(f"k{i % 3}", i) for i in range(15)])
        report = make_relay(engine, producer, clock, batch_size=3).drain()
        assert report.published == 15
        for key in ("k0", "k1", "k2"):
            assert [int(m["headers"]["event_seq"]) for m in producer.delivered if m["key"] == key] == [1, 2, 3, 4, 5]

    def test_run_serves_until_stopped(self, engine: Engine, producer: FakeProducer) -> None:
        import threading
        import time

        relay = Relay(engine, "127.0.0.1:9", settings=RelaySettings(max_interval=0.05), producer=producer)
        thread = threading.Thread(target=relay.run)
        thread.start()
        try:
            with engine.begin() as conn:
                Outbox().enqueue(conn, topic="t", key="k", event_type="e", payload=1)
            deadline = time.monotonic() + 5
            while not producer.delivered and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            relay.stop()
            thread.join(5)
        assert not thread.is_alive()
        assert producer.values("k") == [b"1"]

    def test_run_does_not_pause_between_batches_of_a_backlog(self, engine: Engine, producer: FakeProducer) -> None:
        import threading
        import time

        write(engine, Clock(time.time()), *[(f"k{i % 3}", i) for i in range(30)])
        relay = Relay(engine, "127.0.0.1:9", settings=RelaySettings(batch_size=3, max_interval=30.0), producer=producer)
        thread = threading.Thread(target=relay.run)
        started = time.monotonic()
        thread.start()
        try:
            while len(producer.delivered) < 30 and time.monotonic() - started < 10:
                time.sleep(0.01)
        finally:
            relay.stop()
            thread.join(40)
        assert len(producer.delivered) == 30
        assert time.monotonic() - started < 10  # a pause of max_interval between batches would take minutes

    def test_retention_zero_deletes_on_publish(self, engine: Engine, producer: FakeProducer, clock: Clock) -> None:
        write(engine, clock, ("a", 1))
        make_relay(engine, producer, clock, retention_seconds=0).drain()
        assert statuses(engine) == []

    def test_latency_is_commit_to_ack(self, engine: Engine, producer: FakeProducer, clock: Clock) -> None:
        write(engine, clock, ("a", 1))
        clock.advance(0.25)
        report = make_relay(engine, producer, clock).drain()
        assert report.latencies == [pytest.approx(0.25)]


class TestFailures:
    def test_failed_key_waits_others_flow(self, engine: Engine, clock: Clock) -> None:
        broken = {"bad"}
        producer = FakeProducer(fail=lambda t, k, v: FakeError("_MSG_TIMED_OUT", False) if k in broken else None)
        write(engine, clock, ("bad", 1), ("good", 2), ("bad", 3), ("good", 4))
        relay = make_relay(engine, producer, clock)
        report = relay.run_once()
        assert (report.published, report.retried, report.released) == (2, 1, 1)
        assert producer.values("good") == [b"2", b"4"]
        assert statuses(engine) == [("bad", "failed"), ("good", "published"), ("bad", "pending"), ("good", "published")]
        assert relay.run_once().claimed == 0  # the key waits for its backoff; its tail cannot overtake
        broken.clear()
        clock.advance(1.0)
        relay.drain()
        assert producer.values("bad") == [b"1", b"3"]

    def test_backoff_grows_and_event_goes_dead(self, engine: Engine, clock: Clock) -> None:
        producer = FakeProducer(fail=lambda t, k, v: FakeError("_TRANSPORT", True))
        write(engine, clock, ("k", 1), ("k", 2))
        relay = make_relay(engine, producer, clock)
        waits = []
        for _ in range(3):
            assert relay.run_once().claimed == 2
            with engine.connect() as conn:
                next_at = conn.execute(select(events.c.next_attempt_at).where(events.c.seq == 1)).scalar_one()
            waits.append(next_at - clock.now)
            clock.advance(next_at - clock.now)
        assert waits[:2] == [1.0, 2.0]
        assert statuses(engine) == [("k", "dead"), ("k", "pending")]
        clock.advance(3600)
        assert relay.run_once().claimed == 0  # a dead head parks its key
        [dead] = dead_events(engine)
        assert dead.attempts == 3
        assert "gave up after 3 attempts" in (dead.last_error or "")

    def test_permanent_error_is_dead_at_once(self, engine: Engine, clock: Clock) -> None:
        producer = FakeProducer(fail=lambda t, k, v: FakeError("MSG_SIZE_TOO_LARGE", False) if v == b"1" else None)
        write(engine, clock, ("poison", 1), ("poison", 2), ("other", 3))
        report = make_relay(engine, producer, clock).run_once()
        assert (report.dead, report.published, report.released) == (1, 1, 1)
        assert statuses(engine) == [("poison", "dead"), ("poison", "pending"), ("other", "published")]

    def test_oversized_record_is_not_sent(self, engine: Engine, producer: FakeProducer, clock: Clock) -> None:
        write(engine, clock, ("k", "x" * 200), ("k", 2))
        report = make_relay(engine, producer, clock, max_record_bytes=100).run_once()
        assert report.dead == 1
        assert producer.sent == []  # neither the big record nor the rest of its key

    def test_dead_letter_topic_gets_a_copy(self, engine: Engine, clock: Clock) -> None:
        producer = FakeProducer(fail=lambda t, k, v: FakeError("INVALID_RECORD", False) if t == "t" else None)
        write(engine, clock, ("k", 1))
        make_relay(engine, producer, clock, dead_letter_topic="t.dlq").run_once()
        [copy] = producer.delivered
        assert copy["topic"] == "t.dlq"
        assert copy["headers"]["original_topic"] == "t"
        assert "INVALID_RECORD" in copy["headers"]["dead_reason"]

    def test_replay_and_skip(self, engine: Engine, clock: Clock) -> None:
        poisoned = {"k"}  # the broker rejects the key's records (e.g. a schema rule) until fixed
        producer = FakeProducer(fail=lambda t, k, v: FakeError("INVALID_RECORD", False) if k in poisoned else None)
        write(engine, clock, ("k", 1), ("k", 2), ("j", "j"))
        relay = make_relay(engine, producer, clock)
        relay.drain()
        [dead] = dead_events(engine)
        assert replay_dead(engine, key="k", topic="t", now=clock.now) == 1
        relay.drain()
        assert statuses(engine)[0] == ("k", "dead")  # still poisoned: dead again
        poisoned.clear()
        assert skip_dead(engine, event_id=dead.id) == 1
        relay.drain()
        assert producer.values("k") == [b"2"]
        assert statuses(engine) == [("k", "skipped"), ("k", "published"), ("j", "published")]
        with engine.connect() as conn:
            audit = conn.execute(select(events.c.last_error).where(events.c.id == dead.id)).scalar_one()
        assert audit.startswith("[skipped by an operator at ")
        assert "INVALID_RECORD" in audit
        with pytest.raises(EventNotFoundError, match="no dead event matches key 'k'"):
            skip_dead(engine, key="k")
        with pytest.raises(EventNotFoundError, match="name an event"):
            replay_dead(engine)


class TestLeases:
    def test_a_leased_key_is_not_claimed_twice(self, engine: Engine, clock: Clock) -> None:
        write(engine, clock, ("a", 1), ("a", 2), ("b", 3))
        first = claim_batch(engine, token="one", now=clock.now, lease_seconds=60, limit=2)
        assert [(e.key, e.seq) for e in first] == [("a", 1), ("a", 2)]  # a head and its follower
        second = claim_batch(engine, token="two", now=clock.now, lease_seconds=60, limit=10)
        assert [(e.key, e.seq) for e in second] == [("b", 1)]

    def test_a_key_behind_a_leased_head_is_not_claimed(self, engine: Engine, clock: Clock) -> None:
        write(engine, clock, ("a", 1), ("a", 2), ("a", 3))
        assert len(claim_batch(engine, token="one", now=clock.now, lease_seconds=60, limit=2)) == 2
        # a.3 is pending and unleased, but a.1 and a.2 are in flight: a.3 must wait for them
        assert claim_batch(engine, token="two", now=clock.now, lease_seconds=60, limit=10) == []

    def test_lease_statement_rechecks_heads(self, engine: Engine, clock: Clock) -> None:
        from infra_outbox.lease import _lease_statement

        write(engine, clock, ("a", 1), ("a", 2))
        assert len(claim_batch(engine, token="one", now=clock.now, lease_seconds=60, limit=10)) == 2
        with engine.begin() as conn:  # a stale proposal (made before relay one leased the key) is refused
            rows = conn.execute(
                _lease_statement("sqlite"),
                {"now": clock.now, "until": clock.now + 60, "token": "two", "heads": [1], "ids": [1, 2]},
            ).all()
        assert rows == []

    def test_proposal_keeps_each_key_contiguous(self) -> None:
        from infra_outbox.lease import propose

        rows = [
            (1, "t", "a", 1, "pending"),
            (2, "t", "a", 2, "pending"),
            (3, "t", "b", 4, "failed"),  # a due retry: the head of b
            (4, "t", "a", 4, "pending"),  # a.3 is missing here (in flight or dead): a stops at a.2
            (5, "t", "b", 5, "pending"),
            (6, "t", None, None, "pending"),
            (7, "t", "a", 5, "pending"),
        ]
        heads, picked = propose(rows, limit=10)
        assert heads == [1, 3, 6]
        assert [i for i, _ in picked] == [1, 2, 3, 5, 6]
        assert len(propose(rows, limit=2)[1]) == 2

    def test_a_dead_event_parks_its_key_but_not_others(self, engine: Engine, clock: Clock) -> None:
        write(engine, clock, ("a", 1), ("a", 2), ("b", 3))
        with engine.begin() as conn:
            conn.execute(update(events).where(events.c.id == 1).values(status="dead"))
        claimed = claim_batch(engine, token="x", now=clock.now, lease_seconds=60, limit=10)
        assert [(e.key, e.seq) for e in claimed] == [("b", 1)]

    def test_many_dead_rows_do_not_starve_other_keys(self, engine: Engine, clock: Clock) -> None:
        write(engine, clock, *[("poison", i) for i in range(30)], ("ok", "x"))
        with engine.begin() as conn:
            conn.execute(update(events).where(events.c.key == "poison", events.c.seq == 1).values(status="dead"))
        claimed = claim_batch(engine, token="x", now=clock.now, lease_seconds=60, limit=2, window=4)
        assert [e.key for e in claimed] == ["ok"]

    def test_broken_tails(self) -> None:
        from infra_outbox.lease import broken_tails

        picked = [(1, ("t", "a")), (2, ("t", "a")), (3, ("t", "a")), (4, ("t", "b")), (5, None)]
        assert broken_tails({1, 3, 4, 5}, picked) == {3}

    def test_expired_lease_is_taken_over_and_the_late_mark_is_fenced(self, engine: Engine, clock: Clock) -> None:
        write(engine, clock, ("a", 1), ("a", 2))
        stale = claim_batch(engine, token="old", now=clock.now, lease_seconds=60, limit=10)
        assert len(stale) == 2
        clock.advance(61)
        fresh = claim_batch(engine, token="new", now=clock.now, lease_seconds=60, limit=10)
        assert [e.id for e in fresh] == [stale[0].id]  # an abandoned row is taken over alone
        fenced = settle_batch(
            engine,
            token="old",
            now=clock.now,
            settlement=Settlement(published=[stale[0].id]),
            keep_published=True,
        )
        assert fenced == 1
        assert [s for _, s in statuses(engine)] == ["pending", "pending"]
        assert (
            settle_batch(
                engine,
                token="new",
                now=clock.now,
                settlement=Settlement(published=[e.id for e in fresh]),
                keep_published=True,
            )
            == 0
        )

    def test_a_poison_event_that_kills_relays_goes_dead(self, engine: Engine, clock: Clock) -> None:
        """Each relay holding ``p.1`` dies unmarked: after max attempts it goes DEAD; other keys lose nothing."""
        write(engine, clock, ("p", 1), ("p", 2), ("ok", 3), (None, 4))
        held: list[list[tuple[str | None, int | None]]] = []
        abandoned: list[int] = []
        for round_ in range(6):
            claimed = claim_batch(
                engine,
                token=f"r{round_}",
                now=clock.now,
                lease_seconds=1,
                limit=10,
                max_attempts=3,
                abandoned=abandoned,
            )
            held.append([(e.key, e.seq) for e in claimed])
            if claimed and claimed[0].key != "p":  # a healthy event is sent and marked
                settle_batch(
                    engine,
                    token=f"r{round_}",
                    now=clock.now,
                    settlement=Settlement(published=[e.id for e in claimed]),
                    keep_published=True,
                )
            clock.advance(2)  # the relay holding p.1 was killed: its lease expires unmarked
        # the first batch took everything; then abandoned rows one at a time: p.1 twice more, then ok and the
        # keyless event; p.1 used its three attempts and went DEAD at the claim, parking p.2 behind it
        assert held[0] == [("p", 1), ("p", 2), ("ok", 1), (None, None)]
        assert held[1:] == [[("p", 1)], [("p", 1)], [("ok", 1)], [(None, None)], []]
        assert len(abandoned) == 1
        with engine.connect() as conn:
            rows = conn.execute(
                select(events.c.key, events.c.seq, events.c.status, events.c.attempts, events.c.last_error).order_by(
                    events.c.id
                )
            ).all()
        assert [(r.key, r.status) for r in rows] == [
            ("p", "dead"),
            ("p", "pending"),
            ("ok", "published"),
            (None, "published"),
        ]
        assert rows[0].attempts == 3
        assert rows[0].last_error.startswith("abandoned after 3 attempts")
        assert rows[1].attempts == 1  # charged once, in the first batch; it waits behind the dead head
        assert [e.key for e in dead_events(engine)] == ["p"]

    def test_relay_reports_an_abandoned_event_as_dead(
        self, engine: Engine, producer: FakeProducer, clock: Clock
    ) -> None:
        write(engine, clock, ("p", 1), ("ok", 2))
        for token in ("a", "b", "c"):  # three relays died holding p.1 (max_attempts=3)
            claim_batch(engine, token=token, now=clock.now, lease_seconds=1, limit=1)
            clock.advance(2)
        report = make_relay(engine, producer, clock).drain()
        assert (report.dead, report.published) == (1, 1)
        assert producer.values("ok") == [b"2"]
        assert statuses(engine) == [("p", "dead"), ("ok", "published")]

    def test_relay_reports_fenced_marks(self, engine: Engine, clock: Clock) -> None:
        write(engine, clock, ("a", 1))

        class Stealer(FakeProducer):
            def flush(self, timeout: float = 0) -> int:  # another relay takes over while we send
                with engine.begin() as conn:
                    conn.execute(update(events).values(lease_token="thief"))
                return super().flush(timeout)

        report = make_relay(engine, Stealer(), clock).run_once()
        assert (report.published, report.fenced) == (1, 1)
        assert statuses(engine) == [("a", "pending")]

    def test_attempts_are_counted_at_claim(self, engine: Engine, clock: Clock) -> None:
        write(engine, clock, ("a", 1))
        claim_batch(engine, token="x", now=clock.now, lease_seconds=1, limit=10)
        clock.advance(2)  # the relay died: lease expired without a mark
        [again] = claim_batch(engine, token="y", now=clock.now, lease_seconds=1, limit=10)
        assert again.attempts == 2

    def test_message_timeout_must_be_shorter_than_lease(self, engine: Engine, producer: FakeProducer) -> None:
        with pytest.raises(OutboxError, match="must be shorter than the lease"):
            Relay(engine, {"bootstrap_servers": "h:9", "message_timeout_ms": 60_000}, producer=producer)


class TestUnknownTopic:
    def test_missing_topics_are_named(self, engine: Engine, producer: FakeProducer, clock: Clock) -> None:
        write(engine, clock, ("a", 1), ("b", 2))
        write(engine, clock, ("a", 1), topic="nope")
        assert make_relay(engine, producer, clock).missing_topics() == {"nope": 1}


class TestStats:
    def test_stats_and_cleanup(self, engine: Engine, clock: Clock) -> None:
        producer = FakeProducer(fail=lambda t, k, v: FakeError("INVALID_RECORD", False) if k == "x" else None)
        write(engine, clock, ("a", 1), ("x", 2), ("b", 3))
        clock.advance(5)
        relay = make_relay(engine, producer, clock, retention_seconds=100, cleanup_batch_size=1)
        relay.run_once()
        write(engine, clock, ("c", 4))
        clock.advance(10)
        stats = outbox_stats(engine, now=clock.now)
        assert (stats.pending, stats.dead, stats.published, stats.published_last_minute) == (1, 1, 2, 2)
        assert stats.oldest_pending_age_seconds == pytest.approx(10)
        assert json.dumps(stats.to_dict())
        clock.advance(200)
        assert relay.housekeeping(force=True) == 2  # published rows past retention, one per transaction
        assert sorted(s for _, s in statuses(engine)) == ["dead", "pending"]
