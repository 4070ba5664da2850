"""The held table: events that failed (waiting for a retry, or dead) and the events of their keys parked behind.

A key with a waiting or dead event here is *parked*: its later events are appended here instead of being sent,
so they cannot overtake it; every other key keeps flowing from the log. The relay that owns the shard sends a
parked key's events from here, in id order, once its head is due; a dead head waits for ``dead replay`` or
``dead skip``. Only this failure path updates or deletes rows; the log itself is never touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import and_, delete, select, update

from infra_models.outbox import OutboxStatus
from infra_outbox.event import EVENT_COLUMNS, LogEvent
from infra_outbox.tables import held

if TYPE_CHECKING:
    from sqlalchemy import Connection

__all__ = [
    "BLOCKING",
    "COPY_PENDING",
    "COPY_SENT",
    "WAITING",
    "Hold",
    "dead_letter_pending",
    "due_events",
    "hold_rows",
    "mark_dead_letter",
    "parked_keys",
    "settle_held",
]

#: The held state of an event that is neither dead nor skipped: retrying (attempts > 0) or parked behind its key's
#: head. The other states are :class:`OutboxStatus` values (``dead``, ``skipped``); stored as these strings.
WAITING: Final = "waiting"
#: States that park a key: its later events wait behind them.
BLOCKING = (WAITING, OutboxStatus.DEAD)
#: ``dead_letter`` column: the copy of a dead event to the dead-letter topic is still to send, or was acknowledged.
COPY_PENDING: Final = OutboxStatus.PENDING
COPY_SENT: Final = "sent"


@dataclass(slots=True)
class Hold:
    """One event to put into the held table."""

    event: LogEvent
    state: str  # WAITING or OutboxStatus.DEAD
    attempts: int
    next_attempt_at: float
    last_error: str | None
    dead_letter: str | None = None


def _insert(conn: Connection) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    return insert(held)


def hold_rows(conn: Connection, holds: Sequence[Hold], now: float) -> None:
    """Insert held events (a row already there, from a re-sent batch, is kept as it is)."""
    if not holds:
        return
    rows = [
        {
            **h.event.as_row(),
            "state": h.state,
            "attempts": h.attempts,
            "next_attempt_at": h.next_attempt_at,
            "last_error": h.last_error,
            "dead_letter": h.dead_letter,
            "held_at": now,
        }
        for h in holds
    ]
    conn.execute(_insert(conn).on_conflict_do_nothing(index_elements=[held.c.id]), rows)


def parked_keys(conn: Connection, shard_ids: Iterable[int]) -> set[tuple[str, str]]:
    """Keys of these shards that have a waiting or dead event in the held table."""
    ids = list(shard_ids)
    if not ids:
        return set()
    query = (
        select(held.c.topic, held.c.key)
        .where(held.c.shard.in_(ids), held.c.state.in_(BLOCKING), held.c.key.is_not(None))
        .distinct()
    )
    return {(t, k) for t, k in conn.execute(query)}


def due_events(conn: Connection, shard_ids: Iterable[int], now: float, limit: int) -> list[LogEvent]:
    """Held events to send now: each due key head with the waiting events behind it (in order), and due unkeyed."""
    ids = list(shard_ids)
    if not ids:
        return []
    earlier = held.alias("earlier")
    blocked = (
        select(earlier.c.id)
        .where(
            earlier.c.topic == held.c.topic,
            earlier.c.key == held.c.key,
            earlier.c.id < held.c.id,
            earlier.c.state.in_(BLOCKING),
        )
        .exists()
    )
    heads = conn.execute(
        select(held.c.topic, held.c.key, held.c.id)
        .where(held.c.shard.in_(ids), held.c.state == WAITING, held.c.next_attempt_at <= now, ~blocked)
        .order_by(held.c.id)
        .limit(limit)
    ).all()
    columns = [held.c[name] for name in EVENT_COLUMNS] + [held.c.attempts]
    out: list[LogEvent] = []
    for topic, key, head_id in heads:
        if len(out) >= limit:
            break
        if key is None:
            query = select(*columns).where(held.c.id == head_id)
        else:
            query = (
                select(*columns)
                .where(held.c.topic == topic, held.c.key == key, held.c.state == WAITING, held.c.id >= head_id)
                .order_by(held.c.id)
                .limit(limit - len(out))
            )
        for row in conn.execute(query):
            out.append(
                LogEvent(
                    int(row.id),
                    int(row.shard),
                    row.event_id,
                    row.event_type,
                    row.topic,
                    row.key,
                    row.seq,
                    row.aggregate_id,
                    bytes(row.payload),
                    row.content_type,
                    row.headers,
                    float(row.created_at),
                    int(row.attempts),
                )
            )
    return out


def settle_held(
    conn: Connection,
    *,
    published: Sequence[int],
    retry: Sequence[tuple[int, float, str]],
    dead: Sequence[tuple[int, str, str | None]],
) -> None:
    """Record held sends: delete the published, reschedule the failed heads, mark the dead."""
    if published:
        conn.execute(delete(held).where(held.c.id.in_(list(published)), held.c.state == WAITING))
    for event_id, at, error in retry:
        conn.execute(
            update(held)
            .where(held.c.id == event_id)
            .values(attempts=held.c.attempts + 1, next_attempt_at=at, last_error=error)
        )
    for event_id, error, dead_letter in dead:
        conn.execute(
            update(held)
            .where(held.c.id == event_id)
            .values(state=OutboxStatus.DEAD, attempts=held.c.attempts + 1, last_error=error, dead_letter=dead_letter)
        )


def dead_letter_pending(conn: Connection, shard_ids: Iterable[int], limit: int = 100) -> list[tuple[LogEvent, str]]:
    """Dead events whose copy to the dead-letter topic is not acknowledged yet."""
    ids = list(shard_ids)
    if not ids:
        return []
    columns = [held.c[name] for name in EVENT_COLUMNS] + [held.c.attempts, held.c.last_error]
    rows = conn.execute(
        select(*columns)
        .where(held.c.shard.in_(ids), held.c.state == OutboxStatus.DEAD, held.c.dead_letter == COPY_PENDING)
        .order_by(held.c.id)
        .limit(limit)
    ).all()
    out: list[tuple[LogEvent, str]] = []
    for row in rows:
        event = LogEvent(*(row[i] for i in range(len(EVENT_COLUMNS))))
        event.payload = bytes(event.payload)
        event.attempts = int(row.attempts)
        out.append((event, row.last_error or ""))
    return out


def mark_dead_letter(conn: Connection, event_ids: Sequence[int]) -> None:
    """Record that these dead events' copies were acknowledged by the dead-letter topic."""
    if event_ids:
        conn.execute(
            update(held)
            .where(and_(held.c.id.in_(list(event_ids)), held.c.dead_letter == COPY_PENDING))
            .values(dead_letter=COPY_SENT)
        )
