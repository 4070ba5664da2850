"""Shard ownership: fenced leases on the shard rows, relay heartbeats, and a fair share for every live relay.

A relay owns a shard while its lease lasts; taking a shard over bumps the shard's ``epoch``, and every write a
relay makes for a shard (cursor advance, lease renewal) is fenced on the epoch it took, so a relay that lost a
shard cannot move its cursor. Live relays heartbeat in ``infra_outbox_relays``; each aims at
``ceil(shards / live relays)`` shards, takes free or expired ones, and releases what it holds above that.
"""

from __future__ import annotations

import logging
import math
import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, delete, func, or_, select, tuple_, update

from infra_outbox.snapshot import Snapshot
from infra_outbox.tables import SHARDS_TABLE, relays, shards, state

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

__all__ = ["Ownership", "ShardState"]

log = logging.getLogger("infra_outbox.relay")


@dataclass(slots=True)
class ShardState:
    """What a relay knows of a shard it owns: its epoch and its cursor."""

    shard: int
    epoch: int
    snap: Snapshot | None  # read up to this snapshot (None: nothing read yet)
    batch_snap: Snapshot | None  # closing snapshot of the batch in progress
    last_id: int  # last id done in the batch in progress (SQLite: the cursor itself)
    crashes: int = 0  # owners that stopped holding it since its cursor last moved
    suspect_id: int | None = None  # the event the last (careful) owner was sending alone
    suspect_sent: bool = False  # and its produce call had returned (so it did not kill that relay)

    def group_key(self) -> tuple[str | None, str | None]:
        """Shards with the same snapshots are read together."""
        return (
            None if self.snap is None else str(self.snap),
            None if self.batch_snap is None else str(self.batch_snap),
        )


_CURSOR = (
    shards.c.shard,
    shards.c.epoch,
    shards.c.snap,
    shards.c.batch_snap,
    shards.c.last_id,
    shards.c.crashes,
    shards.c.suspect_id,
    shards.c.suspect_sent,
)


# The happy path's cursor move on PostgreSQL, as one prepared statement (psycopg prepares a query text it has
# run five times): fenced on (shard, epoch) and the owner, like :meth:`Ownership.fence`.
_MOVE = (
    f"UPDATE {SHARDS_TABLE} SET lease_until = %(until)s, advanced_at = %(now)s, suspect_id = NULL, "  # noqa: S608
    "suspect_sent = false, crashes = 0, snap = %(snap)s, batch_snap = %(batch_snap)s, last_id = {last_id} "
    "WHERE owner = %(owner)s AND (shard, epoch) IN (SELECT * FROM unnest(%(shards)s::integer[], %(epochs)s::bigint[]))"
)
_MOVE_IN_BATCH = _MOVE.format(last_id="greatest(last_id, %(last_id)s)")  # never back: a shard may be ahead
_MOVE_BATCH_DONE = _MOVE.format(last_id="0")


def _state_from_row(row: Any) -> ShardState:
    return ShardState(
        shard=int(row.shard),
        epoch=int(row.epoch),
        snap=None if row.snap is None else Snapshot.parse(row.snap),
        batch_snap=None if row.batch_snap is None else Snapshot.parse(row.batch_snap),
        last_id=int(row.last_id),
        crashes=int(row.crashes),
        suspect_id=None if row.suspect_id is None else int(row.suspect_id),
        suspect_sent=bool(row.suspect_sent),
    )


class Ownership:
    """The shards one relay owns, and the heartbeat that keeps, shares and takes them over."""

    def __init__(self, engine: Engine, relay_id: str, *, lease_seconds: float, clock: Callable[[], float]) -> None:
        self.engine = engine
        self.relay_id = relay_id
        self.lease_seconds = lease_seconds
        self._clock = clock
        self.owned: dict[int, ShardState] = {}
        self.lease_until = 0.0  # the earliest end of this relay's leases
        self.shard_count = 0

    def fence(self, shard_ids: Iterable[int]) -> Any:
        """A SQL condition that holds only while this relay still owns these shards at their epochs."""
        pairs = [(s, self.owned[s].epoch) for s in shard_ids]
        return and_(tuple_(shards.c.shard, shards.c.epoch).in_(pairs), shards.c.owner == self.relay_id)

    def move_cursors(
        self,
        driver: Any,
        shard_ids: list[int],
        *,
        snap: Snapshot | None,
        batch_snap: Snapshot,
        last_id: int,
        complete: bool,
        now: float,
    ) -> int:
        """Move the cursors of these shards after a page Kafka took (PostgreSQL, psycopg ``driver`` connection).

        The happy path's one statement: renews the lease, clears the suspect and the crash count, and sets the
        cursor (a finished batch: ``snap = batch_snap``, none in progress). Returns the shards moved: fewer than
        asked means another relay owns some now.
        """
        params: dict[str, Any] = {
            "until": now + self.lease_seconds,
            "now": now,
            "owner": self.relay_id,
            "shards": shard_ids,
            "epochs": [self.owned[s].epoch for s in shard_ids],
        }
        if complete:
            params.update(snap=str(batch_snap), batch_snap=None)
            query = _MOVE_BATCH_DONE
        else:
            params.update(snap=None if snap is None else str(snap), batch_snap=str(batch_snap), last_id=last_id)
            query = _MOVE_IN_BATCH
        with driver.cursor() as cursor:
            cursor.execute(query, params)
            return int(cursor.rowcount)

    def heartbeat(self, *, rebalance: bool = True) -> tuple[list[int], list[int]]:
        """Renew leases, register as live, take or release shards toward a fair share; return (gained, lost).

        With ``rebalance`` False (pages of the owned shards are in flight) only the leases are renewed.
        """
        now = self._clock()
        until = now + self.lease_seconds
        with self.engine.begin() as conn:
            if not self.shard_count:
                self.shard_count = int(conn.execute(select(state.c.shards).where(state.c.id == 1)).scalar_one())
            self._register(conn, now)
            lost: list[int] = []
            if self.owned:
                kept = {
                    int(s)
                    for (s,) in conn.execute(
                        update(shards).where(self.fence(self.owned)).values(lease_until=until).returning(shards.c.shard)
                    )
                }
                lost = sorted(set(self.owned) - kept)
                for shard in lost:
                    del self.owned[shard]
            live = int(
                conn.execute(
                    select(func.count()).select_from(relays).where(relays.c.seen_at >= now - self.lease_seconds)
                ).scalar_one()
            )
            target = math.ceil(self.shard_count / max(1, live)) if rebalance else len(self.owned)
            gained: list[int] = []
            if len(self.owned) > target:
                extra = sorted(self.owned)[target:]
                conn.execute(update(shards).where(self.fence(extra)).values(owner=None, lease_until=0.0))
                for shard in extra:
                    del self.owned[shard]
                log.info("relay %s released shards %s to other relays (fair share %d)", self.relay_id, extra, target)
            elif len(self.owned) < target:
                free = or_(shards.c.owner.is_(None), shards.c.lease_until < now)
                wanted = [
                    int(s)
                    for (s,) in conn.execute(
                        select(shards.c.shard).where(free).order_by(shards.c.shard).limit(target - len(self.owned))
                    )
                ]
                if wanted:
                    rows = conn.execute(
                        update(shards)
                        .where(shards.c.shard.in_(wanted), free)
                        .values(
                            owner=self.relay_id,
                            epoch=shards.c.epoch + 1,
                            lease_until=until,
                            # Taken from an owner whose lease ran out: it stopped while holding the shard.
                            crashes=case((shards.c.owner.is_not(None), shards.c.crashes + 1), else_=shards.c.crashes),
                        )
                        .returning(*_CURSOR)
                    ).all()
                    for row in rows:
                        self.owned[int(row.shard)] = _state_from_row(row)
                        gained.append(int(row.shard))
        self.lease_until = until
        if gained:
            log.info(
                "relay %s took shards %s (now owns %d of %d)",
                self.relay_id,
                sorted(gained),
                len(self.owned),
                self.shard_count,
            )
        if lost:
            log.warning("relay %s lost shards %s (lease expired; another relay took them over)", self.relay_id, lost)
        return sorted(gained), lost

    def _register(self, conn: Connection, now: float) -> None:
        updated = conn.execute(update(relays).where(relays.c.relay_id == self.relay_id).values(seen_at=now)).rowcount
        if not updated:
            conn.execute(
                relays.insert().values(
                    relay_id=self.relay_id, host=socket.gethostname()[:255], pid=os.getpid(), seen_at=now
                )
            )
            conn.execute(delete(relays).where(relays.c.seen_at < now - 10 * self.lease_seconds))

    def release_all(self) -> None:
        """Give every shard back at once (a clean stop), so others need not wait for the lease to expire."""
        with self.engine.begin() as conn:
            if self.owned:
                conn.execute(update(shards).where(self.fence(self.owned)).values(owner=None, lease_until=0.0))
            conn.execute(delete(relays).where(relays.c.relay_id == self.relay_id))
        if self.owned:
            log.info("relay %s released shards %s", self.relay_id, sorted(self.owned))
        self.owned.clear()

    def reload(self) -> None:
        """Re-read the cursors of the owned shards (after a failed write); drop those no longer owned."""
        if not self.owned:
            return
        with self.engine.connect() as conn:
            rows = conn.execute(select(*_CURSOR).where(self.fence(self.owned))).all()
        fresh = {int(row.shard): _state_from_row(row) for row in rows}
        lost = sorted(set(self.owned) - set(fresh))
        self.owned = fresh
        if lost:
            log.warning("relay %s lost shards %s (another relay took them over)", self.relay_id, lost)

    def forget(self, shard_ids: Iterable[int]) -> None:
        """Drop shards whose fenced write failed (another relay owns them now)."""
        for shard in shard_ids:
            self.owned.pop(shard, None)
