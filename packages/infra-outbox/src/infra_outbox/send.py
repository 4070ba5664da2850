"""Produce events with confluent-kafka and collect one delivery outcome per event."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from infra_outbox.backoff import describe_error, is_permanent
from infra_outbox.event import COL_KEY, COL_PAYLOAD, COL_TOPIC, LogEvent, Row, row_scope
from infra_outbox.headers import AGGREGATE_ID, CONTENT_TYPE, CREATED_AT, EVENT_ID, EVENT_SEQ, EVENT_TYPE
from infra_outbox.limits import ProducerPool, record_batch_size

__all__ = [
    "Delivery",
    "ProducerLike",
    "SentBatch",
    "await_sent",
    "copy_to_dead_letter",
    "isolate",
    "produce_events",
    "record_headers",
]

log = logging.getLogger("infra_outbox.relay")


class ProducerLike(Protocol):
    """The part of ``confluent_kafka.Producer`` a relay uses."""

    def produce(
        self,
        topic: str,
        value: bytes | None = ...,
        key: str | None = ...,
        *,
        headers: Any = ...,
        on_delivery: Any = ...,
    ) -> None: ...
    def poll(self, timeout: float = ...) -> int: ...
    def flush(self, timeout: float = ...) -> int: ...


@dataclass(slots=True)
class Delivery:
    """The outcome of one event: ``error`` is None once Kafka acknowledged it; ``sent`` False if not produced."""

    sent: bool = False
    error: str | None = None
    permanent: bool = False
    fatal: bool = False
    size_rejected: bool = False
    acked_at: float = 0.0
    done: bool = False

    @property
    def acknowledged(self) -> bool:
        """Whether Kafka took the event: its outcome is in and it is not an error."""
        return self.done and self.error is None


def record_headers(event: LogEvent) -> list[tuple[str, str]]:
    """The Kafka headers of one event: its id, type, per-key sequence, and the caller's own headers.

    Raises ValueError naming the event when its stored headers are not a JSON object of strings.
    """
    headers = [
        (EVENT_ID, event.event_id),
        (EVENT_TYPE, event.event_type),
        (CONTENT_TYPE, event.content_type),
        (CREATED_AT, repr(event.created_at)),
    ]
    if event.seq is not None:
        headers.append((EVENT_SEQ, str(event.seq)))
    if event.aggregate_id is not None:
        headers.append((AGGREGATE_ID, event.aggregate_id))
    if event.headers:
        try:
            extra = json.loads(event.headers)
        except ValueError as exc:
            raise ValueError(f"stored headers of event {event.event_id} are not valid JSON ({exc})") from None
        if not isinstance(extra, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in extra.items()):
            raise ValueError(f"stored headers of event {event.event_id} are not a JSON object of strings")
        headers.extend(extra.items())
    return headers


@dataclass(slots=True)
class SentBatch:
    """Produced events whose delivery reports are still coming in.

    The reports of a page go to one callback that counts them (a Python call per record is most of what a
    report costs, so no per-record closure). An event has a :class:`Delivery` in ``results`` only when it
    failed, could not be produced, or was judged alone (:func:`isolate`); every other produced event is
    acknowledged once the page is complete: ``outstanding[0]`` is 0 and ``acked_at[0]`` the time its last
    report came in (the commit-to-ack time of each event of a page is taken to that last report).
    """

    results: list[Delivery | None]
    produced: bytearray
    producers: list[Any] = field(default_factory=list)
    outstanding: list[int] = field(default_factory=lambda: [0])
    acked_at: list[float] = field(default_factory=lambda: [0.0])

    def ok(self, index: int) -> bool:
        """Whether Kafka acknowledged event ``index``."""
        return self.delivery(index).acknowledged

    def delivery(self, index: int) -> Delivery:
        """The outcome of event ``index`` as a :class:`Delivery`."""
        result = self.results[index]
        if result is not None:
            return result
        acked = self.acked_at[0] if self.produced[index] else 0.0
        return Delivery(sent=bool(self.produced[index]), done=acked > 0.0, acked_at=acked)

    def all_acknowledged(self) -> bool:
        """Whether every event of the page was produced and acknowledged (the common case)."""
        return self.acked_at[0] > 0.0 and self.produced.count(0) == 0 and self.results.count(None) == len(self.results)


def _reported(msg: Any) -> tuple[str, bytes | None, bytes] | None:
    """What a delivery report tells its record by: ``(topic, key, value)``, or None when it carries no message.

    confluent-kafka's reports carry no headers (so no event id): topic, key and value are what they have.
    """
    if msg is None:
        return None
    return (msg.topic(), msg.key(), msg.value() or b"")


def _identity(row: Row) -> tuple[str, bytes | None, bytes]:
    """A row's record as :func:`_reported` gives it back."""
    key = row[COL_KEY]
    return (row[COL_TOPIC], None if key is None else key.encode(), row[COL_PAYLOAD] or b"")


def _precheck(pool: ProducerPool, row: Row, headers: list[tuple[str, str]], max_record_bytes: int) -> str | None:
    """Why the event cannot be sent even alone (its one-record batch is over the topic's limit), or None."""
    topic, key = row[COL_TOPIC], row[COL_KEY]
    limit = min(pool.limit(topic), max_record_bytes + 1024)
    size = record_batch_size(None if key is None else key.encode(), row[COL_PAYLOAD], headers)
    if size > limit:
        return (
            f"MSG_SIZE_TOO_LARGE: record is {size} bytes as a batch of its own, over the {limit}-byte limit of "
            f"topic {topic!r} (max.message.bytes); it cannot be sent"
        )
    return None


def produce_events(
    pool: ProducerPool,
    rows: Sequence[Row],
    *,
    clock: Callable[[], float],
    max_record_bytes: int,
    failing: set[tuple[str, str]] | None = None,
) -> SentBatch:
    """Produce the events of ``rows`` in order without waiting; a key stops at its first event that cannot be produced.

    ``failing`` collects the keys whose delivery failed (reports arrive while later pages are produced), and
    keys already in it are not produced: their events wait behind the failure.
    """
    from confluent_kafka import KafkaException

    count = len(rows)
    sent = SentBatch(results=[None] * count, produced=bytearray(count))
    results, produced, outstanding, acked_at = sent.results, sent.produced, sent.outstanding, sent.acked_at
    stopped: set[tuple[str, str]] = set() if failing is None else failing
    used: dict[int, Any] = {}
    by_record: dict[tuple[str, bytes | None, bytes], list[int]] = {}  # built on the first failure only

    def failed(err: Any, msg: Any) -> None:
        """A failed report: find its event(s) by topic, key and value, and record the failure."""
        if not by_record:
            for i, row in enumerate(rows):
                by_record.setdefault(_identity(row), []).append(i)
        record = _reported(msg)
        # Events of the page with the same topic, key and value cannot be told apart: each counts as failed,
        # which at worst sends one again. A report naming no event of the page fails every event of it.
        indices = [i for i in by_record.get(record, ()) if produced[i]] if record is not None else []
        if not indices:
            indices = [i for i in range(count) if produced[i]]
        error = describe_error(err, rows[indices[0] if indices else 0][COL_TOPIC])
        delivery = Delivery(
            sent=True,
            done=True,
            error=error,
            permanent=is_permanent(err),
            fatal=bool(err.fatal()),
            size_rejected="SIZE_TOO_LARGE" in error or "RECORD_LIST_TOO_LARGE" in error,
        )
        for index in indices:  # all produced
            if results[index] is None:
                results[index] = delivery
                scope = row_scope(rows[index])
                if scope is not None:
                    stopped.add(scope)

    def on_delivery(err: Any, msg: Any) -> None:
        outstanding[0] -= 1
        if not outstanding[0]:  # the page's last report (the count is added once the loop ends)
            acked_at[0] = clock()
        if err is not None:
            failed(err, msg)

    last_topic: str | None = None
    producer: Any = None
    produce: Any = None
    limit = 0
    sending = 0
    # Locals: this loop runs once per event, and its Python cost is most of the relay's own CPU per event.
    event_id_name, event_type_name, content_type_name = EVENT_ID, EVENT_TYPE, CONTENT_TYPE
    created_at_name, event_seq_name = CREATED_AT, EVENT_SEQ
    for index, row in enumerate(rows):
        _id, _shard, event_id, event_type, topic, key, seq, aggregate_id, payload, content_type, extra, created_at = row
        if key is not None and stopped and (topic, key) in stopped:
            continue
        if topic != last_topic:
            last_topic = topic
            producer = pool.for_topic(topic)
            produce = producer.produce
            used[id(producer)] = producer
            limit = min(pool.limit(topic), max_record_bytes + 1024)
        problem = None
        if aggregate_id is None and not extra:  # the common shape, built inline
            if seq is None:
                headers = [
                    (event_id_name, event_id),
                    (event_type_name, event_type),
                    (content_type_name, content_type),
                    (created_at_name, repr(created_at)),
                ]
            else:
                headers = [
                    (event_id_name, event_id),
                    (event_type_name, event_type),
                    (content_type_name, content_type),
                    (created_at_name, repr(created_at)),
                    (event_seq_name, str(seq)),
                ]
            if len(payload) + 4 * len(key or "") + 400 > limit:
                problem = _precheck(pool, row, headers, max_record_bytes)
        else:
            try:
                headers = record_headers(LogEvent.of(row))
            except ValueError as exc:
                problem = f"INVALID_RECORD: {exc}"
                headers = []
            if problem is None and len(payload) + 4 * len(key or "") + 2 * len(extra or "") + 400 > limit:
                problem = _precheck(pool, row, headers, max_record_bytes)
        if problem is not None:
            results[index] = Delivery(done=True, error=problem, permanent=True)
            if key is not None:
                stopped.add((topic, key))
            continue
        try:
            produce(topic, payload, key, headers=headers, on_delivery=on_delivery)
            err = None
        except BufferError:
            err = _produce_when_room(producer, topic, payload, key, headers, callback=on_delivery)
        except KafkaException as exc:
            err = exc.args[0]
        if err is None:
            produced[index] = 1
            sending += 1
        else:
            results[index] = Delivery(done=True, error=describe_error(err, topic), permanent=is_permanent(err))
            if key is not None:
                stopped.add((topic, key))
    # Counted once here, not per record: delivery reports come only from poll(), and the ones served while the
    # local queue was full have already taken their share off.
    outstanding[0] += sending
    if not outstanding[0]:  # every report came in while the loop ran (or nothing was produced)
        acked_at[0] = clock()
    sent.producers = list(used.values())
    for producer in sent.producers:
        producer.poll(0)
    return sent


def _produce_when_room(
    producer: Any, topic: str, payload: bytes, key: str | None, headers: list[tuple[str, str]], *, callback: Any
) -> Any:
    """Produce once librdkafka's local queue has room (serving delivery reports meanwhile); the error, or None."""
    from confluent_kafka import KafkaException

    while True:
        producer.poll(0.05)
        try:
            producer.produce(topic, payload, key, headers=headers, on_delivery=callback)
        except BufferError:
            continue
        except KafkaException as exc:
            return exc.args[0]
        return None


def await_sent(sent: SentBatch, *, timeout: float) -> SentBatch:
    """Serve delivery reports until every produced event has one (at most ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while sent.outstanding[0] > 0:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for producer in sent.producers:
            producer.poll(min(left, 0.05) if len(sent.producers) > 1 else min(left, 0.1))
    if sent.outstanding[0] > 0:  # which reports are missing is not known: every event not failed yet fails
        missing = Delivery(sent=True, done=True, error=f"no acknowledgement within {timeout:.0f} s")
        for index, was_produced in enumerate(sent.produced):
            if was_produced and sent.results[index] is None:
                sent.results[index] = missing
    return sent


def isolate(
    pool: ProducerPool,
    rows: Sequence[Row],
    sent: SentBatch,
    suspects: Sequence[int],
    *,
    clock: Callable[[], float],
    timeout: float,
    max_record_bytes: int,
) -> SentBatch:
    """Re-send each suspect alone, with nothing else in flight, and keep those verdicts.

    A broker rejects a whole partition batch for one bad record. Every producer is flushed first (so no record of
    another round can share the suspect's batch), then each suspect goes alone and is flushed before the next;
    a key stops at its first event that fails alone.
    """
    for producer in pool.all():
        producer.flush(timeout)
    failed: set[tuple[str, str]] = set()
    for index in suspects:
        row = rows[index]
        scope = row_scope(row)
        if scope is not None and scope in failed:
            sent.results[index] = Delivery()  # not sent: held behind the failed event of its key
            continue
        pool.forget(row[COL_TOPIC])
        single = produce_events(pool, [row], clock=clock, max_record_bytes=max_record_bytes)
        for producer in single.producers:
            producer.flush(timeout)
        await_sent(single, timeout=timeout)
        sent.results[index] = single.delivery(0)  # acknowledged alone: done, no error, its own time
        if not single.ok(0) and scope is not None:
            failed.add(scope)
    return sent


def copy_to_dead_letter(
    pool: ProducerPool, topic: str, dead: Sequence[tuple[LogEvent, str]], *, timeout: float = 10.0
) -> list[int]:
    """Copy dead events to ``topic`` (headers ``dead_reason``, ``original_topic``); return the ids acknowledged.

    A copy that fails is logged with the reason and left for the next attempt; it is never dropped silently.
    """
    if not dead:
        return []
    from confluent_kafka import KafkaException

    producer = pool.get_main()
    acked: list[int] = []
    errors: dict[int, str] = {}

    def callback(event_id: int) -> Callable[[Any, Any], None]:
        def done(err: Any, _msg: Any) -> None:
            if err is None:
                acked.append(event_id)
            else:
                errors[event_id] = describe_error(err, topic)

        return done

    for event, reason in dead:
        try:
            headers = [*record_headers(event), ("dead_reason", reason[:1000]), ("original_topic", event.topic)]
        except ValueError:
            headers = [(EVENT_ID, event.event_id), ("dead_reason", reason[:1000]), ("original_topic", event.topic)]
        try:
            producer.produce(topic, event.payload, event.key, headers=headers, on_delivery=callback(event.id))
        except (KafkaException, BufferError) as exc:
            errors[event.id] = str(exc)
    producer.flush(timeout)
    for event, _reason in dead:
        if event.id not in acked:
            log.error(
                "could not copy dead event %s (id %d) to dead-letter topic %r: %s; it will be retried",
                event.event_id,
                event.id,
                topic,
                errors.get(event.id, f"no acknowledgement within {timeout:.0f} s"),
            )
    return acked
