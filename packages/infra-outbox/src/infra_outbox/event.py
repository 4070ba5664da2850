"""One event as the relay reads it from the log (or from the held table)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, cast

__all__ = [
    "COL_CREATED_AT",
    "COL_ID",
    "COL_KEY",
    "COL_PAYLOAD",
    "COL_SHARD",
    "COL_TOPIC",
    "EVENT_COLUMNS",
    "LogEvent",
    "Row",
    "row_scope",
]

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


#: An event as the log returns it: the values of :data:`EVENT_COLUMNS`, in order. The relay's hot path keeps the
#: driver's own tuples (no object made per event); a :class:`LogEvent` is made only where one is needed.
Row = tuple[int, int, str, str, str, str | None, int | None, str | None, bytes, str, str | None, float]

# Positions in a Row (Final: a type checker then knows each field's type).
COL_ID: Final = 0
COL_SHARD: Final = 1
COL_TOPIC: Final = 4
COL_KEY: Final = 5
COL_PAYLOAD: Final = 8
COL_CREATED_AT: Final = 11


def row_scope(row: Row) -> tuple[str, str] | None:
    """``(topic, key)`` of a keyed event row (the unit of order), else None."""
    key = row[COL_KEY]
    return None if key is None else (row[COL_TOPIC], key)


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

    @classmethod
    def of(cls, row: Row, attempts: int = 0) -> LogEvent:
        """The event of a log row."""
        return cls(*row, attempts)

    @property
    def row(self) -> Row:
        """The event's columns as a log row (without ``attempts``)."""
        return cast("Row", tuple(getattr(self, name) for name in EVENT_COLUMNS))

    @property
    def scope(self) -> tuple[str, str] | None:
        """``(topic, key)`` for a keyed event (the unit of order), else None."""
        return None if self.key is None else (self.topic, self.key)

    def as_row(self) -> dict[str, object]:
        """The event's columns as a dict (for the held table)."""
        return {name: getattr(self, name) for name in EVENT_COLUMNS}
