"""The CLI kit every infra command line is built on, and the ``infra-models`` command itself.

Install with ``pip install 'infra-models[cli]'`` (typer and rich). ``import infra_models`` never imports this
package; importing it loads typer only when a kit name is read.

Example (a package's ``cli/__init__.py``):
    >>> # from infra_models.cli import FormatOption, OutputFormat, emit, make_app, run
    >>> # app = make_app("infra-outbox", __version__, help="Transactional outbox.")
    >>> # @app.command()
    >>> # def stats(fmt: FormatOption = OutputFormat.TEXT) -> None:
    >>> #     emit({"pending": 0}, fmt, text="pending: 0")
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from infra_models.lazy import lazy_exports

if TYPE_CHECKING:
    from infra_models.cli._app import InfraGroup, is_quiet, make_app
    from infra_models.cli._command import app
    from infra_models.cli._errors import CliError, ExitCode, error_envelope, report_error, wants_json
    from infra_models.cli._output import (
        FormatOption,
        OutputDirOption,
        OutputFileOption,
        OutputFormat,
        configure_logging,
        console,
        emit,
        progress,
    )

__all__ = [
    "CliError",
    "ExitCode",
    "FormatOption",
    "InfraGroup",
    "OutputDirOption",
    "OutputFileOption",
    "OutputFormat",
    "app",
    "configure_logging",
    "console",
    "emit",
    "error_envelope",
    "is_quiet",
    "main",
    "make_app",
    "progress",
    "report_error",
    "require_cli_extra",
    "wants_json",
]

_LAZY = {
    "CliError": "infra_models.cli._errors",
    "ExitCode": "infra_models.cli._errors",
    "error_envelope": "infra_models.cli._errors",
    "report_error": "infra_models.cli._errors",
    "wants_json": "infra_models.cli._errors",
    "FormatOption": "infra_models.cli._output",
    "OutputDirOption": "infra_models.cli._output",
    "OutputFileOption": "infra_models.cli._output",
    "OutputFormat": "infra_models.cli._output",
    "configure_logging": "infra_models.cli._output",
    "console": "infra_models.cli._output",
    "emit": "infra_models.cli._output",
    "progress": "infra_models.cli._output",
    "InfraGroup": "infra_models.cli._app",
    "is_quiet": "infra_models.cli._app",
    "make_app": "infra_models.cli._app",
    "app": "infra_models.cli._command",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)

MISSING_EXTRA = "error: the {name} command needs the CLI libraries: pip install 'infra-models[cli]' (typer and rich)\n"


def require_cli_extra(name: str, version: str | None = None) -> None:
    """Without typer or rich (a library-only install): answer --version/--help, else exit 2 with the install hint."""
    try:
        import rich  # noqa: F401
        import typer  # noqa: F401
    except ImportError:
        args = sys.argv[1:]
        if version is not None and args == ["--version"]:
            sys.stdout.write(f"{name} {version}\n")
            raise SystemExit(0) from None
        if args in (["--help"], ["-h"]):
            sys.stdout.write(f"Usage: {name} [OPTIONS] COMMAND [ARGS]...\n\n" + MISSING_EXTRA.format(name=name)[7:])
            raise SystemExit(0) from None
        sys.stderr.write(MISSING_EXTRA.format(name=name))
        raise SystemExit(2) from None


def main() -> None:
    """Entry point of the ``infra-models`` script."""
    from infra_models.__about__ import __version__

    require_cli_extra("infra-models", __version__)
    from infra_models.cli._command import app

    app()
