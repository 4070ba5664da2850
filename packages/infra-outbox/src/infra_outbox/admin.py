"""Operator views and actions: stats, dead events (list, replay, skip) and cleanup in bounded batches."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, func, literal, literal_column, select, update

from infra_models.outbox import OutboxEvent, OutboxStatus
from infra_outbox.errors import EventNotFoundError
from infra_outbox.tables import DONE, DUE, UNFINISHED, events

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["OutboxStats", "cleanup", "dead_events", "outbox_stats", "replay_dead", "skip_dead"]


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """A snapshot of the outbox backlog."""

    pending: int
    in_flight: int
    failed: int
    dead: int
    published: int
    skipped: int
    oldest_pending_age_seconds: float | None
    published_last_minute: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return asdict(self)


def _literal_in(column: Any, values: tuple[str, ...]) -> Any:
    # Literals, so PostgreSQL can use the partial indexes (no full scan of retained published rows).
    return column.in_([literal_column(f"'{v}'") for v in values])


def outbox_stats(engine: Engine, *, now: float | None = None, done: bool = True) -> OutboxStats:
    """Count events by status, with the age of the oldest unpublished event and the last minute's output.

    The backlog counts go through a partial index; ``done=False`` skips counting the retained published and
    skipped rows (which grows with the retention), as the relay's metrics refresh does.
    """
    now = time.time() if now is None else now
    leased = and_(events.c.lease_until.is_not(None), events.c.lease_until >= now)
    with engine.connect() as conn:
        counts = {
            status: int(n)
            for status, n in conn.execute(
                select(events.c.status, func.count())
                .where(_literal_in(events.c.status, UNFINISHED))
                .group_by(events.c.status)
            )
        }
        if done:
            counts.update(
                {
                    status: int(n)
                    for status, n in conn.execute(
                        select(events.c.status, func.count())
                        .where(_literal_in(events.c.status, DONE), events.c.published_at.is_not(None))
                        .group_by(events.c.status)
                    )
                }
            )
        in_flight = conn.execute(
            select(func.count()).select_from(events).where(_literal_in(events.c.status, DUE), leased)
        ).scalar_one()
        oldest = conn.execute(
            select(events.c.created_at).where(_literal_in(events.c.status, DUE)).order_by(events.c.id).limit(1)
        ).scalar()
        last_minute = conn.execute(
            select(func.count())
            .select_from(events)
            .where(
                _literal_in(events.c.status, DONE),
                events.c.status == literal_column("'published'"),
                events.c.published_at >= now - 60.0,
            )
        ).scalar_one()
    return OutboxStats(
        pending=counts.get("pending", 0),
        in_flight=int(in_flight),
        failed=counts.get("failed", 0),
        dead=counts.get("dead", 0),
        published=counts.get("published", 0),
        skipped=counts.get("skipped", 0),
        oldest_pending_age_seconds=None if oldest is None else max(0.0, now - float(oldest)),
        published_last_minute=int(last_minute),
    )


def _as_datetime(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=UTC)


def dead_events(
    engine: Engine, *, topic: str | None = None, key: str | None = None, limit: int = 100
) -> list[OutboxEvent]:
    """The dead events (oldest first), optionally of one topic or key."""
    query = select(events).where(events.c.status == "dead").order_by(events.c.id).limit(limit)
    if topic is not None:
        query = query.where(events.c.topic == topic)
    if key is not None:
        query = query.where(events.c.key == key)
    import json
    import uuid

    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        OutboxEvent(
            id=row["id"],
            event_id=uuid.UUID(row["event_id"]),
            event_type=row["event_type"],
            topic=row["topic"],
            key=row["key"],
            aggregate_id=row["aggregate_id"],
            sequence=row["seq"],
            payload=bytes(row["payload"]),
            content_type=row["content_type"],
            headers=json.loads(row["headers"]) if row["headers"] else {},
            status=OutboxStatus.DEAD,
            attempts=row["attempts"],
            last_error=row["last_error"],
            created_at=_as_datetime(row["created_at"]),
            next_attempt_at=_as_datetime(row["next_attempt_at"]),
        )
        for row in rows
    ]


def _dead_selection(event_id: int | None, topic: str | None, key: str | None) -> Any:
    if event_id is None and key is None:
        raise EventNotFoundError("name an event (--id N) or a key (--key K, with --topic T)", code="outbox.usage")
    criteria = [events.c.status == "dead"]
    if event_id is not None:
        criteria.append(events.c.id == event_id)
    if key is not None:
        criteria.append(events.c.key == key)
    if topic is not None:
        criteria.append(events.c.topic == topic)
    return and_(*criteria)


def replay_dead(
    engine: Engine,
    *,
    event_id: int | None = None,
    topic: str | None = None,
    key: str | None = None,
    now: float | None = None,
) -> int:
    """Put dead events back to pending with a fresh attempt count; return how many."""
    now = time.time() if now is None else now
    stmt = (
        update(events)
        .where(_dead_selection(event_id, topic, key))
        .values(
            status="pending",
            attempts=0,
            next_attempt_at=now,
            lease_token=None,
            lease_until=None,
            last_error=_audit("replayed by an operator", now),
        )
    )
    return _apply(engine, stmt, event_id=event_id, topic=topic, key=key, verb="replay")


def skip_dead(
    engine: Engine,
    *,
    event_id: int | None = None,
    topic: str | None = None,
    key: str | None = None,
    now: float | None = None,
) -> int:
    """Give up dead events (status ``skipped``) so their keys flow again; return how many."""
    now = time.time() if now is None else now
    stmt = (
        update(events)
        .where(_dead_selection(event_id, topic, key))
        .values(status="skipped", published_at=now, last_error=_audit("skipped by an operator", now))
    )
    return _apply(engine, stmt, event_id=event_id, topic=topic, key=key, verb="skip")


def _audit(action: str, now: float) -> Any:
    """``last_error`` keeps what the operator did, and when, in front of the error that made the event dead."""
    stamp = datetime.fromtimestamp(now, tz=UTC).isoformat(timespec="seconds")
    return literal(f"[{action} at {stamp}] ") + func.coalesce(events.c.last_error, "")


def _apply(engine: Engine, stmt: Any, *, event_id: int | None, topic: str | None, key: str | None, verb: str) -> int:
    with engine.begin() as conn:
        count = int(conn.execute(stmt).rowcount)
    if count == 0:
        what = (
            f"event id {event_id}"
            if event_id is not None
            else f"key {key!r}" + (f" on topic {topic!r}" if topic else "")
        )
        raise EventNotFoundError(
            f"nothing to {verb}: no dead event matches {what}; see `infra-outbox dead list`",
            details={"id": event_id, "topic": topic, "key": key},
        )
    return count


def cleanup(
    engine: Engine,
    *,
    retention_seconds: float,
    batch_size: int = 1000,
    max_batches: int | None = None,
    now: float | None = None,
) -> int:
    """Delete published and skipped events older than the retention, ``batch_size`` rows per transaction.

    Dead and pending events are never deleted. Returns the number of rows deleted.
    """
    now = time.time() if now is None else now
    cutoff = now - retention_seconds
    victims = (
        select(events.c.id)
        .where(events.c.status.in_(DONE), events.c.published_at < cutoff)
        .order_by(events.c.published_at)
        .limit(batch_size)
    )
    total = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        with engine.begin() as conn:
            deleted = int(conn.execute(delete(events).where(events.c.id.in_(victims))).rowcount)
        total += deleted
        batches += 1
        if deleted < batch_size:
            break
    return total
