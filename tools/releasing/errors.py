"""The two ways a release command fails: bad input (exit 2) or findings (exit 1)."""

from __future__ import annotations

__all__ = ["FindingsError", "UsageError"]


class UsageError(Exception):
    """Bad input or a broken repository state; the CLI prints it and exits 2."""


class FindingsError(Exception):
    """A check ran and found problems; the CLI prints them and exits 1."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []
