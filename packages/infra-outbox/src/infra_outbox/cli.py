"""The ``infra-outbox`` command."""

from __future__ import annotations

from typing import Annotated

import typer

from infra_outbox.__about__ import __version__

__all__ = ["app", "main"]

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Transactional outbox on SQLAlchemy, relayed to Kafka with confluent-kafka.")


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


def main() -> None:
    """Entry point of the ``infra-outbox`` script."""
    app()
