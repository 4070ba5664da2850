"""Record sizes as the broker counts them, each topic's ``max.message.bytes``, and one producer per limit.

A broker rejects a whole partition batch that is larger than the topic's ``max.message.bytes``, blaming every
record in it. So that an innocent event is never blamed, a topic whose limit is below librdkafka's default batch
size gets its own producer whose ``batch.size`` stays under the limit, and an event that cannot fit even alone
is refused before it is sent (the exact size of a one-record batch is computed here).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["BATCH_OVERHEAD", "DEFAULT_TOPIC_LIMIT", "ProducerPool", "record_batch_size"]

log = logging.getLogger("infra_outbox.relay")

#: Bytes of a record batch header (Kafka message format v2).
BATCH_OVERHEAD = 61
#: Kafka's default ``max.message.bytes`` (used when a topic's cannot be read).
DEFAULT_TOPIC_LIMIT = 1_048_588
#: librdkafka's default ``batch.size``: topics allowing at least this much share the main producer.
_SHARED_BATCH_SIZE = 1_000_000
_MARGIN = 128  # room for librdkafka's own accounting when it fills a batch


def _varint(value: int) -> int:
    zigzag = (value << 1) ^ (value >> 63)
    size = 1
    while zigzag >= 0x80:
        zigzag >>= 7
        size += 1
    return size


def _field(data: bytes | None) -> int:
    return _varint(-1) if data is None else _varint(len(data)) + len(data)


def record_batch_size(key: bytes | None, value: bytes, headers: list[tuple[str, str]]) -> int:
    """Bytes of a record batch holding only this record (uncompressed), as the broker checks it."""
    body = 1 + 1 + 1 + _field(key) + _field(value) + _varint(len(headers))
    for name, text in headers:
        raw_name, raw_value = name.encode(), text.encode()
        body += _varint(len(raw_name)) + len(raw_name) + _varint(len(raw_value)) + len(raw_value)
    return BATCH_OVERHEAD + _varint(body) + body


class ProducerPool:
    """The main producer, plus one per small topic limit; ``limit(topic)`` reads and caches the topic's limit."""

    def __init__(
        self,
        make: Callable[[Mapping[str, Any]], Any],
        conf: Mapping[str, Any],
        *,
        describe: Callable[[str], int | None] | None = None,
        main: Any = None,
    ) -> None:
        self._make = make
        self._conf = dict(conf)
        self._describe = describe
        self._limits: dict[str, int] = {}
        self._by_size: dict[int, Any] = {}
        self.main = main

    def limit(self, topic: str) -> int:
        """The topic's ``max.message.bytes`` (cached; the broker default when it cannot be read)."""
        found = self._limits.get(topic)
        if found is None:
            value = None
            if self._describe is not None:
                try:
                    value = self._describe(topic)
                except Exception as exc:  # an unreadable config is not fatal: the default applies
                    log.debug("cannot read max.message.bytes of %s: %r", topic, exc)
            found = value or DEFAULT_TOPIC_LIMIT
            if value is not None:
                self._limits[topic] = found
        return found

    def forget(self, topic: str) -> None:
        """Read the topic's limit again next time (after a size rejection)."""
        self._limits.pop(topic, None)

    def for_topic(self, topic: str) -> Any:
        """The producer to send this topic's records with."""
        limit = self.limit(topic)
        if limit - _MARGIN >= _SHARED_BATCH_SIZE:
            return self.get_main()
        size = max(1, limit - _MARGIN)
        producer = self._by_size.get(size)
        if producer is None:
            producer = self._make({**self._conf, "batch.size": size})
            self._by_size[size] = producer
            log.info(
                "topic %s allows %d-byte batches: its records go through a producer with batch.size %d",
                topic,
                limit,
                size,
            )
        return producer

    def get_main(self) -> Any:
        """The shared producer."""
        if self.main is None:
            self.main = self._make(self._conf)
        return self.main

    def all(self) -> list[Any]:
        """Every producer created so far."""
        return ([self.main] if self.main is not None else []) + list(self._by_size.values())

    def drop(self) -> None:
        """Forget every producer (after a fatal error: they are made again on next use)."""
        self.main = None
        self._by_size.clear()
