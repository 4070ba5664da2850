"""The ``infra-readiness`` command: ``check`` a node or a tree, list ``checks``, ``explain`` one."""

from __future__ import annotations

import io
import json
import shutil
import sys
from collections.abc import Callable
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from infra_models.cli import CliError, ExitCode, FormatOption, OutputFileOption, OutputFormat, emit, is_quiet, make_app
from infra_readiness.__about__ import __version__

if TYPE_CHECKING:
    from rich.console import Console

    from infra_models.readiness import ReadinessLevel, ReadinessReport
    from infra_readiness.context import NodeContext
    from infra_readiness.plugin import Check

__all__ = ["app", "main"]

app = make_app(
    "infra-readiness",
    __version__,
    help="Production-readiness checks that rate a node or package NOT_READY to PRODUCTION.",
)

# Wide enough that rich never cuts or wraps a line of a report written to a file.
_UNBOUNDED = 100_000


class Format(StrEnum):
    """Output formats of ``check``: the kit's text and json, plus SARIF and Markdown reports."""

    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"
    MARKDOWN = "markdown"


def _fail(message: str, *, code: str = "input", hint: str | None = None) -> CliError:
    """A usage or input error (exit 2) whose message shows control characters of paths as ``\\xNN``."""
    from infra_readiness.render._safe import safe_text

    return CliError(safe_text(message), code=code, hint=hint, exit_code=ExitCode.USAGE)


def _level(value: str | None, option: str) -> ReadinessLevel | None:
    from infra_models.readiness import ReadinessLevel

    if value is None:
        return None
    try:
        return ReadinessLevel(value.strip().upper().replace("-", "_"))
    except ValueError:
        levels = ", ".join(level.value for level in ReadinessLevel)
        raise _fail(f"{option} {value!r} is not a level", code="usage", hint=f"use one of {levels}") from None


def _checks() -> tuple[Check, ...]:
    from infra_readiness.errors import CheckRegistryError
    from infra_readiness.registry import load_checks

    try:
        return load_checks()
    except CheckRegistryError as exc:
        raise _fail(exc.message, code="readiness.registry") from exc


def _check_output(output: Path | None) -> None:
    """Refuse an --output whose folder is missing before any check runs (nothing is half-written)."""
    if output is None:
        return
    folder = output.parent if str(output.parent) else Path()
    if not folder.is_dir():
        raise _fail(f"--output {output}: folder {folder} does not exist", code="output.missing")


def _rendered(draw: Callable[[Console], None]) -> str:
    """What ``draw`` prints, as plain text never cut or wrapped (for a file)."""
    from rich.console import Console

    buffer = io.StringIO()
    draw(Console(file=buffer, width=_UNBOUNDED, no_color=True, soft_wrap=True, highlight=False, color_system=None))
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())


def _show(draw: Callable[[Console], None], output: Path | None) -> None:
    """Print a rich rendering: on the terminal as rich draws it, piped or into ``output`` untruncated."""
    if output is not None:
        emit(None, OutputFormat.TEXT, text=_rendered(draw), output=output)
        return
    from infra_models.cli import console

    draw(console())


@app.command()
def check(  # noqa: PLR0917 - typer maps parameters to options
    ctx: typer.Context,
    path: Annotated[
        Path, typer.Argument(help="A node's folder (contract.yaml or pyproject.toml), or a tree with --recursive.")
    ],
    recursive: Annotated[
        bool, typer.Option("--recursive", "-r", help="Check every node and package under PATH.")
    ] = False,
    min_level: Annotated[
        str | None, typer.Option("--min-level", help="Exit 1 when a node is below this level (e.g. STAGING).")
    ] = None,
    fmt: Annotated[
        Format,
        typer.Option("-f", "--format", help="Output format: text, json, sarif or markdown.", case_sensitive=False),
    ] = Format.TEXT,
    output: OutputFileOption = None,
    run_tests: Annotated[bool, typer.Option("--run-tests", help="Run each node's tests (TST-002).")] = False,
    run_benchmarks: Annotated[
        bool,
        typer.Option("--run-benchmarks", help="Run each node's benchmark and compare it with its budgets (PERF-003)."),
    ] = False,
    audit_deps: Annotated[
        bool,
        typer.Option(
            "--audit-deps", help="Look up dependency vulnerabilities with pip-audit (needs network) (SEC-006)."
        ),
    ] = False,
    python: Annotated[
        str | None,
        typer.Option("--python", help="Interpreter that imports the packages and runs the tests (default: this one)."),
    ] = None,
    today: Annotated[
        str | None, typer.Option("--today", help="Date that decides waiver expiry (YYYY-MM-DD).", hidden=True)
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs", "-j", min=1, help="Processes that share a tree of 16+ nodes (default 1, or INFRA_READINESS_JOBS)."
        ),
    ] = None,
) -> None:
    """Rate PATH (or every node under it) NOT_READY, DEVELOPMENT, STAGING or PRODUCTION."""
    from infra_readiness.early import prestart_imports

    _quiet_plugin_loaders()

    if python is None:
        prestart_imports(path, recursive=recursive, jobs=jobs)  # first: the worker starts while pydantic loads here
    elif shutil.which(python) is None:
        raise _fail(f"--python {python}: no such interpreter", code="usage", hint="give a python on PATH or a path")
    floor = _level(min_level, "--min-level")
    day: date | None = None
    if today is not None:
        try:
            day = date.fromisoformat(today)
        except ValueError:
            raise _fail(f"--today {today!r} is not a date such as 2026-12-31", code="usage") from None
    _check_output(output)
    from infra_readiness.api import find_nodes
    from infra_readiness.context import NodeContext, NodeOptions, RunCache
    from infra_readiness.errors import ReadinessInputError

    try:
        roots = find_nodes(path, recursive=recursive)
    except ReadinessInputError as exc:
        raise _fail(
            exc.message, hint="PATH is a node's folder (contract.yaml or pyproject.toml), or a tree with -r"
        ) from exc
    checks = _checks()
    options = NodeOptions(
        run_tests=run_tests, today=day, python=python, run_benchmarks=run_benchmarks, audit_dependencies=audit_deps
    )
    cache = RunCache()  # one read and one parse per file, one set of facts per project, for the whole run
    contexts = [NodeContext(root, display=shown, options=options, cache=cache) for root, shown in roots]
    reports = _run(contexts, checks, jobs, bar=recursive and not is_quiet(ctx))
    _report(reports, checks, fmt, output, summary_of=str(path) if recursive else None)
    if floor is not None and any(r.level < floor for r in reports):
        from infra_readiness.render._safe import safe_text

        below = [f"{safe_text(r.path)} ({r.level.value})" for r in reports if r.level < floor]
        typer.echo(f"below {floor.value}: {', '.join(below)}", err=True)
        raise typer.Exit(ExitCode.FINDINGS)


def _quiet_plugin_loaders() -> None:
    """Keep bandit's plugin loader (stevedore) from logging optional formatters it cannot load, unless -vv."""
    import logging

    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("stevedore").setLevel(logging.CRITICAL)


def _report(
    reports: list[ReadinessReport], checks: tuple[Check, ...], fmt: Format, output: Path | None, summary_of: str | None
) -> None:
    if fmt is Format.TEXT:
        from infra_readiness.render.text import render_text

        _show(lambda shown: render_text(reports, shown), output)
        return
    if fmt is Format.JSON:
        from infra_readiness.api import summarize

        model = summarize(summary_of, reports) if summary_of is not None else reports[0]
        text = model.model_dump_json(indent=2)
    elif fmt is Format.SARIF:
        from infra_readiness.render.sarif import render_sarif

        text = json.dumps(render_sarif(reports, checks), indent=2)
    else:
        from infra_readiness.render.markdown import render_markdown

        text = render_markdown(reports)
    emit(None, OutputFormat.TEXT, text=text, output=output)


def _run(
    contexts: list[NodeContext], checks: tuple[Check, ...], jobs: int | None, *, bar: bool
) -> list[ReadinessReport]:
    """Run the checks; a recursive run shows a progress bar, on stderr, only when stderr is a terminal."""
    from infra_readiness.runner import check_contexts

    if not bar or not sys.stderr.isatty():
        return check_contexts(contexts, checks=checks, jobs=jobs)
    from infra_models.cli import progress

    with progress() as shown:
        task = shown.add_task("checking nodes", total=len(contexts))
        return check_contexts(contexts, checks=checks, progress=lambda _: shown.advance(task), jobs=jobs)


def _metadata(item: Check) -> dict[str, object]:
    return {
        "id": item.id,
        "title": item.title,
        "category": item.category.value,
        "severity": item.severity.value,
        "gates": item.gates.value,
        "advisory": item.advisory,
        "kinds": [k.value for k in item.kinds] or ["all"],
        "requires": list(item.requires),
        "remediation": item.remediation,
        "url": item.url,
        "description": item.description,
        "source": item.source,
        "effective_from": item.effective_from.isoformat() if item.effective_from else None,
    }


@app.command("checks")
def list_checks(fmt: FormatOption = OutputFormat.TEXT, output: OutputFileOption = None) -> None:
    """List every installed check: id, level it gates, category, severity, node kinds."""
    items = sorted(_checks(), key=lambda c: (c.gates, c.id))
    if fmt is OutputFormat.JSON:
        emit([_metadata(c) for c in items], fmt, output=output)
        return
    from rich.table import Table

    table = Table(show_header=True, header_style="bold")
    for column in ("id", "gates", "category", "severity", "kinds", "title"):
        table.add_column(column)
    for c in items:
        severity = c.severity.value + (" (advisory)" if c.advisory else "")
        table.add_row(
            c.id, c.gates.value, c.category.value, severity, ", ".join(k.value for k in c.kinds) or "all", c.title
        )
    _show(lambda shown: shown.print(table), output)


_EXPLAINED = (
    "id",
    "title",
    "category",
    "severity",
    "gates",
    "kinds",
    "requires",
    "description",
    "remediation",
    "url",
    "source",
    "effective_from",
)


@app.command()
def explain(
    check_id: Annotated[str, typer.Argument(metavar="ID", help="A check id, such as SEC-001.")],
    fmt: FormatOption = OutputFormat.TEXT,
    output: OutputFileOption = None,
) -> None:
    """Show one check: what it looks at, the level it gates, how to fix a failure."""
    items = {c.id: c for c in _checks()}
    wanted = check_id.strip().upper()
    if wanted not in items:
        raise _fail(
            f"no check {check_id!r}",
            code="readiness.check.unknown",
            hint=f"`infra-readiness checks` lists them ({', '.join(sorted(items))})",
        )
    data = _metadata(items[wanted])
    lines = []
    for key in _EXPLAINED:
        value = data[key]
        shown = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value or "")
        lines.append(f"{key + ':':<13}{shown or '-'}")
    emit(data, fmt, text="\n".join(lines), output=output)


def main() -> None:
    """Entry point of the ``infra-readiness`` script."""
    app()
