"""The outbox tables (schema 2: a log read by snapshot ranges), as SQLAlchemy metadata and creation DDL.

Example (Alembic ``env.py``)::

    from infra_outbox import metadata as outbox_metadata
    target_metadata = [my_app_metadata, outbox_metadata]

On PostgreSQL the log is a table partitioned by ``slot`` into three partitions that are rotated (TRUNCATE, no
DELETE); create it with ``infra-outbox db init`` or :func:`create_all` (which also creates the slot function),
or put :func:`postgres_log_ddl` into a migration. Times are epoch seconds (double precision).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    false,
    text,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = [
    "DEFAULT_SHARDS",
    "HELD_TABLE",
    "INBOX_TABLE",
    "KEYS_TABLE",
    "LOG_TABLE",
    "RELAYS_TABLE",
    "SHARDS_TABLE",
    "SLOTS",
    "STATE_TABLE",
    "create_all",
    "held",
    "inbox",
    "keys",
    "log",
    "metadata",
    "postgres_log_ddl",
    "relays",
    "shards",
    "state",
]

LOG_TABLE = "infra_outbox_log"
KEYS_TABLE = "infra_outbox_keys"
HELD_TABLE = "infra_outbox_held"
SHARDS_TABLE = "infra_outbox_shards"
RELAYS_TABLE = "infra_outbox_relays"
STATE_TABLE = "infra_outbox_state"
INBOX_TABLE = "infra_inbox"

#: Shards (one reader each) created by ``db init`` unless told otherwise.
DEFAULT_SHARDS = 16
#: Rotating partitions of the PostgreSQL log: one written, one kept, one emptied before reuse.
SLOTS = 3

_ID = BigInteger().with_variant(Integer(), "sqlite")  # INTEGER PRIMARY KEY AUTOINCREMENT is SQLite's rowid

metadata = MetaData()

log = Table(
    LOG_TABLE,
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("slot", SmallInteger, nullable=False, server_default=text("0"), comment="rotating partition (PostgreSQL)"),
    Column("xid", BigInteger, nullable=False, server_default=text("0"), comment="writer's transaction id (xid8)"),
    Column("shard", Integer, nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(255), nullable=False),
    Column("topic", String(249), nullable=False),
    Column("key", String(1024), nullable=True),
    Column("seq", BigInteger, nullable=True, comment="position among committed events of (topic, key)"),
    Column("aggregate_id", String(255), nullable=True),
    Column("payload", LargeBinary, nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("headers", Text, nullable=True, comment="JSON object of extra record headers"),
    Column("created_at", Double, nullable=False),
    Index("ix_infra_outbox_log_shard", "shard", "id"),
    comment="Outbox log of infra-outbox: insert-only, read by snapshot ranges, retired by TRUNCATE",
    sqlite_autoincrement=True,  # a rowid is never reused, so a cursor on it never skips a new event
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

held = Table(
    HELD_TABLE,
    metadata,
    Column("id", BigInteger, nullable=False, comment="the event's log id"),
    Column("shard", Integer, nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(255), nullable=False),
    Column("topic", String(249), nullable=False),
    Column("key", String(1024), nullable=True),
    Column("seq", BigInteger, nullable=True),
    Column("aggregate_id", String(255), nullable=True),
    Column("payload", LargeBinary, nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("headers", Text, nullable=True),
    Column("created_at", Double, nullable=False),
    Column("state", String(16), nullable=False, comment="waiting | dead | skipped"),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Double, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("dead_letter", String(16), nullable=True, comment="copy to the dead-letter topic: pending | sent"),
    Column("held_at", Double, nullable=False),
    PrimaryKeyConstraint("id", name="pk_infra_outbox_held"),
    Index("ix_infra_outbox_held_shard", "shard", "state", "id"),
    Index("ix_infra_outbox_held_key", "topic", "key", "id"),
    comment="Events that failed and the events of their keys parked behind them (retry, dead, skipped)",
)

shards = Table(
    SHARDS_TABLE,
    metadata,
    Column("shard", Integer, nullable=False),
    Column("owner", String(64), nullable=True),
    Column("epoch", BigInteger, nullable=False, server_default=text("0")),
    Column("lease_until", Double, nullable=False, server_default=text("0")),
    Column("snap", Text, nullable=True, comment="PostgreSQL snapshot the shard is read up to (xmin:xmax:xip)"),
    Column("batch_snap", Text, nullable=True, comment="snapshot closing the batch in progress, if any"),
    Column("last_id", BigInteger, nullable=False, server_default=text("0"), comment="last id done (in batch)"),
    Column("advanced_at", Double, nullable=True),
    Column("crashes", Integer, nullable=False, server_default=text("0"), comment="takeovers since the last move"),
    Column("suspect_id", BigInteger, nullable=True, comment="event sent alone when the last relay stopped"),
    Column("suspect_sent", Boolean, nullable=False, server_default=false(), comment="its produce call returned"),
    PrimaryKeyConstraint("shard", name="pk_infra_outbox_shards"),
    comment="One cursor per shard and the fenced lease of the relay that reads it",
)

relays = Table(
    RELAYS_TABLE,
    metadata,
    Column("relay_id", String(64), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("seen_at", Double, nullable=False),
    PrimaryKeyConstraint("relay_id", name="pk_infra_outbox_relays"),
    comment="Live relays (heartbeats), so that shards are shared fairly",
)

state = Table(
    STATE_TABLE,
    metadata,
    Column("id", Integer, nullable=False),
    Column("shards", Integer, nullable=False),
    Column("slot", SmallInteger, nullable=False),
    Column("rotated_at", Double, nullable=False),
    Column("schema_version", Integer, nullable=False),
    PrimaryKeyConstraint("id", name="pk_infra_outbox_state"),
    comment="One row: shard count, the log partition being written, schema version",
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

SCHEMA_VERSION = 2


def postgres_log_ddl() -> list[str]:
    """The PostgreSQL statements that create the log: slot function, partitioned table, partitions, index."""
    columns = ",\n  ".join(
        [
            "id bigint NOT NULL DEFAULT nextval('infra_outbox_log_id_seq')",
            "slot smallint NOT NULL DEFAULT infra_outbox_slot()",
            "xid bigint NOT NULL DEFAULT (pg_current_xact_id()::text)::bigint",
            "shard integer NOT NULL",
            "event_id varchar(36) NOT NULL",
            "event_type varchar(255) NOT NULL",
            "topic varchar(249) NOT NULL",
            "key varchar(1024)",
            "seq bigint",
            "aggregate_id varchar(255)",
            "payload bytea NOT NULL",
            "content_type varchar(100) NOT NULL",
            "headers text",
            "created_at double precision NOT NULL",
        ]
    )
    statements = [
        "CREATE SEQUENCE IF NOT EXISTS infra_outbox_log_id_seq",
        f"CREATE OR REPLACE FUNCTION infra_outbox_slot() RETURNS smallint LANGUAGE sql STABLE PARALLEL SAFE "  # noqa: S608 - table names and integer literals only
        f"AS 'SELECT slot FROM {STATE_TABLE} WHERE id = 1'",
        f"CREATE TABLE {LOG_TABLE} (\n  {columns}\n) PARTITION BY LIST (slot)",
        f"ALTER SEQUENCE infra_outbox_log_id_seq OWNED BY {LOG_TABLE}.id",
    ]
    for slot in range(SLOTS):
        statements.append(f"CREATE TABLE {LOG_TABLE}_{slot} PARTITION OF {LOG_TABLE} FOR VALUES IN ({slot})")
    statements += [
        f"CREATE INDEX ix_infra_outbox_log_xid ON {LOG_TABLE} (shard, xid)",
        f"CREATE INDEX ix_infra_outbox_log_shard ON {LOG_TABLE} (shard, id)",
        f"CREATE INDEX ix_infra_outbox_log_id ON {LOG_TABLE} (id)",
    ]
    return statements


def create_all(engine: Engine, *, shard_count: int = DEFAULT_SHARDS) -> list[str]:
    """Create the outbox tables that do not exist yet (and the state and shard rows); return the names created."""
    from sqlalchemy import insert, inspect, select

    if not 1 <= shard_count <= 4096:
        raise ValueError(f"shard count must be between 1 and 4096, got {shard_count}")
    existing = set(inspect(engine).get_table_names())
    others = [t for t in metadata.sorted_tables if t.name != LOG_TABLE]
    created = [t.name for t in metadata.sorted_tables if t.name not in existing]
    with engine.begin() as conn:
        metadata.create_all(conn, tables=others)
        if conn.execute(select(state.c.id)).first() is None:
            conn.execute(
                insert(state).values(id=1, shards=shard_count, slot=0, rotated_at=0.0, schema_version=SCHEMA_VERSION)
            )
            conn.execute(insert(shards), [{"shard": s, "owner": None} for s in range(shard_count)])
        if LOG_TABLE not in existing:
            if conn.dialect.name == "postgresql":
                for statement in postgres_log_ddl():
                    conn.execute(text(statement))
            else:
                metadata.create_all(conn, tables=[log])
    return created
