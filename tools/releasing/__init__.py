"""Release tooling of the infra monorepo, driven by `python tools/release.py` (see docs/releasing.md)."""

from __future__ import annotations

__all__: list[str] = []
