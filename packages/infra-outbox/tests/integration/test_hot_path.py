"""The relay's hot path on real PostgreSQL: kept connections, cursor moves sent in the background and fenced."""

from __future__ import annotations

import time
from typing import Any

import pytest
from psycopg import pq
from sqlalchemy import select, text, update

from infra_models.kafka import KafkaProducerConfig
from infra_outbox import NewEvent, Outbox, Relay, RelaySettings
from infra_outbox.db import make_engine
from infra_outbox.kept_connection import KeptConnection
from infra_outbox.tables import shards

from .ledger import consume

pytestmark = pytest.mark.integration


def backend_pid(driver: object) -> int:
    return int(driver.execute("SELECT pg_backend_pid()").fetchone()[0])  # type: ignore[attr-defined]


class TestKeptConnection:
    def test_a_connection_the_server_closed_is_replaced_and_the_work_runs_again(self, pg_db: str) -> None:
        engine = make_engine(pg_db).execution_options(isolation_level="AUTOCOMMIT")
        kept = KeptConnection(engine)
        first = kept.run(backend_pid)
        assert kept.run(backend_pid) == first  # kept: no new checkout
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": first}).scalar_one()
        second = kept.run(backend_pid)  # the kept connection is dead: run again on a fresh one
        assert second != first
        kept.close()
        engine.dispose()

    def test_an_error_of_the_statement_is_raised_and_the_connection_kept(self, pg_db: str) -> None:
        engine = make_engine(pg_db).execution_options(isolation_level="AUTOCOMMIT")
        kept = KeptConnection(engine)
        first = kept.run(backend_pid)
        calls = []

        def bad(driver: object) -> None:
            calls.append(1)
            driver.execute("SELECT * FROM no_such_table")  # type: ignore[attr-defined]

        with pytest.raises(Exception, match="no_such_table"):
            kept.run(bad)
        assert calls == [1]  # not run twice: only a broken connection is retried
        assert kept.run(backend_pid) == first
        kept.close()
        engine.dispose()


class TestBackgroundCursorMoves:
    def test_a_relay_that_lost_its_shards_cannot_move_their_cursors(
        self, pg_db: str, kafka_bootstrap: str, topic: str
    ) -> None:
        """The happy path's cursor move runs on the background thread; a fenced one still stops the round."""
        engine = make_engine(pg_db)
        outbox = Outbox(notify=False)
        with engine.begin() as conn:
            outbox.enqueue_many(conn, [NewEvent(topic=topic, key=f"k{i}", event_type="n", payload=i) for i in range(5)])
        relay = Relay(pg_db, kafka_bootstrap, settings=RelaySettings(batch_size=100))
        assert relay.drain().published == 5
        with engine.begin() as conn:  # another relay takes every shard over (a new epoch, its own cursor)
            conn.execute(update(shards).values(owner="thief", epoch=shards.c.epoch + 1, snap="1:1:", last_id=0))
        with engine.begin() as conn:
            late = outbox.enqueue_many(
                conn, [NewEvent(topic=topic, key="k1", event_type="n", payload=i) for i in range(3)]
            )
        report = relay.run_once()
        assert report.fenced == 1
        with engine.connect() as conn:
            cursors = set(conn.execute(select(shards.c.owner, shards.c.snap, shards.c.batch_snap)).all())
        assert cursors == {("thief", "1:1:", None)}  # nothing of the fenced relay's moves landed
        assert relay.ownership.owned == {}  # it knows it lost them
        relay.close()
        # It learnt only after sending the page (the new owner sends it again: at least once, nothing lost).
        records = consume(kafka_bootstrap, topic, expect={str(i) for i in late}, timeout=30, settle=0.5)
        assert [r.value for r in records if r.key == "k1"][-3:] == [b"0", b"1", b"2"]
        engine.dispose()


class TestEndOfRound:
    def test_the_last_page_of_a_round_does_not_wait_for_linger(
        self, pg_db: str, kafka_bootstrap: str, topic: str
    ) -> None:
        """Nothing is produced after a round's last page: it is flushed at once, not after linger.ms."""
        engine = make_engine(pg_db)
        outbox = Outbox(notify=False)
        kafka = KafkaProducerConfig(bootstrap_servers=kafka_bootstrap, linger_ms=3000)
        relay = Relay(pg_db, kafka, settings=RelaySettings(batch_size=100))
        relay.check_broker()
        relay.run_once()  # shards taken, connections made
        with engine.begin() as conn:
            outbox.enqueue_many(conn, [NewEvent(topic=topic, key=f"k{i}", event_type="n", payload=i) for i in range(5)])
        started = time.monotonic()
        assert relay.run_once().published == 5
        assert time.monotonic() - started < 2.0  # linger.ms alone would hold the records for 3 s
        relay.close()
        engine.dispose()


class TestReadsSentAhead:
    """The next page's read is sent (pipeline mode) before the current page is produced, and taken after."""

    def fill(self, pg_db: str, topic: str, count: int) -> list[int]:
        engine = make_engine(pg_db)
        with engine.begin() as conn:
            ids = Outbox(notify=False).enqueue_many(
                conn, [NewEvent(topic=topic, key=f"k{i % 7}", event_type="n", payload=i) for i in range(count)]
            )
        engine.dispose()
        return list(range(len(ids)))

    def test_a_read_whose_connection_died_is_read_again_and_nothing_is_lost(
        self, pg_db: str, kafka_bootstrap: str, topic: str
    ) -> None:
        payloads = self.fill(pg_db, topic, 450)
        relay = Relay(pg_db, kafka_bootstrap, settings=RelaySettings(batch_size=100))
        relay.check_broker()
        engine = make_engine(pg_db)
        reader, receive, killed = relay.reader, relay.reader._receive, []

        def kill_then_receive(pending: Any) -> Any:
            if not killed:  # the server closes the connection the third page's read was sent on
                with engine.connect() as conn:
                    pid = pending.driver.info.backend_pid
                    assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar_one()
                killed.append(pid)
            return receive(pending)

        reader._receive = kill_then_receive  # type: ignore[method-assign]
        assert relay.drain().published == 450
        assert killed
        relay.close()
        records = consume(kafka_bootstrap, topic, expect={str(i) for i in payloads}, timeout=30, settle=0.5)
        for key in range(7):  # every event once, in order per key
            assert [int(r.value) for r in records if r.key == f"k{key}"] == payloads[key::7]
        engine.dispose()

    def test_no_read_transaction_stays_open_between_rounds(self, pg_db: str, kafka_bootstrap: str, topic: str) -> None:
        """A round that ends mid-batch drops the read it sent ahead: no open transaction holds the log's locks."""
        self.fill(pg_db, topic, 300)
        relay = Relay(pg_db, kafka_bootstrap, settings=RelaySettings(batch_size=100))
        relay.check_broker()
        sent_ahead: list[Any] = []
        send = relay.reader._send_read
        relay.reader._send_read = lambda ids: (send(ids), sent_ahead.append(relay.reader._pending))  # type: ignore[method-assign]
        assert relay.run_once(max_pages=1).published == 100
        assert sent_ahead and sent_ahead[0] is not None  # the second page's read went out during the round
        assert relay.reader._pending is None
        driver = sent_ahead[0].driver
        assert driver.pgconn.pipeline_status == pq.PipelineStatus.OFF
        assert driver.info.transaction_status == pq.TransactionStatus.IDLE
        engine = make_engine(pg_db)
        with engine.connect() as conn:
            open_reads = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND xact_start IS NOT NULL AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
        assert open_reads == 0
        assert relay.drain().published == 200
        relay.close()
        engine.dispose()
