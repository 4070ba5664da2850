"""Human output with rich: one node in full, or a summary table for many."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape as _escape
from rich.table import Table

from infra_models.readiness import CheckStatus, ReadinessReport
from infra_readiness.render._safe import safe_text

__all__ = ["render_text"]

_STYLE = {
    CheckStatus.PASS: "green",
    CheckStatus.FAIL: "red",
    CheckStatus.ERROR: "bold red",
    CheckStatus.WAIVED: "yellow",
    CheckStatus.SKIP: "dim",
}
_LEVEL_STYLE = {"NOT_READY": "bold red", "DEVELOPMENT": "yellow", "STAGING": "cyan", "PRODUCTION": "bold green"}


def escape(text: str) -> str:
    """Rich markup escaped and control characters made visible (file names can hold terminal escapes)."""
    return _escape(safe_text(text))


def _headline(report: ReadinessReport) -> str:
    kind = report.kind.value if report.kind else "package"
    level = f"[{_LEVEL_STYLE[report.level.value]}]{report.level.value}[/]"
    target = ""
    if report.target_level is not None:
        mark = "[green]met[/]" if report.meets_target else "[red]not met[/]"
        target = f"   target [bold]{report.target_level.value}[/] ({mark})"
    return f"[bold]{escape(report.name)}[/] ({kind}, {escape(report.path)})   level {level}{target}"


def _detail(console: Console, report: ReadinessReport) -> None:
    console.print(_headline(report))
    table = Table(show_header=True, header_style="bold", expand=False)
    for column in ("check", "status", "gates", "title", "details"):
        table.add_column(column, overflow="fold")
    for c in report.checks:
        where = next((f"{f.file}:{f.line}" if f.line else f.file for f in c.findings if f.file), "")
        detail = c.waiver_reason if c.status is CheckStatus.WAIVED else c.message
        if where and c.status in (CheckStatus.FAIL, CheckStatus.ERROR):
            detail = f"{detail} ({where})"
        table.add_row(
            c.check_id, f"[{_STYLE[c.status]}]{c.status.value}[/]", c.gates.value, escape(c.title), escape(detail or "")
        )
    console.print(table)
    if report.blockers:
        console.print(f"[bold]Blockers to the next level:[/] {escape(', '.join(report.blockers))}")
    for line in report.recommendations:
        console.print(f"  • {escape(line)}", highlight=False)


def render_text(reports: Sequence[ReadinessReport], console: Console) -> None:
    """Print ``reports``: every check of a single node, or one line per node for several."""
    if len(reports) == 1:
        _detail(console, reports[0])
        return
    table = Table(show_header=True, header_style="bold")
    for column in ("node", "kind", "level", "target", "blockers"):
        table.add_column(column, overflow="fold")
    for r in reports:
        target = "" if r.target_level is None else r.target_level.value
        table.add_row(
            escape(r.path),
            r.kind.value if r.kind else "package",
            f"[{_LEVEL_STYLE[r.level.value]}]{r.level.value}[/]",
            target,
            escape(", ".join(r.blockers)),
        )
    console.print(table)
    counts: dict[str, int] = {}
    for r in reports:
        counts[r.level.value] = counts.get(r.level.value, 0) + 1
    console.print(", ".join(f"{n} {level}" for level, n in counts.items()) + f" ({len(reports)} nodes)")
