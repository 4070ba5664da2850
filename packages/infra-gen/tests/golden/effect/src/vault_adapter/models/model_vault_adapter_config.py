"""VaultAdapterConfig: where the node's credential and events live."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["VaultAdapterConfig"]


class VaultAdapterConfig(BaseModel):
    """Settings of the node; timeouts, retries and the circuit breaker come from the contract."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    service_name: str = Field(
        default="vault_adapter",
        description="Service whose credential the client uses.",
    )
    credential_name: str = Field(
        default="vault-adapter-client",
        description="Name of that credential in the credential store.",
    )
    vault_url: str = Field(
        default="http://127.0.0.1:8200",
        description="Address of the credential store (Vault or OpenBao).",
    )
    event_topic: str = Field(
        default="onex.evt.infrastructure.vault-adapter-completed.v1",
        description="Topic of the event written to the outbox after a call.",
    )
