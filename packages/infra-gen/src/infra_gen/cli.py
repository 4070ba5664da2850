"""The ``infra-gen`` command: ``node``, ``kinds``, ``from-contract``, ``check``, ``update``.

Exit codes: 0 done, 1 a finding (``check`` found template changes, ``update`` left conflicts, a generation met
existing different files), 2 bad input (a name, kind, contract or folder that cannot be used). Nothing is
written on exit 1 or 2 of ``node`` / ``from-contract`` (several contracts are one plan: all or nothing).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from infra_gen.__about__ import __version__
from infra_models.cli import CliError, ExitCode, FormatOption, OutputFormat, console, emit, is_quiet, make_app

if TYPE_CHECKING:
    from infra_gen.generator import NodeGenerator
    from infra_gen.plan import Plan

__all__ = ["app", "main"]

app = make_app(
    "infra-gen",
    __version__,
    help="Scaffolds ONEX nodes (EFFECT, COMPUTE, REDUCER, ORCHESTRATOR) from cookiecutter templates.",
)


class Kind(StrEnum):
    """Node kinds on the command line."""

    effect = "effect"
    compute = "compute"
    reducer = "reducer"
    orchestrator = "orchestrator"


class OnConflictChoice(StrEnum):
    """What to do with existing files that differ."""

    abort = "abort"
    skip = "skip"
    overwrite = "overwrite"


DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Print the plan and write nothing.")]
OutputDirOption = Annotated[
    Path,
    typer.Option(
        "-o",
        "--output",
        help="Where the node goes: an ONEX service's nodes/ folder gets the ONEX layout (tests in tests/unit/nodes/); "
        "a hatch workspace puts a stand-alone package in packages/.",
    ),
]
OnConflictOption = Annotated[
    OnConflictChoice,
    typer.Option("--on-conflict", help="Existing files that differ: abort (default), skip, overwrite."),
]
TemplateDirOption = Annotated[
    Path | None, typer.Option("--template-dir", help="Use these templates instead of the built-in ones.", hidden=True)
]


def _fail(exc: Exception, code: int) -> NoReturn:
    """Report an expected error through the kit: the JSON envelope or one stderr line, and the exit code."""
    from infra_models.errors import InfraError

    if isinstance(exc, InfraError):
        suggestion, hint = exc.details.get("suggestion"), exc.details.get("hint")
        if isinstance(suggestion, str):
            hint = f"try `{suggestion}`"
        raise CliError(
            exc.message,
            code=exc.code,
            hint=hint if isinstance(hint, str) else None,
            exit_code=code,
            details=exc.details or None,
        ) from exc
    raise CliError(str(exc), code="gen.error", exit_code=code) from exc


def _exit_code(exc: Exception) -> int:
    from infra_gen.errors import ConflictError, StalePlanError

    return 1 if isinstance(exc, ConflictError | StalePlanError) else 2


def _print_plan(plan: Plan, *, dry_run: bool, written: list[str] | None, title: str) -> None:
    from rich.table import Table

    from infra_gen.plan import Action

    out = console()
    table = Table(title=title, show_lines=False)
    table.add_column("action")
    table.add_column("path")
    table.add_column("sha256", style="dim")
    styles = {
        Action.CREATE: "green",
        Action.OVERWRITE: "yellow",
        Action.CONFLICT: "red",
        Action.DELETE: "red",
        Action.SKIP: "dim",
        Action.IDENTICAL: "dim",
    }
    for f in plan.files:
        note = f" ({f.note})" if f.note else ""
        table.add_row(f"[{styles[f.action]}]{f.action.value}[/]", f.path + note, (f.sha256 or "")[:12])
    out.print(table)
    counts = ", ".join(f"{n} {a}" for a, n in plan.counts().items() if n)
    if dry_run:
        out.print(f"dry run: nothing written ({counts})")
    else:
        out.print(f"wrote {len(written or [])} file(s) under {plan.root} ({counts})")
    for f in plan.files:
        if f.diff and f.action in {Action.OVERWRITE, Action.CONFLICT}:
            sys.stdout.write(f.diff)  # a diff goes out as it is, never re-wrapped, so it stays a valid patch


def _emit(plan: Plan, fmt: OutputFormat, *, dry_run: bool, written: list[str] | None, title: str, **extra: Any) -> None:
    if fmt is OutputFormat.JSON:
        emit({"ok": True, "dry_run": dry_run, **extra, "written": written or [], **plan.to_dict()}, fmt)
    else:
        _print_plan(plan, dry_run=dry_run, written=written, title=title)


def _generate(plan_fn: Callable[[], Plan], fmt: OutputFormat, dry_run: bool, title: str) -> None:
    from infra_gen.plan import apply_plan
    from infra_models.errors import InfraError

    try:
        plan = plan_fn()
    except InfraError as exc:
        _fail(exc, ExitCode.USAGE)
    try:
        written = None if dry_run else apply_plan(plan)
    except InfraError as exc:
        if fmt is OutputFormat.TEXT and plan.conflicts:
            _print_plan(plan, dry_run=True, written=None, title=title)
        _fail(exc, _exit_code(exc))
    _emit(plan, fmt, dry_run=dry_run, written=written, title=title)
    if dry_run and plan.conflicts:
        # As `update --dry-run`: a plan that could not be applied as it stands is a finding.
        if fmt is OutputFormat.TEXT:
            typer.echo(
                f"{len(plan.conflicts)} conflict(s): applying would stop; use --on-conflict skip or overwrite",
                err=True,
            )
        raise typer.Exit(ExitCode.FINDINGS)


@app.command()
def node(  # noqa: PLR0917 - typer maps each parameter to an argument or option
    kind: Annotated[Kind, typer.Argument(help="effect, compute, reducer or orchestrator.")],
    name: Annotated[
        str | None,
        typer.Argument(help="Node name in any case: vault_adapter, VaultAdapter, vault-adapter (asked when omitted)."),
    ] = None,
    domain: Annotated[str, typer.Option(help="Domain of the node (snake_case).")] = "infrastructure",
    description: Annotated[str, typer.Option(help="What the node is for (one line).")] = "",
    external_system: Annotated[
        str | None, typer.Option("--external-system", help="EFFECT only: the system it talks to.")
    ] = None,
    output_dir: OutputDirOption = Path(),
    dry_run: DryRunOption = False,
    on_conflict: OnConflictOption = OnConflictChoice.abort,
    fmt: FormatOption = OutputFormat.TEXT,
    interactive: Annotated[
        bool, typer.Option("--interactive", help="Ask for missing answers (the default on a terminal).")
    ] = False,
    template_dir: TemplateDirOption = None,
) -> None:
    """Generate a node package: contract, models, node, handler, README and passing tests."""
    from infra_gen.generator import NodeGenerator

    if name is None:
        if not (interactive or sys.stdin.isatty()):
            raise CliError("missing NAME", hint="give the node's name, such as `vault_adapter`, or --interactive")
        name = _ask_name()
        if kind is Kind.effect and external_system is None:
            external_system = typer.prompt("External system it talks to", default="External Service")
        if not description:
            description = typer.prompt("What the node is for (one line)", default="", show_default=False)
    generator = NodeGenerator(output_dir, on_conflict=on_conflict.value, template_dir=template_dir)
    answer = name
    _generate(
        lambda: generator.plan_node(
            kind.value, answer, domain=domain, business_description=description, external_system=external_system
        ),
        fmt,
        dry_run,
        f"infra-gen node {kind.value} {name}",
    )


def _ask_name() -> str:
    """Prompt until the name is valid; a refused name offers the proposal as the default (cookiecutter#175)."""
    from infra_gen.errors import InvalidNameError
    from infra_gen.names import parse_name

    default: str | None = None
    while True:
        raw: str = typer.prompt("Node name", default=default) if default else typer.prompt("Node name")
        try:
            return parse_name(raw).snake
        except InvalidNameError as exc:
            typer.echo(f"  {exc}", err=True)
            default = exc.details.get("suggestion")


def _contract_files(paths: list[Path]) -> list[Path]:
    """The contract files named: a file as given, a folder as every ``contract.yaml`` below it (sorted)."""
    found: list[Path] = []
    for path in paths:
        if not path.is_dir():
            found.append(path)  # a missing file is reported by the contract reader, naming it
            continue
        below = sorted(path.rglob("contract.yaml"))
        if not below:
            raise CliError(f"no contract.yaml under {path}", hint="give contract files, or a folder that holds some")
        found += below
    return list(dict.fromkeys(found))


def _plan_contracts(generator: NodeGenerator, paths: list[Path], *, bar: bool) -> Plan:
    """Load and plan every contract (a progress bar on stderr when ``bar``), merged into one plan."""
    from infra_gen.plan import merge_plans
    from infra_models import load_any_contract
    from infra_models.cli import progress
    from infra_models.errors import InfraError

    if len(paths) == 1:
        return generator.plan_contract(load_any_contract(paths[0]))
    plans = []
    with progress(quiet=not bar) as shown:
        task = shown.add_task("generating nodes", total=len(paths))
        for path in paths:
            try:
                plans.append(generator.plan_contract(load_any_contract(path)))
            except InfraError as exc:
                if not exc.message.startswith(str(path)):  # say which of the many contracts it was
                    exc.message = f"{path}: {exc.message}"
                    exc.args = (exc.message,)
                raise
            shown.advance(task)
    return merge_plans(plans, [str(p) for p in paths])


@app.command("from-contract")
def from_contract(  # noqa: PLR0917 - typer maps each parameter to an argument or option
    ctx: typer.Context,
    contracts: Annotated[
        list[Path],
        typer.Argument(
            help="contract.yaml files (infra's format or real ONEX contracts, node_type: EFFECT_GENERIC ...), or "
            "folders: every contract.yaml below them. Several are generated as one plan, all or nothing.",
            show_default=False,
        ),
    ],
    output_dir: OutputDirOption = Path(),
    dry_run: DryRunOption = False,
    on_conflict: OnConflictOption = OnConflictChoice.abort,
    fmt: FormatOption = OutputFormat.TEXT,
    template_dir: TemplateDirOption = None,
) -> None:
    """Generate the nodes contract.yaml files describe (into an ONEX service's nodes/ folder: the ONEX layout).

    With several contracts a progress bar is drawn on stderr, only on a terminal, not with -q or --format json.
    """
    from infra_gen.generator import NodeGenerator

    paths = _contract_files(contracts)
    bar = fmt is OutputFormat.TEXT and not is_quiet(ctx) and sys.stderr.isatty()
    generator = NodeGenerator(output_dir, on_conflict=on_conflict.value, template_dir=template_dir)
    shown = str(paths[0]) if len(paths) == 1 else f"{len(paths)} contracts"
    _generate(lambda: _plan_contracts(generator, paths, bar=bar), fmt, dry_run, f"infra-gen from-contract {shown}")


@app.command()
def kinds(fmt: FormatOption = OutputFormat.TEXT) -> None:
    """List the node kinds and what each generates."""
    rows = [
        ("effect", "talks to an external system: client protocol, timeouts, retries with backoff, circuit breaker, "
         "credentials via infra_security, events via infra_outbox"),
        ("compute", "pure, deterministic transform of input to output, with hypothesis property tests"),
        ("reducer", "folds events into state, idempotent per event id, snapshot and restore"),
        ("orchestrator", "runs steps in order with per-step timeouts; compensates finished steps on failure (saga)"),
    ]  # fmt: skip
    if fmt is OutputFormat.JSON:
        emit([{"kind": k, "description": d} for k, d in rows], fmt)
        return
    from rich.table import Table

    table = Table("kind", "what it generates")
    for k, d in rows:
        table.add_row(k, d)
    console().print(table)


@app.command()
def check(
    directory: Annotated[Path, typer.Argument(help="A node generated by infra-gen.")] = Path(),
    fmt: FormatOption = OutputFormat.TEXT,
    template_dir: TemplateDirOption = None,
) -> None:
    """Say whether the current template would change the node, or conflicts are unresolved (then exit 1)."""
    from infra_gen.errors import GenError
    from infra_gen.update import check_node

    try:
        report = check_node(directory, template_dir=template_dir)
    except GenError as exc:
        _fail(exc, ExitCode.USAGE)
    if fmt is OutputFormat.JSON:
        emit(report.to_dict(), fmt)
    else:
        state = "up to date" if report.up_to_date else f"{len(report.template_changes)} file(s) would change"
        typer.echo(f"{directory}: generated by infra-gen {report.recorded_version}; template of {__version__}: {state}")
        for path in report.template_changes:
            typer.echo(f"  template changes {path}")
        for path in report.local_edits:
            typer.echo(f"  edited locally  {path}")
        for path in report.unresolved:
            typer.echo(f"  unresolved conflict markers in {path}")
        if not report.up_to_date:
            typer.echo("run `infra-gen update` to merge them (your edits are kept)")
    raise typer.Exit(0 if report.up_to_date and not report.unresolved else 1)


@app.command()
def update(
    directory: Annotated[Path, typer.Argument(help="A node generated by infra-gen.")] = Path(),
    contract: Annotated[
        Path | None,
        typer.Option(
            "--contract",
            help="Take the answers from this contract.yaml (e.g. the node's own, after adding a step) "
            "instead of the recorded ones.",
        ),
    ] = None,
    dry_run: DryRunOption = False,
    fmt: FormatOption = OutputFormat.TEXT,
    template_dir: TemplateDirOption = None,
) -> None:
    """Merge template changes into the node (three-way); conflicts are marked in place (exit 1)."""
    from infra_gen.update import update_node
    from infra_models import load_contract
    from infra_models.errors import InfraError

    try:
        answers = load_contract(contract) if contract is not None else None
        result = update_node(directory, template_dir=template_dir, contract=answers, dry_run=dry_run)
    except InfraError as exc:
        _fail(exc, _exit_code(exc))
    interesting = {p: o for p, o in result.outcomes.items() if o not in {"unchanged", "yours"}}
    _emit(
        result.plan,
        fmt,
        dry_run=dry_run,
        written=result.written,
        title=f"infra-gen update {directory}",
        outcomes=result.outcomes,
        conflicts=result.conflicts,
    )
    if fmt is OutputFormat.TEXT:
        for path, outcome in sorted(interesting.items()):
            typer.echo(f"  {outcome:>10}  {path}")
        if result.conflicts:
            typer.echo(f"{len(result.conflicts)} conflict(s): resolve the <<<<<<< markers, then commit")
    raise typer.Exit(1 if result.conflicts else 0)


def main() -> None:
    """Entry point of the ``infra-gen`` script."""
    app()
