"""Create or check the outbox tables (for those who do not manage them with Alembic)."""

from __future__ import annotations

from typing import Annotated

import typer

from infra_outbox._cli_common import DbOption, FormatOption, OutputFormat, emit_json, guarded, open_db

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True)


@app.command()
def init(
    db: DbOption,
    shards: Annotated[
        int, typer.Option("--shards", min=1, max=4096, help="Shards of the log (one reader each); fixed once created.")
    ] = 16,  # tables.DEFAULT_SHARDS (not imported: --help stays light)
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Create the outbox tables (log, key counters, held events, shards, inbox) that do not exist yet."""
    from infra_outbox.db import check_schema
    from infra_outbox.tables import create_all

    with guarded():
        engine = open_db(db, schema=False)
        check_schema(engine, missing_ok=True)  # an older schema is named, not silently accepted
        created = create_all(engine, shard_count=shards)
        check_schema(engine)
    if fmt is OutputFormat.JSON:
        emit_json({"created": created})
    else:
        typer.echo(f"created: {', '.join(created)}" if created else "all outbox tables already exist")


@app.command()
def check(db: DbOption, fmt: FormatOption = OutputFormat.TEXT) -> None:
    """Exit 1 when a table is missing or from an older schema."""
    from infra_outbox.errors import SchemaError

    with guarded(when=lambda exc: 1 if isinstance(exc, SchemaError) else 2):
        open_db(db)
    if fmt is OutputFormat.JSON:
        emit_json({"ok": True})
    else:
        typer.echo("outbox schema is up to date")


@app.command()
def migrate(
    db: DbOption,
    shards: Annotated[int, typer.Option("--shards", min=1, max=4096, help="Shards of the new log.")] = 16,
    force: Annotated[
        bool, typer.Option("--force", help="Migrate even while v1 relays hold leases (they may re-send).")
    ] = False,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Move a schema 1 outbox (table infra_outbox) and its unpublished events to schema 2."""
    from infra_outbox.migrate import migrate as run_migrate

    with guarded():
        report = run_migrate(open_db(db, schema=False), shard_count=shards, force=force)
    if fmt is OutputFormat.JSON:
        emit_json(report.to_dict())
    else:
        typer.echo(
            f"migrated: {report.to_log} event(s) to the log, {report.dead} dead and {report.parked} parked behind "
            f"them to the held table; {report.not_copied} published/skipped left in {report.archive}"
        )
