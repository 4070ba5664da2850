"""The ``infra-security`` command: the root Typer app and its sub-apps."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from infra_security.__about__ import __version__

__all__ = ["app", "main"]

app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    help="Payload encryption, tamper-evident audit log, Vault/OpenBao credentials, rate limiting and TLS policy.",
)


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


# Sub-apps: each module imports only typer at top level; heavy libraries load inside the commands.
from infra_security.cli import _audit, _credentials, _keys, _payload, _ratelimit, _tls  # noqa: E402

app.add_typer(_keys.app, name="keys", help="Generate, rotate, list and disable encryption keys; rewrap.")
app.add_typer(_audit.app, name="audit", help="Verify and report on the tamper-evident audit log.")
app.add_typer(_payload.app, name="payload", help="Encrypt and decrypt JSON payloads with a keyset file.")
app.add_typer(_tls.app, name="tls", help="Inspect certificates and check TLS endpoints against a profile.")
app.add_typer(_credentials.app, name="credentials", help="Read credentials from Vault/OpenBao.")
app.add_typer(_ratelimit.app, name="ratelimit", help="Try rate-limit policies.")


def main() -> None:
    """Entry point of the ``infra-security`` script: every error is one ``error:`` line, never a traceback.

    Commands handle their expected errors (one line, exit 2). Usage errors (unknown option, bad value) are printed
    as one line too, with exit 2. Anything that still escapes is reported as one line naming the exception, with
    exit 2 (``INFRA_SECURITY_DEBUG=1`` re-raises it, for a traceback).
    """
    try:
        code = app(prog_name="infra-security", standalone_mode=False)
    except typer.Abort:
        _one_line("aborted")
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        _one_line("interrupted")
        raise SystemExit(130) from None
    except Exception as exc:
        # Click's exceptions (Typer vendors its own copy of click, so they are recognised by shape): usage
        # errors are bad input, exit 2; "no arguments" shows the help as click does.
        if callable(getattr(exc, "format_message", None)) and isinstance(getattr(exc, "exit_code", None), int):
            if type(exc).__name__ == "NoArgsIsHelpError":
                exc.show()  # type: ignore[attr-defined]
                raise SystemExit(exc.exit_code) from None  # type: ignore[attr-defined]
            ctx = getattr(exc, "ctx", None)
            hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
            _one_line(f"{exc.format_message()}{hint}")  # type: ignore[attr-defined]
            raise SystemExit(2) from None
        if os.environ.get("INFRA_SECURITY_DEBUG"):
            raise
        # The last line of defence: a bug must not print a traceback at a user.
        _one_line(f"{type(exc).__name__}: {exc} (set INFRA_SECURITY_DEBUG=1 for details)")
        raise SystemExit(2) from None
    raise SystemExit(code if isinstance(code, int) else 0)


def _one_line(message: str) -> None:
    text = " ".join(message.split())[:500] or "unknown error"
    sys.stderr.write(f"error: {text}\n")
