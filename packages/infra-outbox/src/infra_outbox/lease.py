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

from sqlalchemy import and_, bindparam, exists, literal_column, or_, select, tuple_, union_all, update

from infra_outbox.tables import DUE, UNFINISHED, events

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Engine, Select, Update

__all__ = ["ABANDONED_ERROR", "ClaimedEvent", "Settlement", "claim_batch", "settle_batch"]


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


_RETURNED = (
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


@functools.cache
def _window_statement() -> Select[Any]:
    """The oldest claimable rows (pending or failed, due, not leased) in id order, after a given id.

    A lock-free read that only proposes: the lease statement decides under row locks.
    """
    now: Any = bindparam("now")
    return (
        select(
            events.c.id,
            events.c.topic,
            events.c.key,
            events.c.seq,
            events.c.status,
            events.c.lease_until,
            events.c.attempts,
        )
        .where(
            _status_in(events.c.status, DUE),
            events.c.id > bindparam("after"),
            events.c.next_attempt_at <= now,
            or_(events.c.lease_until.is_(None), events.c.lease_until < now),
        )
        .order_by(events.c.id)
        .limit(bindparam("window"))
    )


def _has_unfinished_predecessor(head: Any) -> Any:
    """True where an older event of the head's key is unfinished (in flight, waiting for a retry, or dead)."""
    earlier = events.alias("earlier")
    return exists(
        select(literal_column("1")).where(
            earlier.c.topic == head.c.topic,
            earlier.c.key == head.c.key,
            earlier.c.seq < head.c.seq,
            _status_in(earlier.c.status, UNFINISHED),
        )
    )


@functools.cache
def _lease_statement(dialect: str) -> Update:
    """Lock the proposed key heads (SKIP LOCKED), re-check them, and lease them with their followers.

    One statement: a relay either leases a key's head with its followers, or nothing of that key.
    """
    now: Any = bindparam("now")
    head = events.alias("head")
    blocked = _has_unfinished_predecessor(head)
    heads = (
        select(head.c.id, head.c.topic, head.c.key)
        .where(
            _id_in(head.c.id, "heads", dialect),
            _status_in(head.c.status, DUE),
            head.c.next_attempt_at <= now,
            or_(head.c.lease_until.is_(None), head.c.lease_until < now),
            ~blocked,  # an older event of the key is in flight, waiting for a retry, or dead
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
        .returning(*_RETURNED)
    )


@functools.cache
def _abandon_statement(dialect: str) -> Update:
    """Abandoned rows (lease expired without an outcome) that used every attempt go DEAD (re-checked here)."""
    return (
        update(events)
        .where(
            _id_in(events.c.id, "ids", dialect),
            _status_in(events.c.status, DUE),
            events.c.lease_until < bindparam("now"),
            events.c.attempts >= bindparam("max"),
        )
        .values(status="dead", last_error=bindparam("error"), lease_token=None, lease_until=None)
        .returning(events.c.id)
    )


@functools.cache
def _forget_statement(dialect: str) -> Update:
    """Clear an expired lease (nobody holds the row), keeping its attempts."""
    return (
        update(events)
        .where(_id_in(events.c.id, "ids", dialect), events.c.lease_until < bindparam("now"))
        .values(lease_token=None, lease_until=None)
    )


@functools.cache
def _scan_statement() -> Update:
    """The thorough claim: find key heads by scanning claimable rows in id order, lock and lease them with followers.

    Costs a probe per scanned row, so it is the fallback for when every proposed head was refused (keys parked
    behind a dead event or a retry, with deep backlogs, can fill any window).
    """
    now: Any = bindparam("now")
    head = events.alias("head")
    blocked = _has_unfinished_predecessor(head)
    heads = (
        select(head.c.id, head.c.topic, head.c.key)
        .where(
            _status_in(head.c.status, DUE),
            head.c.next_attempt_at <= now,
            head.c.lease_until.is_(None),  # abandoned rows are claimed alone, from the window (see claim_batch)
            ~blocked,
        )
        .order_by(head.c.id)
        .limit(bindparam("n"))
        .with_for_update(skip_locked=True, of=head)
        .cte("scan_heads")
    )
    follower = events.alias("follower")
    followers = (
        select(follower.c.id)
        .join(heads, and_(follower.c.topic == heads.c.topic, follower.c.key == heads.c.key))
        .where(
            follower.c.id != heads.c.id,
            follower.c.status == literal_column("'pending'"),
            follower.c.lease_until.is_(None),
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
        .returning(*_RETURNED)
    )


Scope = tuple[str, str] | None


class Proposal:
    """Reads window pages in id order and proposes each key's first row (its head) and the rows right behind it.

    Per key, sequence order is commit order and ids rise with it (a writer takes the key's counter before it
    inserts), so the first claimable row of a key is its head unless an older event is in flight, waiting for a
    retry, or dead; the lease statement checks exactly that under the head's row lock. Followers must continue
    the sequence without a gap.

    A row whose lease expired without an outcome (its relay stopped while holding it: crashed, killed, or lost
    its database) is *abandoned*. The first abandoned row seen is noted in :attr:`suspect`, so that the claim
    takes it alone (a poison event that kills relays cannot take other keys down with it); an abandoned key head
    that already used ``max_attempts`` attempts is listed in :attr:`abandon`, to go DEAD instead of being sent.
    """

    def __init__(self, *, limit: int, max_attempts: int | None = None) -> None:
        self.limit = limit
        self.max_attempts = max_attempts
        self.heads: list[int] = []
        self.picked: list[tuple[int, Scope]] = []
        self.abandon: list[int] = []
        self.suspect: tuple[int, Scope] | None = None
        self._last_seq: dict[tuple[str, str], int] = {}
        self._closed: set[tuple[str, str]] = set()

    @property
    def full(self) -> bool:
        """Whether the batch is complete."""
        return len(self.picked) >= self.limit

    def _spent(self, row: Sequence[Any]) -> bool:
        """Whether ``row`` (a window row) was abandoned and has no attempt left."""
        return self.max_attempts is not None and len(row) > 6 and row[5] is not None and row[6] >= self.max_attempts

    def feed(self, rows: Sequence[Any]) -> None:
        """Consider the next window rows ``(id, topic, key, seq, status[, lease_until, attempts])``."""
        for row in rows:
            if self.full:
                return
            row_id, topic, key, seq, status = row[:5]
            abandoned = len(row) > 5 and row[5] is not None
            if key is None:
                if abandoned and self._spent(row):
                    self.abandon.append(row_id)
                    continue
                self.heads.append(row_id)
                self.picked.append((row_id, None))
                if abandoned and self.suspect is None:
                    self.suspect = (row_id, None)
                continue
            scope = (topic, key)
            if scope in self._closed:
                continue
            last = self._last_seq.get(scope)
            if last is None:
                if abandoned and self._spent(row):
                    self.abandon.append(row_id)
                    self._closed.add(scope)
                    continue
                self._last_seq[scope] = seq
                self.heads.append(row_id)
                self.picked.append((row_id, scope))
            elif status == "pending" and seq == last + 1:
                self._last_seq[scope] = seq
                self.picked.append((row_id, scope))
            else:
                self._closed.add(scope)
                continue
            if abandoned and self.suspect is None:
                self.suspect = (row_id, scope)

    def isolate_suspect(self) -> None:
        """Narrow the proposal to the suspect's key head alone (the suspect itself when it heads its key)."""
        if self.suspect is None:
            return
        suspect_id, scope = self.suspect
        first = next(r for r, s in self.picked if r == suspect_id or (scope is not None and s == scope))
        self.heads = [first]
        self.picked = [(first, scope)]


def propose(rows: Sequence[Any], *, limit: int) -> tuple[list[int], list[tuple[int, Scope]]]:
    """Heads and picked rows from one window (see :class:`Proposal`)."""
    proposal = Proposal(limit=limit)
    proposal.feed(rows)
    return proposal.heads, proposal.picked


# Per transaction: an outbox table churns faster than autovacuum analyses it, and a planner working from stale
# statistics picks bitmap scans over every dead index entry. Index scans stay cheap and mark dead entries.
_PG_PLANNER = "SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off"
_MAX_PAGES = 8  # window pages read per claim when keys behind in-flight heads fill them


ABANDONED_ERROR = (
    "abandoned after {attempts} attempts: each relay that held it stopped before recording an outcome "
    "(crashed, was killed, or lost its database while sending it)"
)


def claim_batch(
    engine: Engine,
    *,
    token: str,
    now: float,
    lease_seconds: float,
    limit: int,
    window: int | None = None,
    thorough: bool = True,
    max_attempts: int | None = None,
    abandoned: list[int] | None = None,
) -> list[ClaimedEvent]:
    """Lease up to ``limit`` events (key heads and their followers) to ``token``; return them in send order.

    With ``thorough`` (the default), a claim whose proposed heads were all refused falls back to scanning for
    heads; a relay skips that when it claims ahead while a batch is in flight (that batch holds the keys).

    A row whose lease expired without an outcome is claimed alone. With ``max_attempts``, such a key head that
    used them all goes DEAD here, before it could be sent again (its ids are appended to ``abandoned``): an
    event whose sending kills the relay every time cannot block its key forever.
    """
    for _ in range(_MAX_FORGOTTEN):
        claimed = _claim_once(
            engine,
            token=token,
            now=now,
            lease_seconds=lease_seconds,
            limit=limit,
            window=window,
            thorough=thorough,
            max_attempts=max_attempts,
            abandoned=abandoned,
        )
        if claimed is not None:
            return claimed
    return []


_MAX_FORGOTTEN = 16  # claims re-run after dropping a stale lease of a row that waits behind its key


def _claim_once(
    engine: Engine,
    *,
    token: str,
    now: float,
    lease_seconds: float,
    limit: int,
    window: int | None,
    thorough: bool,
    max_attempts: int | None,
    abandoned: list[int] | None,
) -> list[ClaimedEvent] | None:
    """One claim transaction; ``None`` when it only dropped a stale lease and should be run again."""

    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(_PG_PLANNER)
        size = window or 2 * limit
        proposal = Proposal(limit=limit, max_attempts=max_attempts)
        after = 0
        for _ in range(_MAX_PAGES):
            rows = conn.execute(_window_statement(), {"now": now, "after": after, "window": size}).all()
            proposal.feed(rows)
            if proposal.full or len(rows) < size:
                break
            after = rows[-1][0]
        if proposal.abandon and max_attempts is not None:
            params = {
                "ids": proposal.abandon,
                "now": now,
                "max": max_attempts,
                "error": ABANDONED_ERROR.format(attempts=max_attempts),
            }
            gone = conn.execute(_abandon_statement(engine.dialect.name), params).scalars().all()
            if abandoned is not None:
                abandoned.extend(gone)
        proposal.isolate_suspect()
        heads, picked = proposal.heads, proposal.picked
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
        if not claimed and proposal.suspect is not None:
            # The abandoned row waits behind an older event of its key: drop its stale lease (attempts stay
            # counted) so it no longer claims a batch of its own, and look for other work.
            conn.execute(_forget_statement(engine.dialect.name), {"ids": [proposal.suspect[0]], "now": now})
            return None
        if not claimed and thorough:  # every proposed head was refused: look for heads the thorough way
            scan = {"now": now, "until": now + lease_seconds, "token": token, "n": limit}
            claimed = [ClaimedEvent(*row) for row in conn.execute(_scan_statement(), scan).all()]
            claimed.sort(key=lambda e: e.id)
            return claimed
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
