"""Errors of infra-outbox: a shallow tree under :class:`infra_models.errors.OutboxError`.

Every error has a stable ``code``; messages name the offending value and the fix.
"""

from __future__ import annotations

from infra_models.errors import OutboxError

__all__ = [
    "BrokerError",
    "DatabaseError",
    "EventError",
    "EventNotFoundError",
    "NoTransactionError",
    "OutboxError",
    "PayloadError",
    "SchemaError",
]


class NoTransactionError(OutboxError):
    """``enqueue`` was called outside an open transaction, so the event could outlive a rolled-back change."""

    default_code = "outbox.no_transaction"


class EventError(OutboxError):
    """An event argument is invalid (topic name, key, event type, headers)."""

    default_code = "outbox.invalid_event"


class PayloadError(EventError):
    """A payload cannot be serialised, or the record would exceed the broker's size limit."""

    default_code = "outbox.invalid_payload"


class DatabaseError(OutboxError):
    """The database URL is wrong, the database is unreachable, or its dialect is not supported."""

    default_code = "outbox.database"


class SchemaError(OutboxError):
    """The outbox tables are missing or come from an older schema."""

    default_code = "outbox.schema"


class BrokerError(OutboxError):
    """The Kafka broker cannot be reached or refused the producer settings."""

    default_code = "outbox.broker"


class EventNotFoundError(OutboxError):
    """An operator command named an event or key that is not in the state the command needs."""

    default_code = "outbox.not_found"
