"""The ``infra-models`` command: write JSON Schemas and validate node contracts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from infra_models.__about__ import __version__
from infra_models.cli._app import make_app
from infra_models.cli._errors import CliError, ExitCode
from infra_models.cli._output import FormatOption, OutputDirOption, OutputFormat, emit

__all__ = ["app"]

app = make_app("infra-models", __version__, help="Shared models of the infra packages: JSON Schemas and contracts.")


@app.command()
def schema(
    output: OutputDirOption = None,
    fmt: FormatOption = OutputFormat.TEXT,
    out: Annotated[Path | None, typer.Option("--out", hidden=True, help="Deprecated spelling of -o/--output.")] = None,
) -> None:
    """List the public models, or write one <Model>.schema.json per model into -o/--output."""
    from infra_models.schema import PUBLIC_MODELS, write_schemas

    output = output or out

    if output is not None:
        try:
            paths = write_schemas(output)
        except OSError as exc:
            raise CliError(
                f"cannot write schemas to {output}: {exc.strerror}",
                code="output.unwritable",
                hint="choose a writable folder with -o/--output",
            ) from exc
        names = [str(p) for p in paths]
    else:
        names = sorted(PUBLIC_MODELS)
    emit(names, fmt, text="\n".join(names))


@app.command()
def validate(
    contract: Annotated[Path, typer.Argument(help="Path to a node's contract.yaml (ONEX or infra format).")],
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Validate a node contract in either format; exit 1 when it is invalid, 2 when it is not readable YAML."""
    from infra_models.errors import ContractError
    from infra_models.onex import OnexContract, load_any_contract

    try:
        parsed = load_any_contract(contract)
    except ContractError as exc:
        if exc.code != "contract.invalid":  # no contract to check: missing, hostile, not YAML
            raise CliError(exc.message, code=exc.code, hint="pass a readable contract.yaml") from exc
        # YAML that is not a valid contract: a finding, reported as data.
        emit({"valid": False, "error": exc.to_dict()}, fmt, text=f"invalid: {exc.message}")
        raise typer.Exit(ExitCode.FINDINGS) from exc
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
    emit({"valid": True, **summary, "contract": parsed.model_dump(mode="json")}, fmt, text=text)
