"""The ``infra-security`` command: the root Typer app and its sub-apps."""

from __future__ import annotations

import os
import sys

from infra_models.cli import make_app
from infra_security.__about__ import __version__

__all__ = ["app", "main"]

app = make_app(
    "infra-security",
    __version__,
    help="Payload encryption, tamper-evident audit log, Vault/OpenBao credentials, rate limiting and TLS policy.",
)


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

    The CLI kit reports expected errors (one line, or the JSON envelope under ``--format json``) with exit 2, and
    usage errors the same way. Anything that still escapes is reported as one line naming the exception, with
    exit 2 (``INFRA_SECURITY_DEBUG=1`` re-raises it, for a traceback).
    """
    try:
        app(prog_name="infra-security")
    except KeyboardInterrupt:
        _one_line("interrupted")
        raise SystemExit(130) from None
    except Exception as exc:
        if os.environ.get("INFRA_SECURITY_DEBUG"):
            raise
        # The last line of defence: a bug must not print a traceback at a user.
        _one_line(f"{type(exc).__name__}: {exc} (set INFRA_SECURITY_DEBUG=1 for details)")
        raise SystemExit(2) from None


def _one_line(message: str) -> None:
    text = " ".join(message.split())[:500] or "unknown error"
    sys.stderr.write(f"error: {text}\n")
