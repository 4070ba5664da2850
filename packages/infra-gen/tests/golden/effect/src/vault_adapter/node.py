"""VaultAdapterEffect: the EFFECT node that talks to HashiCorp Vault."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from infra_models import CircuitBreakerPolicy, NodeContract

from vault_adapter.contract import load_node_contract
from vault_adapter.handler import VaultAdapterHandler
from vault_adapter.models import (
    VaultAdapterConfig,
    VaultAdapterInput,
    VaultAdapterOutput,
)
from vault_adapter.ports import CredentialSource, EventOutbox, VaultAdapterClient
from vault_adapter.resilience import CircuitBreaker, call_with_retries

__all__ = ["EVENT_TYPE", "VaultAdapterEffect"]

EVENT_TYPE = "vault_adapter.completed"

_log = logging.getLogger(__name__)


class VaultAdapterEffect:
    """Calls HashiCorp Vault with the contract's timeouts, retries and circuit breaker.

    Example:
        >>> node = VaultAdapterEffect(client, credentials, outbox)  # doctest: +SKIP
        >>> with engine.begin() as conn:  # doctest: +SKIP
        ...     output = asyncio.run(node.execute(request, session=conn))
    """

    def __init__(
        self,
        client: VaultAdapterClient,
        credentials: CredentialSource,
        outbox: EventOutbox,
        *,
        config: VaultAdapterConfig | None = None,
        contract: NodeContract | None = None,
        handler: VaultAdapterHandler | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.contract = contract or load_node_contract()
        if self.contract.timeouts is None or self.contract.retry_policy is None:
            raise ValueError("an EFFECT contract declares timeouts and retry_policy")
        self.config = config or VaultAdapterConfig()
        self.timeouts = self.contract.timeouts
        self.retry_policy = self.contract.retry_policy
        self.breaker = CircuitBreaker(self.contract.circuit_breaker or CircuitBreakerPolicy(), clock=clock)
        self.handler = handler or VaultAdapterHandler()
        self._client = client
        self._credentials = credentials
        self._outbox = outbox
        self._sleep = sleep
        self._rand = rand

    async def execute(self, request: VaultAdapterInput, *, session: Any) -> VaultAdapterOutput:
        """Run ``request`` against HashiCorp Vault; record the event in ``session``'s transaction.

        Raises:
            CircuitOpenError: the circuit is open; nothing was sent.
            TimeoutError, TransientError, ConnectionError: every attempt failed.
        """
        credential = await self._credentials.get_credential(self.config.credential_name, self.config.service_name)
        timeout = self.timeouts.request_seconds
        data, attempts = await call_with_retries(
            lambda: self.handler.call(self._client, request, credential=credential, timeout=timeout),
            retry=self.retry_policy,
            timeout=timeout,
            breaker=self.breaker,
            sleep=self._sleep,
            rand=self._rand,
        )
        output = self.handler.to_output(request, data, attempts)
        self._outbox.enqueue(
            session,
            topic=self.config.event_topic,
            key=request.resource,
            event_type=EVENT_TYPE,
            payload=output.model_dump(mode="json"),
        )
        _log.debug("%s %s: %s after %d attempt(s)", request.operation, request.resource, output.status, attempts)
        return output

    def health(self) -> dict[str, str]:
        """``status`` (``ok``, or ``degraded`` while the circuit is not closed) and the ``circuit`` state."""
        circuit = self.breaker.state
        return {"status": "ok" if circuit == "closed" else "degraded", "circuit": circuit}
