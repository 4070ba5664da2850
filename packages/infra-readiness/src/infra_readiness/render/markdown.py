"""Markdown for a pull-request comment: a summary table, then each node's blockers, issues and recommendations."""

from __future__ import annotations

from collections.abc import Sequence

from infra_models.readiness import CheckStatus, ReadinessReport
from infra_readiness.render._safe import safe_text

__all__ = ["render_markdown"]

_MARK = {
    CheckStatus.PASS: "✅ PASS",
    CheckStatus.FAIL: "❌ FAIL",
    CheckStatus.ERROR: "💥 ERROR",
    CheckStatus.WAIVED: "⚠️ WAIVED",
    CheckStatus.SKIP: "SKIP",
}


def _cell(text: str) -> str:
    return safe_text(text.replace("\n", " ")).replace("|", "\\|")


def _target(report: ReadinessReport) -> str:
    if report.target_level is None:
        return "-"
    return f"{report.target_level.value} {'✅' if report.meets_target else '❌'}"


def render_markdown(reports: Sequence[ReadinessReport]) -> str:
    """The Markdown text of ``reports``."""
    lines = [
        "## Production readiness",
        "",
        "| node | kind | level | target | blockers |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in reports:
        kind = r.kind.value if r.kind else "package"
        blockers = ", ".join(f"`{b}`" for b in r.blockers) or "-"
        lines.append(f"| `{_cell(r.path)}` | {kind} | **{r.level.value}** | {_target(r)} | {blockers} |")
    for r in reports:
        lines += ["", f"### {_cell(r.name)} — {r.level.value}", ""]
        if r.issues:
            lines += ["**Issues**", ""] + [f"- {_cell(i)}" for i in r.issues] + [""]
        if r.recommendations:
            lines += ["**Recommendations**", ""] + [f"- {_cell(i)}" for i in r.recommendations] + [""]
        lines += [
            "<details><summary>All checks</summary>",
            "",
            "| check | status | gates | message |",
            "| --- | --- | --- | --- |",
        ]
        for c in r.checks:
            note = c.waiver_reason if c.status is CheckStatus.WAIVED else c.message
            lines.append(
                f"| `{c.check_id}` {_cell(c.title)} | {_MARK[c.status]} | {c.gates.value} | {_cell(note or '')} |"
            )
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"
