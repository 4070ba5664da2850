"""The application every infra CLI is built on: `make_app` gives a typer app with the shared conventions.

The root group owns error handling (hatch's "one application object owns output and abort"): a `CliError`, an
`InfraError` or a usage error becomes the JSON envelope on stdout under ``--format json`` and one ``error:`` line on
stderr otherwise, with exit code 2 (or the error's own), never a traceback.
"""

# No `from __future__ import annotations`: typer evaluates the callback's annotations, which name a closure.

import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

try:  # typer 0.29+ carries its own copy of click; older releases use click itself
    from typer import _click as click
except ImportError:  # pragma: no cover - older typer
    import click  # type: ignore[no-redef]

from infra_models.cli._errors import CliError, ExitCode, report_error, wants_json
from infra_models.cli._output import configure_logging

__all__ = ["InfraGroup", "is_quiet", "make_app"]

# Abort lives in typer itself on releases that carry their own click, in click on older ones.
_ABORTS: tuple[type[BaseException], ...] = tuple({typer.Abort, getattr(click.exceptions, "Abort", typer.Abort)})

CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 120}


class InfraGroup(TyperGroup):
    """The root command group of an infra CLI: turns expected errors into the shared report and exit code."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the CLI; in standalone mode exit with the shared exit-code policy."""
        argv = list(sys.argv[1:] if args is None else args)
        _hide_flag_metavars(self)
        code = self._run(argv, prog_name, complete_var, **extra)
        if standalone_mode:
            sys.exit(int(code))
        return code

    def _run(self, argv: list[str], prog_name: str | None, complete_var: str | None, **extra: Any) -> int:
        from infra_models.errors import InfraError

        json_mode = wants_json(argv)
        try:
            result = super().main(
                args=argv, prog_name=prog_name, complete_var=complete_var, standalone_mode=False, **extra
            )
        except CliError as exc:
            report_error(exc.code, exc.message, exc.hint, json_mode=json_mode, details=exc.details)
            return int(exc.exit_code)
        except InfraError as exc:
            hint = exc.details.get("hint") if isinstance(exc.details.get("hint"), str) else None
            report_error(exc.code, exc.message, hint, json_mode=json_mode, details=exc.details or None)
            return int(ExitCode.USAGE)
        except click.exceptions.UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # a group run without a command: its help is the answer
                message = exc.format_message()  # empty when rich already printed the help
                if message:
                    sys.stderr.write(message + "\n")
                return int(ExitCode.USAGE)
            where = exc.ctx.command_path if exc.ctx is not None else (prog_name or self.name or "")
            report_error("usage", exc.format_message(), f"run `{where} --help`", json_mode=json_mode)
            return int(ExitCode.USAGE)
        except click.exceptions.ClickException as exc:  # e.g. a file that click could not open
            report_error("input", exc.format_message(), None, json_mode=json_mode)
            return int(ExitCode.USAGE)
        except _ABORTS:
            report_error("aborted", "aborted", None, json_mode=json_mode)
            return int(ExitCode.FINDINGS)
        return int(result) if isinstance(result, int) else int(ExitCode.OK)


def make_app(name: str, version: str, help: str | None = None) -> typer.Typer:
    """A typer app named ``name`` with --version, -q/-v, completion, -h, and the shared error handling."""
    app = typer.Typer(
        cls=InfraGroup,
        name=name,
        help=help,
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
        context_settings=CONTEXT_SETTINGS,
    )

    def show_version(value: bool) -> None:
        if value:
            typer.echo(f"{name} {version}")
            raise typer.Exit()

    @app.callback()
    def root(
        ctx: typer.Context,
        show: Annotated[
            bool,
            typer.Option("--version", callback=show_version, is_eager=True, help="Print the version and exit."),
        ] = False,
        verbose: Annotated[
            int,
            typer.Option(
                "-v", "--verbose", count=True, metavar="", show_default=False, help="Log more: -v info, -vv debug."
            ),
        ] = 0,
        quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Log errors only; no progress bars.")] = False,
    ) -> None:
        if quiet and verbose:
            raise CliError("-q/--quiet and -v/--verbose contradict each other", hint="pass one of them")
        configure_logging(verbose, quiet)
        ctx.meta["infra.quiet"] = quiet

    root.__doc__ = help
    return app


def is_quiet(ctx: typer.Context) -> bool:
    """True when the running command was started with -q/--quiet."""
    return bool(ctx.meta.get("infra.quiet", False))


def _hide_flag_metavars(command: Any) -> None:
    """Show flags as flags: some typer releases print ``<bool>`` after every flag, ``--help`` included."""
    if getattr(command, "_infra_flags_done", False):
        return
    command._infra_flags_done = True
    ctx = click.Context(command, help_option_names=CONTEXT_SETTINGS["help_option_names"])
    params = list(command.params)
    help_option = command.get_help_option(ctx)
    if help_option is not None:
        params.append(help_option)
    for param in params:
        if getattr(param, "is_flag", False) and getattr(param, "metavar", "") is None:
            param.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        _hide_flag_metavars(sub)
