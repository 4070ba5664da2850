"""`infra-security tls` commands: inspect certificates and check TLS endpoints against a Mozilla profile."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer

from infra_models.cli import CliError, OutputFormat

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help=__doc__)


class Profile(StrEnum):
    """Mozilla profiles."""

    modern = "modern"
    intermediate = "intermediate"


ProfileOpt = Annotated[Profile, typer.Option("--profile", help="Mozilla profile (guideline 5.7).")]
FormatOpt = Annotated[OutputFormat, typer.Option("-f", "--format", help="Output format.")]


def _abort(message: str) -> CliError:
    return CliError(message)


def _print_findings(findings: list[Any]) -> None:
    from rich.console import Console

    console = Console()
    if not findings:
        console.print("[green]no findings[/green]")
    for f in findings:
        colour = "red" if f.severity == "error" else "yellow"
        console.print(f"[{colour}]{f.severity}[/{colour}] {f.code}: {f.message}", highlight=False)


def _print_certificates(certs: list[Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("#", "subject", "key", "SAN", "not after", "days left", "lifespan")
    for i, c in enumerate(certs):
        key = f"{c.key_type} {c.key_size}" + (f" {c.curve}" if c.curve else "")
        table.add_row(
            str(i),
            c.subject,
            key,
            ", ".join(c.sans) or "-",
            c.not_after,
            f"{c.days_to_expiry:.1f}",
            f"{c.lifespan_days:.0f} d",
        )
    Console().print(table)


@app.command("inspect")
def inspect_cmd(
    cert: Annotated[str, typer.Argument(help="PEM file: leaf first, then intermediates.")],
    profile: ProfileOpt = Profile.intermediate,
    ca_file: Annotated[
        str | None, typer.Option("--ca-file", help="Trusted roots (PEM) to check the chain against.")
    ] = None,
    warn_days: Annotated[float, typer.Option("--warn-days", help="Warn when the leaf expires sooner.")] = 30.0,
    fmt: FormatOpt = OutputFormat.TEXT,
) -> None:
    """Inspect a certificate file: chain, key type and size, SAN, days to expiry, lifespan vs the profile.

    Exit 0 when clean, 1 with findings, 2 when the file is unreadable or not PEM.
    """
    from infra_security.errors import SecurityError
    from infra_security.tls._inspect import inspect_certificate_file

    try:
        report = inspect_certificate_file(cert, ca_file=ca_file, profile=profile.value, warn_days=warn_days)
    except SecurityError as exc:
        raise _abort(exc.message) from None
    if fmt is OutputFormat.JSON:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        typer.echo(
            f"{cert}: profile {report.profile} (Mozilla {report.guideline_version}), "
            f"chain verified: {report.chain_verified}"
        )
        _print_certificates(report.certificates)
        _print_findings(report.findings)
    raise typer.Exit(0 if report.ok else 1)


@app.command("check")
def check_cmd(  # noqa: PLR0917 - typer options
    target: Annotated[str, typer.Argument(help="HOST:PORT of a TLS endpoint.")],
    profile: ProfileOpt = Profile.intermediate,
    ca_file: Annotated[
        str | None, typer.Option("--ca-file", help="CA (PEM) to verify the server with; system roots when unset.")
    ] = None,
    cert_file: Annotated[str | None, typer.Option("--cert-file", help="Client certificate for mutual TLS.")] = None,
    key_file: Annotated[str | None, typer.Option("--key-file", help="Client key for mutual TLS.")] = None,
    server_name: Annotated[
        str | None, typer.Option("--server-name", help="SNI and host name to verify (default HOST).")
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to connect and handshake.")] = 5.0,
    fmt: FormatOpt = OutputFormat.TEXT,
) -> None:
    """Handshake with HOST:PORT using the profile; report protocol, cipher and the certificate's findings.

    Exit 0 when clean, 1 with findings (including a failed handshake), 2 on bad input.
    """
    from infra_security.errors import SecurityError
    from infra_security.tls._check import check_endpoint, parse_host_port

    if not 0 < timeout <= 3600:
        raise _abort(f"--timeout must be a number of seconds in (0, 3600], got {timeout}")
    try:
        host, port = parse_host_port(target)
        if (cert_file is None) != (key_file is None):
            raise _abort("--cert-file and --key-file go together")
        report = check_endpoint(
            host,
            port,
            profile=profile.value,
            ca_file=ca_file,
            cert_file=cert_file,
            key_file=key_file,
            server_name=server_name,
            timeout=timeout,
        )
    except SecurityError as exc:
        raise _abort(exc.message) from None
    if fmt is OutputFormat.JSON:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        state = "verified" if report.handshake_ok else f"FAILED ({report.error})"
        typer.echo(f"{target}: handshake {state}; protocol {report.protocol or '-'}, cipher {report.cipher or '-'}")
        if report.certificate is not None:
            _print_certificates(report.certificate.certificates)
        _print_findings(report.findings)
    raise typer.Exit(0 if report.ok else 1)
