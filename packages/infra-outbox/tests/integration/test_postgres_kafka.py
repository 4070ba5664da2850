"""Against the launcher's PostgreSQL and Kafka: writing, relaying, order, rollbacks, poison, NOTIFY, inbox."""

from __future__ import annotations

import asyncio
import gc
import threading
import time

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from infra_outbox import Backoff, Inbox, NewEvent, Outbox, Relay, RelaySettings, TransactionalOutbox
from infra_outbox.admin import dead_events, outbox_stats
from infra_outbox.cli import app
from infra_outbox.db import make_engine
from infra_outbox.wakeup import NotifyWaiter

from .ledger import Ledger, Writer, consume, new_topic

pytestmark = pytest.mark.integration


def relay_for(url: str, bootstrap: str, **settings: object) -> Relay:
    return Relay(url, bootstrap, settings=RelaySettings(**settings))  # type: ignore[arg-type]


class TestEndToEnd:
    def test_sync_and_async_writes_reach_kafka_in_order(self, pg_db: str, kafka_bootstrap: str, topic: str) -> None:
        engine = make_engine(pg_db)
        outbox = Outbox()
        with engine.begin() as conn:
            ids = outbox.enqueue_many(
                conn, [NewEvent(topic=topic, key=f"k{i % 3}", event_type="n", payload={"i": i}) for i in range(30)]
            )
        with engine.connect() as conn:  # a rolled-back business transaction
            transaction = conn.begin()
            ghost = outbox.enqueue(conn, topic=topic, key="k0", event_type="n", payload="ghost")
            transaction.rollback()

        async def write_async() -> str:
            from sqlalchemy.ext.asyncio import create_async_engine

            aengine = create_async_engine(pg_db)
            async with aengine.begin() as conn:
                box = TransactionalOutbox(db_connection=conn)
                event_id = await box.publish_event(event_type="user_created", payload={"id": 1}, topic=topic, key="k1")
            await aengine.dispose()
            return str(event_id)

        ids.append(asyncio.run(write_async()))  # type: ignore[arg-type]
        report = relay_for(pg_db, kafka_bootstrap).drain()
        assert report.published == 31
        records = consume(kafka_bootstrap, topic, expect={str(i) for i in ids}, timeout=30, settle=0.5)
        assert str(ghost) not in {r.event_id for r in records}
        assert len(records) == 31
        by_key: dict[str | None, list[int | None]] = {}
        for r in sorted(records, key=lambda r: (r.partition, r.offset)):
            by_key.setdefault(r.key, []).append(r.seq)
        assert by_key["k0"] == list(range(1, 11))
        assert by_key["k1"] == list(range(1, 12))  # the async event came last on k1
        assert outbox_stats(engine).unpublished == 0

    def test_reverse_commit_order_loses_nothing(self, pg_db: str, kafka_bootstrap: str, topic: str) -> None:
        """T1 takes the lower id but commits after T2: an id cursor would skip T1 for ever."""
        engine = make_engine(pg_db)
        outbox = Outbox()
        relay = relay_for(pg_db, kafka_bootstrap)
        early = engine.connect()
        t1 = early.begin()
        first = outbox.enqueue(early, topic=topic, key="a", event_type="n", payload=1)
        with engine.begin() as conn:
            second = outbox.enqueue(conn, topic=topic, key="b", event_type="n", payload=2)
        assert relay.drain().published == 1  # T2 goes out while T1 is still open
        t1.commit()
        early.close()
        assert relay.drain().published == 1
        records = consume(kafka_bootstrap, topic, expect={str(first), str(second)}, timeout=20, settle=1)
        assert sorted(r.event_id for r in records) == sorted([str(first), str(second)])  # each exactly once

    def test_same_key_writers_are_serialised_in_commit_order(self, pg_db: str) -> None:
        """The second writer of a key waits for the first, so sequence order is commit order."""
        engine = make_engine(pg_db)
        outbox = Outbox()
        slow = engine.connect()
        t1 = slow.begin()
        outbox.enqueue(slow, topic="t", key="k", event_type="n", payload="first")
        finished = threading.Event()

        def second_writer() -> None:
            with engine.begin() as conn:
                outbox.enqueue(conn, topic="t", key="k", event_type="n", payload="second")
            finished.set()

        thread = threading.Thread(target=second_writer)
        thread.start()
        assert not finished.wait(0.5)  # blocked on the key's counter row
        t1.commit()
        slow.close()
        thread.join(10)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT seq, payload FROM infra_outbox_log ORDER BY id")).all()
        assert [(seq, bytes(p)) for seq, p in rows] == [(1, b'"first"'), (2, b'"second"')]


class TestFailures:
    def test_poison_event_parks_only_its_key(self, pg_db: str, kafka_bootstrap: str) -> None:
        topic = new_topic(kafka_bootstrap, config={"max.message.bytes": "2000"})
        engine = make_engine(pg_db)
        outbox = Outbox()
        with engine.begin() as conn:
            outbox.enqueue(conn, topic=topic, key="poison", event_type="n", payload="x" * 5000)
            outbox.enqueue(conn, topic=topic, key="poison", event_type="n", payload="after")
            for i in range(5):
                outbox.enqueue(conn, topic=topic, key=f"ok{i}", event_type="n", payload=i)
        relay = relay_for(pg_db, kafka_bootstrap, backoff=Backoff(base=0.1, max_attempts=2))
        report = relay.drain()
        assert report.dead == 1
        assert report.published == 5
        [dead] = dead_events(engine)
        assert dead.key == "poison"
        assert "MSG_SIZE_TOO_LARGE" in (dead.last_error or "")
        stats = outbox_stats(engine)
        assert (stats.dead, stats.parked, stats.pending) == (1, 1, 0)  # "after" waits behind the dead head
        records = consume(kafka_bootstrap, topic, expect=set(), timeout=8, settle=2)
        assert sorted(r.key or "" for r in records) == [f"ok{i}" for i in range(5)]

    def test_cli_relay_once(self, pg_db: str, kafka_bootstrap: str, topic: str) -> None:
        engine = make_engine(pg_db)
        with engine.begin() as conn:
            Outbox().enqueue(conn, topic=topic, key="k", event_type="n", payload={})
        gc.unfreeze()
        try:
            result = CliRunner().invoke(
                app, ["relay", "--db", pg_db, "--bootstrap-servers", kafka_bootstrap, "--once", "--format", "json"]
            )
            # The command froze its start-up objects: the collector's full collections skip them.
            assert gc.get_freeze_count() > 0
        finally:
            gc.unfreeze()
        assert result.exit_code == 0, result.output
        assert '"published": 1' in result.stdout

    def test_cli_relay_once_from_sqlite(self, tmp_path, kafka_bootstrap: str, topic: str) -> None:
        url = f"sqlite:///{tmp_path / 'app.db'}"
        assert CliRunner().invoke(app, ["db", "init", "--db", url]).exit_code == 0
        engine = make_engine(url)
        with engine.begin() as conn:
            ids = Outbox().enqueue_many(
                conn, [NewEvent(topic=topic, key=f"k{i % 2}", event_type="n", payload=i) for i in range(6)]
            )
        result = CliRunner().invoke(app, ["relay", "--db", url, "--bootstrap-servers", kafka_bootstrap, "--once"])
        assert result.exit_code == 0, result.output
        records = consume(kafka_bootstrap, topic, expect={str(i) for i in ids}, timeout=30, settle=0.5)
        assert sorted(r.event_id for r in records) == sorted(str(i) for i in ids)


class TestWakeUp:
    def test_notify_wakes_an_idle_relay(self, pg_db: str) -> None:
        engine = make_engine(pg_db)
        stop = threading.Event()
        waiter = NotifyWaiter(engine, stop, max_interval=3.0)
        waiter._listen()  # connect and LISTEN before the commit
        woke = threading.Event()

        def wait() -> None:
            waiter.wait()
            woke.set()

        thread = threading.Thread(target=wait)
        thread.start()
        time.sleep(0.2)
        started = time.monotonic()
        with engine.begin() as conn:
            Outbox().enqueue(conn, topic="t", event_type="n", payload={})
        assert woke.wait(2.0)
        assert time.monotonic() - started < 1.0
        thread.join()
        waiter.close()

    def test_running_relay_publishes_within_milliseconds(self, pg_db: str, kafka_bootstrap: str, topic: str) -> None:
        relay = relay_for(pg_db, kafka_bootstrap, max_interval=2.0)
        relay.check_broker()
        thread = threading.Thread(target=relay.run)
        thread.start()
        try:
            time.sleep(0.5)
            engine = make_engine(pg_db)
            with engine.begin() as conn:
                Outbox().enqueue(conn, topic=topic, key="k", event_type="n", payload={})
            deadline = time.monotonic() + 3.0
            started = time.monotonic()
            while outbox_stats(engine).unpublished and time.monotonic() < deadline:
                time.sleep(0.01)
            assert outbox_stats(engine).unpublished == 0
            assert time.monotonic() - started < 1.0
        finally:
            relay.stop()
            thread.join(10)


class TestConcurrentRelays:
    def test_four_relays_share_the_work_without_duplicates(self, pg_db: str, kafka_bootstrap: str, topic: str) -> None:
        ledger = Ledger()
        writer = Writer(pg_db, topic, ledger, keys=25, pause=0.0)
        writer.start()
        relays = [relay_for(pg_db, kafka_bootstrap, batch_size=50) for _ in range(4)]
        threads = [threading.Thread(target=r.run) for r in relays]
        for t in threads:
            t.start()
        time.sleep(4.0)
        writer.finish()
        time.sleep(2.0)
        for r in relays:
            r.stop()
        for t in threads:
            t.join(20)
        relays[0].drain()
        records = consume(kafka_bootstrap, topic, expect=set(ledger.committed), timeout=60)
        summary = ledger.check(records, max_duplicates=0)
        assert summary["events"] >= 100


class TestInbox:
    def test_inbox_on_postgres(self, pg_db: str) -> None:
        engine = make_engine(pg_db)
        inbox = Inbox("billing")
        with engine.begin() as conn:
            assert inbox.first_time(conn, [("event_id", b"e1")])
        with engine.begin() as conn:
            assert not inbox.first_time(conn, [("event_id", b"e1")])
