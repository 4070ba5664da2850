"""Write events into the outbox inside the caller's open transaction (the sync core)."""

from __future__ import annotations

import json
import time
import uuid
import weakref
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from infra_models.topics import is_topic_name
from infra_outbox.errors import EventError, NoTransactionError, PayloadError, SchemaError
from infra_outbox.headers import RESERVED_HEADERS
from infra_outbox.payload import serialise_payload
from infra_outbox.tables import keys, log, state

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine
    from sqlalchemy.orm import Session

__all__ = [
    "DEFAULT_MAX_RECORD_BYTES",
    "MAX_KEY_BYTES",
    "NOTIFY_CHANNEL",
    "NewEvent",
    "Outbox",
    "shard_of",
    "valid_topic",
]

#: Kafka's default ``message.max.bytes`` (1 MiB + record overhead), less a margin for headers.
DEFAULT_MAX_RECORD_BYTES = 1_000_000
#: PostgreSQL channel a commit with outbox events notifies, so relays wake at once.
NOTIFY_CHANNEL = "infra_outbox"

_NOTIFIED = "infra_outbox.notified"  # connection-info slot: the transaction that already sent NOTIFY
_KEY_CHUNK = 500  # distinct keys per sequence upsert (keeps SQLite under its bind-parameter limit)
#: A key is at most this many bytes in UTF-8 (PostgreSQL indexes it; Kafka keys are bytes anyway).
MAX_KEY_BYTES = 1024
_SHARD_COUNTS: weakref.WeakKeyDictionary[Engine, int] = weakref.WeakKeyDictionary()


def valid_topic(name: object) -> bool:
    """Whether ``name`` is a valid Kafka topic name (the one rule of ``infra_models.topics``)."""
    return is_topic_name(name)


def shard_of(topic: str, key: str | None, shard_count: int, event_id: uuid.UUID | None = None) -> int:
    """The shard of an event: a stable hash of ``(topic, key)``; unkeyed events are spread by their id."""
    if key is None:
        return (event_id.int if event_id is not None else 0) % shard_count
    return zlib.crc32(f"{topic}\x00{key}".encode()) % shard_count


def _text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored and sent as text (a NUL, or not encodable as UTF-8), or None."""
    if "\x00" in value:
        return "contains a NUL character (PostgreSQL text cannot hold it)"
    try:
        value.encode()
    except UnicodeEncodeError as exc:
        return f"is not valid Unicode text ({exc.reason} at position {exc.start}: a lone surrogate)"
    return None


@dataclass(frozen=True, slots=True)
class NewEvent:
    """One event for :meth:`Outbox.enqueue_many`."""

    topic: str
    payload: Any
    event_type: str
    key: str | None = None
    headers: Mapping[str, str] | None = None
    aggregate_id: str | None = None
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)


class Outbox:
    """Writes events in the caller's transaction, so an event exists exactly when the business change committed.

    Example:
        >>> outbox = Outbox()
        >>> with engine.begin() as conn:  # doctest: +SKIP
        ...     conn.execute(users.insert().values(name="ada"))
        ...     outbox.enqueue(conn, topic="users", key="ada", event_type="user_created", payload={"name": "ada"})

    Events that share ``(topic, key)`` get consecutive sequence numbers in commit order: writers of one key
    queue on its counter row until the earlier transaction ends, which is what lets relays keep per-key order.
    """

    def __init__(
        self,
        *,
        notify: bool = True,
        max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.notify = notify
        self.max_record_bytes = max_record_bytes
        self._clock = clock

    def enqueue(
        self,
        conn_or_session: Connection | Session,
        *,
        topic: str,
        payload: Any,
        event_type: str,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
        aggregate_id: str | None = None,
    ) -> uuid.UUID:
        """Write one event in the open transaction of ``conn_or_session``; return its event id."""
        event = NewEvent(
            topic=topic, payload=payload, event_type=event_type, key=key, headers=headers, aggregate_id=aggregate_id
        )
        return self.enqueue_many(conn_or_session, [event])[0]

    def enqueue_many(
        self, conn_or_session: Connection | Session, new_events: Iterable[NewEvent | Mapping[str, Any]]
    ) -> list[uuid.UUID]:
        """Write many events in one round trip per table; return their event ids in the order given."""
        batch = [e if isinstance(e, NewEvent) else _from_mapping(e) for e in new_events]
        if not batch:
            return []
        now = self._clock()
        rows = [self._row(e, now) for e in batch]  # validate everything before writing anything
        conn = _transaction_connection(conn_or_session)
        shard_count = _shard_count(conn)
        for row, event in zip(rows, batch, strict=True):
            row["shard"] = shard_of(row["topic"], row["key"], shard_count, event.event_id)
        counts: dict[tuple[str, str], int] = {}
        for row in rows:
            if row["key"] is not None:
                scope = (row["topic"], row["key"])
                counts[scope] = counts.get(scope, 0) + 1
        if counts:
            last = _reserve_sequences(conn, counts)
            for row in reversed(rows):  # the last event of a key takes the highest number
                if row["key"] is not None:
                    scope = (row["topic"], row["key"])
                    row["seq"] = last[scope]
                    last[scope] -= 1
        conn.execute(log.insert(), rows)
        if self.notify and conn.dialect.name == "postgresql":
            # Once per transaction (or savepoint, whose rollback would drop the NOTIFY) is enough.
            transaction = conn.get_nested_transaction() or conn.get_transaction()
            if conn.info.get(_NOTIFIED) is not transaction:
                from sqlalchemy import text

                conn.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))
                conn.info[_NOTIFIED] = transaction
        return [e.event_id for e in batch]

    def _row(self, event: NewEvent, now: float) -> dict[str, Any]:
        if not valid_topic(event.topic):
            raise EventError(
                f"topic {event.topic!r} is not a valid Kafka topic name: use 1-249 characters from A-Z a-z 0-9 . _ -",
                details={"topic": str(event.topic)},
            )
        if not isinstance(event.event_type, str) or not 0 < len(event.event_type) <= 255:
            raise EventError(
                f"event_type {event.event_type!r} must be a non-empty string of at most 255 characters",
                details={"event_type": str(event.event_type)},
            )
        if event.key is not None:
            if not isinstance(event.key, str):
                raise EventError(
                    f"key must be a string (or None), got {type(event.key).__name__}", details={"topic": event.topic}
                )
            problem = _text_problem(event.key)
            if problem is None and len(event.key.encode()) > MAX_KEY_BYTES:
                problem = f"is {len(event.key.encode())} bytes in UTF-8, over the {MAX_KEY_BYTES}-byte limit"
            if problem is not None:
                raise EventError(
                    f"key {event.key[:40]!r} {problem}; use a shorter plain-text key (or None)",
                    code="outbox.invalid_key",
                    details={"topic": event.topic},
                )
        problem = _text_problem(event.event_type)
        if problem is not None:
            raise EventError(f"event_type {event.event_type[:40]!r} {problem}", details={"topic": event.topic})
        if event.aggregate_id is not None:
            aggregate = str(event.aggregate_id)
            problem = _text_problem(aggregate) or ("is over 255 characters" if len(aggregate) > 255 else None)
            if problem is not None:
                raise EventError(f"aggregate_id {aggregate[:40]!r} {problem}", details={"topic": event.topic})
        headers = dict(event.headers or {})
        for name, value in headers.items():
            if not isinstance(name, str) or not isinstance(value, str):
                raise EventError(
                    f"header {name!r} must map a string name to a string value",
                    details={"header": str(name)},
                )
            problem = _text_problem(name) or _text_problem(value)
            if problem is not None:
                raise EventError(f"header {name[:40]!r} {problem}", details={"header": name[:40]})
            if name in RESERVED_HEADERS:
                raise EventError(
                    f"header {name!r} is set by infra-outbox; rename yours "
                    f"(reserved: {', '.join(sorted(RESERVED_HEADERS))})",
                    details={"header": name},
                )
        body, content_type = serialise_payload(event.payload)
        size = len(body) + len((event.key or "").encode()) + sum(len(k) + len(v.encode()) for k, v in headers.items())
        if size > self.max_record_bytes:
            raise PayloadError(
                f"event {event.event_type!r} for topic {event.topic!r} is {size} bytes, over the "
                f"{self.max_record_bytes}-byte record limit; store large data elsewhere and send a reference, "
                "or raise max_record_bytes together with the broker's message.max.bytes",
                code="outbox.record_too_large",
                details={"topic": event.topic, "size": size, "limit": self.max_record_bytes},
            )
        return {
            "event_id": str(event.event_id),
            "event_type": event.event_type,
            "topic": event.topic,
            "key": event.key,
            "seq": None,
            "aggregate_id": None if event.aggregate_id is None else str(event.aggregate_id),
            "payload": body,
            "content_type": content_type,
            "headers": json.dumps(headers, separators=(",", ":")) if headers else None,
            "created_at": now,
        }


def _from_mapping(data: Mapping[str, Any]) -> NewEvent:
    try:
        return NewEvent(**data)
    except TypeError as exc:
        raise EventError(f"event {dict(data)!r} does not fit NewEvent: {exc}") from exc


def _transaction_connection(conn_or_session: Connection | Session) -> Connection:
    """Return the connection of the caller's open transaction, or refuse."""
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

    if isinstance(conn_or_session, Session):
        session = conn_or_session
        pending_change = bool(session.new or session.dirty or session.deleted)
        if not (session.in_transaction() or pending_change):
            raise NoTransactionError(
                "the Session has no open transaction and no pending change; write the event inside "
                "`with session.begin():` (or after adding your change) so it commits with the change"
            )
        conn = session.connection()
    elif isinstance(conn_or_session, Connection):
        conn = conn_or_session
        if not conn.in_transaction():
            raise NoTransactionError(
                "the Connection has no open transaction; use `with engine.begin() as conn:` or call "
                "conn.begin() first, so the event commits or rolls back with your change"
            )
    else:
        raise NoTransactionError(f"expected a SQLAlchemy Connection or Session, got {type(conn_or_session).__name__}")
    level = conn.get_execution_options().get("isolation_level") or conn.engine.get_execution_options().get(
        "isolation_level"
    )
    if level == "AUTOCOMMIT":
        raise NoTransactionError(
            "the connection is in AUTOCOMMIT mode, so every statement commits alone; use a "
            "transactional connection for outbox writes"
        )
    return conn


def _reserve_sequences(conn: Connection, counts: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    """Advance each key's counter by its event count and return the new last sequence of each key.

    Keys are locked in sorted order, so two transactions writing the same keys cannot deadlock.
    """
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    else:
        raise EventError(
            f"database dialect {conn.dialect.name!r} is not supported; use PostgreSQL or SQLite",
            code="outbox.database",
        )
    items = sorted(counts.items())
    last: dict[tuple[str, str], int] = {}
    for start in range(0, len(items), _KEY_CHUNK):
        chunk = items[start : start + _KEY_CHUNK]
        stmt = insert(keys).values([{"topic": t, "key": k, "last_seq": n} for (t, k), n in chunk])
        upsert = stmt.on_conflict_do_update(
            index_elements=[keys.c.topic, keys.c.key],
            set_={"last_seq": keys.c.last_seq + stmt.excluded.last_seq},
        ).returning(keys.c.topic, keys.c.key, keys.c.last_seq)
        for topic, key, seq in conn.execute(upsert):
            last[(topic, key)] = int(seq)
    return last


def _shard_count(conn: Connection) -> int:
    """The shard count of the outbox schema (read once per engine)."""
    engine = conn.engine
    count = _SHARD_COUNTS.get(engine)
    if count is None:
        from sqlalchemy import select
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with conn.begin_nested():  # a missing table must not abort the caller's transaction
                count = conn.execute(select(state.c.shards).where(state.c.id == 1)).scalar()
        except SQLAlchemyError as exc:
            raise SchemaError(
                "the outbox tables of schema 2 are missing; run `infra-outbox db init --db URL` "
                "(or `infra-outbox db migrate` from schema 1)",
                code="outbox.schema_missing",
            ) from exc
        if count is None:
            raise SchemaError("infra_outbox_state has no row; run `infra-outbox db init --db URL`")
        _SHARD_COUNTS[engine] = count = int(count)
    return count
