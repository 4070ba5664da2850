"""The built-in checks, registered through the ``infra_readiness.checks`` entry point like any plugin."""

from __future__ import annotations

__all__: list[str] = []
