"""The ``infra-models`` command: write JSON Schemas and validate node contracts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from infra_models.__about__ import __version__

__all__ = ["app", "main"]

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"infra-models {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Shared models of the infra packages."""


@app.command()
def schema(
    out: Annotated[Path | None, typer.Option("--out", help="Write one <Model>.schema.json per model here.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """List the public models, or write their JSON Schemas with --out."""
    from infra_models.schema import PUBLIC_MODELS, write_schemas

    _check_format(fmt)
    if out is not None:
        try:
            paths = write_schemas(out)
        except OSError as exc:
            typer.echo(f"error: cannot write schemas to {out}: {exc.strerror}", err=True)
            raise typer.Exit(2) from exc
        names = [str(p) for p in paths]
    else:
        names = sorted(PUBLIC_MODELS)
    if fmt == "json":
        typer.echo(json.dumps(names, indent=2))
    else:
        typer.echo("\n".join(names))


@app.command()
def validate(
    contract: Annotated[Path, typer.Argument(help="Path to a node's contract.yaml (ONEX or infra format).")],
    fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """Validate a node contract in either format; exit 1 when it is invalid, 2 when it is not readable YAML."""
    from infra_models.errors import ContractError
    from infra_models.onex import OnexContract, load_any_contract

    _check_format(fmt)
    try:
        parsed = load_any_contract(contract)
    except ContractError as exc:
        if fmt == "json":
            typer.echo(json.dumps({"valid": False, "error": exc.to_dict()}, indent=2, default=str))
        else:
            typer.echo(f"invalid: {exc.message}", err=True)
        # 1: YAML that is not a valid contract (a finding); 2: no contract to check (missing, hostile, not YAML).
        raise typer.Exit(1 if exc.code == "contract.invalid" else 2) from exc
    if isinstance(parsed, OnexContract):
        kind = parsed.kind.value if parsed.kind else None
        summary = {"format": "onex", "name": parsed.display_name, "kind": kind, "node_type": parsed.node_type}
        version = parsed.contract_version or parsed.node_version
        text = (
            f"valid: {parsed.display_name} (ONEX contract, node_type {parsed.node_type}, kind {kind or 'other'}"
            + (f", version {version}" if version else "")
            + ")"
        )
    else:
        summary = {"format": "infra", "name": parsed.name, "kind": parsed.kind.value, "node_type": None}
        text = f"valid: {parsed.name} ({parsed.kind.value} {parsed.version})"
    if fmt == "json":
        payload = {"valid": True, **summary, "contract": parsed.model_dump(mode="json")}
        typer.echo(json.dumps(payload, indent=2, default=str))
    else:
        typer.echo(text)


def _check_format(fmt: str) -> None:
    if fmt not in ("text", "json"):
        typer.echo(f"error: --format must be text or json, not {fmt!r}", err=True)
        raise typer.Exit(2)


def main() -> None:
    """Entry point of the ``infra-models`` script."""
    app()
