"""`infra-security audit`: verify the tamper-evident audit log, report on it, write events, manage its keys."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from infra_models.cli import CliError, FormatOption, OutputFormat, emit, is_quiet, progress

if TYPE_CHECKING:
    from infra_security.audit._keys import AuditKeys

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help=__doc__)


class ReportFormat(StrEnum):
    """Output formats of `report`."""

    text = "text"
    json = "json"
    markdown = "markdown"


LogsArg = Annotated[list[Path], typer.Argument(help="Audit log file(s), oldest first (rotated segments in order).")]
KeysOpt = Annotated[
    Path | None,
    typer.Option(
        "--keys",
        help="Audit keys file (default: $INFRA_AUDIT_KEYS_FILE, else audit-keys.json beside the log or in the "
        "default audit directory).",
    ),
]
CheckpointsOpt = Annotated[
    Path | None, typer.Option("--checkpoints", help="Signed checkpoints file; needed to detect a truncated tail.")
]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one error line and exit (2 = bad input)."""
    raise CliError(message, exit_code=code)


def _keys(keys: Path | None, near: Path | None) -> AuditKeys:
    from infra_security.audit._keys import AuditKeys
    from infra_security.audit._logger import ENV_AUDIT_KEYS_FILE, KEYS_NAME, default_audit_dir
    from infra_security.errors import SecurityError

    if keys is None:
        if os.environ.get(ENV_AUDIT_KEYS_FILE):
            keys = Path(os.environ[ENV_AUDIT_KEYS_FILE])
        elif near is not None:
            keys = near.parent / KEYS_NAME
        else:
            keys = default_audit_dir() / KEYS_NAME
    try:
        return AuditKeys.load(keys)
    except SecurityError as exc:
        fail(exc.message)


def _time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r}: expected an ISO 8601 date or time, e.g. 2026-11-01 or 2026-11-01T12:00:00Z")
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


@app.command()
def verify(
    logs: LogsArg,
    checkpoints: CheckpointsOpt = None,
    keys: KeysOpt = None,
    partial: Annotated[
        bool, typer.Option("--partial", help="Allow the log to start after seq 1 (older segments not given).")
    ] = False,
    output: Annotated[OutputFormat, typer.Option("-f", "--format", help="Output format.")] = OutputFormat.TEXT,
    *,
    ctx: typer.Context,
) -> None:
    """Check the chain and checkpoints; name the first bad sequence number and why. Exit 1 on a finding."""
    import json

    from infra_security.audit._verify import verify_log
    from infra_security.errors import SecurityError

    audit_keys = _keys(keys, logs[0])
    for path in [*logs, *([checkpoints] if checkpoints else [])]:
        if not path.is_file():
            fail(f"{path}: file not found")
    try:
        with progress(quiet=is_quiet(ctx)) as bar:
            feed = None
            if not bar.disable:  # a terminal: show bytes verified, advanced once per MiB to stay cheap
                task = bar.add_task("verifying", total=sum(p.stat().st_size for p in logs))
                pending = [0]

                def feed(size: int) -> None:
                    pending[0] += size
                    if pending[0] >= 1 << 20:
                        bar.advance(task, pending[0])
                        pending[0] = 0

            result = verify_log(logs, audit_keys, checkpoints=checkpoints, partial=partial, on_bytes=feed)
    except SecurityError as exc:
        fail(exc.message)
    if output is OutputFormat.JSON:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        from rich.console import Console

        console = Console(highlight=False)
        if result.finding is None:
            span = f"seq {result.first_seq}..{result.last_seq}" if result.records else "no records"
            console.print(f"[green]OK[/green] {result.records} records ({span}), {result.checkpoints} checkpoints")
        else:
            f = result.finding
            console.print(f"[red]FAIL[/red] seq {f.seq}: {f.kind}: {f.message}")
            if f.where:
                console.print(f"  at {f.where}")
        for note in result.notes:
            console.print(f"[yellow]note[/yellow]: {note}")
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def report(  # noqa: PLR0917 - typer options
    logs: LogsArg,
    since: Annotated[str | None, typer.Option("--since", help="Start of the period (ISO 8601, inclusive).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="End of the period (ISO 8601, exclusive).")] = None,
    output: Annotated[ReportFormat, typer.Option("-f", "--format", help="Output format.")] = ReportFormat.text,
    check: Annotated[bool, typer.Option("--verify", help="Verify the chain first and state the result.")] = False,
    checkpoints: CheckpointsOpt = None,
    keys: KeysOpt = None,
) -> None:
    """Summarise events of a period by type, outcome, actor, severity and compliance level."""
    from infra_security.audit._report import build_report, render_json, render_markdown, render_text
    from infra_security.audit._verify import verify_log
    from infra_security.errors import SecurityError

    start, end = _time(since, "--since"), _time(until, "--until")
    for path in logs:
        if not path.is_file():
            fail(f"{path}: file not found")
    try:
        verified = None
        if check:
            verified = verify_log(logs, _keys(keys, logs[0]), checkpoints=checkpoints).ok
        summary = build_report(logs, since=start, until=end, verified=verified)
    except SecurityError as exc:
        fail(exc.message)
    render = {ReportFormat.text: render_text, ReportFormat.json: render_json, ReportFormat.markdown: render_markdown}
    typer.echo(render[output](summary), nl=output is ReportFormat.json)


@app.command(name="log")
def log_event(  # noqa: PLR0917 - typer options
    event_type: Annotated[str, typer.Option("--type", help="Event type, e.g. authentication.")],
    action: Annotated[str, typer.Option("--action", help="What was done.")],
    outcome: Annotated[str, typer.Option("--outcome", help="success, failure, denied or error.")],
    user_id: Annotated[
        str | None, typer.Option("--user-id", help="Who acted: the event's user_id (as in log_security_event).")
    ] = None,
    severity: Annotated[str | None, typer.Option("--severity", help="info, low, medium, high, critical.")] = None,
    resource: Annotated[str | None, typer.Option("--resource", help="What it was done to.")] = None,
    directory: Annotated[
        Path | None,
        typer.Option("--directory", help="Audit directory (default: $INFRA_AUDIT_DIR or the XDG state dir)."),
    ] = None,
    fmt: FormatOption = OutputFormat.TEXT,
    actor: Annotated[str | None, typer.Option("--actor", hidden=True, help="Deprecated: --user-id.")] = None,
) -> None:
    """Write one event to the audit log (as AuditLogger() would)."""
    user_id = user_id or actor
    if not user_id:
        fail("missing --user-id: who acted (the event's user_id)")
    from pydantic import ValidationError

    from infra_security.audit._logger import AuditLogger
    from infra_security.errors import SecurityError

    try:
        with AuditLogger(directory=directory) as logger:
            logger.log_security_event(event_type, user_id, action, outcome, severity=severity, resource=resource)
            seq, where = logger.head.seq, logger.directory
        emit({"seq": seq, "directory": str(where)}, fmt, text=f"seq {seq} written to {where}")
    except SecurityError as exc:
        fail(exc.message)
    except (ValidationError, ValueError) as exc:
        fail(str(exc).splitlines()[0])


@app.command()
def keygen(
    out: Annotated[Path, typer.Option("-o", "--output", help="Audit keys file to create (mode 0600).")],
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Create an audit keys file (chain key, redaction key, Ed25519 checkpoint key)."""
    from infra_security.audit._keys import AuditKeys

    if out.exists():
        fail(f"{out} already exists; new keys would orphan the log written with it")
    try:
        AuditKeys.generate().save(out)
    except OSError as exc:
        fail(f"{out}: cannot write ({exc.strerror})")
    emit({"created": str(out)}, fmt, text=f"created {out}")


@app.command(name="export-verify-keys")
def export_verify_keys(
    out: Annotated[Path, typer.Option("-o", "--output", help="Keys file for verifiers (mode 0600).")],
    keys: KeysOpt = None,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Write a copy of the audit keys without the checkpoint-signing key, for auditors who only verify."""
    from infra_security.crypto._keyset_file import write_private_file

    if out.exists():
        fail(f"{out} already exists")
    audit_keys = _keys(keys, None)
    try:
        write_private_file(out, audit_keys.to_json(include_signing_key=False))
    except OSError as exc:
        fail(f"{out}: cannot write ({exc.strerror})")
    emit(
        {"created": str(out), "signing_key": False},
        fmt,
        text=f"created {out} (chain, redaction and verify keys; no signing key)",
    )


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number (JSON has no NaN or Infinity)")


@app.command(name="hash")
def hash_value(
    value: Annotated[str, typer.Argument(help="The value to look for (a string; JSON with --json).")],
    keys: KeysOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Parse VALUE as JSON (numbers, objects).")] = False,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Print the redacted form a value has in the log, to search for a known secret (like Vault's audit-hash)."""
    import json

    from infra_security.audit._redaction import Redactor

    audit_keys = _keys(keys, None)
    try:
        parsed = json.loads(value, parse_constant=_no_constant) if as_json else value
        hashed = Redactor(audit_keys.redaction_key).hash_value(parsed)
    except json.JSONDecodeError as exc:
        fail(f"VALUE is not JSON: {exc}")
    except (ValueError, TypeError, RecursionError) as exc:
        fail(f"VALUE cannot be hashed as JSON: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    emit({"hash": hashed}, fmt, text=str(hashed))
