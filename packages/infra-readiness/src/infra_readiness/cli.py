"""The ``infra-readiness`` command: ``check`` a node or a tree, list ``checks``, ``explain`` one."""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import tempfile
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from infra_readiness.__about__ import __version__

if TYPE_CHECKING:
    from infra_models.readiness import ReadinessLevel, ReadinessReport
    from infra_readiness.context import NodeContext
    from infra_readiness.plugin import Check

__all__ = ["app", "main"]

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Production-readiness checks that rate a node or package NOT_READY to PRODUCTION.",
)


class Format(StrEnum):
    """Output formats of ``check``."""

    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"
    MARKDOWN = "markdown"


class ListFormat(StrEnum):
    """Output formats of ``checks`` and ``explain``."""

    TEXT = "text"
    JSON = "json"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"infra-readiness {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Production-readiness checks that rate a node or package NOT_READY to PRODUCTION."""


def _abort(message: str, code: int = 2) -> NoReturn:
    from infra_readiness.render._safe import safe_text

    typer.echo(f"error: {safe_text(message)}", err=True)
    raise typer.Exit(code)


def _level(value: str | None, option: str) -> ReadinessLevel | None:
    from infra_models.readiness import ReadinessLevel

    if value is None:
        return None
    try:
        return ReadinessLevel(value.strip().upper().replace("-", "_"))
    except ValueError:
        _abort(f"{option} {value!r} is not a level: use one of {', '.join(level.value for level in ReadinessLevel)}")


def _checks() -> tuple[Check, ...]:
    from infra_readiness.errors import CheckRegistryError
    from infra_readiness.registry import load_checks

    try:
        return load_checks()
    except CheckRegistryError as exc:
        _abort(exc.message)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    folder = output.parent if str(output.parent) else Path()
    if not folder.is_dir():
        _abort(f"--output {output}: folder {folder} does not exist")
    try:  # write aside, then rename: a reader never sees half a report
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{output.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text if text.endswith("\n") else text + "\n")
        Path(tmp).replace(output)
    except OSError as exc:
        _abort(f"--output {output}: cannot write ({exc.strerror})")


@app.command()
def check(  # noqa: PLR0917 - typer maps parameters to options
    path: Annotated[
        Path, typer.Argument(help="A node's folder (contract.yaml or pyproject.toml), or a tree with --recursive.")
    ],
    recursive: Annotated[
        bool, typer.Option("--recursive", "-r", help="Check every node and package under PATH.")
    ] = False,
    min_level: Annotated[
        str | None, typer.Option("--min-level", help="Exit 1 when a node is below this level (e.g. STAGING).")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="text, json, sarif or markdown.")] = Format.TEXT,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to this file.")] = None,
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

    if python is None:
        prestart_imports(path, recursive=recursive, jobs=jobs)  # first: the worker starts while pydantic loads here
    elif shutil.which(python) is None:
        _abort(f"--python {python}: no such interpreter")
    floor = _level(min_level, "--min-level")
    day: date | None = None
    if today is not None:
        try:
            day = date.fromisoformat(today)
        except ValueError:
            _abort(f"--today {today!r} is not a date such as 2026-12-31")
    from infra_readiness.api import find_nodes, summarize
    from infra_readiness.context import NodeContext, NodeOptions, RunCache
    from infra_readiness.errors import ReadinessInputError

    try:
        roots = find_nodes(path, recursive=recursive)
    except ReadinessInputError as exc:
        _abort(exc.message)
    checks = _checks()
    options = NodeOptions(
        run_tests=run_tests, today=day, python=python, run_benchmarks=run_benchmarks, audit_dependencies=audit_deps
    )
    cache = RunCache()  # one read and one parse per file, one set of facts per project, for the whole run
    contexts = [NodeContext(root, display=shown, options=options, cache=cache) for root, shown in roots]
    reports = _run(contexts, checks, jobs)
    if fmt is Format.JSON:
        model = summarize(str(path), reports) if recursive else reports[0]
        text = model.model_dump_json(indent=2)
    elif fmt is Format.SARIF:
        from infra_readiness.render.sarif import render_sarif

        text = json.dumps(render_sarif(reports, checks), indent=2)
    elif fmt is Format.MARKDOWN:
        from infra_readiness.render.markdown import render_markdown

        text = render_markdown(reports)
    else:
        text = _text(reports, plain=output is not None)
    if text:
        _write(text, output)
    if floor is not None and any(r.level < floor for r in reports):
        from infra_readiness.render._safe import safe_text

        below = [f"{safe_text(r.path)} ({r.level.value})" for r in reports if r.level < floor]
        typer.echo(f"below {floor.value}: {', '.join(below)}", err=True)
        raise typer.Exit(1)


def _run(contexts: list[NodeContext], checks: tuple[Check, ...], jobs: int | None) -> list[ReadinessReport]:
    from infra_readiness.runner import check_contexts

    if len(contexts) < 5 or not sys.stderr.isatty():
        return check_contexts(contexts, checks=checks, jobs=jobs)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("checking"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True
    ) as bar:
        task = bar.add_task("nodes", total=len(contexts))
        return check_contexts(contexts, checks=checks, progress=lambda _: bar.advance(task), jobs=jobs)


def _text(reports: list[ReadinessReport], *, plain: bool) -> str:
    from rich.console import Console

    from infra_readiness.render.text import render_text

    if plain:
        console = Console(record=True, file=io.StringIO(), width=140, color_system=None)
        render_text(reports, console)
        return console.export_text()
    render_text(reports, Console(highlight=False))
    return ""


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
def list_checks(
    fmt: Annotated[ListFormat, typer.Option("--format", "-f", help="text or json.")] = ListFormat.TEXT,
) -> None:
    """List every installed check: id, level it gates, category, severity, node kinds."""
    items = sorted(_checks(), key=lambda c: (c.gates, c.id))
    if fmt is ListFormat.JSON:
        typer.echo(json.dumps([_metadata(c) for c in items], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(show_header=True, header_style="bold")
    for column in ("id", "gates", "category", "severity", "kinds", "title"):
        table.add_column(column)
    for c in items:
        severity = c.severity.value + (" (advisory)" if c.advisory else "")
        table.add_row(
            c.id, c.gates.value, c.category.value, severity, ", ".join(k.value for k in c.kinds) or "all", c.title
        )
    Console().print(table)


@app.command()
def explain(
    check_id: Annotated[str, typer.Argument(metavar="ID", help="A check id, such as SEC-001.")],
    fmt: Annotated[ListFormat, typer.Option("--format", "-f", help="text or json.")] = ListFormat.TEXT,
) -> None:
    """Show one check: what it looks at, the level it gates, how to fix a failure."""
    items = {c.id: c for c in _checks()}
    wanted = check_id.strip().upper()
    if wanted not in items:
        _abort(f"no check {check_id!r}; `infra-readiness checks` lists them ({', '.join(sorted(items))})")
    data = _metadata(items[wanted])
    if fmt is ListFormat.JSON:
        typer.echo(json.dumps(data, indent=2))
        return
    for key in (
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
    ):
        value = data[key]
        shown = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value or "")
        typer.echo(f"{key + ':':<13}{shown or '-'}")


def main() -> None:
    """Entry point of the ``infra-readiness`` script."""
    app()
