"""Operator views and actions: stats, dead events (list, replay, skip) and retiring read events."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, delete, func, literal, literal_column, select, text, update

from infra_models.outbox import OutboxEvent, OutboxStatus
from infra_outbox.errors import EventNotFoundError
from infra_outbox.held import WAITING
from infra_outbox.tables import LOG_TABLE, held, relays, shards, state

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["OutboxStats", "cleanup", "dead_events", "outbox_stats", "replay_dead", "skip_dead"]


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """A snapshot of the outbox backlog."""

    pending: int  # committed to the log, not read by its shard's relay yet
    retrying: int  # failed, waiting for the next attempt
    parked: int  # waiting behind a failed or dead event of the same key
    dead: int
    skipped: int
    oldest_pending_age_seconds: float | None
    shards: int
    shards_owned: int
    relays: int

    @property
    def unpublished(self) -> int:
        """Everything not published yet except the dead: pending + retrying + parked."""
        return self.pending + self.retrying + self.parked

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return asdict(self)


def outbox_stats(engine: Engine, *, now: float | None = None) -> OutboxStats:
    """Count unread log events (from the shard cursors), held events by state, and live relays and shards."""
    from infra_outbox.retention import unread_condition

    now = time.time() if now is None else now
    with engine.connect() as conn:
        pending, oldest = conn.execute(
            text(f"SELECT count(*), min(created_at) FROM {LOG_TABLE} WHERE {unread_condition(conn)}")  # noqa: S608 - table names and integer literals only
        ).one()
        by_state: dict[str, int] = {}
        oldest_held = None
        retried_flag = case((held.c.attempts > literal_column("0"), 1), else_=0).label("retried")
        for state_name, retried, count, first in conn.execute(
            select(held.c.state, retried_flag, func.count(), func.min(held.c.created_at)).group_by(
                held.c.state, retried_flag
            )
        ):
            name = (
                "retrying" if state_name == WAITING and retried else "parked" if state_name == WAITING else state_name
            )
            by_state[name] = by_state.get(name, 0) + int(count)
            if state_name == WAITING and first is not None:
                oldest_held = first if oldest_held is None else min(oldest_held, first)
        shard_count = int(conn.execute(select(state.c.shards).where(state.c.id == 1)).scalar_one())
        owned = int(
            conn.execute(
                select(func.count()).select_from(shards).where(shards.c.owner.is_not(None), shards.c.lease_until >= now)
            ).scalar_one()
        )
        live = int(
            conn.execute(select(func.count()).select_from(relays).where(relays.c.seen_at >= now - 120)).scalar_one()
        )
    firsts = [float(x) for x in (oldest, oldest_held) if x is not None]
    return OutboxStats(
        pending=int(pending),
        retrying=by_state.get("retrying", 0),
        parked=by_state.get("parked", 0),
        dead=by_state.get(OutboxStatus.DEAD, 0),
        skipped=by_state.get(OutboxStatus.SKIPPED, 0),
        oldest_pending_age_seconds=max(0.0, now - min(firsts)) if firsts else None,
        shards=shard_count,
        shards_owned=owned,
        relays=live,
    )


def _as_datetime(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=UTC)


def _headers(raw: str | None, event_id: str) -> dict[str, str]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {"_unreadable_headers": f"event {event_id}: stored headers are not valid JSON"}
    return value if isinstance(value, dict) else {"_unreadable_headers": f"event {event_id}: not a JSON object"}


def dead_events(
    engine: Engine, *, topic: str | None = None, key: str | None = None, limit: int = 100
) -> list[OutboxEvent]:
    """The dead events (oldest first), optionally of one topic or key."""
    query = select(held).where(held.c.state == OutboxStatus.DEAD).order_by(held.c.id).limit(limit)
    if topic is not None:
        query = query.where(held.c.topic == topic)
    if key is not None:
        query = query.where(held.c.key == key)
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
            headers=_headers(row["headers"], row["event_id"]),
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
    criteria = [held.c.state == OutboxStatus.DEAD]
    if event_id is not None:
        criteria.append(held.c.id == event_id)
    if key is not None:
        criteria.append(held.c.key == key)
    if topic is not None:
        criteria.append(held.c.topic == topic)
    return and_(*criteria)


def replay_dead(
    engine: Engine,
    *,
    event_id: int | None = None,
    topic: str | None = None,
    key: str | None = None,
    now: float | None = None,
) -> int:
    """Send dead events again (with a fresh attempt count), ahead of their parked keys; return how many."""
    now = time.time() if now is None else now
    stmt = (
        update(held)
        .where(_dead_selection(event_id, topic, key))
        .values(state=WAITING, attempts=0, next_attempt_at=now, last_error=_audit("replayed by an operator", now))
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
    """Give up dead events (state ``skipped``, kept for audit) so their keys flow again; return how many."""
    now = time.time() if now is None else now
    stmt = (
        update(held)
        .where(_dead_selection(event_id, topic, key))
        .values(state=OutboxStatus.SKIPPED, next_attempt_at=now, last_error=_audit("skipped by an operator", now))
    )
    return _apply(engine, stmt, event_id=event_id, topic=topic, key=key, verb="skip")


def _audit(action: str, now: float) -> Any:
    """``last_error`` keeps what the operator did, and when, in front of the error that made the event dead."""
    stamp = datetime.fromtimestamp(now, tz=UTC).isoformat(timespec="seconds")
    return literal(f"[{action} at {stamp}] ") + func.coalesce(held.c.last_error, "")


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


def cleanup(engine: Engine, *, retention_seconds: float, now: float | None = None) -> int:
    """Retire read log events past the retention, and skipped held events; return the rows retired.

    On PostgreSQL the log retires a whole partition at a time (TRUNCATE); dead and unread events are kept.
    """
    from infra_outbox.retention import retire

    now = time.time() if now is None else now
    retired = retire(engine, retention_seconds=retention_seconds, now=now)
    with engine.begin() as conn:
        retired += int(
            conn.execute(
                delete(held).where(
                    held.c.state == OutboxStatus.SKIPPED, held.c.next_attempt_at < now - retention_seconds
                )
            ).rowcount
            or 0
        )
    return retired
