"""Wire VaultAdapterEffect to the real credential store and outbox (imported here, only when used)."""

from __future__ import annotations

from vault_adapter.models import VaultAdapterConfig
from vault_adapter.node import VaultAdapterEffect
from vault_adapter.ports import VaultAdapterClient

__all__ = ["build_node"]


def build_node(
    client: VaultAdapterClient,
    *,
    config: VaultAdapterConfig | None = None,
) -> VaultAdapterEffect:
    """The node on ``infra_security.CredentialManager`` and ``infra_outbox.Outbox``."""
    from infra_outbox import Outbox
    from infra_security import CredentialManager

    settings = config or VaultAdapterConfig()
    credentials = CredentialManager(vault_url=settings.vault_url)
    return VaultAdapterEffect(client, credentials, Outbox(), config=settings)
