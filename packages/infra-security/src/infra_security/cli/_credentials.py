"""`infra-security credentials` commands: read a credential and check a Vault/OpenBao login."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer

from infra_models.cli import CliError, OutputFormat

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help=__doc__)


class Source(StrEnum):
    """Credential providers."""

    vault = "vault"
    env = "env"
    file = "file"


VaultUrl = Annotated[str | None, typer.Option("--vault-url", envvar="VAULT_ADDR", help="Vault/OpenBao address.")]
Token = Annotated[str | None, typer.Option("--token", envvar="VAULT_TOKEN", help="Vault token.", show_default=False)]
FormatOpt = Annotated[OutputFormat, typer.Option("-f", "--format", help="Output format.")]


def _abort(message: str) -> CliError:
    return CliError(message)


def _manager(source: Source, vault_url: str | None, token: str | None, mount: str, directory: str | None) -> Any:
    from infra_security.credentials._manager import CredentialManager
    from infra_security.credentials._providers import EnvProvider, FileProvider

    if source is Source.vault:
        if not vault_url:
            raise _abort("no Vault address: pass --vault-url or set VAULT_ADDR (or choose --provider env|file)")
        return CredentialManager(vault_url, token=token, mount_point=mount, background=False, retries=0)
    if source is Source.env:
        return CredentialManager(provider=EnvProvider(), background=False)
    if not directory:
        raise _abort("--provider file needs --directory")
    return CredentialManager(provider=FileProvider(directory), background=False)


@app.command("get")
def get_cmd(  # noqa: PLR0917 - typer options
    name: Annotated[str, typer.Argument(help="Field of the secret, for example api_key.")],
    service: Annotated[str, typer.Argument(help="Service whose secret holds it (KV path).")],
    provider: Annotated[Source, typer.Option("--provider", help="Where to read from.")] = Source.vault,
    vault_url: VaultUrl = None,
    token: Token = None,
    mount: Annotated[str, typer.Option("--mount", help="KV v2 mount point.")] = "secret",
    directory: Annotated[str | None, typer.Option("--directory", help="Directory of the file provider.")] = None,
    reveal: Annotated[bool, typer.Option("--reveal", help="Print the value itself (default: masked).")] = False,
    fmt: FormatOpt = OutputFormat.TEXT,
) -> None:
    """Read one credential; the value is masked unless --reveal. Exit 2 on a bad address, token or path."""
    from infra_security.errors import SecurityError

    try:
        manager = _manager(provider, vault_url, token, mount, directory)
    except SecurityError as exc:
        raise _abort(exc.message) from None
    try:
        secret = manager.get_secret_sync(service, name)
        value = secret.field(name).get_secret_value()
    except SecurityError as exc:
        raise _abort(exc.message) from None
    finally:
        manager.close()
    shown = value if reveal else "********"  # always eight: the mask reveals nothing, not even the length
    data = {"service": service, "name": name, "source": secret.source, "version": secret.version, "value": shown}
    if fmt is OutputFormat.JSON:
        typer.echo(json.dumps(data))
    else:
        version = f" v{secret.version}" if secret.version is not None else ""
        typer.echo(f"{service}/{name} from {secret.source}{version}: {shown}")


@app.command("check")
def check_cmd(
    vault_url: VaultUrl = None,
    token: Token = None,
    fmt: FormatOpt = OutputFormat.TEXT,
) -> None:
    """Log in to Vault/OpenBao and show the token's TTL and renewability. Exit 2 when that fails."""
    from infra_security.credentials._vault_provider import VaultProvider
    from infra_security.errors import SecurityError

    if not vault_url:
        raise _abort("no Vault address: pass --vault-url or set VAULT_ADDR")
    try:
        provider = VaultProvider(vault_url, token=token, retries=0)
        status = provider.login()
    except SecurityError as exc:
        raise _abort(exc.message) from None
    provider.close()
    data = {"vault_url": provider.url, "ttl": status.ttl, "renewable": status.renewable, "accessor": status.accessor}
    if fmt is OutputFormat.JSON:
        typer.echo(json.dumps(data))
    else:
        ttl = "never expires" if status.ttl <= 0 else f"expires in {status.ttl:.0f}s"
        typer.echo(f"{provider.url}: logged in; token {ttl}, renewable: {status.renewable}")
