"""infra-outbox: transactional outbox on SQLAlchemy, relayed to Kafka with confluent-kafka."""

from __future__ import annotations

from infra_outbox.__about__ import __version__
from infra_outbox.errors import OutboxError

__all__ = ["OutboxError", "__version__"]
