"""The business logic of VaultAdapterEffect: what to send to HashiCorp Vault and how to read its answer."""

from __future__ import annotations

from vault_adapter.models import VaultAdapterInput, VaultAdapterOutput
from vault_adapter.ports import VaultAdapterClient

__all__ = ["VaultAdapterHandler"]


class VaultAdapterHandler:
    """Turns a request into one client call and the answer into the output. Edit this."""

    async def call(
        self, client: VaultAdapterClient, request: VaultAdapterInput, *, credential: str, timeout: float
    ) -> dict[str, str]:
        """One call to HashiCorp Vault; the node retries it on transient errors."""
        return await client.send(request, credential=credential, timeout=timeout)

    def to_output(self, request: VaultAdapterInput, data: dict[str, str], attempts: int) -> VaultAdapterOutput:
        """The node's output for the data the call returned."""
        return VaultAdapterOutput(resource=request.resource, status="ok", data=data, attempts=attempts)
