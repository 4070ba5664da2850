"""Dead events: list them, replay them (back to pending), or skip them so their key flows again."""

from __future__ import annotations

from typing import Annotated

import typer

from infra_outbox._cli_common import DbOption, FormatOption, OutputFormat, emit_json, guarded, open_db

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True)

IdOption = Annotated[int | None, typer.Option("--id", help="Row id of one dead event (from `dead list`).")]
KeyOption = Annotated[str | None, typer.Option("--key", help="Every dead event of this key.")]
TopicOption = Annotated[str | None, typer.Option("--topic", help="Restrict to this topic.")]


@app.command("list")
def list_dead(
    db: DbOption,
    topic: TopicOption = None,
    key: KeyOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many events.")] = 100,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """List dead events (oldest first) with their last error."""
    from infra_outbox.admin import dead_events

    with guarded():
        rows = dead_events(open_db(db), topic=topic, key=key, limit=limit)
    if fmt is OutputFormat.JSON:
        emit_json([r.model_dump(mode="json", exclude={"payload"}) for r in rows])
        return
    if not rows:
        typer.echo("no dead events")
        return
    from rich.table import Table

    from infra_models.cli import console

    table = Table("id", "topic", "key", "seq", "type", "attempts", "last error")
    for r in rows:
        table.add_row(
            str(r.id), r.topic, r.key or "-", str(r.sequence or "-"), r.event_type, str(r.attempts), r.last_error or ""
        )
    console().print(table)


def _act(verb: str, db: str, *, event_id: int | None, topic: str | None, key: str | None, fmt: OutputFormat) -> None:
    from infra_outbox.admin import replay_dead, skip_dead

    action = replay_dead if verb == "replay" else skip_dead
    with guarded():
        count = action(open_db(db), event_id=event_id, topic=topic, key=key)
    if fmt is OutputFormat.JSON:
        emit_json({"action": verb, "events": count})
    else:
        typer.echo(f"{verb}: {count} event(s)")


@app.command()
def replay(
    db: DbOption,
    event_id: IdOption = None,
    key: KeyOption = None,
    topic: TopicOption = None,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Put dead events back to pending with a fresh attempt count (per event or per key)."""
    _act("replay", db, event_id=event_id, topic=topic, key=key, fmt=fmt)


@app.command()
def skip(
    db: DbOption,
    event_id: IdOption = None,
    key: KeyOption = None,
    topic: TopicOption = None,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Give up dead events (kept as `skipped`) so the rest of their key is published."""
    _act("skip", db, event_id=event_id, topic=topic, key=key, fmt=fmt)
