"""Report renderers: rich text, Markdown for pull requests, SARIF 2.1.0 for code-scanning dashboards."""

from __future__ import annotations

__all__: list[str] = []
