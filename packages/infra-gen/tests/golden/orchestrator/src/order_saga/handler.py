"""The steps of OrderSagaOrchestrator and how each is undone. Edit this.

One ``step_<name>`` per contract step, in the contract's order, and a ``compensate_<name>`` for every step the
contract marks ``compensate: true``.
"""

from __future__ import annotations

from order_saga.models import OrderSagaInput

__all__ = ["OrderSagaHandler"]


class OrderSagaHandler:
    """Actions of the saga; ``journal`` records what ran, which is handy in tests and logs."""

    def __init__(self) -> None:
        self.journal: list[str] = []

    async def step_prepare(self, request: OrderSagaInput) -> None:
        """Check and reserve what the request needs."""
        self.journal.append(f"prepare:{request.request_id}")

    async def compensate_prepare(self, request: OrderSagaInput) -> None:
        """Undo `prepare`."""
        self.journal.append(f"undo-prepare:{request.request_id}")

    async def step_execute(self, request: OrderSagaInput) -> None:
        """Do the work."""
        self.journal.append(f"execute:{request.request_id}")

    async def compensate_execute(self, request: OrderSagaInput) -> None:
        """Undo `execute`."""
        self.journal.append(f"undo-execute:{request.request_id}")

    async def step_confirm(self, request: OrderSagaInput) -> None:
        """Confirm the outcome; nothing to undo."""
        self.journal.append(f"confirm:{request.request_id}")
