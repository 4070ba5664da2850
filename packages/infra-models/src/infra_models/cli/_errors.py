"""How every infra CLI reports a failure: exit codes, the JSON error envelope, and one line on stderr."""

from __future__ import annotations

import json
import sys
from enum import IntEnum
from typing import Any, TextIO

__all__ = ["CliError", "ExitCode", "error_envelope", "report_error", "wants_json"]


class ExitCode(IntEnum):
    """The exit-code policy of every infra CLI."""

    OK = 0
    FINDINGS = 1  # a check or verification found a problem
    USAGE = 2  # usage or input error: a bad option, a missing file, input that cannot be read


class CliError(Exception):
    """An expected failure a command reports as one line (or the JSON envelope) and an exit code, no traceback."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "usage",
        hint: str | None = None,
        exit_code: int = ExitCode.USAGE,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Describe what is wrong (``message``), how to fix it (``hint``) and a stable machine ``code``."""
        super().__init__(message)
        self.message = message
        self.code = code
        self.hint = hint
        self.exit_code = int(exit_code)
        self.details = details or {}


def wants_json(argv: list[str]) -> bool:
    """True when the command line asks for JSON output (``-f json``, ``--format json``, ``--format=json``, ``-fjson``).

    Read from the raw arguments so that even an error found while parsing them is reported in the asked format.
    """
    for i, arg in enumerate(argv):
        if arg == "--":
            return False
        if arg in {"-f", "--format"} and i + 1 < len(argv) and argv[i + 1].lower() == "json":
            return True
        if arg.lower() in {"--format=json", "-fjson", "-f=json"}:
            return True
    return False


def error_envelope(code: str, message: str, hint: str | None, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON error document: ``{"error": {"code", "message", "hint"}}`` (plus ``details`` when there are any)."""
    error: dict[str, Any] = {"code": code, "message": message, "hint": hint}
    if details:
        error["details"] = details
    return {"error": error}


def one_line(text: str) -> str:
    """Collapse a possibly multi-line message into one line."""
    return "; ".join(part.strip() for part in text.splitlines() if part.strip())


def report_error(
    code: str,
    message: str,
    hint: str | None,
    *,
    json_mode: bool,
    details: dict[str, Any] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> None:
    """Print an error: the JSON envelope on stdout in JSON mode, else one ``error: ...`` line on stderr."""
    if json_mode:
        out = stdout or sys.stdout
        out.write(json.dumps(error_envelope(code, message, hint, details), indent=2, default=str) + "\n")
        out.flush()
        return
    line = f"error: {one_line(message)}"
    if hint:
        line += f" (hint: {one_line(hint)})"
    err = stderr or sys.stderr
    err.write(line + "\n")
    err.flush()
