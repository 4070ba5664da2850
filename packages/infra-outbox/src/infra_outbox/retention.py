"""Which log events are still to be read (per shard cursor), and retiring the rest without DELETE on PostgreSQL.

PostgreSQL: the log has three partitions; writers fill the current one. Once the current one has been written
for ``retention_seconds``, the oldest partition is emptied with TRUNCATE (if every shard has read all of it:
checked under an exclusive lock, so no writer can still be adding to it) and becomes the current one. No dead
tuples, no vacuum. SQLite: events every shard has read, older than the retention, are deleted.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import select, text, update

from infra_outbox.snapshot import Snapshot
from infra_outbox.tables import LOG_TABLE, SLOTS, shards, state

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

__all__ = ["retire", "unread_condition"]

log = logging.getLogger("infra_outbox.relay")


def unread_condition(conn: Connection) -> str:
    """A SQL condition (literals only) true for log rows some shard's cursor has not passed yet."""
    groups: dict[tuple[str | None, str | None, int], list[int]] = {}
    for row in conn.execute(select(shards.c.shard, shards.c.snap, shards.c.batch_snap, shards.c.last_id)):
        groups.setdefault((row.snap, row.batch_snap, int(row.last_id)), []).append(int(row.shard))
    postgres = conn.dialect.name == "postgresql"
    parts = []
    for (snap, batch_snap, last_id), members in groups.items():
        condition = [f"shard IN ({','.join(map(str, sorted(members)))})"]
        if not postgres:
            condition.append(f"id > {last_id}")
        else:
            if snap is not None:
                condition.append(Snapshot.parse(snap).sql_not_visible())
            if batch_snap is not None and last_id:
                condition.append(f"NOT ({Snapshot.parse(batch_snap).sql_visible()} AND id <= {last_id})")
        parts.append("(" + " AND ".join(condition) + ")")
    return "(" + " OR ".join(parts) + ")" if parts else "FALSE"


def retire(engine: Engine, *, retention_seconds: float, now: float) -> int:
    """Retire read events older than the retention; return how many rows went (an estimate on PostgreSQL)."""
    if engine.dialect.name == "postgresql":
        return _rotate(engine, retention_seconds=retention_seconds, now=now)
    with engine.begin() as conn:
        deleted = conn.execute(
            text(
                f"DELETE FROM {LOG_TABLE} WHERE created_at < :cutoff AND id <= "  # noqa: S608 - table names and integer literals only
                f"(SELECT last_id FROM {shards.name} s WHERE s.shard = {LOG_TABLE}.shard)"
            ),
            {"cutoff": now - retention_seconds},
        ).rowcount
    return int(deleted or 0)


def _rotate(engine: Engine, *, retention_seconds: float, now: float) -> int:
    from sqlalchemy.exc import OperationalError

    with engine.connect() as conn:
        row = conn.execute(select(state.c.slot, state.c.rotated_at).where(state.c.id == 1)).one()
        conn.rollback()
        if now - float(row.rotated_at) < retention_seconds:
            return 0
        slot = int(row.slot)
        following = (slot + 1) % SLOTS
        partition = f"{LOG_TABLE}_{following}"
        transaction = conn.begin()
        try:
            conn.execute(text("SET LOCAL lock_timeout = '200ms'"))
            try:
                conn.execute(text(f"LOCK TABLE {partition} IN ACCESS EXCLUSIVE MODE"))
            except OperationalError:
                log.info("log rotation postponed: partition %s is busy", partition)
                return 0
            unread = conn.execute(text(f"SELECT count(*) FROM {partition} WHERE {unread_condition(conn)}")).scalar_one()  # noqa: S608 - table names and integer literals only
            if unread:
                log.info("log rotation postponed: %d event(s) in %s are not read by every shard yet", unread, partition)
                return 0
            rows = int(conn.execute(text(f"SELECT count(*) FROM {partition}")).scalar_one())  # noqa: S608 - table names and integer literals only
            conn.execute(text(f"TRUNCATE {partition}"))
            moved = conn.execute(
                update(state).where(state.c.id == 1, state.c.slot == slot).values(slot=following, rotated_at=now)
            ).rowcount
            if moved != 1:  # another relay rotated meanwhile
                return 0
            transaction.commit()
        finally:
            if transaction.is_active:
                transaction.rollback()
        log.info("log rotated: %d read event(s) retired with TRUNCATE %s; writers now fill it", rows, partition)
        return rows
