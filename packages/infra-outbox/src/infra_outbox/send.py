"""Produce a claimed batch with confluent-kafka and collect one delivery outcome per event."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from infra_outbox.backoff import describe_error, is_permanent
from infra_outbox.headers import AGGREGATE_ID, CONTENT_TYPE, CREATED_AT, EVENT_ID, EVENT_SEQ, EVENT_TYPE
from infra_outbox.lease import ClaimedEvent

log = logging.getLogger("infra_outbox.relay")

__all__ = [
    "Delivery",
    "ProducerLike",
    "SentBatch",
    "await_batch",
    "copy_to_dead_letter",
    "isolate",
    "produce_batch",
    "record_headers",
    "send_batch",
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
    def purge(self, in_queue: bool = ..., in_flight: bool = ..., blocking: bool = ...) -> None: ...


@dataclass(slots=True)
class Delivery:
    """The outcome of one event: ``error`` is None once Kafka acknowledged it."""

    sent: bool = False
    error: str | None = None
    permanent: bool = False
    fatal: bool = False
    acked_at: float = 0.0
    done: bool = False


def record_headers(event: ClaimedEvent) -> list[tuple[str, str]]:
    """The Kafka headers of one event: its id, type, per-key sequence, and the caller's own headers."""
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
        headers.extend(json.loads(event.headers).items())
    return headers


@dataclass(slots=True)
class SentBatch:
    """A produced batch whose delivery reports are still coming in."""

    results: list[Delivery]
    outstanding: int = 0


def produce_batch(
    producer: ProducerLike,
    batch: Sequence[ClaimedEvent],
    *,
    clock: Callable[[], float],
    max_record_bytes: int,
) -> SentBatch:
    """Produce ``batch`` in order without waiting; delivery reports land in the returned results.

    After the first event of a key that cannot be produced, the rest of that key is not produced in this batch.
    """
    from confluent_kafka import KafkaException

    sent = SentBatch(results=[Delivery() for _ in batch])
    results = sent.results
    stopped: set[tuple[str, str]] = set()

    def on_delivery(index: int, err: Any, _msg: Any) -> None:
        result = results[index]
        result.done = True
        result.acked_at = clock()
        sent.outstanding -= 1
        if err is not None:
            result.error = describe_error(err, batch[index].topic)
            result.permanent = is_permanent(err)
            result.fatal = bool(err.fatal())

    for index, event in enumerate(batch):
        scope = (event.topic, event.key) if event.key is not None else None
        if scope is not None and scope in stopped:
            continue
        size = len(event.payload) + len(event.key or "")
        if size > max_record_bytes:
            results[index] = Delivery(
                done=True,
                error=f"record is {size} bytes, over the {max_record_bytes}-byte limit",
                permanent=True,
            )
            if scope is not None:
                stopped.add(scope)
            continue
        callback = _bind(on_delivery, index)
        if event.aggregate_id is None and not event.headers and event.seq is not None:  # the common shape
            headers = [
                (EVENT_ID, event.event_id),
                (EVENT_TYPE, event.event_type),
                (CONTENT_TYPE, event.content_type),
                (CREATED_AT, repr(event.created_at)),
                (EVENT_SEQ, str(event.seq)),
            ]
        else:
            headers = record_headers(event)
        while True:
            try:
                sent.outstanding += 1
                producer.produce(event.topic, event.payload, event.key, headers=headers, on_delivery=callback)
            except BufferError:
                sent.outstanding -= 1
                producer.poll(0.05)  # local queue full: serve delivery reports, then retry this record
                continue
            except KafkaException as exc:
                sent.outstanding -= 1
                err = exc.args[0]
                results[index] = Delivery(
                    done=True, error=describe_error(err, event.topic), permanent=is_permanent(err)
                )
                if scope is not None:
                    stopped.add(scope)
            else:
                results[index].sent = True
            break
    producer.poll(0)
    return sent


def await_batch(producer: ProducerLike, sent: SentBatch, *, timeout: float) -> list[Delivery]:
    """Serve delivery reports until every record of ``sent`` has one (at most ``timeout`` s).

    Records of a batch produced later may be in flight meanwhile: this waits for this batch only.
    """
    deadline = time.monotonic() + timeout
    while sent.outstanding > 0:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        producer.poll(min(left, 0.1))
    for result in sent.results:
        if result.sent and not result.done:
            result.done = True
            result.error = f"no acknowledgement within {timeout:.0f} s"
    return sent.results


def send_batch(
    producer: ProducerLike,
    batch: Sequence[ClaimedEvent],
    *,
    clock: Callable[[], float],
    timeout: float,
    max_record_bytes: int,
) -> list[Delivery]:
    """Produce ``batch`` in order and wait (at most ``timeout`` s) for every delivery report."""
    sent = produce_batch(producer, batch, clock=clock, max_record_bytes=max_record_bytes)
    return await_batch(producer, sent, timeout=timeout)


def isolate(
    producer: ProducerLike,
    batch: Sequence[ClaimedEvent],
    results: list[Delivery],
    suspects: Sequence[int],
    *,
    clock: Callable[[], float],
    timeout: float,
    max_record_bytes: int,
) -> list[Delivery]:
    """Re-send each suspect alone (in order, stopping a key at its first failure) and keep those verdicts.

    The broker rejects a whole partition batch for one bad record; sent alone, only the guilty one fails.
    """
    failed: set[tuple[str, str]] = set()
    for index in suspects:
        event = batch[index]
        scope = (event.topic, event.key) if event.key is not None else None
        if scope is not None and scope in failed:
            results[index] = Delivery()  # not sent: released behind the failed event of its key
            continue
        [alone] = send_batch(producer, [event], clock=clock, timeout=timeout, max_record_bytes=max_record_bytes)
        results[index] = alone
        if alone.error is not None and scope is not None:
            failed.add(scope)
    return results


def copy_to_dead_letter(producer: ProducerLike, topic: str, dead: Sequence[tuple[ClaimedEvent, str]]) -> None:
    """Best effort: copy dead events to ``topic`` with ``dead_reason`` and ``original_topic`` headers."""
    for event, reason in dead:
        headers = [*record_headers(event), ("dead_reason", reason[:1000]), ("original_topic", event.topic)]
        try:
            producer.produce(topic, event.payload, event.key, headers=headers)
        except Exception as exc:  # the DEAD mark is what matters; the copy is best effort
            log.error("could not copy dead event %s to %s: %s", event.event_id, topic, exc)
    remaining = producer.flush(10.0)
    if remaining:
        log.error("%d dead-letter record(s) to %s were not acknowledged", remaining, topic)


def _bind(callback: Callable[[int, Any, Any], None], index: int) -> Callable[[Any, Any], None]:
    return lambda err, msg: callback(index, err, msg)
