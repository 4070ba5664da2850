"""Produce events with confluent-kafka and collect one delivery outcome per event."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from infra_outbox.backoff import describe_error, is_permanent
from infra_outbox.event import LogEvent
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
    """Produced events whose delivery reports are still coming in."""

    results: list[Delivery]
    producers: list[Any] = field(default_factory=list)
    outstanding: list[int] = field(default_factory=lambda: [0])


def _precheck(pool: ProducerPool, event: LogEvent, headers: list[tuple[str, str]], max_record_bytes: int) -> str | None:
    limit = min(pool.limit(event.topic), max_record_bytes + 1024)
    rough = len(event.payload) + 4 * len(event.key or "") + 2 * len(event.headers or "") + 400
    if rough <= limit:  # the common case: far below the limit, no need for the exact size
        return None
    size = record_batch_size(None if event.key is None else event.key.encode(), event.payload, headers)
    if size > limit:
        return (
            f"MSG_SIZE_TOO_LARGE: record is {size} bytes as a batch of its own, over the {limit}-byte limit of "
            f"topic {event.topic!r} (max.message.bytes); it cannot be sent"
        )
    return None


def produce_events(
    pool: ProducerPool,
    events: Sequence[LogEvent],
    *,
    clock: Callable[[], float],
    max_record_bytes: int,
    failing: set[tuple[str, str]] | None = None,
) -> SentBatch:
    """Produce ``events`` in order without waiting; a key stops at its first event that cannot be produced.

    ``failing`` collects the keys whose delivery failed (reports arrive while later pages are produced), and
    keys already in it are not produced: their events wait behind the failure.
    """
    from confluent_kafka import KafkaException

    sent = SentBatch(results=[Delivery() for _ in events])
    results, outstanding = sent.results, sent.outstanding
    stopped: set[tuple[str, str]] = set() if failing is None else failing
    used: dict[int, Any] = {}

    def on_delivery(index: int, err: Any, _msg: Any) -> None:
        result = results[index]
        result.done = True
        result.acked_at = clock()
        outstanding[0] -= 1
        if err is not None:
            result.error = describe_error(err, events[index].topic)
            result.permanent = is_permanent(err)
            result.fatal = bool(err.fatal())
            result.size_rejected = "SIZE_TOO_LARGE" in result.error or "RECORD_LIST_TOO_LARGE" in result.error
            scope = events[index].scope
            if scope is not None:
                stopped.add(scope)

    for index, event in enumerate(events):
        scope = event.scope
        if scope is not None and scope in stopped:
            continue
        try:
            headers = record_headers(event)
            problem = _precheck(pool, event, headers, max_record_bytes)
        except ValueError as exc:
            problem = f"INVALID_RECORD: {exc}"
        if problem is not None:
            results[index] = Delivery(done=True, error=problem, permanent=True)
            if scope is not None:
                stopped.add(scope)
            continue
        producer = pool.for_topic(event.topic)
        used[id(producer)] = producer
        callback = _bind(on_delivery, index)
        while True:
            try:
                outstanding[0] += 1
                producer.produce(event.topic, event.payload, event.key, headers=headers, on_delivery=callback)
            except BufferError:
                outstanding[0] -= 1
                producer.poll(0.05)  # local queue full: serve delivery reports, then retry this record
                continue
            except KafkaException as exc:
                outstanding[0] -= 1
                err = exc.args[0]
                results[index] = Delivery(
                    done=True, error=describe_error(err, event.topic), permanent=is_permanent(err)
                )
                if scope is not None:
                    stopped.add(scope)
            else:
                results[index].sent = True
            break
    sent.producers = list(used.values())
    for producer in sent.producers:
        producer.poll(0)
    return sent


def await_sent(sent: SentBatch, *, timeout: float) -> list[Delivery]:
    """Serve delivery reports until every produced event has one (at most ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while sent.outstanding[0] > 0:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for producer in sent.producers:
            producer.poll(min(left, 0.05) if len(sent.producers) > 1 else min(left, 0.1))
    for result in sent.results:
        if result.sent and not result.done:
            result.done = True
            result.error = f"no acknowledgement within {timeout:.0f} s"
    return sent.results


def isolate(
    pool: ProducerPool,
    events: Sequence[LogEvent],
    results: list[Delivery],
    suspects: Sequence[int],
    *,
    clock: Callable[[], float],
    timeout: float,
    max_record_bytes: int,
) -> list[Delivery]:
    """Re-send each suspect alone, with nothing else in flight, and keep those verdicts.

    A broker rejects a whole partition batch for one bad record. Every producer is flushed first (so no record of
    another round can share the suspect's batch), then each suspect goes alone and is flushed before the next;
    a key stops at its first event that fails alone.
    """
    for producer in pool.all():
        producer.flush(timeout)
    failed: set[tuple[str, str]] = set()
    for index in suspects:
        event = events[index]
        scope = event.scope
        if scope is not None and scope in failed:
            results[index] = Delivery()  # not sent: held behind the failed event of its key
            continue
        pool.forget(event.topic)
        sent = produce_events(pool, [event], clock=clock, max_record_bytes=max_record_bytes)
        for producer in sent.producers:
            producer.flush(timeout)
        [alone] = await_sent(sent, timeout=timeout)
        results[index] = alone
        if alone.error is not None and scope is not None:
            failed.add(scope)
    return results


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


def _bind(callback: Callable[[int, Any, Any], None], index: int) -> Callable[[Any, Any], None]:
    return lambda err, msg: callback(index, err, msg)
