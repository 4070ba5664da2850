"""The log on real PostgreSQL: no dead tuples, snapshot batches across open transactions, rotation, migration."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from infra_outbox import NewEvent, Outbox, Relay, RelaySettings
from infra_outbox.admin import dead_events, outbox_stats
from infra_outbox.cli import app
from infra_outbox.db import make_engine

from .ledger import consume

pytestmark = pytest.mark.integration


def dead_tuples(engine, prefix: str = "infra_outbox_log") -> int:  # type: ignore[no-untyped-def]
    time.sleep(1.2)  # backends flush their table statistics at most once a second
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_stat_force_next_flush()"))
        return int(
            conn.execute(
                text("SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables WHERE relname LIKE :p"),
                {"p": prefix + "%"},
            ).scalar_one()
        )


class TestNoDeadTuples:
    def test_publishing_leaves_no_dead_tuple_in_the_log(self, pg_db: str, kafka_bootstrap: str, topic: str) -> None:
        engine = make_engine(pg_db)
        outbox = Outbox()
        for start in range(0, 3000, 500):
            with engine.begin() as conn:
                outbox.enqueue_many(
                    conn,
                    [
                        NewEvent(topic=topic, key=f"k{i % 50}", event_type="n", payload=i)
                        for i in range(start, start + 500)
                    ],
                )
        relay = Relay(pg_db, kafka_bootstrap, settings=RelaySettings(batch_size=400))
        assert relay.drain().published == 3000
        relay.close()
        assert dead_tuples(engine) == 0
        with engine.connect() as conn:
            inserted = conn.execute(
                text(
                    "SELECT sum(n_tup_ins), sum(n_tup_upd), sum(n_tup_del) FROM pg_stat_user_tables "
                    "WHERE relname LIKE 'infra_outbox_log%'"
                )
            ).one()
        assert tuple(int(x) for x in inserted) == (3000, 0, 0)


class TestSnapshotBatches:
    def test_transaction_open_across_several_ticks_is_sent_exactly_once(
        self, pg_db: str, kafka_bootstrap: str, topic: str
    ) -> None:
        """T1 writes before tick 1 and commits after tick 3: it lands in exactly one batch, after the others."""
        engine = make_engine(pg_db)
        outbox = Outbox()
        relay = Relay(pg_db, kafka_bootstrap, settings=RelaySettings(batch_size=10))
        slow = engine.connect()
        t1 = slow.begin()
        late = outbox.enqueue_many(
            slow, [NewEvent(topic=topic, key="slow", event_type="n", payload=i) for i in range(3)]
        )
        sent = []
        for tick in range(3):
            with engine.begin() as conn:
                sent += outbox.enqueue_many(
                    conn, [NewEvent(topic=topic, key=f"k{tick}", event_type="n", payload=i) for i in range(25)]
                )
            assert relay.drain().published == 25  # the open transaction is in no batch yet
        t1.commit()
        slow.close()
        assert relay.drain().published == 3
        assert relay.drain().published == 0
        expect = {str(i) for i in [*late, *sent]}
        records = consume(kafka_bootstrap, topic, expect=expect, timeout=30, settle=1)
        assert sorted(r.event_id for r in records) == sorted(expect)

    def test_commit_order_per_key_beats_id_and_xid_order(self, pg_db: str, kafka_bootstrap: str, topic: str) -> None:
        """B takes its transaction id first, A writes key K first and commits first: K goes out A then B."""
        engine = make_engine(pg_db)
        outbox = Outbox()
        b_conn, a_conn = engine.connect(), engine.connect()
        b_tx = b_conn.begin()
        outbox.enqueue(b_conn, topic=topic, key="other", event_type="n", payload="b0")  # B's xid is the lower
        a_tx = a_conn.begin()
        first = outbox.enqueue(a_conn, topic=topic, key="K", event_type="n", payload="a")
        done = threading.Event()

        def b_writes_k() -> None:
            outbox.enqueue(b_conn, topic=topic, key="K", event_type="n", payload="b")
            b_tx.commit()
            done.set()

        thread = threading.Thread(target=b_writes_k)
        thread.start()
        assert not done.wait(0.5)  # B waits on K's counter row until A ends
        a_tx.commit()
        thread.join(10)
        a_conn.close()
        b_conn.close()
        Relay(pg_db, kafka_bootstrap).drain()
        records = consume(kafka_bootstrap, topic, expect={str(first)}, timeout=20, settle=1.5)
        k = [r.value for r in sorted(records, key=lambda r: r.offset) if r.key == "K"]
        assert k == [b'"a"', b'"b"']

    def test_rows_committed_inside_a_batch_id_range_after_its_snapshot_wait_for_the_next_batch(
        self, pg_db: str, kafka_bootstrap: str, topic: str
    ) -> None:
        """A big batch is read page by page as id ranges: rows committed after its snapshot wait for the next one.

        The late transaction's ids lie between the batch's own ids, so later pages' ranges cover them once it
        commits; sending them there would publish them twice and ahead of their batch.
        """
        engine = make_engine(pg_db)
        outbox = Outbox()
        slow = engine.connect()
        late_tx = slow.begin()
        early: list[uuid.UUID] = []
        late: list[uuid.UUID] = []
        for block in range(4):  # the open transaction's ids fall between the committed blocks
            with engine.begin() as conn:
                early += outbox.enqueue_many(
                    conn, [NewEvent(topic=topic, key=f"k{i % 7}", event_type="n", payload=i) for i in range(60)]
                )
            late += outbox.enqueue_many(
                slow, [NewEvent(topic=topic, key="late", event_type="n", payload=block * 2 + j) for j in range(2)]
            )
        relay = Relay(pg_db, kafka_bootstrap, settings=RelaySettings(batch_size=50, pipeline_depth=0))
        first = relay.run_once(max_pages=1)  # the batch starts (the late transaction still open): one page sent
        assert first.published == 50
        late_tx.commit()  # now visible, inside the id range of the batch's next pages, but not in the batch
        slow.close()
        assert relay.drain().published == 190 + 8
        relay.close()
        expect = {str(i) for i in [*early, *late]}
        records = consume(kafka_bootstrap, topic, expect=expect, timeout=30, settle=1.5)
        ids = [r.event_id for r in records]
        assert sorted(ids) == sorted(expect)  # each exactly once
        late_values = [r.value for r in sorted(records, key=lambda r: r.offset) if r.key == "late"]
        assert late_values == [str(i).encode() for i in range(8)]


class TestRotation:
    def test_rotation_truncates_only_fully_read_partitions(self, pg_db: str, kafka_bootstrap: str, topic: str) -> None:
        engine = make_engine(pg_db)
        outbox = Outbox()
        relay = Relay(pg_db, kafka_bootstrap, settings=RelaySettings(retention_seconds=0))

        def write(n: int, tag: str) -> None:
            with engine.begin() as conn:
                outbox.enqueue_many(
                    conn, [NewEvent(topic=topic, key=f"k{i}", event_type=tag, payload=i) for i in range(n)]
                )

        def slot() -> int:
            with engine.connect() as conn:
                return int(conn.execute(text("SELECT slot FROM infra_outbox_state")).scalar_one())

        def rows() -> int:
            with engine.connect() as conn:
                return int(conn.execute(text("SELECT count(*) FROM infra_outbox_log")).scalar_one())

        write(10, "unread")  # slot 0, not read
        relay.housekeeping()  # truncates slot 1 (empty), writers move to slot 1
        relay.housekeeping()  # slot 2
        assert slot() == 2
        assert relay.housekeeping() == 0  # slot 0 holds unread events: postponed
        assert (slot(), rows()) == (2, 10)
        relay.drain()
        assert relay.housekeeping() == 10  # read now: TRUNCATE, writers move to slot 0
        assert (slot(), rows()) == (0, 0)
        write(5, "after")
        relay.drain()
        assert dead_tuples(engine) == 0


class TestMigration:
    V1_DDL = """
    CREATE TABLE infra_outbox (
      id BIGSERIAL PRIMARY KEY, event_id VARCHAR(36) NOT NULL, event_type VARCHAR(255) NOT NULL,
      topic VARCHAR(249) NOT NULL, key VARCHAR(1024), seq BIGINT, aggregate_id VARCHAR(255),
      payload BYTEA NOT NULL, content_type VARCHAR(100) NOT NULL, headers TEXT, status VARCHAR(16) NOT NULL,
      attempts INTEGER NOT NULL, created_at DOUBLE PRECISION NOT NULL, next_attempt_at DOUBLE PRECISION NOT NULL,
      lease_token VARCHAR(32), lease_until DOUBLE PRECISION, published_at DOUBLE PRECISION, last_error TEXT)
    """

    def test_migrate_v1_with_events_in_flight(self, postgres_url: str, kafka_bootstrap: str, topic: str) -> None:
        import uuid

        from .ledger import fresh_database

        with fresh_database(postgres_url) as url:
            engine = make_engine(url)
            with engine.begin() as conn:  # a schema 1 database: drop what the fixture made, build v1
                for table in (
                    "infra_outbox_log",
                    "infra_outbox_held",
                    "infra_outbox_shards",
                    "infra_outbox_relays",
                    "infra_outbox_state",
                ):
                    conn.execute(text(f"DROP TABLE {table} CASCADE"))
                conn.execute(text("DROP FUNCTION infra_outbox_slot()"))
                conn.execute(text(self.V1_DDL))
                rows = [  # (key, seq, status): k1 has a dead event with two behind it
                    ("k0", 1, "published"),
                    ("k0", 2, "pending"),
                    ("k1", 1, "published"),
                    ("k1", 2, "dead"),
                    ("k1", 3, "pending"),
                    ("k0", 3, "failed"),
                    ("k1", 4, "pending"),
                    ("k2", 1, "pending"),
                    ("k2", 2, "pending"),
                ]
                for key, seq, status in rows:
                    conn.execute(
                        text(
                            "INSERT INTO infra_outbox (event_id, event_type, topic, key, seq, payload, content_type, "
                            "status, attempts, created_at, next_attempt_at, last_error) VALUES (:e, 'n', :t, :k, :s, "
                            ":p, 'application/json', :st, 1, 0, 0, :err)"
                        ),
                        {
                            "e": str(uuid.uuid4()),
                            "t": topic,
                            "k": key,
                            "s": seq,
                            "p": json.dumps(f"{key}-{seq}").encode(),
                            "st": status,
                            "err": "boom" if status == "dead" else None,
                        },
                    )
                conn.execute(
                    text("INSERT INTO infra_outbox_keys VALUES (:t, 'k0', 3), (:t, 'k1', 4), (:t, 'k2', 2)"),
                    {"t": topic},
                )
            result = CliRunner().invoke(app, ["db", "migrate", "--db", url, "--format", "json"])
            assert result.exit_code == 0, result.output
            assert json.loads(result.stdout) == {
                "to_log": 4,
                "dead": 1,
                "parked": 2,
                "not_copied": 2,
                "archive": "infra_outbox_v1",
            }
            assert CliRunner().invoke(app, ["db", "check", "--db", url]).exit_code == 0
            with engine.begin() as conn:  # the app, now on v2, keeps writing: k0 goes on at seq 4
                Outbox().enqueue(conn, topic=topic, key="k0", event_type="n", payload="k0-4")
            relay = Relay(url, kafka_bootstrap)
            assert relay.drain().published == 5
            [dead] = dead_events(engine)
            assert (dead.key, dead.sequence, dead.last_error) == ("k1", 2, "boom")
            assert outbox_stats(engine).parked == 2
            records = consume(kafka_bootstrap, topic, expect=set(), timeout=10, settle=3)
            by_key: dict[str, list[int]] = {}
            for r in sorted(records, key=lambda r: r.offset):
                by_key.setdefault(r.key or "", []).append(r.seq or 0)
            assert by_key == {"k0": [2, 3, 4], "k2": [1, 2]}
            relay.close()
            engine.dispose()


class TestBadInputOnPostgres:
    def test_bad_keys_are_refused_before_postgres_and_the_transaction_goes_on(self, pg_db: str) -> None:
        from infra_outbox.errors import EventError

        engine = make_engine(pg_db)
        outbox = Outbox()
        with engine.begin() as conn:
            outbox.enqueue(conn, topic="t", key="ok", event_type="n", payload=1)
            for bad in ("nul\x00", "lone\ud800", "\U0001f600" * 300):
                with pytest.raises(EventError):
                    outbox.enqueue(conn, topic="t", key=bad, event_type="n", payload=2)
            outbox.enqueue(conn, topic="t", key="\u00e9" * 512, event_type="n", payload=3)  # 1,024 bytes: fine
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM infra_outbox_log")).scalar_one() == 2

    def test_missing_dead_letter_topic_is_refused_at_start(self, pg_db: str, kafka_bootstrap: str) -> None:
        result = CliRunner().invoke(
            app,
            ["relay", "--db", pg_db, "--bootstrap-servers", kafka_bootstrap, "--dead-letter-topic", "no-such-dlq-x1"],
        )
        assert result.exit_code == 2
        assert "dead-letter topic 'no-such-dlq-x1' does not exist on the broker" in result.stderr
