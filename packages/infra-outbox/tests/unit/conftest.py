"""Unit fixtures: a SQLite outbox in a temp dir, an injected clock, and a fake Kafka producer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from infra_outbox.db import make_engine
from infra_outbox.tables import create_all


class Clock:
    """A settable clock (seconds since the epoch)."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeError:
    """Quacks like confluent_kafka.KafkaError."""

    code_name: str
    is_retriable: bool = True
    is_fatal: bool = False

    def name(self) -> str:
        return self.code_name

    def str(self) -> str:
        return f"fake {self.code_name}"

    def retriable(self) -> bool:
        return self.is_retriable

    def fatal(self) -> bool:
        return self.is_fatal


@dataclass
class FakeMessage:
    """Quacks like the confluent_kafka.Message a delivery report carries."""

    fields: dict[str, Any]

    def topic(self) -> str:
        return str(self.fields["topic"])

    def key(self) -> bytes | None:
        key = self.fields["key"]
        return None if key is None else str(key).encode()

    def value(self) -> bytes | None:
        value: bytes | None = self.fields["value"]
        return value

    def headers(self) -> None:
        return None  # like confluent-kafka's delivery reports, which carry no headers


@dataclass
class FakeProducer:
    """Records produced messages; ``fail`` decides a delivery error per message (None = acknowledged)."""

    fail: Callable[[str, str | None, bytes], FakeError | None] = lambda topic, key, value: None
    sent: list[dict[str, Any]] = field(default_factory=list)
    delivered: list[dict[str, Any]] = field(default_factory=list)
    _pending: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)
    known_topics: tuple[str, ...] = ("t",)

    def produce(self, topic: str, value: bytes | None = None, key: str | None = None, **kwargs: Any) -> None:
        message = {"topic": topic, "key": key, "value": value, "headers": dict(kwargs.get("headers") or [])}
        self.sent.append(message)
        self._pending.append((kwargs.get("on_delivery"), message))

    def poll(self, timeout: float = 0) -> int:
        return self.flush(timeout)

    def flush(self, timeout: float = 0) -> int:
        # Like a partition: once a key's record fails, its later records in the same flush fail too (Kafka
        # rejects or times out a partition's batches in order; it does not skip a failed record).
        pending, self._pending = self._pending, []
        failed: dict[tuple[str, str | None], FakeError] = {}
        for callback, message in pending:
            scope = (message["topic"], message["key"])
            err = failed.get(scope) if message["key"] is not None else None
            if err is None:
                err = self.fail(message["topic"], message["key"], message["value"])
            if err is not None and message["key"] is not None:
                failed[scope] = err
            if err is None:
                self.delivered.append(message)
            if callback is not None:
                callback(err, FakeMessage(message))
        return 0

    def purge(self, in_queue: bool = True, in_flight: bool = True, blocking: bool = True) -> None:
        self._pending.clear()

    def list_topics(self, topic: str | None = None, timeout: float = 0) -> Any:
        from types import SimpleNamespace

        return SimpleNamespace(topics=dict.fromkeys(self.known_topics))

    def values(self, key: str | None = None) -> list[bytes]:
        return [m["value"] for m in self.delivered if key is None or m["key"] == key]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'outbox.db'}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def producer() -> FakeProducer:
    return FakeProducer()
