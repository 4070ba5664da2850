"""Outbox models: an event written in a business transaction and its delivery status."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, Field

from infra_models._base import ValueModel
from infra_models.topics import TopicName

__all__ = ["OutboxEvent", "OutboxStatus"]


class OutboxStatus(StrEnum):
    """Where an outbox event is on its way to Kafka."""

    PENDING = "pending"
    PUBLISHED = "published"
    FAILED = "failed"
    DEAD = "dead"
    SKIPPED = "skipped"


class OutboxEvent(ValueModel):
    """One event in the outbox, as a relay and an operator see it."""

    id: int | None = Field(default=None, description="Row id, assigned by the database.")
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    event_type: str = Field(min_length=1, max_length=255)
    topic: TopicName
    key: str | None = Field(default=None, max_length=1024)
    aggregate_id: str | None = Field(default=None, max_length=255)
    sequence: int | None = Field(default=None, ge=0, description="Position among events with the same key.")
    payload: bytes = Field(description="Serialised payload as sent to Kafka.")
    content_type: str = "application/json"
    headers: dict[str, str] = Field(default_factory=dict)
    status: OutboxStatus = OutboxStatus.PENDING
    attempts: int = Field(default=0, ge=0)
    last_error: str | None = None
    created_at: AwareDatetime | None = None
    next_attempt_at: AwareDatetime | None = None
    published_at: AwareDatetime | None = None

    def age_seconds(self, now: datetime) -> float | None:
        """Seconds since the event was written, or None when its creation time is unknown."""
        return None if self.created_at is None else (now - self.created_at).total_seconds()
