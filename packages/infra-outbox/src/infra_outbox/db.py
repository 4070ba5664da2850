"""Engines for the relay and the CLI: URL checks, SQLite locking, and the schema check."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infra_outbox.errors import DatabaseError, SchemaError
from infra_outbox.tables import metadata

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["SUPPORTED_DIALECTS", "check_schema", "connect", "database_errors_of_drivers", "make_engine"]

SUPPORTED_DIALECTS = ("postgresql", "sqlite")


def make_engine(url: str, *, immediate: bool = True) -> Engine:
    """Create an engine for ``url`` (PostgreSQL or SQLite) or raise :class:`DatabaseError` naming the problem.

    On SQLite, ``immediate`` makes every transaction ``BEGIN IMMEDIATE``, so that several relays take the claim
    one at a time instead of failing on a lock upgrade.
    """
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(
            f"database URL {url!r} is not a SQLAlchemy URL; expected e.g. "
            "postgresql+psycopg://user:pw@host/db or sqlite:///outbox.db",
            code="outbox.database_url",
        ) from exc
    if parsed.get_backend_name() not in SUPPORTED_DIALECTS:
        raise DatabaseError(
            f"database URL {parsed.render_as_string()!r} uses {parsed.get_backend_name()!r}; "
            f"infra-outbox supports {', '.join(SUPPORTED_DIALECTS)}",
            code="outbox.database_url",
        )
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": 30.0}
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **kwargs)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise DatabaseError(
            f"cannot use database URL {parsed.render_as_string()!r}: {exc}; "
            "install the driver (pip install 'infra-outbox[postgres]' for PostgreSQL)",
            code="outbox.database_url",
        ) from exc
    if engine.dialect.name == "sqlite" and immediate:
        _sqlite_begin_immediate(engine)
    return engine


def _sqlite_begin_immediate(engine: Engine) -> None:
    """Let SQLAlchemy (not pysqlite) emit BEGIN, and make it BEGIN IMMEDIATE (the SQLAlchemy-documented recipe)."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def connect(url: str) -> Engine:
    """Return an engine for ``url`` after checking that the database answers."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        engine.dispose()
        safe = engine.url.render_as_string(hide_password=True)
        raise DatabaseError(
            f"cannot connect to {safe}: {str(getattr(exc, 'orig', None) or exc).strip().splitlines()[0]}; "
            "check the host, port, database name and credentials",
            code="outbox.database_unreachable",
        ) from exc
    return engine


def check_schema(engine: Engine, *, missing_ok: bool = False) -> None:
    """Raise :class:`SchemaError` when an outbox table is missing (unless ``missing_ok``) or outdated."""
    from sqlalchemy import inspect

    inspector = inspect(engine)
    existing = set(inspector.get_table_names())
    if "infra_outbox" in existing and "infra_outbox_log" not in existing:
        raise SchemaError(
            "the database has the schema 1 outbox (table 'infra_outbox'); run `infra-outbox db migrate --db URL` "
            "to move it and the events in flight to schema 2",
            code="outbox.schema_outdated",
            details={"table": "infra_outbox"},
        )
    for table in metadata.sorted_tables:
        if table.name not in existing:
            if missing_ok:
                continue
            raise SchemaError(
                f"table {table.name!r} does not exist; run `infra-outbox db init --db URL` "
                "or add infra_outbox.metadata to your Alembic migrations",
                code="outbox.schema_missing",
                details={"table": table.name},
            )
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        missing = [c.name for c in table.columns if c.name not in columns]
        if missing:
            raise SchemaError(
                f"table {table.name!r} comes from an older schema: it lacks column(s) {', '.join(missing)}; "
                "add them with a migration (see docs/infra-outbox.md, 'The tables') and restart",
                code="outbox.schema_outdated",
                details={"table": table.name, "missing": missing},
            )


def database_errors_of_drivers() -> tuple[type[BaseException], ...]:
    """Errors that mean "the database is unavailable": SQLAlchemy's, and psycopg's (pages are read straight)."""
    from sqlalchemy.exc import SQLAlchemyError

    errors: list[type[BaseException]] = [SQLAlchemyError]
    try:
        import psycopg
    except ImportError:
        pass
    else:
        errors.append(psycopg.Error)
    return tuple(errors)
