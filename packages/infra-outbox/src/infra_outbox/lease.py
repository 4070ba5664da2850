"""Claim a batch under a lease (one statement) and settle it afterwards, fenced on the lease token.

The claim takes the *head* of each ready key (its lowest unfinished sequence) with ``FOR UPDATE SKIP LOCKED``
plus the pending events that follow those heads, and stamps them with a token and an expiry. A key whose head
is leased, waiting for a retry, or dead is not claimable at all, so one key is only ever in one relay's hands,
and a failed event holds back only its own key. No transaction stays open while records are sent.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, literal_column, or_, select, tuple_, update

from infra_outbox.tables import DUE, UNFINISHED, events

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Engine, Select, Update

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


def _id_in(column: Any, name: str, dialect: str) -> ColumnElement[bool]:
    """``column IN (...)`` for a list parameter: one array parameter on PostgreSQL (no per-id placeholders)."""
    if dialect == "postgresql":
        from sqlalchemy import BigInteger, any_
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(bindparam(name, type_=ARRAY(BigInteger())))  # type: ignore[no-any-return]
    return column.in_(bindparam(name, expanding=True))  # type: ignore[no-any-return]


def _status_in(column: Any, values: tuple[str, ...]) -> ColumnElement[bool]:
    # Literals, not bound parameters, so PostgreSQL matches the partial indexes in every plan.
    return column.in_([literal_column(f"'{v}'") for v in values])  # type: ignore[no-any-return]


@functools.cache
def _window_statement() -> Select[Any]:
    """The oldest unfinished rows (pending, failed, dead; leased or not) in id order: a lock-free proposal read."""
    return (
        select(
            events.c.id,
            events.c.topic,
            events.c.key,
            events.c.status,
            events.c.next_attempt_at,
            events.c.lease_until,
        )
        .where(_status_in(events.c.status, UNFINISHED))
        .order_by(events.c.id)
        .limit(bindparam("window"))
    )


@functools.cache
def _lease_statement(dialect: str) -> Update:
    """Lock the proposed key heads (SKIP LOCKED), re-check them, and lease them with their followers.

    One statement: a relay either leases a key's head with its followers, or nothing of that key.
    """
    now: Any = bindparam("now")
    head = events.alias("head")
    heads = (
        select(head.c.id, head.c.topic, head.c.key)
        .where(
            _id_in(head.c.id, "heads", dialect),
            _status_in(head.c.status, DUE),
            head.c.next_attempt_at <= now,
            or_(head.c.lease_until.is_(None), head.c.lease_until < now),
        )
        .with_for_update(skip_locked=True, of=head)
        .cte("heads")
    )
    return (
        update(events)
        .where(
            _id_in(events.c.id, "ids", dialect),
            _status_in(events.c.status, DUE),
            or_(events.c.lease_until.is_(None), events.c.lease_until < now),
            or_(
                events.c.id.in_(select(heads.c.id)),
                tuple_(events.c.topic, events.c.key).in_(select(heads.c.topic, heads.c.key)),
            ),
        )
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


Scope = tuple[str, str] | None


def propose(rows: Sequence[Any], *, now: float, limit: int) -> tuple[list[int], list[tuple[int, Scope]]]:
    """From the window (unfinished rows in id order), pick each ready key's head and the pending rows behind it.

    Returns ``(head ids, [(id, (topic, key)), ...])``. Per key, sequence order is commit order and ids rise with
    it (a writer takes the key's counter before inserting), and an event never becomes unfinished again once
    published; so the first row of a key in the window is its oldest unfinished event. A key whose first row is
    leased, waiting for a retry or dead is not proposed at all. The lease statement re-checks each head under
    its row lock, which is what makes a stale proposal harmless.
    """
    heads: list[int] = []
    picked: list[tuple[int, Scope]] = []
    open_keys: set[tuple[str, str]] = set()
    closed_keys: set[tuple[str, str]] = set()
    for row_id, topic, key, status, next_attempt_at, lease_until in rows:
        if len(picked) >= limit:
            break
        ready = status != "dead" and next_attempt_at <= now and (lease_until is None or lease_until < now)
        if key is None:
            if ready:
                heads.append(row_id)
                picked.append((row_id, None))
            continue
        scope = (topic, key)
        if scope in closed_keys:
            continue
        if scope in open_keys:
            if ready and status == "pending":
                picked.append((row_id, scope))
            else:
                open_keys.discard(scope)
                closed_keys.add(scope)
        elif ready:
            open_keys.add(scope)
            heads.append(row_id)
            picked.append((row_id, scope))
        else:
            closed_keys.add(scope)  # its oldest event is in flight, waiting for a retry, or dead
    return heads, picked


# Per transaction: an outbox table churns faster than autovacuum analyses it, and a planner working from stale
# statistics picks bitmap scans over every dead index entry. Index scans stay cheap and mark dead entries.
_PG_PLANNER = "SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off"


def claim_batch(
    engine: Engine, *, token: str, now: float, lease_seconds: float, limit: int, window: int | None = None
) -> list[ClaimedEvent]:
    """Lease up to ``limit`` events (key heads and their followers) to ``token``; return them in send order."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(_PG_PLANNER)
        rows = conn.execute(_window_statement(), {"window": window or 3 * limit}).all()
        heads, picked = propose(rows, now=now, limit=limit)
        if not heads:
            return []
        params = {
            "now": now,
            "until": now + lease_seconds,
            "token": token,
            "heads": heads,
            "ids": [row_id for row_id, _ in picked],
        }
        claimed = [ClaimedEvent(*row) for row in conn.execute(_lease_statement(engine.dialect.name), params).all()]
        broken = broken_tails({e.id for e in claimed}, picked)
        if broken:  # a proposed row changed under us: what follows it in its key must not be sent
            conn.execute(_statements(engine.dialect.name)["unclaim"], {"ids": sorted(broken), "token": token})
            claimed = [e for e in claimed if e.id not in broken]
    claimed.sort(key=lambda e: e.id)
    return claimed


def broken_tails(leased: set[int], picked: Sequence[tuple[int, Scope]]) -> set[int]:
    """Leased ids that come after a proposed-but-not-leased row of the same key."""
    gapped: set[tuple[str, str]] = set()
    broken: set[int] = set()
    for row_id, scope in picked:
        if scope is None:
            continue
        if row_id not in leased:
            gapped.add(scope)
        elif scope in gapped:
            broken.add(row_id)
    return broken


def _fenced(*criteria: ColumnElement[bool]) -> ColumnElement[bool]:
    return and_(events.c.lease_token == bindparam("token"), *criteria)


@functools.cache
def _statements(dialect: str) -> dict[str, Any]:
    from sqlalchemy import delete

    return {
        "published": update(events)
        .where(_fenced(_id_in(events.c.id, "ids", dialect)))
        .values(status="published", published_at=bindparam("now"), lease_token=None, lease_until=None),
        "deleted": delete(events).where(_fenced(_id_in(events.c.id, "ids", dialect))),
        "released": update(events)
        .where(_fenced(_id_in(events.c.id, "ids", dialect)))
        .values(attempts=events.c.attempts - 1, lease_token=None, lease_until=None),
        "unclaim": update(events)
        .where(_fenced(_id_in(events.c.id, "ids", dialect)))
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
    statements = _statements(engine.dialect.name)
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
