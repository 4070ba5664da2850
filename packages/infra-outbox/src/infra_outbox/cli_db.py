"""Create or check the outbox tables (for those who do not manage them with Alembic)."""

from __future__ import annotations

import typer

from infra_outbox._cli_common import DbOption, FormatOption, OutputFormat, emit_json, guarded, open_db

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.command()
def init(db: DbOption, fmt: FormatOption = OutputFormat.text) -> None:
    """Create the outbox, key-counter and inbox tables that do not exist yet."""
    from infra_outbox.db import check_schema
    from infra_outbox.tables import create_all

    with guarded():
        engine = open_db(db, schema=False)
        created = create_all(engine)
        check_schema(engine)  # an existing table from an older schema is not silently accepted
    if fmt is OutputFormat.json:
        emit_json({"created": created})
    else:
        typer.echo(f"created: {', '.join(created)}" if created else "all outbox tables already exist")


@app.command()
def check(db: DbOption, fmt: FormatOption = OutputFormat.text) -> None:
    """Exit 1 when a table is missing or from an older schema."""
    from infra_outbox.errors import SchemaError

    with guarded(when=lambda exc: 1 if isinstance(exc, SchemaError) else 2):
        open_db(db)
    if fmt is OutputFormat.json:
        emit_json({"ok": True})
    else:
        typer.echo("outbox schema is up to date")
