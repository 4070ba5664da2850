"""The ``infra-gen`` command."""

from __future__ import annotations

from typing import Annotated

import typer

from infra_gen.__about__ import __version__

__all__ = ["app", "main"]

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Scaffolds ONEX nodes (EFFECT, COMPUTE, REDUCER, ORCHESTRATOR) from cookiecutter templates.",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"infra-gen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Scaffolds ONEX nodes (EFFECT, COMPUTE, REDUCER, ORCHESTRATOR) from cookiecutter templates."""


def main() -> None:
    """Entry point of the ``infra-gen`` script."""
    app()
