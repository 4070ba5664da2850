"""Names of the record headers every relayed event carries, and how a consumer reads them back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "AGGREGATE_ID",
    "CONTENT_TYPE",
    "CREATED_AT",
    "EVENT_ID",
    "EVENT_SEQ",
    "EVENT_TYPE",
    "RESERVED_HEADERS",
    "EventHeaders",
    "read_headers",
]

EVENT_ID = "event_id"
EVENT_TYPE = "event_type"
EVENT_SEQ = "event_seq"
AGGREGATE_ID = "aggregate_id"
CONTENT_TYPE = "content_type"
CREATED_AT = "created_at"
RESERVED_HEADERS = frozenset({EVENT_ID, EVENT_TYPE, EVENT_SEQ, AGGREGATE_ID, CONTENT_TYPE, CREATED_AT})


@dataclass(frozen=True, slots=True)
class EventHeaders:
    """The outbox headers of one Kafka record."""

    event_id: str
    event_type: str
    seq: int | None
    aggregate_id: str | None
    content_type: str | None


def read_headers(headers: Sequence[tuple[str, bytes | str | None]] | None) -> EventHeaders:
    """Read the outbox headers of a consumed record (``msg.headers()``); raise ValueError when absent."""
    found: dict[str, str] = {}
    for name, value in headers or ():
        if name in RESERVED_HEADERS and value is not None:
            found[name] = value.decode() if isinstance(value, bytes) else value
    if EVENT_ID not in found:
        raise ValueError("record has no `event_id` header: it was not published by an infra-outbox relay")
    seq = found.get(EVENT_SEQ)
    return EventHeaders(
        event_id=found[EVENT_ID],
        event_type=found.get(EVENT_TYPE, ""),
        seq=int(seq) if seq else None,
        aggregate_id=found.get(AGGREGATE_ID),
        content_type=found.get(CONTENT_TYPE),
    )
