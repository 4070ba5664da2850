"""The outbox tables as SQLAlchemy metadata, for your Alembic migrations or ``infra-outbox db init``.

Example (Alembic ``env.py``)::

    from infra_outbox import metadata as outbox_metadata
    target_metadata = [my_app_metadata, outbox_metadata]

Times are stored as epoch seconds (double precision) so that PostgreSQL and SQLite compare them the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    text,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = [
    "DUE",
    "DONE",
    "EVENTS_TABLE",
    "INBOX_TABLE",
    "KEYS_TABLE",
    "UNFINISHED",
    "events",
    "inbox",
    "keys",
    "metadata",
]

EVENTS_TABLE = "infra_outbox"
KEYS_TABLE = "infra_outbox_keys"
INBOX_TABLE = "infra_inbox"

#: Statuses a relay may claim (``failed`` = waiting for its next attempt).
DUE = ("pending", "failed")
#: Statuses that still hold their key back (a ``dead`` event parks its key until replayed or skipped).
UNFINISHED = ("pending", "failed", "dead")
#: Statuses that cleanup deletes after the retention.
DONE = ("published", "skipped")


def _status_in(values: tuple[str, ...]) -> str:
    # Literal SQL (constants only) so PostgreSQL can prove the partial-index predicates.
    return "status IN (" + ", ".join(f"'{v}'" for v in values) + ")"


_QUEUE_STORAGE = {
    "fillfactor": 80,
    "autovacuum_vacuum_scale_factor": 0,
    "autovacuum_vacuum_threshold": 1000,
    "autovacuum_analyze_scale_factor": 0,
    "autovacuum_analyze_threshold": 1000,
}

_ID = BigInteger().with_variant(Integer(), "sqlite")  # INTEGER PRIMARY KEY is SQLite's rowid

metadata = MetaData()

events = Table(
    EVENTS_TABLE,
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(255), nullable=False),
    Column("topic", String(249), nullable=False),
    Column("key", String(1024), nullable=True),
    Column("seq", BigInteger, nullable=True, comment="position among committed events of (topic, key)"),
    Column("aggregate_id", String(255), nullable=True),
    Column("payload", LargeBinary, nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("headers", Text, nullable=True, comment="JSON object of extra record headers"),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("next_attempt_at", Double, nullable=False),
    Column("lease_token", String(32), nullable=True),
    Column("lease_until", Double, nullable=True),
    Column("published_at", Double, nullable=True),
    Column("last_error", Text, nullable=True),
    Index(
        "ix_infra_outbox_due",
        "id",
        postgresql_where=text(_status_in(DUE)),
        sqlite_where=text(_status_in(DUE)),
    ),
    Index(
        "ix_infra_outbox_key",
        "topic",
        "key",
        "seq",
        postgresql_where=text(_status_in(UNFINISHED)),
        sqlite_where=text(_status_in(UNFINISHED)),
    ),
    Index(
        "ix_infra_outbox_done",
        "published_at",
        postgresql_where=text(_status_in(DONE)),
        sqlite_where=text(_status_in(DONE)),
    ),
    comment="Transactional outbox of infra-outbox: one row per event, written in the business transaction",
    # Room on each page so that lease stamps are HOT updates, and a vacuum every few thousand dead rows
    # (a queue table churns: the default 20 % scale factor lets dead index entries pile up).
    postgresql_with=_QUEUE_STORAGE,
)

keys = Table(
    KEYS_TABLE,
    metadata,
    Column("topic", String(249), nullable=False),
    Column("key", String(1024), nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    PrimaryKeyConstraint("topic", "key", name="pk_infra_outbox_keys"),
    comment="Per-key sequence counters; the row lock orders writers of one key by commit",
    postgresql_with={"fillfactor": 80},
)

inbox = Table(
    INBOX_TABLE,
    metadata,
    Column("consumer", String(255), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("processed_at", Double, nullable=False),
    PrimaryKeyConstraint("consumer", "event_id", name="pk_infra_inbox"),
    Index("ix_infra_inbox_processed_at", "processed_at"),
    comment="Idempotent-consumer inbox: one row per (consumer, event id) already processed",
)


def create_all(engine: Engine) -> list[str]:
    """Create the outbox tables that do not exist yet; return the names created."""
    from sqlalchemy import inspect

    existing = set(inspect(engine).get_table_names())
    metadata.create_all(engine)
    return [t.name for t in metadata.sorted_tables if t.name not in existing]
