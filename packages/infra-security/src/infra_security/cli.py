"""The ``infra-security`` command."""

from __future__ import annotations

from typing import Annotated

import typer

from infra_security.__about__ import __version__

__all__ = ["app", "main"]

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Payload encryption, tamper-evident audit log, Vault/OpenBao credentials, rate limiting and TLS policy.")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"infra-security {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Payload encryption, tamper-evident audit log, Vault/OpenBao credentials, rate limiting and TLS policy."""


def main() -> None:
    """Entry point of the ``infra-security`` script."""
    app()
