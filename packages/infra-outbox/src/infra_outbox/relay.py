"""The relay: read the log of the shards it owns by snapshot ranges, send to Kafka, move one cursor per batch.

Example:
    >>> relay = Relay("postgresql+psycopg://app@db/app", "kafka:9092")  # doctest: +SKIP
    >>> relay.drain()  # publish everything committed so far, then return  # doctest: +SKIP
    >>> relay.run()    # or serve until SIGTERM / relay.stop()  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infra_models.kafka import KafkaProducerConfig
from infra_outbox.errors import BrokerError, OutboxError
from infra_outbox.settings import BatchReport, RelaySettings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from infra_outbox.event import Row
    from infra_outbox.held import Hold
    from infra_outbox.metrics import RelayMetrics
    from infra_outbox.ownership import ShardState
    from infra_outbox.reader import Page
    from infra_outbox.send import ProducerLike, SentBatch

__all__ = ["BatchReport", "Relay", "RelaySettings"]

log = logging.getLogger("infra_outbox.relay")


@dataclass(slots=True)
class _Flight:
    """A page on its way to Kafka."""

    page: Page
    states: list[ShardState]
    to_send: list[Row]
    parked_now: list[Row]
    sent: SentBatch | None
    careful: bool = False  # one event, sent alone, recorded as the suspect first
    abandoned: Row | None = None  # the suspect again: every relay that sent it stopped


def _producer_config(kafka: KafkaProducerConfig | Mapping[str, Any] | str) -> KafkaProducerConfig:
    if isinstance(kafka, KafkaProducerConfig):
        return kafka
    if isinstance(kafka, str):
        return KafkaProducerConfig(bootstrap_servers=kafka)
    return KafkaProducerConfig.model_validate(dict(kafka))


def _log_engine(engine: Engine) -> Engine:
    """The engine of the hot path on PostgreSQL: autocommit (a read or a cursor move is one round trip, no
    BEGIN/COMMIT) and ``synchronous_commit=off`` (a cursor move lost in a database crash only means its page is
    sent again: at least once). Everything else keeps the main engine."""
    if engine.dialect.name != "postgresql":
        return engine
    from sqlalchemy import create_engine

    return create_engine(
        engine.url,
        pool_pre_ping=True,
        isolation_level="AUTOCOMMIT",
        connect_args={"options": "-c synchronous_commit=off"},
    )


_SUPERSEDED = -1  # a background cursor move skipped because a later one of the same shards was queued


class _FencedError(Exception):
    """A cursor write matched fewer shards than expected: another relay owns them now."""


class Relay:
    """Publishes committed outbox events to Kafka, at least once and in commit order per key.

    Several relays may run against one database: each owns some shards (fenced leases) and reads only those.
    ``db`` is a URL or an Engine (on SQLite, make it with :func:`infra_outbox.db.make_engine`); ``kafka`` a
    bootstrap string, a :class:`KafkaProducerConfig` or its fields. ``producer`` and ``clock`` are injectable
    for tests (an injected producer sends every topic).
    """

    def __init__(
        self,
        db: str | Engine,
        kafka: KafkaProducerConfig | Mapping[str, Any] | str,
        *,
        settings: RelaySettings | None = None,
        producer: ProducerLike | None = None,
        metrics: RelayMetrics | None = None,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
        check_schema: bool = True,
    ) -> None:
        from infra_outbox.db import check_schema as _check_schema
        from infra_outbox.db import connect
        from infra_outbox.limits import ProducerPool
        from infra_outbox.ownership import Ownership
        from infra_outbox.reader import Reader

        self.settings = settings or RelaySettings()
        self.kafka = _producer_config(kafka)
        if self.kafka.message_timeout_ms / 1000.0 + 1.0 >= self.settings.lease_seconds * 0.75:
            raise OutboxError(
                f"message_timeout_ms={self.kafka.message_timeout_ms} must be under three quarters of the lease "
                f"({self.settings.lease_seconds:.0f} s) less 1 s, or a shard could change hands with records in "
                "flight",
                code="outbox.config",
            )
        self._owns_engine = isinstance(db, str)
        self.engine = connect(db) if isinstance(db, str) else db
        if check_schema:
            _check_schema(self.engine)
        conf = self.kafka.to_librdkafka()
        conf.setdefault("partitioner", "murmur2_random")  # same partition as Java clients for a key
        if producer is not None:
            self.pool = ProducerPool(lambda _conf: producer, conf, main=producer)
        else:
            self.pool = ProducerPool(self._make_producer, conf, describe=self._topic_limit)
        self.metrics = metrics
        self._clock = clock
        self._rand = rand
        self._stop = threading.Event()
        self.relay_id = uuid.uuid4().hex[:12]
        self.ownership = Ownership(self.engine, self.relay_id, lease_seconds=self.settings.lease_seconds, clock=clock)
        self.log_engine = _log_engine(self.engine)
        self.reader = Reader(self.log_engine, page_size=self.settings.batch_size)
        self.parked: set[tuple[str, str]] = set()
        self._failing: set[tuple[str, str]] = set()  # keys that failed in a page not finished yet
        self._held_waiting = True  # check the held table on the first round
        self._needs_reload = False
        self._careful_left: dict[int, int] = {}  # shard -> events still to send one at a time
        self._moves: deque[tuple[Future[int], list[int]]] = deque()  # cursor moves sent in the background
        self._latest_move: dict[tuple[int, ...], int] = {}  # shard group -> ticket of its last move queued
        self._move_tickets = 0
        self._next_heartbeat = float("-inf")
        self._next_stats = float("-inf")
        self._next_retention = float("-inf")
        self._next_progress = float("-inf")
        self.totals = BatchReport()
        self._admin: Any = None

    # -- Kafka -------------------------------------------------------------------------------------------

    @staticmethod
    def _make_producer(conf: Mapping[str, Any]) -> Any:
        from confluent_kafka import KafkaException, Producer

        from infra_outbox.kafka_log import kafka_logger

        try:  # librdkafka's own log lines go through logging, rate limited, not raw to stderr
            return Producer({"logger": kafka_logger(), **dict(conf)})
        except KafkaException as exc:
            raise BrokerError(f"Kafka producer settings refused: {exc}", code="outbox.broker_config") from exc

    def _topic_limit(self, topic: str) -> int | None:
        from confluent_kafka.admin import AdminClient, ConfigResource  # type: ignore[attr-defined]

        if self._admin is None:
            from infra_outbox.kafka_log import kafka_logger

            settings: dict[str, Any] = {"bootstrap.servers": self.kafka.bootstrap_servers, "logger": kafka_logger()}
            self._admin = AdminClient(settings)
        resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
        configs = self._admin.describe_configs([resource], request_timeout=5)[resource].result(5)
        entry = configs.get("max.message.bytes")
        return None if entry is None or entry.value is None else int(entry.value)

    @property
    def producer(self) -> ProducerLike:
        """The main confluent-kafka producer (created on first use)."""
        main: ProducerLike = self.pool.get_main()
        return main

    def check_broker(self, timeout: float = 10.0) -> None:
        """Raise :class:`BrokerError` unless a broker answers within ``timeout`` seconds."""
        from confluent_kafka import KafkaException

        try:
            self.producer.list_topics(timeout=timeout)  # type: ignore[attr-defined]
        except KafkaException as exc:
            raise BrokerError(
                f"no Kafka broker answered at {self.kafka.bootstrap_servers!r} within {timeout:.0f} s ({exc}); "
                "check --bootstrap-servers and that the broker is up",
                code="outbox.broker_unreachable",
            ) from exc

    def topics_on_broker(self, timeout: float = 10.0) -> set[str]:
        """The topic names the broker knows."""
        return set(self.producer.list_topics(timeout=timeout).topics)  # type: ignore[attr-defined]

    # -- rounds ------------------------------------------------------------------------------------------

    def _heartbeat(self, *, force: bool = False, rebalance: bool = True) -> None:
        now = self._clock()
        if not force and now < self._next_heartbeat:
            return
        from infra_outbox.held import parked_keys

        self._check_moves()
        gained, lost = self.ownership.heartbeat(rebalance=rebalance)
        if gained or lost:
            self.reader.reset()
        with self.engine.connect() as conn:
            self.parked = parked_keys(conn, self.ownership.owned)
        self._held_waiting = True
        self._next_heartbeat = now + self.settings.heartbeat_seconds

    def _groups(self) -> list[list[ShardState]]:
        groups: dict[tuple[str | None, str | None, bool], list[ShardState]] = {}
        limit = self.settings.crash_limit
        for shard in sorted(self.ownership.owned):
            state = self.ownership.owned[shard]
            groups.setdefault((*state.group_key(), state.crashes >= limit), []).append(state)  # careful apart
        return list(groups.values())

    def _start(self, states: list[ShardState]) -> _Flight:
        """Read the group's next page, move its cursors in memory, and produce what is not parked."""
        from infra_outbox.event import row_scope
        from infra_outbox.send import produce_events

        if self.ownership.lease_until - self._clock() < self.kafka.message_timeout_ms / 1000.0 + 1.0:
            # Never send with less lease left than a record may stay in flight; pages may be in flight: renew only.
            self._heartbeat(force=True, rebalance=False)
        page = self.reader.next_page(states)
        careful, abandoned = False, None
        if max(s.crashes for s in states) >= self.settings.crash_limit:
            if page.rows:
                page, careful, abandoned = self._carefully(states, page)
            else:  # nothing left that a relay could have died on
                self._end_careful(states, [s.shard for s in states])
        for state in states:
            if page.batch_snap is None:  # SQLite: the cursor is the last rowid
                state.last_id = max(state.last_id, page.last_id)
            elif page.complete:
                state.snap, state.batch_snap, state.last_id = page.batch_snap, None, 0
            else:
                state.snap, state.batch_snap, state.last_id = page.snap, page.batch_snap, page.last_id
        held_back = self.parked | self._failing
        to_send, parked_now = page.rows, []
        if held_back:
            to_send = [r for r in page.rows if row_scope(r) not in held_back]  # an unkeyed event's scope is None
            parked_now = [r for r in page.rows if row_scope(r) in held_back]
        if abandoned is not None:
            to_send, parked_now = [], []
        sent = None
        if to_send:
            sent = produce_events(
                self.pool,
                to_send,
                clock=self._clock,
                max_record_bytes=self.settings.max_record_bytes,
                failing=self._failing,
            )
        if careful and abandoned is None:
            self._mark_suspect_sent(states)
        return _Flight(page, states, to_send, parked_now, sent, careful, abandoned)

    def _mark_suspect_sent(self, states: list[ShardState]) -> None:
        """Record that producing the suspect returned: if this relay dies now, the event is not what killed it."""
        from sqlalchemy import update

        from infra_outbox.tables import shards

        self._check_moves()

        shard_ids = [s.shard for s in states]
        with self.engine.begin() as conn:
            moved = conn.execute(
                update(shards).where(self.ownership.fence(shard_ids)).values(suspect_sent=True)
            ).rowcount
        if moved != len(shard_ids):
            raise _FencedError(shard_ids)
        for state in states:
            state.suspect_sent = True

    def _end_careful(self, states: list[ShardState], shard_ids: list[int]) -> None:
        """Careful shards with nothing left to read go back to normal pages."""
        from sqlalchemy import update

        from infra_outbox.tables import shards

        self._check_moves()

        with self.engine.begin() as conn:
            conn.execute(update(shards).where(self.ownership.fence(shard_ids)).values(crashes=0, suspect_id=None))
        for state in states:
            state.crashes, state.suspect_id = 0, None
            self._careful_left.pop(state.shard, None)

    def _carefully(self, states: list[ShardState], page: Page) -> tuple[Page, bool, Row | None]:
        """Relays kept stopping while holding these shards: send their events one at a time, suspect first.

        Before sending an event alone, its id is stored as the shards' suspect. If the relay dies again, the next
        owner finds the same event first with the suspect set and a higher crash count: it goes DEAD unsent
        ("abandoned"), its key parks behind it, and everything else goes on.
        """
        from sqlalchemy import update

        from infra_outbox.event import COL_ID
        from infra_outbox.reader import Page
        from infra_outbox.tables import shards

        self._check_moves()
        first = page.rows[0]
        first_id = first[COL_ID]
        self.reader.reset()  # the rest of the page is read again after this event
        one = Page(page.shards, [first], page.snap, page.batch_snap, first_id, complete=False)
        crashes = max(s.crashes for s in states)
        # Abandon only an event whose produce call never returned: a relay that died after sending it (waiting
        # for Kafka, or before moving the cursor) does not make it a suspect.
        if crashes > self.settings.crash_limit and any(s.suspect_id == first_id and not s.suspect_sent for s in states):
            return one, True, first
        shard_ids = [s.shard for s in states]
        with self.engine.begin() as conn:
            moved = conn.execute(
                update(shards).where(self.ownership.fence(shard_ids)).values(suspect_id=first_id, suspect_sent=False)
            ).rowcount
            if moved != len(shard_ids):
                raise _FencedError(shard_ids)
        for state in states:
            state.suspect_id = first_id
            # The stopped relays had at most this many events of the shard in flight: the culprit is among them.
            self._careful_left.setdefault(state.shard, self.settings.batch_size * (self.settings.pipeline_depth + 1))
        log.warning(
            "relay %s: shards %s changed hands %d times without progress; sending event %d alone first",
            self.relay_id,
            shard_ids,
            crashes,
            first_id,
        )
        return one, True, None

    def _results(self, rows: list[Row], sent: SentBatch | None) -> SentBatch | None:
        from infra_outbox.send import await_sent, isolate

        if sent is None:
            return None
        timeout = self.kafka.message_timeout_ms / 1000.0 + 5.0
        results = await_sent(sent, timeout=timeout)
        if results.results.count(None) == len(results.results):
            return results  # no failure at all (the common case): nothing to judge
        suspects = [
            i for i, r in enumerate(results.results) if r is not None and r.sent and (r.permanent or r.size_rejected)
        ]
        if suspects:
            # The broker rejects a whole partition batch for one bad record: judge each suspect alone.
            log.warning("%d record(s) rejected by the broker; re-sending each alone to find the guilty", len(suspects))
            results = isolate(
                self.pool,
                rows,
                results,
                suspects,
                clock=self._clock,
                timeout=timeout,
                max_record_bytes=self.settings.max_record_bytes,
            )
        if any(r is not None and r.fatal for r in results.results):
            log.error("the Kafka producer hit a fatal error; it will be recreated")
            for producer in self.pool.all():
                producer.flush(5.0)
            self.pool.drop()
        return results

    def _finish(self, flight: _Flight, *, last: bool = False) -> BatchReport:
        """Wait for the page's acknowledgements, hold what failed, and move the cursors (fenced) in one commit.

        ``last``: no other page is in flight or about to be produced (the end of a round): send it at once.
        """
        from infra_models.outbox import OutboxStatus
        from infra_outbox.event import COL_SHARD, LogEvent
        from infra_outbox.held import COPY_PENDING, WAITING, Hold
        from infra_outbox.outcome import decide

        settings = self.settings
        if last and flight.sent is not None and flight.sent.outstanding[0] > 0:
            # Nothing else will be produced before this page is settled: send what waits in librdkafka's queue
            # now (flush) rather than after linger.ms (commit-to-ack latency at the end of every round).
            for producer in flight.sent.producers:
                producer.flush(self.kafka.message_timeout_ms / 1000.0 + 5.0)
        results = self._results(flight.to_send, flight.sent)
        decision = decide(flight.to_send, results, self.parked)
        now = self._clock()
        holds: list[Hold] = []
        report = BatchReport(read=len(flight.page.rows), latencies=decision.latencies)
        for index, error, permanent in decision.failed:  # a LogEvent only for what is held
            event = LogEvent.of(flight.to_send[index])
            if permanent or settings.backoff.max_attempts <= 1:
                dead_letter = COPY_PENDING if settings.dead_letter_topic else None
                holds.append(Hold(event, OutboxStatus.DEAD, 1, now, error, dead_letter))
                report.dead += 1
            else:
                holds.append(Hold(event, WAITING, 1, now + settings.backoff.delay(1, self._rand), error))
                report.retried += 1
        if flight.abandoned is not None:
            event = LogEvent.of(flight.abandoned)
            crashes = max(s.crashes for s in flight.states)
            reason = (
                f"abandoned after {crashes} attempts: each relay that held it stopped before recording an outcome "
                "(sending it may be what stops the relay)"
            )
            holds.append(Hold(event, OutboxStatus.DEAD, crashes, now, reason))  # not copied to the dead-letter topic
            if event.scope is not None:
                self.parked.add(event.scope)
            report.dead += 1
            log.error("event %d went DEAD: %s; its key is parked: see `infra-outbox dead list`", event.id, reason)
        for row in [*(flight.to_send[i] for i in decision.behind), *flight.parked_now]:
            holds.append(Hold(LogEvent.of(row), WAITING, 0, now, None))
        report.held = len(decision.behind) + len(flight.parked_now)
        report.published = len(decision.published)
        page = flight.page
        shard_ids = [s.shard for s in flight.states]
        if holds or page.rows:
            done_careful: list[int] = [st.shard for st in flight.states]
            if flight.careful:
                shard = page.rows[0][COL_SHARD]
                self._careful_left[shard] = self._careful_left.get(shard, 0) - 1
                done_careful = [st.shard for st in flight.states if self._careful_left.get(st.shard, 0) <= 0]
            if not holds and not flight.careful and page.batch_snap is not None:
                # The happy path on PostgreSQL: one prepared statement, sent by the reader's background thread
                # while the next pages are produced; its outcome (fenced or not) is checked before any other write.
                batch_snap = page.batch_snap
                group = tuple(shard_ids)
                self._move_tickets += 1
                ticket = self._latest_move[group] = self._move_tickets

                def move(driver: Any) -> int:
                    if self._latest_move.get(group) != ticket:
                        # A later page of these shards is already queued: its move supersedes this one (cursors
                        # only go forward), so the background thread does not fall behind by a round trip a page.
                        return _SUPERSEDED
                    return self.ownership.move_cursors(
                        driver,
                        shard_ids,
                        snap=page.snap,
                        batch_snap=batch_snap,
                        last_id=page.last_id,
                        complete=page.complete,
                        now=now,
                    )

                self._moves.append((self.reader.in_background(move), shard_ids))
                self._check_moves(wait=False)
            else:
                self._move_cursors(page, shard_ids, done_careful, holds, now)
            for state in flight.states:
                state.suspect_id = None
                if state.shard in done_careful:
                    state.crashes = 0
                    self._careful_left.pop(state.shard, None)
            if holds:
                self._held_waiting = True
        self._observe(report)
        if report.dead:
            log.error("%d event(s) went DEAD; their keys are parked: see `infra-outbox dead list`", report.dead)
        return report

    def _check_moves(self, *, wait: bool = True) -> None:
        """Check the cursor moves sent in the background (all of them, or those done): raise if one was fenced."""
        moves = self._moves
        while moves and (wait or moves[0][0].done()):
            future, shard_ids = moves.popleft()
            if future.result() not in (len(shard_ids), _SUPERSEDED):
                moves.clear()
                raise _FencedError(shard_ids)

    def _forget_moves(self) -> None:
        """After a failure: wait for the cursor moves still running, whatever their outcome."""
        from concurrent.futures import wait

        wait([future for future, _ in self._moves])  # their errors do not matter: the cursors are read back next
        self._moves.clear()
        self._latest_move.clear()

    def _move_cursors(
        self, page: Page, shard_ids: list[int], done_careful: list[int], holds: list[Hold], now: float
    ) -> None:
        """Move the cursors (fenced) with the held rows in one commit: failures, careful pages, and SQLite."""
        from sqlalchemy import case, text, update

        from infra_outbox.held import hold_rows
        from infra_outbox.tables import shards

        self._check_moves()  # cursor writes go in order: the background ones first

        values: dict[str, Any] = {
            "lease_until": now + self.settings.lease_seconds,
            "advanced_at": now,
            "suspect_id": None,
            "suspect_sent": False,
        }
        # Shards whose cursor moved past whatever stopped the relays: back to normal pages.
        values["crashes"] = case((shards.c.shard.in_(done_careful), 0), else_=shards.c.crashes)
        # Never move a cursor back: a shard of the group may already be past this page (its rows were skipped).
        forward = case((shards.c.last_id > page.last_id, shards.c.last_id), else_=page.last_id)
        if page.batch_snap is not None:
            if page.complete:
                values.update(snap=str(page.batch_snap), batch_snap=None, last_id=0)
            else:
                prev = None if page.snap is None else str(page.snap)
                values.update(snap=prev, batch_snap=str(page.batch_snap), last_id=forward)
        else:
            values["last_id"] = forward
        move = update(shards).where(self.ownership.fence(shard_ids)).values(**values)
        if holds:  # held rows and the cursor move commit together
            with self.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SET LOCAL synchronous_commit = off"))
                hold_rows(conn, holds, now)
                moved = conn.execute(move).rowcount
                if moved != len(shard_ids):
                    raise _FencedError(shard_ids)
        else:
            with self.log_engine.begin() as conn:
                moved = conn.execute(move).rowcount
            if moved != len(shard_ids):
                raise _FencedError(shard_ids)

    def _observe(self, report: BatchReport) -> None:
        self.totals.add(report)
        if self.metrics is not None:
            self.metrics.observe_batch(report)

    def _held_round(self) -> BatchReport:
        """Send the due held events (key heads and what waits behind them), then pending dead-letter copies."""
        from infra_outbox.held import (
            COPY_PENDING,
            dead_letter_pending,
            due_events,
            mark_dead_letter,
            parked_keys,
            settle_held,
        )
        from infra_outbox.outcome import decide
        from infra_outbox.send import copy_to_dead_letter, produce_events

        report = BatchReport()
        owned = list(self.ownership.owned)
        if not owned or not self._held_waiting:
            return report
        settings = self.settings
        now = self._clock()
        with self.engine.connect() as conn:
            events = due_events(conn, owned, now, settings.batch_size)
            letters = dead_letter_pending(conn, owned) if settings.dead_letter_topic else []
        if events:
            rows = [event.row for event in events]
            sent = produce_events(self.pool, rows, clock=self._clock, max_record_bytes=settings.max_record_bytes)
            results = self._results(rows, sent)
            decision = decide(rows, results, set())
            now = self._clock()
            retry: list[tuple[int, float, str]] = []
            dead: list[tuple[int, str, str | None]] = []
            for index, error, permanent in decision.failed:
                event = events[index]
                attempts = event.attempts + 1
                if permanent or attempts >= settings.backoff.max_attempts:
                    reason = error if permanent else f"gave up after {attempts} attempts: {error}"
                    dead.append((event.id, reason, COPY_PENDING if settings.dead_letter_topic else None))
                else:
                    retry.append((event.id, now + settings.backoff.delay(attempts, self._rand), error))
            with self.engine.begin() as conn:
                if self._still_owned(conn, owned):
                    settle_held(conn, published=[events[i].id for i in decision.published], retry=retry, dead=dead)
            report = BatchReport(
                read=len(events),
                published=len(decision.published),
                retried=len(retry),
                dead=len(dead),
                latencies=decision.latencies,
            )
            self._observe(report)
            if dead:
                log.error("%d held event(s) went DEAD; their keys stay parked: see `infra-outbox dead list`", len(dead))
        if letters and settings.dead_letter_topic:
            acked = copy_to_dead_letter(self.pool, settings.dead_letter_topic, letters)
            with self.engine.begin() as conn:
                mark_dead_letter(conn, acked)
        with self.engine.connect() as conn:
            self.parked = parked_keys(conn, self.ownership.owned)
            self._failing &= self.parked
            if not events and not letters:
                self._held_waiting = bool(self.parked)
        return report

    def _still_owned(self, conn: Any, shard_ids: list[int]) -> bool:
        from sqlalchemy import func, select

        from infra_outbox.tables import shards

        count = conn.execute(select(func.count()).select_from(shards).where(self.ownership.fence(shard_ids)))
        return int(count.scalar_one()) == len(shard_ids)

    def _reset_after_failure(self) -> None:
        """After a failed round, go back to the cursors as stored (the database may have lost a cursor move)."""
        self._forget_moves()
        self.reader.reset()
        self._needs_reload = True
        self.ownership.reload()
        self._needs_reload = False

    def run_once(self, *, max_pages: int | None = None) -> BatchReport:
        """One round: heartbeat, held events, then the log pages of every owned shard; return what happened."""
        if self._needs_reload:
            self._reset_after_failure()
            self._next_heartbeat = float("-inf")
        self._heartbeat()
        total = BatchReport()
        total.add(self._held_round())
        pages = 0
        flights: deque[_Flight] = deque()
        try:
            for states in self._groups():
                while max_pages is None or pages < max_pages:
                    flight = self._start(states)
                    pages += 1
                    flights.append(flight)
                    if flight.careful:  # settle it before anything else is sent
                        while flights:
                            total.add(self._finish(flights.popleft()))
                    elif len(flights) > self.settings.pipeline_depth:
                        total.add(self._finish(flights.popleft()))
                    if flight.page.complete or not flight.page.rows or self._stop.is_set():
                        break
                    if self._clock() >= self._next_heartbeat:
                        break
            while flights:  # nothing more is produced this round
                total.add(self._finish(flights.popleft(), last=True))
            self._check_moves()
            self.reader.drop_read_ahead()  # no read's transaction (and its locks) stays open between rounds
        except _FencedError as exc:
            log.warning(
                "relay %s lost shards %s while sending: their cursors stay for the new owner",
                self.relay_id,
                exc.args[0],
            )
            total.fenced += 1
            self._reset_after_failure()
        except BaseException:
            self._reset_after_failure()
            raise
        return total

    def drain(self, *, max_rounds: int | None = None) -> BatchReport:
        """Relay until a round finds nothing to send (or ``max_rounds``); return the totals."""
        total = BatchReport()
        rounds = 0
        while max_rounds is None or rounds < max_rounds:
            report = self.run_once()
            rounds += 1
            total.add(report)
            if report.read == 0 and report.fenced == 0:
                break
        return total

    def run(self) -> None:
        """Relay until :meth:`stop` is called; database and broker outages are waited out, not fatal."""
        from infra_outbox.db import database_errors_of_drivers
        from infra_outbox.wakeup import make_waiter

        database_errors = database_errors_of_drivers()

        waiter = make_waiter(
            self.engine, self._stop, notify=self.settings.notify, max_interval=self.settings.max_interval
        )
        outage = 0.5
        log.info(
            "relay %s started (batch %d, lease %.0f s)",
            self.relay_id,
            self.settings.batch_size,
            self.settings.lease_seconds,
        )
        try:
            while not self._stop.is_set():
                try:
                    report = self.run_once()
                    self._housekeeping()
                except database_errors as exc:
                    log.warning("database unavailable (%s); retrying in %.1f s", str(exc).splitlines()[0], outage)
                    self._stop.wait(outage)
                    outage = min(outage * 2, 10.0)
                    self._next_heartbeat = float("-inf")
                    continue
                outage = 0.5
                if report.read:
                    waiter.reset()
                else:
                    waiter.wait()
        finally:
            waiter.close()
            for producer in self.pool.all():
                producer.flush(5.0)
            try:
                self.ownership.release_all()
                self._next_heartbeat = float("-inf")
            except database_errors as exc:
                log.warning("could not release shards at stop (%s); they free up when the lease ends", exc)
            t = self.totals
            log.info(
                "relay %s stopped: %d published, %d retried, %d dead, %d held behind a failure",
                self.relay_id,
                t.published,
                t.retried,
                t.dead,
                t.held,
            )

    def _housekeeping(self) -> None:
        now = self._clock()
        if now >= self._next_progress:
            if self._next_progress > float("-inf"):
                t = self.totals
                log.info(
                    "relay %s progress: %d published, %d retried, %d dead, %d held; owns %d shard(s)",
                    self.relay_id,
                    t.published,
                    t.retried,
                    t.dead,
                    t.held,
                    len(self.ownership.owned),
                )
            self._next_progress = now + self.settings.progress_interval
        if self.metrics is not None and now >= self._next_stats:
            self.refresh_metrics()
            self._next_stats = now + self.settings.stats_interval
        if now >= self._next_retention:
            self.housekeeping()
            self._next_retention = now + min(60.0, self.settings.retention_seconds / 4 or 60.0)

    def refresh_metrics(self) -> None:
        """Refresh the backlog gauges (pending, oldest pending age, dead) from the database now."""
        from infra_outbox.admin import outbox_stats

        if self.metrics is not None:
            self.metrics.observe_stats(outbox_stats(self.engine, now=self._clock()))

    def housekeeping(self) -> int:
        """Retire consumed events older than the retention (a partition TRUNCATE on PostgreSQL); return rows."""
        from infra_outbox.retention import retire

        return retire(self.engine, retention_seconds=self.settings.retention_seconds, now=self._clock())

    def stop(self) -> None:
        """Ask :meth:`run` to return after the current round."""
        self._stop.set()

    def close(self) -> None:
        """Flush the producers, give the shards back, and release the database connections the relay created."""
        self.reader.close()
        if self.log_engine is not self.engine:
            self.log_engine.dispose()
        for producer in self.pool.all():
            producer.flush(5.0)
        if self.ownership.owned:
            self.ownership.release_all()
            self._next_heartbeat = float("-inf")
        if self._owns_engine:
            self.engine.dispose()
