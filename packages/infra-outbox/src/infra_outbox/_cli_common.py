"""Shared pieces of the CLI modules: options, output format, and turning errors into exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from infra_outbox.errors import OutboxError

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["DbOption", "FormatOption", "OutputFormat", "abort", "emit_json", "guarded", "open_db"]


class OutputFormat(StrEnum):
    """How a command prints its data."""

    text = "text"
    json = "json"


DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="INFRA_OUTBOX_DB",
        help="SQLAlchemy URL of the database (postgresql+psycopg://... or sqlite:///file.db).",
        show_envvar=True,
    ),
]
FormatOption = Annotated[OutputFormat, typer.Option("--format", help="Output format.")]


def abort(message: str, code: int = 2) -> NoReturn:
    """Print one error line to stderr and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def guarded(exit_code: int = 2, when: Callable[[OutboxError], int] | None = None) -> Iterator[None]:
    """Turn expected errors into one line on stderr and an exit code (2 by default), never a traceback."""
    try:
        yield
    except OutboxError as exc:
        abort(exc.message, when(exc) if when else exit_code)
    except ValueError as exc:
        abort(str(exc), 2)


def open_db(url: str, *, schema: bool = True) -> Engine:
    """Connect to ``url`` (and check the outbox schema), raising OutboxError on a problem."""
    from infra_outbox.db import check_schema, connect

    engine = connect(url)
    if schema:
        check_schema(engine)
    return engine


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
