"""The ports of the node: small protocols for HashiCorp Vault, credentials and the outbox.

The node depends on these protocols only. :mod:`vault_adapter.wiring` plugs in the real
``infra_security.CredentialManager`` and ``infra_outbox.Outbox``; tests plug in fakes.
"""

from __future__ import annotations

from typing import Any, Protocol

from vault_adapter.models import VaultAdapterInput

__all__ = ["CredentialSource", "EventOutbox", "TransientError", "VaultAdapterClient"]


class TransientError(Exception):
    """A failure worth retrying (connection reset, throttling, a 5xx answer): raise it from a client."""


class VaultAdapterClient(Protocol):
    """Talks to HashiCorp Vault: one request in, the returned data out."""

    async def send(self, request: VaultAdapterInput, *, credential: str, timeout: float) -> dict[str, str]:
        """Send ``request`` authenticated by ``credential``; give up after ``timeout`` seconds."""
        ...


class CredentialSource(Protocol):
    """Where credentials come from: ``infra_security.CredentialManager`` in production."""

    async def get_credential(self, name: str, service: str) -> str:
        """The value of credential ``name`` of ``service``."""
        ...


class EventOutbox(Protocol):
    """Where events go: ``infra_outbox.Outbox`` in production, writing in the caller's transaction."""

    def enqueue(
        self, conn_or_session: Any, *, topic: str, payload: Any, key: str | None = None, event_type: str
    ) -> Any:
        """Write one event in the open transaction of ``conn_or_session``."""
        ...
