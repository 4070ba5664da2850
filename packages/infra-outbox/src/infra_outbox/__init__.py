"""infra-outbox: transactional outbox on SQLAlchemy, relayed to Kafka with confluent-kafka.

Example:
    >>> from infra_outbox import Outbox
    >>> with engine.begin() as conn:  # doctest: +SKIP
    ...     Outbox().enqueue(conn, topic="users", key="42", event_type="user_created", payload={"id": 42})

Names are imported lazily, so ``import infra_outbox`` does not load SQLAlchemy or confluent-kafka.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from infra_outbox.__about__ import __version__
from infra_outbox.errors import (
    BrokerError,
    DatabaseError,
    EventError,
    EventNotFoundError,
    NoTransactionError,
    OutboxError,
    PayloadError,
    SchemaError,
)

if TYPE_CHECKING:
    from infra_outbox.admin import OutboxStats, cleanup, dead_events, outbox_stats, replay_dead, skip_dead
    from infra_outbox.aio import TransactionalOutbox
    from infra_outbox.backoff import Backoff
    from infra_outbox.headers import EventHeaders, read_headers
    from infra_outbox.inbox import Inbox
    from infra_outbox.metrics import RelayMetrics
    from infra_outbox.outbox import NewEvent, Outbox
    from infra_outbox.relay import BatchReport, Relay, RelaySettings
    from infra_outbox.tables import metadata

__all__ = [
    "Backoff",
    "BatchReport",
    "BrokerError",
    "DatabaseError",
    "EventError",
    "EventHeaders",
    "EventNotFoundError",
    "Inbox",
    "NewEvent",
    "NoTransactionError",
    "Outbox",
    "OutboxError",
    "OutboxStats",
    "PayloadError",
    "Relay",
    "RelayMetrics",
    "RelaySettings",
    "SchemaError",
    "TransactionalOutbox",
    "__version__",
    "cleanup",
    "dead_events",
    "metadata",
    "outbox_stats",
    "read_headers",
    "replay_dead",
    "skip_dead",
]

_LAZY = {
    "OutboxStats": "admin",
    "cleanup": "admin",
    "dead_events": "admin",
    "outbox_stats": "admin",
    "replay_dead": "admin",
    "skip_dead": "admin",
    "TransactionalOutbox": "aio",
    "Backoff": "backoff",
    "EventHeaders": "headers",
    "read_headers": "headers",
    "Inbox": "inbox",
    "RelayMetrics": "metrics",
    "NewEvent": "outbox",
    "Outbox": "outbox",
    "BatchReport": "relay",
    "Relay": "relay",
    "RelaySettings": "relay",
    "metadata": "tables",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'infra_outbox' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"infra_outbox.{module}"), name)
    globals()[name] = value
    return value
