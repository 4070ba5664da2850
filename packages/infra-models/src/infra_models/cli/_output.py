"""Output every infra CLI shares: the --format/-o options, writing results, logging levels, consoles, progress."""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

__all__ = [
    "FormatOption",
    "OutputDirOption",
    "OutputFileOption",
    "OutputFormat",
    "configure_logging",
    "console",
    "emit",
    "progress",
]

# Wide enough that rich never cuts or wraps a line when the output is a pipe or a file.
UNBOUNDED_WIDTH = 100_000


class OutputFormat(StrEnum):
    """The two output formats every data-printing command offers."""

    TEXT = "text"
    JSON = "json"


FormatOption = Annotated[
    OutputFormat, typer.Option("-f", "--format", help="Output format: text or json.", case_sensitive=False)
]
"""The ``-f/--format text|json`` option."""

OutputFileOption = Annotated[
    Path | None,
    typer.Option("-o", "--output", help="Write the result to this file instead of stdout.", dir_okay=False),
]
"""The ``-o/--output FILE`` option."""

OutputDirOption = Annotated[
    Path | None, typer.Option("-o", "--output", help="Write the files into this folder.", file_okay=False)
]
"""The ``-o/--output DIR`` option, for commands that write several files."""


def emit(
    data: Any,
    fmt: OutputFormat | str = OutputFormat.TEXT,
    *,
    text: str | Callable[[], str] | None = None,
    output: Path | None = None,
) -> None:
    """Print ``data`` as JSON, or ``text`` (default ``str(data)``), to stdout or atomically to ``output``."""
    if OutputFormat(fmt) is OutputFormat.JSON:
        rendered = json.dumps(data, indent=2, default=str, ensure_ascii=False)
    elif text is None:
        rendered = str(data)
    else:
        rendered = text() if callable(text) else text
    if not rendered.endswith("\n"):
        rendered += "\n"
    if output is None:
        sys.stdout.write(rendered)
        sys.stdout.flush()
        return
    _write_atomically(output, rendered)


def _write_atomically(path: Path, text: str) -> None:
    from infra_models.cli._errors import CliError

    folder = path.parent if str(path.parent) else Path()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    except OSError as exc:
        raise CliError(
            f"cannot write {path}: {exc.strerror}", code="output.unwritable", hint="choose a writable path with -o"
        ) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        Path(tmp).replace(path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise CliError(
            f"cannot write {path}: {exc.strerror}", code="output.unwritable", hint="choose a writable path with -o"
        ) from exc


_HANDLER_NAME = "infra-cli"


def configure_logging(verbose: int = 0, quiet: bool = False) -> int:
    """Map ``-q`` / ``-v`` / ``-vv`` to logging levels ERROR / INFO / DEBUG (default WARNING) on stderr."""
    level = logging.ERROR if quiet else {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    return level


def console(*, stderr: bool = False) -> Console:
    """A rich console: the terminal's width on a terminal, never cut or wrapped when writing to a pipe or a file."""
    from rich.console import Console

    made = Console(stderr=stderr)
    if made.is_terminal:
        return made
    return Console(stderr=stderr, width=UNBOUNDED_WIDTH, no_color=True, soft_wrap=True, highlight=False)


def progress(*, quiet: bool = False) -> Progress:
    """A rich progress bar on stderr, shown only on a terminal and not under ``-q``."""
    from rich.progress import Progress

    shown = console(stderr=True)
    return Progress(console=shown, transient=True, disable=quiet or not shown.is_terminal)
