"""The relay: claim pending events under a lease, send them to Kafka, mark what Kafka acknowledged.

Example:
    >>> relay = Relay("postgresql+psycopg://app@db/app", "kafka:9092")  # doctest: +SKIP
    >>> relay.drain()  # publish everything pending, then return  # doctest: +SKIP
    >>> relay.run()    # or serve until SIGTERM / relay.stop()  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from infra_models.kafka import KafkaProducerConfig
from infra_outbox.backoff import Backoff
from infra_outbox.errors import BrokerError, OutboxError
from infra_outbox.lease import ClaimedEvent, Settlement, claim_batch, settle_batch
from infra_outbox.outbox import DEFAULT_MAX_RECORD_BYTES
from infra_outbox.outcome import decide

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from infra_outbox.metrics import RelayMetrics
    from infra_outbox.send import ProducerLike, SentBatch
    from infra_outbox.wakeup import PollWaiter

__all__ = ["BatchReport", "Relay", "RelaySettings"]

log = logging.getLogger("infra_outbox.relay")


@dataclass(frozen=True, slots=True)
class RelaySettings:
    """How a relay claims, retries, cleans up and waits."""

    batch_size: int = 1000
    lease_seconds: float = 60.0
    backoff: Backoff = field(default_factory=Backoff)
    dead_letter_topic: str | None = None
    retention_seconds: float = 3600.0
    cleanup_interval: float = 60.0
    cleanup_batch_size: int = 1000
    max_interval: float = 1.0
    notify: bool = True
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.lease_seconds <= 0:
            raise ValueError(f"lease_seconds must be positive, got {self.lease_seconds}")


@dataclass(slots=True)
class _InFlight:
    """A claimed batch on its way to Kafka."""

    token: str
    batch: list[ClaimedEvent]
    claimed_at: float
    report: BatchReport
    producer: ProducerLike | None = None
    sent: SentBatch | None = None


@dataclass(slots=True)
class BatchReport:
    """What one claim-send-mark round did."""

    claimed: int = 0
    published: int = 0
    retried: int = 0
    dead: int = 0
    released: int = 0
    fenced: int = 0
    latencies: list[float] = field(default_factory=list)
    claim_seconds: float = 0.0
    send_seconds: float = 0.0
    settle_seconds: float = 0.0

    def add(self, other: BatchReport) -> None:
        """Accumulate another round into this one."""
        self.claimed += other.claimed
        self.published += other.published
        self.retried += other.retried
        self.dead += other.dead
        self.released += other.released
        self.fenced += other.fenced
        self.latencies.extend(other.latencies)
        self.claim_seconds += other.claim_seconds
        self.send_seconds += other.send_seconds
        self.settle_seconds += other.settle_seconds


def _producer_config(kafka: KafkaProducerConfig | Mapping[str, Any] | str) -> KafkaProducerConfig:
    if isinstance(kafka, KafkaProducerConfig):
        return kafka
    if isinstance(kafka, str):
        return KafkaProducerConfig(bootstrap_servers=kafka)
    return KafkaProducerConfig.model_validate(dict(kafka))


class Relay:
    """Publishes committed outbox events to Kafka, at least once and in order per key.

    Several relays may run against one database; each key is in one relay's hands at a time.
    ``db`` is a URL or an Engine (on SQLite, make it with :func:`infra_outbox.db.make_engine`, which makes
    transactions ``BEGIN IMMEDIATE`` so several relays queue for the claim); ``kafka`` a bootstrap string,
    a :class:`KafkaProducerConfig` or its fields.
    ``producer`` and ``clock`` are injectable for tests.
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

        self.settings = settings or RelaySettings()
        self.kafka = _producer_config(kafka)
        if self.kafka.message_timeout_ms / 1000.0 >= self.settings.lease_seconds:
            raise OutboxError(
                f"message_timeout_ms={self.kafka.message_timeout_ms} must be shorter than the lease "
                f"({self.settings.lease_seconds:.0f} s), or a lease could expire with records still in flight",
                code="outbox.config",
            )
        self._owns_engine = isinstance(db, str)
        self.engine = connect(db) if isinstance(db, str) else db
        if check_schema:
            _check_schema(self.engine)
        self._producer = producer
        self.metrics = metrics
        self._clock = clock
        self._rand = rand
        self._stop = threading.Event()
        self._last_cleanup = float("-inf")
        self._preclaim_skip = 0
        self.relay_id = uuid.uuid4().hex[:12]

    # -- Kafka -------------------------------------------------------------------------------------------

    @property
    def producer(self) -> ProducerLike:
        """The confluent-kafka producer (created on first use)."""
        if self._producer is None:
            from confluent_kafka import KafkaException, Producer

            conf = self.kafka.to_librdkafka()
            conf.setdefault("partitioner", "murmur2_random")  # same partition as Java clients for a key
            try:
                producer: ProducerLike = Producer(conf)
            except KafkaException as exc:
                raise BrokerError(f"Kafka producer settings refused: {exc}", code="outbox.broker_config") from exc
            self._producer = producer
        return self._producer

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

    def missing_topics(self, timeout: float = 10.0) -> dict[str, int]:
        """Topics that unfinished events name but the broker does not have, with how many events each."""
        from sqlalchemy import func, select

        from infra_outbox.tables import DUE, events

        with self.engine.connect() as conn:
            wanted = {
                topic: int(count)
                for topic, count in conn.execute(
                    select(events.c.topic, func.count()).where(events.c.status.in_(DUE)).group_by(events.c.topic)
                )
            }
        if not wanted:
            return {}
        known = set(self.producer.list_topics(timeout=timeout).topics)  # type: ignore[attr-defined]
        return {topic: count for topic, count in sorted(wanted.items()) if topic not in known}

    # -- one round ---------------------------------------------------------------------------------------

    def run_once(self) -> BatchReport:
        """Claim one batch, send it, and record the outcome; return what happened."""
        flight = self._start()
        return flight.report if flight.sent is None else self._finish(flight)

    def _start(self, *, ahead: bool = False) -> _InFlight:
        """Claim a batch and produce it without waiting for Kafka (``ahead``: while another is in flight)."""
        from infra_outbox.send import produce_batch

        settings = self.settings
        token = uuid.uuid4().hex
        claimed_at = self._clock()
        started = time.perf_counter()
        abandoned: list[int] = []
        batch = claim_batch(
            self.engine,
            token=token,
            now=claimed_at,
            lease_seconds=settings.lease_seconds,
            limit=settings.batch_size,
            thorough=not ahead,
            max_attempts=settings.backoff.max_attempts,
            abandoned=abandoned,
        )
        report = BatchReport(claimed=len(batch), claim_seconds=time.perf_counter() - started)
        if abandoned:
            report.dead = len(abandoned)
            log.error(
                "%d event(s) went DEAD after %d attempts that each ended with the relay stopping while it held "
                "them (ids %s); their keys are parked: see `infra-outbox dead list`",
                len(abandoned),
                settings.backoff.max_attempts,
                ", ".join(map(str, abandoned[:10])),
            )
            if self.metrics is not None and not batch:
                self.metrics.observe_batch(report)
        flight = _InFlight(token=token, batch=batch, claimed_at=claimed_at, report=report)
        if batch:
            started = time.perf_counter()
            flight.producer = self.producer
            flight.sent = produce_batch(
                flight.producer, batch, clock=self._clock, max_record_bytes=settings.max_record_bytes
            )
            report.send_seconds = time.perf_counter() - started
        return flight

    def _finish(self, flight: _InFlight) -> BatchReport:
        """Wait for the batch's delivery reports, then mark it (fenced on its lease token)."""
        from infra_outbox.send import await_batch, copy_to_dead_letter, isolate

        assert flight.sent is not None and flight.producer is not None
        settings = self.settings
        batch, report = flight.batch, flight.report
        timeout = self.kafka.message_timeout_ms / 1000.0 + 5.0
        started = time.perf_counter()
        results = await_batch(flight.producer, flight.sent, timeout=timeout)
        suspects = [i for i, r in enumerate(results) if r.sent and r.permanent]
        if len(suspects) > 1:
            # The broker rejects a whole partition batch for one bad record: find the guilty one by sending alone.
            results = isolate(
                flight.producer,
                batch,
                results,
                suspects,
                clock=self._clock,
                timeout=timeout,
                max_record_bytes=settings.max_record_bytes,
            )
        report.send_seconds += time.perf_counter() - started
        if any(r.fatal for r in results) and self._producer is flight.producer:
            log.error("the Kafka producer hit a fatal error; it will be recreated")
            self._producer = None
        settlement, dead_events, latencies = decide(
            batch, results, backoff=settings.backoff, now=self._clock(), rand=self._rand
        )
        report.latencies.extend(latencies)
        if dead_events and settings.dead_letter_topic:
            copy_to_dead_letter(flight.producer, settings.dead_letter_topic, dead_events)
        report.published = len(settlement.published)
        report.retried = len(settlement.retry)
        report.dead += len(settlement.dead)
        report.released = len(settlement.released)
        started = time.perf_counter()
        report.fenced = self._settle(flight.token, settlement, flight.claimed_at)
        report.settle_seconds = time.perf_counter() - started
        if report.fenced:
            log.warning(
                "relay %s lost its lease on %d of %d events (another relay took them over): "
                "their marks were fenced off and may be sent again",
                self.relay_id,
                report.fenced,
                len(batch),
            )
        if self.metrics is not None:
            self.metrics.observe_batch(report)
        if report.dead:
            log.error("%d event(s) went DEAD; their keys are parked: see `infra-outbox dead list`", report.dead)
        return report

    def _settle(self, token: str, settlement: Settlement, claimed_at: float) -> int:
        """Mark the batch, retrying while the lease lasts (a database restart must not cause re-sends)."""
        from sqlalchemy.exc import OperationalError

        keep = self.settings.retention_seconds > 0
        deadline = claimed_at + self.settings.lease_seconds
        pause = 0.2
        while True:
            try:
                return settle_batch(
                    self.engine, token=token, now=self._clock(), settlement=settlement, keep_published=keep
                )
            except OperationalError as exc:
                if self._clock() + pause >= deadline:
                    raise
                log.warning("marking the batch failed (%s); retrying while the lease lasts", str(exc).splitlines()[0])
                time.sleep(pause)
                pause = min(pause * 2, 5.0)

    # -- loops -------------------------------------------------------------------------------------------

    def _preclaim_wanted(self) -> bool:
        """Whether to claim the next batch while one is in flight (skipped for a while after a fruitless try)."""
        if self._preclaim_skip > 0:
            self._preclaim_skip -= 1
            return False
        return True

    def _note_preclaim(self, found: bool) -> None:
        # Nothing to claim beside the batch in flight (it holds every ready key): stop trying for a few rounds,
        # each fruitless try costs a window read.
        if not found:
            self._preclaim_skip = 3

    def drain(self, *, max_rounds: int | None = None) -> BatchReport:
        """Relay until no event is claimable now (or ``max_rounds``); return the totals.

        Two batches overlap when they can: the next one is claimed and produced while Kafka acknowledges the
        current one.
        """
        total = BatchReport()
        rounds = 1
        current = self._start()
        while current.sent is not None:
            more = max_rounds is None or rounds < max_rounds
            following = self._start(ahead=True) if more and self._preclaim_wanted() else None
            if following is not None:
                self._note_preclaim(following.sent is not None)
            total.add(self._finish(current))
            if following is None or following.sent is None:
                if following is not None:
                    total.add(following.report)
                if not more:
                    return total
                following = self._start()  # its keys may have been held by the batch just marked
            rounds += 1
            current = following
        total.add(current.report)
        return total

    def run(self) -> None:
        """Relay until :meth:`stop` is called; database and broker outages are waited out, not fatal."""
        from sqlalchemy.exc import SQLAlchemyError

        from infra_outbox.wakeup import make_waiter

        waiter: PollWaiter = make_waiter(
            self.engine, self._stop, notify=self.settings.notify, max_interval=self.settings.max_interval
        )
        outage = 0.5
        current: _InFlight | None = None
        try:
            while not self._stop.is_set():
                failure: SQLAlchemyError | None = None
                following: _InFlight | None = None
                worked = False
                if current is None or self._preclaim_wanted():
                    try:
                        following = self._start(ahead=current is not None)
                    except SQLAlchemyError as exc:
                        failure = exc
                    if current is not None and failure is None:
                        self._note_preclaim(following is not None and following.sent is not None)
                if current is not None:
                    flight, current, worked = current, None, True
                    try:
                        self._finish(flight)
                    except SQLAlchemyError as exc:  # not marked: its lease expires and it is sent again
                        failure = exc
                if following is not None and following.sent is not None:
                    current = following
                if failure is None:
                    try:
                        self.housekeeping()
                    except SQLAlchemyError as exc:
                        failure = exc
                if failure is not None:
                    log.warning("database unavailable (%s); retrying in %.1f s", str(failure).splitlines()[0], outage)
                    self._stop.wait(outage)
                    outage = min(outage * 2, 10.0)
                    continue
                outage = 0.5
                if current is not None or worked:
                    waiter.reset()  # more may be claimable now that a batch was marked: go on at once
                else:
                    waiter.wait()
            if current is not None:
                self._finish(current)
        finally:
            waiter.close()
            if self._producer is not None:
                self._producer.flush(5.0)

    def stop(self) -> None:
        """Ask :meth:`run` to return after the current batch."""
        self._stop.set()

    def housekeeping(self, *, force: bool = False) -> int:
        """Delete published events past the retention (bounded) and refresh the backlog gauges."""
        now = self._clock()
        if not force and now - self._last_cleanup < self.settings.cleanup_interval:
            return 0
        from infra_outbox.admin import cleanup, outbox_stats

        self._last_cleanup = now
        deleted = 0
        if self.settings.retention_seconds > 0:
            deleted = cleanup(
                self.engine,
                retention_seconds=self.settings.retention_seconds,
                batch_size=self.settings.cleanup_batch_size,
                max_batches=10,
                now=now,
            )
        if self.metrics is not None:
            self.metrics.observe_stats(outbox_stats(self.engine, now=now, done=False))
        return deleted

    def close(self) -> None:
        """Flush the producer, and release the database connections of an engine the relay created."""
        if self._producer is not None:
            self._producer.flush(5.0)
        if self._owns_engine:
            self.engine.dispose()
