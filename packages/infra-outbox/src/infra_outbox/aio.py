"""Async writing: ``TransactionalOutbox`` on an ``AsyncConnection`` or ``AsyncSession``.

Example:
    >>> async with engine.begin() as conn:  # doctest: +SKIP
    ...     outbox = TransactionalOutbox(db_connection=conn)
    ...     await outbox.publish_event(event_type="user_created", payload={"id": 7}, topic="users")
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from infra_outbox.errors import NoTransactionError
from infra_outbox.outbox import NewEvent, Outbox

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

__all__ = ["TransactionalOutbox"]


class TransactionalOutbox:
    """Writes events in the transaction of an async SQLAlchemy connection or session."""

    def __init__(self, db_connection: AsyncConnection | AsyncSession, *, outbox: Outbox | None = None) -> None:
        from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

        if not isinstance(db_connection, AsyncConnection | AsyncSession):
            raise NoTransactionError(
                f"db_connection must be a SQLAlchemy AsyncConnection or AsyncSession, got "
                f"{type(db_connection).__name__}; use Outbox.enqueue for sync connections"
            )
        self.db_connection = db_connection
        self.outbox = outbox or Outbox()

    async def publish_event(
        self,
        *,
        event_type: str,
        payload: Any,
        topic: str,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
        aggregate_id: str | None = None,
    ) -> uuid.UUID:
        """Write one event in the open transaction; it reaches Kafka once the transaction commits."""
        event = NewEvent(
            topic=topic, payload=payload, event_type=event_type, key=key, headers=headers, aggregate_id=aggregate_id
        )
        return (await self.publish_events([event]))[0]

    async def publish_events(self, new_events: Iterable[NewEvent | Mapping[str, Any]]) -> list[uuid.UUID]:
        """Write many events in the open transaction."""
        batch = list(new_events)
        return await self.db_connection.run_sync(lambda sync: self.outbox.enqueue_many(sync, batch))
