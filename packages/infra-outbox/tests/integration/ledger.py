"""Helpers for tests against real servers: throwaway databases and topics, a consumer, and the ledger check."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import text

from infra_outbox import NewEvent, Outbox
from infra_outbox.db import make_engine
from infra_outbox.headers import read_headers
from infra_outbox.tables import create_all

__all__ = ["Ledger", "Record", "Writer", "consume", "delete_made_topics", "fresh_database", "new_topic"]


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A new, empty database with the outbox tables; dropped afterwards."""
    name = "outbox_t_" + uuid.uuid4().hex[:10]
    admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    engine = make_engine(url)
    create_all(engine)
    engine.dispose()
    try:
        yield url
    finally:
        try:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        except Exception:
            pass
        admin.dispose()


_MADE: dict[str, list[str]] = defaultdict(list)  # bootstrap -> topics made by this test run


def new_topic(bootstrap: str, partitions: int = 3, config: dict[str, str] | None = None) -> str:
    from confluent_kafka.admin import AdminClient, NewTopic

    topic = "outbox-t-" + uuid.uuid4().hex[:10]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(topic, partitions, 1, config=config or {})]).values():
        future.result(30)
    _MADE[bootstrap].append(topic)
    return topic


def delete_made_topics() -> None:
    """Delete the topics this run made, so a long-lived broker does not pile up partitions (a private broker
    already stopped is skipped after a short timeout)."""
    from confluent_kafka.admin import AdminClient

    for bootstrap, topics in _MADE.items():
        admin = AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 3000})
        try:
            for future in admin.delete_topics(topics, operation_timeout=10, request_timeout=5).values():
                future.result(10)
        except Exception:  # cleanup only: a stopped broker or a topic already gone
            pass
    _MADE.clear()


@dataclass(frozen=True)
class Record:
    key: str | None
    value: bytes
    event_id: str
    seq: int | None
    partition: int
    offset: int


def consume(
    bootstrap: str, topic: str, *, expect: set[str], timeout: float = 60.0, settle: float = 1.0
) -> list[Record]:
    """Read ``topic`` from the start until every id in ``expect`` was seen (then ``settle`` s more) or timeout."""
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "ledger-" + uuid.uuid4().hex,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    consumer.subscribe([topic])
    records: list[Record] = []
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    done_at: float | None = None
    try:
        while time.monotonic() < deadline:
            if done_at is not None and time.monotonic() > done_at:
                break
            msg = consumer.poll(0.2)
            if msg is None or msg.error():
                continue
            headers = read_headers(msg.headers())
            key = msg.key()
            records.append(
                Record(
                    key=key.decode() if key is not None else None,
                    value=msg.value() or b"",
                    event_id=headers.event_id,
                    seq=headers.seq,
                    partition=msg.partition() or 0,
                    offset=msg.offset() or 0,
                )
            )
            seen.add(headers.event_id)
            if done_at is None and expect <= seen:
                done_at = time.monotonic() + settle
    finally:
        consumer.close()
    return records


@dataclass
class Ledger:
    """What the writers committed and rolled back; checked against what a consumer read."""

    committed: dict[str, str] = field(default_factory=dict)  # event id -> key
    rolled_back: set[str] = field(default_factory=set)
    in_doubt: set[str] = field(default_factory=set)  # the commit call failed: may or may not have committed
    lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, records: list[Record], *, max_duplicates: int) -> dict[str, int]:
        """Assert no loss, nothing rolled back published, per-key order, duplicates bounded."""
        ids = [r.event_id for r in records]
        read = set(ids)
        lost = set(self.committed) - read
        assert not lost, f"{len(lost)} committed event(s) never reached Kafka, e.g. {sorted(lost)[:3]}"
        ghosts = read & self.rolled_back
        assert not ghosts, f"{len(ghosts)} rolled-back event(s) were published, e.g. {sorted(ghosts)[:3]}"
        unknown = read - set(self.committed) - self.in_doubt
        assert not unknown, f"{len(unknown)} event(s) read that nobody wrote, e.g. {sorted(unknown)[:3]}"
        duplicates = len(ids) - len(read)
        assert duplicates <= max_duplicates, f"{duplicates} duplicates, more than the bound {max_duplicates}"
        # Per key, the first delivery of each event must come in sequence order, with no gap.
        first: dict[str, list[int]] = defaultdict(list)
        done: set[str] = set()
        partitions: dict[str, set[int]] = defaultdict(set)
        for r in sorted(records, key=lambda r: (r.partition, r.offset)):
            if r.key is not None:
                partitions[r.key].add(r.partition)
            if r.event_id in done or r.key is None or r.seq is None:
                continue
            done.add(r.event_id)
            first[r.key].append(r.seq)
        for key, seqs in first.items():
            assert len(partitions[key]) == 1, f"key {key!r} spread over partitions {partitions[key]}"
            assert seqs == sorted(seqs), f"key {key!r} out of order: {seqs[:20]}"
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), f"key {key!r} has a gap: {seqs[:20]}"
        return {"events": len(read), "duplicates": duplicates, "keys": len(first)}


class Writer(threading.Thread):
    """Commits 1-3 events per transaction on a few keys, rolling back about one in ten, until stopped."""

    def __init__(
        self,
        url: str,
        topic: str,
        ledger: Ledger,
        *,
        keys: int = 20,
        pause: float = 0.002,
        seed: int = 0,
        tolerate_errors: bool = False,
        hold: float = 0.0,
        pad: int = 0,
    ) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.topic = topic
        self.ledger = ledger
        self.keys = keys
        self.pause = pause
        self.rng = random.Random(seed)
        self.tolerate_errors = tolerate_errors
        self.hold = hold
        self.pad = pad
        self.stop_event = threading.Event()
        self.errors = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        from sqlalchemy.exc import SQLAlchemyError

        engine = make_engine(self.url)
        outbox = Outbox()
        try:
            while not self.stop_event.is_set():
                batch = [
                    NewEvent(
                        topic=self.topic,
                        key=f"k{self.rng.randrange(self.keys)}",
                        event_type="t",
                        payload={"n": i, "pad": "x" * self.pad} if self.pad else {"n": i},
                    )
                    for i in range(self.rng.randint(1, 3))
                ]
                rollback = self.rng.random() < 0.1
                ids: list[str] = []
                try:
                    with engine.connect() as conn:
                        transaction = conn.begin()
                        ids = [str(i) for i in outbox.enqueue_many(conn, batch)]
                        if self.hold:  # keep the transaction open a little: commits land out of id order
                            time.sleep(self.rng.uniform(0, self.hold))
                        if rollback:
                            transaction.rollback()
                        else:
                            try:
                                transaction.commit()
                            except SQLAlchemyError:
                                with self.ledger.lock:
                                    self.ledger.in_doubt.update(ids)
                                raise
                except SQLAlchemyError:
                    if not self.tolerate_errors:
                        raise
                    self.errors += 1
                    if ids and not rollback:
                        with self.ledger.lock:
                            self.ledger.in_doubt.update(ids)
                    time.sleep(0.2)
                    continue
                with self.ledger.lock:
                    if rollback:
                        self.ledger.rolled_back.update(ids)
                    else:
                        for event_id, event in zip(ids, batch, strict=True):
                            self.ledger.committed[event_id] = event.key or ""
                time.sleep(self.pause)
        except BaseException as exc:
            self.error = exc
        finally:
            engine.dispose()

    def finish(self) -> None:
        self.stop_event.set()
        self.join(30)
        assert self.error is None, f"writer failed: {self.error!r}"
