"""Claim a batch under a lease (one statement) and settle it afterwards, fenced on the lease token.

The claim takes the *head* of each ready key (its lowest unfinished sequence) with ``FOR UPDATE SKIP LOCKED``
plus the pending events that follow those heads, and stamps them with a token and an expiry. A key whose head
is leased, waiting for a retry, or dead is not claimable at all, so one key is only ever in one relay's hands,
and a failed event holds back only its own key. No transaction stays open while records are sent.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, exists, literal_column, or_, select, union_all, update

from infra_outbox.tables import DUE, UNFINISHED, events

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Engine, Update

__all__ = ["ClaimedEvent", "Settlement", "claim_batch", "settle_batch"]


@dataclass(slots=True)
class ClaimedEvent:
    """An event a relay holds under its lease."""

    id: int
    event_id: str
    event_type: str
    topic: str
    key: str | None
    seq: int | None
    aggregate_id: str | None
    payload: bytes
    content_type: str
    headers: str | None
    attempts: int
    created_at: float


@dataclass(slots=True)
class Settlement:
    """What became of a claimed batch."""

    published: list[int] = field(default_factory=list)
    retry: list[tuple[int, float, str]] = field(default_factory=list)  # (id, next attempt at, error)
    dead: list[tuple[int, str]] = field(default_factory=list)  # (id, error)
    released: list[int] = field(default_factory=list)  # tail of a failed key: back to pending, attempt refunded


def _status_in(column: Any, values: tuple[str, ...]) -> ColumnElement[bool]:
    # Literals, not bound parameters, so PostgreSQL matches the partial indexes in every plan.
    return column.in_([literal_column(f"'{v}'") for v in values])  # type: ignore[no-any-return]


@functools.cache
def _claim_statement() -> Update:
    now: Any = bindparam("now")
    head = events.alias("head")
    earlier = events.alias("earlier")
    free = or_(head.c.lease_until.is_(None), head.c.lease_until < now)
    blocked = exists(
        select(literal_column("1")).where(
            earlier.c.topic == head.c.topic,
            earlier.c.key == head.c.key,
            earlier.c.seq < head.c.seq,
            _status_in(earlier.c.status, UNFINISHED),
        )
    )
    heads = (
        select(head.c.id, head.c.topic, head.c.key)
        .where(_status_in(head.c.status, DUE), head.c.next_attempt_at <= now, free, ~blocked)
        .order_by(head.c.id)
        .limit(bindparam("n"))
        .with_for_update(skip_locked=True, of=head)
        .cte("heads")
    )
    follower = events.alias("follower")
    followers = (
        select(follower.c.id)
        .join(heads, and_(follower.c.topic == heads.c.topic, follower.c.key == heads.c.key))
        .where(
            follower.c.id != heads.c.id,
            follower.c.status == literal_column("'pending'"),
            or_(follower.c.lease_until.is_(None), follower.c.lease_until < now),
        )
        .order_by(follower.c.id)
        .limit(bindparam("n"))
        .subquery("followers")
    )
    # Wrapped in a subquery: SQLite refuses a parenthesised LIMIT member inside UNION ALL.
    picked = union_all(select(heads.c.id), select(followers.c.id)).subquery("picked")
    return (
        update(events)
        .where(events.c.id.in_(select(picked.c.id)))
        .values(lease_token=bindparam("token"), lease_until=bindparam("until"), attempts=events.c.attempts + 1)
        .returning(
            events.c.id,
            events.c.event_id,
            events.c.event_type,
            events.c.topic,
            events.c.key,
            events.c.seq,
            events.c.aggregate_id,
            events.c.payload,
            events.c.content_type,
            events.c.headers,
            events.c.attempts,
            events.c.created_at,
        )
    )


def claim_batch(engine: Engine, *, token: str, now: float, lease_seconds: float, limit: int) -> list[ClaimedEvent]:
    """Lease up to ``limit`` key heads (and their followers) to ``token``; return them in send order."""
    params = {"now": now, "until": now + lease_seconds, "token": token, "n": limit}
    with engine.begin() as conn:
        rows = conn.execute(_claim_statement(), params).all()
    claimed = [ClaimedEvent(*row) for row in rows]
    claimed.sort(key=lambda e: e.id)  # ids rise with the sequence inside a key (counter taken before insert)
    return claimed


def _fenced(*criteria: ColumnElement[bool]) -> ColumnElement[bool]:
    return and_(events.c.lease_token == bindparam("token"), *criteria)


@functools.cache
def _statements() -> dict[str, Any]:
    from sqlalchemy import delete

    ids: Any = bindparam("ids", expanding=True)
    return {
        "published": update(events)
        .where(_fenced(events.c.id.in_(ids)))
        .values(status="published", published_at=bindparam("now"), lease_token=None, lease_until=None),
        "deleted": delete(events).where(_fenced(events.c.id.in_(ids))),
        "released": update(events)
        .where(_fenced(events.c.id.in_(ids)))
        .values(attempts=events.c.attempts - 1, lease_token=None, lease_until=None),
        "retry": update(events)
        .where(_fenced(events.c.id == bindparam("row_id")))
        .values(
            status="failed",
            next_attempt_at=bindparam("next_at"),
            last_error=bindparam("error"),
            lease_token=None,
            lease_until=None,
        ),
        "dead": update(events)
        .where(_fenced(events.c.id == bindparam("row_id")))
        .values(status="dead", last_error=bindparam("error"), lease_token=None, lease_until=None),
    }


def settle_batch(engine: Engine, *, token: str, now: float, settlement: Settlement, keep_published: bool) -> int:
    """Record a batch's outcome in one transaction, only where the lease is still ours; return rows fenced off.

    A non-zero return means another relay took over the lease (ours expired): its work is left untouched.
    """
    statements = _statements()
    expected = 0
    matched = 0
    with engine.begin() as conn:
        if settlement.published:
            stmt = statements["published" if keep_published else "deleted"]
            expected += len(settlement.published)
            matched += conn.execute(stmt, {"ids": settlement.published, "token": token, "now": now}).rowcount
        if settlement.released:
            expected += len(settlement.released)
            matched += conn.execute(statements["released"], {"ids": settlement.released, "token": token}).rowcount
        for row_id, next_at, error in settlement.retry:
            expected += 1
            params = {"row_id": row_id, "next_at": next_at, "error": error[:2000], "token": token}
            matched += conn.execute(statements["retry"], params).rowcount
        for row_id, error in settlement.dead:
            expected += 1
            params = {"row_id": row_id, "error": error[:2000], "token": token}
            matched += conn.execute(statements["dead"], params).rowcount
    return expected - matched
