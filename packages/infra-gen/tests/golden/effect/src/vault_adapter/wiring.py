"""Wire VaultAdapterEffect to the real credential store and outbox (imported here, only when used)."""

from __future__ import annotations

from vault_adapter.models import VaultAdapterConfig
from vault_adapter.node import VaultAdapterEffect
from vault_adapter.ports import CredentialSource, VaultAdapterClient

__all__ = ["build_node"]


def build_node(
    client: VaultAdapterClient,
    *,
    config: VaultAdapterConfig | None = None,
    credentials: CredentialSource | None = None,
) -> VaultAdapterEffect:
    """The node on ``infra_security.CredentialManager`` and ``infra_outbox.Outbox``.

    Without ``credentials``, a ``CredentialManager(vault_url=config.vault_url)`` reads the token from
    ``VAULT_TOKEN``; pass your own (for example ``CredentialManager.from_env()`` for AppRole) to choose.
    """
    from infra_outbox import Outbox

    settings = config or VaultAdapterConfig()
    if credentials is None:
        from infra_security import CredentialManager

        credentials = CredentialManager(vault_url=settings.vault_url)
    return VaultAdapterEffect(client, credentials, Outbox(), config=settings)
