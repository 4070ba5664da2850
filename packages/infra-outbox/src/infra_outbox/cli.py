"""The ``infra-outbox`` command."""

from __future__ import annotations

import signal
from typing import Annotated, Any

import typer

from infra_outbox import cli_db, cli_dead
from infra_outbox.__about__ import __version__
from infra_outbox._cli_common import DbOption, FormatOption, OutputFormat, emit_json, guarded, open_db

__all__ = ["app", "main"]

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Transactional outbox on SQLAlchemy, relayed to Kafka with confluent-kafka.",
)
app.add_typer(cli_db.app, name="db", help=cli_db.__doc__)
app.add_typer(cli_dead.app, name="dead", help=cli_dead.__doc__)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"infra-outbox {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Transactional outbox on SQLAlchemy, relayed to Kafka with confluent-kafka."""


@app.command()
def relay(  # noqa: PLR0917 - typer maps parameters to options
    db: DbOption,
    bootstrap_servers: Annotated[
        str,
        typer.Option(
            "--bootstrap-servers", envvar="INFRA_OUTBOX_BOOTSTRAP", show_envvar=True, help="Kafka bootstrap servers."
        ),
    ],
    once: Annotated[bool, typer.Option("--once", help="Publish what is pending now, then exit.")] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=100_000, help="Events per claim.")] = 1000,
    lease: Annotated[float, typer.Option("--lease", min=1.0, help="Claim lease in seconds.")] = 60.0,
    max_attempts: Annotated[int, typer.Option("--max-attempts", min=1, help="Attempts before DEAD.")] = 10,
    dead_letter_topic: Annotated[
        str | None, typer.Option("--dead-letter-topic", help="Also copy dead events to this topic.")
    ] = None,
    retention: Annotated[
        float, typer.Option("--retention", min=0.0, help="Seconds to keep published events (0: delete at once).")
    ] = 3600.0,
    no_notify: Annotated[
        bool, typer.Option("--no-notify", help="Poll only; do not LISTEN for writers' NOTIFY (PostgreSQL).")
    ] = False,
    metrics_port: Annotated[
        int | None, typer.Option("--metrics-port", help="Serve Prometheus metrics on this port (metrics extra).")
    ] = None,
    broker_timeout: Annotated[
        float, typer.Option("--broker-timeout", min=0.1, help="Seconds to wait for the broker at start.")
    ] = 10.0,
    fmt: FormatOption = OutputFormat.text,
) -> None:
    """Relay pending events to Kafka (until SIGINT/SIGTERM, or once with --once)."""
    import logging

    from infra_models.kafka import KafkaProducerConfig
    from infra_outbox.backoff import Backoff
    from infra_outbox.relay import Relay, RelaySettings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with guarded():
        try:
            kafka = KafkaProducerConfig(
                bootstrap_servers=bootstrap_servers, message_timeout_ms=int(min(30.0, lease / 2) * 1000)
            )
        except ValueError as exc:
            raise typer.BadParameter(str(exc).splitlines()[-1], param_hint="--bootstrap-servers") from None
        settings = RelaySettings(
            batch_size=batch_size,
            lease_seconds=lease,
            backoff=Backoff(max_attempts=max_attempts),
            dead_letter_topic=dead_letter_topic,
            retention_seconds=retention,
            notify=not no_notify,
        )
        metrics = None
        if metrics_port is not None:
            from infra_outbox.metrics import RelayMetrics

            metrics = RelayMetrics()
            from prometheus_client import start_http_server

            start_http_server(metrics_port, addr="127.0.0.1")
        worker = Relay(open_db(db), kafka, settings=settings, metrics=metrics)
        worker.check_broker(timeout=broker_timeout)
        for name, count in worker.missing_topics(timeout=broker_timeout).items():
            typer.echo(
                f"warning: {count} pending event(s) for topic {name!r}, which does not exist on the broker: "
                f"create it (they are retried, then go DEAD after {max_attempts} attempts)",
                err=True,
            )
        if once:
            report = worker.drain()
            worker.housekeeping(force=True)
            worker.close()
            summary: dict[str, Any] = {
                "claimed": report.claimed,
                "published": report.published,
                "retried": report.retried,
                "dead": report.dead,
                "released": report.released,
                "fenced": report.fenced,
            }
            if fmt is OutputFormat.json:
                emit_json(summary)
            else:
                typer.echo(", ".join(f"{k}: {v}" for k, v in summary.items()))
            if report.dead or report.retried:
                raise typer.Exit(1)
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: worker.stop())
        worker.run()
        worker.close()


@app.command()
def stats(db: DbOption, fmt: FormatOption = OutputFormat.text) -> None:
    """Pending, in flight, failed, dead, oldest pending age, and events published in the last minute."""
    from infra_outbox.admin import outbox_stats

    with guarded():
        data = outbox_stats(open_db(db)).to_dict()
    if fmt is OutputFormat.json:
        emit_json(data)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("metric", "value", title="infra-outbox")
    for name, value in data.items():
        shown = "-" if value is None else (f"{value:.1f}" if isinstance(value, float) else str(value))
        table.add_row(name.replace("_", " "), shown)
    Console().print(table)


@app.command()
def cleanup(
    db: DbOption,
    older_than: Annotated[
        float, typer.Option("--older-than", min=0.0, help="Delete published/skipped events older than this (s).")
    ] = 3600.0,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Rows deleted per transaction.")] = 1000,
    fmt: FormatOption = OutputFormat.text,
) -> None:
    """Delete published and skipped events past the retention, in bounded batches (dead events are kept)."""
    from infra_outbox.admin import cleanup as run_cleanup

    with guarded():
        deleted = run_cleanup(open_db(db), retention_seconds=older_than, batch_size=batch_size)
    if fmt is OutputFormat.json:
        emit_json({"deleted": deleted})
    else:
        typer.echo(f"deleted {deleted} event(s)")


def main() -> None:
    """Entry point of the ``infra-outbox`` script."""
    app()
