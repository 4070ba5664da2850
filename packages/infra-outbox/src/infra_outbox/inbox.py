"""Idempotent consumers: an inbox table keyed by (consumer, event id) so each event is processed once.

Example:
    >>> inbox = Inbox("billing")
    >>> with engine.begin() as conn:  # doctest: +SKIP
    ...     if inbox.first_time(conn, msg.headers()):
    ...         apply_payment(conn, msg.value())  # same transaction as the inbox row
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from infra_outbox.headers import read_headers
from infra_outbox.outbox import _transaction_connection
from infra_outbox.tables import inbox

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine
    from sqlalchemy.orm import Session

__all__ = ["Inbox"]


class Inbox:
    """Remembers which events a consumer processed, inside the consumer's own transaction."""

    def __init__(self, consumer: str, *, clock: Callable[[], float] = time.time) -> None:
        if not consumer or len(consumer) > 255:
            raise ValueError("consumer must be a non-empty name of at most 255 characters")
        self.consumer = consumer
        self._clock = clock

    def first_time(
        self, conn_or_session: Connection | Session, event: str | Sequence[tuple[str, bytes | str | None]] | None
    ) -> bool:
        """Record ``event`` (an event id or a record's headers); True if this consumer had not processed it.

        Call it inside the transaction that applies the event: if that transaction rolls back, so does the mark.
        """
        event_id = event if isinstance(event, str) else read_headers(event).event_id
        conn = _transaction_connection(conn_or_session)
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
        stmt = (
            insert(inbox)
            .values(consumer=self.consumer, event_id=event_id, processed_at=self._clock())
            .on_conflict_do_nothing(index_elements=[inbox.c.consumer, inbox.c.event_id])
            .returning(inbox.c.event_id)
        )
        return conn.execute(stmt).first() is not None

    def seen(self, conn: Connection, event_id: str) -> bool:
        """True when this consumer already processed ``event_id``."""
        query = select(inbox.c.event_id).where(inbox.c.consumer == self.consumer, inbox.c.event_id == event_id)
        return conn.execute(query).first() is not None

    def forget_older_than(self, engine: Engine, seconds: float, *, batch_size: int = 1000) -> int:
        """Delete this consumer's marks older than ``seconds`` (longer than any redelivery window), in batches."""
        cutoff = self._clock() - seconds
        victims = (
            select(inbox.c.event_id)
            .where(inbox.c.consumer == self.consumer, inbox.c.processed_at < cutoff)
            .limit(batch_size)
        )
        total = 0
        while True:
            with engine.begin() as conn:
                deleted = int(
                    conn.execute(
                        delete(inbox).where(inbox.c.consumer == self.consumer, inbox.c.event_id.in_(victims))
                    ).rowcount
                )
            total += deleted
            if deleted < batch_size:
                return total
