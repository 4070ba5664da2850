"""The ``infra-readiness`` command."""

from __future__ import annotations

from typing import Annotated

import typer

from infra_readiness.__about__ import __version__

__all__ = ["app", "main"]

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Production-readiness checks that rate a node or package NOT_READY to PRODUCTION.")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"infra-readiness {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Production-readiness checks that rate a node or package NOT_READY to PRODUCTION."""


def main() -> None:
    """Entry point of the ``infra-readiness`` script."""
    app()
