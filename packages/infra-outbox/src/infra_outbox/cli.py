"""The ``infra-outbox`` command."""

from __future__ import annotations

from typing import Annotated

import typer

from infra_models.cli import is_quiet, make_app
from infra_outbox import cli_db, cli_dead
from infra_outbox.__about__ import __version__
from infra_outbox._cli_common import DbOption, FormatOption, OutputFormat, emit_json, guarded, open_db

__all__ = ["app", "main"]

app = make_app(
    "infra-outbox", __version__, help="Transactional outbox on SQLAlchemy, relayed to Kafka with confluent-kafka."
)
app.add_typer(cli_db.app, name="db", help=cli_db.__doc__)
app.add_typer(cli_dead.app, name="dead", help=cli_dead.__doc__)


@app.command()
def relay(  # noqa: PLR0917 - typer maps parameters to options
    db: DbOption,
    bootstrap_servers: Annotated[
        str,
        typer.Option(
            "--bootstrap-servers", envvar="INFRA_OUTBOX_BOOTSTRAP", show_envvar=True, help="Kafka bootstrap servers."
        ),
    ],
    once: Annotated[bool, typer.Option("--once", help="Publish what is committed now, then exit.")] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=100_000, help="Events per page.")] = 1000,
    lease: Annotated[float, typer.Option("--lease", min=3.0, help="Shard lease in seconds.")] = 60.0,
    max_attempts: Annotated[int, typer.Option("--max-attempts", min=1, help="Attempts before DEAD.")] = 10,
    dead_letter_topic: Annotated[
        str | None, typer.Option("--dead-letter-topic", help="Also copy dead events to this (existing) topic.")
    ] = None,
    retention: Annotated[
        float, typer.Option("--retention", min=0.0, help="Seconds to keep read events before retiring them.")
    ] = 3600.0,
    no_notify: Annotated[
        bool, typer.Option("--no-notify", help="Poll only; do not LISTEN for writers' NOTIFY (PostgreSQL).")
    ] = False,
    metrics_port: Annotated[
        int | None,
        typer.Option("--metrics-port", min=1, max=65535, help="Serve Prometheus metrics on this port (metrics extra)."),
    ] = None,
    metrics_addr: Annotated[
        str,
        typer.Option("--metrics-addr", help="Address the metrics server listens on (0.0.0.0: every interface)."),
    ] = "127.0.0.1",
    broker_timeout: Annotated[
        float, typer.Option("--broker-timeout", min=0.1, help="Seconds to wait for the broker per attempt.")
    ] = 10.0,
    fmt: FormatOption = OutputFormat.TEXT,
    *,
    ctx: typer.Context,
) -> None:
    """Relay committed events to Kafka (until SIGINT/SIGTERM, or once with --once)."""
    import logging

    from infra_outbox.relay_cli import run_relay

    root = logging.getLogger()
    if not is_quiet(ctx) and root.level > logging.INFO:
        root.setLevel(logging.INFO)  # a relay reports its start, progress and stop unless -q
    summary = run_relay(
        db=db,
        bootstrap_servers=bootstrap_servers,
        once=once,
        batch_size=batch_size,
        lease=lease,
        max_attempts=max_attempts,
        dead_letter_topic=dead_letter_topic,
        retention=retention,
        notify=not no_notify,
        metrics_port=metrics_port,
        broker_timeout=broker_timeout,
        metrics_addr=metrics_addr,
    )
    if summary is None:
        return
    if fmt is OutputFormat.JSON:
        emit_json(summary)
    else:
        typer.echo(", ".join(f"{k}: {v}" for k, v in summary.items()))
    if summary["dead"] or summary["retried"]:
        raise typer.Exit(1)


@app.command()
def stats(db: DbOption, fmt: FormatOption = OutputFormat.TEXT) -> None:
    """Pending, in flight, failed, dead, oldest pending age, and events published in the last minute."""
    from infra_outbox.admin import outbox_stats

    with guarded():
        data = outbox_stats(open_db(db)).to_dict()
    if fmt is OutputFormat.JSON:
        emit_json(data)
        return
    from rich.table import Table

    from infra_models.cli import console

    table = Table("metric", "value", title="infra-outbox")
    for name, value in data.items():
        shown = "-" if value is None else (f"{value:.1f}" if isinstance(value, float) else str(value))
        table.add_row(name.replace("_", " "), shown)
    console().print(table)


@app.command()
def cleanup(
    db: DbOption,
    retention: Annotated[
        float, typer.Option("--retention", min=0.0, help="Retire read events older than this (s), as relay's.")
    ] = 3600.0,
    fmt: FormatOption = OutputFormat.TEXT,
    older_than: Annotated[
        float | None, typer.Option("--older-than", min=0.0, hidden=True, help="Deprecated: --retention.")
    ] = None,
) -> None:
    """Retire read events past the retention (a partition TRUNCATE on PostgreSQL) and old skipped events."""
    from infra_outbox.admin import cleanup as run_cleanup

    with guarded():
        retired = run_cleanup(open_db(db), retention_seconds=retention if older_than is None else older_than)
    if fmt is OutputFormat.JSON:
        emit_json({"retired": retired})
    else:
        typer.echo(f"retired {retired} event(s)")


def main() -> None:
    """Entry point of the ``infra-outbox`` script."""
    app(prog_name="infra-outbox")
