"""The ``infra-security`` command line; each sub-command imports its room only when it runs."""

from __future__ import annotations

from infra_security.cli._app import app, main

__all__ = ["app", "main"]
