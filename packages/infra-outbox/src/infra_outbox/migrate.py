"""Move a schema 1 outbox (one ``infra_outbox`` work-queue table) to schema 2, events in flight included.

In one transaction: the v1 table is locked against writers, its unfinished events are copied (pending and
failed ones into the log, in id order, so per key in sequence order; a dead event into the held table with the
later events of its key parked behind it), and the v1 table is renamed ``infra_outbox_v1``, so a writer still
running the old version fails loudly instead of writing where no relay reads. The key counters are kept: the
sequences go on. Published and skipped v1 rows are not copied.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, text

from infra_models.outbox import OutboxStatus
from infra_outbox.errors import SchemaError
from infra_outbox.held import WAITING
from infra_outbox.outbox import shard_of
from infra_outbox.tables import DEFAULT_SHARDS, create_all, held, log, state

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["V1_ARCHIVE", "V1_TABLE", "MigrationReport", "migrate"]

V1_TABLE = "infra_outbox"
V1_ARCHIVE = "infra_outbox_v1"
# v1 statuses of events not finished: copied to schema 2 (published and skipped ones stay in the archive).
_UNFINISHED = ", ".join(
    f"'{status.value}'" for status in (OutboxStatus.PENDING, OutboxStatus.FAILED, OutboxStatus.DEAD)
)
_HELD_ID_BASE = -(2**62)  # held ids of migrated events: negative, in v1 id order, below every log id


@dataclass(frozen=True, slots=True)
class MigrationReport:
    """What ``db migrate`` moved."""

    to_log: int
    dead: int
    parked: int
    not_copied: int  # published or skipped in v1
    archive: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return asdict(self)


def migrate(engine: Engine, *, shard_count: int = DEFAULT_SHARDS, force: bool = False) -> MigrationReport:
    """Migrate a v1 outbox to schema 2; raise :class:`SchemaError` when there is nothing to migrate or relays run."""
    tables = set(inspect(engine).get_table_names())
    if V1_TABLE not in tables:
        raise SchemaError(
            f"no schema 1 table {V1_TABLE!r} here; nothing to migrate (use `infra-outbox db init` for a new database)",
            code="outbox.nothing_to_migrate",
        )
    now = time.time()
    with engine.connect() as conn:
        leased = conn.execute(
            text("SELECT count(*) FROM infra_outbox WHERE status IN (:pending, :failed) AND lease_until >= :now"),
            {"now": now, "pending": OutboxStatus.PENDING.value, "failed": OutboxStatus.FAILED.value},
        ).scalar_one()
    if leased and not force:
        raise SchemaError(
            f"{leased} v1 event(s) are leased by a running v1 relay; stop the v1 relays (and wait for their lease to "
            "end), or pass --force to migrate anyway (their events may then be published twice)",
            code="outbox.v1_relays_running",
        )
    create_all(engine, shard_count=shard_count)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"LOCK TABLE {V1_TABLE} IN EXCLUSIVE MODE"))
        shards = int(conn.execute(state.select().with_only_columns(state.c.shards)).scalar_one())
        rows = conn.execute(
            text(
                "SELECT id, event_id, event_type, topic, key, seq, aggregate_id, payload, content_type, headers, "  # noqa: S608 - enum values only
                "created_at, status, attempts, last_error FROM infra_outbox "
                f"WHERE status IN ({_UNFINISHED}) ORDER BY id"
            )
        ).all()
        not_copied = int(
            conn.execute(
                text(f"SELECT count(*) FROM infra_outbox WHERE status NOT IN ({_UNFINISHED})")  # noqa: S608 - enum values
            ).scalar_one()
        )
        blocked: set[tuple[str, str]] = set()
        to_log: list[dict[str, Any]] = []
        to_held: list[dict[str, Any]] = []
        dead = parked = 0
        for row in rows:
            scope = None if row.key is None else (row.topic, row.key)
            event = {
                "shard": shard_of(row.topic, row.key, shards, uuid.UUID(row.event_id)),
                "event_id": row.event_id,
                "event_type": row.event_type,
                "topic": row.topic,
                "key": row.key,
                "seq": row.seq,
                "aggregate_id": row.aggregate_id,
                "payload": bytes(row.payload),
                "content_type": row.content_type,
                "headers": row.headers,
                "created_at": float(row.created_at),
            }
            is_dead = row.status == OutboxStatus.DEAD
            if is_dead or (scope is not None and scope in blocked):
                dead += is_dead
                parked += not is_dead
                to_held.append(
                    {
                        **event,
                        "id": _HELD_ID_BASE + int(row.id),
                        "state": OutboxStatus.DEAD if is_dead else WAITING,
                        "attempts": int(row.attempts) if is_dead else 0,
                        "next_attempt_at": now,
                        "last_error": row.last_error if is_dead else None,
                        "dead_letter": None,
                        "held_at": now,
                    }
                )
                if scope is not None:
                    blocked.add(scope)
            else:
                to_log.append(event)
        for start in range(0, len(to_log), 1000):
            conn.execute(log.insert(), to_log[start : start + 1000])
        for start in range(0, len(to_held), 1000):
            conn.execute(held.insert(), to_held[start : start + 1000])
        conn.execute(text(f"ALTER TABLE {V1_TABLE} RENAME TO {V1_ARCHIVE}"))
    return MigrationReport(to_log=len(to_log), dead=dead, parked=parked, not_copied=not_copied, archive=V1_ARCHIVE)
