"""Shared pieces of the CLI modules: options, output format, and turning errors into exit codes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from infra_models.cli import CliError, FormatOption, OutputFormat, emit
from infra_outbox.errors import OutboxError

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["DbOption", "FormatOption", "OutputFormat", "abort", "emit_json", "guarded", "open_db"]


DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="INFRA_OUTBOX_DB",
        help="SQLAlchemy URL of the database (postgresql+psycopg://... or sqlite:///file.db).",
        show_envvar=True,
    ),
]


def abort(message: str, code: int = 2, *, hint: str | None = None, error_code: str = "usage") -> NoReturn:
    """Stop with the kit's report: the JSON envelope under ``--format json``, else one stderr line; exit ``code``."""
    raise CliError(message, code=error_code, hint=hint, exit_code=code)


@contextmanager
def guarded(exit_code: int = 2, when: Callable[[OutboxError], int] | None = None) -> Iterator[None]:
    """Turn expected errors into one line on stderr and an exit code (2 by default), never a traceback."""
    try:
        yield
    except OutboxError as exc:
        hint = exc.details.get("hint") if isinstance(exc.details.get("hint"), str) else None
        if hint is None and exc.code == "outbox.schema_missing" and "db init" not in exc.message:
            hint = "run `infra-outbox db init --db URL` once (or add infra_outbox.metadata to your migrations)"
        abort(exc.message, when(exc) if when else exit_code, hint=hint, error_code=exc.code)
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
    emit(data, OutputFormat.JSON)
