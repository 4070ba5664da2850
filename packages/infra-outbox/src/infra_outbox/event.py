"""One event as the relay reads it from the log (or from the held table)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EVENT_COLUMNS", "LogEvent"]

#: The columns of an event, in the order of :class:`LogEvent`'s first fields.
EVENT_COLUMNS = (
    "id",
    "shard",
    "event_id",
    "event_type",
    "topic",
    "key",
    "seq",
    "aggregate_id",
    "payload",
    "content_type",
    "headers",
    "created_at",
)


@dataclass(slots=True)
class LogEvent:
    """An event to send: its log id, shard, record fields, and (for a held event) its attempts so far."""

    id: int
    shard: int
    event_id: str
    event_type: str
    topic: str
    key: str | None
    seq: int | None
    aggregate_id: str | None
    payload: bytes
    content_type: str
    headers: str | None
    created_at: float
    attempts: int = 0

    @property
    def scope(self) -> tuple[str, str] | None:
        """``(topic, key)`` for a keyed event (the unit of order), else None."""
        return None if self.key is None else (self.topic, self.key)

    def as_row(self) -> dict[str, object]:
        """The event's columns as a dict (for the held table)."""
        return {name: getattr(self, name) for name in EVENT_COLUMNS}
